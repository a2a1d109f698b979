"""Chains of positive reduced cost: position-indexed dynamic programming over arcs.

A chain starts at a gift ``g`` and visits distinct pair nodes v1..vk (k <= K). Its reduced cost
is ``sum(arc weights) - gamma_g - sum(pi_vi)``. Writing ``r(u, v) = w(u, v) - pi_v``, the best
*walk* value ending at node v after p transfers is

    B_1(v) = max_g  w(g, v) - gamma_g - pi_v
    B_p(v) = max_u  B_{p-1}(u) + r(u, v)

one vectorised pass over the arc arrays per position (the PICEF idea of indexing arcs by their
position in a chain, used here for pricing instead of as model variables). Walks may revisit a
node; a revisit closes a loop whose removal leaves a chain that is at least as good whenever
every loop has non-positive reduced cost, which holds for loops that are cycles within the cap
once cycle pricing has converged. So: no walk with positive value => no chain with positive
reduced cost (the LP is optimal). When a positive walk exists but its shortened chain is not
positive (possible only with loops longer than the cycle cap), ``enumerate`` settles it exactly
with a bounded search over elementary chains.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _group_best(keys: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per key in 0..size-1: the largest value and the position of its first occurrence."""
    best = np.full(size, -np.inf)
    arg = np.full(size, -1, dtype=np.int64)
    if len(values) == 0:
        return best, arg
    order = np.lexsort((np.arange(len(values)), -values, keys))
    first = np.ones(len(order), dtype=bool)
    first[1:] = keys[order][1:] != keys[order][:-1]
    top = order[first]
    best[keys[top]] = values[top]
    arg[keys[top]] = top
    return best, arg


class ChainSearch:
    """Arc arrays of the pair graph and the gift arcs, for chain pricing and enumeration."""

    def __init__(self, n: int, g: int, src, dst, w, gsrc, gdst, gw, max_chain: int) -> None:
        self.n, self.g, self.K = n, g, max_chain
        self.src, self.dst, self.w = src.astype(np.int64), dst.astype(np.int64), w
        self.gsrc, self.gdst, self.gw = gsrc.astype(np.int64), gdst.astype(np.int64), gw
        out = sp.csr_matrix((np.arange(len(src)) + 1, (src, dst)), shape=(n, n))
        out.sort_indices()
        self.out_ptr, self.out_idx, self.out_arc = out.indptr, out.indices, out.data - 1
        order = np.lexsort((self.dst, self.src))
        self.keys = self.src[order] * n + self.dst[order]
        self.key_w = self.w[order]
        gorder = np.lexsort((self.gdst, self.gsrc))
        self.gkeys = self.gsrc[gorder] * n + self.gdst[gorder]
        self.gkey_w = self.gw[gorder]

    def weight(self, gift: int, path: tuple[int, ...]) -> float:
        total = float(self.gkey_w[np.searchsorted(self.gkeys, gift * self.n + path[0])])
        if len(path) > 1:
            a = np.array(path[:-1], dtype=np.int64)
            b = np.array(path[1:], dtype=np.int64)
            total += float(self.key_w[np.searchsorted(self.keys, a * self.n + b)].sum())
        return total

    def reduced_cost(self, gift: int, path: tuple[int, ...], pi: np.ndarray,
                     gamma: np.ndarray) -> float:
        return self.weight(gift, path) - float(gamma[gift]) - float(pi[list(path)].sum())

    # ------------------------------------------------------------------ pricing

    def walks(self, pi: np.ndarray, gamma: np.ndarray, allowed: np.ndarray | None = None,
              gift_allowed: np.ndarray | None = None):
        """Best walk values ``B[p][v]`` and the arc that reaches (v, p), for p = 1..K."""
        B, arg = [], []
        if self.K < 1 or len(self.gsrc) == 0:
            return B, arg
        vals = self.gw - gamma[self.gsrc] - pi[self.gdst]
        ok = np.ones(len(vals), dtype=bool)
        if allowed is not None:
            ok &= allowed[self.gdst]
        if gift_allowed is not None:
            ok &= gift_allowed[self.gsrc]
        vals = np.where(ok, vals, -np.inf)
        best, a = _group_best(self.gdst, vals, self.n)
        B.append(best)
        arg.append(a)
        arc_ok = np.ones(len(self.src), dtype=bool) if allowed is None else allowed[self.dst]
        reduced = np.where(arc_ok, self.w - pi[self.dst], -np.inf)
        for _ in range(2, self.K + 1):
            vals = B[-1][self.src] + reduced
            best, a = _group_best(self.dst, vals, self.n)
            B.append(best)
            arg.append(a)
        return B, arg

    def _walk(self, arg, p: int, v: int) -> tuple[int, list[int]]:
        path = [v]
        for q in range(p, 1, -1):
            a = int(arg[q - 1][path[-1]])
            path.append(int(self.src[a]))
        gift = int(self.gsrc[int(arg[0][path[-1]])])
        return gift, path[::-1]

    @staticmethod
    def _shortcut(path: list[int]) -> tuple[int, ...]:
        """Remove loops: keep the walk up to a node's first visit, then continue after its last."""
        out: list[int] = []
        position: dict[int, int] = {}
        for v in path:
            if v in position:
                del out[position[v] + 1:]
                position = {u: i for i, u in enumerate(out)}
            else:
                position[v] = len(out)
                out.append(v)
        return tuple(out)

    def price(self, pi: np.ndarray, gamma: np.ndarray, threshold: float, limit: int,
              allowed: np.ndarray | None = None, gift_allowed: np.ndarray | None = None):
        """Chains with reduced cost > threshold found from the best walks (up to ``limit``), and
        the best walk value (an upper bound on any chain's reduced cost)."""
        B, arg = self.walks(pi, gamma, allowed, gift_allowed)
        if not B:
            return [], -np.inf
        top = max(float(b.max()) for b in B)
        ends = []
        for p, b in enumerate(B, start=1):
            for v in np.flatnonzero(b > threshold):
                ends.append((-float(b[v]), p, int(v)))
        ends.sort()
        found: dict[tuple[int, tuple[int, ...]], float] = {}
        for _, p, v in ends:
            gift, walk = self._walk(arg, p, v)
            path = self._shortcut(walk)
            key = (gift, path)
            if key in found:
                continue
            rc = self.reduced_cost(gift, path, pi, gamma)
            if rc > threshold:
                found[key] = rc
                if len(found) >= limit:
                    break
        return sorted(found.items(), key=lambda kv: (-kv[1], kv[0])), top

    # ------------------------------------------------------------------ exact enumeration

    def enumerate(self, pi: np.ndarray, gamma: np.ndarray, threshold: float, limit: int,
                  deadline_check=None):
        """Every elementary chain with reduced cost >= threshold (None if more than ``limit``).

        Paths grow one position at a time as arrays; a path is extended only if its value plus
        the best value any continuation could add (a backward DP over walks, at least zero
        since the chain may stop) still reaches the threshold.
        """
        if self.K < 1 or len(self.gsrc) == 0:
            return []
        reduced = self.w - pi[self.dst]
        # F[r][v]: the most r further transfers from v can add (>= 0: the chain may stop).
        F = [np.zeros(self.n)]
        for _ in range(1, self.K):
            best = np.full(self.n, -np.inf)
            np.maximum.at(best, self.src, reduced + F[-1][self.dst])
            F.append(np.maximum(best, 0.0))
        result = []
        vals = self.gw - gamma[self.gsrc] - pi[self.gdst]
        keep = vals + F[self.K - 1][self.gdst] >= threshold
        gifts = self.gsrc[keep]
        paths = self.gdst[keep][:, None]
        values = vals[keep]
        for p in range(1, self.K + 1):
            done = values >= threshold
            for gift, path, value in zip(gifts[done], paths[done], values[done], strict=True):
                result.append(((int(gift), tuple(int(x) for x in path)), float(value)))
            if len(result) > limit or (deadline_check and deadline_check()):
                return None
            if p == self.K or len(paths) == 0:
                break
            ends = paths[:, -1]
            starts, stops = self.out_ptr[ends], self.out_ptr[ends + 1]
            counts = stops - starts
            row = np.repeat(np.arange(len(paths)), counts)
            flat = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) \
                + np.repeat(starts, counts)
            nxt = self.out_idx[flat].astype(np.int64)
            new_vals = values[row] + reduced[self.out_arc[flat]]
            ok = new_vals + F[self.K - p - 1][nxt] >= threshold
            ok &= ~(paths[row] == nxt[:, None]).any(axis=1)
            row, nxt, new_vals = row[ok], nxt[ok], new_vals[ok]
            if len(row) > 20 * limit:
                return None
            gifts = gifts[row]
            paths = np.column_stack([paths[row], nxt])
            values = new_vals
        return result
