"""Pages of matching runs: the list, "Run matcher" (coordinators), one run and its
exact engine input.

Coordinators, auditors and admins read runs; only coordinators start one (the
policy's "run.read" and "run.start"; the services check the same again).
"""

from __future__ import annotations

import json

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
from flask_login import current_user

from app.auth.decorators import permission_required
from app.core.errors import ServiceError
from app.core.limits import MAX_PAGE
from app.core.paging import paginate
from app.matching import services
from app.matching.forms import RunForm
from app.matching.models import MatchingRun, RunStatus
from app.matching.snapshot import count_open_listings
from app.web.actions import attempt

bp = Blueprint("matching", __name__, template_folder="templates")


@bp.get("/matching/runs")
@permission_required("run.read")
def runs():
    page = max(1, min(request.args.get("page", 1, type=int) or 1, MAX_PAGE))
    result = paginate(services.list_runs(), page, 20, clamp=True)
    return render_template("matching/runs.html", page=result)


@bp.route("/matching/runs/new", methods=["GET", "POST"])
@permission_required("run.start")
def run_new():
    form = RunForm()
    market = services.market_settings()
    if request.method == "GET":
        form.fill(market)
    elif form.validate_on_submit():
        outcome = attempt(lambda: services.start_run(current_user, form.overrides()),
                          form=form, catch=ServiceError)
        if outcome.ok:
            run = outcome.value
            if run.status == RunStatus.FAILED:
                flash(f"Matching run #{run.id} failed: {run.error}", "error")
            elif run.status == RunStatus.COMPLETED:
                created = (run.stats or {}).get("proposals", {}).get("created", 0)
                flash(f"Matching run #{run.id} finished: {created} new proposal(s).", "success")
            else:
                flash(f"Matching run #{run.id} is running in the background.", "success")
            return redirect(url_for(".run_detail", run_id=run.id))
    return render_template("matching/run_new.html", form=form, market=market,
                           open_listings=count_open_listings(),
                           threshold=current_app.config.get("MATCHING_BACKGROUND_THRESHOLD"))


@bp.get("/matching/runs/<int:run_id>")
@permission_required("run.read")
def run_detail(run_id: int):
    run = _run_or_abort(run_id)
    in_progress = run.status in RunStatus.IN_PROGRESS
    return render_template("matching/run_detail.html", run=run, in_progress=in_progress,
                           progress_message=progress_message(run))


@bp.get("/matching/runs/<int:run_id>/status.json")
@permission_required("run.read")
def run_status(run_id: int):
    """What the run page polls while the run is in progress (app/static/app.js): a few
    fields, not the run's stored input, so polling every two seconds stays cheap."""
    run = _run_or_abort(run_id)
    return {"id": run.id, "status": run.status,
            "in_progress": run.status in RunStatus.IN_PROGRESS,
            "progress": run.progress, "message": progress_message(run)}


def progress_message(run: MatchingRun) -> str:
    """The run's state in a sentence, for the page's live region."""
    if run.status == RunStatus.QUEUED:
        return "Waiting to start: the run is queued."
    if run.status == RunStatus.RUNNING:
        return f"Working: {run.progress or 'solving'}."
    if run.status == RunStatus.COMPLETED:
        created = (run.stats or {}).get("proposals", {}).get("created", 0)
        return f"Finished: {created} new proposal(s). Showing the result."
    return "The run failed. Showing the reason."


@bp.get("/matching/runs/<int:run_id>/input.json")
@permission_required("run.read")
def run_input(run_id: int):
    run = _run_or_abort(run_id)
    body = json.dumps(run.market_input or {}, indent=2, sort_keys=True)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="matching-run-{run.id}-input.json"'})


def _run_or_abort(run_id: int) -> MatchingRun:
    try:
        return services.get_run(current_user, run_id)
    except ServiceError as exc:
        abort(exc.status)
