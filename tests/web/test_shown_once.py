"""Secrets shown once (a new API token, a generated password) never travel in the
session cookie, which Flask signs but does not encrypt (issue 11)."""

from __future__ import annotations

import re
from datetime import timedelta

from app.auth.models import Role, ShownOnceSecret, User
from app.core.clock import utcnow
from app.extensions import db

SHOWN = re.compile(r'<code class="token">([^<]+)</code>')


def _session_cookie(app, client) -> tuple[str, dict]:
    """The raw session cookie and what anyone holding it can read from it."""
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    return cookie.value, data


def _assert_not_in_cookie(app, client, secret: str) -> None:
    raw, data = _session_cookie(app, client)
    assert secret not in raw
    assert secret not in repr(data)
    assert secret.encode().hex() not in repr(data)


def test_a_new_api_token_is_not_in_the_session_cookie(app, client, login, users):
    login(users["member"])
    created = client.post("/account/tokens", data={"name": "script"})
    assert created.status_code == 302
    # Between the POST and the page that shows it, the cookie holds only a reference.
    raw_before, data_before = _session_cookie(app, client)
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    token = SHOWN.search(page).group(1)
    assert token.startswith("cc_") and len(token) > 20
    assert "new_api_token" in data_before
    assert token not in raw_before and token not in repr(data_before)
    _assert_not_in_cookie(app, client, token)
    # The token works, and is shown once only.
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}
                      ).status_code == 200
    assert token not in client.get("/account").get_data(as_text=True)
    assert db.session.execute(db.select(db.func.count()).select_from(ShownOnceSecret)
                              ).scalar_one() == 0


def test_a_generated_password_is_not_in_the_session_cookie(app, client, login, users):
    login(users["admin"])
    created = client.post("/admin/users/new", data={
        "email": "fresh@example.org", "name": "Fresh", "role": Role.AUDITOR,
        "organisation": "", "password": ""})
    assert created.status_code == 302
    raw_before, data_before = _session_cookie(app, client)
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    password = SHOWN.search(page).group(1)
    assert password not in raw_before and password not in repr(data_before)
    _assert_not_in_cookie(app, client, password)
    # Neither does the database hold it in clear while it waits.
    assert password not in client.get(created.headers["Location"]).get_data(as_text=True)
    user = db.session.execute(db.select(User).where(User.email == "fresh@example.org")
                              ).scalar_one()
    assert user.password_hash != password


def test_the_held_secret_is_sealed_and_useless_without_the_session(app, client, login, users):
    login(users["member"])
    client.post("/account/tokens", data={"name": "script"})
    row = db.session.execute(db.select(ShownOnceSecret)).scalar_one()
    assert "cc_" not in row.sealed and row.user_id == users["member"].id
    # Another user's browser, even given the row's id, sees nothing.
    other = app.test_client()
    login(users["other_member"], other)
    with other.session_transaction() as session:
        session["new_api_token"] = {"id": row.id, "pad": "00" * (len(row.sealed) // 2)}
    assert '<code class="token">' not in other.get("/account").get_data(as_text=True)
    # The attempt used the secret up: the rightful owner no longer sees it either.
    assert '<code class="token">' not in client.get("/account").get_data(as_text=True)


def test_an_expired_secret_is_not_shown(app, client, login, users):
    login(users["member"])
    client.post("/account/tokens", data={"name": "script"})
    row = db.session.execute(db.select(ShownOnceSecret)).scalar_one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert '<code class="token">' not in client.get("/account").get_data(as_text=True)
