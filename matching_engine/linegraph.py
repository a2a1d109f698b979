"""The line graph of fair consecutive legs, held implicitly as windows over sorted arcs.

In any exchange an organisation receives one leg and gives the next, and it is *fair* when
``min(received, given) / max(received, given) >= threshold`` (up to ``FAIR_EPS``). That relation
depends only on the two legs' values and is symmetric, and for a fixed value ``v`` the fair
values form one interval around ``v``. So if an organisation's legs are sorted by value, the
legs that may follow (or precede) a given leg through it are one contiguous *window*:

* ``succ_lo[a]:succ_hi[a]`` — positions in ``out_arcs`` (non-gift arcs sorted by (giver, value))
  of the arcs that may follow arc ``a`` (same organisation, fair);
* ``pred_lo[b]:pred_hi[b]`` — positions in ``in_arcs`` (all arcs sorted by (receiver, value))
  of the arcs that may precede arc ``b``.

No list of line-graph edges is ever built (an organisation with 1,000 legs in and out would
have up to a million); searches expand windows a bounded chunk at a time, and dynamic
programmes take range maxima over them with a sparse table (``range_max``).

Windows are exact: the fairness test is evaluated with the same arithmetic as
``exchanges.fair`` on the distinct values (interval ends are found by a widened binary search,
then corrected by the exact test), so a window holds exactly the legs ``fair`` accepts.
"""

from __future__ import annotations

import numpy as np

FAIR_EPS = 1e-9


def fair_values(received: np.ndarray, given: np.ndarray, threshold: float) -> np.ndarray:
    """Vectorised ``exchanges.fair`` (same arithmetic, so the same decisions)."""
    received = np.asarray(received, dtype=np.float64)
    given = np.asarray(given, dtype=np.float64)
    if threshold <= 0:
        return np.ones(np.broadcast(received, given).shape, dtype=bool)
    high = np.maximum(received, given)
    low = np.minimum(received, given)
    return (high <= 0) | (low >= threshold * high - FAIR_EPS * high)


def fair_rank_windows(values: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """For sorted distinct ``values``: [lo, hi) of the ranks of the values fair with each."""
    k = len(values)
    if threshold <= 0 or k == 0:
        return np.zeros(k, dtype=np.int64), np.full(k, k, dtype=np.int64)
    t = threshold - FAIR_EPS
    if t <= 0:
        return np.zeros(k, dtype=np.int64), np.full(k, k, dtype=np.int64)
    lo = np.searchsorted(values, values * t * (1 - 1e-12), side="left")
    hi = np.searchsorted(values, values / t * (1 + 1e-12), side="right")
    ranks = np.arange(k)
    # Correct the widened ends with the exact test (the fair set is an interval around each
    # value), then extend where the widening fell short (values within rounding of the bound).
    while True:
        bad = (lo < ranks) & ~fair_values(values, values[np.minimum(lo, k - 1)], threshold)
        if not bad.any():
            break
        lo[bad] += 1
    while True:
        bad = (hi > ranks + 1) & ~fair_values(values, values[np.maximum(hi - 1, 0)], threshold)
        if not bad.any():
            break
        hi[bad] -= 1
    while True:
        more = (lo > 0) & fair_values(values, values[np.maximum(lo - 1, 0)], threshold)
        if not more.any():
            break
        lo[more] -= 1
    while True:
        more = (hi < k) & fair_values(values, values[np.minimum(hi, k - 1)], threshold)
        if not more.any():
            break
        hi[more] += 1
    return lo, hi


def range_max(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray,
                                                                        np.ndarray]:
    """For each window [lo_i, hi_i) of ``values``: its maximum and the position of a maximum
    (the first one); -inf and -1 for empty windows.

    A sparse table built one level at a time: queries of width in [2^k, 2^(k+1)) are answered
    from level k (two overlapping blocks), then the level below is dropped, so memory stays at
    two copies of ``values`` however wide the windows are.
    """
    values = np.asarray(values, dtype=np.float64)
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    width = hi - lo
    best = np.full(len(lo), -np.inf)
    arg = np.full(len(lo), -1, dtype=np.int64)
    ok = np.flatnonzero(width > 0)
    if len(ok) == 0:
        return best, arg
    level = np.zeros(len(ok), dtype=np.int64)
    w = width[ok]
    while True:
        grow = (np.int64(2) << level) <= w
        if not grow.any():
            break
        level += grow
    table = values
    targ = np.arange(len(values), dtype=np.int64)
    step = 1
    for lv in range(int(level.max()) + 1):
        if lv:
            left, right = table[:-step], table[step:]
            take_right = right > left
            table = np.where(take_right, right, left)
            targ = np.where(take_right, targ[step:], targ[:-step])
            step *= 2
        sel = ok[level == lv]
        if len(sel):
            a, b = lo[sel], hi[sel] - step
            left, right = table[a], table[b]
            take_right = right > left
            best[sel] = np.where(take_right, right, left)
            arg[sel] = np.where(take_right, targ[b], targ[a])
    return best, arg


class LineGraph:
    """Arcs of one part with the windows described in the module docstring.

    ``giver``/``receiver`` are organisation numbers 0..n_orgs-1 (natural id order), ``value``
    the credits each arc moves, ``gift`` whether it starts from a gift offer.
    """

    def __init__(self, n_orgs: int, giver: np.ndarray, receiver: np.ndarray, value: np.ndarray,
                 gift: np.ndarray, threshold: float) -> None:
        self.n_orgs = n_orgs
        self.m = m = len(giver)
        self.giver = giver.astype(np.int64)
        self.receiver = receiver.astype(np.int64)
        self.value = value.astype(np.float64)
        self.gift = gift.astype(bool)
        self.threshold = threshold
        distinct, rank = np.unique(self.value, return_inverse=True)
        self.rank = rank.astype(np.int64)
        nr = max(len(distinct), 1)
        wlo, whi = fair_rank_windows(distinct, threshold)
        idx = np.arange(m, dtype=np.int64)
        # Successor side: non-gift arcs by (giver, value rank, arc).
        ng = np.flatnonzero(~self.gift)
        order = ng[np.lexsort((ng, self.rank[ng], self.giver[ng]))]
        self.out_arcs = order
        out_key = self.giver[order] * nr + self.rank[order]
        base = self.receiver * nr
        self.succ_lo = np.searchsorted(out_key, base + wlo[self.rank], side="left")
        self.succ_hi = np.searchsorted(out_key, base + whi[self.rank], side="left")
        # Predecessor side: every arc by (receiver, value rank, arc).
        order = np.lexsort((idx, self.rank, self.receiver))
        self.in_arcs = order
        in_key = self.receiver[order] * nr + self.rank[order]
        base = self.giver * nr
        self.pred_lo = np.searchsorted(in_key, base + wlo[self.rank], side="left")
        self.pred_hi = np.searchsorted(in_key, base + whi[self.rank], side="left")
        # Arcs grouped by (giver, receiver) pair, for closing a cycle back to its start.
        order = np.lexsort((idx, self.receiver, self.giver))
        self.pair_arcs = order
        self.pair_key = self.giver[order] * max(n_orgs, 1) + self.receiver[order]

    def pair_segments(self, giver: np.ndarray, receiver: np.ndarray) -> tuple[np.ndarray,
                                                                               np.ndarray]:
        """[lo, hi) in ``pair_arcs`` of the arcs giver -> receiver, for each requested pair."""
        key = np.asarray(giver, dtype=np.int64) * max(self.n_orgs, 1) + receiver
        return (np.searchsorted(self.pair_key, key, side="left"),
                np.searchsorted(self.pair_key, key, side="right"))

    def fair(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether arcs a[i] and b[i] are fair consecutive legs (values only)."""
        return fair_values(self.value[a], self.value[b], self.threshold)


def expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For windows [lo_i, hi_i): (i repeated, position) for every position in them."""
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    rows = np.repeat(np.arange(len(lo), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(total, dtype=np.int64) - np.repeat(starts - lo, counts)
    return rows, pos


def chunks_by_weight(weights: np.ndarray, budget: int) -> list[tuple[int, int]]:
    """Consecutive [start, end) ranges of ``weights`` whose sums stay near ``budget``."""
    n = len(weights)
    if n == 0:
        return []
    ends = np.cumsum(weights)
    out = []
    start = 0
    while start < n:
        base = ends[start - 1] if start else 0
        stop = int(np.searchsorted(ends, base + budget, side="right"))
        stop = max(stop, start + 1)
        out.append((start, min(stop, n)))
        start = stop
    return out
