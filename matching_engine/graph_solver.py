"""Clearing a graph document: ``Graph`` → ``KepInstance`` → exact solver (or fallback) → result."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .graph import Graph
from .kep import KepInstance, KepSolution, KepSolver, greedy, solution_weight
from .validation import id_sort_key


def to_instance(graph: Graph, max_cycle: int, max_chain: int) -> tuple[KepInstance, dict]:
    """Number pair nodes and gift nodes separately; arcs keep the document's (src, dst) order."""
    pairs = np.flatnonzero(~graph.gift)
    gifts = np.flatnonzero(graph.gift)
    pair_of = np.full(len(graph.ids), -1, dtype=np.int64)
    pair_of[pairs] = np.arange(len(pairs))
    gift_of = np.full(len(graph.ids), -1, dtype=np.int64)
    gift_of[gifts] = np.arange(len(gifts))
    from_gift = graph.gift[graph.src] if len(graph.src) else np.zeros(0, dtype=bool)
    p_arcs = np.flatnonzero(~from_gift)
    g_arcs = np.flatnonzero(from_gift)
    inst = KepInstance(
        n=len(pairs), g=len(gifts),
        src=pair_of[graph.src[p_arcs]].astype(np.int32),
        dst=pair_of[graph.dst[p_arcs]].astype(np.int32),
        w=graph.weight[p_arcs],
        gsrc=gift_of[graph.src[g_arcs]].astype(np.int32),
        gdst=pair_of[graph.dst[g_arcs]].astype(np.int32),
        gw=graph.weight[g_arcs],
        max_cycle=max_cycle, max_chain=max_chain,
    )
    return inst, {"pairs": pairs, "gifts": gifts, "arc_info": ArcInfo(graph)}


class ArcInfo:
    """(tail, head) -> (offer, weight) for the document's arcs (sorted by (tail, head))."""

    def __init__(self, graph: Graph) -> None:
        self.n = max(len(graph.ids), 1)
        self.keys = graph.src.astype(np.int64) * self.n + graph.dst
        self.graph = graph

    def __getitem__(self, pair: tuple[int, int]) -> tuple[str | None, float]:
        k = int(np.searchsorted(self.keys, pair[0] * self.n + pair[1]))
        return self.graph.offer[k], float(self.graph.weight[k])


def _exchange(graph: Graph, nodes: list[int], kind: str, arc_info: ArcInfo) -> dict[str, Any]:
    legs = []
    steps = len(nodes) if kind == "cycle" else len(nodes) - 1
    for i in range(steps):
        u, v = nodes[i], nodes[(i + 1) % len(nodes)]
        offer, weight = arc_info[(u, v)]
        legs.append({"from": graph.ids[u], "to": graph.ids[v], "offer": offer, "weight": weight})
    return {"kind": kind, "nodes": [graph.ids[u] for u in nodes],
            "weight": float(sum(leg["weight"] for leg in legs)), "legs": legs}


def _rotate(graph: Graph, cycle: list[int]) -> list[int]:
    k = min(range(len(cycle)), key=lambda i: id_sort_key(graph.ids[cycle[i]]))
    return cycle[k:] + cycle[:k]


def solve_graph(graph: Graph, max_cycle: int, max_chain: int, time_limit: float,
                started: float) -> dict[str, Any]:
    deadline = started + time_limit
    phases: dict[str, float] = {}
    t = time.monotonic()
    inst, maps = to_instance(graph, max_cycle, max_chain)
    phases["build"] = time.monotonic() - t

    t = time.monotonic()
    solver = None
    try:
        solver = KepSolver(inst, deadline)
        incumbent = greedy(inst, solver.search, solver.chains)
        phases["greedy"] = time.monotonic() - t
        solution = solver.solve(incumbent)
    except (MemoryError, RuntimeError) as exc:  # the exact method could not run
        cycles, chains = greedy(inst)
        value = solution_weight(inst, cycles, chains)
        bound = solver.trivial_bound() if solver else float(graph.weight.sum())
        solution = KepSolution(cycles, chains, value, max(bound, value), "fallback",
                               {"method": f"greedy fallback ({type(exc).__name__}: {exc})",
                                "phases": {}})
    for name, seconds in solution.stats.pop("phases", {}).items():
        phases[name] = seconds

    pairs, gifts, arc_info = maps["pairs"], maps["gifts"], maps["arc_info"]
    exchanges = []
    for cyc in solution.cycles:
        nodes = _rotate(graph, [int(pairs[i]) for i in cyc])
        exchanges.append(_exchange(graph, nodes, "cycle", arc_info))
    for gift, path in solution.chains:
        nodes = [int(gifts[gift])] + [int(pairs[i]) for i in path]
        exchanges.append(_exchange(graph, nodes, "chain", arc_info))
    exchanges.sort(key=lambda e: (e["kind"] != "cycle", [id_sort_key(x) for x in e["nodes"]]))

    stats = {
        "nodes": len(graph.ids),
        "pair_nodes": inst.n,
        "gift_nodes": inst.g,
        "arcs": int(len(graph.src)),
        "arcs_in_document": graph.arcs_in_document,
        "max_cycle": max_cycle,
        "max_chain": max_chain,
        "candidate_exchanges": solution.stats.get("columns_generated", 0),
    }
    stats.update({k: v for k, v in solution.stats.items() if k != "method"})
    stats["phases"] = {k: round(v, 4) for k, v in phases.items()}
    stats["method"] = solution.stats.get("method", "")
    return {
        "mode": "graph",
        "objective": round(solution.objective, 9),
        "optimal": solution.status == "optimal",
        "bound": round(solution.bound, 9),
        "status": solution.status,
        "exchanges": exchanges,
        "stats": stats,
    }
