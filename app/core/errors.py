"""Errors the services raise: each carries the HTTP status to answer with.

Services raise them; the API turns them into the one JSON error shape
(`error_body`) and the pages into a flash message, a form error or an error page
(`app.web.errors`).
"""

from __future__ import annotations


class ServiceError(Exception):
    """A rule of the domain refused an action."""

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
    """The one error shape: `{"code", "status", "message", "errors", …extra}`."""
    body = {
        "code": code or STATUS_CODES.get(status, "error"),
        "status": status,
        "message": message,
        "errors": errors or {},
    }
    body.update(extra)
    return body


class AppendOnlyViolation(RuntimeError):
    """Code tried to update or delete an append-only record (a ledger entry, an entry of
    the administrative audit log): a programming error, never a user's."""
