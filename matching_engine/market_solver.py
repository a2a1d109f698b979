"""Clearing a market document: arcs → parts → column generation per level → result dict.

Objective levels, per chosen exchange e with k legs (the market's default order):
  needs       k (each leg meets a need at or above its minimum)          maximise
  value       the credits its legs move (quantity × currency value)      maximise
  parties     (number of organisations in e)²; squaring prefers two      minimise
              small exchanges to one large one with the same legs
  completion  k × product of its organisations' completion rates         maximise
              (the needs expected to be met once trust history is counted)
``lexicographic`` optimises them in that order, stage by stage, each stage keeping the ones
before at their optimum; the last two share one stage (-parties² + completion / (U + 1), where
U bounds the legs of any packing, so one unit of parties² always outweighs all completion).
``weighted`` maximises needs·w_needs + value·w_value − parties·w_parties + completion·w_completion.

Pipeline: ``arcs.build_arc_table`` (vectorised compatibility) → ``market_parts`` (independent
parts, usable arcs) → per solve unit, per stage, ``market_integer.solve_stage`` (column
generation with knapsack cuts, then integer programs and reduced-cost fixing) → the result
document (README "The matching engine"). Time is shared between units in proportion to their
arcs; a unit whose stage is not proven stops there (its later levels are those of the packing).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from . import highs
from .arcs import ArcTable, build_arc_table
from .exchanges import participant_fairness
from .market import LEXICOGRAPHIC, Market
from .market_columns import CHAIN, CYCLE, Objective
from .market_integer import StageOutcome, solve_stage
from .market_master import Master
from .market_parts import Part, decompose, solve_units

KINDS = {CYCLE: "cycle", CHAIN: "chain"}
#: Exchanges a fallback search collects before packing them greedily.
FALLBACK_COLUMNS = 20_000
#: Share of a unit's time kept back for each later stage.
LATER_STAGE_RESERVE = 0.12


def _round(value: float, digits: int = 6) -> float:
    return float(round(value, digits))


def objectives(market: Market, max_cycle: int, max_chain: int, m: int,
               value: np.ndarray) -> list[Objective]:
    """The stage objectives (the last stage's completion scale is set once legs are bounded)."""
    cyc = np.arange(max_cycle + 1, dtype=np.float64)
    chn = np.arange(max_chain + 1, dtype=np.float64)
    zero_c, zero_h = np.zeros(len(cyc)), np.zeros(len(chn))
    s = market.settings
    if s.objective == LEXICOGRAPHIC:
        return [Objective("needs", np.ones(m), zero_c, zero_h, 0.0, True),
                Objective("value", value.copy(), zero_c, zero_h, 0.0, False),
                Objective("parties_then_completion", np.zeros(m), -cyc ** 2, -(chn + 1) ** 2,
                          0.0, False)]
    w = s.weights
    integral = (float(w["needs"]).is_integer() and float(w["parties"]).is_integer()
                and w["value"] == 0 and w["completion"] == 0)
    return [Objective("weighted", w["needs"] + w["value"] * value, -w["parties"] * cyc ** 2,
                      -w["parties"] * (chn + 1) ** 2, w["completion"], integral)]


def solve_unit(part: Part, market: Market, max_cycle: int, max_chain: int,
               deadline: float) -> tuple[Master, list[StageOutcome], np.ndarray]:
    """Every stage of one unit; returns the master, stage outcomes and the chosen columns."""
    master = Master(part, max_cycle, max_chain, set(market.settings.declined))
    stages = objectives(market, max_cycle, max_chain, part.m, part.value)
    outcomes: list[StageOutcome] = []
    chosen: np.ndarray | None = None
    total = max(deadline - time.monotonic(), 0.0)
    for k, objective in enumerate(stages):
        # The first stage may use all the time (its integer program stops as soon as it is
        # proven); each later stage keeps a reserve for the ones after it.
        stage_deadline = deadline if k == 0 else \
            deadline - LATER_STAGE_RESERVE * total * (len(stages) - 1 - k)
        if objective.name == "parties_then_completion":
            legs = outcomes[0].bound if outcomes[0].bound is not None else part.m
            objective.completion = 1.0 / (math.floor(legs + 1e-6) + 1.0)
        out = solve_stage(master, objective, chosen, stage_deadline)
        outcomes.append(out)
        chosen = out.chosen
        if out.status != highs.OPTIMAL:
            break
        if k + 1 < len(stages):
            slack = 0.5 if objective.integral else 1e-7 * max(1.0, abs(out.value))
            master.fix_level(objective, out.value, slack)
    return master, outcomes, (chosen if chosen is not None else np.zeros(0, dtype=np.int64))


def fallback_packing(part: Part, market: Market, max_cycle: int, max_chain: int,
                     deadline: float) -> tuple[Master, np.ndarray]:
    """A greedy packing without any LP (when the exact method cannot run): the best-scoring
    exchanges of a plain search, taken greedily while every listing has room."""
    from .market_integer import greedy

    master = Master(part, max_cycle, max_chain, set(market.settings.declined))
    objective = objectives(market, max_cycle, max_chain, part.m, part.value)[0]
    master.objective = objective
    try:
        found, _, _ = master.search(objective.arc.copy(), objective.kappa_cycle,
                                    objective.kappa_chain, objective.completion, 0.0,
                                    FALLBACK_COLUMNS, max(deadline, time.monotonic() + 1.0))
        master.pool.add(found.items())
        cost = master.pool.cost(objective)
        return master, greedy(master, cost, cost)
    except (MemoryError, RuntimeError):
        return master, np.zeros(0, dtype=np.int64)


def trivial_bound(market: Market, table: ArcTable, usable: np.ndarray) -> tuple[float, float]:
    """(needs, value) upper bounds that need no solve: each need receives at most
    floor(quantity / least acceptable) legs and at most one per arc into it."""
    arcs = np.flatnonzero(usable & ~np.zeros(len(table), dtype=bool))
    needs_bound = value_bound = 0.0
    if not len(arcs):
        return 0.0, 0.0
    need = table.need[arcs]
    uniq, count = np.unique(need, return_counts=True)
    least = np.array([table.listings[i].least_acceptable for i in uniq])
    qty = table.capacity[uniq]
    needs_bound = float(np.minimum(count, np.floor(qty / least + 1e-9)).sum())
    val = np.zeros(len(table.listings))
    np.add.at(val, need, table.value[arcs])
    unit = np.array([market.currencies[table.listings[i].currency] for i in uniq])
    value_bound = float(np.minimum(val[uniq], qty * unit).sum())
    return needs_bound, value_bound


def exchange_record(table: ArcTable, arcs: list[int], kind: str, weight: float
                    ) -> dict[str, Any]:
    """One exchange of the result (same shape as the engine has always returned)."""
    listings, org_ids = table.listings, table.org_ids
    givers = [org_ids[int(table.giver[a])] for a in arcs]
    orgs = givers + ([org_ids[int(table.receiver[arcs[-1]])]] if kind == "chain" else [])
    given = {o: 0.0 for o in orgs}
    received = {o: 0.0 for o in orgs}
    legs = []
    for a in arcs:
        g, r = org_ids[int(table.giver[a])], org_ids[int(table.receiver[a])]
        v = float(table.value[a])
        given[g] += v
        received[r] += v
        offer, need = listings[int(table.offer[a])], listings[int(table.need[a])]
        legs.append({"from": g, "to": r, "offer": offer.id, "need": need.id,
                     "currency": offer.currency, "quantity": min(offer.quantity, need.quantity),
                     "value": _round(v)})
    exempt = {orgs[0], orgs[-1]} if kind == "chain" else set()
    participants, fairness_values = {}, []
    for o in orgs:
        f = None if o in exempt else participant_fairness(received[o], given[o])
        if f is not None:
            fairness_values.append(f)
        participants[o] = {"given": _round(given[o]), "received": _round(received[o]),
                           "fairness": None if f is None else _round(f, 4)}
    rates = [float(table.rate[int(table.giver[a])]) for a in arcs]
    if kind == "chain":
        rates.append(float(table.rate[int(table.receiver[arcs[-1]])]))
    return {
        "kind": kind, "nodes": orgs, "weight": _round(weight),
        "signature": [list(p) for p in sorted((leg["offer"], leg["need"]) for leg in legs)],
        "legs": legs, "participants": participants,
        "fairness": _round(min(fairness_values), 4) if fairness_values else None,
        "expected_completion": _round(math.prod(rates), 4),
    }


def solve_market(market: Market, max_cycle: int, max_chain: int, time_limit: float,
                 started: float) -> dict[str, Any]:
    """Clear ``market``; ``started`` is the monotonic time the solve began (for the deadline)."""
    from .market_report import assemble

    # Keep a margin for writing the result (a few % of the limit, at most 5 s).
    deadline = started + time_limit - min(0.03 * time_limit + 0.05, 5.0)
    phases: dict[str, float] = {}
    t = time.monotonic()
    table = build_arc_table(market)
    phases["build"] = time.monotonic() - t
    t = time.monotonic()
    label, usable = decompose(table, max_cycle, max_chain)
    units, counts = solve_units(table, label, usable)
    phases["decompose"] = time.monotonic() - t
    results = []
    timed_out = "build" if time.monotonic() > deadline else None
    remaining_arcs = sum(len(u) for u in units)
    for arcs, n_parts in zip(units, counts, strict=True):
        now = time.monotonic()
        share = len(arcs) / max(remaining_arcs, 1)
        unit_deadline = now + max(deadline - now, 0.0) * share
        remaining_arcs -= len(arcs)
        t = time.monotonic()
        part = Part(table, arcs, market.settings.fairness_threshold, max_cycle, max_chain,
                    n_parts)
        phases["decompose"] += time.monotonic() - t
        try:
            master, outs, chosen = solve_unit(part, market, max_cycle, max_chain,
                                              unit_deadline)
            results.append((part, master, outs, chosen, None))
        except (MemoryError, RuntimeError) as exc:  # the exact method could not run
            master, chosen = fallback_packing(part, market, max_cycle, max_chain,
                                              unit_deadline)
            results.append((part, master, [], chosen, exc))
    return assemble(market, table, label, usable, units, results, phases, max_cycle,
                    max_chain, timed_out, time.monotonic() > deadline)
