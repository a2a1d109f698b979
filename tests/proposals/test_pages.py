"""The pages: what each role sees, the forms, and the authorisation matrix over
every page and form of the feature (anonymous / member of a participant /
member of a non-participant / coordinator / auditor / admin)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.market.models import Listing, ListingStatus
from app.matching.models import MatchingRun
from app.notifications.models import Notification
from app.proposals import services
from app.proposals.models import Proposal, ProposalStatus
from tests.proposals.helpers import reload

WHO = ("anonymous", "A", "D", "coordinator", "auditor", "admin")


def _as(client, login, market, who):
    user = market.user(who)
    if user is not None:
        login(user, client)
    return client


def _state(proposal_id: int) -> tuple:
    """Everything an action could change."""
    db.session.expire_all()
    proposal = db.session.get(Proposal, proposal_id)
    return (
        proposal.status,
        len(proposal.transitions),
        tuple(p.response for p in proposal.participants),
        tuple(leg.confirmed_at is not None for leg in proposal.legs),
        db.session.execute(db.select(db.func.sum(Listing.reserved))).scalar_one(),
        db.session.execute(db.select(db.func.count(Notification.id))).scalar_one(),
    )


def _approve(market, proposal):
    services.approve(market.coordinator, proposal.id)
    db.session.commit()


def _agree(market, proposal):
    _approve(market, proposal)
    for name in "ABC":
        services.accept(market.members[name], proposal.id)
    db.session.commit()


# Per action: how to bring the proposal to the state where it is legal, who may
# do it, and what everyone else gets.
ACTIONS = {
    "approve": (None, "coordinator", {"A": 403, "D": 403, "auditor": 403, "admin": 403}),
    "reject": (None, "coordinator", {"A": 403, "D": 403, "auditor": 403, "admin": 403}),
    "cancel": (_approve, "coordinator", {"A": 403, "D": 403, "auditor": 403, "admin": 403}),
    "accept": (_approve, "A", {"D": 404, "coordinator": 403, "auditor": 403, "admin": 403}),
    "decline": (_approve, "A", {"D": 404, "coordinator": 403, "auditor": 403, "admin": 403}),
    "confirm": (_agree, "A", {"D": 404, "coordinator": 403, "auditor": 403, "admin": 403}),
}


@pytest.mark.parametrize("action", list(ACTIONS))
def test_action_form_matrix(action, market, cycle, client, login, app):
    prepare, allowed, refused = ACTIONS[action]
    if prepare:
        prepare(market, cycle)
    proposal = reload(Proposal, cycle.id)
    url = f"/proposals/{proposal.id}/{action}"
    if action == "confirm":
        leg = next(leg for leg in proposal.legs if leg.receiver_id == market.orgs["A"].id)
        url = f"/proposals/{proposal.id}/legs/{leg.id}/confirm"
    before = _state(proposal.id)
    for who in ("anonymous", *refused):
        test_client = app.test_client()
        _as(test_client, login, market, who)
        response = test_client.post(url, data={"reason": "because", "understood": "y"})
        if who == "anonymous":
            assert response.status_code == 302 and "/login" in response.location, who
        else:
            assert response.status_code == refused[who], (who, response.status_code)
        assert _state(proposal.id) == before, who
    test_client = app.test_client()
    _as(test_client, login, market, allowed)
    response = test_client.post(url, data={"reason": "because", "understood": "y"})
    assert response.status_code == 302
    assert response.location.endswith(f"/proposals/{proposal.id}")
    assert _state(proposal.id) != before


def test_confirm_form_refuses_a_participant_that_does_not_receive_the_leg(
        market, cycle, client, login):
    _agree(market, cycle)
    leg = next(leg for leg in reload(Proposal, cycle.id).legs
               if leg.receiver_id == market.orgs["A"].id)
    before = _state(cycle.id)
    login(market.members["B"])
    response = client.post(f"/proposals/{cycle.id}/legs/{leg.id}/confirm", data={})
    assert response.status_code == 403
    assert _state(cycle.id) == before


PAGES = {
    # path template → expected status per principal (anonymous → login redirect)
    "/proposals/{pid}": {"A": 200, "D": 404, "coordinator": 200, "auditor": 200, "admin": 200},
    "/proposals/{pid}/drawing.svg": {"A": 200, "D": 404, "coordinator": 200, "auditor": 200,
                                     "admin": 200},
    "/proposals/": {"A": 200, "D": 200, "coordinator": 200, "auditor": 200, "admin": 200},
    "/proposals/review": {"A": 403, "D": 403, "coordinator": 200, "auditor": 200, "admin": 200},
    "/proposals/inbox": {"A": 200, "D": 200, "coordinator": 403, "auditor": 403, "admin": 403},
    "/matching/runs": {"A": 403, "D": 403, "coordinator": 200, "auditor": 200, "admin": 200},
    "/matching/runs/new": {"A": 403, "D": 403, "coordinator": 200, "auditor": 403,
                           "admin": 403},
    "/matching/runs/{rid}": {"A": 403, "D": 403, "coordinator": 200, "auditor": 200,
                             "admin": 200},
    "/matching/runs/{rid}/input.json": {"A": 403, "D": 403, "coordinator": 200,
                                        "auditor": 200, "admin": 200},
    "/notifications": {"A": 200, "D": 200, "coordinator": 200, "auditor": 200, "admin": 200},
}


def test_page_matrix(market, cycle, app, login):
    run = MatchingRun(status="completed", settings={}, market_input={"listings": []})
    db.session.add(run)
    db.session.commit()
    ids = {"pid": cycle.id, "rid": run.id}
    for template, expected in PAGES.items():
        path = template.format(**ids)
        for who in WHO:
            test_client = app.test_client()
            _as(test_client, login, market, who)
            response = test_client.get(path)
            if who == "anonymous":
                assert response.status_code == 302 and "/login" in response.location, path
            else:
                assert response.status_code == expected[who], (path, who, response.status_code)


def test_run_form_matrix_and_run(market, app, login):
    for who in ("anonymous", "A", "D", "auditor", "admin"):
        test_client = app.test_client()
        _as(test_client, login, market, who)
        response = test_client.post("/matching/runs/new", data={"max_cycle": 2, "time_limit": 5,
                                                               "objective": "lexicographic"})
        assert response.status_code in (302, 403), who
        if who != "anonymous":
            assert response.status_code == 403
    assert db.session.execute(db.select(db.func.count(MatchingRun.id))).scalar_one() == 0
    test_client = app.test_client()
    login(market.coordinator, test_client)
    page = test_client.get("/matching/runs/new")
    assert b'data-testid="market-settings"' in page.data and b'value="3"' in page.data
    response = test_client.post("/matching/runs/new", data={
        "max_cycle": 3, "max_chain": 2, "fairness_threshold": "0.5", "objective": "lexicographic",
        "time_limit": 10})
    assert response.status_code == 302
    run = db.session.execute(db.select(MatchingRun)).scalar_one()
    assert run.settings["max_chain"] == 2 and run.status == "completed"
    detail = test_client.get(response.location)
    assert b"completed" in detail.data and f"#{run.id}".encode() in detail.data
    # Bad settings: the form says which field, nothing is run.
    bad = test_client.post("/matching/runs/new", data={"max_cycle": 9, "time_limit": 10,
                                                        "objective": "lexicographic"})
    assert bad.status_code == 200 and b"between 2 and 6" in bad.data
    assert db.session.execute(db.select(db.func.count(MatchingRun.id))).scalar_one() == 1


def test_proposal_page_shows_picture_legs_fairness_trust_and_trail(market, cycle, client, login):
    login(market.coordinator)
    page = client.get(f"/proposals/{cycle.id}").get_data(as_text=True)
    # Two pictures: the circle for wide screens and a column for phones, which repeats the
    # first organisation at the bottom to close the cycle.
    wide, _, narrow = page.partition('class="drawing-narrow"')
    assert "<svg" in wide and wide.count('class="node"') == 3 and wide.count('class="leg"') == 3
    assert narrow.count('class="node"') == 4 and narrow.count('class="leg') == 3
    assert "back to the start" in narrow
    assert "Staff time: 5 × staff-days" in page
    for name in "ABC":
        assert f"Org {name}" in page
    assert 'data-testid="participants"' in page and "1.000" in page
    assert "Completion rate" in page and "100%" in page
    assert 'data-testid="audit-trail"' in page and "propose" in page
    assert "Approve" in page and "Reject" in page


def test_drawing_escapes_names_and_marks_the_gift(market, propose, client, login, make_org,
                                                  make_listing):
    evil = make_org('<script>alert("x")</script>')
    offer = make_listing(evil, "offer", quantity=4, is_gift=True)
    chain = propose([(offer, market.needs["A"], 4)], kind="chain")
    login(market.coordinator)
    svg = client.get(f"/proposals/{chain.id}/drawing.svg")
    assert svg.mimetype == "image/svg+xml"
    body = svg.get_data(as_text=True)
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert ">gift<" in body and "stroke-dasharray" in body


def test_member_inbox_shows_what_waits_and_by_when(market, cycle, client, login):
    _approve(market, cycle)
    login(market.members["A"])
    page = client.get("/proposals/inbox").get_data(as_text=True)
    assert "Accept or decline" in page and f"#{cycle.id}" in page
    accept_by = reload(Proposal, cycle.id).accept_by.strftime("%d %b %Y")
    assert accept_by in page
    detail = client.get(f"/proposals/{cycle.id}").get_data(as_text=True)
    assert f"/proposals/{cycle.id}/accept" in detail and f"/proposals/{cycle.id}/decline" in detail
    assert f"/proposals/{cycle.id}/approve" not in detail
    for name in "ABC":
        services.accept(market.members[name], cycle.id)
    db.session.commit()
    page = client.get("/proposals/inbox").get_data(as_text=True)
    assert "Confirm receipt" in page
    detail = client.get(f"/proposals/{cycle.id}").get_data(as_text=True)
    assert detail.count("/confirm") == 1  # only the leg A receives


def test_double_click_is_harmless(market, cycle, client, login):
    login(market.coordinator)
    first = client.post(f"/proposals/{cycle.id}/approve", data={})
    second = client.post(f"/proposals/{cycle.id}/approve", data={}, follow_redirects=True)
    assert first.status_code == 302 and second.status_code == 200
    assert b"approved" in second.data
    proposal = reload(Proposal, cycle.id)
    assert proposal.status == ProposalStatus.APPROVED and len(proposal.transitions) == 2
    assert reload(Listing, market.offers["A"].id).reserved == 5


def test_reject_form_requires_a_reason(market, cycle, client, login):
    login(market.coordinator)
    response = client.post(f"/proposals/{cycle.id}/reject", data={"reason": ""},
                           follow_redirects=True)
    assert b"Give a reason" in response.data
    assert reload(Proposal, cycle.id).status == ProposalStatus.PROPOSED


def test_approval_of_an_unsatisfiable_proposal_flashes_and_supersedes(market, cycle, client,
                                                                      login):
    reload(Listing, market.offers["A"].id).status = ListingStatus.WITHDRAWN
    db.session.commit()
    login(market.coordinator)
    response = client.post(f"/proposals/{cycle.id}/approve", data={}, follow_redirects=True)
    assert response.status_code == 200 and b"superseded" in response.data
    assert reload(Proposal, cycle.id).status == ProposalStatus.SUPERSEDED


def test_notifications_page_header_count_and_mark_read(market, cycle, client, login):
    _approve(market, cycle)
    login(market.members["A"])
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="unread-count">1<' in home
    page = client.get("/notifications").get_data(as_text=True)
    assert "waiting for your acceptance" in page
    note = db.session.execute(db.select(Notification).where(
        Notification.user_id == market.members["A"].id)).scalar_one()
    other = market.members["B"]
    login(other)
    assert client.post(f"/notifications/{note.id}/read").status_code == 404
    login(market.members["A"])
    response = client.post(f"/notifications/{note.id}/read", data={"open": "1"})
    assert response.location.endswith(f"/proposals/{cycle.id}")
    assert reload(Notification, note.id).read_at is not None
    assert 'data-testid="unread-count"' not in client.get("/").get_data(as_text=True)


def test_the_header_count_is_kept_until_a_notification_changes(market, cycle, client, login):
    """The unread count is not counted again on every page, but a new notification shows
    on the next page."""
    from sqlalchemy import event

    from app.notifications import services as notes

    login(market.members["A"])
    assert 'data-testid="unread-count"' not in client.get("/market").get_data(as_text=True)
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get("/market")
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert not [s for s in seen if "FROM notifications" in s], seen
    notes.notify([market.members["A"]], "Something happened.")
    db.session.commit()
    assert 'data-testid="unread-count">1<' in client.get("/market").get_data(as_text=True)


def test_start_page_shows_what_is_waiting(market, cycle, client, login):
    login(market.coordinator)
    page = client.get("/").get_data(as_text=True)
    assert 'data-testid="waiting-on-you"' in page and "Review" in page
    _approve(market, cycle)
    login(market.members["B"])
    page = client.get("/").get_data(as_text=True)
    assert "Accept or decline" in page and f"Proposal #{cycle.id}" in page


def test_forms_carry_csrf_protection(market, cycle, client, login, app):
    app.config["WTF_CSRF_ENABLED"] = True
    login(market.coordinator)
    response = client.post(f"/proposals/{cycle.id}/approve", data={})
    assert response.status_code == 400
    assert reload(Proposal, cycle.id).status == ProposalStatus.PROPOSED
    page = client.get(f"/proposals/{cycle.id}").get_data(as_text=True)
    assert 'name="csrf_token"' in page


def test_reads_show_an_overdue_exchange_without_writing_and_the_next_action_expires_it(
        client, login, market, cycle):
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    proposal = db.session.get(Proposal, cycle.id)
    proposal.accept_by = proposal.approved_at - timedelta(seconds=1)
    db.session.commit()
    login(market.members["A"])
    inbox = client.get("/proposals/inbox").get_data(as_text=True)
    page = client.get(f"/proposals/{cycle.id}").get_data(as_text=True)
    assert 'data-testid="deadline-passed"' in page
    db.session.expire_all()
    assert db.session.get(Proposal, cycle.id).status == ProposalStatus.APPROVED  # GETs never write
    assert "Accept or decline" not in inbox  # nothing overdue is offered as waiting
    client.post(f"/proposals/{cycle.id}/accept", data={"reason": ""})
    db.session.expire_all()
    assert db.session.get(Proposal, cycle.id).status == ProposalStatus.EXPIRED


def test_run_page_states_the_result_in_plain_words(market, app, login):
    """Proven optimal, or how far from the best possible; solver terms under details."""
    runs = {
        "optimal": MatchingRun(status="completed", settings={}, market_input={"listings": []},
                               optimal=True, objective=15, bound=15, solver_status="optimal",
                               stats={}),
        "gap": MatchingRun(status="completed", settings={}, market_input={"listings": []},
                           optimal=False, objective=95, bound=100, solver_status="time_limit",
                           stats={}),
        "reported": MatchingRun(status="completed", settings={}, market_input={"listings": []},
                                optimal=False, objective=995, bound=1000,
                                solver_status="time_limit", stats={"gap_percent": 0.3}),
        "unknown": MatchingRun(status="completed", settings={}, market_input={"listings": []},
                               optimal=False, objective=12, bound=None, solver_status="fallback",
                               stats={}),
    }
    db.session.add_all(runs.values())
    db.session.commit()
    client = login(market.coordinator, app.test_client())
    pages = {name: client.get(f"/matching/runs/{run.id}").get_data(as_text=True)
             for name, run in runs.items()}
    assert "Proven optimal" in pages["optimal"]
    assert "Within 5.0 % of the best possible" in pages["gap"]
    assert "Within 0.3 % of the best possible" in pages["reported"]  # the engine's own gap
    assert "is not known" in pages["unknown"]
    for page in pages.values():
        assert "Technical details" in page and "solver status" in page
    assert runs["gap"].gap_percent == 5.0 and runs["optimal"].gap_percent == 0.0
