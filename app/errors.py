"""One error contract: JSON `{"code", "status", "message", "errors"}` under /api/,
an HTML page per status elsewhere."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class ServiceError(Exception):
    """A rule of the domain refused an action. Carries the HTTP status to answer with.

    Services raise it; the API turns it into the JSON error shape and pages turn
    it into a flash message or an error page.
    """

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, errors: dict | None = None, status: int | None = None,
                 code: str | None = None, payload: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.payload = payload or {}


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Invalid(ServiceError):
    status = 422
    code = "validation_error"


STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "validation_error", 429: "too_many_requests",
    500: "internal_error",
}


def error_body(status: int, message: str, *, code: str | None = None,
               errors: dict | None = None, **extra) -> dict:
    body = {
        "code": code or STATUS_CODES.get(status, "error"),
        "status": status,
        "message": message,
        "errors": errors or {},
    }
    body.update(extra)
    return body


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
        from app.extensions import db

        db.session.rollback()
        if wants_json():
            return json_error(exc.status, exc.message, code=exc.code, errors=exc.errors,
                              **exc.payload)
        return render_template("errors/generic.html", error=exc, status=exc.status), exc.status

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        from app.extensions import db

        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if app.config.get("PROPAGATE_EXCEPTIONS") and app.testing:
            raise exc
        if wants_json():
            return json_error(500, "An internal error occurred.")
        return render_template("errors/generic.html", error=None, status=500), 500
