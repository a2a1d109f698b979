"""The previous (enumeration) market method, kept for the benchmark's comparison only.

These tests moved here unchanged from test_engine_market.py when ``solve()`` switched to column
generation: they check the legacy method's candidate cap and its honest reporting.
"""

from __future__ import annotations

from matching_engine.legacy_market import solve_legacy

from .strategies import check_market_result
from .test_engine_market import offer, ring_market


def solved(doc: dict, **kwargs) -> dict:
    result = solve_legacy(doc, **kwargs)
    settings = doc.get("settings") or {}
    check_market_result(doc, result, kwargs.get("max_cycle") or settings.get("max_cycle", 3),
                        kwargs.get("max_chain") or settings.get("max_chain", 3))
    return result


def test_a_truncated_enumeration_still_returns_a_valid_packing_and_says_it_is_not_proven(
        monkeypatch):
    from matching_engine import exchanges

    full = solved(ring_market(8))
    assert full["optimal"] and not full["stats"]["enumeration_truncated"]
    monkeypatch.setattr(exchanges, "MAX_CANDIDATES", 20)
    cut = solved(ring_market(8))
    stats = cut["stats"]
    assert stats["enumeration_truncated"] and stats["candidate_exchanges"] == 20
    assert cut["status"] == "time_limit" and cut["optimal"] is False
    assert cut["exchanges"] and cut["objective"] <= full["objective"] <= cut["bound"]


def test_every_gift_keeps_its_shortest_chains_when_chains_are_cut(monkeypatch):
    from matching_engine import exchanges
    from matching_engine.market import build_arcs, parse_market

    # Two gifts into a ring where everyone needs what everyone offers: chains multiply.
    doc = ring_market(7)
    doc["settings"]["max_chain"] = 3
    doc["listings"] += [offer("g1", "O0", quantity=10, gift=True),
                        offer("g2", "O1", quantity=10, gift=True)]
    parsed = parse_market(doc)
    arcs = build_arcs(parsed)
    whole = exchanges.enumerate_candidates(parsed, arcs, 3, 3, float("inf"))
    assert not whole.truncated and solved(doc)["optimal"]
    monkeypatch.setattr(exchanges, "MAX_CANDIDATES", len(whole.cycles) + 30)
    cut = exchanges.enumerate_candidates(parsed, arcs, 3, 3, float("inf"))
    assert cut.truncated and cut.cycles == whole.cycles and len(cut.chains) <= 30
    for gift in ("g1", "g2"):
        one_transfer = {c for c in whole.chains if len(c) == 1 and arcs[c[0]].offer == gift}
        assert one_transfer and one_transfer <= set(cut.chains)
    assert solved(doc)["optimal"] is False  # checked valid by ``solved``
