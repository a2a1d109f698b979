"""The API's error contract, exercised on the auth endpoints: every client mistake gets
the JSON shape `{"code", "status", "message", "errors"}` with the right status, and
never a 500."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.auth.models import Role
from tests.auth.helpers import stored_state
from tests.conftest import DEFAULT_PASSWORD

TOKENS = "/api/v1/auth/tokens"


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}
    assert (body["status"], body["code"]) == (status, code)
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    return body


@pytest.mark.parametrize("data", [b"{not json", b'{"email": "a@example.org",', b"\xff\xfe\x00",
                                  b"", b"   "])
def test_400_malformed_json(client, users, data):
    before = stored_state()
    _error(client.post(TOKENS, data=data, content_type="application/json"), 400, "bad_request")
    assert stored_state() == before


def test_400_form_encoded_body(client, users):
    response = client.post(TOKENS, data={"email": users["member"].email,
                                         "password": DEFAULT_PASSWORD})
    _error(response, 400, "bad_request")


@pytest.mark.parametrize("body", ["[]", "null", "42", '"text"', "[{\"email\": 1}]"])
def test_422_body_that_is_not_an_object(client, body):
    result = _error(client.post(TOKENS, data=body, content_type="application/json"), 422,
                    "validation_error")
    assert "_schema" in result["errors"]


def test_401_no_token(client):
    body = _error(client.get("/api/v1/me"), 401, "unauthorized")
    assert "Bearer" in body["message"]


def test_403_disabled_account(client, make_user):
    user = make_user(Role.AUDITOR, enabled=False)
    _error(client.post(TOKENS, json={"email": user.email, "password": DEFAULT_PASSWORD}), 403,
           "account_disabled")


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v1/auth/tokens/abc/revoke",
                                  "/api/v1/auth/tokens/-1/revoke", "/api/v2/me"])
def test_404_unknown_route(client, users, api_headers, path):
    _error(client.post(path, headers=api_headers(users["member"])), 404, "not_found")


def test_404_unknown_id(client, users, api_headers):
    _error(client.post(f"{TOKENS}/424242/revoke", headers=api_headers(users["member"])), 404,
           "not_found")


@pytest.mark.parametrize("method, path, allowed", [
    ("get", f"{TOKENS}/1/revoke", {"POST"}),
    ("delete", "/api/v1/me", {"GET", "HEAD", "OPTIONS"}),
    ("put", TOKENS, {"GET", "HEAD", "OPTIONS", "POST"}),
])
def test_405_wrong_method(client, users, api_headers, method, path, allowed):
    response = getattr(client, method)(path, headers=api_headers(users["member"]))
    _error(response, 405, "method_not_allowed")
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_409_conflict(client, users):
    payload = {"email": users["member"].email, "password": DEFAULT_PASSWORD, "name": "same"}
    assert client.post(TOKENS, json=payload).status_code == 201
    _error(client.post(TOKENS, json=payload), 409, "conflict")


def test_413_body_too_large(app, client, users):
    big = json.dumps({"email": users["member"].email, "password": DEFAULT_PASSWORD,
                      "name": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)})
    before = stored_state()
    _error(client.post(TOKENS, data=big, content_type="application/json"), 413,
           "payload_too_large")
    assert stored_state() == before


def test_422_per_field_errors(client):
    body = _error(client.post(TOKENS, json={"email": 5, "extra": True}), 422,
                  "validation_error")
    assert set(body["errors"]) == {"email", "password", "extra"}
    assert all(isinstance(messages, list) for messages in body["errors"].values())


def test_429_too_many_attempts(app, client, users):
    for _ in range(app.config["LOGIN_RATE_LIMIT"]):
        client.post(TOKENS, json={"email": users["member"].email, "password": "wrong one!!"})
    response = client.post(TOKENS, json={"email": users["member"].email,
                                         "password": DEFAULT_PASSWORD})
    _error(response, 429, "too_many_requests")
    assert response.headers["Retry-After"].isdigit()


def test_400_idempotency_key_too_long(client, users, api_headers):
    headers = {**api_headers(users["member"]), "Idempotency-Key": "k" * 201}
    _error(client.post(f"{TOKENS}/1/revoke", headers=headers), 400, "bad_request")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.dictionaries(st.sampled_from(["email", "password", "name", "other"]),
                               json_values, max_size=4))
def test_no_payload_causes_a_500(client, payload):
    response = client.post(TOKENS, json=payload)
    assert 400 <= response.status_code < 500 or response.status_code == 201
    assert set(response.get_json()) >= ({"code", "status", "message", "errors"}
                                         if response.status_code >= 400 else {"token"})


def test_nul_characters_are_refused_at_the_door_on_every_backend(client, users, api_headers,
                                                                  login):
    headers = api_headers(users["coordinator"])
    query = client.get("/api/v1/ledger/audit-trail?action=approve%00x", headers=headers)
    assert query.status_code == 400 and query.json["errors"] == {
        "action": ["Must not contain a NUL character."]}
    body = client.post("/api/v1/auth/tokens", json={"email": "a\u0000@b.org", "password": "x"})
    assert body.status_code == 422 and "email" in body.json["errors"]
    login(users["member"])
    page = client.get("/market?q=nurse%00")
    assert page.status_code == 400 and b"NUL character" in page.data
