"""marshmallow fields that take JSON at its word, shared by every feature's schemas.

marshmallow's defaults coerce: "5" and true both load as an integer. An API
that must answer wrong types with a 422 naming the field needs stricter ones.
"""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate

# Database ids are 32-bit integers: anything larger is an unknown id, refused early.
ID_RANGE = validate.Range(min=1, max=2**31 - 1)


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
