"""How a page changes something: run one service call as the request's transaction.

Services flush and never commit; the page (like the API's `endpoint` decorator and
each CLI command) commits once. `attempt` is that edge for the pages: commit on
success (and flash the success message), roll back when the service refuses, and
show the refusal on the form's fields or as a flash message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash
from flask_wtf import FlaskForm

from app.core.errors import Invalid, ServiceError
from app.extensions import db


@dataclass
class Outcome:
    ok: bool
    value: Any = None
    error: ServiceError | None = None


def apply_service_errors(form: FlaskForm, exc: ServiceError, aliases: dict | None = None) -> None:
    """Show a service's per-field messages on the form's fields; the rest as a flash."""
    aliases = aliases or {}
    unplaced = []
    for name, messages in (exc.errors or {}).items():
        field = form._fields.get(aliases.get(name, name))
        if field is None:
            unplaced.extend(f"{name}: {message}" for message in messages)
            continue
        field.errors = list(field.errors) + list(messages)
    if unplaced or not exc.errors:
        flash(" ".join([exc.message, *unplaced]), "error")


def flash_service_error(exc: ServiceError) -> None:
    details = " ".join(m for errors in exc.errors.values() for m in errors)
    flash(f"{exc.message} {details}".strip(), "error")


def attempt(action: Callable[[], Any], *, form: FlaskForm | None = None,
            aliases: dict | None = None, success: str | Callable[[Any], str] | None = None,
            catch: type[ServiceError] | tuple = Invalid) -> Outcome:
    """Run `action` (one service call) and commit once.

    A `catch` error (by default Invalid, a 422) rolls back and is shown on `form`
    (or flashed without one); any other ServiceError rolls back through the error
    handlers and becomes an error page. `success` (text, or a function of the
    result) is flashed after the commit.
    """
    try:
        value = action()
    except catch as exc:
        db.session.rollback()
        if form is not None:
            apply_service_errors(form, exc, aliases)
        else:
            flash_service_error(exc)
        return Outcome(False, error=exc)
    db.session.commit()
    if success is not None:
        flash(success(value) if callable(success) else success, "success")
    return Outcome(True, value=value)
