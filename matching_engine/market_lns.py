"""Improving a packing by large-neighbourhood search over the column pool.

On big markets an integer program over the whole pool does not even finish its root LP within a
run's limit. So the packing is improved one neighbourhood at a time: pick a few organisations,
free every pool column touching them, keep the rest of the packing fixed (its use of each
listing, and its share of every fixed level, are subtracted from the rows), and solve the small
integer program over the free columns exactly (HiGHS, warm-started from the current packing, so
it is never worse). Neighbourhoods are grown from seed organisations taken in a fixed
pseudo-random order, adding the organisations that share most pool columns with them, until
about ``FREE_COLUMNS`` columns are free.

Invariants: the packing stays feasible (capacities, fixed levels); its value never decreases;
the same input gives the same sequence of neighbourhoods (determinism).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from . import highs
from .market_columns import CHAIN
from .market_search import scramble

#: Columns freed per neighbourhood (the sub-problem HiGHS solves exactly, in well under 1 s).
FREE_COLUMNS = 1500
#: Time limit of one neighbourhood's integer program.
SUB_SECONDS = 2.0


def _org_incidence(master) -> sp.csr_matrix:
    """Organisations × columns, 1 where the organisation takes part."""
    part = master.part
    starts, arcs, owner, lengths, kinds = master.pool.flat()
    orgs = [part.giver[arcs]]
    cols = [owner]
    chain = np.flatnonzero(kinds == CHAIN)
    if len(chain):
        last = arcs[starts[chain] + lengths[chain] - 1]
        orgs.append(part.receiver[last])
        cols.append(chain)
    o, c = np.concatenate(orgs), np.concatenate(cols)
    return sp.csr_matrix((np.ones(len(o)), (o, c)), shape=(part.n_orgs, len(lengths)))


def improve(master, objective, current: np.ndarray, deadline: float,
            levels: list | None = None) -> tuple[np.ndarray, dict]:
    """Large-neighbourhood search from the packing ``current`` (column indices)."""
    part = master.part
    n = len(master.pool)
    log = {"neighbourhoods": 0, "improved": 0}
    if n == 0 or time.monotonic() >= deadline:
        return current, log
    cost = master.cost(objective)
    usage = master.pool.usage().T.tocsr()  # columns x arcs
    q = part.quantity
    # Listing usage per column: rows = listings.
    cu = usage.tocoo()
    lrows = np.concatenate([part.offer_row[cu.col], part.need_row[cu.col]])
    lcols = np.concatenate([cu.row, cu.row])
    L = sp.csc_matrix((np.concatenate([q[cu.col], q[cu.col]]), (lrows, lcols)),
                      shape=(part.n_rows, n))
    level_rows = [(master.cost(obj), lower) for obj, lower in (levels or [])]
    inc = _org_incidence(master)
    inc_t = inc.T.tocsr()
    co = (inc @ inc_t).tocsr()  # organisations sharing columns
    x = np.zeros(n, dtype=bool)
    x[current] = True
    value = float(cost[x].sum())
    seeds = np.argsort(scramble(part.n_orgs), kind="stable")
    k = 0
    while time.monotonic() < deadline - 0.05:
        seed = int(seeds[k % len(seeds)])
        k += 1
        if k > 3 * len(seeds):
            break
        free = np.zeros(n, dtype=bool)
        chosen = [seed]
        free[inc.indices[inc.indptr[seed]:inc.indptr[seed + 1]]] = True
        row = co.indices[co.indptr[seed]:co.indptr[seed + 1]]
        weight = co.data[co.indptr[seed]:co.indptr[seed + 1]]
        for org in row[np.lexsort((row, -weight))]:
            if free.sum() >= FREE_COLUMNS:
                break
            if org == seed:
                continue
            chosen.append(int(org))
            free[inc.indices[inc.indptr[org]:inc.indptr[org + 1]]] = True
        idx = np.flatnonzero(free & (cost > 0) | (free & x))
        if len(idx) == 0:
            continue
        fixed = x & ~free
        room = part.capacity - L[:, fixed].sum(axis=1).A.ravel()
        sub = L[:, idx].tocsr()
        touched = np.flatnonzero(np.diff(sub.indptr) > 0)
        A = sub[touched].tocsc()
        A.sort_indices()
        h = highs.new_highs(min(SUB_SECONDS, max(deadline - time.monotonic(), 0.05)))
        highs.add_empty_rows(h, np.full(len(touched), -highs.INF), room[touched] + 1e-9)
        highs.add_columns(h, cost[idx], A.indptr[:-1], A.indices, A.data)
        for coef, lower in level_rows:
            need = lower - float(coef[fixed].sum())
            c = coef[idx]
            nz = np.flatnonzero(c).astype(np.int32)
            h.addRow(float(need), highs.INF, len(nz), nz, c[nz])
        highs.set_integer(h, len(idx))
        h.setSolution(len(idx), np.arange(len(idx), dtype=np.int32), x[idx].astype(float))
        out = highs.run(h, mip=True)
        log["neighbourhoods"] += 1
        if out.status not in (highs.OPTIMAL, highs.TIME_LIMIT) or not len(out.x):
            continue
        pick = out.x > 0.5
        new_value = float(cost[fixed].sum() + cost[idx][pick].sum())
        if new_value > value + 1e-9:
            x[idx] = pick
            value = new_value
            log["improved"] += 1
    return np.flatnonzero(x), log


__all__ = ["improve"]
