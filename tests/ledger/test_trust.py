"""Trust figures: definitions on a small, hand-checked history."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.extensions import db
from app.ledger import services
from app.proposals.models import ProposalStatus
from app.reporting import trust


@pytest.fixture
def history(make_exchange, make_org, coordinator):
    a, b, c, d = (make_org(name) for name in ("Alpha", "Beta", "Gamma", "Delta"))
    make_exchange([a, b, c], quantity=2, unit_value="100.00")   # 3-cycle, completed
    make_exchange([a, b], quantity=1, unit_value="50.00")       # pair, completed
    make_exchange([a, c], status=ProposalStatus.CANCELLED)      # agreed, then cancelled
    make_exchange([a, d], status=ProposalStatus.DECLINED)       # Alpha declined it
    make_exchange([b, d], status=ProposalStatus.EXPIRED)        # agreed, then expired
    return {"a": a, "b": b, "c": c, "d": d, "coordinator": coordinator}


def test_organisation_figures(history):
    a = trust.organisation_trust(history["a"])
    assert a.exchanges_completed == 2 and a.distinct_partners == 2
    assert [(p.name, p.exchanges) for p in a.partners] == [("Beta", 2), ("Gamma", 1)]
    assert (a.agreed, a.completed) == (3, 2)  # the declined one never reached agreed
    assert a.completion_rate == pytest.approx((2 + 1) / (3 + 1))
    assert a.completion_share == pytest.approx(2 / 3)
    assert (a.declines, a.cancellations, a.expiries) == (1, 1, 0)
    assert a.value_given == {"staff": Decimal("250.00")}
    assert a.value_received == {"staff": Decimal("250.00")}  # from Gamma 200, from Beta 50
    assert a.reciprocity_balance == 0 and a.reciprocity == 1.0
    assert a.last_exchange is not None
    d = trust.organisation_trust(history["d"])
    assert (d.exchanges_completed, d.agreed, d.completion_rate, d.expiries) == (0, 1, 0.5, 1)


def test_completion_rates_history_and_figures_agree(history):
    ids = [history[k].id for k in "abcd"]
    rates = trust.completion_rates(ids)
    summary = trust.history_for(ids)
    for key in "abcd":
        org = history[key]
        figures = trust.organisation_trust(org)
        assert rates[org.id] == figures.completion_rate == summary[org.id].completion_rate
        assert summary[org.id].exchanges_completed == figures.exchanges_completed
    a, b, c = (history[k].id for k in "abc")
    assert summary[a].together == {b: 2, c: 1, history["d"].id: 0}
    assert trust.completion_rates([]) == {}
    assert trust.completion_rates([999_999]) == {999_999: 1.0}  # no history: benefit of doubt


def test_pairs_count_exchanges_completed_together(history):
    pairs = {(p.a_name, p.b_name): p for p in trust.pair_figures()}
    assert {k: p.exchanges for k, p in pairs.items()} == {
        ("Alpha", "Beta"): 2, ("Alpha", "Gamma"): 1, ("Beta", "Gamma"): 1}
    ab = pairs[("Alpha", "Beta")]
    assert (ab.value_a_to_b, ab.value_b_to_a) == (Decimal("250.00"), Decimal("50.00"))
    ag = pairs[("Alpha", "Gamma")]  # in the cycle only Gamma gives Alpha directly
    assert (ag.value_a_to_b, ag.value_b_to_a) == (Decimal("0.00"), Decimal("200.00"))
    only_gamma = trust.pair_figures(history["c"].id)
    assert {(p.a_name, p.b_name) for p in only_gamma} == {("Alpha", "Gamma"), ("Beta", "Gamma")}


def test_reversals_net_out_values_but_not_the_exchange(history):
    services.reverse_entry(history["coordinator"], 1, "never delivered")  # Alpha → Beta
    db.session.commit()
    a = trust.organisation_trust(history["a"])
    assert a.value_given == {"staff": Decimal("50.00")}
    assert a.entries_reversed == 1 and a.exchanges_completed == 2
    assert a.reciprocity_balance == Decimal("-200.00")  # now received more than given


def test_network_nodes_and_edges(history):
    network = trust.network()
    assert sorted(name for _, name, _ in network.nodes) == ["Alpha", "Beta", "Gamma"]
    assert len(network.edges) == 3


def test_pairs_and_partners_are_only_organisations_that_gave_each_other(
        make_exchange, make_org, client, login, api_headers, auditor):
    first, middle, last = (make_org(name) for name in ("First", "Middle", "Last"))
    make_exchange([first, middle, last], chain=True)   # First → Middle → Last
    pairs = {(p.a_name, p.b_name): p.exchanges for p in trust.pair_figures()}
    assert {frozenset(pair): n for pair, n in pairs.items()} == {
        frozenset(("First", "Middle")): 1, frozenset(("Middle", "Last")): 1}
    assert [p.name for p in trust.organisation_trust(first).partners] == ["Middle"]
    assert trust.organisation_trust(first).distinct_partners == 1
    assert trust.organisation_trust(middle).distinct_partners == 2
    assert trust.history_for([first.id, last.id])[first.id].together == {last.id: 0}
    assert len(trust.network().edges) == 2
    assert all(p.value_a_to_b + p.value_b_to_a > 0 for p in trust.pair_figures())
    body = client.get("/api/v1/trust/pairs", headers=api_headers(auditor)).get_json()
    assert {frozenset((p["organisation_a"], p["organisation_b"])) for p in body["items"]} == {
        frozenset(("First", "Middle")), frozenset(("Middle", "Last"))}
    login(auditor)
    page = client.get(f"/trust/organisations/{first.id}").data.decode()
    partners = page.split("<h2>Partners</h2>")[1].split("</table>")[0]
    assert "Middle" in partners and "Last" not in partners
