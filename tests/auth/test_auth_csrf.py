"""With CSRF protection on (as in production), a form posted without its token is
refused and changes nothing; with the token it works (so the refusal is CSRF's)."""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.auth.models import Role
from app.extensions import db
from config import TestingConfig
from tests.auth.helpers import release, stored_state
from tests.conftest import DEFAULT_PASSWORD


@pytest.fixture
def csrf_client(app):
    """A client of an app with CSRF on, over the test's own database."""
    protected = create_app(TestingConfig, WTF_CSRF_ENABLED=True,
                           SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    yield protected.test_client()
    with protected.app_context():
        db.session.remove()
        db.engine.dispose()


def _csrf_token(client, path: str) -> str:
    page = client.get(path).data.decode()
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _log_in(client, email: str) -> None:
    token = _csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD,
                                            "csrf_token": token})
    assert response.status_code == 302


def _new_user(make_user, role: str) -> str:
    email = make_user(role).email
    release()
    return email


def test_login_form_needs_the_csrf_token(csrf_client, make_user):
    email = _new_user(make_user, Role.MEMBER)
    response = csrf_client.post("/login", data={"email": email,
                                                "password": DEFAULT_PASSWORD})
    assert response.status_code == 400
    with csrf_client.session_transaction() as session:
        assert "_user_id" not in session
    _log_in(csrf_client, email)


@pytest.mark.parametrize("path, data", [
    ("/account/tokens", {"name": "forged"}),
    ("/account/password", {"current_password": DEFAULT_PASSWORD,
                           "new_password": "forged passphrase!", "confirm": "forged passphrase!"}),
    ("/admin/users/new", {"email": "forged@example.org", "name": "Forged", "role": "admin",
                          "organisation": "", "password": "forged passphrase!"}),
    ("/logout", {}),
])
def test_forms_without_the_token_change_nothing(csrf_client, make_user, path, data):
    _log_in(csrf_client, _new_user(make_user, Role.ADMIN))
    before = stored_state()
    response = csrf_client.post(path, data=data)
    assert response.status_code == 400
    assert stored_state() == before
    # The same form with its token goes through.
    token = _csrf_token(csrf_client, "/account")
    response = csrf_client.post(path, data={**data, "csrf_token": token})
    assert response.status_code == 302
    assert stored_state() != before
