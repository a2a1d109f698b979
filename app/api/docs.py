"""The OpenAPI 3 document, generated from the endpoint registry and its
marshmallow schemas, and an interactive page to try the API."""

from __future__ import annotations

from decimal import Decimal

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import (
    make_schema_key,
    resolve_schema_cls,
    resolve_schema_instance,
)
from flask import abort, jsonify, render_template, send_from_directory
from marshmallow import INCLUDE, Schema, fields

from app.api.core import AUTHENTICATED, PUBLIC, REGISTRY, bp, openapi_path
from app.core.limits import MAX_ID


class ErrorSchema(Schema):
    """Every error's shape. A conflict may add context, e.g. `current_status`."""

    class Meta:
        unknown = INCLUDE  # documented as additionalProperties: conflicts add context

    code = fields.String(required=True, metadata={"example": "validation_error"})
    status = fields.Integer(required=True, metadata={"example": 422})
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.Raw(),
                         metadata={"description": "Messages per field."})


TAG_DESCRIPTIONS = {
    "auth": "Bearer tokens and the current user",
}

ERROR_DESCRIPTIONS = {
    "400": "Malformed request (e.g. the body is not JSON)",
    "401": "Missing, invalid, expired or revoked bearer token",
    "403": "Your role or organisation may not do this",
    "404": "Unknown id",
    "409": "Conflicts with the current state",
    "413": "The request body is larger than the server accepts",
    "422": "Validation failed; `errors` names each field",
    "429": "Too many attempts; wait for the Retry-After header's seconds",
    "503": "The database is not answering; retry after the Retry-After header's seconds",
}

API_DESCRIPTION = """\
Exchange marketplace for public-sector partnerships.

**Authentication.** `POST /api/v1/auth/tokens` with your email and password returns a
bearer token (shown once). Send it as `Authorization: Bearer <token>` on every other
request. Cookies are ignored by the API. Tokens expire, can be listed and revoked, and
stop working when the account is disabled.

**Errors.** Every error has the same JSON shape: `{"code", "status", "message", "errors"}`;
on 422 `errors` maps each field to its messages. 400 malformed JSON, 401 missing or bad
token, 403 not allowed, 404 unknown route or id, 405 wrong method, 409 conflict,
413 body too large, 422 validation, 429 too many attempts, 503 the database is not
answering (retry after `Retry-After`). Never a 500 for anything a client sends.

**Paging.** List endpoints take `page` (from 1) and `per_page` (1-100) and answer
`{"items", "page", "per_page", "total", "pages"}`. `GET /listings` pages by cursor:
follow `links.next` / `links.prev` (every page costs the same, page 200 too); its `total`
is exact when `total_exact` is true, otherwise the database's estimate.

**Idempotency.** POST and PATCH endpoints (except token creation) accept an
`Idempotency-Key` header; sending the same key again replays the first answer instead of
acting twice.
"""


def _schema_name(schema: Schema | type[Schema] | str) -> str:
    name = resolve_schema_cls(schema).__name__
    return name[:-6] if name.endswith("Schema") and len(name) > 6 else name


def _name_resolver():
    """A schema-name resolver that gives every distinct schema its own component name.

    Short names ("Listing" for ListingSchema) as long as they are unique; a second
    class with the same short name gets its feature as a prefix ("LedgerTransition"),
    and the same class with other modifiers (only=, exclude=…) a number. Deterministic
    for a given registry, and apispec never has to rename (it would warn).
    """
    names: dict[tuple, str] = {}
    taken: set[str] = {"Error"}  # registered by name in build_spec
    owners: dict[str, type] = {}  # short name -> the first class that took it

    def resolve(schema) -> str:
        key = make_schema_key(resolve_schema_instance(schema))
        if key in names:
            return names[key]
        cls = key[0]
        name = _schema_name(cls)
        if owners.setdefault(name, cls) is not cls or name == "Error":
            parts = cls.__module__.split(".")
            feature = parts[1] if len(parts) > 2 and parts[0] == "app" else parts[-1]
            name = feature.title() + name
        base, n = name, 2
        while name in taken:
            name, n = f"{base}{n}", n + 1
        names[key] = name
        taken.add(name)
        return name

    return resolve


def build_spec() -> dict:
    spec = APISpec(
        title="Common Currency API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_name_resolver())],
        info={"description": API_DESCRIPTION},
        # Paths are relative to the blueprint's prefix; Swagger UI sends requests there.
        servers=[{"url": bp.url_prefix, "description": "This server"}],
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
            {"in": "path", "name": name, "required": True,
             "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID}}
            for name in _path_names(path)
        ]
        if doc.query is not None:
            params.append({"in": "query", "schema": doc.query})
        if doc.idempotent:
            params.append({"in": "header", "name": "Idempotency-Key", "required": False,
                           "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                           "description": "Replaying a key returns the first answer."})
        if params:
            operation["parameters"] = params
        if doc.body is not None:
            operation["requestBody"] = {
                "required": doc.body_required,
                "content": {"application/json": {"schema": doc.body}}}
        success: dict = {"description": "Success"}
        if doc.response is not None:
            schema: object = doc.response
            if doc.paged and _cursor_paged(doc):
                schema = _cursor_page_schema(doc.response)
            elif doc.paged:
                schema = {"type": "object", "properties": {
                    "items": {"type": "array", "items": doc.response},
                    "page": {"type": "integer"}, "per_page": {"type": "integer"},
                    "total": {"type": "integer"}, "pages": {"type": "integer"}}}
            success["content"] = {"application/json": {"schema": schema}}
        operation["responses"][str(doc.status)] = success
        codes = ["400", "422"] if (doc.body or doc.query) else []
        if doc.idempotent:
            codes += ["400", "422"]  # a malformed Idempotency-Key; one reused for another request
        if doc.body is not None:
            codes.append("413")
        if doc.allow != PUBLIC:
            operation["security"] = [{"bearer": []}]
            codes += ["401"] + (["403"] if doc.allow != AUTHENTICATED else [])
        if "{" in path:
            codes.append("404")
        codes.append("503")  # any request can meet a database that is not answering
        codes += list(doc.extra_responses)
        for code in sorted(set(codes)):
            operation["responses"][code] = {
                "description": doc.extra_responses.get(code, ERROR_DESCRIPTIONS.get(code, "")),
                "content": {"application/json": {"schema": "Error"}},
            }
        paths.setdefault(path, {})[doc.method.lower()] = operation
    for tag in sorted({doc.tag for doc in REGISTRY if doc.tag}):
        spec.tag({"name": tag, "description": TAG_DESCRIPTIONS.get(tag, tag.title())})
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return _plain_numbers(spec.to_dict())


def _cursor_paged(doc) -> bool:
    return doc.query is not None and "cursor" in doc.query.fields


def _cursor_page_schema(item_schema) -> dict:
    link = {"type": "string", "nullable": True}
    return {"type": "object",
            "required": ["items", "per_page", "total", "total_exact", "links"],
            "properties": {
                "items": {"type": "array", "items": item_schema},
                "page": {"type": "integer", "nullable": True, "description":
                         "The page number asked for; null on pages reached by cursor."},
                "per_page": {"type": "integer"},
                "total": {"type": "integer", "description":
                          "Matching rows: exact when `total_exact`, else an estimate."},
                "total_exact": {"type": "boolean"},
                "pages": {"type": "integer", "nullable": True,
                          "description": "Null when the total is an estimate."},
                "links": {"type": "object", "required": ["next", "prev"], "properties": {
                    "next": {**link, "description": "The next page's URL (a cursor)."},
                    "prev": {**link, "description": "The previous page's URL (a cursor)."}}},
            }}


def _plain_numbers(value):
    """Decimals (e.g. from a Range validator on a Decimal field) as JSON numbers:
    JSON encoders would write them as strings, which OpenAPI refuses for bounds."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain_numbers(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain_numbers(item) for item in value]
    return value


def _path_names(path: str) -> list[str]:
    import re

    return re.findall(r"{([a-zA-Z_]+)}", path)


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(build_spec())


# The interactive page uses Swagger UI from the swagger-ui-bundle package, served by
# this app: it works without internet access. Only these files are served.
SWAGGER_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js",
                            "swagger-ui-standalone-preset.js", "favicon-32x32.png"})


def _swagger_dir() -> str | None:
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:  # the page then shows its plain endpoint list only
        return None
    return swagger_ui_path


@bp.get("/docs")
def interactive_docs():
    """Swagger UI over /api/v1/openapi.json, plus a plain list that needs no script."""
    spec = build_spec()
    operations = [
        (method.upper(), bp.url_prefix + path, op.get("summary", ""), bool(op.get("security")))
        for path, item in spec["paths"].items() for method, op in item.items()
    ]
    return render_template("api/docs.html", spec=spec, operations=operations,
                           swagger=_swagger_dir() is not None)


@bp.get("/docs/assets/<path:filename>")
def docs_asset(filename: str):
    directory = _swagger_dir()
    if directory is None or filename not in SWAGGER_ASSETS:
        abort(404)
    return send_from_directory(directory, filename, max_age=86400)
