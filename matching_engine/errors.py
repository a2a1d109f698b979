"""The one error the engine raises for bad input."""


class InputError(ValueError):
    """A malformed or inconsistent document; the message names the field or id at fault."""
