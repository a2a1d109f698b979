"""The vectorised searches against plain enumeration (networkx, depth-first search)."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

from matching_engine.chains import ChainSearch
from matching_engine.cycles import CycleSearch


def random_graph(seed: int):
    rng = random.Random(seed)
    n = rng.randint(4, 14)
    arcs = [(a, b) for a in range(n) for b in range(n) if a != b and rng.random() < 0.3]
    weights = {arc: float(rng.randint(0, 3)) for arc in arcs}
    duals = np.array([rng.choice([0.0, 0.5, 1.0, 2.0]) for _ in range(n)])
    return rng, n, arcs, weights, duals


@pytest.mark.parametrize("seed", range(12))
def test_cycle_scan_finds_exactly_the_cycles_above_the_threshold(seed):
    rng, n, arcs, weights, duals = random_graph(seed)
    src = np.array([a for a, _ in arcs], dtype=np.int64)
    dst = np.array([b for _, b in arcs], dtype=np.int64)
    search = CycleSearch(n, src, dst, np.array([weights[a] for a in arcs]))
    graph = nx.DiGraph(arcs)
    graph.add_nodes_from(range(n))
    for max_len in range(2, 7):
        for threshold in (-1e9, 0.0, 1.0):
            found = search.scan(max_len, duals, threshold)
            ours = sorted(tuple(int(v) for v in row) for nodes, _ in found.arrays().values()
                          for row in nodes)
            expected = []
            for cycle in nx.simple_cycles(graph, length_bound=max_len):
                rc = sum(weights[(cycle[i], cycle[(i + 1) % len(cycle)])]
                         for i in range(len(cycle))) - duals[cycle].sum()
                if rc > threshold:
                    k = cycle.index(min(cycle))
                    expected.append(tuple(cycle[k:] + cycle[:k]))
            assert ours == sorted(expected)


@pytest.mark.parametrize("seed", range(12))
def test_chain_enumeration_and_pricing_match_depth_first_search(seed):
    rng, n, arcs, weights, duals = random_graph(seed)
    gifts = rng.randint(1, 3)
    gift_arcs = [(g, v) for g in range(gifts) for v in range(n) if rng.random() < 0.3]
    gw = {arc: float(rng.randint(0, 3)) for arc in gift_arcs}
    gamma = np.array([rng.choice([0.0, 1.0]) for _ in range(gifts)])
    max_chain = rng.randint(1, 4)
    arcs.sort()
    gift_arcs.sort()
    search = ChainSearch(
        n, gifts, np.array([a for a, _ in arcs], dtype=np.int64),
        np.array([b for _, b in arcs], dtype=np.int64), np.array([weights[a] for a in arcs]),
        np.array([g for g, _ in gift_arcs], dtype=np.int64),
        np.array([v for _, v in gift_arcs], dtype=np.int64),
        np.array([gw[a] for a in gift_arcs]), max_chain)
    expected = {}
    for g, v in gift_arcs:
        stack = [((v,), gw[(g, v)] - gamma[g] - duals[v])]
        while stack:
            path, rc = stack.pop()
            expected[(g, path)] = rc
            if len(path) < max_chain:
                for a, b in arcs:
                    if a == path[-1] and b not in path:
                        stack.append((path + (b,), rc + weights[(a, b)] - duals[b]))
    for threshold in (-1e9, -0.5, 0.0, 1.5):
        found = search.enumerate(duals, gamma, threshold, 10**6)
        assert sorted(key for key, _ in found) == sorted(
            key for key, rc in expected.items() if rc >= threshold)
        for key, rc in found:
            assert rc == pytest.approx(expected[key])
    priced, top = search.price(duals, gamma, 0.0, 1000)
    assert all(rc > 0 and rc == pytest.approx(expected[key]) for key, rc in priced)
    best = max(expected.values(), default=-np.inf)
    assert top >= best - 1e-9  # the walk bound is an upper bound on every chain
    if best > 1e-6 and max_chain <= 2:
        assert priced  # walks of at most two transfers never repeat a node
