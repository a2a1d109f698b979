"""The login limits of issue 11: per account with a growing back-off, per address with a
high ceiling, the same for the log-in form and the API's token endpoint.

The defect they replace: LOGIN_RATE_LIMIT failures from one address locked every
account at that address out, so behind a trust's proxy (one address for everyone)
one person's typing locked out the whole organisation.
"""

from __future__ import annotations

from datetime import timedelta

from app.auth import services
from app.auth.models import LoginAttempt, Role
from app.core.clock import utcnow
from app.extensions import db
from tests.conftest import DEFAULT_PASSWORD

PROXY = "10.77.0.1"  # the one address every user of a trust arrives from


def _token(client, email, password=DEFAULT_PASSWORD, remote_addr=PROXY):
    return client.post("/api/v1/auth/tokens", json={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": remote_addr})


def _failures(email: str, count: int, *, seconds_ago: float = 0, remote_addr: str = PROXY):
    """`count` failures of `email`, the latest `seconds_ago` seconds ago."""
    moment = utcnow() - timedelta(seconds=seconds_ago)
    for n in range(count):
        db.session.add(LoginAttempt(email=email, remote_addr=remote_addr,
                                    created_at=moment - timedelta(milliseconds=n)))
    db.session.commit()


def test_one_typist_does_not_lock_out_colleagues_behind_the_same_proxy(
        app, client, make_user, form_login):
    typist, colleague = make_user(Role.MEMBER), make_user(Role.MEMBER)
    for _ in range(app.config["LOGIN_RATE_LIMIT"]):
        assert form_login(typist.email, "wrong password!", remote_addr=PROXY).status_code == 401
    # The typist's own account now waits, even with the right password...
    assert form_login(typist.email, remote_addr=PROXY).status_code == 429
    # ...but a colleague at the same address logs in at once, in the browser and the API.
    assert form_login(colleague.email, remote_addr=PROXY).status_code == 302
    assert _token(client, colleague.email).status_code == 201


def test_the_token_endpoint_shares_the_accounts_limit_and_not_the_address_lock(
        app, client, make_user, form_login):
    typist, colleague = make_user(Role.MEMBER), make_user(Role.COORDINATOR)
    for n in range(app.config["LOGIN_RATE_LIMIT"]):
        # Failures through both doors count against the one account.
        if n % 2:
            form_login(typist.email, "wrong password!", remote_addr=PROXY)
        else:
            assert _token(client, typist.email, "wrong password!").status_code == 401
    refused = _token(client, typist.email)
    assert refused.status_code == 429
    assert refused.get_json()["code"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= app.config["LOGIN_BACKOFF_SECONDS"] + 1
    assert _token(client, colleague.email).status_code == 201


def test_the_wait_doubles_with_each_further_failure_up_to_the_cap(app, make_user):
    app.config.update(LOGIN_BACKOFF_SECONDS=30, LOGIN_BACKOFF_MAX_SECONDS=900,
                      LOGIN_RATE_WINDOW_SECONDS=3600)
    limit = app.config["LOGIN_RATE_LIMIT"]
    assert [services.account_backoff_seconds(n) for n in range(limit - 1, limit + 7)] == [
        0, 30, 60, 120, 240, 480, 900, 900]
    user = make_user(Role.MEMBER)
    _failures(user.email, limit - 1)
    assert services.login_retry_after(user.email, None) == 0
    _failures(user.email, 1)
    assert 29 <= services.login_retry_after(user.email, None) <= 31
    _failures(user.email, 2)
    assert 119 <= services.login_retry_after(user.email, None) <= 121
    _failures(user.email, 10)
    assert 899 <= services.login_retry_after(user.email, None) <= 901


def test_the_wait_runs_from_the_latest_failure_and_a_refusal_does_not_extend_it(
        app, client, make_user, form_login):
    user = make_user(Role.MEMBER)
    backoff = app.config["LOGIN_BACKOFF_SECONDS"]
    _failures(user.email, app.config["LOGIN_RATE_LIMIT"], seconds_ago=backoff + 2)
    # The wait after those failures is over: one more wrong password is an ordinary 401...
    assert form_login(user.email, "wrong password!", remote_addr=PROXY).status_code == 401
    # ...after which the wait has doubled.
    refused = form_login(user.email, remote_addr=PROXY)
    assert refused.status_code == 429
    assert 2 * backoff - 2 <= int(refused.headers["Retry-After"]) <= 2 * backoff + 1
    # Attempts refused while waiting are not failures: the count did not grow.
    assert db.session.execute(db.select(db.func.count(LoginAttempt.id)).where(
        LoginAttempt.email == user.email)).scalar_one() == app.config["LOGIN_RATE_LIMIT"] + 1


def test_the_address_ceiling_stops_guessing_across_many_accounts(app, client, make_user,
                                                                form_login):
    ceiling = app.config["LOGIN_ADDRESS_LIMIT"]
    assert ceiling > app.config["LOGIN_RATE_LIMIT"]
    user = make_user(Role.MEMBER)
    # Spread over many accounts, no account reaches its own limit.
    for n in range(ceiling - 1):
        db.session.add(LoginAttempt(email=f"guess{n}@example.org", remote_addr=PROXY))
    db.session.commit()
    assert form_login("one-more@example.org", "wrong password!", remote_addr=PROXY
                      ).status_code == 401
    refused = form_login(user.email, remote_addr=PROXY)
    assert refused.status_code == 429
    window = app.config["LOGIN_RATE_WINDOW_SECONDS"]
    assert window - 5 <= int(refused.headers["Retry-After"]) <= window + 1
    assert _token(client, user.email).status_code == 429
    assert form_login(user.email, remote_addr="10.77.0.2").status_code == 302


def test_a_success_clears_only_the_accounts_own_failures(app, client, make_user, form_login):
    user = make_user(Role.MEMBER)
    _failures(user.email, app.config["LOGIN_RATE_LIMIT"] - 1)
    _failures("someone.else@example.org", 2)
    assert form_login(user.email, remote_addr=PROXY).status_code == 302
    remaining = db.session.execute(db.select(LoginAttempt.email)).scalars().all()
    assert remaining == ["someone.else@example.org"] * 2
