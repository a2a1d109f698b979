"""The account page: change one's own password, create / list / revoke API tokens."""

from __future__ import annotations

import re

import pytest

from app.auth.models import ApiToken, Role
from app.auth.passwords import verify_password
from app.auth.tokens import hash_token, issue_token
from app.extensions import db
from tests.auth.helpers import reload, stored_state, tokens_snapshot
from tests.conftest import DEFAULT_PASSWORD

NEW_PASSWORD = "a much newer passphrase"
ROLES = ("member", "coordinator", "auditor", "admin")


@pytest.mark.parametrize("role", ROLES)
def test_account_page_for_every_role(client, login, users, role):
    login(users[role])
    response = client.get("/account")
    assert response.status_code == 200
    assert users[role].email.encode() in response.data
    assert b"Change your password" in response.data and b"API tokens" in response.data


def test_account_page_needs_login(client):
    assert client.get("/account").status_code == 302


# --- password ----------------------------------------------------------------------------------

def _change(client, current=DEFAULT_PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post("/account/password", data={
        "current_password": current, "new_password": new,
        "confirm": new if confirm is None else confirm})


def test_change_password_keeps_this_session_and_ends_the_others(
        app, client, make_user, form_login, is_logged_in):
    user = make_user(Role.MEMBER)
    other_device = app.test_client()
    form_login(user.email, test_client=other_device)
    form_login(user.email)
    response = _change(client)
    assert response.status_code == 302
    stored = reload(user)
    assert verify_password(stored.password_hash, NEW_PASSWORD)
    assert stored.session_epoch == 1
    assert is_logged_in()
    assert not is_logged_in(other_device)


@pytest.mark.parametrize("current, new, confirm, field", [
    ("not my password!", NEW_PASSWORD, None, b"This is not your current password."),
    (DEFAULT_PASSWORD, "short", None, b"at least 12"),
    (DEFAULT_PASSWORD, NEW_PASSWORD, "something else entirely", b"The two passwords differ."),
    (DEFAULT_PASSWORD, "x" * 2000, None, b"at least 12"),
    ("", NEW_PASSWORD, None, b"This field is required."),
])
def test_bad_password_changes_change_nothing(client, login, users, current, new, confirm,
                                             field):
    login(users["member"])
    before = stored_state()
    response = _change(client, current, new, confirm)
    assert response.status_code == 422
    assert field in response.data
    assert stored_state() == before


def test_change_password_requires_login(client, users):
    before = stored_state()
    assert _change(client).status_code == 302
    assert stored_state() == before


# --- tokens ------------------------------------------------------------------------------------

def test_create_token_shows_it_once_and_it_works(client, login, users):
    login(users["coordinator"])
    response = client.post("/account/tokens", data={"name": "reporting"})
    assert response.status_code == 302
    page = client.get("/account").data.decode()
    raw = re.search(r'<code class="token">(cc_[^<]+)</code>', page).group(1)
    assert "copy it now" in page
    assert "copy it now" not in client.get("/account").data.decode()  # only once
    token = db.session.execute(db.select(ApiToken)).scalar_one()
    assert token.token_hash == hash_token(raw) and token.name == "reporting"
    assert raw not in token.token_hash
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert me.status_code == 200 and me.get_json()["email"] == users["coordinator"].email


def test_double_submit_creates_one_token(client, login, users):
    login(users["member"])
    assert client.post("/account/tokens", data={"name": "script"}).status_code == 302
    response = client.post("/account/tokens", data={"name": "script"})
    assert response.status_code == 409
    assert b"You already have a live token with this name" in response.data
    assert len(tokens_snapshot()) == 1


@pytest.mark.parametrize("name, status", [("", 422), ("x" * 81, 422), ("   ", 422),
                                          ("tab\tname", 422)])
def test_bad_token_names_create_nothing(client, login, users, name, status):
    login(users["member"])
    response = client.post("/account/tokens", data={"name": name})
    assert response.status_code == status
    assert tokens_snapshot() == []


def test_token_list_shows_own_tokens_only(client, login, users):
    issue_token(users["member"], "mine")
    issue_token(users["other_member"], "theirs")
    db.session.commit()
    login(users["member"])
    page = client.get("/account").data
    assert b"mine" in page and b"theirs" not in page


def test_revoke_own_token(client, login, users):
    token, raw = issue_token(users["member"], "mine")
    db.session.commit()
    login(users["member"])
    response = client.post(f"/account/tokens/{token.id}/revoke")
    assert response.status_code == 302
    assert reload(token).revoked_at is not None
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


@pytest.mark.parametrize("actor", ["anonymous", *ROLES])
def test_nobody_revokes_another_users_token(client, login, users, actor):
    token, _ = issue_token(users["other_member"], "theirs")
    db.session.commit()
    if actor != "anonymous":
        login(users[actor])
    before = stored_state()
    response = client.post(f"/account/tokens/{token.id}/revoke")
    assert response.status_code == (302 if actor == "anonymous" else 404)
    assert stored_state() == before


def test_revoke_unknown_or_absurd_ids_is_404(client, login, users):
    login(users["member"])
    assert client.post("/account/tokens/999999/revoke").status_code == 404
    assert client.post("/account/tokens/99999999999999999999999/revoke").status_code == 404
    assert client.get("/account/tokens/1/revoke").status_code == 405


def test_anonymous_cannot_create_tokens(client, users):
    assert client.post("/account/tokens", data={"name": "x"}).status_code == 302
    assert tokens_snapshot() == []
