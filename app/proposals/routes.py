"""Pages of the proposal lifecycle: thin views that parse the form, call one service
and commit once (`app.web.actions.attempt`), then redirect (or render).

Who may open what (the policy table; the services check the same again):
- coordinators: the review queue, approve / reject / cancel ("proposal.review");
- members: their organisation's inbox, accept / decline, confirm receipt of
  legs their organisation receives ("proposal.answer");
- auditors and admins: read every proposal, change nothing.
Matching runs' pages are `app.matching.routes`, notifications' `app.notifications.routes`.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import case

from app.auth.decorators import permission_required
from app.auth.policy import role_may
from app.core.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from app.core.limits import MAX_PAGE
from app.core.paging import paginate
from app.core.validation import valid_id
from app.extensions import db
from app.market.models import MarketSettings, Organisation
from app.proposals import services
from app.proposals.drawing import proposal_pictures, proposal_svg
from app.proposals.forms import AcceptForm, ReasonForm, RequiredReasonForm
from app.proposals.models import Proposal, ProposalStatus
from app.proposals.models import Response as Answer
from app.reporting.trust import trust_history
from app.web.actions import attempt

bp = Blueprint("proposals", __name__, template_folder="templates")


@bp.app_context_processor
def _waiting_panel() -> dict:
    """`proposals_waiting()` for the start page's "waiting on you" panel."""
    return {"proposals_waiting": lambda: services.waiting_on(current_user)}


def _page_args() -> tuple[int, int]:
    page = request.args.get("page", 1, type=int) or 1
    return max(1, min(page, MAX_PAGE)), 20


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if valid_id(value) else None


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
    result = paginate(statement, page, per_page, clamp=True)
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
    proposed = paginate(
        db.select(Proposal).where(Proposal.status == ProposalStatus.PROPOSED)
        .order_by(Proposal.weight.desc(), Proposal.id),
        page, per_page, clamp=True)
    in_flight = db.session.execute(
        db.select(Proposal).where(Proposal.status.in_(ProposalStatus.RESERVING))
        .order_by(Proposal.id)
    ).scalars().all()
    return render_template("proposals/queue.html", page=proposed, in_flight=in_flight)


@bp.get("/proposals/inbox")
@permission_required("proposal.answer")
def inbox():
    waiting = services.waiting_on(current_user)
    page, per_page = _page_args()
    # Every exchange involving the organisation, those waiting on it included (they
    # are also listed above): the ones still in progress first, then newest first.
    in_progress = case((Proposal.status.in_(ProposalStatus.OPEN), 0), else_=1)
    every = paginate(
        services.list_proposals(current_user).order_by(None).order_by(
            in_progress, Proposal.id.desc()),
        page, per_page, clamp=True)
    return render_template("proposals/inbox.html", waiting=waiting, page=every)


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
    if role_may(current_user, "proposal.answer"):  # a member: their organisation's part
        mine = next((p for p in proposal.participants
                     if p.organisation_id == current_user.organisation_id), None)
    can_confirm = {
        leg.id for leg in proposal.legs
        if mine is not None and proposal.status == ProposalStatus.AGREED
        and leg.receiver_id == current_user.organisation_id and leg.confirmed_at is None
    }
    can_answer = (mine is not None and proposal.status == ProposalStatus.APPROVED
                  and mine.response == Answer.PENDING)
    return render_template(
        "proposals/detail.html", proposal=proposal, drawing=proposal_pictures(proposal),
        history=trust_history(proposal), mine=mine, can_confirm=can_confirm,
        can_answer=can_answer,
        commitment=services.commitment(proposal, mine.organisation_id,
                                       MarketSettings.current().delivery_days)
        if can_answer else None,
        is_coordinator=role_may(current_user, "proposal.review"),
        describe=services.describe(proposal),
    )


@bp.get("/proposals/<int:proposal_id>/drawing.svg")
@login_required
def drawing(proposal_id: int):
    proposal = _visible_or_abort(proposal_id)
    return Response(str(proposal_svg(proposal)), mimetype="image/svg+xml")


def _act(proposal_id: int, action, form_class, success: str, *extra):
    """Validate the form, run one transition (committed once), back to the proposal.

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
        attempt(lambda: action(current_user, proposal_id, *extra, form.reason.data or ""),
                catch=(Conflict, Invalid), success=success)
    except (Forbidden, NotFound) as exc:
        db.session.rollback()
        abort(exc.status)
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
    return _act(proposal_id, services.accept, AcceptForm, "Accepted for your organisation.")


@bp.post("/proposals/<int:proposal_id>/decline")
@permission_required("proposal.answer")
def decline(proposal_id: int):
    return _act(proposal_id, services.decline, RequiredReasonForm,
                "Declined for your organisation: this exchange will not be proposed again.")


@bp.post("/proposals/<int:proposal_id>/legs/<int:leg_id>/confirm")
@permission_required("proposal.answer")
def confirm(proposal_id: int, leg_id: int):
    return _act(proposal_id, services.confirm_leg, ReasonForm, "Receipt confirmed.", leg_id)
