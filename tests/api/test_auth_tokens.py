"""API: bearer tokens (create, list, revoke) and /me, with their authorisation matrix."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth.models import ApiToken, LoginAttempt, Role
from app.auth.tokens import hash_token, issue_token
from app.core.clock import utcnow
from app.extensions import db
from tests.auth.helpers import failed_attempts, reload, stored_state, tokens_snapshot
from tests.conftest import DEFAULT_PASSWORD

ROLES = ("member", "coordinator", "auditor", "admin")


def _bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def _ask(client, email, password=DEFAULT_PASSWORD, remote_addr="127.0.0.1", **extra):
    return client.post("/api/v1/auth/tokens", json={"email": email, "password": password,
                                                    **extra},
                       environ_base={"REMOTE_ADDR": remote_addr})


def _assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status
    body = response.get_json()
    assert set(body) >= {"code", "status", "message", "errors"}
    assert body["status"] == status and body["message"]
    if code:
        assert body["code"] == code
    return body


# --- POST /auth/tokens -------------------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_every_role_gets_a_working_token(client, users, role):
    response = _ask(client, users[role].email.upper(), name="cli")
    assert response.status_code == 201
    body = response.get_json()
    assert body["token"].startswith("cc_") and body["token_type"] == "Bearer"
    assert body["name"] == "cli" and body["state"] == "live" and body["revoked"] is False
    assert body["prefix"] == body["token"][:len(body["prefix"])]
    stored = db.session.get(ApiToken, body["id"])
    assert stored.token_hash == hash_token(body["token"]) and stored.user_id == users[role].id
    me = client.get("/api/v1/me", headers=_bearer(body["token"]))
    assert me.status_code == 200 and me.get_json()["role"] == users[role].role


def test_token_name_defaults_and_must_be_unique_among_live_tokens(client, users):
    first = _ask(client, users["auditor"].email)
    assert first.status_code == 201 and first.get_json()["name"].startswith("API token ")
    assert _ask(client, users["auditor"].email, name="job").status_code == 201
    before = tokens_snapshot()
    again = _ask(client, users["auditor"].email, name="job")
    body = _assert_error(again, 409, "conflict")
    assert "name" in body["errors"]
    assert tokens_snapshot() == before


def test_a_revoked_tokens_name_may_be_reused(client, users):
    token, _ = issue_token(users["member"], "job")
    token.revoked_at = utcnow()
    db.session.commit()
    assert _ask(client, users["member"].email, name="job").status_code == 201


@pytest.mark.parametrize("email, password", [
    ("__member__", "wrong password!"),
    ("nobody@example.org", "wrong password!"),
    ("nobody@example.org", DEFAULT_PASSWORD),
])
def test_bad_credentials_are_401_and_recorded(client, users, email, password):
    email = users["member"].email if email == "__member__" else email
    before = tokens_snapshot()
    body = _assert_error(_ask(client, email, password), 401, "unauthorized")
    assert body["message"] == "The email or password is not correct."
    assert failed_attempts() == 1
    assert tokens_snapshot() == before


def test_disabled_account_gets_403(client, make_user):
    user = make_user(Role.COORDINATOR, enabled=False)
    _assert_error(_ask(client, user.email), 403, "account_disabled")
    assert tokens_snapshot() == []


def test_token_requests_are_rate_limited_like_the_login_form(app, client, users):
    email = users["member"].email
    for n in range(app.config["LOGIN_RATE_LIMIT"] - 1):
        _ask(client, email, "wrong password!", remote_addr=f"10.2.0.{n}")
    client.post("/login", data={"email": email, "password": "wrong password!"},
                environ_base={"REMOTE_ADDR": "10.2.1.1"})  # the log-in form counts too
    response = _ask(client, email, remote_addr="10.2.2.2")
    body = _assert_error(response, 429, "too_many_requests")
    assert "Too many failed log-in attempts" in body["message"]
    assert int(response.headers["Retry-After"]) > 0
    assert tokens_snapshot() == []


def test_rate_limit_per_address(app, client, users):
    # The address's own ceiling, far above one account's limit (issue 11).
    for n in range(app.config["LOGIN_ADDRESS_LIMIT"]):
        _ask(client, f"guess{n}@example.org", "wrong password!", remote_addr="198.51.100.9")
    _assert_error(_ask(client, users["admin"].email, remote_addr="198.51.100.9"), 429)
    assert _ask(client, users["admin"].email, remote_addr="198.51.100.10").status_code == 201


@pytest.mark.parametrize("payload, fields", [
    ({}, {"email", "password"}),
    ({"email": "a@example.org"}, {"password"}),
    ({"email": 123, "password": DEFAULT_PASSWORD}, {"email"}),
    ({"email": "a@example.org", "password": ["list"]}, {"password"}),
    ({"email": "a@example.org", "password": None}, {"password"}),
    ({"email": "a@example.org", "password": DEFAULT_PASSWORD, "name": ""}, {"name"}),
    ({"email": "a@example.org", "password": DEFAULT_PASSWORD, "name": "n" * 81}, {"name"}),
    ({"email": "a@example.org", "password": DEFAULT_PASSWORD, "name": 7}, {"name"}),
    ({"email": "a" * 300, "password": DEFAULT_PASSWORD}, {"email"}),
    ({"email": "a@example.org", "password": "p" * 5000}, {"password"}),
    ({"email": "a@example.org", "password": DEFAULT_PASSWORD, "role": "admin"}, {"role"}),
])
def test_bad_token_requests_are_422_naming_the_fields(client, users, payload, fields):
    before = stored_state()
    response = client.post("/api/v1/auth/tokens", json=payload)
    body = _assert_error(response, 422, "validation_error")
    assert set(body["errors"]) == fields
    assert stored_state() == before
    assert failed_attempts() == 0


def test_a_name_with_control_characters_is_422(client, users):
    response = _ask(client, users["member"].email, name="bad\x00name")
    body = _assert_error(response, 422)
    assert "name" in body["errors"]
    assert tokens_snapshot() == []


def test_token_creation_ignores_idempotency_replay(client, users):
    # The answer carries the clear token, so it is never stored for replay.
    headers = {"Idempotency-Key": "k1"}
    first = client.post("/api/v1/auth/tokens", headers=headers, json={
        "email": users["member"].email, "password": DEFAULT_PASSWORD, "name": "a"})
    assert first.status_code == 201
    second = client.post("/api/v1/auth/tokens", headers=headers, json={
        "email": users["member"].email, "password": DEFAULT_PASSWORD, "name": "a"})
    assert second.status_code == 409


# --- GET /auth/tokens --------------------------------------------------------------------------

def test_list_shows_only_own_tokens_paged(client, users, api_headers):
    headers = api_headers(users["member"])
    for n in range(3):
        issue_token(users["member"], f"t{n}")
    issue_token(users["other_member"], "theirs")
    db.session.commit()
    body = client.get("/api/v1/auth/tokens?per_page=2", headers=headers).get_json()
    assert (body["total"], body["pages"], body["page"], len(body["items"])) == (4, 2, 1, 2)
    names = [t["name"] for t in body["items"]] + [
        t["name"] for t in client.get("/api/v1/auth/tokens?page=2&per_page=2",
                                      headers=headers).get_json()["items"]]
    assert "theirs" not in names and {"t0", "t1", "t2", "test"} == set(names)
    assert all("token" not in t and "token_hash" not in t for t in body["items"])


@pytest.mark.parametrize("query", ["page=0", "per_page=0", "per_page=101", "page=abc",
                                   "page=99999999999999999999", "colour=red"])
def test_list_refuses_bad_paging(client, users, api_headers, query):
    response = client.get(f"/api/v1/auth/tokens?{query}", headers=api_headers(users["member"]))
    _assert_error(response, 422)


# --- POST /auth/tokens/<id>/revoke ----------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_revoke_own_token(client, users, api_headers, role):
    token, raw = issue_token(users[role], "victim")
    db.session.commit()
    response = client.post(f"/api/v1/auth/tokens/{token.id}/revoke",
                           headers=api_headers(users[role]))
    assert response.status_code == 200
    assert response.get_json()["revoked"] is True and response.get_json()["state"] == "revoked"
    _assert_error(client.get("/api/v1/me", headers=_bearer(raw)), 401)
    again = client.post(f"/api/v1/auth/tokens/{token.id}/revoke",
                        headers=api_headers(users[role]))
    assert again.status_code == 200  # revoking twice is harmless


@pytest.mark.parametrize("actor", ["anonymous", *ROLES])
def test_nobody_revokes_another_users_token(client, users, api_headers, actor):
    token, raw = issue_token(users["other_member"], "theirs")
    db.session.commit()
    headers = {} if actor == "anonymous" else api_headers(users[actor])
    before = stored_state()
    response = client.post(f"/api/v1/auth/tokens/{token.id}/revoke", headers=headers)
    _assert_error(response, 401 if actor == "anonymous" else 404)
    assert stored_state() == before
    assert client.get("/api/v1/me", headers=_bearer(raw)).status_code == 200


@pytest.mark.parametrize("token_id", ["999999", "99999999999999999999999", "0"])
def test_revoke_unknown_ids_is_404(client, users, api_headers, token_id):
    _assert_error(client.post(f"/api/v1/auth/tokens/{token_id}/revoke",
                              headers=api_headers(users["member"])), 404)


def test_revoke_the_token_in_use(client, users):
    token, raw = issue_token(users["admin"], "self")
    db.session.commit()
    assert client.post(f"/api/v1/auth/tokens/{token.id}/revoke",
                       headers=_bearer(raw)).status_code == 200
    _assert_error(client.get("/api/v1/me", headers=_bearer(raw)), 401)


def test_revoke_replays_with_an_idempotency_key(client, users, api_headers):
    token, _ = issue_token(users["member"], "x")
    db.session.commit()
    headers = {**api_headers(users["member"]), "Idempotency-Key": "revoke-x"}
    first = client.post(f"/api/v1/auth/tokens/{token.id}/revoke", headers=headers)
    second = client.post(f"/api/v1/auth/tokens/{token.id}/revoke", headers=headers)
    assert second.status_code == 200 and second.headers.get("Idempotent-Replayed") == "true"
    assert second.get_json() == first.get_json()


# --- GET /me and token validity ----------------------------------------------------------------

@pytest.mark.parametrize("role", ROLES)
def test_me(client, users, api_headers, role):
    body = client.get("/api/v1/me", headers=api_headers(users[role])).get_json()
    assert body["email"] == users[role].email and body["role"] == role
    if role == "member":
        assert body["organisation"] == {"id": users["own_org"].id, "name": "Own Org",
                                        "slug": users["own_org"].slug}
    else:
        assert body["organisation"] is None
    assert "password_hash" not in body and "session_epoch" not in body


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic abc",
                                    "Bearer cc_not-a-real-token", "Bearer " + "x" * 500])
def test_me_without_a_valid_token_is_401(client, users, header):
    headers = {} if header is None else {"Authorization": header}
    _assert_error(client.get("/api/v1/me", headers=headers), 401, "unauthorized")


def test_the_api_ignores_session_cookies(client, login, users):
    login(users["admin"])
    assert client.get("/account").status_code == 200
    _assert_error(client.get("/api/v1/me"), 401)


def test_expired_tokens_stop_working(client, users):
    token, raw = issue_token(users["member"], "old")
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    _assert_error(client.get("/api/v1/me", headers=_bearer(raw)), 401)


def test_disabled_users_tokens_stop_working(client, users):
    _, raw = issue_token(users["coordinator"], "t")
    db.session.commit()
    assert client.get("/api/v1/me", headers=_bearer(raw)).status_code == 200
    users["coordinator"].enabled = False
    db.session.commit()
    _assert_error(client.get("/api/v1/me", headers=_bearer(raw)), 401)


def test_using_a_token_records_when(client, users):
    token, raw = issue_token(users["member"], "t")
    db.session.commit()
    assert token.last_used_at is None
    client.get("/api/v1/me", headers=_bearer(raw))
    assert reload(token).last_used_at is not None


def test_successful_token_request_clears_the_accounts_failures(client, users):
    _ask(client, users["member"].email, "wrong password!")
    assert _ask(client, users["member"].email).status_code == 201
    assert db.session.execute(db.select(db.func.count(LoginAttempt.id)).where(
        LoginAttempt.email == users["member"].email)).scalar_one() == 0
