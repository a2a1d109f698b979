"""marshmallow schemas of the proposals' API: what comes in (validated, unknown fields
rejected) and what goes out (all dump-only). Matching runs' are `app.matching.schemas`."""

from __future__ import annotations

import json

from marshmallow import Schema, fields, validate

from app.core.fields import ID_RANGE, StrictInteger, UtcDateTime, money
from app.core.limits import MAX_REASON
from app.core.paging import PageArgs
from app.proposals.models import ExchangeKind, ProposalStatus


class ProposalReasonSchema(Schema):
    """Body of approve and accept: an optional `reason`."""

    reason = fields.String(load_default="", validate=validate.Length(max=MAX_REASON))


class ProposalRequiredReasonSchema(Schema):
    """Body of reject, decline and cancel: the `reason` is required (422 naming it otherwise)."""

    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON))


class ProposalConfirmSchema(ProposalReasonSchema):
    """Body of confirm: the leg whose receipt the caller's organisation confirms."""

    leg = StrictInteger(required=True, validate=ID_RANGE,
                        metadata={"description": "Id of the leg (see `legs[].id`)."})


class ProposalQuerySchema(PageArgs):
    status = fields.String(validate=validate.OneOf(ProposalStatus.ALL))
    kind = fields.String(validate=validate.OneOf(ExchangeKind.ALL))
    organisation = fields.Integer(validate=ID_RANGE)
    run = fields.Integer(validate=ID_RANGE)


# ---------------------------------------------------------------- output

class ProposalParticipantSchema(Schema):
    organisation_id = fields.Integer(dump_only=True)
    organisation = fields.Function(lambda p: p.organisation.name, dump_only=True)
    position = fields.Integer(dump_only=True)
    value_given = money(dump_only=True)
    value_received = money(dump_only=True)
    fairness = fields.Float(dump_only=True, allow_none=True,
                            metadata={"description": "null for a chain's gift giver and end."})
    response = fields.String(dump_only=True)
    responded_at = UtcDateTime(dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True)


class ProposalLegSchema(Schema):
    id = fields.Integer(dump_only=True)
    position = fields.Integer(dump_only=True)
    giver_id = fields.Integer(dump_only=True)
    giver = fields.Function(lambda leg: leg.giver.name, dump_only=True)
    receiver_id = fields.Integer(dump_only=True)
    receiver = fields.Function(lambda leg: leg.receiver.name, dump_only=True)
    offer_id = fields.Integer(dump_only=True)
    need_id = fields.Integer(dump_only=True)
    currency = fields.Function(lambda leg: leg.currency.code, dump_only=True)
    quantity = fields.Integer(dump_only=True)
    unit_value = money(dump_only=True)
    value = money(dump_only=True)
    confirmed_at = UtcDateTime(dump_only=True, allow_none=True)
    confirmed_by_id = fields.Integer(dump_only=True, allow_none=True)


class ProposalTransitionSchema(Schema):
    action = fields.String(dump_only=True)
    from_status = fields.String(dump_only=True, allow_none=True)
    to_status = fields.String(dump_only=True)
    actor_id = fields.Integer(dump_only=True, allow_none=True)
    actor_name = fields.String(dump_only=True)
    organisation_id = fields.Integer(dump_only=True, allow_none=True)
    reason = fields.String(dump_only=True)
    created_at = UtcDateTime(dump_only=True)


class ProposalSchema(Schema):
    id = fields.Integer(dump_only=True)
    run_id = fields.Integer(dump_only=True, allow_none=True)
    kind = fields.String(dump_only=True, metadata={"enum": list(ExchangeKind.ALL)})
    status = fields.String(dump_only=True, metadata={"enum": list(ProposalStatus.ALL)})
    signature = fields.Function(lambda p: json.loads(p.signature), dump_only=True,
                                metadata={"description": "Sorted [offer_id, need_id] pairs."})
    weight = fields.Float(dump_only=True)
    fairness = fields.Float(dump_only=True, allow_none=True)
    expected_completion = fields.Float(dump_only=True, allow_none=True)
    approved_at = UtcDateTime(dump_only=True, allow_none=True)
    approved_by_id = fields.Integer(dump_only=True, allow_none=True)
    accept_by = UtcDateTime(dump_only=True, allow_none=True)
    deliver_by = UtcDateTime(dump_only=True, allow_none=True)
    closed_at = UtcDateTime(dump_only=True, allow_none=True)
    status_reason = fields.String(dump_only=True)
    created_at = UtcDateTime(dump_only=True)
    updated_at = UtcDateTime(dump_only=True)
    participants = fields.List(fields.Nested(ProposalParticipantSchema), dump_only=True)
    legs = fields.List(fields.Nested(ProposalLegSchema), dump_only=True)
    transitions = fields.List(fields.Nested(ProposalTransitionSchema), dump_only=True)
