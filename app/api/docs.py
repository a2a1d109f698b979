"""The OpenAPI 3 document, generated from the endpoint registry and its
marshmallow schemas, and an interactive page to try the API."""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify, render_template
from marshmallow import Schema, fields

from app.api.core import AUTHENTICATED, PUBLIC, REGISTRY, bp, openapi_path


class ErrorSchema(Schema):
    code = fields.String(required=True, metadata={"example": "validation_error"})
    status = fields.Integer(required=True, metadata={"example": 422})
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(),
                         metadata={"description": "Messages per field."})


ERROR_DESCRIPTIONS = {
    "400": "Malformed request (e.g. the body is not JSON)",
    "401": "Missing, invalid, expired or revoked bearer token",
    "403": "Your role or organisation may not do this",
    "404": "Unknown id",
    "409": "Conflicts with the current state",
    "422": "Validation failed; `errors` names each field",
}


def _schema_name(schema: Schema) -> str:
    name = type(schema).__name__
    return name[:-6] if name.endswith("Schema") and len(name) > 6 else name


def build_spec() -> dict:
    spec = APISpec(
        title="Common Currency API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={"description": "Exchange marketplace for public-sector partnerships. "
                             "Authenticate with POST /api/v1/auth/tokens, then send "
                             "`Authorization: Bearer <token>`."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=ErrorSchema)
    paths: dict[str, dict] = {}
    for doc in REGISTRY:
        path = openapi_path(doc.rule)
        operation: dict = {
            "operationId": f"{doc.tag or 'api'}_{doc.name}",
            "summary": doc.summary,
            "description": doc.description,
            "tags": [doc.tag] if doc.tag else [],
            "responses": {},
        }
        params = [
            {"in": "path", "name": name, "required": True, "schema": {"type": "integer"}}
            for name in _path_names(path)
        ]
        if doc.query is not None:
            params.append({"in": "query", "schema": doc.query})
        if doc.idempotent:
            params.append({"in": "header", "name": "Idempotency-Key", "required": False,
                           "schema": {"type": "string", "maxLength": 200},
                           "description": "Replaying a key returns the first answer."})
        if params:
            operation["parameters"] = params
        if doc.body is not None:
            operation["requestBody"] = {
                "required": True, "content": {"application/json": {"schema": doc.body}}}
        success: dict = {"description": "Success"}
        if doc.response is not None:
            schema: object = doc.response
            if doc.paged:
                schema = {"type": "object", "properties": {
                    "items": {"type": "array", "items": doc.response},
                    "page": {"type": "integer"}, "per_page": {"type": "integer"},
                    "total": {"type": "integer"}, "pages": {"type": "integer"}}}
            success["content"] = {"application/json": {"schema": schema}}
        operation["responses"][str(doc.status)] = success
        codes = ["400", "422"] if (doc.body or doc.query) else []
        if doc.roles != PUBLIC:
            operation["security"] = [{"bearer": []}]
            codes += ["401"] + (["403"] if doc.roles != AUTHENTICATED else [])
        if "{" in path:
            codes.append("404")
        codes += list(doc.extra_responses)
        for code in sorted(set(codes)):
            operation["responses"][code] = {
                "description": doc.extra_responses.get(code, ERROR_DESCRIPTIONS.get(code, "")),
                "content": {"application/json": {"schema": "Error"}},
            }
        paths.setdefault(path, {})[doc.method.lower()] = operation
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return spec.to_dict()


def _path_names(path: str) -> list[str]:
    import re

    return re.findall(r"{([a-zA-Z_]+)}", path)


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(build_spec())


@bp.get("/docs")
def interactive_docs():
    return render_template("api/docs.html")
