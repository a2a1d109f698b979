"""Vectorised searches over the line graph for exchanges worth more than a threshold.

Both searches score an exchange as ``sum of its arcs' weights r + kappa[length]`` (``r`` are
reduced arc weights from the master problem's duals, ``kappa`` a constant per length, e.g.
``-parties²``) and return every exchange scoring above ``threshold`` — so with a threshold of
zero they *price* (columns that would improve the LP), with a negative one they enumerate what
reduced-cost fixing needs, and with ``limit`` they stop early (``complete`` is then false).

Cycles (``search_cycles``). Each cycle is found exactly once, from its *pivot*: its arc with
the largest weight (ties: smallest arc index). Every other arc of the cycle ranks below the
pivot, so a path from the pivot can be pruned as soon as ``partial + (arcs still needed) ×
r[pivot] + kappa`` cannot beat the threshold, and a pivot is tried only when
``k × r[pivot] + kappa[k]`` can. Paths grow through the successor windows of ``LineGraph``
(fair at every organisation, nobody twice) and close with an arc back to the pivot's giver
(looked up by organisation pair, fair with the last leg and with the pivot). Work is done a
bounded number of candidate extensions at a time (``BUDGET``).

Chains (``ChainSearch``). Position-indexed dynamic programming over arcs: ``B_1`` is the gift
arcs' weights and ``B_p[b] = r[b] + max B_{p-1}`` over the fair predecessors of ``b`` (a range
maximum over its predecessor window). A walk may visit an organisation twice; the best walks
become chains when they do not, and their value bounds every chain's. When a positive walk
hides no valid chain, ``enumerate`` settles it exactly: a forward search over elementary chains
pruned by a backward DP bound on what the rest of a chain can add. Chains are never listed all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .linegraph import LineGraph, chunks_by_weight, expand, range_max

#: Candidate extensions held in memory at once by a search.
BUDGET = 1_500_000
#: Organisation pairs up to which closing weights are looked up in a dense table.
DENSE_PAIRS = 9_000_000


@dataclass
class Found:
    """Exchanges found by a search: per length, an (n, k) array of arc ids in giving order
    (a cycle starts at its pivot, a chain at its gift) and their scores."""

    paths: dict[int, list[np.ndarray]] = field(default_factory=dict)
    scores: dict[int, list[np.ndarray]] = field(default_factory=dict)
    count: int = 0
    complete: bool = True
    rest_bound: float = -np.inf  # bounds the score of every exchange not returned
    rest_leg: float = -np.inf  # bounds score / legs of every exchange not returned

    def add(self, paths: np.ndarray, scores: np.ndarray) -> None:
        if len(scores):
            k = paths.shape[1]
            self.paths.setdefault(k, []).append(paths.astype(np.int64, copy=False))
            self.scores.setdefault(k, []).append(scores)
            self.count += len(scores)

    def arrays(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(np.concatenate(self.paths[k]), np.concatenate(self.scores[k]))
                for k in sorted(self.paths)]


class _Stop(Exception):
    pass


def scramble(m: int) -> np.ndarray:
    """A fixed pseudo-random key per index 0..m-1 (a bijection: multiplication by an odd
    constant modulo 2^32 on the index, then by position), for deterministic tie-breaking."""
    return (np.arange(m, dtype=np.uint64) * np.uint64(2654435761)) % np.uint64(1 << 32)


def search_cycles(lg: LineGraph, r: np.ndarray, kappa: np.ndarray, threshold: float,
                  max_len: int, *, limit: int | None = None,
                  deadline: float | None = None) -> Found:
    """Fair cycles of length 2..max_len with ``sum r + kappa[len] > threshold``.

    ``r`` is -inf on arcs that may not be used (gifts are never used); ``kappa`` is indexed by
    length (at least ``max_len + 1`` entries).
    """
    found = Found()
    m = lg.m
    if m == 0 or max_len < 2:
        return found
    usable = np.isfinite(r) & ~lg.gift
    score = np.where(usable, r, -np.inf)
    # Ties (equal weights, as in the first rounds) are broken by a fixed pseudo-random order
    # of the arcs, so that a search stopped early has spread over the whole market.
    order = np.lexsort((scramble(m), -score))
    kr = np.empty(m, dtype=np.int64)
    kr[order] = np.arange(m)
    # Best weight of an arc between each organisation pair (bound on a closing arc).
    pr = score[lg.pair_arcs]
    if len(pr):
        starts = np.flatnonzero(np.r_[True, lg.pair_key[1:] != lg.pair_key[:-1]])
        group_best = np.maximum.reduceat(pr, starts)
        group_of = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(pr)]))
    else:
        starts = np.zeros(0, dtype=np.int64)
        group_best = group_of = np.zeros(0)
    lengths = np.arange(2, max_len + 1)
    kap = np.asarray(kappa, dtype=np.float64)[2:max_len + 1]

    n = lg.n_orgs
    if n * n <= DENSE_PAIRS:
        # Small enough: a dense organisation x organisation table of the best closing weight.
        dense = np.full(n * n, -np.inf)
        if len(pr):
            dense[lg.pair_key[starts]] = group_best

        def pair_best(x: np.ndarray, s: np.ndarray) -> np.ndarray:
            return dense[x * n + s]
    else:
        def pair_best(x: np.ndarray, s: np.ndarray) -> np.ndarray:
            lo, hi = lg.pair_segments(x, s)
            out = np.full(len(x), -np.inf)
            has = hi > lo
            out[has] = group_best[group_of[lo[has]]]
            return out

    budget = BUDGET if limit is None else min(BUDGET, max(50 * limit, 20_000))
    gain = np.max(score[:, None] * lengths[None, :] + kap[None, :], axis=1)
    pivots = order[(usable & (gain > threshold))[order]]
    weight = (lg.succ_hi - lg.succ_lo)[pivots] + 1

    def check() -> None:
        if (limit is not None and found.count >= limit) or (
                deadline is not None and time.monotonic() > deadline):
            raise _Stop

    def close(paths: np.ndarray, partial: np.ndarray) -> None:
        j = paths.shape[1]
        piv, last = paths[:, 0], paths[:, -1]
        lo, hi = lg.pair_segments(lg.receiver[last], lg.giver[piv])
        rows, pos = expand(lo, hi)
        if not len(rows):
            return
        c = lg.pair_arcs[pos]
        p = piv[rows]
        ok = usable[c] & (kr[c] > kr[p])
        rows, c, p = rows[ok], c[ok], p[ok]
        ok = lg.fair(last[rows], c) & lg.fair(c, p)
        rows, c = rows[ok], c[ok]
        total = partial[rows] + score[c] + kappa[j + 1]
        ok = total > threshold
        if ok.any():
            found.add(np.column_stack([paths[rows[ok]], c[ok]]), total[ok])

    def grow(paths: np.ndarray, partial: np.ndarray) -> None:
        close(paths, partial)
        j = paths.shape[1]
        if j + 2 > max_len:
            return
        last = paths[:, -1]
        w = lg.succ_hi[last] - lg.succ_lo[last]
        for a, b in chunks_by_weight(w, budget):
            sub, part, lst = paths[a:b], partial[a:b], last[a:b]
            rows, pos = expand(lg.succ_lo[lst], lg.succ_hi[lst])
            nxt = lg.out_arcs[pos]
            piv = sub[rows, 0]
            ok = usable[nxt] & (kr[nxt] > kr[piv])
            rows, nxt, piv = rows[ok], nxt[ok], piv[ok]
            x = lg.receiver[nxt]
            ok = ~(lg.giver[sub[rows]] == x[:, None]).any(axis=1)
            rows, nxt, piv, x = rows[ok], nxt[ok], piv[ok], x[ok]
            new = part[rows] + score[nxt]
            jn = j + 1  # arcs on the path after this step
            # Cheap bound first (every further arc ranks below the pivot), then the exact best
            # closing arc for the paths that survive it.
            cheap = np.full(len(new), -np.inf)
            for k in range(jn + 1, max_len + 1):
                cheap = np.maximum(cheap, new + (k - jn) * score[piv] + kappa[k])
            ok = cheap > threshold
            rows, nxt, piv, x, new = rows[ok], nxt[ok], piv[ok], x[ok], new[ok]
            bound = new + pair_best(x, lg.giver[piv]) + kappa[jn + 1]
            for k in range(jn + 2, max_len + 1):
                bound = np.maximum(bound, new + (k - jn) * score[piv] + kappa[k])
            ok = bound > threshold
            if ok.any():
                grow(np.column_stack([sub[rows[ok]], nxt[ok]]), new[ok])
            check()

    done = 0
    try:
        for a, b in chunks_by_weight(weight, budget):
            chunk = pivots[a:b]
            grow(chunk[:, None], score[chunk])
            done = b
            check()
    except _Stop:
        found.complete = done >= len(pivots)
    if not found.complete:
        # Pivots come best first: the first one not searched bounds every cycle left out
        # (conservatively, the whole chunk that was interrupted is counted as not searched).
        found.rest_bound = float(gain[pivots[done]]) if done < len(pivots) else -np.inf
        if done < len(pivots):
            # Per leg: a k-cycle below the pivot scores at most k × r[pivot] + kappa[k].
            found.rest_leg = float(np.max(score[pivots[done]] + kap / lengths))
    return found


class ChainSearch:
    """Chains of one part: which arcs can stand at which position, and the searches."""

    def __init__(self, lg: LineGraph, max_chain: int) -> None:
        self.lg = lg
        self.K = max_chain
        self.reach: list[np.ndarray] = []  # reach[p-1]: arcs that can be the p-th transfer
        if max_chain < 1 or not lg.gift.any():
            return
        current = lg.gift.copy()
        self.reach.append(current)
        for _ in range(2, max_chain + 1):
            prefix = np.concatenate(([0], np.cumsum(current[lg.in_arcs])))
            nxt = ~lg.gift & (prefix[lg.pred_hi] > prefix[lg.pred_lo])
            if not nxt.any():
                break
            self.reach.append(nxt)
            current = nxt

    def arcs_used(self) -> np.ndarray:
        """Arcs that can appear in some chain (a superset: fairness checked pairwise only)."""
        used = np.zeros(self.lg.m, dtype=bool)
        for mask in self.reach:
            used |= mask
        return used

    # ------------------------------------------------------------------ pricing by walks

    def walks(self, r: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``B[p-1][b]``: best walk value with ``b`` as p-th transfer; ``arg``: its predecessor."""
        lg = self.lg
        B, arg = [], []
        if not self.reach:
            return B, arg
        B.append(np.where(self.reach[0], r, -np.inf))
        arg.append(np.full(lg.m, -1, dtype=np.int64))
        for p in range(1, len(self.reach)):
            prev = B[-1]
            keep = np.flatnonzero(np.isfinite(prev[lg.in_arcs]))
            vals = prev[lg.in_arcs[keep]]
            targets = np.flatnonzero(self.reach[p] & np.isfinite(r))
            lo = np.searchsorted(keep, lg.pred_lo[targets])
            hi = np.searchsorted(keep, lg.pred_hi[targets])
            best, pos = range_max(vals, lo, hi)
            cur = np.full(lg.m, -np.inf)
            a = np.full(lg.m, -1, dtype=np.int64)
            cur[targets] = best + r[targets]
            has = pos >= 0
            a[targets[has]] = lg.in_arcs[keep[pos[has]]]
            B.append(cur)
            arg.append(a)
        return B, arg

    def price(self, r: np.ndarray, kappa: np.ndarray, threshold: float,
              limit: int) -> tuple[Found, float]:
        """Chains scoring above ``threshold`` read off the best walks (at most ``limit``), and
        the best walk score (an upper bound on every chain's)."""
        found = Found()
        B, arg = self.walks(r)
        top = -np.inf
        found.rest_leg = -np.inf  # here: the best walk score per transfer (every chain's bound)
        for p, values in enumerate(B, start=1):
            scored = values + kappa[p]
            best_p = float(scored.max(initial=-np.inf))
            top = max(top, best_p)
            found.rest_leg = max(found.rest_leg, best_p / p)
            ends = np.flatnonzero(scored > threshold)
            if not len(ends):
                continue
            ends = ends[np.lexsort((scramble(self.lg.m)[ends], -scored[ends]))][:limit]
            path = np.empty((len(ends), p), dtype=np.int64)
            path[:, p - 1] = ends
            for q in range(p - 1, 0, -1):
                path[:, q - 1] = arg[q][path[:, q]]
            ok = self._elementary(path)
            found.add(path[ok], scored[ends[ok]])
        return found, top

    def _elementary(self, path: np.ndarray) -> np.ndarray:
        """Rows of ``path`` whose organisations (gift giver, then receivers) are distinct."""
        lg = self.lg
        orgs = np.column_stack([lg.giver[path[:, 0]], lg.receiver[path]])
        srt = np.sort(orgs, axis=1)
        return ~(srt[:, 1:] == srt[:, :-1]).any(axis=1)

    # ------------------------------------------------------------------ exact enumeration

    def enumerate(self, r: np.ndarray, kappa: np.ndarray, threshold: float, limit: int,
                  deadline: float | None = None) -> Found | None:
        """Every elementary chain scoring above ``threshold``; None when there are more than
        ``limit`` or the deadline passes. Paths grow depth-first in chunks of at most
        ``BUDGET`` candidate extensions, so memory stays bounded however many there are."""
        lg = self.lg
        found = Found()
        if not self.reach:
            return found
        K = len(self.reach)
        score = np.where(np.isfinite(r), r, -np.inf)
        # H[t][a]: the most t further transfers after arc a can add (walks: an upper bound).
        H = [np.zeros(lg.m)]
        seq = score[lg.out_arcs]
        for _ in range(1, K):
            best, _ = range_max(seq + H[-1][lg.out_arcs], lg.succ_lo, lg.succ_hi)
            H.append(best)

        def bound(partial: np.ndarray, last: np.ndarray, p: int) -> np.ndarray:
            out = np.full(len(last), -np.inf)
            for length in range(p, K + 1):
                out = np.maximum(out, partial + H[length - p][last] + kappa[length])
            return out

        def grow(paths: np.ndarray, partial: np.ndarray) -> None:
            p = paths.shape[1]
            done = partial + kappa[p] > threshold
            found.add(paths[done], partial[done] + kappa[p])
            if found.count > limit or (deadline is not None and time.monotonic() > deadline):
                raise _Stop
            if p == K or not len(paths):
                return
            last = paths[:, -1]
            width = lg.succ_hi[last] - lg.succ_lo[last]
            for a, b in chunks_by_weight(width, BUDGET):
                sub, part, lst = paths[a:b], partial[a:b], last[a:b]
                rows, pos = expand(lg.succ_lo[lst], lg.succ_hi[lst])
                nxt = lg.out_arcs[pos]
                ok = self.reach[p][nxt] & np.isfinite(score[nxt])
                rows, nxt = rows[ok], nxt[ok]
                x = lg.receiver[nxt]
                ok = ~(lg.giver[sub[rows]] == x[:, None]).any(axis=1)
                rows, nxt = rows[ok], nxt[ok]
                new = part[rows] + score[nxt]
                ok = bound(new, nxt, p + 1) > threshold
                if ok.any():
                    grow(np.column_stack([sub[rows[ok]], nxt[ok]]), new[ok])

        gifts = np.flatnonzero(self.reach[0] & np.isfinite(score))
        keep = bound(score[gifts], gifts, 1) > threshold
        gifts = gifts[keep]
        try:
            for a, b in chunks_by_weight(lg.succ_hi[gifts] - lg.succ_lo[gifts] + 1, BUDGET):
                grow(gifts[a:b, None], score[gifts[a:b]])
        except _Stop:
            return None
        return found
