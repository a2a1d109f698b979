"""Choosing the best set of candidate exchanges: an integer program over explicit columns.

Each candidate exchange is a binary column; each listing whose possible use exceeds its quantity
gets a knapsack row ``sum(quantity moved by chosen exchanges) <= quantity``. A lexicographic
objective is solved as a sequence of integer programs (hierarchical optimisation): optimise
level 1, then keep level 1 at its optimum while optimising level 2, and so on. Each stage is
warm-started from the previous stage's solution, which is feasible for it by construction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from . import highs


@dataclass(frozen=True)
class Stage:
    """One level of the objective: ``coefficients`` to maximise (or minimise), and whether its
    values are integers (so that "keep the optimum" can be written with a half-unit slack)."""

    name: str
    coefficients: np.ndarray
    maximise: bool = True
    integral: bool = False


@dataclass
class Packing:
    chosen: np.ndarray  # indices of the chosen columns, ascending
    status: str  # highs.OPTIMAL / highs.TIME_LIMIT / "fallback"
    stage_values: dict[str, float]
    bound: float  # proven bound on the first stage (maximised sense)
    method: str
    stages: list[dict] = field(default_factory=list)  # per stage: status, seconds, value, bound


def greedy_packing(
    usage: sp.csr_matrix, capacity: np.ndarray, score: np.ndarray,
    order_key: np.ndarray | None = None,
) -> np.ndarray:
    """Take columns in decreasing ``score`` while every row stays within capacity."""
    order = np.lexsort((np.arange(len(score)) if order_key is None else order_key, -score))
    remaining = capacity.astype(np.float64).copy()
    usage_csc = usage.tocsc()
    chosen = []
    for j in order:
        if score[j] <= 0:
            break
        rows = usage_csc.indices[usage_csc.indptr[j]:usage_csc.indptr[j + 1]]
        amounts = usage_csc.data[usage_csc.indptr[j]:usage_csc.indptr[j + 1]]
        if np.all(remaining[rows] + 1e-9 >= amounts):
            remaining[rows] -= amounts
            chosen.append(j)
    return np.array(sorted(chosen), dtype=np.int64)


def size_class_cuts(usage: sp.csr_matrix, capacity: np.ndarray,
                    rows: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Valid inequalities that tighten the LP of the knapsack rows: in a row of capacity Q, at
    most floor(Q / s) chosen columns can each use s units or more. (The LP alone would happily
    take 2.5 legs of 4 units from an offer of 10.)"""
    data_rows, upper = [], []
    for r in rows:
        cols = usage.indices[usage.indptr[r]:usage.indptr[r + 1]]
        sizes = usage.data[usage.indptr[r]:usage.indptr[r + 1]]
        for s in np.unique(sizes):
            members = cols[sizes >= s - 1e-9]
            k = int(np.floor(capacity[r] / s + 1e-9))
            if k < len(members):
                data_rows.append(members)
                upper.append(float(k))
    n = usage.shape[1]
    if not data_rows:
        return sp.csr_matrix((0, n)), np.zeros(0)
    indices = np.concatenate(data_rows)
    indptr = np.concatenate([[0], np.cumsum([len(m) for m in data_rows])])
    return (sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(data_rows), n)),
            np.array(upper))


def solve_packing(
    usage: sp.csc_matrix, capacity: np.ndarray, stages: list[Stage], time_limit: float
) -> Packing:
    """Optimise ``stages`` in order over binary columns with ``usage @ x <= capacity``.

    ``usage`` has one row per listing and one column per candidate. Rows that can never bind
    (the listing's total possible use fits its quantity) are dropped before solving.
    """
    started = time.monotonic()
    n = usage.shape[1]
    stage_values: dict[str, float] = {}
    if n == 0:
        return Packing(np.zeros(0, dtype=np.int64), highs.OPTIMAL,
                       {s.name: 0.0 for s in stages}, 0.0, "empty")
    usage = sp.csc_matrix(usage)
    binding = np.flatnonzero(np.asarray(usage.sum(axis=1)).ravel() > capacity + 1e-9)
    cut_rows, cut_upper = size_class_cuts(usage.tocsr(), capacity, binding)
    matrix = sp.vstack([usage[binding, :], cut_rows]).tocsc()
    matrix.sort_indices()
    h = highs.new_highs(time_limit)
    highs.add_empty_rows(h, np.full(matrix.shape[0], -highs.INF),
                         np.concatenate([capacity[binding], cut_upper]))
    highs.add_columns(h, np.zeros(n), matrix.indptr[:-1], matrix.indices, matrix.data)
    highs.set_integer(h, n)
    # Warm start: a greedy packing by the first level (then the second), never worse than it.
    score = stages[0].coefficients * (1 if stages[0].maximise else -1)
    if len(stages) > 1:
        second = stages[1].coefficients * (1 if stages[1].maximise else -1)
        score = score + 1e-3 * second / (1.0 + np.abs(second).max(initial=0.0))
    x = np.zeros(n)
    x[greedy_packing(usage.tocsr(), capacity, score)] = 1.0
    status = highs.OPTIMAL
    first_bound = None
    stage_log: list[dict] = []
    for k, stage in enumerate(stages):
        remaining = time_limit - (time.monotonic() - started)
        if remaining <= 0:
            status = highs.TIME_LIMIT
            break
        # The first level gets most of the time (a later level only reorders solutions that
        # are already best on it); the rest is shared, earlier levels first.
        if k == 0:
            share = 0.8 if len(stages) > 1 else 1.0
        else:
            weights = [len(stages) - j for j in range(k, len(stages))]
            share = weights[0] / sum(weights)
        highs.set_time_limit(h, remaining * share)
        t_stage = time.monotonic()
        sign = 1.0 if stage.maximise else -1.0
        h.changeColsCost(n, np.arange(n, dtype=np.int32), sign * stage.coefficients)
        h.setSolution(n, np.arange(n, dtype=np.int32), x)
        outcome = highs.run(h, mip=True)
        rest = time_limit - (time.monotonic() - started)
        if k == 0 and outcome.status == highs.TIME_LIMIT and rest > 0.5:
            # The first level is not proven yet: it gets the time kept for the others too.
            if float(stage.coefficients @ np.round(outcome.x)) > float(stage.coefficients @ x):
                x = np.round(outcome.x)
            h.setSolution(n, np.arange(n, dtype=np.int32), x)
            highs.set_time_limit(h, rest)
            outcome = highs.run(h, mip=True)
        if outcome.status not in (highs.OPTIMAL, highs.TIME_LIMIT):
            if k == 0:
                raise RuntimeError(f"HiGHS could not solve the packing ({outcome.status})")
            status = highs.TIME_LIMIT
            break
        candidate = np.round(outcome.x)
        # Keep the better of the warm start and what HiGHS returned (a timed-out stage may
        # return nothing better than where it started).
        if float(sign * stage.coefficients @ candidate) >= float(sign * stage.coefficients @ x):
            x = candidate
        if first_bound is None:
            first_bound = outcome.bound
        stage_bound = outcome.bound if stage.maximise else -outcome.bound
        stage_log.append({"stage": stage.name, "status": outcome.status,
                          "seconds": round(time.monotonic() - t_stage, 3),
                          "value": float(stage.coefficients @ x),
                          # JSON has no infinity: a bound HiGHS did not reach is null.
                          "bound": stage_bound if np.isfinite(stage_bound) else None})
        if outcome.status != highs.OPTIMAL:
            status = highs.TIME_LIMIT
            break
        if k + 1 < len(stages):
            achieved = float(stage.coefficients @ x)
            slack = 0.5 if stage.integral else 1e-7 * max(1.0, abs(achieved))
            if stage.maximise:
                highs.add_dense_row(h, stage.coefficients, achieved - slack, highs.INF)
            else:
                highs.add_dense_row(h, stage.coefficients, -highs.INF, achieved + slack)
    chosen = np.flatnonzero(x > 0.5)
    for stage in stages:
        stage_values[stage.name] = float(stage.coefficients[chosen].sum())
    bound = stage_values[stages[0].name] if status == highs.OPTIMAL else max(
        first_bound if first_bound is not None else np.inf, stage_values[stages[0].name])
    return Packing(chosen, status, stage_values, float(bound), "integer program (HiGHS)",
                   stage_log)
