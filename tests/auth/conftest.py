"""Fixtures of the accounts tests: logging in through the real form."""

from __future__ import annotations

import pytest

from tests.conftest import DEFAULT_PASSWORD

# The real SMTP server of the email tests (password-reset emails).
from tests.notifications.conftest import deliver, mailed_app, smtp  # noqa: F401


@pytest.fixture
def form_login(client):
    """POST the log-in form; returns the response (not followed)."""

    def do(email: str, password: str = DEFAULT_PASSWORD, *, remember: bool = False,
           next: str = "", test_client=None, remote_addr: str = "127.0.0.1"):
        data = {"email": email, "password": password, "next": next}
        if remember:
            data["remember"] = "y"
        return (test_client or client).post(
            "/login", data=data, environ_base={"REMOTE_ADDR": remote_addr})

    return do


@pytest.fixture
def is_logged_in(client):
    """Whether a client's cookies still authenticate it (the account page opens)."""

    def check(test_client=None) -> bool:
        response = (test_client or client).get("/account")
        return response.status_code == 200

    return check
