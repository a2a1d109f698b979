"""Graph documents (kidney-exchange style): rules, the exact method's paths, bad documents."""

from __future__ import annotations

import itertools
import math
import random

import networkx as nx
import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import lil_matrix

from matching_engine import InputError, solve
from matching_engine import kep as kep_module

from .strategies import check_graph_result


def graph(nodes, arcs, **settings) -> dict:
    return {"nodes": [n if isinstance(n, dict) else {"id": n} for n in nodes],
            "arcs": [a if isinstance(a, dict) else {"from": a[0], "to": a[1]} for a in arcs],
            "settings": settings}


def test_issue_example_uses_the_better_offer_and_a_gift_chain():
    doc = graph([{"id": "1"}, {"id": "2", "offers": ["2a", "2b"]}, {"id": "9", "gift": True}],
                [{"from": "1", "to": "2", "weight": 1.0},
                 {"from": "2", "to": "1", "offer": "2a", "weight": 2.0},
                 {"from": "2", "to": "1", "offer": "2b", "weight": 3.0},
                 {"from": "9", "to": "2", "weight": 1.0}])
    result = solve(doc)
    check_graph_result(doc, result, 3, 3)
    assert result["mode"] == "graph" and result["status"] == "optimal"
    assert result["objective"] == 4.0 and result["bound"] == 4.0
    (ex,) = result["exchanges"]
    assert ex["kind"] == "cycle" and ex["nodes"] == ["1", "2"] and ex["weight"] == 4.0
    assert ex["legs"][1] == {"from": "2", "to": "1", "offer": "2b", "weight": 3.0}


def test_chain_nodes_start_at_the_gift_and_respect_the_cap():
    doc = graph([{"id": "g", "gift": True}, "a", "b", "c", "d"],
                [("g", "a"), ("a", "b"), ("b", "c"), ("c", "d")], max_chain=2)
    result = solve(doc)
    (ex,) = result["exchanges"]
    assert ex["kind"] == "chain" and ex["nodes"] == ["g", "a", "b"]
    assert [leg["from"] for leg in ex["legs"]] == ["g", "a"]
    assert solve(doc, max_chain=4)["exchanges"][0]["nodes"] == ["g", "a", "b", "c", "d"]
    assert solve(doc, max_chain=0)["exchanges"] == []


def test_cycle_cap_and_cycle_order():
    doc = graph(["3", "1", "2"], [("1", "2"), ("2", "3"), ("3", "1")], max_cycle=2)
    assert solve(doc)["exchanges"] == []
    (ex,) = solve(doc, max_cycle=3)["exchanges"]
    assert ex["nodes"] == ["1", "2", "3"]  # giving order, starting at the smallest id


def test_fractional_lp_is_resolved_by_the_proof_machinery():
    # Three 2-cycles on a triangle, cycles of length 2 only: the LP takes each at 1/2 (3),
    # the best packing is one 2-cycle (2). The engine must prove 2, not stop at the LP bound.
    doc = graph(["a", "b", "c"], [(x, y) for x in "abc" for y in "abc" if x != y], max_cycle=2)
    result = solve(doc)
    assert result["objective"] == 2.0 and result["status"] == "optimal"
    assert result["bound"] == 2.0
    assert "reduced-cost fixing" in result["stats"]["method"]


def test_time_limit_returns_a_valid_packing_and_a_bound(monkeypatch):
    rng = random.Random(5)
    nodes = [str(i) for i in range(60)]
    arcs = [(a, b) for a in nodes for b in nodes if a != b and rng.random() < 0.2]
    doc = graph(nodes, arcs, max_cycle=3, max_chain=0)
    # Make the clock run out right after the greedy packing.
    real = kep_module.time.monotonic
    calls = {"n": 0}

    def clock():
        calls["n"] += 1
        return real() + (0 if calls["n"] < 3 else 10_000)

    monkeypatch.setattr(kep_module.time, "monotonic", clock)
    result = solve(doc, time_limit=1)
    check_graph_result(doc, result, 3, 0)
    assert result["status"] == "time_limit" and not result["optimal"]
    assert result["bound"] >= result["objective"] > 0


def test_fallback_when_the_exact_method_cannot_run(monkeypatch):
    def broken(self, incumbent):
        raise RuntimeError("solver unavailable")

    monkeypatch.setattr(kep_module.KepSolver, "solve", broken)
    doc = graph([{"id": "g", "gift": True}, "a", "b", "c"],
                [("a", "b"), ("b", "a"), ("g", "c"), ("c", "a")])
    result = solve(doc)
    check_graph_result(doc, result, 3, 3)
    assert result["status"] == "fallback" and result["optimal"] is False
    assert "fallback" in result["stats"]["method"]
    assert result["objective"] > 0 and result["bound"] >= result["objective"]


def test_market_fallback_when_the_integer_program_cannot_run(monkeypatch):
    from matching_engine import market_solver

    def broken(*args, **kwargs):
        raise RuntimeError("solver unavailable")

    monkeypatch.setattr(market_solver, "solve_stage", broken)
    from .test_engine_market import hub_market

    result = solve(hub_market(6))
    assert result["status"] == "fallback" and not result["optimal"]
    assert result["exchanges"] and result["bound"] >= result["objective"]


# --------------------------------------------------------------------------- independent MIP


def full_model_optimum(doc: dict, max_cycle: int, max_chain: int) -> float:
    """Every cycle (networkx) and every chain (depth-first) as a column of one integer
    program solved by scipy's milp: the plain cycle-chain formulation, no column generation."""
    gift = [n["id"] for n in doc["nodes"] if n.get("gift")]
    ids = [n["id"] for n in doc["nodes"]]
    g = nx.DiGraph()
    g.add_nodes_from(i for i in ids if i not in gift)
    weights = {}
    for arc in doc["arcs"]:
        weights[(arc["from"], arc["to"])] = float(arc.get("weight", 1.0))
        if arc["from"] not in gift:
            g.add_edge(arc["from"], arc["to"])
    columns = []
    for cycle in nx.simple_cycles(g, length_bound=max_cycle):
        w = sum(weights[(cycle[i], cycle[(i + 1) % len(cycle)])] for i in range(len(cycle)))
        columns.append((cycle, w))
    for start in gift:
        stack = [([start], 0.0)]
        while stack:
            path, w = stack.pop()
            if len(path) > 1:
                columns.append((path, w))
            if len(path) - 1 < max_chain:
                for nxt in g.nodes:
                    if nxt not in path and (path[-1], nxt) in weights:
                        stack.append((path + [nxt], w + weights[(path[-1], nxt)]))
    row = {v: i for i, v in enumerate(ids)}
    matrix = lil_matrix((len(ids), len(columns)))
    for j, (nodes, _) in enumerate(columns):
        for v in nodes:
            matrix[row[v], j] = 1
    c = -np.array([w for _, w in columns])
    res = milp(c, constraints=LinearConstraint(matrix.tocsr(), -np.inf, 1),
               integrality=np.ones(len(columns)), bounds=Bounds(0, 1))
    return -res.fun if len(columns) else 0.0


@pytest.mark.parametrize("seed", range(6))
def test_medium_random_pools_match_an_independent_full_model(seed):
    rng = random.Random(seed)
    n, gifts = rng.randint(30, 60), rng.randint(0, 4)
    nodes = [{"id": str(i)} for i in range(n)] + [{"id": f"g{i}", "gift": True}
                                                   for i in range(gifts)]
    density = rng.choice([0.05, 0.1, 0.2])
    integer = seed % 2 == 0
    arcs = []
    for a, b in itertools.product([x["id"] for x in nodes], [str(i) for i in range(n)]):
        if a != b and rng.random() < density:
            w = float(rng.randint(1, 3)) if integer else round(rng.uniform(0.5, 2.0), 2)
            arcs.append({"from": a, "to": b, "weight": w})
    L, K = rng.choice([2, 3]), rng.choice([0, 2, 3])
    doc = {"nodes": nodes, "arcs": arcs, "settings": {"max_cycle": L, "max_chain": K}}
    result = solve(doc)
    check_graph_result(doc, result, L, K)
    assert result["status"] == "optimal"
    assert math.isclose(result["objective"], full_model_optimum(doc, L, K), abs_tol=1e-6)


def test_longer_cycles_and_chains_match_the_full_model():
    rng = random.Random(11)
    nodes = [{"id": str(i)} for i in range(14)] + [{"id": "g", "gift": True}]
    arcs = [{"from": a["id"], "to": str(b), "weight": float(rng.randint(1, 4))}
            for a in nodes for b in range(14) if a["id"] != str(b) and rng.random() < 0.18]
    doc = {"nodes": nodes, "arcs": arcs}
    for L, K in [(4, 4), (5, 2), (6, 5)]:
        result = solve(doc, max_cycle=L, max_chain=K)
        check_graph_result(doc, result, L, K)
        assert math.isclose(result["objective"], full_model_optimum(doc, L, K), abs_tol=1e-6)


# --------------------------------------------------------------------------- bad documents


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (graph(["1", "2"], [("1", "3")]), "unknown node id '3'"),
        (graph(["1", "2"], [{"from": "1", "to": "2", "weight": -1}]), "weight must be >= 0"),
        (graph(["1", "2"], [{"from": "1", "to": "2", "weight": "heavy"}]), "must be a number"),
        (graph(["1", "2"], [{"from": "1", "to": "2", "weight": True}]), "must be a number"),
        (graph(["1", "2"], [{"from": "1", "to": "2", "weight": float("nan")}]), "finite"),
        (graph(["1", "1"], []), "duplicate id '1'"),
        (graph(["1", "2"], [("1", "2"), ("1", "2")]), "duplicate arc"),
        (graph(["1", "2"], [("1", "1")]), "to itself"),
        (graph(["1", {"id": "2", "gift": True}], [("1", "2")]), "gift and cannot receive"),
        (graph(["1", {"id": "2", "offers": ["x"]}], [{"from": "1", "to": "2", "offer": "x"}]),
         "not an offer of node '1'"),
        (graph([{"id": "1", "colour": "red"}], []), "unknown field(s) colour"),
        (graph([{"id": 1}], []), "non-empty string id"),
        (graph(["1"], [{"from": "1"}]), "missing field to"),
        (graph(["1", "2"], [], max_cycle=1), "max_cycle must be between 2 and 6"),
        (graph(["1", "2"], [], max_chain=11), "max_chain must be between 0 and 10"),
        (graph(["1", "2"], [], fairness_threshold=0.5), "unknown field(s) fairness_threshold"),
        ({"nodes": {}, "arcs": []}, "nodes must be a list"),
        ({"arcs": []}, "missing field nodes"),
    ],
)
def test_malformed_graph_documents_raise_input_error(doc, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        solve(doc)


def test_empty_and_arcless_graphs():
    assert solve(graph([], []))["objective"] == 0
    result = solve(graph(["1", "2"], []))
    assert result["exchanges"] == [] and result["status"] == "optimal"
