"""``solve(document)``: the engine's one entry point (documents described in the README)."""

from __future__ import annotations

import time
from typing import Any

from . import validation as v
from .errors import InputError
from .graph import parse_graph
from .graph_solver import solve_graph
from .market import parse_market
from .market_solver import solve_market
from .memory import PeakMemory


def document_kind(document: Any) -> str:
    """``"market"`` (has ``listings``) or ``"graph"`` (has ``arcs``)."""
    if not isinstance(document, dict):
        raise InputError("the document must be a JSON object")
    market, graph = "listings" in document, "arcs" in document
    if market and graph:
        raise InputError("the document has both 'listings' and 'arcs': is it a market or a graph?")
    if not market and not graph:
        raise InputError("the document has neither 'listings' (a market) nor 'arcs' (a graph)")
    return "market" if market else "graph"


def solve(
    document: dict,
    *,
    max_cycle: int | None = None,
    max_chain: int | None = None,
    time_limit: float | None = None,
) -> dict:
    """Clear a market or graph document and return the result dict described in the README.

    Keyword arguments override the document's settings. Raises ``InputError`` (a ValueError)
    for malformed or inconsistent documents; never raises for a valid one (if the exact method
    cannot run, a greedy packing is returned with ``status: "fallback"``).
    """
    started = time.monotonic()
    memory = PeakMemory().start()
    kind = document_kind(document)
    if kind == "market":
        parsed = parse_market(document)
        parse_seconds = time.monotonic() - started
        settings = parsed.settings
        cycle, chain, limit = _overrides(settings.max_cycle, settings.max_chain,
                                         settings.time_limit, max_cycle, max_chain, time_limit)
        result = solve_market(parsed, cycle, chain, limit, started)
    else:
        graph = parse_graph(document)
        parse_seconds = time.monotonic() - started
        cycle, chain, limit = _overrides(graph.max_cycle, graph.max_chain, graph.time_limit,
                                         max_cycle, max_chain, time_limit)
        result = solve_graph(graph, cycle, chain, limit, started)
    stats = result["stats"]
    stats["phases"] = {"parse": round(parse_seconds, 4), **stats["phases"]}
    stats["phases"]["total"] = round(time.monotonic() - started, 4)
    stats["peak_memory_mb"] = memory.peak_mb()
    stats["baseline_memory_mb"] = round(memory.baseline_mb, 1)
    stats["memory_measure"] = memory.method
    return result


def _overrides(cycle: int, chain: int, limit: float, max_cycle: Any, max_chain: Any,
               time_limit: Any) -> tuple[int, int, float]:
    return v.caps(cycle if max_cycle is None else max_cycle,
                  chain if max_chain is None else max_chain,
                  limit if time_limit is None else time_limit, "arguments")
