"""Integer solutions of one lexicographic stage of a part, with their proof (or bound).

After column generation (with knapsack cuts) the LP bound ``z`` of the stage is valid for every
packing of every exchange, generated or not. Then:

1. An incumbent: the previous stage's packing (feasible: it meets every level fixed so far), or
   for the first stage a greedy packing in the LP's order; then HiGHS's integer program over
   the column pool (capacity rows, level rows and cuts), warm-started from it, stopping as soon
   as it reaches the LP bound (rounded down when the stage's values are integers).
2. Proof. Reaching the bound proves optimality. Otherwise *reduced-cost fixing*: with the LP's
   optimal duals, any packing worth ``t`` or more uses only exchanges of reduced cost at least
   ``t - z`` (each exchange costs the bound its reduced cost). All of them are searched for
   (cycles and chains, exactly, up to ``RC_LIMIT``) and the integer program over them is exact
   for anything better than the incumbent: HiGHS either proves the incumbent optimal, finds a
   better packing, or stops on time with a bound that is then valid for the whole stage.

Invariants: the returned packing always satisfies every capacity and every fixed level; the
bound is always valid (never below a packing that exists); ``optimal`` is claimed only with a
proof from 2.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from . import highs
from .market_lns import construct, improve
from .market_master import EPS, Master, Objective

#: Reduced-cost fixing gives up (no proof; the LP bound stands) beyond this many exchanges.
RC_LIMIT = 300_000
#: Knapsack cuts are separated during this share of the LP phase (the rest converges it).
CUT_SHARE = 0.8
#: Beyond this many listings in one part the LP is not attempted (it would not converge
#: within a run's limit on a 2-core machine); see ``_without_lp``.
LP_MAX_ROWS = 30_000
#: Share of the time the constructive packing may take when there is no LP.
CONSTRUCT_SHARE = 0.4
#: Up to this many columns HiGHS's integer program runs over the whole pool.
MIP_POOL = 6000
#: ... and up to this many listings: beyond, HiGHS's own heuristics trail the neighbourhood
#: search (200 organisations, 1,619 listings: 8 s of pool MIP found 446–466 needs met, the same
#: time of neighbourhood search ~499; at 100 organisations the MIP still adds one or two).
MIP_ROWS = 1200
#: ... with this share of the stage's time left after column generation.
POOL_MIP_SHARE = 0.8
#: Up to this many columns reduced-cost fixing (a proof attempt) is tried, with this share of
#: the time left.
RC_POOL = 20_000
RC_SHARE = 0.5
#: ... and, beyond ``RC_ALWAYS_ROWS`` listings, only when the gap is at most ``RC_GAP``
#: (relative): at 200 organisations and a 9 % gap the exchanges within it numbered ~200,000,
#: the integer program over them did not finish, and the attempt only took time from the search.
RC_GAP = 0.01
RC_ALWAYS_ROWS = 600


@dataclass
class StageOutcome:
    name: str
    chosen: np.ndarray  # column indices of the packing
    value: float
    bound: float | None  # valid upper bound (maximised sense), None if none is known
    status: str  # highs.OPTIMAL or highs.TIME_LIMIT
    log: dict = field(default_factory=dict)


def greedy(master: Master, order_score: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Columns in decreasing ``order_score`` (then cost), kept while every listing has room."""
    part = master.part
    room = part.capacity.copy()
    chosen = []
    paths = master.pool.paths
    for j in np.lexsort((np.arange(len(cost)), -cost, -order_score)):
        if cost[j] <= 0:
            continue
        arcs = list(paths[j])
        rows = np.concatenate([part.offer_row[arcs], part.need_row[arcs]])
        q = np.concatenate([part.quantity[arcs], part.quantity[arcs]])
        if np.all(room[rows] + 1e-9 >= q):
            room[rows] -= q
            chosen.append(j)
    return np.array(sorted(chosen), dtype=np.int64)


def mip(master: Master, allowed: np.ndarray | None, start: np.ndarray, seconds: float,
        target: float | None) -> highs.Outcome | None:
    """The integer program over the pool (``allowed`` columns only), from ``start``."""
    if seconds <= 0.05:
        return None
    lp = master.h.getLp()
    n = lp.num_col_
    if n == 0:
        return None
    upper = np.ones(n)
    if allowed is not None:
        upper[~allowed] = 0.0
    lp.col_upper_ = upper
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n
    h = highs.new_highs(seconds)
    h.passModel(lp)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    if target is not None:
        h.setOptionValue("objective_target", float(target) - 1e-6)
        h.setOptionValue("mip_abs_gap", 0.999)
    x0 = np.zeros(n)
    x0[start] = 1.0
    h.setSolution(n, np.arange(n, dtype=np.int32), x0)
    return highs.run(h, mip=True)


def solve_stage(master: Master, objective: Objective, start: np.ndarray | None,
                deadline: float, lp_share: float = 0.5) -> StageOutcome:
    """Optimise ``objective`` over the part (earlier levels already fixed in ``master``)."""
    t0 = time.monotonic()
    log: dict = {"stage": objective.name}
    master.set_objective(objective)
    if master.part.n_rows > LP_MAX_ROWS:
        return _without_lp(master, objective, start, deadline, log)
    lp_deadline = t0 + lp_share * max(deadline - t0, 0.0)
    converged, outcome = master.column_generation(
        lp_deadline, cuts_until=t0 + CUT_SHARE * lp_share * max(deadline - t0, 0.0))
    bound = master.bound if math.isfinite(master.bound) else None
    lp_value = outcome.objective if (converged and outcome is not None) else None
    log.update(lp_bound=bound, lp_value=lp_value, converged=converged, cuts=len(master.cuts),
               columns=len(master), lp_seconds=round(time.monotonic() - t0, 3),
               lp_solves=master.lp_solves)
    if not converged:
        log["timed_out"] = "column_generation"

    cost = master.cost(objective)
    # Optimality within 1e-6 (relative), plus what the pricing tolerance adds to the bound.
    tol = 1e-6 * max(1.0, abs(bound or 0.0)) + master.n_rows * EPS
    if start is None:
        x_lp = np.zeros(len(cost))
        if outcome is not None and len(outcome.x):
            x_lp[:len(outcome.x)] = outcome.x
        start = greedy(master, x_lp, cost)
    best = np.asarray(start, dtype=np.int64)
    best_value = float(cost[best].sum())
    target = None
    if bound is not None:
        target = math.floor(bound + 1e-6) if objective.integral else bound - tol
    status = highs.TIME_LIMIT
    levels = [(e["objective"], e["lower"]) for e in master.extra if e["kind"] == "level"]

    def reached() -> bool:
        return target is not None and best_value >= target - tol

    if not reached() and len(master) <= MIP_POOL and master.n_rows <= MIP_ROWS:
        # Small pools: HiGHS's integer program over all of them (it may meet the bound). It
        # takes most of the time: at 100 organisations its root alone (cuts, then a sub-MIP that
        # finds ~239) needs ~8 s, more on a loaded machine, and the neighbourhood search after it
        # improved nothing there in 50 neighbourhoods (9.5 s).
        seconds = (deadline - time.monotonic()) * POOL_MIP_SHARE
        out = mip(master, None, best, seconds, target)
        if out is not None and out.status in (highs.OPTIMAL, highs.TIME_LIMIT, highs.TARGET):
            found = np.flatnonzero(out.x > 0.5)
            value = float(cost[found].sum())
            if value > best_value + 1e-9:
                best, best_value = found, value
        log["pool_mip"] = None if out is None else out.status
    if reached():
        status = highs.OPTIMAL
    elif bound is not None and converged and len(master) <= RC_POOL \
            and (master.n_rows <= RC_ALWAYS_ROWS
                 or bound - best_value <= RC_GAP * max(1.0, abs(bound))):
        # A proof attempt before searching further: cheap when the gap is small.
        t = time.monotonic()
        status, bound, best, best_value = _rc_fixing(
            master, objective, bound, best, best_value,
            time.monotonic() + RC_SHARE * max(deadline - time.monotonic(), 0.0), log)
        log["rc_seconds"] = round(time.monotonic() - t, 3)
    if status != highs.OPTIMAL and not reached() and time.monotonic() < deadline - 0.1:
        t = time.monotonic()
        improved, log["lns"] = improve(master, objective, best, deadline, levels,
                                       target=target)
        log["lns_seconds"] = round(time.monotonic() - t, 3)
        value = float(master.cost(objective)[improved].sum())
        if value > best_value + 1e-9:
            best, best_value = improved, value
    if status != highs.OPTIMAL and reached():
        status = highs.OPTIMAL
    if status != highs.OPTIMAL:
        log.setdefault("timed_out", "integer_program")
    if status == highs.OPTIMAL:
        bound = best_value
    elif bound is not None:
        if objective.integral:
            # Every packing's value is an integer: the bound's floor holds too (the same
            # rounding the target above relies on for a proof).
            bound = float(math.floor(bound + 1e-6))
        bound = max(bound, best_value)
    log.update(status=status, seconds=round(time.monotonic() - t0, 3), value=best_value,
               bound=bound)
    return StageOutcome(objective.name, np.sort(best), best_value, bound, status, log)


def _without_lp(master: Master, objective: Objective, start: np.ndarray | None,
                deadline: float, log: dict) -> StageOutcome:
    """Markets too big for the LP within a run: a constructed packing, improved by
    large-neighbourhood search; no bound of its own (the report uses the simple one)."""
    t0 = time.monotonic()
    log["lp"] = f"skipped ({master.part.n_rows} listings > {LP_MAX_ROWS})"
    if start is None:
        start, log["construct"] = construct(master, objective,
                                            t0 + CONSTRUCT_SHARE * (deadline - t0))
        log["construct_seconds"] = round(time.monotonic() - t0, 3)
    levels = [(e["objective"], e["lower"]) for e in master.extra if e["kind"] == "level"]
    t = time.monotonic()
    best, log["lns"] = improve(master, objective, start, deadline, levels)
    log["lns_seconds"] = round(time.monotonic() - t, 3)
    value = float(master.cost(objective)[best].sum())
    log.update(status=highs.TIME_LIMIT, seconds=round(time.monotonic() - t0, 3), value=value,
               bound=None, columns=len(master), timed_out="integer_program")
    return StageOutcome(objective.name, np.sort(best), value, None, highs.TIME_LIMIT, log)


def _rc_fixing(master: Master, objective: Objective, bound: float, best: np.ndarray,
               best_value: float, deadline: float, log: dict):
    """Step 2 of the module docstring. Returns (status, bound, best, best_value)."""
    step = 1.0 if objective.integral else 1e-6 * max(1.0, abs(best_value))
    goal = best_value + step  # what a better packing must reach
    threshold = goal - bound - 1e-7
    r, kc, kh, wc = master.bound_weights
    t = time.monotonic()
    found, complete, _ = master.search(r, kc, kh, wc, threshold, RC_LIMIT, deadline,
                                       exact_chains=True)
    master.pricing_seconds += time.monotonic() - t
    log["rc_threshold"] = threshold
    if not complete:
        log["rc_fixing"] = "too many exchanges or out of time"
        log.setdefault("timed_out", "optimality_proof")
        return highs.TIME_LIMIT, bound, best, best_value
    master.add_columns(found.items())
    allowed = master.pool.scores(r, kc, kh, wc) >= threshold
    allowed[best] = True
    log["rc_columns"] = int(allowed.sum())
    if not allowed.any():
        return highs.OPTIMAL, best_value, best, best_value  # nothing can do better
    out = mip(master, allowed, best, deadline - time.monotonic(), None)
    if out is None or out.status not in (highs.OPTIMAL, highs.TIME_LIMIT):
        log.setdefault("timed_out", "optimality_proof")
        return highs.TIME_LIMIT, bound, best, best_value
    cost = master.cost(objective)
    found_cols = np.flatnonzero(out.x > 0.5)
    value = float(cost[found_cols].sum())
    if value > best_value + 1e-9:
        best, best_value = found_cols, value
    if out.status == highs.OPTIMAL:
        return highs.OPTIMAL, best_value, best, best_value
    # Anything better than the incumbent lies in the pool: HiGHS's bound holds for it.
    log.setdefault("timed_out", "optimality_proof")
    return highs.TIME_LIMIT, max(best_value, min(bound, out.bound)), best, best_value


__all__ = ["EPS", "StageOutcome", "solve_stage", "greedy", "mip"]
