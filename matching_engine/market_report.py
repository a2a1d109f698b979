"""The market result document: exchanges, levels, status, bound, gap and statistics.

Combines the solve units of ``market_solver`` (independent parts, so every level adds up).
Invariants: ``objective`` is the first level of the returned packing; ``bound`` is a valid
upper bound on it (the sum of each unit's proven bound, or for a unit without one the simple
bound of ``trivial_bound``), never below ``objective``; ``status`` is ``optimal`` only when
every unit proved every level; ``gap_percent`` is ``100 × (bound − objective) / |bound|``
(0.0 when optimal, null when no finite bound is known).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import highs
from .arcs import ArcTable
from .market import LEXICOGRAPHIC, Market
from .market_solver import KINDS, _round, exchange_record, trivial_bound
from .validation import id_sort_key

#: How many parts ``stats.parts`` lists individually (largest first).
PARTS_LISTED = 50


def _levels(table: ArcTable, arcs: list[int], kind: str) -> tuple[float, float, float, float]:
    k = len(arcs)
    orgs = [int(table.giver[a]) for a in arcs]
    if kind == "chain":
        orgs.append(int(table.receiver[arcs[-1]]))
    return (float(k), float(table.value[arcs].sum()), float(len(orgs) ** 2),
            k * math.prod(float(table.rate[o]) for o in orgs))


def parts_stats(table: ArcTable, label: np.ndarray, usable: np.ndarray, units: list) -> dict:
    n_parts = int(label.max()) + 1 if len(label) and label.max() >= 0 else 0
    orgs = np.bincount(label[label >= 0], minlength=n_parts) if n_parts else np.zeros(0)
    arcs = np.bincount(label[table.giver[usable]], minlength=n_parts) if n_parts \
        else np.zeros(0)
    order = np.lexsort((np.arange(n_parts), -orgs)) if n_parts else np.zeros(0, dtype=int)
    listed = order[:PARTS_LISTED]
    return {"count": n_parts, "sizes": [int(orgs[i]) for i in listed],
            "arcs": [int(arcs[i]) for i in listed],
            "not_listed": max(0, n_parts - PARTS_LISTED), "solve_units": len(units)}


def assemble(market: Market, table: ArcTable, label: np.ndarray, usable: np.ndarray,
             units: list, results: list, phases: dict, max_cycle: int, max_chain: int,
             timed_out: str | None, past_deadline: bool) -> dict[str, Any]:
    lexicographic = market.settings.objective == LEXICOGRAPHIC
    w = market.settings.weights
    exchanges, stage_log = [], {}
    totals = np.zeros(4)
    objective_total, bound_total = 0.0, 0.0
    bound_known = True
    all_optimal, fallback = True, False
    columns = cycles = chains = cuts = 0
    pricing = solving = 0.0
    errors = []
    for part, master, outs, chosen, error in results:
        unit_arcs = np.zeros(len(table), dtype=bool)
        unit_arcs[part.arc_global] = True
        if error is not None:
            fallback = True
            all_optimal = False
            errors.append(f"{type(error).__name__}: {error}")
        if master is not None:
            columns += len(master)
            cycles += sum(1 for k in master.pool.kind if k == 0)
            chains += sum(1 for k in master.pool.kind if k == 1)
            cuts += len(master.cuts)
            pricing += master.pricing_seconds
            weights = master.cost(master.objective) if not lexicographic and len(master) \
                else None
            for j in chosen:
                kind = KINDS[master.pool.kind[j]]
                arcs = [int(part.arc_global[a]) for a in master.pool.paths[j]]
                levels = _levels(table, arcs, kind)
                totals += levels
                weight = float(weights[j]) if weights is not None else levels[0]
                objective_total += weight if not lexicographic else levels[0]
                exchanges.append(exchange_record(table, arcs, kind, weight))
        # The simple bound holds whatever happened; the solve's own bound when it is better.
        needs_b, value_b = trivial_bound(market, table, unit_arcs)
        unit_bound = needs_b if lexicographic else (
            (w["needs"] + w["completion"]) * needs_b + w["value"] * value_b)
        if outs and outs[0].bound is not None:
            unit_bound = min(unit_bound, outs[0].bound) if math.isfinite(unit_bound) \
                else outs[0].bound
        bound_known = bound_known and math.isfinite(unit_bound)
        bound_total += unit_bound
        expected = 3 if lexicographic else 1
        if len(outs) < expected or any(o.status != highs.OPTIMAL for o in outs):
            all_optimal = False
        for o in outs:
            solving += o.log.get("seconds", 0.0)
            entry = stage_log.setdefault(o.name, {"stage": o.name, "status": highs.OPTIMAL,
                                                  "seconds": 0.0, "value": 0.0, "bound": 0.0,
                                                  "lp_bound": 0.0, "columns": 0, "cuts": 0})
            entry["seconds"] = round(entry["seconds"] + o.log.get("seconds", 0.0), 3)
            entry["value"] += o.value
            entry["bound"] = None if entry["bound"] is None or o.bound is None \
                else entry["bound"] + o.bound
            lp = o.log.get("lp_bound")
            entry["lp_bound"] = None if entry["lp_bound"] is None or lp is None \
                else entry["lp_bound"] + lp
            entry["columns"] = max(entry["columns"], o.log.get("columns", 0))
            entry["cuts"] = max(entry["cuts"], o.log.get("cuts", 0))
            if o.status != highs.OPTIMAL:
                entry["status"] = o.status
            timed_out = timed_out or o.log.get("timed_out")
    status = "fallback" if fallback else (highs.OPTIMAL if all_optimal else highs.TIME_LIMIT)
    objective = objective_total
    bound = objective if status == highs.OPTIMAL else max(bound_total, objective)
    if status != highs.OPTIMAL and timed_out is None and past_deadline:
        timed_out = "integer_program"
    if status == highs.OPTIMAL:
        gap = 0.0
    elif not bound_known or not math.isfinite(bound):
        gap = None
    else:
        gap = 0.0 if abs(bound) < 1e-12 else round(100.0 * (bound - objective) / abs(bound), 4)
    order = {oid: i for i, oid in enumerate(sorted(market.organisations, key=id_sort_key))}
    exchanges.sort(key=lambda e: (e["kind"] != "cycle", [order[o] for o in e["nodes"]],
                                  e["signature"]))
    if lexicographic:
        levels = {name: _round(float(v)) for name, v in
                  zip(("needs", "value", "parties", "completion"), totals, strict=True)}
    else:
        levels = {"weighted": _round(objective)}
    phases["enumerate"] = pricing
    phases["solve"] = max(solving - pricing, 0.0)
    for _, _, outs, _, _ in results:  # where the solve's time went, summed over units
        for o in outs:
            for key, name in (("lp_seconds", "column_generation"), ("lns_seconds", "lns"),
                              ("construct_seconds", "construct"), ("rc_seconds", "proof")):
                if o.log.get(key):
                    phases[name] = phases.get(name, 0.0) + o.log[key]
    stages = []
    for entry in stage_log.values():
        entry["value"] = _round(entry["value"])
        for key in ("bound", "lp_bound"):
            if entry[key] is not None:
                entry[key] = _round(entry[key])
        stages.append(entry)
    return {
        "mode": "market",
        "objective": _round(objective),
        "optimal": status == highs.OPTIMAL,
        "bound": _round(bound) if math.isfinite(bound) else None,
        "gap_percent": gap,
        "status": status,
        "objective_kind": market.settings.objective,
        "objectives": levels,
        "exchanges": exchanges,
        "stats": {
            "nodes": len(market.organisations),
            "listings": len(market.listings),
            "arcs": len(table),
            "usable_arcs": int(usable.sum()),
            "candidate_exchanges": columns,
            "cycles": cycles,
            "chains": chains,
            "cuts": cuts,
            "enumeration_truncated": False,
            "max_cycle": max_cycle,
            "max_chain": max_chain,
            "parts": parts_stats(table, label, usable, units),
            "timed_out_phase": None if status == highs.OPTIMAL else timed_out,
            "gap_percent": gap,  # repeated here: a stored run keeps only the statistics
            "phases": {k: round(v, 4) for k, v in phases.items()},
            "stages": stages,
            "method": (("greedy fallback (" + "; ".join(errors) + ")") if errors else
                       ("column generation (fair cycles by vectorised search, gift chains by "
                        "dynamic programming over positions) with knapsack cuts, then integer "
                        "programs (HiGHS), large-neighbourhood search and reduced-cost fixing"
                        + ("; lexicographic stages" if lexicographic else ""))),
        },
    }
