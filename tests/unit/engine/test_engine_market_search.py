"""The line-graph searches (``market_search``) against the legacy depth-first enumeration of
every fair cycle and chain (``exchanges.enumerate_candidates``), including long caps."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from matching_engine.arcs import build_arc_table
from matching_engine.exchanges import enumerate_candidates
from matching_engine.linegraph import LineGraph
from matching_engine.market import build_arcs, parse_market
from matching_engine.market_search import ChainSearch, search_cycles

from .test_engine_arcs import random_market


def setup(seed: int, threshold: float, n_orgs: int, n_listings: int):
    doc = random_market(seed, n_orgs, n_listings)
    doc["settings"] = {"fairness_threshold": threshold}
    market = parse_market(doc)
    table = build_arc_table(market)
    lg = LineGraph(len(table.org_ids), table.giver, table.receiver, table.value, table.gift,
                   threshold)
    return market, table, lg


def canonical(path, giver) -> tuple:
    k = int(np.argmin([giver[a] for a in path]))
    return tuple(path[k:]) + tuple(path[:k])


def found(result) -> dict:
    return {tuple(row): score for paths, scores in result.arrays()
            for row, score in zip(paths.tolist(), scores.tolist(), strict=True)}


CASES = [(0, 0.5, 3, 3, 12, 150), (1, 0.3, 4, 3, 10, 120), (2, 0.0, 5, 4, 8, 80),
         (3, 0.5, 6, 6, 8, 70), (4, 0.9, 3, 10, 10, 90), (6, 0.2, 2, 10, 7, 60)]


@pytest.mark.parametrize(("seed", "theta", "L", "K", "orgs", "listings"), CASES)
def test_searches_find_exactly_the_exchanges_above_the_threshold(seed, theta, L, K, orgs,
                                                                 listings):
    market, table, lg = setup(seed, theta, orgs, listings)
    legacy = enumerate_candidates(market, build_arcs(market), L, K, time.monotonic() + 60)
    assert not legacy.truncated
    rng = np.random.default_rng(seed)
    chains = ChainSearch(lg, K)
    for weights, threshold in ((np.zeros(lg.m), -1.0), (rng.normal(size=lg.m), 0.3)):
        kappa = rng.normal(size=12) if threshold > 0 else np.zeros(12)
        cycles = search_cycles(lg, weights, kappa, threshold, L)
        assert cycles.complete
        ours = {canonical(list(p), table.giver): s for p, s in found(cycles).items()}
        expected = {canonical(list(c), table.giver): weights[list(c)].sum() + kappa[len(c)]
                    for c in legacy.cycles}
        expected = {c: s for c, s in expected.items() if s > threshold}
        assert set(ours) == set(expected)
        assert all(math.isclose(ours[c], expected[c], abs_tol=1e-9) for c in ours)
        exact = chains.enumerate(weights, kappa, threshold, 10**7)
        expected_chains = {tuple(c): weights[list(c)].sum() + kappa[len(c)]
                           for c in legacy.chains}
        expected_chains = {c: s for c, s in expected_chains.items() if s > threshold}
        assert set(found(exact)) == set(expected_chains)
        priced, top = chains.price(weights, kappa, threshold, 10**6)
        assert set(found(priced)) <= set(expected_chains)  # valid chains only
        assert top >= max(expected_chains.values(), default=-np.inf) - 1e-9  # a true bound


def test_a_search_stopped_early_bounds_what_it_left_out():
    market, table, lg = setup(5, 0.5, 10, 160)
    rng = np.random.default_rng(0)
    weights = rng.normal(size=lg.m)
    kappa = np.zeros(12)
    whole = found(search_cycles(lg, weights, kappa, -0.5, 3))
    part = search_cycles(lg, weights, kappa, -0.5, 3, limit=5)
    assert not part.complete or len(whole) <= 5
    missed = [s for c, s in whole.items() if c not in found(part)]
    assert max(missed, default=-np.inf) <= part.rest_bound + 1e-9
