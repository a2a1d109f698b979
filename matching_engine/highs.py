"""A thin layer over highspy: build a model from NumPy arrays, solve it, read it back.

HiGHS is used for every LP and MIP in the engine (see the README for why). All models are
maximisation problems over columns in [0, 1]; rows are ``lower <= A x <= upper``. Options are
fixed so that the same model gives the same answer on every run (one thread, fixed seed).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

INF = highspy.kHighsInf

OPTIMAL = "optimal"
TIME_LIMIT = "time_limit"
INFEASIBLE = "infeasible"
TARGET = "target"  # a MIP stopped because a solution reached ``objective_target``
OTHER = "other"


def new_highs(time_limit: float | None = None) -> highspy.Highs:
    """A silent, deterministic HiGHS instance."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    # Exact optima, not the default 0.01% relative gap: "provably best" means best.
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-7)
    if time_limit is not None:
        h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    return h


def set_time_limit(h: highspy.Highs, seconds: float) -> None:
    """Allow ``seconds`` more for the next run. HiGHS compares ``time_limit`` with the
    instance's *cumulative* run time (every earlier ``run`` counts), so a re-solved model (column
    generation, dives) must be given its elapsed time plus the new allowance — otherwise the
    re-solves after the first few seconds stop at once with a time-limit status."""
    h.setOptionValue("time_limit", h.getRunTime() + max(float(seconds), 0.01))


def add_columns(
    h: highspy.Highs,
    cost: np.ndarray,
    starts: np.ndarray,
    rows: np.ndarray,
    values: np.ndarray,
    upper: float = 1.0,
) -> None:
    """Add ``len(cost)`` columns in CSC form (``starts`` has one entry per column)."""
    n = len(cost)
    if n == 0:
        return
    h.addCols(
        n,
        np.ascontiguousarray(cost, dtype=np.float64),
        np.zeros(n),
        np.full(n, upper),
        len(rows),
        np.ascontiguousarray(starts, dtype=np.int32),
        np.ascontiguousarray(rows, dtype=np.int32),
        np.ascontiguousarray(values, dtype=np.float64),
    )


def add_empty_rows(h: highspy.Highs, lower: np.ndarray, upper: np.ndarray) -> None:
    n = len(lower)
    if n == 0:
        return
    h.addRows(n, np.asarray(lower, dtype=np.float64), np.asarray(upper, dtype=np.float64), 0,
              np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0))


def add_dense_row(h: highspy.Highs, coefficients: np.ndarray, lower: float, upper: float) -> None:
    idx = np.flatnonzero(coefficients).astype(np.int32)
    h.addRow(float(lower), float(upper), len(idx), idx, coefficients[idx].astype(np.float64))


def set_integer(h: highspy.Highs, n: int, integer: bool = True) -> None:
    if n == 0:
        return
    kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32), np.full(n, kind.value, dtype=np.uint8))


@dataclass
class Outcome:
    status: str
    objective: float
    bound: float
    x: np.ndarray
    row_duals: np.ndarray | None


def run(h: highspy.Highs, *, mip: bool) -> Outcome:
    """Solve and read back values (and row duals for an LP). Objective/bound are for maximising."""
    h.run()
    model_status = h.getModelStatus()
    info = h.getInfo()
    sol = h.getSolution()
    n = h.getNumCol()
    valid = bool(sol.value_valid)
    if mip:
        # A MIP stopped early may hold no feasible point (only a relaxation's values): never
        # hand those back as a packing.
        valid = valid and int(info.primal_solution_status) == int(
            highspy.SolutionStatus.kSolutionStatusFeasible)
    x = np.asarray(sol.col_value, dtype=np.float64) if valid else np.zeros(n)
    duals = np.asarray(sol.row_dual, dtype=np.float64) if (not mip and sol.dual_valid) else None
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = OPTIMAL
    elif model_status in (highspy.HighsModelStatus.kTimeLimit,
                          highspy.HighsModelStatus.kInterrupt,
                          highspy.HighsModelStatus.kIterationLimit):
        status = TIME_LIMIT
    elif model_status == highspy.HighsModelStatus.kObjectiveTarget:
        status = TARGET
    elif model_status == highspy.HighsModelStatus.kInfeasible:
        status = INFEASIBLE
    elif model_status == highspy.HighsModelStatus.kModelEmpty:
        # No columns: the empty solution is optimal and every row's dual is zero.
        status = OPTIMAL
        if not mip:
            duals = np.zeros(h.getNumRow())
    else:
        status = OTHER
    objective = float(info.objective_function_value) if valid else 0.0
    if mip:
        bound = float(info.mip_dual_bound) if status == TIME_LIMIT else objective
        if status == OPTIMAL:
            bound = objective
    else:
        bound = objective
    return Outcome(status, objective, bound, x, duals)
