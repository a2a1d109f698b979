"""Fair windows and range maxima (``linegraph``) against plain loops."""

from __future__ import annotations

import numpy as np
import pytest

from matching_engine.exchanges import fair
from matching_engine.linegraph import LineGraph, fair_rank_windows, range_max


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.9142857, 1.0])
def test_fair_windows_are_exactly_the_fair_values(threshold):
    rng = np.random.default_rng(1)
    values = np.unique(np.concatenate([np.round(rng.uniform(1, 500, 800), 2),
                                       [100.0, 50.0, 200.0, 1600.0, 1750.0]]))
    lo, hi = fair_rank_windows(values, threshold)
    for i, v in enumerate(values):
        ok = [j for j, w in enumerate(values) if fair(v, w, threshold)]
        assert (lo[i], hi[i]) == (ok[0], ok[-1] + 1) and len(ok) == hi[i] - lo[i]


def test_range_max_matches_a_loop():
    rng = np.random.default_rng(2)
    values = rng.normal(size=700)
    values[::7] = -np.inf
    lo = rng.integers(0, 700, 3000)
    hi = np.minimum(lo + rng.integers(0, 400, 3000), 700)
    best, arg = range_max(values, lo, hi)
    for i in range(3000):
        if hi[i] > lo[i]:
            segment = values[lo[i]:hi[i]]
            assert best[i] == segment.max() and values[arg[i]] == best[i]
            assert arg[i] == lo[i] + int(np.argmax(segment))  # the first maximum
        else:
            assert best[i] == -np.inf and arg[i] == -1


def test_windows_list_exactly_the_fair_successors_and_predecessors():
    rng = np.random.default_rng(3)
    n, m = 12, 300
    giver = rng.integers(0, n, m)
    receiver = (giver + rng.integers(1, n, m)) % n
    value = rng.choice([100.0, 150.0, 210.0, 300.0, 420.0, 900.0], m)
    gift = rng.random(m) < 0.1
    lg = LineGraph(n, giver, receiver, value, gift, 0.5)
    for a in range(m):
        succ = sorted(lg.out_arcs[lg.succ_lo[a]:lg.succ_hi[a]].tolist())
        assert succ == [b for b in range(m) if giver[b] == receiver[a] and not gift[b]
                        and fair(value[a], value[b], 0.5)]
        pred = sorted(lg.in_arcs[lg.pred_lo[a]:lg.pred_hi[a]].tolist())
        assert pred == [b for b in range(m) if receiver[b] == giver[a]
                        and fair(value[b], value[a], 0.5)]
