"""marshmallow schemas of the reporting API: the audit trail's and the trust pairs'
query arguments (validated, unknown fields rejected), and the audit trail, exchange
timelines, trust figures and pairs going out (all dump-only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.auth.admin_log import TARGET_TYPES
from app.auth.models import AdminActionKind
from app.core.fields import ID_RANGE, UtcDateTime, money
from app.core.paging import PageArgs
from app.ledger.schemas import DateRange, EntrySchema
from app.proposals.models import ProposalStatus
from app.proposals.schemas import ProposalTransitionSchema
from app.reporting.audit import TransitionFilter

# --- query arguments ---------------------------------------------------------------------


class TransitionQuerySchema(DateRange, PageArgs):
    proposal_id = fields.Integer(data_key="proposal", validate=ID_RANGE)
    organisation_id = fields.Integer(data_key="organisation", validate=ID_RANGE)
    actor_id = fields.Integer(data_key="actor", validate=ID_RANGE)
    action = fields.String(validate=validate.Length(min=1, max=20))
    to_status = fields.String(validate=validate.OneOf(ProposalStatus.ALL))
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")


def transition_filter(args: dict) -> TransitionFilter:
    return TransitionFilter.from_args(args)


class AdminActionQuerySchema(DateRange, PageArgs):
    action = fields.String(validate=validate.OneOf(AdminActionKind.ALL))
    target_type = fields.String(data_key="target", validate=validate.OneOf(TARGET_TYPES),
                                metadata={"description": "What was changed"})
    actor_id = fields.Integer(data_key="actor", validate=ID_RANGE,
                              metadata={"description": "Who changed it (user id)"})
    date_from = fields.Date(data_key="from", metadata={"description": "YYYY-MM-DD (UTC)"})
    date_to = fields.Date(data_key="to", metadata={"description": "YYYY-MM-DD, inclusive"})


class PairQuerySchema(Schema):
    organisation_id = fields.Integer(data_key="organisation", validate=ID_RANGE,
                                     metadata={"description": "Only pairs including it"})


# --- output ------------------------------------------------------------------------------


class TransitionSchema(ProposalTransitionSchema):
    """One row of the audit trail: a proposal's transition, with its own id and the
    proposal's."""

    id = fields.Integer(dump_only=True)
    proposal_id = fields.Integer(dump_only=True)


class AdminActionSchema(Schema):
    """One administrative change: who, when, what, and each changed field as
    [old value, new value] (old is null for a creation)."""

    id = fields.Integer(dump_only=True)
    created_at = UtcDateTime(dump_only=True)
    actor_id = fields.Integer(dump_only=True, allow_none=True)
    actor_name = fields.String(dump_only=True)
    action = fields.String(dump_only=True)
    target_type = fields.String(dump_only=True)
    target_id = fields.Integer(dump_only=True, allow_none=True)
    target_label = fields.String(dump_only=True)
    changes = fields.Dict(keys=fields.String(), values=fields.List(fields.Raw(allow_none=True)),
                          dump_only=True)


class TimelineEventSchema(Schema):
    at = UtcDateTime(dump_only=True)
    kind = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    actor = fields.String(dump_only=True)
    organisation = fields.String(dump_only=True)
    detail = fields.String(dump_only=True)


class TimelineSchema(Schema):
    proposal_id = fields.Function(lambda t: t.proposal.id, dump_only=True)
    status = fields.Function(lambda t: t.proposal.status, dump_only=True)
    run_id = fields.Function(lambda t: t.run.id if t.run else None, dump_only=True, allow_none=True)
    events = fields.List(fields.Nested(TimelineEventSchema), dump_only=True)
    entries = fields.List(fields.Nested(EntrySchema), dump_only=True)


class CurrencyFlowSchema(Schema):
    currency = fields.String(dump_only=True)
    quantity_given = fields.Integer(dump_only=True)
    value_given = money(dump_only=True)
    quantity_received = fields.Integer(dump_only=True)
    value_received = money(dump_only=True)


class PartnerSchema(Schema):
    organisation_id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    exchanges = fields.Integer(dump_only=True)


class TrustSchema(Schema):
    """An organisation's trust figures. `scope` is `full` for your own
    organisation (and for coordinators, auditors, admins) and `public` when a
    member looks at another organisation: then only its reputation figures are
    present — not its partners, values or reversals."""

    scope = fields.String(dump_only=True, metadata={"enum": ["full", "public"]})
    organisation_id = fields.Integer(dump_only=True)
    name = fields.String(dump_only=True)
    exchanges_completed = fields.Integer(dump_only=True)
    distinct_partners = fields.Integer(dump_only=True)
    agreed = fields.Integer(dump_only=True, metadata={
        "description": "Exchanges it agreed to (reached `agreed`), whatever happened next"})
    settled = fields.Integer(dump_only=True, metadata={
        "description": "Of those, the ones whose outcome is settled: completed, or "
                       "cancelled / expired after agreeing"})
    in_progress = fields.Integer(dump_only=True, metadata={
        "description": "Agreed and not yet settled (being delivered); not in the rate"})
    completed = fields.Integer(dump_only=True,
                               metadata={"description": "Of the settled, the ones completed"})
    completion_rate = fields.Float(dump_only=True,
                                   metadata={"description": "(completed + 1) / (settled + 1)"})
    completion_share = fields.Float(dump_only=True, allow_none=True,
                                    metadata={"description": "completed / settled"})
    declines = fields.Integer(dump_only=True)
    cancellations = fields.Integer(dump_only=True)
    expiries = fields.Integer(dump_only=True)
    last_exchange = UtcDateTime(dump_only=True, allow_none=True)
    partners = fields.List(fields.Nested(PartnerSchema), dump_only=True)
    flows = fields.List(fields.Nested(CurrencyFlowSchema), dump_only=True,
                        metadata={"description": "Per currency, reversals netted"})
    total_given = money(dump_only=True)
    total_received = money(dump_only=True)
    reciprocity_balance = money(
        dump_only=True, metadata={"description": "total given − total received"})
    reciprocity = fields.Float(dump_only=True, allow_none=True,
                               metadata={"description": "min / max of given and received"})
    entries_reversed = fields.Integer(dump_only=True)


class PairSchema(Schema):
    organisation_a_id = fields.Integer(attribute="a_id", dump_only=True)
    organisation_a = fields.String(attribute="a_name", dump_only=True)
    organisation_b_id = fields.Integer(attribute="b_id", dump_only=True)
    organisation_b = fields.String(attribute="b_name", dump_only=True)
    exchanges = fields.Integer(dump_only=True, metadata={
        "description": "Completed exchanges in which one gave the other directly"})
    value_a_to_b = money(dump_only=True)
    value_b_to_a = money(dump_only=True)
    last_exchange = UtcDateTime(dump_only=True, allow_none=True)


class PairListSchema(Schema):
    items = fields.List(fields.Nested(PairSchema), dump_only=True)
