"""The OpenAPI document is valid OpenAPI 3, covers every registered endpoint, and the
interactive page works from this server alone (no internet)."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from app.api.core import REGISTRY, openapi_path


def test_document_is_valid_openapi_3(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    validate(spec)  # raises on any structural error


def test_every_registered_endpoint_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for doc in REGISTRY:
        operation = spec["paths"][openapi_path(doc.rule)][doc.method.lower()]
        assert operation["responses"], doc.rule
        for code, answer in operation["responses"].items():
            if code.startswith(("4", "5")):
                assert answer["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}, (doc.rule, code)


def test_auth_endpoints_are_described(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["servers"] == [{"url": "/api/v1", "description": "This server"}]
    paths = spec["paths"]
    create = paths["/auth/tokens"]["post"]
    assert "security" not in create  # the one way in needs no token
    assert {"201", "401", "403", "409", "413", "422", "429"} <= set(create["responses"])
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/TokenRequest"}
    request_schema = spec["components"]["schemas"]["TokenRequest"]
    assert set(request_schema["required"]) == {"email", "password"}
    assert request_schema["additionalProperties"] is False
    new_token = spec["components"]["schemas"]["NewApiToken"]["properties"]
    assert {"token", "token_type", "prefix", "expires_at"} <= set(new_token)
    listing = paths["/auth/tokens"]["get"]
    assert listing["security"] == [{"bearer": []}]
    assert {p["name"] for p in listing["parameters"]} >= {"page", "per_page"}
    revoke = paths["/auth/tokens/{token_id}/revoke"]["post"]
    assert "404" in revoke["responses"] and "Idempotency-Key" in {
        p["name"] for p in revoke["parameters"]}
    assert paths["/me"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"] == {"$ref": "#/components/schemas/Me"}
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http",
                                                               "scheme": "bearer"}


def test_interactive_page_loads_only_local_assets(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    page = response.data.decode()
    assert "/api/v1/openapi.json" in page and 'id="swagger-ui"' in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith(("/", "#")) for s in sources), sources
    assets = [s for s in sources if s.startswith("/api/v1/docs/assets/")]
    assert len(assets) >= 3
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200 and len(answer.data) > 500, asset
    assert "/api/v1/auth/tokens" in page  # the plain list, for browsers without scripts


def test_only_known_assets_are_served(client):
    assert client.get("/api/v1/docs/assets/index.html").status_code == 404
    assert client.get("/api/v1/docs/assets/../../config.py").status_code == 404


def test_schema_names_never_collide():
    from marshmallow import Schema, fields

    from app.api.docs import _name_resolver

    first = type("TransitionSchema", (Schema,), {"a": fields.String()})
    second = type("TransitionSchema", (Schema,), {"b": fields.String()})
    second.__module__ = "app.ledger.schemas"
    resolve = _name_resolver()
    assert resolve(first) == "Transition"
    assert resolve(first()) == "Transition"  # class or instance: the same schema
    assert resolve(second) == "LedgerTransition"
    assert resolve(first(only=("a",))) == "Transition2"
    assert resolve(type("ErrorSchema", (Schema,), {})) != "Error"
