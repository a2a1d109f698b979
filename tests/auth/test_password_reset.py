"""Self-service password reset, end to end: the page, the email through a real SMTP
server, the single-use 30-minute link, sessions ended, and the rate limit."""

from __future__ import annotations

import re
from datetime import timedelta

from app.auth.models import Role
from app.core.clock import frozen_clock, utcnow
from app.extensions import db
from app.notifications.models import EmailMessage
from tests.auth.helpers import reload
from tests.conftest import DEFAULT_PASSWORD
from tests.notifications.conftest import text_of

NEW_PASSWORD = "a brand new passphrase"
SENT = b"If an account uses that email, we have sent it a link"


def ask(client, email, remote_addr="10.0.0.1"):
    return client.post("/password/forgot", data={"email": email},
                       environ_base={"REMOTE_ADDR": remote_addr})


def link_in(message) -> str:
    url = re.search(r"https://cc\.example\.org(/password/reset/\S+)", text_of(message))
    assert url, text_of(message)
    return url.group(1)


def test_the_login_page_links_to_it(client):
    page = client.get("/login")
    assert b'href="/password/forgot"' in page.data
    assert client.get("/password/forgot").status_code == 200


def test_reset_sets_the_password_and_ends_every_session(app, client, make_user, form_login,
                                                        is_logged_in, smtp, deliver):
    user = make_user(Role.MEMBER)
    elsewhere = app.test_client()
    form_login(user.email, remember=True, test_client=elsewhere)
    remember = elsewhere.get_cookie("remember_token").value
    assert is_logged_in(elsewhere)

    answer = ask(client, user.email.upper())
    assert answer.status_code == 200 and SENT in answer.data
    [message] = deliver()
    assert message.recipients == [user.email]
    assert str(message["Subject"]) == "Reset your Common Currency password"
    assert "List-Unsubscribe" not in message  # account email: not a subscription
    assert "for 30 minutes" in text_of(message)
    # Once sent, no copy of the link stays in the database.
    stored = db.session.execute(db.select(EmailMessage)).scalar_one()
    assert stored.body_text == "" and stored.body_html == ""

    path = link_in(message)
    assert client.get(path).status_code == 200
    short = client.post(path, data={"password": "short", "confirm": "short"})
    assert short.status_code == 422 and reload(user).reset_nonce is not None
    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")

    assert not is_logged_in(elsewhere)  # the other browser's session ended
    restarted = app.test_client()
    restarted.set_cookie("remember_token", remember)
    assert not is_logged_in(restarted)  # and its remember-me cookie
    assert form_login(user.email, DEFAULT_PASSWORD).status_code == 401
    assert form_login(user.email, NEW_PASSWORD).status_code == 302


def test_a_link_works_once(client, make_user, smtp, deliver):
    user = make_user(Role.AUDITOR)
    ask(client, user.email)
    path = link_in(deliver()[0])
    assert client.post(path, data={"password": NEW_PASSWORD,
                                   "confirm": NEW_PASSWORD}).status_code == 302
    reused = client.post(path, data={"password": "another passphrase!",
                                     "confirm": "another passphrase!"})
    assert reused.status_code == 410 and b"already used" in reused.data
    assert client.get(path).status_code == 410


def test_a_link_expires_after_30_minutes(client, make_user, smtp, deliver):
    user = make_user(Role.AUDITOR)
    start = utcnow()
    with frozen_clock(start):
        ask(client, user.email)
    path = link_in(deliver()[0])
    with frozen_clock(start + timedelta(minutes=29)):
        assert client.get(path).status_code == 200
    with frozen_clock(start + timedelta(minutes=31)):
        late = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert late.status_code == 410 and b"has expired" in late.data
    before = reload(user).password_hash
    assert reload(user).password_hash == before


def test_a_newer_request_or_a_password_change_voids_the_link(client, make_user, smtp,
                                                             deliver):
    from app.auth import services

    user = make_user(Role.AUDITOR)
    ask(client, user.email)
    first = link_in(deliver()[0])
    ask(client, user.email)
    second = link_in(deliver()[0])
    assert client.get(first).status_code == 410
    assert client.get(second).status_code == 200
    services.set_password(None, reload(user), "set by an administrator")
    db.session.commit()
    assert client.get(second).status_code == 410


def test_unknown_and_known_emails_get_the_same_answer(client, make_user, smtp, deliver):
    user = make_user(Role.AUDITOR)
    known = ask(client, user.email)
    unknown = ask(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    strip = re.compile(rb'name="csrf_token"[^>]*>|data-request-id="[^"]*"')
    assert strip.sub(b"", known.data) == strip.sub(b"", unknown.data)
    assert [m.recipients for m in deliver()] == [[user.email]]
    assert client.get("/password/reset/forged-token").status_code == 410
    assert ask(client, "").status_code == 422
    assert ask(client, "x" * 5000).status_code == 422


def test_requests_are_rate_limited_like_logins(client, make_user, smtp, deliver):
    user = make_user(Role.AUDITOR)
    for _ in range(5):  # LOGIN_RATE_LIMIT in the tests
        assert ask(client, user.email).status_code == 200
    refused = ask(client, user.email)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert len(deliver()) == 5
    # Another account from another address is not affected.
    other = make_user(Role.AUDITOR)
    assert ask(client, other.email, remote_addr="10.0.0.2").status_code == 200
