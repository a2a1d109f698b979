"""The signed-in user is kept in memory (app.auth.loader): a repeated request reads no user
or token row, and every change that matters is seen at the next request, whichever
process made it (the change counters are in the database)."""

from __future__ import annotations

from app.auth import services
from app.auth.loader import load_user
from app.auth.tokens import issue_token
from app.extensions import db
from app.market.organisations import update_organisation
from tests.statements import recorded


def _who_reads(fn) -> tuple[list[str], object]:
    """The statements of `fn()` that read users or tokens, and its result. The test's
    session is closed first: in a server every request starts with an empty one."""
    db.session.close()
    seen, result = recorded(fn)
    return [s for s in seen if "FROM users" in s or "FROM api_tokens" in s], result


def _header(response) -> str:
    html = response.get_data(as_text=True)
    start = html.index('class="muted who-name"')
    return html[start:html.index("</span>", start)]


def test_a_second_page_reads_no_user_row(client, login, users):
    login(users["member"])
    first, page = _who_reads(lambda: client.get("/market"))
    assert len(first) == 1 and page.status_code == 200
    again, page = _who_reads(lambda: client.get("/market"))
    assert again == []
    assert page.status_code == 200 and "Own Org" in _header(page)


def test_a_second_api_call_reads_no_token_row(client, users):
    _, raw = issue_token(users["member"], "script")
    db.session.commit()
    headers, email = {"Authorization": f"Bearer {raw}"}, users["member"].email
    first, _ = _who_reads(lambda: client.get("/api/v1/me", headers=headers))
    assert len(first) == 1  # its first use is written, so the next call reads it again
    again, _ = _who_reads(lambda: client.get("/api/v1/me", headers=headers))
    assert len(again) == 1  # and keeps it
    seen, answer = _who_reads(lambda: client.get("/api/v1/me", headers=headers))
    assert seen == []
    assert answer.status_code == 200 and answer.get_json()["email"] == email


def test_disabling_a_kept_user_ends_the_session_and_the_token_at_once(app, client, login,
                                                                         users):
    member = users["member"]
    _, raw = issue_token(member, "script")
    db.session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    login(member)
    for _ in range(2):  # kept
        assert client.get("/market").status_code == 200
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    admin = login(users["admin"], app.test_client())
    answer = admin.post(f"/admin/users/{member.id}", data={
        "name": member.name, "role": member.role,
        "organisation": str(member.organisation_id)})  # "enabled" unticked
    assert answer.status_code == 302
    refused = client.get("/market")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_change_committed_elsewhere_is_seen_at_the_next_request(client, login, users):
    """Committed through another session, as another process would: the user renamed,
    then the organisation renamed; each shows in the header of the next page."""
    member, admin = users["member"], users["admin"]
    login(member)
    assert "Own Org" in _header(client.get("/market"))
    assert "Own Org" in _header(client.get("/market"))  # kept
    services.update_user(admin, member, name="Renamed Member")
    db.session.commit()
    assert "Renamed Member" in _header(client.get("/market"))
    update_organisation(admin, users["own_org"], {"name": "Renamed Org"})
    db.session.commit()
    header = _header(client.get("/market"))
    assert "Renamed Org" in header and "Renamed Member" in header


def test_a_kept_user_is_in_the_session_as_if_loaded(app, users, make_user):
    """Put into the session without a query and with nothing to write; its organisation's
    users are read when asked for (not just the one kept with it); a list changed in place
    does not change the kept copy."""
    colleague = make_user(org=users["own_org"])
    cookie_id, ids = users["member"].get_id(), {users["member"].id, colleague.id}
    with app.test_request_context():
        load_user(cookie_id)  # read and kept
        db.session.rollback()
        db.session.expunge_all()
        seen, user = _who_reads(lambda: load_user(cookie_id))
        assert seen == [] and user is not None
        assert user in db.session and not db.session.dirty and not db.session.new
        assert {u.id for u in user.organisation.users} == ids
        areas = list(user.organisation.areas)
        user.organisation.areas.append("changed-in-place")
        db.session.rollback()
        db.session.expunge_all()
        assert load_user(cookie_id).organisation.areas == areas


def test_a_kept_token_revoked_is_refused_at_once(client, users, api_headers):
    token, raw = issue_token(users["member"], "script")
    db.session.commit()
    token_id, headers = token.id, {"Authorization": f"Bearer {raw}"}
    for _ in range(3):  # written, read again, kept
        assert client.get("/api/v1/me", headers=headers).status_code == 200
    revoked = client.post(f"/api/v1/auth/tokens/{token_id}/revoke",
                          headers=api_headers(users["member"]))
    assert revoked.status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 401
