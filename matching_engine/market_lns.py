"""Improving a packing by large-neighbourhood search, with exchanges enumerated on the way.

On big markets an integer program over the whole pool does not even finish its root LP within a
run's limit. So the packing is improved one neighbourhood at a time: pick a few organisations
N, keep every chosen exchange that does not touch N (its use of each listing, and its share of
every fixed level, are taken off the rows), and re-pack N exactly — HiGHS over the candidates

* every pool column touching N that still fits, and
* every fair exchange among N's organisations (enumerated on the spot by the line-graph
  searches on the arcs that still fit), so the search is not limited to the LP's columns,

warm-started from the current packing, so a neighbourhood never makes it worse. Neighbourhoods
grow from seed organisations taken in a fixed pseudo-random order, adding the organisations
most connected to them (shared pool columns, then arcs), within ``MAX_ORGS`` / ``MAX_ARCS``.
New exchanges that enter the packing join the pool (and the master LP).

Invariants: the packing stays feasible (capacities, fixed levels); its value never decreases;
the same input gives the same sequence of neighbourhoods and the same result.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from . import highs
from .linegraph import LineGraph
from .market_columns import CHAIN, CYCLE
from .market_search import ChainSearch, scramble, search_cycles

#: Neighbourhood size: organisations, arcs among them, exchanges enumerated among them (a
#: compromise measured on 500-organisation markets: many small neighbourhoods solved fast
#: beat few large ones).
MAX_ORGS = 12
MAX_ARCS = 3000
ENUM_LIMIT = 500
#: Pool columns freed per neighbourhood, at most.
FREE_COLUMNS = 1500
#: Time limit of one neighbourhood's integer program.
SUB_SECONDS = 0.3
#: Exchanges a constructive round looks at.
CONSTRUCT_BATCH = 20_000


def _org_incidence(master) -> sp.csr_matrix:
    """Organisations × columns, 1 where the organisation takes part."""
    part = master.part
    starts, arcs, owner, lengths, kinds = master.pool.flat()
    orgs, cols = [part.giver[arcs]], [owner]
    chain = np.flatnonzero(kinds == CHAIN)
    if len(chain):
        orgs.append(part.receiver[arcs[starts[chain] + lengths[chain] - 1]])
        cols.append(chain)
    o, c = np.concatenate(orgs), np.concatenate(cols)
    return sp.csr_matrix((np.ones(len(o)), (o, c)), shape=(part.n_orgs, len(lengths)))


class Neighbourhoods:
    """The organisations' links (shared pool columns, arcs) used to grow neighbourhoods."""

    def __init__(self, master) -> None:
        part = master.part
        n = part.n_orgs
        arcs = sp.csr_matrix((np.ones(part.m), (part.giver, part.receiver)), shape=(n, n))
        self.arcs = (arcs + arcs.T).tocsr()
        self.inc = _org_incidence(master)
        self.shared = (self.inc @ self.inc.T).tocsr() if self.inc.shape[1] else self.arcs * 0
        self.seeds = np.argsort(scramble(n), kind="stable")

    def grow(self, seed: int) -> np.ndarray:
        links = (self.shared[seed] * 1000.0 + self.arcs[seed]).tocsr()
        cand, weight = links.indices, links.data
        chosen = [seed]
        arcs_in = 0
        for org in cand[np.lexsort((cand, -weight))]:
            if len(chosen) >= MAX_ORGS:
                break
            if org == seed:
                continue
            extra = self.arcs[org, chosen].sum()
            if arcs_in + extra > MAX_ARCS:
                continue
            chosen.append(int(org))
            arcs_in += extra
        return np.array(sorted(chosen), dtype=np.int64)


def _enumerate_inside(master, inside: np.ndarray, arc_ok: np.ndarray) -> list[tuple]:
    """Every fair exchange (up to ``ENUM_LIMIT``) among the organisations ``inside`` (a mask)
    using only ``arc_ok`` arcs, as (kind, part arc ids) in canonical form."""
    part = master.part
    sub = np.flatnonzero(arc_ok & inside[part.giver] & inside[part.receiver])
    if not len(sub):
        return []
    orgs = np.flatnonzero(inside)
    giver = np.searchsorted(orgs, part.giver[sub])
    receiver = np.searchsorted(orgs, part.receiver[sub])
    lg = LineGraph(len(orgs), giver, receiver, part.value[sub], part.gift[sub],
                   part.lg.threshold)
    zero = np.zeros(len(sub))
    out = []
    cyc = search_cycles(lg, np.where(part.cycle_arc[sub], zero, -np.inf), np.zeros(master.L + 1),
                        -1.0, master.L, limit=ENUM_LIMIT)
    for paths, _ in cyc.arrays():
        rows = part.canonical_rows(sub[paths])
        out += [(CYCLE, tuple(r)) for r in rows.tolist()]
    if master.K and lg.gift.any():
        found = ChainSearch(lg, master.K).enumerate(zero, np.zeros(master.K + 1), -1.0,
                                                    ENUM_LIMIT)
        if found is not None:
            for paths, _ in found.arrays():
                out += [(CHAIN, tuple(r)) for r in sub[paths].tolist()]
    if master.declined and out:
        keep = []
        for kind, path in out:
            if part.signature(list(path)) not in master.declined:
                keep.append((kind, path))
        out = keep
    return out


def _score(master, objective, items: list[tuple]) -> np.ndarray:
    part = master.part
    out = np.empty(len(items))
    for i, (kind, path) in enumerate(items):
        arcs = list(path)
        k = len(arcs)
        rate = float(np.prod(part.rate[part.giver[arcs]]))
        if kind == CHAIN:
            rate *= float(part.rate[part.receiver[arcs[-1]]])
        kap = objective.kappa_cycle[k] if kind == CYCLE else objective.kappa_chain[k]
        out[i] = float(objective.arc[arcs].sum()) + kap + objective.completion * k * rate
    return out


def improve(master, objective, current: np.ndarray, deadline: float,
            levels: list | None = None, enumerate_new: bool = True,
            target: float | None = None) -> tuple[np.ndarray, dict]:
    """Large-neighbourhood search from the packing ``current`` (pool column indices), until
    the deadline, ``target`` (a proven bound) is reached, or a whole round of seeds brings
    nothing."""
    part = master.part
    log = {"neighbourhoods": 0, "improved": 0, "new_columns": 0}
    if not len(master.pool) or time.monotonic() >= deadline - 0.05:
        return current, log
    hoods = Neighbourhoods(master)
    pool = master.pool
    level_objs = [(obj, lower) for obj, lower in (levels or [])]
    chosen = {int(j) for j in current}
    room = part.capacity.copy()  # what the packing leaves of each listing
    totals = np.zeros(len(level_objs))  # the packing's value on each fixed level
    for j in chosen:
        _use(part, pool.paths[j], room, -1.0)
    if level_objs and chosen:
        idx = np.array(sorted(chosen), dtype=np.int64)
        totals = np.array([float(pool.cost(obj, idx).sum()) for obj, _ in level_objs])
    k = stale = 0
    value = float(pool.cost(objective, np.array(sorted(chosen), dtype=np.int64)).sum()) \
        if chosen else 0.0
    last_gain = 0
    while time.monotonic() < deadline - 0.05 and k - last_gain < part.n_orgs:
        if target is not None and value >= target - 1e-6:
            break
        seed = int(hoods.seeds[k % part.n_orgs])
        k += 1
        members = hoods.grow(seed)
        inside = np.zeros(part.n_orgs, dtype=bool)
        inside[members] = True
        # Columns of the packing that touch the neighbourhood are freed; the rest is fixed.
        touching = [j for j in chosen if _touches(part, pool.kind[j], pool.paths[j], inside)]
        free_room = room.copy()
        for j in touching:
            _use(part, pool.paths[j], free_room, +1.0)
        arc_ok = (free_room[part.offer_row] + 1e-9 >= part.quantity) & \
            (free_room[part.need_row] + 1e-9 >= part.quantity)
        cols = hoods.inc[members].indices if hoods.inc.shape[1] else np.zeros(0, dtype=int)
        cols = np.unique(cols)[:FREE_COLUMNS]
        items = [(pool.kind[j], pool.paths[j]) for j in touching]
        items += [(pool.kind[j], pool.paths[j]) for j in cols
                  if arc_ok[list(pool.paths[j])].all()]
        if enumerate_new:
            items += _enumerate_inside(master, inside, arc_ok)
        items = list(dict.fromkeys(items))
        if not items:
            continue
        freed = [(pool.kind[j], pool.paths[j]) for j in touching]
        have = totals.copy()
        for i, (obj, _) in enumerate(level_objs):
            have[i] -= float(_score(master, obj, freed).sum()) if freed else 0.0
        pick = _solve_sub(master, objective, items, free_room, len(touching), level_objs,
                          have, deadline)
        log["neighbourhoods"] += 1
        if pick is None:
            continue
        new = [items[i] for i in pick]
        gain = float(_score(master, objective, new).sum()
                     - (_score(master, objective, freed).sum() if freed else 0.0))
        if gain <= 1e-9:
            continue
        before = len(pool)
        master.add_columns(new)
        log["new_columns"] += len(pool) - before
        for j in touching:
            chosen.discard(j)
            _use(part, pool.paths[j], room, +1.0)
        for item in new:
            j = pool.keys[item]
            chosen.add(j)
            _use(part, pool.paths[j], room, -1.0)
        for i, (obj, _) in enumerate(level_objs):
            totals[i] = have[i] + float(_score(master, obj, new).sum())
        log["improved"] += 1
        value += gain
        last_gain = k
        stale += len(pool) - before
        if stale > 500:  # let new columns count as links between organisations
            hoods, stale = Neighbourhoods(master), 0
    return np.array(sorted(chosen), dtype=np.int64), log


def _use(part, path: tuple, room: np.ndarray, sign: float) -> None:
    arcs = list(path)
    np.add.at(room, part.offer_row[arcs], sign * part.quantity[arcs])
    np.add.at(room, part.need_row[arcs], sign * part.quantity[arcs])


def construct(master, objective, deadline: float) -> tuple[np.ndarray, dict]:
    """A packing built without any LP, for markets too big to solve one in time: search the
    best exchanges on the arcs that still fit, take them greedily (most valuable first, ties
    to those using the smallest share of their listings), repeat until nothing fits."""
    part = master.part
    room = part.capacity.copy()
    chosen: list[tuple] = []
    log = {"rounds": 0}
    # Prefer legs that use a small share of their offer and need (they leave room for more).
    share = part.quantity / part.capacity[part.offer_row] + \
        part.quantity / part.capacity[part.need_row]
    weight = objective.arc - 1e-3 * share * np.maximum(np.abs(objective.arc), 1e-9)
    while time.monotonic() < deadline:
        fits = (room[part.offer_row] + 1e-9 >= part.quantity) & \
            (room[part.need_row] + 1e-9 >= part.quantity)
        r = np.where(fits, weight, -np.inf)
        found, _, _ = master.search(r, objective.kappa_cycle, objective.kappa_chain,
                                    objective.completion, 0.0, CONSTRUCT_BATCH, deadline)
        log["rounds"] += 1
        taken = 0
        for kind, path in found.ordered(cap=4 * CONSTRUCT_BATCH):
            arcs = list(path)
            need = np.zeros(0)
            rows = np.concatenate([part.offer_row[arcs], part.need_row[arcs]])
            need = np.concatenate([part.quantity[arcs], part.quantity[arcs]])
            if np.all(room[rows] + 1e-9 >= need):
                np.subtract.at(room, rows, need)
                chosen.append((kind, path))
                taken += 1
        if taken == 0:
            break
    master.add_columns(chosen)
    idx = np.array(sorted(master.pool.keys[item] for item in chosen), dtype=np.int64)
    return idx, log


def _touches(part, kind: int, path: tuple, inside: np.ndarray) -> bool:
    arcs = list(path)
    if inside[part.giver[arcs]].any():
        return True
    return kind == CHAIN and bool(inside[part.receiver[arcs[-1]]])


def _solve_sub(master, objective, items: list[tuple], room: np.ndarray, n_start: int,
               level_objs: list, have: np.ndarray, deadline: float) -> list[int] | None:
    """The neighbourhood's integer program over ``items`` (the first ``n_start`` are the
    freed part of the packing: the warm start); returns the chosen items or None."""
    part = master.part
    rows, cols, vals = [], [], []
    for i, (_, path) in enumerate(items):
        arcs = list(path)
        q = part.quantity[arcs]
        rows += [part.offer_row[arcs], part.need_row[arcs]]
        cols += [np.full(2 * len(arcs), i)]
        vals += [q, q]
    r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    used = np.unique(r)
    A = sp.csc_matrix((v, (np.searchsorted(used, r), c)), shape=(len(used), len(items)))
    A.sum_duplicates()
    A.sort_indices()
    h = highs.new_highs(min(SUB_SECONDS, max(deadline - time.monotonic(), 0.05)))
    highs.add_empty_rows(h, np.full(len(used), -highs.INF), room[used] + 1e-9)
    highs.add_columns(h, _score(master, objective, items), A.indptr[:-1], A.indices, A.data)
    for (obj, lower), got in zip(level_objs, have, strict=True):
        coef = _score(master, obj, items)
        nz = np.flatnonzero(coef).astype(np.int32)
        h.addRow(float(lower - got), highs.INF, len(nz), nz, coef[nz])
    highs.set_integer(h, len(items))
    start = np.zeros(len(items))
    start[:n_start] = 1.0
    h.setSolution(len(items), np.arange(len(items), dtype=np.int32), start)
    out = highs.run(h, mip=True)
    if out.status not in (highs.OPTIMAL, highs.TIME_LIMIT) or not len(out.x):
        return None
    return np.flatnonzero(out.x > 0.5).tolist()


__all__ = ["improve", "construct"]
