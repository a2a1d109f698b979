"""A sharper bound for a pricing round: the positive reduced costs a *packing* can collect.

For duals ``y`` of the right signs every packing X satisfies ``value(X) <= D(y) + sum over e
in X of rc_e(y)`` (``market_master``). The master's round bounds then take the worst case for
the sum: every one of the ``n_listings`` legs a packing may have at the best reduced cost per
leg. But the exchanges with a positive reduced cost — when pricing returned all of them — are
known, and they crowd onto the same few listings (pricing finds many variants of the same
improving structure), so a packing can use only a few of them at once. The largest sum a
packing can collect is at most the LP

    max sum_e rc_e x_e   s.t.  listing rows (quantities) and knapsack cuts over the
                               candidates,  0 <= x_e <= 1

over the candidates (returned exchanges and pool columns with rc > 0): the candidates a
packing uses form a packing themselves, feasible for every row of it. Every other exchange has
rc <= ``rest_leg`` × its legs (the search's bound for what it did not return; ``EPS`` covers
those it skipped at the tolerance), and a packing has at most ``n_listings`` legs, so

    value(X) <= D(y) + LP + n_listings × max(rest_leg, EPS).

Measured at 500 organisations, 12 pricing rounds in (LP 1,490.2): the per-leg bound says
1,561, this one 1,492.3; after the first cut round (LP 1,453.1) 1,559 against 1,454.2. Column
generation can then stop as soon as the bound's floor meets the LP's, and more cut rounds fit
in the time.
"""

from __future__ import annotations

import highspy
import numpy as np
import scipy.sparse as sp

from . import highs


def packing_lp(part, paths: list[np.ndarray], rc: list[np.ndarray],
               cut_matrix: sp.csr_matrix | None, seconds: float | None = None) -> float:
    """The LP of the module docstring over candidate exchanges given as arrays of arc ids
    (one (n, k) array per group, with their reduced costs), solved for at most ``seconds``;
    +inf if the solver gives no duals."""
    rows, cols, vals, costs = [], [], [], []
    offset = 0
    for p, s in zip(paths, rc, strict=True):
        n, k = p.shape
        if not n:
            continue
        q = part.quantity[p].ravel()
        owner = np.repeat(np.arange(offset, offset + n), k)
        rows += [part.offer_row[p].ravel(), part.need_row[p].ravel()]
        cols += [owner, owner]
        vals += [q, q]
        costs.append(s)
        offset += n
    if not offset:
        return 0.0
    use = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(part.n_rows, offset))
    upper = [part.capacity]
    blocks = [use]
    if cut_matrix is not None and cut_matrix.shape[0]:
        arcs = np.concatenate([p.ravel() for p in paths if len(p)])
        owner = np.concatenate([np.repeat(np.arange(len(p)), p.shape[1]) for p in paths
                                if len(p)])
        starts = np.cumsum([0] + [len(p) for p in paths if len(p)])[:-1]
        owner = owner + np.repeat(starts, [p.size for p in paths if len(p)])
        arc_use = sp.csc_matrix((np.ones(len(arcs)), (arcs, owner)), shape=(part.m, offset))
        blocks.append((cut_matrix @ arc_use).tocsr())
        upper.append(np.ones(cut_matrix.shape[0]))
    mat = sp.vstack(blocks).tocsr()
    keep = np.diff(mat.indptr) > 0  # rows no candidate touches
    mat, upper = mat[keep], np.concatenate(upper)[keep]
    h = highs.new_highs(seconds)
    cost = np.concatenate(costs)
    h.addVars(offset, np.zeros(offset), np.ones(offset))
    h.changeColsCost(offset, np.arange(offset, dtype=np.int32), cost)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    h.addRows(mat.shape[0], np.full(mat.shape[0], -highs.INF), upper, mat.nnz,
              mat.indptr[:-1].astype(np.int32), mat.indices.astype(np.int32), mat.data)
    out = highs.run(h, mip=False)
    if out.row_duals is None:
        return np.inf
    # Weak duality with the solver's duals (made non-negative): exact whatever its tolerances,
    # and valid even if it stopped on time (any non-negative duals give an upper bound).
    u = np.maximum(out.row_duals, 0.0)
    return float(u @ upper + np.maximum(cost - mat.T @ u, 0.0).sum())
