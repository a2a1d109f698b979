"""API endpoints of the ledger of trust, the audit trail and timelines, and the trust
figures (the services are `app.ledger` and `app.reporting`).

Who may do what (the same rules as the pages, decided in the services):
* auditors, coordinators, admins: every entry, verification, exports, the
  audit trail, exchange timelines, every organisation's full trust figures and
  every pair;
* members: the entries their own organisation gave or received, its full trust
  figures and its pairs; of another organisation only its public reputation
  figures (`scope: public`);
* reversals: coordinators only, with a reason.
"""

from __future__ import annotations

from flask_login import current_user

from app.api.core import AUTHENTICATED, endpoint
from app.auth import admin_log
from app.core.paging import paginate
from app.ledger import services
from app.ledger.routes import stream_export
from app.ledger.schemas import (
    EntrySchema,
    LedgerFilterSchema,
    LedgerQuerySchema,
    ReverseSchema,
    VerifyQuerySchema,
    VerifyResultSchema,
    anchors_from,
    ledger_filter,
)
from app.reporting import audit, trust
from app.reporting.schemas import (
    AdminActionQuerySchema,
    AdminActionSchema,
    PairListSchema,
    PairQuerySchema,
    TimelineSchema,
    TransitionQuerySchema,
    TransitionSchema,
    TrustSchema,
    transition_filter,
)


@endpoint("/ledger/entries", "GET", allow=AUTHENTICATED, query=LedgerQuerySchema(),
          response=EntrySchema(), paged=True, tag="ledger",
          responses={"403": "A member asked for another organisation's entries"})
def list_entries(args: dict):
    """Ledger entries, newest first, filtered by organisation, currency, dates, kind,
    proposal. Members get their own organisation's entries only."""
    statement = services.entries_statement(current_user, ledger_filter(args))
    return paginate(statement, args["page"], args["per_page"])


@endpoint("/ledger/entries/<int:sequence>", "GET", allow=AUTHENTICATED,
          response=EntrySchema(), tag="ledger")
def get_entry(sequence: int):
    """One entry by its sequence number."""
    return services.get_entry(current_user, sequence)


@endpoint("/ledger/entries/<int:sequence>/reverse", "POST", allow="ledger.reverse",
          body=ReverseSchema(), response=EntrySchema(), status=201, tag="ledger",
          responses={"409": "The entry is a reversal or was already reversed"})
def reverse_entry(sequence: int, body: dict):
    """Append a reversing entry for a trade entry (coordinators; a reason is required).

    The reversal negates the original's quantity and value and references its
    sequence; an entry can be reversed once."""
    return services.reverse_entry(current_user, sequence, body["reason"])


@endpoint("/ledger/verify", "GET", allow="ledger.read_all", query=VerifyQuerySchema(),
          response=VerifyResultSchema(), tag="ledger")
def verify(args: dict):
    """Recompute every hash and link of the whole chain (streaming) and cross-check
    the entries against the completed proposals. `ok` false names the first bad
    sequence. Read-only: the answer is 200 either way."""
    return audit.verify_ledger(current_user, anchors=anchors_from(args)).as_dict()


@endpoint("/ledger/export.json", "GET", allow="ledger.read_all", query=LedgerFilterSchema(),
          tag="ledger")
def export_json(args: dict):
    """Stream a JSON export (application/json) carrying every hashed field and the
    hashes: re-verify it offline with tools/verify_ledger.py (see the README)."""
    return stream_export("json", ledger_filter(args))


@endpoint("/ledger/export.csv", "GET", allow="ledger.read_all", query=LedgerFilterSchema(),
          tag="ledger")
def export_csv(args: dict):
    """Stream a CSV export (text/csv): the hashed fields in canonical text, the
    hash, then the organisations' names (not hashed)."""
    return stream_export("csv", ledger_filter(args))


@endpoint("/ledger/audit-trail", "GET", allow="ledger.read_all", query=TransitionQuerySchema(),
          response=TransitionSchema(), paged=True, tag="ledger")
def audit_trail(args: dict):
    """Every proposal transition (who, when, why), newest first, filtered."""
    statement = audit.transitions_statement(current_user, transition_filter(args))
    return paginate(statement, args["page"], args["per_page"])


@endpoint("/ledger/admin-actions", "GET", allow="admin_log.read", query=AdminActionQuerySchema(),
          response=AdminActionSchema(), paged=True, tag="ledger")
def admin_actions(args: dict):
    """The audit log of administrative actions (accounts and roles, organisations,
    currencies and their values, market settings), newest first, filtered."""
    statement = admin_log.actions_statement(current_user,
                                            admin_log.AdminActionFilter.from_args(args))
    return paginate(statement, args["page"], args["per_page"])


@endpoint("/ledger/exchanges/<int:proposal_id>/timeline", "GET", allow="ledger.read_all",
          response=TimelineSchema(), tag="ledger")
def timeline(proposal_id: int):
    """An exchange's full story: run, proposal, approvals, acceptances,
    confirmations and ledger entries, oldest first."""
    return audit.exchange_timeline(current_user, proposal_id)


@endpoint("/trust/organisations/<int:organisation_id>", "GET", allow=AUTHENTICATED,
          response=TrustSchema(), tag="trust")
def organisation_trust(organisation_id: int):
    """An organisation's trust figures (`scope` says whether they are the full
    figures or the public ones a member sees of another organisation)."""
    return trust.trust_view(current_user, organisation_id)


@endpoint("/trust/pairs", "GET", allow=AUTHENTICATED, query=PairQuerySchema(),
          response=PairListSchema(), tag="trust",
          responses={"403": "A member asked for another organisation's pairs"})
def pairs(args: dict):
    """Pairs of organisations and the exchanges they completed together, most first.
    Members see only their own organisation's pairs."""
    return {"items": trust.pairs_view(current_user, args.get("organisation_id"))}
