"""Markets where exchanges compete for the same listings' quantities (gifts starting several
chains, offers serving several needs), checked against the independent brute force."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings

from matching_engine import solve

from .bruteforce import market_optimum
from .strategies import check_market_result, shared_market_documents

SHARED = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def listing_uses(result: dict) -> dict[str, int]:
    uses: dict[str, int] = {}
    for ex in result["exchanges"]:
        for leg in ex["legs"]:
            for lid in (leg["offer"], leg["need"]):
                uses[lid] = uses.get(lid, 0) + 1
    return uses


@SHARED
@given(shared_market_documents())
def test_shared_listings_same_optimum_as_brute_force(doc):
    L, K = doc["settings"]["max_cycle"], doc["settings"]["max_chain"]
    result = solve(doc)
    check_market_result(doc, result, L, K)
    assert result["status"] == "optimal" and result["gap_percent"] == 0.0
    best, _ = market_optimum(doc, L, K)
    levels = result["objectives"]
    if doc["settings"].get("objective") == "weighted":
        assert math.isclose(levels["weighted"], best[0], rel_tol=1e-6, abs_tol=1e-6)
    else:
        got = (levels["needs"], levels["value"], -levels["parties"], levels["completion"])
        for ours, theirs in zip(got, best, strict=True):
            assert math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-4), (got, best)


def test_a_gift_starts_two_chains():
    """G's gift (6 units) reaches B's and E's needs (3 each), and each of them can pass a leg
    on: the optimum is two chains from the same gift (4 needs met)."""
    orgs = [{"id": x, "name": x} for x in "GBCDE"]
    listings = [
        {"id": "g", "organisation": "G", "kind": "offer", "currency": "staff",
         "category": "n", "quantity": 6, "gift": True},
        {"id": "b-in1", "organisation": "B", "kind": "need", "currency": "staff",
         "category": "n", "quantity": 3},
        {"id": "e-in", "organisation": "E", "kind": "need", "currency": "staff",
         "category": "n", "quantity": 3},
        {"id": "b-out", "organisation": "B", "kind": "offer", "currency": "staff",
         "category": "m", "quantity": 6},
        {"id": "c-in", "organisation": "C", "kind": "need", "currency": "staff",
         "category": "m", "quantity": 3},
        {"id": "e-out", "organisation": "E", "kind": "offer", "currency": "staff",
         "category": "m", "quantity": 3},
        {"id": "d-in", "organisation": "D", "kind": "need", "currency": "staff",
         "category": "m", "quantity": 3},
    ]
    doc = {"organisations": orgs, "currencies": [{"code": "staff", "value": 100.0}],
           "listings": listings, "settings": {"max_chain": 2, "fairness_threshold": 0.5}}
    result = solve(doc)
    check_market_result(doc, result, 3, 2)
    assert result["optimal"] and result["objective"] == 4
    uses = listing_uses(result)
    assert uses["g"] == 2
    assert math.isclose(market_optimum(doc, 3, 2)[0][0], 4)
