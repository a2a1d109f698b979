"""Logging in and out in the browser: sessions, remember-me, `next`, rate limiting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher

from app.auth import services
from app.auth.models import LoginAttempt, Role
from app.auth.passwords import needs_rehash, verify_password
from app.auth.routes import safe_next
from app.core.clock import utcnow
from app.extensions import db
from tests.auth.helpers import failed_attempts, reload
from tests.conftest import DEFAULT_PASSWORD


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b'name="email"' in response.data and b'name="remember"' in response.data


def test_login_starts_a_new_session(client, make_user, form_login):
    user = make_user(Role.COORDINATOR)
    with client.session_transaction() as session:
        session["planted"] = "from before"
    response = form_login(user.email.upper())  # emails are case-insensitive
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == f"{user.id}:{user.session_epoch}"
    assert reload(user).last_login_at is not None


@pytest.mark.parametrize("password", ["wrong password!", ""])
def test_wrong_password_is_refused_and_recorded(client, make_user, form_login, password):
    user = make_user(Role.MEMBER)
    response = form_login(user.email, password)
    with client.session_transaction() as session:
        assert "_user_id" not in session
    if password:
        assert response.status_code == 401
        assert b"The email or password is not correct." in response.data
        assert failed_attempts() == 1
    else:  # the form itself refuses an empty password
        assert response.status_code == 422
        assert failed_attempts() == 0


def test_unknown_email_costs_a_hash_and_says_the_same(client, form_login, monkeypatch):
    seen = []

    def spy(password_hash, password):
        seen.append(password_hash)
        return verify_password(password_hash, password)

    monkeypatch.setattr(services, "verify_password", spy)
    response = form_login("nobody@example.org", "whatever password")
    assert response.status_code == 401
    assert b"The email or password is not correct." in response.data
    assert seen == [services.DUMMY_HASH]
    assert failed_attempts() == 1


def test_disabled_account_cannot_log_in(client, make_user, form_login):
    user = make_user(Role.AUDITOR, enabled=False)
    response = form_login(user.email)
    assert response.status_code == 403
    assert b"disabled" in response.data
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_login_form_with_missing_fields_is_422(client, form_login):
    response = client.post("/login", data={"email": ""})
    assert response.status_code == 422
    assert failed_attempts() == 0


def test_login_with_nul_and_overlong_input_is_a_clear_4xx(client, make_user):
    response = client.post("/login", data={"email": "a\x00b@example.org",
                                           "password": "x" * 12})
    assert response.status_code == 400 and b"NUL character" in response.data
    response = client.post("/login", data={"email": "a" * 300 + "@example.org",
                                           "password": "x" * 12})
    assert response.status_code == 422
    response = client.post("/login", data={"email": "a@example.org", "password": "x" * 5000})
    assert response.status_code == 422


@pytest.mark.parametrize("target, expected", [
    ("/market?kind=offer", "/market?kind=offer"),
    ("/account", "/account"),
    ("https://evil.example/", None),
    ("//evil.example/path", None),
    ("/\\evil.example", None),
    ("javascript:alert(1)", None),
    ("relative/path", None),
    ("/ok\r\nSet-Cookie: x=1", None),
    ("", None),
])
def test_safe_next_allows_only_local_paths(target, expected):
    assert safe_next(target) == expected


def test_login_follows_a_safe_next_and_ignores_an_unsafe_one(client, make_user, form_login):
    user = make_user(Role.ADMIN)
    assert form_login(user.email, next="/account").headers["Location"] == "/account"
    client.post("/logout")
    assert form_login(user.email, next="https://evil.example/").headers["Location"] == "/"


def test_anonymous_page_redirects_to_login_with_next_prefilled(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    page = client.get(response.headers["Location"])
    assert b'value="/account"' in page.data


def test_logged_in_user_visiting_login_is_sent_on(client, login, users):
    login(users["member"])
    response = client.get("/login?next=/account")
    assert response.status_code == 302 and response.headers["Location"] == "/account"


# --- rate limiting -------------------------------------------------------------------------

def test_failures_per_email_are_limited_even_with_the_right_password(
        app, client, make_user, form_login):
    user = make_user(Role.MEMBER)
    limit = app.config["LOGIN_RATE_LIMIT"]
    for n in range(limit):  # from different addresses: the email's own count applies
        assert form_login(user.email, "wrong password!", remote_addr=f"10.0.0.{n}").status_code \
            == 401
    response = form_login(user.email, remote_addr="10.0.1.1")
    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.data
    assert int(response.headers["Retry-After"]) > 0
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_failures_per_address_are_limited(app, client, make_user, form_login):
    # The address's ceiling is LOGIN_ADDRESS_LIMIT (far above one account's limit; issue 11:
    # LOGIN_RATE_LIMIT failures from an address used to lock every account there out).
    user = make_user(Role.MEMBER)
    for n in range(app.config["LOGIN_ADDRESS_LIMIT"]):
        form_login(f"guess{n}@example.org", "wrong password!", remote_addr="192.0.2.7")
    assert form_login(user.email, remote_addr="192.0.2.7").status_code == 429
    # Another address is not affected.
    assert form_login(user.email, remote_addr="192.0.2.8").status_code == 302


def test_old_failures_leave_the_window(app, client, make_user, form_login):
    user = make_user(Role.MEMBER)
    old = utcnow() - timedelta(seconds=app.config["LOGIN_RATE_WINDOW_SECONDS"] + 5)
    for _ in range(app.config["LOGIN_RATE_LIMIT"] + 2):
        db.session.add(LoginAttempt(email=user.email, remote_addr="127.0.0.1", created_at=old))
    db.session.commit()
    assert form_login(user.email).status_code == 302


def test_success_clears_the_accounts_failures(app, client, make_user, form_login):
    user = make_user(Role.MEMBER)
    for n in range(app.config["LOGIN_RATE_LIMIT"] - 1):
        form_login(user.email, "wrong password!", remote_addr=f"10.1.0.{n}")
    assert form_login(user.email, remote_addr="10.1.1.1").status_code == 302
    assert db.session.execute(db.select(db.func.count(LoginAttempt.id)).where(
        LoginAttempt.email == user.email)).scalar_one() == 0


def test_login_rehashes_when_parameters_changed(client, make_user, form_login):
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    user = make_user(Role.MEMBER, password_hash=weak.hash(DEFAULT_PASSWORD))
    assert needs_rehash(user.password_hash)
    assert form_login(user.email).status_code == 302
    stored = reload(user).password_hash
    assert not needs_rehash(stored) and verify_password(stored, DEFAULT_PASSWORD)


# --- logout, remember-me, session epochs -----------------------------------------------------

def test_logout_is_post_only(client, login, users):
    login(users["member"])
    assert client.get("/logout").status_code == 405


def test_logout_refuses_the_old_session_cookie(app, client, make_user, form_login,
                                               is_logged_in):
    user = make_user(Role.COORDINATOR)
    form_login(user.email)
    old_cookie = client.get_cookie("session").value
    response = client.post("/logout")
    assert response.status_code == 302
    assert reload(user).session_epoch == 1
    assert not is_logged_in()
    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    assert not is_logged_in(replay)


def test_remember_me_survives_a_lost_session_but_not_logout(app, client, make_user,
                                                            form_login, is_logged_in):
    user = make_user(Role.AUDITOR)
    form_login(user.email, remember=True)
    remember = client.get_cookie("remember_token")
    assert remember is not None
    # A browser restart: only the remember-me cookie is left.
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    assert is_logged_in(fresh)
    client.post("/logout")
    again = app.test_client()
    again.set_cookie("remember_token", remember.value)
    assert not is_logged_in(again)


def test_login_without_remember_sets_no_remember_cookie(client, make_user, form_login):
    user = make_user(Role.AUDITOR)
    form_login(user.email)
    assert client.get_cookie("remember_token") is None


def test_disabling_ends_sessions_and_remember_cookies(app, client, make_user, form_login,
                                                      is_logged_in):
    user = make_user(Role.MEMBER)
    form_login(user.email, remember=True)
    remember = client.get_cookie("remember_token").value
    services.disable_user(None, reload(user))
    db.session.commit()
    assert not is_logged_in()
    other = app.test_client()
    other.set_cookie("remember_token", remember)
    assert not is_logged_in(other)
