"""Vectorised search for short cycles of positive reduced cost (and plain enumeration).

Nodes are 0..n-1 with capacity one. Every cycle is produced once, rotated to start at its
smallest node ``u``; all its other nodes are larger than ``u``. For a start ``u`` with
out-neighbours ``V`` (> u) and in-neighbours ``X`` (> u), the cycles of length 3 through ``u``
are exactly the arcs of the sub-matrix ``W[V, X]``: one NumPy gather per start node replaces
millions of Python-level path extensions. Longer cycles extend a frontier of paths from ``u``
one arc at a time (pruned by an upper bound on what the rest of the cycle can add) and close
them with the same two-arc trick.

A cycle's reduced cost is ``sum(arc weights) - sum(node duals)``; with ``duals`` all zero the
search is a plain enumeration. Only cycles whose reduced cost exceeds ``threshold`` are kept,
so no full list of cycles is ever built when only the promising ones are wanted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

#: Dense weight matrices are used up to this many cells (float64: 8 bytes each).
DENSE_CELLS = 40_000_000


@dataclass
class Found:
    """Cycles found by a scan: one (m, k) int32 array of nodes per length k, and their reduced
    costs; ``complete`` is true when every start node was scanned."""

    cycles: dict[int, list[np.ndarray]] = field(default_factory=dict)
    costs: dict[int, list[np.ndarray]] = field(default_factory=dict)
    count: int = 0
    complete: bool = True
    next_start: int = 0

    def add(self, k: int, nodes: np.ndarray, rc: np.ndarray) -> None:
        if len(rc) == 0:
            return
        self.cycles.setdefault(k, []).append(nodes.astype(np.int32, copy=False))
        self.costs.setdefault(k, []).append(rc)
        self.count += len(rc)

    def arrays(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        return {k: (np.concatenate(self.cycles[k]), np.concatenate(self.costs[k]))
                for k in sorted(self.cycles)}


class CycleSearch:
    """Holds the adjacency of a graph in the forms the scans need."""

    def __init__(self, n: int, src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> None:
        self.n = n
        self.src = src.astype(np.int32)
        self.dst = dst.astype(np.int32)
        self.weight = weight.astype(np.float64)
        out = sp.csr_matrix((np.arange(len(src)) + 1, (src, dst)), shape=(n, n))
        out.sort_indices()
        inn = out.tocsc()
        inn.sort_indices()
        self.out_ptr, self.out_idx = out.indptr, out.indices
        self.in_ptr, self.in_idx = inn.indptr, inn.indices
        self.out_arc = out.data - 1  # arc index of each CSR entry
        self.dense = n * n <= DENSE_CELLS
        if self.dense:
            # -inf marks "no arc": any sum through it stays -inf and fails the threshold.
            self.W = np.full((n, n), -np.inf)
            self.W[src, dst] = weight
        self.max_weight = float(weight.max()) if len(weight) else 0.0
        # Sorted arc keys (src * n + dst) for vectorised weight look-ups.
        order = np.lexsort((self.dst, self.src))
        self.keys = self.src[order].astype(np.int64) * n + self.dst[order]
        self.key_weight = self.weight[order]

    def arc_weight(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Weights of arcs a[i] -> b[i] (all must exist)."""
        pos = np.searchsorted(self.keys, a.astype(np.int64) * self.n + b)
        return self.key_weight[pos]

    # ------------------------------------------------------------------ helpers

    def _after(self, ptr: np.ndarray, idx: np.ndarray, u: int) -> np.ndarray:
        row = idx[ptr[u]:ptr[u + 1]]
        return row[np.searchsorted(row, u, side="right"):]

    def _block(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """W[rows, cols] as a dense array (-inf where there is no arc)."""
        if self.dense:
            return self.W[np.ix_(rows, cols)]
        block = np.full((len(rows), len(cols)), -np.inf)
        if len(rows) == 0 or len(cols) == 0:
            return block
        pos = np.full(self.n, -1, dtype=np.int64)
        pos[cols] = np.arange(len(cols))
        starts, ends = self.out_ptr[rows], self.out_ptr[rows + 1]
        lengths = ends - starts
        row_of = np.repeat(np.arange(len(rows)), lengths)
        flat = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends, strict=True)]) \
            if len(rows) else np.zeros(0, dtype=np.int64)
        targets = pos[self.out_idx[flat]]
        keep = targets >= 0
        block[row_of[keep], targets[keep]] = self.weight[self.out_arc[flat[keep]]]
        return block

    def _weights_to(self, rows: np.ndarray, u: int) -> np.ndarray:
        """W[rows, u]."""
        if self.dense:
            return self.W[rows, u]
        return self._block(rows, np.array([u]))[:, 0]

    # ------------------------------------------------------------------ scans

    def scan(
        self,
        max_len: int,
        duals: np.ndarray,
        threshold: float,
        *,
        start: int = 0,
        limit: int | None = None,
        deadline: float | None = None,
        allowed: np.ndarray | None = None,
        per_start: int | None = None,
    ) -> Found:
        """Cycles of length 2..max_len with reduced cost > ``threshold``.

        Start nodes are visited from ``start`` round-robin; with ``limit`` the scan stops after
        the start node at which that many cycles have been found (``complete`` false unless every
        start was visited). ``allowed`` (bool per node) restricts cycles to those nodes.
        """
        found = Found()
        n = self.n
        pi = duals.astype(np.float64)
        order = [(start + i) % n for i in range(n)]
        for step, u in enumerate(order):
            if allowed is not None and not allowed[u]:
                continue
            V = self._after(self.out_ptr, self.out_idx, u)
            X = self._after(self.in_ptr, self.in_idx, u)
            if allowed is not None:
                V, X = V[allowed[V]], X[allowed[X]]
            if len(V) and len(X):
                if per_start is None:
                    self._scan_start(u, V, X, max_len, pi, threshold, found)
                else:
                    local = Found()
                    self._scan_start(u, V, X, max_len, pi, threshold, local)
                    if local.count <= per_start:
                        for k, (nodes, rc) in local.arrays().items():
                            found.add(k, nodes, rc)
                    else:
                        parts = local.arrays()
                        costs = np.concatenate([rc for _, rc in parts.values()])
                        cut = np.sort(costs)[-per_start]
                        taken = 0
                        for k, (nodes, rc) in parts.items():
                            keep = np.flatnonzero(rc >= cut)[:per_start - taken]
                            taken += len(keep)
                            found.add(k, nodes[keep], rc[keep])
            if (limit is not None and found.count >= limit) or (
                deadline is not None and step % 64 == 63 and time.monotonic() > deadline
            ):
                found.complete = step == n - 1
                found.next_start = (u + 1) % n
                return found
        found.complete = True
        found.next_start = start
        return found

    def _scan_start(self, u: int, V: np.ndarray, X: np.ndarray, max_len: int, pi: np.ndarray,
                    threshold: float, found: Found) -> None:
        wu_out = self.W[u, V] if self.dense else self._block(np.array([u]), V)[0]
        first = wu_out - pi[V]  # reduced cost of the arc u -> v
        back = self._weights_to(X, u) - pi[u]  # reduced cost of the arc x -> u
        # Two-cycles: u -> v -> u with v in V ∩ X.
        common, iv, ix = np.intersect1d(V, X, assume_unique=True, return_indices=True)
        if len(common):
            rc = first[iv] + back[ix]
            keep = rc > threshold
            if keep.any():
                found.add(2, np.column_stack([np.full(keep.sum(), u), common[keep]]), rc[keep])
        if max_len < 3:
            return
        closing = back  # reduced cost of x -> u for x in X
        block_x = pi[X]
        # Three-cycles: u -> v -> x -> u is an arc v -> x of the block W[V, X].
        block = self._block(V, X)
        total = first[:, None] + (block - block_x[None, :]) + closing[None, :]
        iv3, ix3 = np.nonzero(total > threshold)
        if len(iv3):
            found.add(3, np.column_stack([np.full(len(iv3), u), V[iv3], X[ix3]]),
                      total[iv3, ix3])
        if max_len < 4:
            return
        # Longer cycles: extend paths u -> v -> ... -> e, then close with e -> x -> u.
        # best2[e] bounds what closing from e can add; rmax bounds any further arc.
        rmax = max(self.max_weight - float(pi.min(initial=0.0)), 0.0)
        paths = V[:, None].astype(np.int32)
        partial = first
        cand = np.arange(u + 1, self.n)
        # Bound on the best completion (two more arcs ending at u) from each candidate.
        comp = self._block(cand, X) - block_x[None, :] + closing[None, :]
        best2 = comp.max(axis=1) if comp.shape[1] else np.full(len(cand), -np.inf)
        best2_max = float(best2.max(initial=-np.inf))
        del comp
        for length in range(4, max_len + 1):
            # Extend every path by one arc to a node > u not yet on it.
            ext = partial[:, None] + self._block(paths[:, -1], cand) - pi[cand][None, :]
            # Keep a path if closing it now (two arcs) or later (more arcs, each adding at most
            # rmax, then the best two-arc closing anywhere) could still beat the threshold.
            later = (rmax * (max_len - length) + best2_max) if length < max_len else -np.inf
            ip, ic = np.nonzero(ext + np.maximum(best2, later)[None, :] > threshold)
            if len(ip) == 0:
                return
            on_path = (paths[ip] == cand[ic][:, None]).any(axis=1)
            ip, ic = ip[~on_path], ic[~on_path]
            paths = np.column_stack([paths[ip], cand[ic]])
            partial = ext[ip, ic]
            # Close: e -> x -> u for x in X not on the path.
            ends = paths[:, -1]
            total = partial[:, None] + self._block(ends, X) - block_x[None, :] + closing[None, :]
            jp, jx = np.nonzero(total > threshold)
            if len(jp):
                on_path = (paths[jp] == X[jx][:, None]).any(axis=1)
                jp, jx = jp[~on_path], jx[~on_path]
                found.add(length, np.column_stack([np.full(len(jp), u), paths[jp], X[jx]]),
                          total[jp, jx])
            if len(paths) > 2_000_000:  # guard: the caller's deadline will end the search
                return

    def count_three_cycles(self) -> int:
        """Number of directed 3-cycles (for reporting), counted in blocks without storing them."""
        if self.dense:
            A = np.isfinite(self.W).astype(np.float32)
            return int(round(float(np.einsum("ij,ji->", A @ A, A)) / 3))
        A = sp.csr_matrix((np.ones(len(self.src), dtype=np.float64), (self.src, self.dst)),
                          shape=(self.n, self.n))
        return int(round((A @ A).multiply(A.T).sum() / 3))
