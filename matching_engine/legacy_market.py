"""The previous market method, kept only for the benchmark's side-by-side comparison.

Every fair cycle and chain is enumerated explicitly (``exchanges.enumerate_candidates``, cut at
250,000 candidates or 40 % of the time limit), then an integer program over those candidates is
solved per lexicographic level (``packing.solve_packing``). ``solve()`` no longer uses it: the
column-generation method of ``market_solver`` replaced it (see the README). ``solve_legacy``
runs it on a market document the way ``solve`` used to.

Objective levels, per chosen exchange e with k legs (the market's default order):
  needs       k (each leg meets a need at or above its minimum)          maximise
  value       the credits its legs move (quantity × currency value)      maximise
  parties     (number of organisations in e)²; squaring prefers two      minimise
              small exchanges to one large one with the same legs
  completion  k × product of its organisations' completion rates         maximise
              (the needs expected to be met once trust history is counted)
``lexicographic`` optimises them in that order; ``weighted`` maximises
needs·w_needs + value·w_value − parties·w_parties + completion·w_completion.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from . import highs
from .exchanges import (
    Candidates,
    enumerate_candidates,
    fair,
    org_order,
    participant_fairness,
)
from .market import LEXICOGRAPHIC, NEED, Arc, Market, build_arcs, signature
from .packing import Packing, Stage, greedy_packing, solve_packing
from .validation import id_sort_key

CYCLE = "cycle"
CHAIN = "chain"
#: Share of the time limit that enumerating candidate exchanges may use.
ENUMERATION_SHARE = 0.4


def _round(value: float, digits: int = 6) -> float:
    return float(round(value, digits))


def _columns(market: Market, arcs: list[Arc], candidates: Candidates) -> dict[str, Any]:
    """Per-candidate metrics and the listing-usage matrix (rows: listings; columns: candidates)."""
    listings = sorted(market.listings, key=lambda lst: id_sort_key(lst.id))
    listing_row = {listing.id: i for i, listing in enumerate(listings)}
    rate = {oid: org.completion_rate for oid, org in market.organisations.items()}
    paths = candidates.cycles + candidates.chains
    kinds = [CYCLE] * len(candidates.cycles) + [CHAIN] * len(candidates.chains)
    n = len(paths)
    needs = np.zeros(n)
    value = np.zeros(n)
    parties = np.zeros(n)
    completion = np.zeros(n)
    rows: list[int] = []
    cols: list[int] = []
    amounts: list[float] = []
    for j, (path, kind) in enumerate(zip(paths, kinds, strict=True)):
        legs = [arcs[i] for i in path]
        orgs = [a.giver for a in legs] + ([legs[-1].receiver] if kind == CHAIN else [])
        needs[j] = len(legs)
        value[j] = sum(a.value for a in legs)
        parties[j] = len(orgs) ** 2
        completion[j] = len(legs) * math.prod(rate[o] for o in orgs)
        for a in legs:
            rows += [listing_row[a.offer], listing_row[a.need]]
            cols += [j, j]
            amounts += [a.quantity, a.quantity]
    usage = sp.csc_matrix((amounts, (rows, cols)), shape=(len(listings), n))
    capacity = np.array([listing.quantity for listing in listings], dtype=np.float64)
    return {"paths": paths, "kinds": kinds, "needs": needs, "value": value, "parties": parties,
            "completion": completion, "usage": usage, "capacity": capacity}


def _stages(market: Market, cols: dict[str, Any]) -> list[Stage]:
    settings = market.settings
    if settings.objective == LEXICOGRAPHIC:
        # The last two levels share one stage: parties² are integers, and the completion
        # total is below the number of legs, so completion / (legs + 1) can never outweigh
        # one unit of parties² — the order is still strictly lexicographic.
        scale = 1.0 / (float(cols["needs"].sum()) + 1.0)
        return [
            Stage("needs", cols["needs"], True, True),
            Stage("value", cols["value"], True, False),
            Stage("parties_then_completion", -cols["parties"] + scale * cols["completion"],
                  True, False),
        ]
    w = settings.weights
    combined = (w["needs"] * cols["needs"] + w["value"] * cols["value"]
                - w["parties"] * cols["parties"] + w["completion"] * cols["completion"])
    return [Stage("weighted", combined, True, False)]


def _trivial_bound(market: Market, arcs: list[Arc]) -> dict[str, float]:
    """Upper bounds that hold whatever the enumeration found (used when it was cut short)."""
    least = {lst.id: lst.least_acceptable for lst in market.listings if lst.kind == NEED}
    qty = {lst.id: lst.quantity for lst in market.listings if lst.kind == NEED}
    into: dict[str, list[Arc]] = {}
    for a in arcs:
        into.setdefault(a.need, []).append(a)
    needs = sum(min(len(a_in), math.floor(qty[n] / least[n] + 1e-9)) for n, a_in in into.items())
    value = sum(min(sum(a.value for a in a_in),
                    qty[n] * market.currencies[a_in[0].currency]) for n, a_in in into.items())
    return {"needs": float(needs), "value": float(value)}


def _exchange(market: Market, legs: list[Arc], kind: str, weight: float) -> dict[str, Any]:
    orgs = [a.giver for a in legs] + ([legs[-1].receiver] if kind == CHAIN else [])
    given = {o: 0.0 for o in orgs}
    received = {o: 0.0 for o in orgs}
    for a in legs:
        given[a.giver] += a.value
        received[a.receiver] += a.value
    exempt = {orgs[0], orgs[-1]} if kind == CHAIN else set()
    participants = {}
    fairness_values = []
    for o in orgs:
        f = None if o in exempt else participant_fairness(received[o], given[o])
        if f is not None:
            fairness_values.append(f)
        participants[o] = {"given": _round(given[o]), "received": _round(received[o]),
                           "fairness": None if f is None else _round(f, 4)}
    rates = [market.organisations[o].completion_rate for o in orgs]
    return {
        "kind": kind,
        "nodes": orgs,
        "weight": _round(weight),
        "signature": [list(pair) for pair in signature(legs)],
        "legs": [{"from": a.giver, "to": a.receiver, "offer": a.offer, "need": a.need,
                  "currency": a.currency, "quantity": a.quantity, "value": _round(a.value)}
                 for a in legs],
        "participants": participants,
        "fairness": _round(min(fairness_values), 4) if fairness_values else None,
        "expected_completion": _round(math.prod(rates), 4),
    }


def solve_market_legacy(market: Market, max_cycle: int, max_chain: int, time_limit: float,
                        started: float) -> dict[str, Any]:
    """Clear ``market``; ``started`` is the monotonic time the solve began (for the deadline)."""
    deadline = started + time_limit
    phases: dict[str, float] = {}
    t = time.monotonic()
    arcs = build_arcs(market)
    phases["build"] = time.monotonic() - t

    t = time.monotonic()
    # Enumeration may take only part of the limit: the packing needs the rest.
    candidates = enumerate_candidates(market, arcs, max_cycle, max_chain,
                                      min(deadline, started + ENUMERATION_SHARE * time_limit))
    phases["enumerate"] = time.monotonic() - t

    t = time.monotonic()
    cols = _columns(market, arcs, candidates)
    stages = _stages(market, cols)
    phases["model"] = time.monotonic() - t

    t = time.monotonic()
    remaining = max(deadline - time.monotonic(), 0.05)
    try:
        packing = solve_packing(cols["usage"], cols["capacity"], stages, remaining)
    except (RuntimeError, MemoryError) as exc:  # the exact method could not run
        score = stages[0].coefficients
        chosen = greedy_packing(cols["usage"].tocsr(), cols["capacity"], score)
        packing = Packing(chosen, "fallback",
                          {s.name: float(s.coefficients[chosen].sum()) for s in stages},
                          float("inf"), f"greedy fallback ({exc})")
    phases["solve"] = time.monotonic() - t

    status = packing.status
    if candidates.truncated and status == highs.OPTIMAL:
        status = highs.TIME_LIMIT
    primary = stages[0].name
    objective = packing.stage_values[primary]
    bound = packing.bound
    if candidates.truncated or status == "fallback" or not math.isfinite(bound):
        trivial = _trivial_bound(market, arcs)
        if primary == "needs":
            bound = trivial["needs"]
        else:
            w = market.settings.weights
            bound = ((w["needs"] + w["completion"]) * trivial["needs"]
                     + w["value"] * trivial["value"])
    bound = max(bound, objective)

    exchanges = []
    for j in packing.chosen:
        legs = [arcs[i] for i in cols["paths"][j]]
        exchanges.append(_exchange(market, legs, cols["kinds"][j], float(stages[0].coefficients[j])
                                   if primary != "needs" else float(len(legs))))
    order = org_order(market)
    exchanges.sort(key=lambda e: (e["kind"] != CYCLE, [order[o] for o in e["nodes"]],
                                  e["signature"]))
    chosen = packing.chosen
    if primary == "needs":
        levels = {name: _round(float(cols[name][chosen].sum()))
                  for name in ("needs", "value", "parties", "completion")}
    else:
        levels = {"weighted": _round(objective)}
    return {
        "mode": "market",
        "objective": _round(objective),
        "optimal": status == highs.OPTIMAL,
        "bound": _round(bound),
        "status": status,
        "objective_kind": market.settings.objective,
        "objectives": levels,
        "exchanges": exchanges,
        "stats": {
            "nodes": len(market.organisations),
            "listings": len(market.listings),
            "arcs": len(arcs),
            "candidate_exchanges": len(candidates),
            "cycles": len(candidates.cycles),
            "chains": len(candidates.chains),
            "enumeration_truncated": candidates.truncated,
            "max_cycle": max_cycle,
            "max_chain": max_chain,
            "phases": {k: round(v, 4) for k, v in phases.items()},
            "stages": packing.stages,
            "method": "fair cycles and chains enumerated, then " + packing.method
                      + (" (lexicographic stages)" if primary == "needs" else ""),
        },
    }


def solve_legacy(document: dict, *, max_cycle: int | None = None, max_chain: int | None = None,
                 time_limit: float | None = None) -> dict[str, Any]:
    """The old enumeration method on a market document (``solve``'s contract, markets only)."""
    from .api import _overrides
    from .market import parse_market
    from .memory import PeakMemory

    started = time.monotonic()
    memory = PeakMemory().start()
    parsed = parse_market(document)
    parse_seconds = time.monotonic() - started
    s = parsed.settings
    cycle, chain, limit = _overrides(s.max_cycle, s.max_chain, s.time_limit, max_cycle,
                                     max_chain, time_limit)
    result = solve_market_legacy(parsed, cycle, chain, limit, started)
    stats = result["stats"]
    stats["phases"] = {"parse": round(parse_seconds, 4), **stats["phases"]}
    stats["phases"]["total"] = round(time.monotonic() - started, 4)
    stats["peak_memory_mb"] = memory.peak_mb()
    return result


__all__ = ["solve_market_legacy", "solve_legacy", "fair"]
