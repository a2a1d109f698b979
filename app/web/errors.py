"""One error contract: JSON `{"code", "status", "message", "errors"}` under /api/,
an HTML page per status elsewhere. The errors themselves are in `app.core.errors`."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
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

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        if app.config.get("PROPAGATE_EXCEPTIONS") and app.testing:
            raise exc
        if wants_json():
            return json_error(500, "An internal error occurred.")
        return render_template("errors/generic.html", error=None, status=500), 500
