"""Independent parts of a market, and the arrays one part is solved with.

An arc can only be used by a cycle if its two organisations are in the same strongly connected
component of the organisation graph (non-gift arcs), and by a chain if it is a gift arc or can
follow one within ``max_chain`` transfers. Other arcs are dropped. Two organisations belong to
the same *part* when a usable arc joins them (undirected connected components). Exchanges stay
inside one part and listings belong to one organisation, so parts share no capacity row: they
are solved separately (``stats.parts``), and the answer is their union. Small parts are
batched into one model (they are still independent blocks of it).

``Part`` holds one solve unit with local numbering: organisations 0..n_orgs-1 and listing rows
0..n_rows-1 in natural id order, arcs in the table's (offer, need) order, so everything derived
from it is deterministic.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .arcs import ArcTable
from .linegraph import LineGraph
from .market_search import ChainSearch

#: Parts with fewer arcs than this are batched together into one solve unit.
BATCH_ARCS = 20_000


def usable_arcs(table: ArcTable, max_cycle: int, max_chain: int) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """(arcs that can lie on a cycle, arcs that can lie on a chain) — supersets, cheap."""
    n = len(table.org_ids)
    m = len(table)
    gift = table.gift
    on_cycle = np.zeros(m, dtype=bool)
    if m and max_cycle >= 2:
        ng = ~gift
        adj = sp.csr_matrix((np.ones(int(ng.sum())), (table.giver[ng], table.receiver[ng])),
                            shape=(n, n))
        _, comp = connected_components(adj, directed=True, connection="strong")
        on_cycle = ng & (comp[table.giver] == comp[table.receiver])
    on_chain = np.zeros(m, dtype=bool)
    if m and max_chain >= 1 and gift.any():
        on_chain |= gift
        reached = np.zeros(n, dtype=bool)
        reached[table.receiver[gift]] = True
        for _ in range(2, max_chain + 1):
            step = ~gift & reached[table.giver] & ~on_chain
            if not step.any():
                break
            on_chain |= step
            new = np.zeros(n, dtype=bool)
            new[table.receiver[step]] = True
            reached = new | reached
    return on_cycle, on_chain


def decompose(table: ArcTable, max_cycle: int, max_chain: int) -> tuple[np.ndarray,
                                                                         np.ndarray]:
    """(part label per organisation, -1 if in none; usable-arc mask)."""
    n = len(table.org_ids)
    on_cycle, on_chain = usable_arcs(table, max_cycle, max_chain)
    usable = on_cycle | on_chain
    g, r = table.giver[usable], table.receiver[usable]
    adj = sp.csr_matrix((np.ones(len(g)), (g, r)), shape=(n, n))
    _, label = connected_components(adj, directed=False)
    involved = np.zeros(n, dtype=bool)
    involved[g] = True
    involved[r] = True
    # Renumber parts by their smallest organisation (deterministic), dropping loners.
    label = np.where(involved, label, -1)
    order = {}
    out = np.full(n, -1, dtype=np.int64)
    for org in np.flatnonzero(involved):
        out[org] = order.setdefault(int(label[org]), len(order))
    return out, usable


class Part:
    """A solve unit: arcs, listings and organisations of one or more parts, renumbered."""

    def __init__(self, table: ArcTable, arcs: np.ndarray, threshold: float, max_cycle: int,
                 max_chain: int, n_parts: int) -> None:
        self.table = table
        self.n_parts = n_parts
        self.arc_global = arcs
        orgs = np.unique(np.concatenate([table.giver[arcs], table.receiver[arcs]]))
        self.org_global = orgs
        self.n_orgs = len(orgs)
        self.giver = np.searchsorted(orgs, table.giver[arcs]).astype(np.int64)
        self.receiver = np.searchsorted(orgs, table.receiver[arcs]).astype(np.int64)
        rows = np.unique(np.concatenate([table.offer[arcs], table.need[arcs]]))
        self.row_listing = rows
        self.n_rows = len(rows)
        self.offer_row = np.searchsorted(rows, table.offer[arcs]).astype(np.int64)
        self.need_row = np.searchsorted(rows, table.need[arcs]).astype(np.int64)
        self.capacity = table.capacity[rows].astype(np.float64)
        self.quantity = table.quantity[arcs].astype(np.float64)
        self.value = table.value[arcs].astype(np.float64)
        self.gift = table.gift[arcs].astype(bool)
        self.rate = table.rate[orgs].astype(np.float64)
        self.m = m = len(arcs)
        self.lg = LineGraph(self.n_orgs, self.giver, self.receiver, self.value, self.gift,
                            threshold)
        ng = ~self.gift
        adj = sp.csr_matrix((np.ones(int(ng.sum())), (self.giver[ng], self.receiver[ng])),
                            shape=(self.n_orgs, self.n_orgs))
        _, comp = connected_components(adj, directed=True, connection="strong")
        self.cycle_arc = ng & (comp[self.giver] == comp[self.receiver]) if max_cycle >= 2 \
            else np.zeros(m, dtype=bool)
        self.chains = ChainSearch(self.lg, max_chain)
        self._row_arcs: list[np.ndarray] | None = None

    @property
    def row_arcs(self) -> list[np.ndarray]:
        """Arcs per listing row (for the knapsack cuts), built on first use."""
        if self._row_arcs is None:
            m = self.m
            both = np.concatenate([self.offer_row, self.need_row])
            arc_of = np.concatenate([np.arange(m), np.arange(m)])
            order = np.lexsort((arc_of, both))
            bounds = np.searchsorted(both[order], np.arange(self.n_rows + 1))
            self._row_arcs = [arc_of[order[bounds[i]:bounds[i + 1]]]
                              for i in range(self.n_rows)]
        return self._row_arcs

    def canonical(self, path) -> tuple[int, ...]:
        """A cycle rotated to start with the arc given by its smallest organisation."""
        givers = [int(self.giver[a]) for a in path]
        k = givers.index(min(givers))
        return tuple(int(a) for a in (*path[k:], *path[:k]))

    def canonical_rows(self, paths: np.ndarray) -> np.ndarray:
        """``canonical`` for every row of an (n, k) array of cycles."""
        if not len(paths):
            return paths
        k = paths.shape[1]
        first = np.argmin(self.giver[paths], axis=1)
        cols = (first[:, None] + np.arange(k)[None, :]) % k
        return np.take_along_axis(paths, cols, axis=1)

    def pair_ids(self, a: int) -> tuple[str, str]:
        listings = self.table.listings
        g = self.arc_global[a]
        return (listings[int(self.table.offer[g])].id, listings[int(self.table.need[g])].id)

    def signature(self, path) -> tuple[tuple[str, str], ...]:
        listings = self.table.listings
        return tuple(sorted((listings[int(self.table.offer[self.arc_global[a]])].id,
                             listings[int(self.table.need[self.arc_global[a]])].id)
                            for a in path))


def solve_units(table: ArcTable, label: np.ndarray, usable: np.ndarray
                ) -> tuple[list[np.ndarray], list[int]]:
    """Arc sets of the solve units (big parts alone, small ones batched), and how many parts
    each unit holds. Units are ordered by their smallest organisation."""
    arcs = np.flatnonzero(usable)
    part_of = label[table.giver[arcs]]
    n_parts = int(label.max()) + 1 if len(label) and label.max() >= 0 else 0
    order = np.argsort(part_of, kind="stable")
    bounds = np.searchsorted(part_of[order], np.arange(n_parts + 1))
    units: list[np.ndarray] = []
    counts: list[int] = []
    batch: list[np.ndarray] = []
    batch_parts = 0
    for p in range(n_parts):
        own = np.sort(arcs[order[bounds[p]:bounds[p + 1]]])
        if len(own) >= BATCH_ARCS:
            units.append(own)
            counts.append(1)
            continue
        batch.append(own)
        batch_parts += 1
        if sum(len(b) for b in batch) >= BATCH_ARCS:
            units.append(np.sort(np.concatenate(batch)))
            counts.append(batch_parts)
            batch, batch_parts = [], 0
    if batch:
        units.append(np.sort(np.concatenate(batch)))
        counts.append(batch_parts)
    return units, counts
