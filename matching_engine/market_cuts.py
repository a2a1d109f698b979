"""Knapsack cuts for the listing rows of the market master problem.

Each listing ``l`` gives a knapsack row over the arcs touching it: ``sum_a q_a z_a <= Q_l``,
where ``z_a`` (0 or 1) says whether arc ``a`` is used by a chosen exchange. Its LP relaxation
is weak: 10 z_1 + 14 z_2 <= 20 admits z = (1, 0.7) although the two legs never fit together.
So the master problem also carries valid inequalities ``sum_{a in S} alpha_a z_a <= 1`` of the
row's knapsack polytope, separated from the LP solution: for a row whose support (arcs with
``z*_a > 0``) does not fit, the most violated inequality over that support is the optimum of a
small LP over the support's feasible patterns (subsets that fit),

    max alpha . z*   s.t.  alpha . p <= 1 for every feasible pattern p,  alpha >= 0.

An inequality valid on the support stays valid for the whole row with zero coefficients on the
other arcs: the polytope is down-monotone (drop the other arcs from any feasible set and it
still fits). The cuts are *robust*: written on arc usage, their duals simply lower the weights
of their arcs in pricing (``z_a = sum of x_e over exchanges e using a``), so the searches are
unchanged. Together they give the LP bound of the per-listing knapsack hulls.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

#: Largest support handled exactly (2^14 subsets); beyond it the arcs with the largest z*.
MAX_SUPPORT = 14
#: Minimum violation for a cut to be added.
MIN_VIOLATION = 1e-4


@dataclass
class Cut:
    listing: int  # local listing (row) index
    arcs: np.ndarray  # arc ids in the cut
    alpha: np.ndarray  # coefficients (rhs 1)


def _patterns(sizes: np.ndarray, capacity: float) -> np.ndarray:
    """Maximal feasible subsets (rows of 0/1) of items with ``sizes`` in a knapsack."""
    k = len(sizes)
    masks = np.arange(1 << k, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(k)[None, :]) & 1).astype(np.float64)
    load = bits @ sizes
    feasible = load <= capacity + 1e-9
    bits, load = bits[feasible], load[feasible]
    # Maximal: no single further item fits.
    room = capacity + 1e-9 - load
    can_add = (bits == 0) & (sizes[None, :] <= room[:, None])
    return bits[~can_add.any(axis=1)]


def _separate_batch(problems: list[tuple[np.ndarray, np.ndarray, float]]
                    ) -> list[np.ndarray | None]:
    """Solve the separation LPs of several rows at once (one block-diagonal HiGHS model)."""
    costs, starts, indices = [], [], []
    offsets = [0]
    n_rows = nnz = 0
    for z, sizes, capacity in problems:
        patterns = _patterns(sizes, capacity)
        r, c = np.nonzero(patterns)
        costs.append(z)
        starts.append(np.searchsorted(r, np.arange(patterns.shape[0])) + nnz)
        indices.append(c + offsets[-1])
        nnz += len(c)
        n_rows += patterns.shape[0]
        offsets.append(offsets[-1] + len(z))
    k = offsets[-1]
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    inf = highspy.kHighsInf
    cost = np.concatenate(costs).astype(np.float64)
    h.addVars(k, np.zeros(k), np.full(k, inf))
    h.changeColsCost(k, np.arange(k, dtype=np.int32), cost)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    idx = np.concatenate(indices).astype(np.int32)
    st = np.concatenate(starts).astype(np.int32)
    h.addRows(n_rows, np.full(n_rows, -inf), np.ones(n_rows), len(idx), st, idx,
              np.ones(len(idx)))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return [None] * len(problems)
    alpha_all = np.asarray(h.getSolution().col_value, dtype=np.float64)
    out: list[np.ndarray | None] = []
    for i, (z, _, _) in enumerate(problems):
        alpha = alpha_all[offsets[i]:offsets[i + 1]].copy()
        if float(alpha @ z) <= 1.0 + MIN_VIOLATION:
            out.append(None)
            continue
        alpha[alpha < 1e-9] = 0.0
        out.append(alpha)
    return out


def separate(z: np.ndarray, row_arcs: list[np.ndarray], rows: np.ndarray, quantity: np.ndarray,
             capacity: np.ndarray, limit: int = 2000) -> list[Cut]:
    """Violated knapsack inequalities for the listing ``rows`` given arc usage ``z``.

    ``row_arcs[l]`` lists the arcs touching listing ``l``; ``quantity[a]`` what arc ``a``
    moves; ``capacity[l]`` the listing's quantity. At most ``limit`` cuts, most violated
    rows first (by how far the support's load exceeds the capacity, weighted by z).
    """
    candidates = []
    for row in rows:
        arcs = row_arcs[row]
        zs = z[arcs]
        support = arcs[zs > 1e-7]
        if len(support) < 2:
            continue
        sizes = quantity[support]
        if sizes.sum() <= capacity[row] + 1e-9:
            continue
        load = float(quantity[support] @ z[support])
        candidates.append((-load / capacity[row], int(row), support))
    candidates.sort(key=lambda c: (c[0], c[1]))
    problems, rows_of = [], []
    for _, row, support in candidates[:limit]:
        if len(support) > MAX_SUPPORT:
            order = np.lexsort((support, -z[support]))
            support = np.sort(support[order[:MAX_SUPPORT]])
        problems.append((z[support], quantity[support], float(capacity[row])))
        rows_of.append((row, support))
    cuts: list[Cut] = []
    if not problems:
        return cuts
    for (row, support), alpha in zip(rows_of, _separate_batch(problems), strict=True):
        if alpha is not None:
            keep = alpha > 0
            cuts.append(Cut(row, support[keep], alpha[keep]))
    return cuts
