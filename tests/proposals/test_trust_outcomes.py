"""The completion rate counts settled outcomes only, through the real lifecycle:
accepting never moves it, a cancellation or expiry after agreeing lowers it, a
completion raises it, and the matcher's input carries the same figure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.clock import utcnow
from app.extensions import db
from app.matching import services as matching
from app.matching.snapshot import build_market_document
from app.proposals import services
from app.reporting import trust


def rates(market) -> dict[str, float]:
    ids = {name: market.orgs[name].id for name in "ABC"}
    figures = trust.completion_rates(ids.values())
    return {name: figures[org_id] for name, org_id in ids.items()}


def figures(market, name: str) -> trust.OrganisationTrust:
    return trust.organisation_trust(market.orgs[name])


def agree(market, proposal_id: int) -> None:
    services.approve(market.coordinator, proposal_id)
    db.session.commit()
    for name in "ABC":
        services.accept(market.members[name], proposal_id)
        db.session.commit()


def complete(market, proposal) -> None:
    for leg in proposal.legs:
        receiver = next(m for m in market.members.values()
                        if m.organisation_id == leg.receiver_id)
        services.confirm_leg(receiver, proposal.id, leg.id)
        db.session.commit()


def a_cycle(market, propose, quantity: int):
    return propose([(market.offers["A"], market.needs["B"], quantity),
                    (market.offers["B"], market.needs["C"], quantity),
                    (market.offers["C"], market.needs["A"], quantity)])


def test_accepting_does_not_move_the_rate_and_outcomes_do(market, cycle, propose):
    assert rates(market) == {"A": 1.0, "B": 1.0, "C": 1.0}
    # Agreed, then cancelled: a settled failure lowers the rate.
    agree(market, cycle.id)
    a = figures(market, "A")
    assert (a.agreed, a.settled, a.in_progress, a.completion_rate) == (1, 0, 1, 1.0)
    services.cancel(market.coordinator, cycle.id, "stalled")
    db.session.commit()
    a = figures(market, "A")
    assert (a.agreed, a.settled, a.in_progress, a.completed) == (1, 1, 0, 0)
    assert a.completion_rate == pytest.approx(1 / 2) and a.completion_share == 0.0
    assert rates(market) == pytest.approx({"A": 0.5, "B": 0.5, "C": 0.5})

    # A second exchange: approving and every accept leave the rate where it was.
    second = a_cycle(market, propose, 3)
    services.approve(market.coordinator, second.id)
    db.session.commit()
    for name in "ABC":
        services.accept(market.members[name], second.id)
        db.session.commit()
        assert rates(market)["A"] == pytest.approx(0.5), f"accept by {name} moved it"
    a = figures(market, "A")
    assert (a.agreed, a.settled, a.in_progress) == (2, 1, 1)

    # Completing it raises the rate: (1 + 1) / (2 + 1).
    complete(market, db.session.get(type(second), second.id))
    a = figures(market, "A")
    assert (a.agreed, a.settled, a.in_progress, a.completed) == (2, 2, 0, 1)
    assert a.completion_rate == pytest.approx(2 / 3)
    assert a.completion_share == pytest.approx(1 / 2)


def test_expiry_after_agreeing_lowers_the_rate_and_one_before_does_not(market, cycle, propose):
    agree(market, cycle.id)
    later = utcnow() + timedelta(days=400)
    assert services.expire_due(now=later) == [cycle.id]
    db.session.commit()
    assert rates(market) == pytest.approx({"A": 0.5, "B": 0.5, "C": 0.5})
    assert figures(market, "B").expiries == 1
    # Expired while waiting for acceptance: never agreed, so not in the rate.
    second = a_cycle(market, propose, 2)
    services.approve(market.coordinator, second.id)
    db.session.commit()
    services.accept(market.members["A"], second.id)
    db.session.commit()
    assert services.expire_due(now=later) == [second.id]
    db.session.commit()
    assert rates(market) == pytest.approx({"A": 0.5, "B": 0.5, "C": 0.5})
    assert (figures(market, "A").agreed, figures(market, "A").expiries) == (1, 2)


def test_decline_is_counted_apart_from_the_rate(market, cycle):
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    services.decline(market.members["B"], cycle.id, "no capacity")
    db.session.commit()
    assert rates(market) == {"A": 1.0, "B": 1.0, "C": 1.0}
    assert figures(market, "B").declines == 1


def test_the_engine_input_uses_the_settled_figure(market, cycle, propose):
    agree(market, cycle.id)
    services.cancel(market.coordinator, cycle.id, "stalled")
    db.session.commit()
    second = a_cycle(market, propose, 3)
    agree(market, second.id)  # in progress: must not count
    document = build_market_document(matching.effective_settings())
    by_id = {org["id"]: org["completion_rate"] for org in document["organisations"]}
    for name in "ABC":
        org_id = market.orgs[name].id
        assert by_id[str(org_id)] == pytest.approx(0.5)
        assert by_id[str(org_id)] == pytest.approx(trust.completion_rates([org_id])[org_id])
    # The old definition (completed + 1) / (agreed + 1) would have said 1/3.
    assert figures(market, "A").agreed == 2


def test_api_trust_reports_settled_and_in_progress(client, api_headers, market, cycle):
    agree(market, cycle.id)
    body = client.get(f"/api/v1/trust/organisations/{market.orgs['B'].id}",
                      headers=api_headers(market.members["A"])).get_json()
    assert body["scope"] == "public"
    assert (body["agreed"], body["settled"], body["in_progress"]) == (1, 0, 1)
    assert body["completion_rate"] == 1.0
