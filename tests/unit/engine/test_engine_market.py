"""Market documents: the compatibility rule, capacities, fairness, declines, the objective."""

from __future__ import annotations

import copy

import pytest

from matching_engine import InputError, solve

from .strategies import check_market_result


def org(oid: str, **extra) -> dict:
    return {"id": oid, "name": f"Org {oid}", **extra}


def offer(lid: str, owner: str, quantity: float = 5, **extra) -> dict:
    return {"id": lid, "organisation": owner, "kind": "offer", "currency": "staff",
            "category": "nurse", "quantity": quantity, **extra}


def need(lid: str, owner: str, quantity: float = 5, **extra) -> dict:
    return {"id": lid, "organisation": owner, "kind": "need", "currency": "staff",
            "category": "nurse", "quantity": quantity, **extra}


def market(orgs: list[dict], listings: list[dict], **settings) -> dict:
    return {"organisations": orgs,
            "currencies": [{"code": "staff", "value": 350.0}, {"code": "jobs", "value": 100.0}],
            "listings": listings, "settings": settings}


def reciprocal(**changes) -> dict:
    """A and B each offer what the other needs: one 2-cycle. ``changes`` edit B's need."""
    b_need = need("21", "B")
    b_need.update(changes)
    return market([org("A"), org("B")], [offer("11", "A"), need("12", "A"), offer("22", "B"),
                                         b_need])


def solved(doc: dict, **kwargs) -> dict:
    result = solve(doc, **kwargs)
    settings = doc.get("settings") or {}
    check_market_result(doc, result, kwargs.get("max_cycle") or settings.get("max_cycle", 3),
                        kwargs.get("max_chain") or settings.get("max_chain", 3))
    return result


# --------------------------------------------------------------------------- compatibility


def test_reciprocal_pair_is_matched_with_full_explanation():
    result = solved(reciprocal())
    assert result["mode"] == "market" and result["status"] == "optimal" and result["optimal"]
    assert result["objective"] == 2 and result["bound"] == 2
    (ex,) = result["exchanges"]
    assert ex["kind"] == "cycle" and ex["nodes"] == ["A", "B"]
    assert ex["signature"] == [["11", "21"], ["22", "12"]]
    assert ex["legs"][0] == {"from": "A", "to": "B", "offer": "11", "need": "21",
                             "currency": "staff", "quantity": 5, "value": 1750.0}
    assert ex["participants"]["A"] == {"given": 1750.0, "received": 1750.0, "fairness": 1.0}
    assert ex["fairness"] == 1.0 and ex["expected_completion"] == 1.0
    stats = result["stats"]
    assert stats["nodes"] == 2 and stats["arcs"] == 2 and stats["candidate_exchanges"] == 1
    assert {"parse", "build", "enumerate", "solve", "total"} <= set(stats["phases"])
    assert stats["peak_memory_mb"] > 0


@pytest.mark.parametrize(
    "changes",
    [
        {"currency": "jobs"},  # different currency
        {"category": "porter"},  # a named category that differs
        {"tags": ["dbs-checked"]},  # the offer lacks the tag
        {"available_until": "2025-12-31", "available_from": "2025-01-01"},  # ends too early...
        {"areas": ["south"]},  # ...no shared area (the offer is in the north)
        {"quantity": 6},  # the offer (5) cannot cover the need in full
        {"quantity": 8, "min_quantity": 6},  # nor its minimum
        {"organisation": "A"},  # an organisation cannot trade with itself
    ],
)
def test_each_compatibility_rule_can_forbid_the_exchange(changes):
    doc = reciprocal(**changes)
    doc["listings"][0].update(areas=["north"], available_from="2026-01-01")
    assert solved(doc)["exchanges"] == []


@pytest.mark.parametrize(
    "changes",
    [
        {"category": None},  # a need without category takes any
        {"areas": ["south"], "remote": True},  # remote matches every area
        {"quantity": 8, "min_quantity": 4},  # a minimum the offer covers: the leg moves 5
        {"available_from": "2026-06-01", "available_until": "2026-06-30"},  # inside the window
    ],
)
def test_compatible_variants_still_match(changes):
    doc = reciprocal(**changes)
    doc["listings"][0].update(areas=["north"], available_from="2026-01-01")
    result = solved(doc)
    assert len(result["exchanges"]) == 1
    leg = result["exchanges"][0]["legs"][0]
    assert leg["quantity"] == 5  # min(offer 5, need)


def test_organisation_areas_apply_when_the_listing_has_none():
    doc = reciprocal()
    doc["organisations"][0]["areas"] = ["north"]
    doc["organisations"][1]["areas"] = ["south"]
    assert solved(doc)["exchanges"] == []
    doc["listings"][3]["remote"] = True  # B's need is remote: A's offer reaches it
    doc["listings"][1]["remote"] = True
    assert len(solved(doc)["exchanges"]) == 1


@pytest.mark.parametrize("who", [0, 1])
def test_exclusion_by_either_side_forbids_the_arc(who):
    doc = reciprocal()
    doc["organisations"][who]["excludes"] = ["B" if who == 0 else "A"]
    assert solved(doc)["exchanges"] == []


# --------------------------------------------------------------------------- capacities


def hub_market(a_offer_quantity: float) -> dict:
    """A offers nurses to both B and C (3 each) and needs what each of them offers."""
    return market(
        [org("A"), org("B"), org("C")],
        [offer("A1", "A", a_offer_quantity), need("A2", "A", 3, currency="jobs", category=None),
         need("A3", "A", 3, currency="jobs", category=None),
         need("B1", "B", 3), offer("B2", "B", 3, currency="jobs", category="x"),
         need("C1", "C", 3), offer("C2", "C", 3, currency="jobs", category="x")],
        fairness_threshold=0.0,
    )


def test_an_offer_serves_several_needs_in_different_exchanges_when_its_quantity_allows():
    result = solved(hub_market(6))
    assert [ex["nodes"] for ex in result["exchanges"]] == [["A", "B"], ["A", "C"]]
    uses = [leg["offer"] for ex in result["exchanges"] for leg in ex["legs"]]
    assert uses.count("A1") == 2


def test_an_offer_never_gives_more_than_its_quantity():
    result = solved(hub_market(5))
    assert len(result["exchanges"]) == 1  # 3 + 3 > 5
    assert result["objective"] == 2


def test_nobody_appears_twice_in_one_exchange():
    # A-B and A-C are both possible, and a 4-cycle A->B->A->C->A would need A twice.
    result = solved(hub_market(6), max_cycle=4)
    for ex in result["exchanges"]:
        assert len(set(ex["nodes"])) == len(ex["nodes"])


# --------------------------------------------------------------------------- fairness, gifts


def test_fairness_threshold_applies_to_cycles():
    doc = reciprocal(quantity=1)  # A gives 1 unit (350), receives 5 units (1750): 0.2
    doc["listings"][0]["quantity"] = 1
    doc["settings"]["fairness_threshold"] = 0.5
    assert solved(doc)["exchanges"] == []
    doc["settings"]["fairness_threshold"] = 0.2
    (ex,) = solved(doc)["exchanges"]
    assert ex["fairness"] == pytest.approx(0.2)


def gift_market(threshold: float) -> dict:
    """G gifts 5 nurses to B; B can pass on 1 job unit to C (value 100 vs 1750 received)."""
    return market(
        [org("G"), org("B"), org("C")],
        [offer("G1", "G", 5, gift=True), need("B1", "B", 5),
         offer("B2", "B", 1, currency="jobs", category=None),
         need("C1", "C", 1, currency="jobs", category=None)],
        fairness_threshold=threshold, max_chain=3,
    )


def test_gift_chain_giver_and_last_receiver_are_exempt_from_fairness():
    result = solved(gift_market(0.5))
    (ex,) = result["exchanges"]
    assert ex["kind"] == "chain" and ex["nodes"] == ["G", "B"]  # B would be unfair in G->B->C
    assert ex["participants"]["G"]["fairness"] is None
    assert ex["participants"]["B"]["fairness"] is None
    assert ex["fairness"] is None


def test_chain_middles_must_be_fair():
    result = solved(gift_market(0.05))
    (ex,) = result["exchanges"]
    assert ex["nodes"] == ["G", "B", "C"] and len(ex["legs"]) == 2
    assert ex["legs"][0]["offer"] == "G1"  # the first leg is the gift
    assert ex["participants"]["B"]["fairness"] == pytest.approx(100 / 1750, abs=1e-4)
    assert ex["participants"]["C"]["fairness"] is None


def test_gift_offers_only_start_chains_and_max_chain_zero_disables_them():
    doc = gift_market(0.0)
    doc["listings"].append(need("G2", "G", 1, currency="jobs", category=None))
    result = solved(doc)
    assert all(ex["kind"] == "chain" for ex in result["exchanges"])
    assert solved(doc, max_chain=0)["exchanges"] == []


# --------------------------------------------------------------------------- declined


def test_declined_signatures_are_never_returned_whatever_their_rotation():
    doc = reciprocal()
    doc["settings"]["declined"] = [[["22", "12"], ["11", "21"]]]
    result = solved(doc)
    assert result["exchanges"] == []
    assert result["status"] == "optimal"


def test_declining_one_exchange_leaves_the_alternatives():
    doc = hub_market(6)
    doc["settings"]["declined"] = [[["A1", "B1"], ["B2", "A2"]]]
    result = solved(doc)
    sigs = [ex["signature"] for ex in result["exchanges"]]
    assert [["A1", "B1"], ["B2", "A2"]] not in sigs
    assert [["A1", "B1"], ["B2", "A3"]] in sigs  # same organisations, other listing: allowed


# --------------------------------------------------------------------------- objective


def three_vs_two() -> dict:
    """A's offer can go to B (2-cycle A<->B worth 2 x 1750) or into the 3-cycle A->C->D->A
    (3 needs, lower value). Needs come first: the 3-cycle wins."""
    return market(
        [org("A"), org("B"), org("C"), org("D")],
        [offer("A1", "A", 5), need("A2", "A", 5, category=None), need("A3", "A", 1, category=None),
         need("B1", "B", 5), offer("B2", "B", 5, category="x"),
         need("C1", "C", 1), offer("C2", "C", 1, category="y"),
         need("D1", "D", 1, category="y"), offer("D2", "D", 1, category="z")],
        fairness_threshold=0.0,
    )


def test_lexicographic_needs_before_value():
    doc = three_vs_two()
    doc["listings"][0]["quantity"] = 5
    result = solved(doc)
    assert result["objectives"]["needs"] == 3
    assert [ex["nodes"] for ex in result["exchanges"]] == [["A", "C", "D"]]


def test_weighted_mode_can_prefer_value():
    doc = three_vs_two()
    doc["settings"].update(objective="weighted", weights={"needs": 0.0, "value": 1.0})
    result = solved(doc)
    assert [ex["nodes"] for ex in result["exchanges"]] == [["A", "B"]]
    assert result["objective"] == pytest.approx(3500.0)
    assert result["objective_kind"] == "weighted"


def test_value_breaks_ties_between_equal_needs():
    doc = market([org("A"), org("B"), org("C")],
                 [offer("A1", "A", 5), need("A2", "A", 1, category=None),
                  need("B1", "B", 5), offer("B2", "B", 1, currency="jobs", category="j"),
                  need("C1", "C", 5), offer("C2", "C", 1, category="n")],
                 fairness_threshold=0.0)
    result = solved(doc)
    # Both B and C can trade with A (2 needs each); C gives staff (350) not jobs (100).
    assert [ex["nodes"] for ex in result["exchanges"]] == [["A", "C"]]
    assert result["objectives"]["value"] == pytest.approx(1750 + 350)


def test_fewer_parties_break_ties_between_equal_needs_and_value():
    # A<->B and C<->D (two 2-cycles) or A->B->C->D->A (one 4-cycle): same legs, same value.
    orgs = [org(x) for x in "ABCD"]
    listings = []
    for i, (giver, taker) in enumerate(["AB", "BA", "CD", "DC", "BC", "DA"]):
        listings.append(offer(f"o{i}", giver, 1, category=f"c{i}"))
        listings.append(need(f"n{i}", taker, 1, category=f"c{i}"))
    # B's and D's second offers only fit the 4-cycle; each listing can be used once.
    doc = market(orgs, listings, fairness_threshold=0.0, max_cycle=4)
    result = solved(doc)
    assert result["objectives"]["needs"] == 4
    assert sorted(len(ex["nodes"]) for ex in result["exchanges"]) == [2, 2]


def test_completion_rates_break_the_last_tie():
    # B and C each trade with A (but not with each other) in equal 2-cycles; C is more
    # likely to complete.
    doc = market([org("A"), org("B", completion_rate=0.5), org("C", completion_rate=0.9)],
                 [offer("A1", "A", 5), need("A2", "A", 5, category=None),
                  need("B1", "B", 5), offer("B2", "B", 5, category="x"),
                  need("C1", "C", 5), offer("C2", "C", 5, category="x")])
    (ex,) = solved(doc)["exchanges"]
    assert ex["nodes"] == ["A", "C"] and ex["expected_completion"] == 0.9


def test_deterministic_and_independent_of_listing_order():
    doc = hub_market(6)
    first = solve(copy.deepcopy(doc))
    doc["listings"].reverse()
    doc["organisations"].reverse()
    second = solve(doc)
    for result in (first, second):
        result.pop("stats")
    assert first == second


# --------------------------------------------------------------------------- bad documents


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["listings"][0].update(organisation="Z"), "unknown organisation 'Z'"),
        (lambda d: d["listings"][0].update(currency="gold"), "unknown currency 'gold'"),
        (lambda d: d["listings"].append(dict(d["listings"][0])), "duplicate id '11'"),
        (lambda d: d["organisations"].append(org("A")), "duplicate id 'A'"),
        (lambda d: d["listings"][1].update(gift=True), "only offers can be gifts"),
        (lambda d: d["listings"][1].update(min_quantity=9), "exceeds its quantity"),
        (lambda d: d["listings"][0].update(quantity=-1), "quantity must be >"),
        (lambda d: d["listings"][0].update(quantity=True), "quantity must be a number"),
        (lambda d: d["listings"][0].update(quantity=10**9), "quantity must be <="),
        (lambda d: d["listings"][0].update(kind="swap"), "kind must be"),
        (lambda d: d["listings"][0].update(available_from="01/02/2026"), "ISO date"),
        (lambda d: d["listings"][0].update(available_from="2026-05-01",
                                           available_until="2026-04-01"), "after"),
        (lambda d: d["listings"][0].update(colour="red"), "unknown field(s) colour"),
        (lambda d: d["listings"][0].update(id=12), "non-empty string id"),
        (lambda d: d["currencies"][0].update(value=0), "value must be >"),
        (lambda d: d["organisations"][0].update(completion_rate=1.5), "completion_rate"),
        (lambda d: d.update(settings={"max_cycle": 7}), "max_cycle must be between 2 and 6"),
        (lambda d: d.update(settings={"max_chain": -1}), "max_chain must be between 0 and 10"),
        (lambda d: d.update(settings={"fairness_threshold": 2}), "fairness_threshold"),
        (lambda d: d.update(settings={"objective": "best"}), "objective must be one of"),
        (lambda d: d.update(settings={"weights": {"speed": 1}}), "unknown field(s) speed"),
        (lambda d: d.update(settings={"time_limit": 0}), "time_limit must be >"),
        (lambda d: d.update(settings={"declined": [[["11"]]]}), "pair"),
        (lambda d: d.update(extra=1), "unknown field(s) extra"),
        (lambda d: d.pop("currencies"), "missing field currencies"),
    ],
)
def test_malformed_market_documents_raise_input_error_naming_the_problem(mutate, message):
    doc = reciprocal()
    mutate(doc)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        solve(doc)


def test_keyword_overrides_are_validated_and_applied():
    with pytest.raises(InputError, match="max_cycle"):
        solve(reciprocal(), max_cycle=1)
    with pytest.raises(InputError, match="time_limit"):
        solve(reciprocal(), time_limit=-5)
    result = solve(hub_market(6), max_cycle=2, max_chain=0, time_limit=5)
    assert result["stats"]["max_cycle"] == 2 and result["stats"]["max_chain"] == 0


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)
    with pytest.raises(ValueError, match="neither"):
        solve({"organisations": []})
    with pytest.raises(InputError, match="both"):
        solve({"listings": [], "arcs": []})
    with pytest.raises(InputError, match="object"):
        solve([])  # type: ignore[arg-type]


def test_exchange_graph_is_a_networkx_multigraph_of_compatible_pairs():
    from matching_engine.market import exchange_graph, parse_market

    graph = exchange_graph(parse_market(hub_market(6)))
    assert set(graph.nodes) == {"A", "B", "C"}
    assert graph.number_of_edges() == 6  # A1 to B and C; B2 and C2 to A2 and A3
    data = graph.get_edge_data("A", "B")[("A1", "B1")]
    assert data["quantity"] == 3 and data["value"] == 1050.0 and data["gift"] is False
    assert set(graph.get_edge_data("B", "A")) == {("B2", "A2"), ("B2", "A3")}


# --------------------------------------------------------------------------- large markets


def ring_market(size: int) -> dict:
    """Every organisation offers what every other needs: many candidate exchanges."""
    orgs = [org(f"O{i}") for i in range(size)]
    listings = []
    for i in range(size):
        listings += [offer(f"{i}1", f"O{i}", quantity=10), need(f"{i}2", f"O{i}", quantity=10,
                                                                min_quantity=5)]
    return market(orgs, listings, max_cycle=3, max_chain=0)


def test_the_solver_has_no_candidate_cap_and_reports_its_parts(monkeypatch):
    """The enumeration cap belongs to the legacy method only (test_engine_legacy.py)."""
    from matching_engine import exchanges

    full = solved(ring_market(8))
    monkeypatch.setattr(exchanges, "MAX_CANDIDATES", 20)
    again = solved(ring_market(8))
    assert full["optimal"] and again["optimal"] and again["objective"] == full["objective"]
    stats = again["stats"]
    assert stats["enumeration_truncated"] is False and stats["timed_out_phase"] is None
    assert stats["parts"]["count"] == 1 and stats["parts"]["sizes"] == [8]
    assert again["gap_percent"] == 0.0
