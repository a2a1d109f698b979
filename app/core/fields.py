"""marshmallow fields that take JSON at its word, shared by every feature's schemas.

marshmallow's defaults coerce: "5" and true both load as an integer. An API
that must answer wrong types with a 422 naming the field needs stricter ones.
"""

from __future__ import annotations

from datetime import UTC

from marshmallow import ValidationError, fields, validate

from app.core.limits import MAX_ID

# Database ids are 32-bit integers: anything larger is an unknown id, refused early.
ID_RANGE = validate.Range(min=1, max=MAX_ID)


class StrictInteger(fields.Integer):
    """An integer that refuses booleans, strings and floats (JSON `true` is not 1)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Not a valid integer.")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictNumber(fields.Float):
    """A JSON number (not a boolean, not a string)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("Not a valid number.")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """A JSON boolean: only `true` or `false`."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean: use true or false.")
        return value


class UtcDateTime(fields.DateTime):
    """A timestamp in RFC 3339 with its offset: the database keeps naive UTC, the API says so.

    Dumps `2026-11-23T17:07:57Z` (never a bare local-looking time); loads any offset
    and gives back naive UTC, the form every column stores.
    """

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment


def money(**kwargs) -> fields.Decimal:
    """An exact amount of market credits, as a decimal string with two places ("1800.00")."""
    metadata = {"type": "string", "format": "decimal", "example": "1800.00",
                **kwargs.pop("metadata", {})}
    return fields.Decimal(as_string=True, places=2, metadata=metadata, **kwargs)
