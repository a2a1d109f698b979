"""marshmallow schemas of the ledger and trust API: query arguments (validated,
unknown fields rejected) and what goes out (all dump-only)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.core.fields import ID_RANGE, UtcDateTime, money
from app.core.paging import PageArgs
from app.ledger import chain
from app.ledger.models import EntryKind
from app.ledger.services import MAX_REASON, LedgerFilter, TransitionFilter
from app.proposals.models import ProposalStatus

# --- query arguments ---------------------------------------------------------------------


class _DateRange:
    @validates_schema
    def _ordered(self, data: dict, **kwargs) -> None:
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError("Must not be before 'from'.", field_name="to")


class LedgerFilterSchema(_DateRange, Schema):
    """Filters shared by the entry list and the exports. Dates are UTC, inclusive."""

    organisation_id = fields.Integer(data_key="organisation", validate=ID_RANGE,
                                     metadata={"description": "Gave or received"})
    currency = fields.String(validate=validate.Length(min=1, max=32),
                             metadata={"description": "Currency code"})
    date_from = fields.Date(data_key="from", metadata={"description": "YYYY-MM-DD"})
    date_to = fields.Date(data_key="to", metadata={"description": "YYYY-MM-DD, inclusive"})
    kind = fields.String(validate=validate.OneOf(EntryKind.ALL))
    proposal_id = fields.Integer(data_key="proposal", validate=ID_RANGE)


class LedgerQuerySchema(LedgerFilterSchema, PageArgs):
    """Entry-list query: the filters plus paging."""


def ledger_filter(args: dict) -> LedgerFilter:
    return LedgerFilter.from_args(args)


class VerifyQuerySchema(Schema):
    anchor = fields.String(
        validate=validate.Length(max=2000),
        metadata={"description": "Comma-separated SEQ:HASH pairs recorded earlier; each "
                                 "entry SEQ must still have that hash."})

    @validates_schema
    def _anchors(self, data: dict, **kwargs) -> None:
        for part in filter(None, (data.get("anchor") or "").split(",")):
            try:
                chain.parse_anchor(part)
            except ValueError as exc:
                raise ValidationError(str(exc), field_name="anchor") from exc


def anchors_from(args: dict) -> dict[int, str]:
    return dict(chain.parse_anchor(part)
                for part in filter(None, (args.get("anchor") or "").split(",")))


class ReverseSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON),
                           metadata={"description": "Why the entry is reversed (required)."})


class TransitionQuerySchema(_DateRange, PageArgs):
    proposal_id = fields.Integer(data_key="proposal", validate=ID_RANGE)
    organisation_id = fields.Integer(data_key="organisation", validate=ID_RANGE)
    actor_id = fields.Integer(data_key="actor", validate=ID_RANGE)
    action = fields.String(validate=validate.Length(min=1, max=20))
    to_status = fields.String(validate=validate.OneOf(ProposalStatus.ALL))
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")


def transition_filter(args: dict) -> TransitionFilter:
    return TransitionFilter.from_args(args)


class PairQuerySchema(Schema):
    organisation_id = fields.Integer(data_key="organisation", validate=ID_RANGE,
                                     metadata={"description": "Only pairs including it"})


# --- output ------------------------------------------------------------------------------


class EntrySchema(Schema):
    """A ledger entry: every hashed field in its canonical text form, the hash,
    and the organisations' names for readers (names are not hashed)."""

    sequence = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"enum": list(EntryKind.ALL)})
    proposal_id = fields.Integer(dump_only=True, allow_none=True)
    leg_id = fields.Integer(dump_only=True, allow_none=True)
    giver_id = fields.Integer(dump_only=True)
    giver_name = fields.Function(lambda e: e.giver.name, dump_only=True)
    receiver_id = fields.Integer(dump_only=True)
    receiver_name = fields.Function(lambda e: e.receiver.name, dump_only=True)
    currency_code = fields.String(dump_only=True)
    quantity = fields.Integer(dump_only=True)
    unit_value = fields.Function(lambda e: chain.format_decimal(e.unit_value), dump_only=True,
                                 metadata={"type": "string", "example": "150.00"})
    value = fields.Function(lambda e: chain.format_decimal(e.value), dump_only=True,
                            metadata={"type": "string", "example": "300.00"})
    recorded_at = fields.Function(lambda e: chain.format_time(e.recorded_at), dump_only=True,
                                  metadata={"type": "string",
                                            "example": "2026-11-23T16:05:38.797605Z"})
    confirmed_by_id = fields.Integer(dump_only=True, allow_none=True)
    confirmed_by_name = fields.String(dump_only=True)
    reverses_sequence = fields.Integer(dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True)
    previous_hash = fields.String(dump_only=True)
    hash = fields.String(dump_only=True)


class ProblemSchema(Schema):
    sequence = fields.Integer(dump_only=True, allow_none=True)
    kind = fields.String(dump_only=True)
    message = fields.String(dump_only=True)


class VerifyResultSchema(Schema):
    ok = fields.Boolean(dump_only=True)
    count = fields.Integer(dump_only=True)
    head_sequence = fields.Integer(dump_only=True)
    head_hash = fields.String(dump_only=True)
    full = fields.Boolean(dump_only=True)
    links_checked = fields.Integer(dump_only=True)
    links_unchecked = fields.Integer(dump_only=True)
    problem_count = fields.Integer(dump_only=True)
    first_bad_sequence = fields.Integer(dump_only=True, allow_none=True)
    problems = fields.List(fields.Nested(ProblemSchema), dump_only=True)
    message = fields.String(dump_only=True)


class TransitionSchema(Schema):
    id = fields.Integer(dump_only=True)
    proposal_id = fields.Integer(dump_only=True)
    action = fields.String(dump_only=True)
    from_status = fields.String(dump_only=True, allow_none=True)
    to_status = fields.String(dump_only=True)
    actor_id = fields.Integer(dump_only=True, allow_none=True)
    actor_name = fields.String(dump_only=True)
    organisation_id = fields.Integer(dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True)
    created_at = UtcDateTime(dump_only=True)


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
    agreed = fields.Integer(dump_only=True)
    completed = fields.Integer(dump_only=True)
    completion_rate = fields.Float(dump_only=True,
                                   metadata={"description": "(completed + 1) / (agreed + 1)"})
    completion_share = fields.Float(dump_only=True, allow_none=True,
                                    metadata={"description": "completed / agreed"})
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
    exchanges = fields.Integer(dump_only=True,
                               metadata={"description": "Completed exchanges both took part in"})
    value_a_to_b = money(dump_only=True)
    value_b_to_a = money(dump_only=True)
    last_exchange = UtcDateTime(dump_only=True, allow_none=True)


class PairListSchema(Schema):
    items = fields.List(fields.Nested(PairSchema), dump_only=True)
