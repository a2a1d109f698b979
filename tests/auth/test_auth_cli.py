"""`flask users …`: create, list, disable, enable, set-password, with clear failures."""

from __future__ import annotations

import re

import pytest

from app.auth import cli
from app.auth.models import ApiToken, Role, User
from app.auth.passwords import verify_password
from app.auth.tokens import issue_token
from app.extensions import db
from tests.auth.helpers import reload, stored_state

PASSWORD = "a sturdy cli passphrase"


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.execute(db.select(User).where(User.email == email)).scalar_one_or_none()


def test_create_member_with_org_and_password(runner, make_org):
    org = make_org("North Trust", slug="north-trust")
    result = runner.invoke(args=["users", "create", "Ann@Example.org", "--role", "member",
                                 "--org", "north-trust", "--name", "Ann Example",
                                 "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    assert "Created member ann@example.org of North Trust" in result.output
    assert "shown once" not in result.output
    user = _user("ann@example.org")
    assert user.organisation_id == org.id and user.name == "Ann Example"
    assert verify_password(user.password_hash, PASSWORD)


def test_create_without_tty_generates_and_prints_a_password(runner):
    result = runner.invoke(args=["users", "create", "boss@example.org", "--role", "admin"])
    assert result.exit_code == 0, result.output
    password = re.search(r"Password \(shown once\): (\S+)", result.output).group(1)
    user = _user("boss@example.org")
    assert user.name == "boss" and verify_password(user.password_hash, password)


def test_create_on_a_terminal_prompts_for_the_password(runner, monkeypatch):
    monkeypatch.setattr(cli, "_stdin_is_tty", lambda: True)
    result = runner.invoke(args=["users", "create", "tty@example.org", "--role", "auditor"],
                           input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "shown once" not in result.output
    assert verify_password(_user("tty@example.org").password_hash, PASSWORD)


@pytest.mark.parametrize("args, message", [
    (["x@example.org", "--role", "member"], "A member must belong to an organisation"),
    (["x@example.org", "--role", "member", "--org", "nowhere"], "No organisation with slug"),
    (["x@example.org", "--role", "coordinator", "--org", "__org__"],
     "Only members belong to an organisation"),
    (["not-an-email", "--role", "admin", "--password", PASSWORD], "not valid"),
    (["x@example.org", "--role", "admin", "--password", "short"], "too short"),
    (["__existing__", "--role", "admin", "--password", PASSWORD], "already exists"),
])
def test_create_fails_clearly(runner, users, args, message):
    args = [users["member"].email.upper() if a == "__existing__" else
            users["own_org"].slug if a == "__org__" else a for a in args]
    before = stored_state()
    result = runner.invoke(args=["users", "create", *args, "--password", PASSWORD]
                           if "--password" not in args else ["users", "create", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert stored_state() == before


def test_create_with_an_unknown_role_is_a_usage_error(runner):
    result = runner.invoke(args=["users", "create", "x@example.org", "--role", "emperor"])
    assert result.exit_code == 2
    assert _user("x@example.org") is None


def test_list(runner, users):
    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0
    for key in ("member", "coordinator", "auditor", "admin"):
        assert users[key].email in result.output
    assert users["own_org"].slug in result.output
    only = runner.invoke(args=["users", "list", "--role", "auditor"])
    assert users["auditor"].email in only.output and users["admin"].email not in only.output


def test_disable_and_enable(runner, users):
    token, _ = issue_token(users["coordinator"], "script")
    db.session.commit()
    result = runner.invoke(args=["users", "disable", users["coordinator"].email])
    assert result.exit_code == 0, result.output
    stored = reload(users["coordinator"])
    assert not stored.enabled and stored.session_epoch == 1
    assert reload(token).revoked_at is not None
    result = runner.invoke(args=["users", "enable", users["coordinator"].email])
    assert result.exit_code == 0 and reload(users["coordinator"]).enabled


def test_the_last_admin_cannot_be_disabled(runner, users):
    before = stored_state()
    result = runner.invoke(args=["users", "disable", users["admin"].email])
    assert result.exit_code != 0
    assert "At least one enabled administrator must remain" in result.output
    assert stored_state() == before


def test_unknown_email_fails(runner, users):
    for command in ("disable", "enable", "set-password"):
        result = runner.invoke(args=["users", command, "nobody@example.org"])
        assert result.exit_code != 0 and "No account with the email" in result.output


def test_set_password(runner, users):
    token, _ = issue_token(users["auditor"], "script")
    db.session.commit()
    result = runner.invoke(args=["users", "set-password", users["auditor"].email,
                                 "--password", PASSWORD, "--revoke-tokens"])
    assert result.exit_code == 0, result.output
    stored = reload(users["auditor"])
    assert verify_password(stored.password_hash, PASSWORD) and stored.session_epoch == 1
    assert db.session.get(ApiToken, token.id).revoked_at is not None


def test_set_password_without_tty_generates_one(runner, users):
    result = runner.invoke(args=["users", "set-password", users["auditor"].email])
    assert result.exit_code == 0
    password = re.search(r"Password \(shown once\): (\S+)", result.output).group(1)
    assert verify_password(reload(users["auditor"]).password_hash, password)


def test_set_password_too_short_changes_nothing(runner, users):
    before = stored_state()
    result = runner.invoke(args=["users", "set-password", users["auditor"].email,
                                 "--password", "short"])
    assert result.exit_code != 0 and "too short" in result.output
    assert stored_state() == before


def test_created_users_can_log_in(runner, client, form_login):
    runner.invoke(args=["users", "create", "c@example.org", "--role", Role.COORDINATOR,
                        "--password", PASSWORD])
    assert form_login("c@example.org", PASSWORD).status_code == 302
