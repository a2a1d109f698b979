"""One error contract: JSON `{"code", "status", "message", "errors"}` under /api/,
an HTML page per status elsewhere. The errors themselves are in `app.core.errors`."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, make_response, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from app.core.errors import ServiceError, error_body
from app.extensions import db


def json_error(status: int, message: str, **kwargs):
    response = jsonify(error_body(status, message, **kwargs))
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/")


def refuse_nul_characters():
    """No query string or form may carry a NUL character (PostgreSQL cannot even
    compare text holding one): 400 before any view runs, the same on every backend."""
    for source, values in (("query", request.args), ("form", request.form)):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                name = key.replace("\x00", "")
                message = f"The {source} parameter '{name}' contains a NUL character."
                if wants_json():
                    return json_error(400, message,
                                      errors={name: ["Must not contain a NUL character."]})
                return render_template("errors/400.html", error=None, message=message,
                                       status=400), 400
    return None


# An OperationalError is either the database being busy (a lock it could not get, a
# transaction that lost a race: retrying soon may well succeed, 409) or the database
# being unreachable or failing (a lost connection, a server restarting: 503 with
# Retry-After, the answer load balancers and clients know to retry).
_BUSY_SQLSTATES = frozenset({
    "55P03",  # lock_not_available (lock_timeout, NOWAIT)
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
})
_BUSY_SQLITE = ("database is locked", "database table is locked")
RETRY_AFTER_SECONDS = 5
UNAVAILABLE = "The database is not answering just now; try again in a few seconds."


def database_busy(exc: OperationalError) -> bool:
    """True for a lock or serialization failure, False for an unreachable database."""
    if exc.connection_invalidated:
        return False
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate:
        return sqlstate in _BUSY_SQLSTATES
    message = str(original).lower()
    return any(text in message for text in _BUSY_SQLITE)


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool discards it
        db.session.close()


def database_error_response(exc: OperationalError):
    """409 "busy" or 503 "unavailable" (with Retry-After), as JSON or as a page."""
    _rollback_quietly()
    if database_busy(exc):
        if wants_json():
            return json_error(409, "The resource is busy; try again.")
        return render_template("errors/409.html", error=None, status=409,
                               message="Someone else is changing this right now; "
                                       "try again."), 409
    if wants_json():
        response = json_error(503, UNAVAILABLE, code="service_unavailable")
    else:
        # Straight from Jinja: render_template's context processors would load the
        # logged-in user, from the database that is not answering.
        page = current_app.jinja_env.get_template("errors/503.html").render(message=UNAVAILABLE)
        response = make_response(page, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def register_error_handlers(app: Flask) -> None:
    app.before_request(refuse_nul_characters)

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        status = exc.code or 500
        if wants_json():
            response = json_error(status, exc.description or exc.name)
            if status == 405 and exc.valid_methods:
                response.headers["Allow"] = ", ".join(exc.valid_methods)
            return response
        template = f"errors/{status}.html" if status in (400, 403, 404, 405, 409, 429) else (
            "errors/generic.html")
        return render_template(template, error=exc, status=status), status

    @app.errorhandler(ServiceError)
    def handle_service(exc: ServiceError):
        db.session.rollback()
        if wants_json():
            return json_error(exc.status, exc.message, code=exc.code, errors=exc.errors,
                              **exc.payload)
        return render_template("errors/generic.html", error=exc, status=exc.status), exc.status

    @app.errorhandler(OperationalError)
    def handle_database(exc: OperationalError):
        first_line = (str(exc.orig or exc).strip().splitlines() or [""])[0]
        app.logger.warning("Database error on %s %s: %s", request.method, request.path,
                           first_line)
        return database_error_response(exc)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if app.config.get("PROPAGATE_EXCEPTIONS") and app.testing:
            raise exc
        if wants_json():
            return json_error(500, "An internal error occurred.")
        return render_template("errors/generic.html", error=None, status=500), 500
