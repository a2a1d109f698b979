"""The audit log of administrative actions (issue 11): every change to accounts and roles,
organisations, currencies and their values and the market settings is recorded — who,
when, each field's old and new value — in the same transaction, never for a refused or
empty change, never with a secret, append-only, and readable by auditors (page and API)
but not by members."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.auth import admin_log
from app.auth.models import AdminAction, AdminActionKind, Role, User
from app.auth.services import set_password, update_user
from app.core.errors import AppendOnlyViolation, Invalid
from app.extensions import db
from app.market.currencies import update_currency
from app.market.models import MarketSettings
from tests.conftest import is_postgres

NEW_PASSWORD = "a brand new passphrase"


def _log() -> list[AdminAction]:
    db.session.expire_all()
    return list(db.session.execute(db.select(AdminAction).order_by(AdminAction.id)).scalars())


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, name="Ada Admin", email="ada@example.org")


def test_each_kind_of_administrative_change_is_recorded_with_old_and_new_values(
        client, login, api_headers, admin, make_user, make_currency):
    coordinator = make_user(Role.COORDINATOR)
    MarketSettings.current()
    db.session.commit()
    login(admin)
    # An account, through the admin form.
    response = client.post("/admin/users/new", data={
        "email": "new.person@example.org", "name": "New Person", "role": Role.COORDINATOR,
        "organisation": "", "password": NEW_PASSWORD})
    assert response.status_code == 302
    # A currency's value, through the API.
    staff = make_currency("staff", value_per_unit=300)
    response = client.patch(f"/api/v1/currencies/{staff.id}", json={"value_per_unit": 320.5},
                            headers=api_headers(admin))
    assert response.status_code == 200, response.get_json()
    # The market settings, through the form.
    response = client.post("/market/settings", data={
        "max_cycle": "4", "max_chain": "3", "fairness_threshold": "0.6",
        "objective": "lexicographic", "time_limit_seconds": "30", "acceptance_days": "14",
        "delivery_days": "60"})
    assert response.status_code == 302
    # An organisation, by a coordinator through the API.
    response = client.post("/api/v1/organisations", json={
        "name": "Northshire Hospice", "sector": "voluntary", "areas": ["north"]},
        headers=api_headers(coordinator))
    assert response.status_code == 201, response.get_json()

    log = _log()
    assert [a.action for a in log] == [AdminActionKind.USER_CREATED,
                                       AdminActionKind.CURRENCY_UPDATED,
                                       AdminActionKind.SETTINGS_UPDATED,
                                       AdminActionKind.ORGANISATION_CREATED]
    created, currency, settings, organisation = log
    assert created.actor_id == admin.id and "ada@example.org" in created.actor_name
    assert created.target_label == "new.person@example.org"
    assert created.changes["role"] == [None, "coordinator"]
    assert created.changes["enabled"] == [None, True]
    assert "password" not in str(created.changes) and NEW_PASSWORD not in str(created.changes)
    assert currency.changes == {"value_per_unit": ["300", "320.5"]}
    assert currency.target_label == "staff"
    # Only what changed: the form re-sent every other setting unchanged.
    assert settings.changes == {"fairness_threshold": ["0.5", "0.6"], "max_cycle": [3, 4]}
    assert organisation.actor_id == coordinator.id
    assert organisation.changes["name"] == [None, "Northshire Hospice"]
    assert organisation.changes["areas"] == [None, ["north"]]


def test_a_role_change_and_a_disabling_are_recorded_and_an_unchanged_save_is_not(
        app, admin, make_user):
    member = make_user(Role.MEMBER)
    update_user(admin, member, name=member.name)  # nothing changes
    db.session.commit()
    assert _log() == []
    update_user(admin, member, role=Role.AUDITOR, organisation=None)
    update_user(admin, member, enabled=False)
    db.session.commit()
    role_change, disabling = _log()
    assert role_change.changes["role"] == ["member", "auditor"]
    assert role_change.changes["organisation"][1] is None
    assert disabling.changes == {"enabled": [True, False]}


def test_a_refused_change_leaves_no_record(app, admin, make_currency):
    staff = make_currency("staff", value_per_unit=300)
    with pytest.raises(Invalid):
        update_currency(admin, staff, {"value_per_unit": -5})
    db.session.rollback()
    assert _log() == []


def test_a_password_reset_is_recorded_without_the_password(app, admin, make_user):
    user = make_user(Role.AUDITOR)
    set_password(admin, user, NEW_PASSWORD, revoke_tokens=True)
    set_password(user, user, "another long passphrase", current_password=NEW_PASSWORD)
    db.session.commit()
    (reset,) = _log()  # the user's own change is not an administrative action
    assert reset.action == AdminActionKind.USER_PASSWORD_RESET
    assert reset.target_id == user.id
    assert NEW_PASSWORD not in str(reset.changes)


def test_the_system_is_named_as_the_actor_of_command_line_changes(app, make_user):
    user = make_user(Role.MEMBER)
    update_user(None, user, name="Renamed by the CLI")
    db.session.commit()
    (entry,) = _log()
    assert entry.actor_id is None and entry.actor_name == admin_log.SYSTEM_ACTOR


def test_records_are_append_only_in_the_orm_and_in_the_database(app, admin, make_user):
    update_user(admin, make_user(Role.MEMBER), name="Someone Else")
    db.session.commit()
    (entry,) = _log()
    entry.actor_name = "nobody"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(AdminAction, entry.id))
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    for statement in ("UPDATE admin_actions SET actor_name = 'nobody'",
                      "DELETE FROM admin_actions"):
        with pytest.raises(DBAPIError), db.engine.begin() as conn:
            conn.execute(text(statement))
    assert [a.actor_name for a in _log()] == [entry.actor_name]


@pytest.mark.skipif(not is_postgres(), reason="TRUNCATE triggers are PostgreSQL's")
def test_truncate_is_refused_on_postgresql(app, admin, make_user):
    update_user(admin, make_user(Role.MEMBER), name="Someone Else")
    db.session.commit()
    with pytest.raises(DBAPIError), db.engine.begin() as conn:
        conn.execute(text("TRUNCATE admin_actions"))
    assert len(_log()) == 1


def test_auditors_read_the_log_on_its_page_and_through_the_api(
        client, login, api_headers, admin, make_user):
    target = make_user(Role.MEMBER, name="Pat Member")
    update_user(admin, target, role=Role.AUDITOR, organisation=None)
    db.session.commit()
    auditor = make_user(Role.AUDITOR)
    login(auditor)
    page = client.get("/ledger/admin-actions")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Account changed" in body and target.email in body and "Ada Admin" in body
    assert "member → auditor" in body
    filtered = client.get("/ledger/admin-actions?target=currency")
    assert "No administrative action matches" in filtered.get_data(as_text=True)

    response = client.get("/api/v1/ledger/admin-actions?target=user",
                          headers=api_headers(auditor))
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [i["action"] for i in items] == ["user.updated"]
    assert items[0]["changes"]["role"] == ["member", "auditor"]
    assert items[0]["actor_id"] == admin.id


@pytest.mark.parametrize("query", ["action=user.exploded", "target=ledger", "from=yesterday",
                                   "actor=-1", "from=2026-12-02&to=2026-01-01"])
def test_bad_filters_are_a_clear_4xx(client, login, api_headers, make_user, query):
    auditor = make_user(Role.AUDITOR)
    login(auditor)
    assert client.get(f"/ledger/admin-actions?{query}").status_code == 400
    response = client.get(f"/api/v1/ledger/admin-actions?{query}", headers=api_headers(auditor))
    assert 400 <= response.status_code < 500
    assert response.get_json()["errors"]  # names the field


def test_members_do_not_see_the_log(client, login, api_headers, make_user):
    member = make_user(Role.MEMBER)
    login(member)
    assert client.get("/ledger/admin-actions").status_code == 403
    response = client.get("/api/v1/ledger/admin-actions", headers=api_headers(member))
    assert response.status_code == 403
    assert db.session.get(User, member.id).role == Role.MEMBER
