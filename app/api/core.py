"""The API's plumbing: bearer authentication, schema-driven parsing and output,
idempotency, one transaction per request, and the registry the OpenAPI
document is generated from.

Every API view is declared with `@endpoint(...)`. The view receives parsed
`body` / `args`, calls a service, and returns a model (or a `Page`); the
decorator dumps it with the response schema and commits once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from flask_login import current_user
from marshmallow import Schema, ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError

from app.auth import policy
from app.core import read_cache
from app.core.errors import ServiceError, error_body
from app.core.paging import CursorPage, Page
from app.extensions import db, login_manager
from app.web.errors import database_error_response, json_error

bp = Blueprint("api", __name__, url_prefix="/api/v1")

PUBLIC = "public"
AUTHENTICATED = "authenticated"


@dataclass
class EndpointDoc:
    rule: str
    method: str
    name: str
    summary: str
    description: str
    tag: str
    allow: str
    body: Schema | None
    query: Schema | None
    response: Schema | None
    status: int
    paged: bool
    idempotent: bool
    extra_responses: dict = field(default_factory=dict)
    body_required: bool = True


REGISTRY: list[EndpointDoc] = []


class ApiAbort(Exception):
    def __init__(self, status: int, message: str, errors: dict | None = None, **extra):
        super().__init__(message)
        self.response = json_error(status, message, errors=errors, **extra)


@bp.before_request
def authenticate_bearer() -> None:
    """The API ignores session cookies: only `Authorization: Bearer …` counts."""
    from app.auth.tokens import resolve_token

    g._login_user = login_manager.anonymous_user()
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return json_error(401, "Authorization header must be 'Bearer <token>'.")
    user = resolve_token(raw.strip())
    if user is None:
        db.session.rollback()
        return json_error(401, "The token is invalid, expired or revoked.")
    g._login_user = user
    return None


def parse_json_body(schema: Schema, *, partial: bool = False) -> dict:
    if not request.data:
        raise ApiAbort(400, "A JSON object is required in the request body.")
    data = request.get_json(silent=True, force=True)
    if data is None and request.data.strip() != b"null":
        raise ApiAbort(400, "The request body is not valid JSON.")
    if not isinstance(data, dict):
        raise ApiAbort(422, "The request body must be a JSON object.",
                       errors={"_schema": ["Expected a JSON object."]})
    nul_fields = sorted(_fields_with_nul(data))
    if nul_fields:
        raise ApiAbort(422, "The request has invalid fields.",
                       errors={name: ["Must not contain a NUL character."] for name in nul_fields})
    try:
        return schema.load(data, partial=partial)
    except ValidationError as exc:
        raise ApiAbort(422, "The request has invalid fields.",
                       errors=_flatten(exc.messages)) from exc


def _fields_with_nul(value: Any, field: str = "_schema") -> set[str]:
    """Top-level fields whose value holds a NUL character anywhere inside it.

    PostgreSQL cannot store or even compare text with NUL, so it is refused
    at the door on every backend alike.
    """
    if isinstance(value, str):
        return {field} if "\x00" in value else set()
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            name = key if field == "_schema" else field
            if "\x00" in str(key):
                found.add(name)
            found |= _fields_with_nul(item, name)
        return found
    if isinstance(value, list):
        return set().union(*(_fields_with_nul(item, field) for item in value))
    return set()


def parse_query(schema: Schema) -> dict:
    try:
        return schema.load(request.args.to_dict(flat=True))
    except ValidationError as exc:
        raise ApiAbort(422, "The query has invalid parameters.",
                       errors=_flatten(exc.messages)) from exc


def _flatten(messages: Any) -> dict:
    if isinstance(messages, dict):
        return messages
    return {"_schema": messages if isinstance(messages, list) else [str(messages)]}


def _check_access(allow: str) -> None:
    """PUBLIC, AUTHENTICATED, or an action of the policy table (`app.auth.policy`): the
    role check before the object is loaded; the service checks the object itself."""
    if allow == PUBLIC:
        return
    if not current_user.is_authenticated:
        raise ApiAbort(401, "Authentication required: send 'Authorization: Bearer <token>'.")
    if allow != AUTHENTICATED and not policy.role_may(current_user, allow):
        raise ApiAbort(403, "Your role may not do this.")


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 200:
        raise ApiAbort(400, "Idempotency-Key must be 1 to 200 characters.")
    return key


def _replay(key: str) -> Response | None:
    from app.api.models import IdempotencyRecord

    record = db.session.execute(
        db.select(IdempotencyRecord).where(
            IdempotencyRecord.user_id == current_user.id, IdempotencyRecord.key == key
        )
    ).scalar_one_or_none()
    if record is None:
        return None
    if (record.method, record.path, record.request_hash) != (
            request.method, request.path, _request_hash()):
        raise ApiAbort(422, "This Idempotency-Key was already used for a different request.",
                       errors={"Idempotency-Key": ["Already used for another request."]})
    response = jsonify(record.body)
    response.status_code = record.status_code
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _request_hash() -> str:
    return hashlib.sha256(request.get_data()).hexdigest()


def _store(key: str, status: int, body: Any) -> None:
    from app.api.models import IdempotencyRecord

    db.session.add(IdempotencyRecord(
        user_id=current_user.id, key=key, method=request.method, path=request.path,
        request_hash=_request_hash(), status_code=status, body=body,
    ))


def endpoint(rule: str, method: str = "GET", *, allow: str = AUTHENTICATED,
             body: Schema | None = None, query: Schema | None = None,
             response: Schema | None = None, status: int = 200, summary: str = "",
             tag: str = "", paged: bool = False, idempotent: bool | None = None,
             responses: dict | None = None, body_required: bool = True,
             cached: str | None = None,
             survives_additions: Callable[[dict], Callable] | None = None) -> Callable:
    """Declare an API view; see the module docstring. `cached`: a GET whose answer is the
    same for everyone allowed to ask, kept under that data version (app.core.read_cache)
    by path and query string. `survives_additions(view arguments)`: the check
    `read_cache.remember` asks before keeping an answer across added rows."""
    if allow not in (PUBLIC, AUTHENTICATED):
        policy.POLICY[allow]  # an unknown action fails at import
    if idempotent is None:
        idempotent = method in ("POST", "PATCH")
    assert cached is None or method == "GET", "only reads are cached"

    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def view(**kwargs):
            try:
                _check_access(allow)
                key = _idempotency_key() if idempotent else None
                if key and current_user.is_authenticated:
                    replayed = _replay(key)
                    if replayed is not None:
                        db.session.rollback()
                        return replayed
                if body is not None:
                    if not body_required and not request.data:
                        # An optional body (e.g. {"reason": …}) may be left out entirely.
                        kwargs["body"] = body.load({})
                    else:
                        kwargs["body"] = parse_json_body(body, partial=method == "PATCH")
                if query is not None:
                    kwargs["args"] = parse_query(query)
                if cached:
                    code = status
                    payload = read_cache.remember(cached, (
                        request.path, tuple(sorted(request.args.items(multi=True)))),
                        lambda: _dump(fn(**kwargs), response, paged),
                        survives_additions=survives_additions and survives_additions(kwargs))
                else:
                    result = fn(**kwargs)
                    if isinstance(result, Response):
                        db.session.commit()
                        return result
                    code = status
                    if isinstance(result, tuple):
                        result, code = result
                    payload = _dump(result, response, paged)
                if key and current_user.is_authenticated:
                    _store(key, code, payload)
                db.session.commit()
            except ApiAbort as exc:
                db.session.rollback()
                return exc.response
            except ValidationError as exc:
                db.session.rollback()
                return json_error(422, "The request has invalid fields.",
                                  errors=_flatten(exc.messages))
            except ServiceError:
                raise
            except IntegrityError:
                db.session.rollback()
                return json_error(409, "The change conflicts with the current data; "
                                       "reload and try again.")
            except OperationalError as exc:
                # A lock or lost race is 409 "busy"; a lost or refused connection is 503
                # with Retry-After (app.web.errors tells them apart by SQLSTATE).
                return database_error_response(exc)
            out = jsonify(payload)
            out.status_code = code
            return out

        bp.add_url_rule(rule, endpoint=f"{fn.__module__.rsplit('.', 1)[-1]}_{fn.__name__}",
                        view_func=view, methods=[method])
        REGISTRY.append(EndpointDoc(
            rule=rule, method=method, name=fn.__name__,
            summary=summary or (fn.__doc__ or "").strip().split("\n")[0],
            description=(fn.__doc__ or "").strip(), tag=tag, allow=allow, body=body,
            query=query, response=response, status=status, paged=paged, idempotent=idempotent,
            extra_responses=responses or {},
            body_required=body_required,
        ))
        return view

    return decorator


def _dump(result: Any, schema: Schema | None, paged: bool) -> Any:
    if paged and isinstance(result, CursorPage):
        return {"items": schema.dump(result.items, many=True) if schema else result.items,
                "page": result.page, "per_page": result.per_page, "total": result.total,
                "total_exact": result.exact, "pages": result.pages,
                "links": {"next": _cursor_link(result.next_cursor),
                          "prev": _cursor_link(result.prev_cursor)}}
    if paged:
        assert isinstance(result, Page)
        items = schema.dump(result.items, many=True) if schema else result.items
        return {"items": items, "page": result.page, "per_page": result.per_page,
                "total": result.total, "pages": result.pages}
    if schema is None:
        return result
    return schema.dump(result)


def _cursor_link(cursor: str | None) -> str | None:
    """This request's URL with `cursor` in place of any page or cursor."""
    if cursor is None:
        return None
    from urllib.parse import urlencode

    args = [(key, value) for key, value in request.args.items(multi=True)
            if key not in ("page", "cursor")]
    return request.path + "?" + urlencode([*args, ("cursor", cursor)])


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


ERROR_SHAPE = error_body  # re-exported for docs and tests
