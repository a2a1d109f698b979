"""marshmallow schemas of the ledger API: query arguments (validated, unknown fields
rejected), the reversal body and what goes out (all dump-only). The trust, audit
trail and timeline schemas are `app.reporting.schemas`."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.core.fields import ID_RANGE
from app.core.limits import MAX_CURRENCY_CODE, MAX_REASON
from app.core.paging import PageArgs
from app.ledger import chain
from app.ledger.models import EntryKind
from app.ledger.services import LedgerFilter

# --- query arguments ---------------------------------------------------------------------


class DateRange:
    @validates_schema
    def _ordered(self, data: dict, **kwargs) -> None:
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ValidationError("Must not be before 'from'.", field_name="to")


class LedgerFilterSchema(DateRange, Schema):
    """Filters shared by the entry list and the exports. Dates are UTC, inclusive."""

    organisation_id = fields.Integer(data_key="organisation", validate=ID_RANGE,
                                     metadata={"description": "Gave or received"})
    currency = fields.String(validate=validate.Length(min=1, max=MAX_CURRENCY_CODE),
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
