"""API endpoints for matching runs and the proposal lifecycle.

Thin views: the decorator authenticates, validates, honours Idempotency-Key
and commits once; the services decide (role, organisation, state). An illegal
transition answers 409 with `current_status` (and `proposal_id`) in the body.
Members see only proposals involving their organisation (others: 404);
auditors and admins read everything and change nothing.
"""

from __future__ import annotations

from functools import wraps

from flask_login import current_user

from app.api.core import endpoint
from app.core.paging import PageArgs, paginate
from app.matching import services as matching
from app.matching.models import RunStatus
from app.matching.schemas import (
    MatchingRunDetailSchema,
    MatchingRunInputSchema,
    MatchingRunSchema,
)
from app.proposals import services
from app.proposals.schemas import (
    ProposalConfirmSchema,
    ProposalQuerySchema,
    ProposalReasonSchema,
    ProposalRequiredReasonSchema,
    ProposalSchema,
)

CONFLICT = {"409": "Illegal transition: the body names `current_status`"}


# --- matching runs -------------------------------------------------------------------------

@endpoint("/matching/runs", "POST", allow="run.start", body=MatchingRunInputSchema(),
          body_required=False, response=MatchingRunSchema(), status=201, tag="matching",
          responses={"409": "Another run is still in progress"})
def create_run(body: dict):
    """Run the matcher now (coordinators). Settings given apply to this run only.

    Small markets are solved before the answer (status `completed` or `failed`);
    large ones (more open listings than MATCHING_BACKGROUND_THRESHOLD) answer 202
    with status `queued`: poll GET /matching/runs/{id}.
    """
    run = matching.start_run(current_user, body)
    return (run, 202) if run.status == RunStatus.QUEUED else (run, 201)


@endpoint("/matching/runs", "GET", allow="run.read", query=PageArgs(),
          response=MatchingRunSchema(), paged=True, tag="matching")
def list_runs(args: dict):
    """Matching runs, newest first (coordinators, admins, auditors)."""
    return paginate(matching.list_runs(), args["page"], args["per_page"])


@endpoint("/matching/runs/<int:run_id>", "GET", allow="run.read",
          response=MatchingRunDetailSchema(), tag="matching")
def get_run(run_id: int):
    """One run with its status, progress, settings, engine statistics and exact input."""
    return matching.get_run(current_user, run_id)


# --- proposals -----------------------------------------------------------------------------

@endpoint("/proposals", "GET", query=ProposalQuerySchema(), response=ProposalSchema(),
          paged=True, tag="proposals")
def list_proposals(args: dict):
    """Proposals you may see, newest first; filter by status, kind, organisation, run."""
    statement = services.list_proposals(
        current_user, status=args.get("status"), kind=args.get("kind"),
        organisation_id=args.get("organisation"), run_id=args.get("run"))
    return paginate(statement, args["page"], args["per_page"])


@endpoint("/proposals/<int:proposal_id>", "GET", response=ProposalSchema(), tag="proposals")
def get_proposal(proposal_id: int):
    """One proposal with its participants, legs and audit trail."""
    return services.get_proposal(current_user, proposal_id)


def _action(rule: str, allow: str, body=None, body_required: bool = False):
    """Register a transition endpoint; overdue exchanges are expired first, so a POST
    (never a read) is what records the clock's verdict."""
    register = endpoint(f"/proposals/<int:proposal_id>/{rule}", "POST", allow=allow,
                        body=body or ProposalReasonSchema(), body_required=body_required,
                        response=ProposalSchema(), tag="proposals", responses=CONFLICT)

    def decorator(fn):
        @wraps(fn)
        def view(**kwargs):
            services.expire_due_opportunistically()
            return fn(**kwargs)

        return register(view)

    return decorator


@_action("approve", "proposal.review")
def approve_proposal(proposal_id: int, body: dict):
    """Approve a proposed exchange (coordinators): reserves every listing's quantity.
    If a listing can no longer give it, 409 and the proposal becomes superseded."""
    return services.approve(current_user, proposal_id, body["reason"])


@_action("reject", "proposal.review", body=ProposalRequiredReasonSchema(), body_required=True)
def reject_proposal(proposal_id: int, body: dict):
    """Reject a proposed exchange (coordinators); `reason` required."""
    return services.reject(current_user, proposal_id, body["reason"])


@_action("cancel", "proposal.review", body=ProposalRequiredReasonSchema(), body_required=True)
def cancel_proposal(proposal_id: int, body: dict):
    """Cancel a stalled approved or agreed exchange (coordinators); `reason` required.
    Reservations are released."""
    return services.cancel(current_user, proposal_id, body["reason"])


@_action("accept", "proposal.answer")
def accept_proposal(proposal_id: int, body: dict):
    """Accept an approved exchange for your organisation; when all have, it is agreed."""
    return services.accept(current_user, proposal_id, body["reason"])


@_action("decline", "proposal.answer", body=ProposalRequiredReasonSchema(), body_required=True)
def decline_proposal(proposal_id: int, body: dict):
    """Decline for your organisation (`reason` required): the exchange is declined,
    reservations released, and it is never proposed again."""
    return services.decline(current_user, proposal_id, body["reason"])


@_action("confirm", "proposal.answer", body=ProposalConfirmSchema(), body_required=True)
def confirm_proposal(proposal_id: int, body: dict):
    """Confirm receipt of a leg your organisation receives (`leg`: its id). When every
    leg is confirmed the exchange completes and is written to the ledger."""
    return services.confirm_leg(current_user, proposal_id, body["leg"], body["reason"])
