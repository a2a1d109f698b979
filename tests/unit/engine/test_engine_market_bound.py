"""The packing bound of a pricing round (``market_bound``): never below the true optimum, with
pricing complete or cut short, and sharper than summing the positive reduced costs."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching_engine import solve

from .strategies import check_market_result, market_documents
from .test_engine_arcs import random_market


def recorded_bounds(doc: dict, first: str, truncated: bool, time_limit: float | None = None
                    ) -> tuple[dict, list[float]]:
    """Solve ``doc`` recording every round's packing bound of the first stage (computed even
    when it cannot beat the best so far); with ``truncated`` the searches return two
    exchanges a round, so the bounds also rest on what they report for those they skipped."""
    from matching_engine import market_master

    seen: list[float] = []
    search, packing_bound = market_master.Master.search, market_master.Master.packing_bound

    def small_search(self, r, kc, kh, wc, threshold, limit, deadline, exact_chains=False):
        if truncated and limit is not None:
            limit = 2
        return search(self, r, kc, kh, wc, threshold, limit, deadline, exact_chains)

    def recording(self, found, pool_rc, best, seconds=None):
        value = packing_bound(self, found, pool_rc, np.inf, seconds)
        if self.objective.name == first:
            seen.append(value)
        return min(value, packing_bound(self, found, pool_rc, best, seconds))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(market_master.Master, "search", small_search)
        mp.setattr(market_master.Master, "packing_bound", recording)
        result = solve(copy.deepcopy(doc)) if time_limit is None else \
            solve(copy.deepcopy(doc), time_limit=time_limit)
    return result, seen


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(market_documents(), st.booleans())
def test_every_packing_bound_is_at_least_the_optimum(doc, truncated):
    from .bruteforce import market_optimum

    L, K = doc["settings"]["max_cycle"], doc["settings"]["max_chain"]
    first = "weighted" if doc["settings"].get("objective") == "weighted" else "needs"
    result, seen = recorded_bounds(doc, first, truncated)
    check_market_result(doc, result, L, K)
    best, _ = market_optimum(doc, L, K)
    for b in seen:
        assert b >= best[0] - 1e-6 * max(1.0, abs(best[0])), (seen, best)
    if result["status"] == "optimal":
        assert result["objective"] == pytest.approx(best[0], rel=1e-6, abs=1e-6)


@pytest.mark.parametrize(("seed", "n_orgs", "n_listings"), [(1, 14, 90), (2, 16, 120)])
def test_packing_bounds_on_larger_markets_stay_above_the_proven_optimum(seed, n_orgs,
                                                                         n_listings):
    # Listings sharing quantities, areas, dates and exclusions: many rounds, many candidates.
    # Pricing in full proves the first stage; cut short (a few seconds), every round's bound
    # must still be at least that optimum.
    doc = random_market(seed, n_orgs, n_listings)
    result, seen = recorded_bounds(doc, "needs", False, time_limit=20)
    check_market_result(doc, result, 3, 3)
    assert result["stats"]["stages"][0]["status"] == "optimal" and seen
    optimum = result["objectives"]["needs"]
    assert all(b >= optimum - 1e-6 for b in seen), (seen, optimum)
    result, seen = recorded_bounds(doc, "needs", True, time_limit=3)
    check_market_result(doc, result, 3, 3)
    assert seen and all(b >= optimum - 1e-6 for b in seen), (seen, optimum)


def test_the_packing_lp_counts_exchanges_sharing_a_listing_once():
    # Three exchanges of reduced cost 1 each share one listing that hosts one leg: a packing
    # collects at most 1 (the plain sum would say 3); a fourth elsewhere adds its 0.5.
    from types import SimpleNamespace

    from matching_engine.market_bound import packing_lp

    part = SimpleNamespace(
        n_rows=6, m=4,
        quantity=np.array([1.0, 1.0, 1.0, 1.0]),
        offer_row=np.array([0, 0, 0, 4]),
        need_row=np.array([1, 2, 3, 5]),
        capacity=np.ones(6))
    paths = [np.array([[0], [1], [2]]), np.array([[3]])]
    rc = [np.ones(3), np.array([0.5])]
    assert packing_lp(part, paths, rc, None) == pytest.approx(1.5, abs=1e-7)
    assert packing_lp(part, [np.zeros((0, 1), dtype=np.int64)], [np.zeros(0)], None) == 0.0
