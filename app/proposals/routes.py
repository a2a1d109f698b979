"""Pages of matching runs and the proposal lifecycle: thin views that parse the
form, call one service, commit once and redirect (or render).

Who may open what (the services check the same again):
- coordinators: run the matcher, review queue, approve / reject / cancel;
- members: their organisation's inbox, accept / decline, confirm receipt of
  legs their organisation receives;
- auditors and admins: read every run and proposal, change nothing;
- everyone logged in: their notifications.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import true

from app.auth.decorators import permission_required
from app.auth.models import Role
from app.core.errors import ServiceError
from app.extensions import db
from app.market.models import Organisation
from app.matching import services as matching
from app.proposals import notifications as notes
from app.proposals import services
from app.proposals.drawing import proposal_svg
from app.proposals.forms import ReasonForm, RequiredReasonForm, RunForm
from app.proposals.models import (
    MatchingRun,
    Proposal,
    ProposalStatus,
    RunStatus,
)
from app.proposals.models import (
    Response as Answer,
)

bp = Blueprint("proposals", __name__, template_folder="templates")

READERS = (Role.COORDINATOR, Role.ADMIN, Role.AUDITOR)


@bp.app_context_processor
def _waiting_panel() -> dict:
    """`proposals_waiting()` for the start page's "waiting on you" panel."""
    return {"proposals_waiting": lambda: services.waiting_on(current_user)}


def _page_args() -> tuple[int, int]:
    page = request.args.get("page", 1, type=int) or 1
    return max(1, min(page, 100_000)), 20


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value < 2**31 else None


# ---------------------------------------------------------------- matching runs

@bp.get("/matching/runs")
@permission_required("run.read")
def runs():
    page, per_page = _page_args()
    result = db.paginate(matching.list_runs(), page=page, per_page=per_page, error_out=False)
    return render_template("proposals/runs.html", page=result)


@bp.route("/matching/runs/new", methods=["GET", "POST"])
@permission_required("run.start")
def run_new():
    form = RunForm()
    market = matching.market_settings()
    if request.method == "GET":
        form.fill(market)
    elif form.validate_on_submit():
        try:
            run = matching.start_run(current_user, form.overrides())
        except ServiceError as exc:
            db.session.rollback()
            for name, messages in exc.errors.items():
                target = getattr(form, name, None)
                if target is not None:
                    target.errors = list(target.errors) + list(messages)
            flash(exc.message, "error")
        else:
            db.session.commit()
            if run.status == RunStatus.FAILED:
                flash(f"Matching run #{run.id} failed: {run.error}", "error")
            elif run.status == RunStatus.COMPLETED:
                created = (run.stats or {}).get("proposals", {}).get("created", 0)
                flash(f"Matching run #{run.id} finished: {created} new proposal(s).", "success")
            else:
                flash(f"Matching run #{run.id} is running in the background.", "success")
            return redirect(url_for(".run_detail", run_id=run.id))
    from app.matching.snapshot import count_open_listings

    return render_template("proposals/run_new.html", form=form, market=market,
                           open_listings=count_open_listings(),
                           threshold=current_app.config.get(
                               "MATCHING_BACKGROUND_THRESHOLD"))


@bp.get("/matching/runs/<int:run_id>")
@permission_required("run.read")
def run_detail(run_id: int):
    run = _run_or_abort(run_id)
    in_progress = run.status in (RunStatus.QUEUED, RunStatus.RUNNING)
    return render_template("proposals/run_detail.html", run=run, in_progress=in_progress)


@bp.get("/matching/runs/<int:run_id>/input.json")
@permission_required("run.read")
def run_input(run_id: int):
    import json

    run = _run_or_abort(run_id)
    body = json.dumps(run.market_input or {}, indent=2, sort_keys=True)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="matching-run-{run.id}-input.json"'})


def _run_or_abort(run_id: int) -> MatchingRun:
    try:
        return matching.get_run(current_user, run_id)
    except ServiceError as exc:
        abort(exc.status)


# ---------------------------------------------------------------- lists

@bp.get("/proposals/")
@login_required
def index():
    status = request.args.get("status") or None
    if status not in (None, *ProposalStatus.ALL):
        status = None
    organisation_id = _int_arg("organisation")
    run_id = _int_arg("run")
    statement = services.list_proposals(current_user, status=status,
                                        organisation_id=organisation_id, run_id=run_id)
    page, per_page = _page_args()
    result = db.paginate(statement, page=page, per_page=per_page, error_out=False)
    organisations = db.session.execute(
        db.select(Organisation).order_by(Organisation.name)).scalars().all()
    args = {k: v for k, v in {"status": status, "organisation": organisation_id,
                              "run": run_id}.items() if v}
    return render_template("proposals/index.html", page=result, args=args,
                           organisations=organisations, status=status,
                           organisation_id=organisation_id, run_id=run_id)


@bp.get("/proposals/review")
@permission_required("proposal.read_all")
def queue():
    page, per_page = _page_args()
    proposed = db.paginate(
        db.select(Proposal).where(Proposal.status == ProposalStatus.PROPOSED)
        .order_by(Proposal.weight.desc(), Proposal.id),
        page=page, per_page=per_page, error_out=False)
    in_flight = db.session.execute(
        db.select(Proposal).where(Proposal.status.in_(ProposalStatus.RESERVING))
        .order_by(Proposal.id)
    ).scalars().all()
    return render_template("proposals/queue.html", page=proposed, in_flight=in_flight)


@bp.get("/proposals/inbox")
@permission_required("proposal.answer")
def inbox():
    waiting = services.waiting_on(current_user)
    waiting_ids = {item.proposal.id for item in waiting}
    page, per_page = _page_args()
    others = db.paginate(
        services.list_proposals(current_user).where(
            Proposal.id.not_in(waiting_ids) if waiting_ids else true()),
        page=page, per_page=per_page, error_out=False)
    return render_template("proposals/inbox.html", waiting=waiting, page=others)


# ---------------------------------------------------------------- one proposal

def _visible_or_abort(proposal_id: int) -> Proposal:
    try:
        return services.get_proposal(current_user, proposal_id)
    except ServiceError as exc:
        abort(exc.status)


@bp.get("/proposals/<int:proposal_id>")
@login_required
def detail(proposal_id: int):
    proposal = _visible_or_abort(proposal_id)
    mine = None
    if current_user.role == Role.MEMBER:
        mine = next((p for p in proposal.participants
                     if p.organisation_id == current_user.organisation_id), None)
    can_confirm = {
        leg.id for leg in proposal.legs
        if mine is not None and proposal.status == ProposalStatus.AGREED
        and leg.receiver_id == current_user.organisation_id and leg.confirmed_at is None
    }
    return render_template(
        "proposals/detail.html", proposal=proposal, drawing=proposal_svg(proposal),
        history=services.trust_history(proposal), mine=mine, can_confirm=can_confirm,
        can_answer=(mine is not None and proposal.status == ProposalStatus.APPROVED
                    and mine.response == Answer.PENDING),
        is_coordinator=current_user.role == Role.COORDINATOR,
        describe=services.describe(proposal),
    )


@bp.get("/proposals/<int:proposal_id>/drawing.svg")
@login_required
def drawing(proposal_id: int):
    proposal = _visible_or_abort(proposal_id)
    return Response(str(proposal_svg(proposal)), mimetype="image/svg+xml")


def _act(proposal_id: int, action, form_class, success: str, *extra):
    """Validate the form, run one transition, commit, flash, back to the proposal.

    403/404 from the service become error pages; a conflict (409) or invalid
    input (422) is flashed on the proposal page, so a double click reads
    "already approved" rather than an error.
    """
    form = form_class()
    target = url_for(".detail", proposal_id=proposal_id)
    services.expire_due_opportunistically()
    if not form.validate_on_submit():
        messages = [m for errors in form.errors.values() for m in errors]
        flash(" ".join(messages) or "The form is invalid.", "error")
        return redirect(target)
    try:
        action(current_user, proposal_id, *extra, form.reason.data or "")
    except ServiceError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            abort(exc.status)
        details = " ".join(m for errors in exc.errors.values() for m in errors)
        flash(f"{exc.message} {details}".strip(), "error")
        return redirect(target)
    db.session.commit()
    flash(success, "success")
    return redirect(target)


@bp.post("/proposals/<int:proposal_id>/approve")
@permission_required("proposal.review")
def approve(proposal_id: int):
    return _act(proposal_id, services.approve, ReasonForm,
                "Approved: the listings are reserved and the organisations asked to accept.")


@bp.post("/proposals/<int:proposal_id>/reject")
@permission_required("proposal.review")
def reject(proposal_id: int):
    return _act(proposal_id, services.reject, RequiredReasonForm, "Rejected.")


@bp.post("/proposals/<int:proposal_id>/cancel")
@permission_required("proposal.review")
def cancel(proposal_id: int):
    return _act(proposal_id, services.cancel, RequiredReasonForm,
                "Cancelled: the reservations are released.")


@bp.post("/proposals/<int:proposal_id>/accept")
@permission_required("proposal.answer")
def accept(proposal_id: int):
    return _act(proposal_id, services.accept, ReasonForm, "Accepted for your organisation.")


@bp.post("/proposals/<int:proposal_id>/decline")
@permission_required("proposal.answer")
def decline(proposal_id: int):
    return _act(proposal_id, services.decline, RequiredReasonForm,
                "Declined for your organisation: this exchange will not be proposed again.")


@bp.post("/proposals/<int:proposal_id>/legs/<int:leg_id>/confirm")
@permission_required("proposal.answer")
def confirm(proposal_id: int, leg_id: int):
    return _act(proposal_id, services.confirm_leg, ReasonForm, "Receipt confirmed.", leg_id)


# ---------------------------------------------------------------- notifications

@bp.get("/notifications")
@login_required
def notifications():
    page, per_page = _page_args()
    result = db.paginate(notes.notifications_for(current_user), page=page, per_page=per_page,
                         error_out=False)
    return render_template("proposals/notifications.html", page=result,
                           unread=notes.unread_count(current_user), form=ReasonForm())


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def notification_read(notification_id: int):
    ReasonForm()  # CSRF is checked by CSRFProtect before the view runs
    try:
        note = notes.mark_read(current_user, notification_id)
    except ServiceError as exc:
        db.session.rollback()
        abort(exc.status)
    db.session.commit()
    if request.form.get("open") and note.proposal_id:
        return redirect(url_for(".detail", proposal_id=note.proposal_id))
    return redirect(url_for(".notifications"))


@bp.post("/notifications/read-all")
@login_required
def notifications_read_all():
    count = notes.mark_all_read(current_user)
    db.session.commit()
    flash(f"Marked {count} notification(s) read.", "success")
    return redirect(url_for(".notifications"))
