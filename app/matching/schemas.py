"""marshmallow schemas of the matching runs' API: a run's settings coming in (validated,
unknown fields rejected, ranges from `app.core.limits`) and runs going out (dump-only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.core.fields import StrictInteger, StrictNumber, UtcDateTime
from app.core.limits import MAX_RUN_TIME_LIMIT, MAX_RUN_WEIGHT, SETTINGS_RANGES
from app.market.models import Objective
from app.matching.models import RunStatus

_WEIGHT = validate.Range(min=0, max=MAX_RUN_WEIGHT)


def _range(key: str) -> validate.Range:
    low, high = SETTINGS_RANGES[key]
    return validate.Range(min=low, max=high)


class RunWeightsSchema(Schema):
    needs = StrictNumber(validate=_WEIGHT)
    value = StrictNumber(validate=_WEIGHT)
    parties = StrictNumber(validate=_WEIGHT)
    completion = StrictNumber(validate=_WEIGHT)


class MatchingRunInputSchema(Schema):
    """Settings for this run only; omitted ones come from the market's settings."""

    max_cycle = StrictInteger(validate=_range("max_cycle"))
    max_chain = StrictInteger(validate=_range("max_chain"))
    fairness_threshold = StrictNumber(validate=validate.Range(min=0, max=1))
    objective = fields.String(validate=validate.OneOf(Objective.ALL))
    weights = fields.Nested(RunWeightsSchema)
    time_limit = StrictInteger(validate=validate.Range(min=1, max=MAX_RUN_TIME_LIMIT))


class MatchingRunSchema(Schema):
    id = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": list(RunStatus.ALL)})
    progress = fields.String(dump_only=True)
    started_by_id = fields.Integer(dump_only=True, allow_none=True)
    started_by_name = fields.String(dump_only=True)
    created_at = UtcDateTime(dump_only=True)
    started_at = UtcDateTime(dump_only=True, allow_none=True)
    finished_at = UtcDateTime(dump_only=True, allow_none=True)
    settings = fields.Dict(dump_only=True)
    solver_status = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "optimal, time_limit (best found; see bound) or fallback."})
    optimal = fields.Boolean(dump_only=True, allow_none=True)
    objective = fields.Float(dump_only=True, allow_none=True)
    bound = fields.Float(dump_only=True, allow_none=True)
    stats = fields.Dict(dump_only=True, allow_none=True)
    error = fields.String(dump_only=True)
    proposal_ids = fields.Function(lambda run: [p.id for p in run.proposals], dump_only=True)


class MatchingRunDetailSchema(MatchingRunSchema):
    market_input = fields.Dict(dump_only=True, allow_none=True, metadata={
        "description": "The exact engine input: replay with "
                       "`python -m matching_engine solve FILE.json`."})
