"""The auditor's workspace and the trust pages: who may open what (an
authorisation matrix), that everything is read-only for auditors, and that
the pages show what they promise."""

from __future__ import annotations

import pytest

from app.auth.models import Role
from app.extensions import db
from app.ledger.models import EntryKind, LedgerEntry
from app.proposals.models import ProposalStatus, ProposalTransition
from app.reporting.audit import verify_ledger as verify_in_database
from tools import verify_ledger


@pytest.fixture
def world(users, make_exchange, make_org, make_user):
    """Own Org and Other Org completed one exchange; a third organisation
    completed one with Other Org; one agreed exchange was cancelled."""
    third = make_org("Third Org")
    first = make_exchange([users["own_org"], users["other_org"]], actor=users["member"])
    second = make_exchange([users["other_org"], third], quantity=4)
    make_exchange([users["own_org"], third], status=ProposalStatus.CANCELLED)
    users["coordinator2"] = make_user(Role.COORDINATOR)
    return {**users, "third": third, "first": first, "second": second}


def _pages(w) -> dict[str, str]:
    return {
        "workspace": "/ledger/",
        "workspace_filtered": f"/ledger/?organisation={w['own_org'].id}&currency=staff"
                              "&from=2000-01-01&to=2100-01-01&kind=trade",
        "verify": "/ledger/verify",
        "export_json": "/ledger/export.json",
        "export_csv": "/ledger/export.csv?organisation=1",
        "audit": "/ledger/audit?action=agreed",
        "timeline": f"/ledger/exchanges/{w['first'].id}",
        "network": "/trust/network",
        "entry_own": "/ledger/entries/1",           # Own Org → Other Org
        "entry_other": "/ledger/entries/3",         # Other Org → Third Org
        "trust_own": f"/trust/organisations/{w['own_org'].id}",
        "trust_other": f"/trust/organisations/{w['third'].id}",
    }


READER_ONLY = {"workspace", "workspace_filtered", "verify", "export_json", "export_csv",
               "audit", "timeline", "network", "entry_other"}

# role → page → expected status (members: own data full, others' reputation only).
MATRIX = {
    "auditor": dict.fromkeys(["workspace", "workspace_filtered", "verify", "export_json",
                              "export_csv", "audit", "timeline", "network", "entry_own",
                              "entry_other", "trust_own", "trust_other"], 200),
    "member": {**dict.fromkeys(READER_ONLY, 403), "entry_own": 200, "trust_own": 200,
               "trust_other": 200},
}
MATRIX["coordinator"] = MATRIX["admin"] = MATRIX["auditor"]


@pytest.mark.parametrize("role", ["auditor", "coordinator", "admin", "member"])
def test_authorisation_matrix(client, login, world, role):
    login(world[role])
    for name, url in _pages(world).items():
        response = client.get(url)
        response.get_data()  # finish streamed exports before the next request
        assert response.status_code == MATRIX[role][name], (role, name, url)


def test_anonymous_visitors_are_sent_to_log_in(client, world):
    for url in _pages(world).values():
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def _snapshot() -> tuple:
    return (
        db.session.execute(db.select(db.func.count(LedgerEntry.id))).scalar_one(),
        db.session.execute(db.select(db.func.count(ProposalTransition.id))).scalar_one(),
    )


@pytest.mark.parametrize("role", ["auditor", "admin", "member"])
def test_nobody_but_a_coordinator_can_post_anything_here(client, login, world, role):
    login(world[role])
    before = _snapshot()
    for url in [*_pages(world).values(), "/ledger/entries/1/reverse",
                "/ledger/entries/3/reverse"]:
        response = client.post(url.split("?")[0], data={"reason": "because"})
        assert response.status_code in (403, 405), url
    db.session.expire_all()
    assert _snapshot() == before


def test_workspace_lists_filters_and_pages(client, login, world, app):
    app.config["PAGE_SIZE"] = 2
    login(world["auditor"])
    page = client.get("/ledger/").data.decode()
    assert "Page 1 of 2" in page and "/ledger/entries/4" in page
    filtered = client.get(f"/ledger/?organisation={world['third'].id}").data.decode()
    assert "/ledger/entries/3" in filtered and "/ledger/entries/1\"" not in filtered
    assert 'href="/ledger/export.json?organisation=' in filtered  # export keeps the filters


def test_workspace_rejects_bad_filters_with_a_clear_400(client, login, world):
    login(world["auditor"])
    response = client.get("/ledger/?from=2026-13-01&to=2020-01-01&organisation=abc")
    assert response.status_code == 400
    page = response.data.decode()
    assert "From:" in page and "Organisation:" in page
    response = client.get("/ledger/?from=2026-02-01&to=2026-01-01")
    assert response.status_code == 400 and "To: Must not be before" in response.data.decode()


def test_page_export_streams_a_verifiable_file(client, login, world, tmp_path, capsys):
    login(world["auditor"])
    response = client.get("/ledger/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith('attachment; filename="ledger-full')
    path = tmp_path / "ledger.json"
    path.write_bytes(response.data)
    assert verify_ledger.main([str(path)]) == 0
    assert "complete chain of 4 entries" in capsys.readouterr().out


def test_verify_page_reports_ok_and_failure(client, login, world):
    login(world["auditor"])
    page = client.get("/ledger/verify").data.decode()
    assert "The chain is intact" in page and "4 entries verified" in page
    head = db.session.execute(db.select(LedgerEntry).where(LedgerEntry.sequence == 4)).scalar_one()
    bad = client.get(f"/ledger/verify?anchor=4:{'0' * 63}1").data.decode()
    assert "Verification failed" in bad and "First bad sequence: <strong>4</strong>" in bad
    assert head.hash in bad
    assert client.get("/ledger/verify?anchor=nonsense").status_code == 400


def test_timeline_shows_the_whole_story(client, login, world):
    login(world["auditor"])
    page = client.get(f"/ledger/exchanges/{world['first'].id}").data.decode()
    for text in ("approved", "agreed", "completed", "Leg 1 confirmed received by Other Org",
                 "Ledger entry 1 (trade)", "Ledger entry 2 (trade)"):
        assert text in page, text
    assert client.get("/ledger/exchanges/999").status_code == 404


def test_audit_trail_filters(client, login, world):
    login(world["auditor"])
    page = client.get("/ledger/audit?to_status=cancelled").data.decode()
    assert page.count('class="badge status-cancelled"') == 1
    assert client.get("/ledger/audit?to_status=bogus").status_code == 400


def test_coordinator_reverses_an_entry_once_with_a_reason(client, login, world):
    login(world["coordinator"])
    page = client.get("/ledger/entries/1").data.decode()
    assert "Append a reversal" in page
    response = client.post("/ledger/entries/1/reverse", data={"reason": "  "})
    assert response.status_code == 422 and "Give the reason" in response.data.decode()
    response = client.post("/ledger/entries/1/reverse", data={"reason": "counted twice"})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/ledger/entries/5")
    reversal = db.session.execute(
        db.select(LedgerEntry).where(LedgerEntry.sequence == 5)).scalar_one()
    assert (reversal.kind, reversal.reverses_sequence, reversal.quantity, reversal.reason) == (
        EntryKind.REVERSAL, 1, -2, "counted twice")
    response = client.post("/ledger/entries/1/reverse", data={"reason": "again"},
                           follow_redirects=True)
    assert "already been reversed" in response.data.decode()
    assert "Reversed by entry" in client.get("/ledger/entries/1").data.decode()
    assert verify_in_database().ok


def test_reverse_form_needs_csrf(client, login, world, app):
    app.config["WTF_CSRF_ENABLED"] = True
    login(world["coordinator"])
    response = client.post("/ledger/entries/1/reverse", data={"reason": "counted twice"})
    assert response.status_code in (400, 422)
    assert db.session.execute(db.select(db.func.count(LedgerEntry.id))).scalar_one() == 4


def test_member_sees_own_full_figures_and_others_public_reputation(client, login, world):
    login(world["member"])
    own = client.get(f"/trust/organisations/{world['own_org'].id}").data.decode()
    assert "Other Org" in own and "Value given and received" in own
    other = client.get(f"/trust/organisations/{world['third'].id}").data.decode()
    assert 'data-testid="public-scope"' in other
    assert "Value given and received" not in other and "Other Org" not in other
    assert client.get("/trust/").headers["Location"].endswith(
        f"/trust/organisations/{world['own_org'].id}")


def test_trust_network_is_an_svg_of_the_record(client, login, world):
    login(world["coordinator"])
    page = client.get("/trust/network").data.decode()
    assert "<svg" in page and page.count("<circle") == 3 and page.count("<line") == 2
    assert "Own Org – Other Org: 1 exchange completed together" in page


def test_trust_network_escapes_names(client, login, world, make_org, make_exchange):
    evil = make_org("<script>alert(1)</script>")
    make_exchange([evil, world["third"]])
    login(world["auditor"])
    page = client.get("/trust/network").data.decode()
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
