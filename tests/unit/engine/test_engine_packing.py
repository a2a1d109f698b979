"""The packing integer program, with and without its LP-guided start (used on large markets)."""

import numpy as np
import pytest
import scipy.sparse as sp

from matching_engine import highs, packing
from matching_engine.packing import Stage, greedy_packing, solve_packing


def random_packing(seed: int, columns: int = 70, rows: int = 18):
    """Columns touching 2–4 listings each, moving 1–4 units of listings holding 2–7."""
    rng = np.random.default_rng(seed)
    r, c, amounts = [], [], []
    for j in range(columns):
        for i in rng.choice(rows, size=int(rng.integers(2, 5)), replace=False):
            r.append(int(i))
            c.append(j)
            amounts.append(float(rng.integers(1, 5)))
    usage = sp.csc_matrix((amounts, (r, c)), shape=(rows, columns))
    capacity = rng.integers(2, 8, size=rows).astype(np.float64)
    legs = np.asarray((usage > 0).sum(axis=0)).ravel().astype(np.float64) / 2
    value = rng.uniform(1.0, 100.0, size=columns).round(2)
    return usage, capacity, [Stage("needs", np.floor(legs), True, True),
                             Stage("value", value, True, False)]


@pytest.mark.parametrize("seed", range(8))
def test_lp_guided_start_changes_nothing_when_the_program_is_proven(seed):
    usage, capacity, stages = random_packing(seed)
    plain = solve_packing(usage, capacity, stages, 20.0, guided_min_columns=10**9)
    guided = solve_packing(usage, capacity, stages, 20.0, guided_min_columns=0)
    assert plain.status == guided.status == highs.OPTIMAL
    assert guided.stage_values["needs"] == plain.stage_values["needs"]
    assert guided.stage_values["value"] == pytest.approx(plain.stage_values["value"], abs=1e-6)
    x = np.zeros(usage.shape[1])
    x[guided.chosen] = 1.0
    assert np.all(usage @ x <= capacity + 1e-9)
    assert "LP-guided" in guided.method and "LP-guided" not in plain.method


@pytest.mark.parametrize("seed", range(4))
def test_lp_guided_start_is_feasible_and_no_worse_than_greedy(seed, monkeypatch):
    # Restrict the program to fewer columns than the packing has, as on a large market.
    monkeypatch.setattr(packing, "LP_GUIDED_COLUMNS", 15)
    usage, capacity, stages = random_packing(seed, columns=120, rows=25)
    greedy = greedy_packing(usage.tocsr(), capacity, stages[0].coefficients)
    result = solve_packing(usage, capacity, stages, 20.0, guided_min_columns=0)
    start = result.stages[0]
    assert start["stage"] == "lp_guided_start"
    assert start["restricted_columns"] < usage.shape[1]
    assert start["value"] >= stages[0].coefficients[greedy].sum()
    # The LP bound bounds the start and the final packing alike.
    assert start["bound"] + 1e-6 >= result.stage_values["needs"] >= start["value"]
    x = np.zeros(usage.shape[1])
    x[result.chosen] = 1.0
    assert np.all(usage @ x <= capacity + 1e-9)


def test_a_timed_out_program_still_reports_a_valid_bound():
    usage, capacity, stages = random_packing(3, columns=400, rows=60)
    result = solve_packing(usage, capacity, stages, 0.05, guided_min_columns=0)
    lp_bound = result.stages[0]["bound"]
    assert lp_bound + 1e-6 >= result.bound >= result.stage_values["needs"]
    x = np.zeros(usage.shape[1])
    x[result.chosen] = 1.0
    assert np.all(usage @ x <= capacity + 1e-9)


def test_a_limit_used_up_by_the_guided_start_still_reports_the_lp_bound():
    """No integer stage gets to run (the LP-guided start takes the whole limit): the bound
    is the LP's, never infinity (seen on a loaded machine with a 0.05 s limit)."""
    usage, capacity, stages = random_packing(3, columns=400, rows=60)
    result = solve_packing(usage, capacity, stages, 1e-4, guided_min_columns=0)
    assert np.isfinite(result.bound)
    assert result.stages[0]["bound"] + 1e-6 >= result.bound >= result.stage_values["needs"]


def test_a_re_solved_model_gets_its_allowance_on_top_of_the_time_already_used():
    # HiGHS compares time_limit with the instance's cumulative run time: a model re-solved in
    # column generation must get the time it already used plus the new allowance, or every
    # re-solve after the first few seconds stops at once with a time-limit status.
    h = highs.new_highs()
    n = 200
    rng = np.random.default_rng(0)
    highs.add_empty_rows(h, np.array([-highs.INF]), np.array([3.0]))
    highs.add_columns(h, rng.random(n), np.arange(n), np.zeros(n, dtype=np.int64), np.ones(n))
    assert highs.run(h, mip=False).status == highs.OPTIMAL
    used = h.getRunTime()
    assert used > 0
    highs.set_time_limit(h, 5.0)
    assert h.getOptions().time_limit == pytest.approx(used + 5.0, rel=1e-12)
    assert highs.run(h, mip=False).status == highs.OPTIMAL
