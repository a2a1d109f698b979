"""Admin pages: the landing page and user management, with their authorisation matrix."""

from __future__ import annotations

import re

import pytest

from app.auth.models import ApiToken, Role, User
from app.auth.passwords import verify_password
from app.auth.tokens import issue_token
from app.extensions import db
from tests.auth.helpers import reload, stored_state, users_snapshot

NEW_PASSWORD = "a brand new passphrase"


def _create_data(**overrides) -> dict:
    data = {"email": "new.person@example.org", "name": "New Person", "role": Role.COORDINATOR,
            "organisation": "", "password": NEW_PASSWORD}
    data.update(overrides)
    return data


def _edit_data(user: User, **overrides) -> dict:
    data = {"name": user.name, "role": user.role,
            "organisation": str(user.organisation_id or ""), "enabled": "y"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- authorisation matrix --------------------------------------------------------------------

WRITES = [
    ("create", lambda users: ("/admin/users/new", _create_data())),
    ("edit", lambda users: (f"/admin/users/{users['other_member'].id}",
                            _edit_data(users["other_member"], name="Renamed"))),
    ("disable", lambda users: (f"/admin/users/{users['coordinator'].id}",
                               _edit_data(users["coordinator"], enabled=None))),
    ("reset", lambda users: (f"/admin/users/{users['auditor'].id}/password",
                             {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})),
]


@pytest.mark.parametrize("actor", ["anonymous", "member", "coordinator", "auditor"])
@pytest.mark.parametrize("action, build", WRITES, ids=[w[0] for w in WRITES])
def test_only_admins_may_write(client, login, users, actor, action, build):
    if actor != "anonymous":
        login(users[actor])
    url, data = build(users)
    before = stored_state()
    response = client.post(url, data=data)
    if actor == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    else:
        assert response.status_code == 403
    assert stored_state() == before


@pytest.mark.parametrize("action, build", WRITES, ids=[w[0] for w in WRITES])
def test_admin_may_write(client, login, users, action, build):
    login(users["admin"])
    url, data = build(users)
    before = stored_state()
    response = client.post(url, data=data)
    assert response.status_code == 302
    assert stored_state() != before


@pytest.mark.parametrize("actor", ["anonymous", "member", "coordinator", "auditor"])
@pytest.mark.parametrize("path", ["/admin/", "/admin/users", "/admin/users/new"])
def test_only_admins_may_read(client, login, users, actor, path):
    if actor != "anonymous":
        login(users[actor])
    assert client.get(path).status_code == (302 if actor == "anonymous" else 403)


@pytest.mark.parametrize("role", ["member", "coordinator", "auditor", "admin"])
def test_nav_shows_admin_to_admins_only(client, login, users, role):
    login(users[role])
    page = client.get("/").data.decode()
    assert ('href="/admin/"' in page) == (role == "admin")
    assert 'href="/account"' in page and 'action="/logout"' in page


def test_admin_index_links_to_users_and_existing_market_pages(app, client, login, users):
    from flask import url_for

    from app.admin.routes import MARKET_LINKS

    login(users["admin"])
    page = client.get("/admin/").data.decode()
    assert 'href="/admin/users"' in page
    with app.test_request_context():
        for _title, _blurb, endpoints in MARKET_LINKS:
            present = [e for e in endpoints if e in app.view_functions]
            if present:
                assert f'href="{url_for(present[0])}"' in page
    assert "1 member" not in page and "2 members" in page  # counts per role


# --- list ----------------------------------------------------------------------------------

def _rows(page: str) -> int:
    return len(re.findall(r'href="/admin/users/\d+"', page))


def test_user_list_filters_and_pages(app, client, login, users, make_user):
    app.config["PAGE_SIZE"] = 2
    make_user(Role.AUDITOR, name="Zed Auditor", enabled=False)
    make_user(Role.COORDINATOR)
    login(users["admin"])
    page = client.get("/admin/users").data.decode()
    assert "Page 1 of 4 (7)" in page
    page = client.get("/admin/users?page=4").data.decode()
    assert _rows(page) == 1
    page = client.get("/admin/users?role=auditor").data.decode()
    assert _rows(page) == 2
    page = client.get("/admin/users?role=auditor&status=disabled").data.decode()
    assert "Zed Auditor" in page and _rows(page) == 1
    page = client.get(f"/admin/users?organisation={users['own_org'].id}").data.decode()
    assert users["member"].email in page and users["other_member"].email not in page
    page = client.get("/admin/users?q=ZED").data.decode()
    assert "Zed Auditor" in page and _rows(page) == 1


@pytest.mark.parametrize("query", ["page=0", "page=-3", "page=abc", "page=99999999999999999999",
                                   "role=emperor", "organisation=xyz",
                                   "organisation=99999999999999999999", "status=maybe",
                                   "q=" + "x" * 5000])
def test_user_list_tolerates_odd_queries(client, login, users, query):
    login(users["admin"])
    assert client.get(f"/admin/users?{query}").status_code == 200


def test_a_nul_character_in_a_query_is_a_clear_400(client, login, users):
    login(users["admin"])
    response = client.get("/admin/users?q=%00")
    assert response.status_code == 400 and b"NUL character" in response.data


# --- create --------------------------------------------------------------------------------

def test_create_member_with_given_password(client, login, users):
    login(users["admin"])
    response = client.post("/admin/users/new", data=_create_data(
        email="  Nurse.Lead@Example.org ", role=Role.MEMBER,
        organisation=str(users["own_org"].id)))
    assert response.status_code == 302
    user = db.session.execute(
        db.select(User).where(User.email == "nurse.lead@example.org")).scalar_one()
    assert user.organisation_id == users["own_org"].id and user.role == Role.MEMBER
    assert verify_password(user.password_hash, NEW_PASSWORD)
    page = client.get(response.headers["Location"]).data.decode()
    assert "Initial password" not in page  # none was generated


def test_create_generates_a_password_shown_once(client, login, users):
    login(users["admin"])
    response = client.post("/admin/users/new", data=_create_data(password=""))
    page = client.get(response.headers["Location"]).data.decode()
    password = re.search(r'<code class="token">([^<]+)</code>', page).group(1)
    user = db.session.execute(
        db.select(User).where(User.email == "new.person@example.org")).scalar_one()
    assert verify_password(user.password_hash, password) and len(password) >= 12
    assert password not in client.get(response.headers["Location"]).data.decode()


@pytest.mark.parametrize("overrides, status, message", [
    ({"email": "not-an-email"}, 422, "Enter an address like"),
    ({"email": ""}, 422, "This field is required."),
    ({"email": "a" * 250 + "@example.org"}, 422, "Field cannot be longer than 254"),
    ({"name": "x" * 121}, 422, "Field cannot be longer than 120"),
    ({"name": "bad\x00name"}, 400, "NUL character"),
    ({"name": "bad\x07name"}, 422, "Remove control characters"),
    ({"role": "emperor"}, 422, "Not a valid choice"),
    ({"role": Role.MEMBER}, 422, "Choose the member&#39;s organisation"),
    ({"organisation": "__org__"}, 422, "belongs to no organisation"),
    ({"organisation": "99999999999"}, 422, "Not a valid choice"),
    ({"password": "short"}, 422, "Use at least 12 characters"),
])
def test_create_refuses_bad_input(client, login, users, overrides, status, message):
    if overrides.get("organisation") == "__org__":
        overrides["organisation"] = str(users["own_org"].id)
    login(users["admin"])
    before = stored_state()
    response = client.post("/admin/users/new", data=_create_data(**overrides))
    assert response.status_code == status
    assert message in response.data.decode()
    assert stored_state() == before


def test_create_twice_is_a_conflict(client, login, users):
    login(users["admin"])
    assert client.post("/admin/users/new", data=_create_data()).status_code == 302
    before = stored_state()
    response = client.post("/admin/users/new",
                           data=_create_data(email="NEW.PERSON@example.org"))
    assert response.status_code == 409
    assert "already exists" in response.data.decode()
    assert stored_state() == before


# --- edit ----------------------------------------------------------------------------------

def test_edit_page_shows_the_user(client, login, users):
    login(users["admin"])
    page = client.get(f"/admin/users/{users['member'].id}").data.decode()
    assert users["member"].email in page and "Reset password" in page


def test_edit_changes_role_and_organisation(client, login, users):
    login(users["admin"])
    member = users["member"]
    response = client.post(f"/admin/users/{member.id}", data=_edit_data(
        member, role=Role.COORDINATOR, organisation="", name="Now Coordinating"))
    assert response.status_code == 302
    stored = reload(member)
    assert (stored.role, stored.organisation_id, stored.name) == (
        Role.COORDINATOR, None, "Now Coordinating")


def test_disabling_ends_sessions_and_revokes_tokens(client, login, users):
    token, raw = issue_token(users["member"], "script")
    db.session.commit()
    login(users["admin"])
    response = client.post(f"/admin/users/{users['member'].id}",
                           data=_edit_data(users["member"], enabled=None))
    assert response.status_code == 302
    stored = reload(users["member"])
    assert not stored.enabled and stored.session_epoch == 1
    assert reload(token).revoked_at is not None
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


@pytest.mark.parametrize("overrides, message", [
    ({"enabled": None}, "You cannot disable or demote your own account"),
    ({"role": Role.COORDINATOR}, "You cannot disable or demote your own account"),
])
def test_admin_cannot_lock_themselves_out(client, login, users, overrides, message):
    admin = users["admin"]
    login(admin)
    before = stored_state()
    response = client.post(f"/admin/users/{admin.id}", data=_edit_data(admin, **overrides))
    assert response.status_code == 422
    assert message in response.data.decode()
    assert stored_state() == before


@pytest.mark.parametrize("overrides, message", [
    ({"name": ""}, "This field is required."),
    ({"name": "x" * 500}, "Field cannot be longer than 120"),
    ({"role": Role.MEMBER, "organisation": ""}, "Choose the member&#39;s organisation"),
    ({"organisation": "abc"}, "Not a valid choice"),
])
def test_edit_refuses_bad_input(client, login, users, overrides, message):
    login(users["admin"])
    target = users["coordinator"]
    before = stored_state()
    response = client.post(f"/admin/users/{target.id}", data=_edit_data(target, **overrides))
    assert response.status_code == 422
    assert message in response.data.decode()
    assert stored_state() == before


@pytest.mark.parametrize("path", ["/admin/users/99999", "/admin/users/99999999999999999999",
                                  "/admin/users/99999/password"])
def test_unknown_users_are_404(client, login, users, path):
    login(users["admin"])
    before = stored_state()
    response = client.post(path, data={"name": "x", "role": Role.ADMIN, "password": NEW_PASSWORD,
                                       "confirm": NEW_PASSWORD})
    assert response.status_code == 404
    assert stored_state() == before


# --- reset password --------------------------------------------------------------------------

def test_reset_password_ends_sessions_and_optionally_revokes_tokens(client, login, users):
    kept, _ = issue_token(users["auditor"], "kept")
    gone, _ = issue_token(users["coordinator"], "gone")
    db.session.commit()
    login(users["admin"])
    client.post(f"/admin/users/{users['auditor'].id}/password",
                data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    client.post(f"/admin/users/{users['coordinator'].id}/password",
                data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "revoke_tokens": "y"})
    auditor = reload(users["auditor"])
    assert verify_password(auditor.password_hash, NEW_PASSWORD) and auditor.session_epoch == 1
    assert reload(kept).revoked_at is None
    assert reload(gone).revoked_at is not None


@pytest.mark.parametrize("data", [
    {"password": "short", "confirm": "short"},
    {"password": NEW_PASSWORD, "confirm": "different passphrase"},
    {"password": "", "confirm": ""},
])
def test_reset_password_refuses_bad_input(client, login, users, data):
    login(users["admin"])
    before = stored_state()
    response = client.post(f"/admin/users/{users['auditor'].id}/password", data=data)
    assert response.status_code == 422
    assert stored_state() == before


def test_double_submitted_edit_is_harmless(client, login, users):
    login(users["admin"])
    target = users["auditor"]
    data = _edit_data(target, name="Same Name")
    assert client.post(f"/admin/users/{target.id}", data=data).status_code == 302
    after_first = users_snapshot()
    assert client.post(f"/admin/users/{target.id}", data=data).status_code == 302
    assert users_snapshot() == after_first
    assert db.session.execute(db.select(db.func.count(ApiToken.id))).scalar_one() == 0
