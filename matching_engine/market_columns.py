"""Exchanges as columns: stage objectives, the column pool, and search results.

A column is an exchange of one part: its kind (``CYCLE`` or ``CHAIN``) and its arcs in giving
order (a cycle starts with the arc given by its smallest organisation, a chain with its gift).
The pool keeps every column ever generated, in generation order (column j of the LP is pool
entry j), with its arcs also held as flat arrays so that costs and arc usage are vectorised.

An ``Objective`` scores a column as ``sum of arc[a] over its arcs + kappa[length] + completion
× (legs × product of its organisations' completion rates)``; every stage of the lexicographic
and weighted objectives has that form (see ``market_solver``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

CYCLE, CHAIN = 0, 1


@dataclass
class Objective:
    """A stage objective: per-arc coefficients, a constant per length (cycles indexed by arcs,
    chains by transfers), and a weight on completion (legs × product of rates)."""

    name: str
    arc: np.ndarray
    kappa_cycle: np.ndarray
    kappa_chain: np.ndarray
    completion: float
    integral: bool


class Candidates:
    """Exchanges found by a search, grouped by kind and length (arrays of arc ids)."""

    def __init__(self) -> None:
        self.groups: list[tuple[int, np.ndarray, np.ndarray]] = []
        #: Bounds score / legs of every exchange the search did not return (set by the search).
        self.rest_leg = -np.inf

    def add(self, kind: int, paths: np.ndarray, scores: np.ndarray) -> None:
        if len(paths):
            self.groups.append((kind, paths, scores))

    def __len__(self) -> int:
        return sum(len(s) for _, _, s in self.groups)

    def best(self) -> float:
        return max((float(s.max()) for _, _, s in self.groups), default=-np.inf)

    def best_per_leg(self) -> float:
        """The largest score / legs (a cycle of k arcs and a chain of k transfers have k)."""
        return max((float(s.max()) / p.shape[1] for _, p, s in self.groups), default=-np.inf)

    def items(self) -> list[tuple[int, tuple[int, ...]]]:
        return [(kind, tuple(row)) for kind, paths, _ in self.groups for row in paths.tolist()]

    def ordered(self, cap: int | None = None):
        """(kind, arcs) best score first; ties by length, kind, then arcs (deterministic).
        With ``cap`` only that many of the best are considered."""
        if not self.groups:
            return
        width = max(p.shape[1] for _, p, _ in self.groups)
        padded = np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1])),
                                        constant_values=-1) for _, p, _ in self.groups])
        kinds = np.concatenate([np.full(len(s), k) for k, _, s in self.groups])
        lengths = np.concatenate([np.full(len(s), p.shape[1]) for _, p, s in self.groups])
        scores = np.concatenate([s for _, _, s in self.groups])
        keys = [padded[:, c] for c in range(width - 1, -1, -1)] + [kinds, lengths, -scores]
        order = np.lexsort(keys)
        if cap is not None:
            order = order[:cap]
        rows = padded[order].tolist()
        for i, row, k in zip(order.tolist(), rows, lengths[order].tolist(), strict=True):
            yield int(kinds[i]), tuple(row[:k])


class Pool:
    """Every column generated for a part, with vectorised costs and arc usage."""

    def __init__(self, part) -> None:
        self.part = part
        self.keys: dict[tuple, int] = {}
        self.paths: list[tuple[int, ...]] = []
        self.kind: list[int] = []
        self._chunks: list[np.ndarray] = []
        self._flat: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                          np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def add(self, items) -> list[int]:
        """Add (kind, arcs) columns not yet in the pool; returns the new indices."""
        new = []
        for kind, path in items:
            key = (kind, path)
            if key in self.keys:
                continue
            self.keys[key] = len(self.paths)
            self.paths.append(path)
            self.kind.append(kind)
            new.append(len(self.paths) - 1)
        if new:
            self._chunks.append(np.array(new, dtype=np.int64))
            self._flat = None
        return new

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(start of each column in ``arcs``, arcs, column of each entry, lengths, kinds)."""
        if self._flat is None:
            lengths = np.array([len(p) for p in self.paths], dtype=np.int64)
            arcs = np.fromiter((a for p in self.paths for a in p), dtype=np.int64,
                               count=int(lengths.sum()))
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1])) if len(lengths) \
                else np.zeros(0, dtype=np.int64)
            owner = np.repeat(np.arange(len(lengths)), lengths)
            self._flat = (starts, arcs, owner, lengths, np.array(self.kind, dtype=np.int64))
        return self._flat

    def completion(self, cols: np.ndarray | None = None) -> np.ndarray:
        """Legs × product of the organisations' completion rates, per column."""
        part = self.part
        starts, arcs, owner, lengths, kinds = self.flat()
        logs = np.log(np.maximum(part.rate, 1e-300))
        total = np.zeros(len(lengths))
        np.add.at(total, owner, logs[part.giver[arcs]])
        last = arcs[starts + lengths - 1] if len(lengths) else np.zeros(0, dtype=np.int64)
        total += np.where(kinds == CHAIN, logs[part.receiver[last]], 0.0)
        zero = np.zeros(len(lengths), dtype=bool)
        np.logical_or.at(zero, owner, part.rate[part.giver[arcs]] <= 0)
        zero |= (kinds == CHAIN) & (part.rate[part.receiver[last]] <= 0)
        out = np.where(zero, 0.0, lengths * np.exp(total))
        return out if cols is None else out[cols]

    def scores(self, arc: np.ndarray, kappa_cycle: np.ndarray, kappa_chain: np.ndarray,
               completion: float, cols: np.ndarray | None = None) -> np.ndarray:
        """``sum arc + kappa[length] + completion × completion-term`` per column."""
        starts, arcs, owner, lengths, kinds = self.flat()
        total = np.zeros(len(lengths))
        np.add.at(total, owner, arc[arcs])
        total += np.where(kinds == CYCLE, kappa_cycle[np.minimum(lengths, len(kappa_cycle) - 1)],
                          kappa_chain[np.minimum(lengths, len(kappa_chain) - 1)])
        if completion:
            total += completion * self.completion()
        return total if cols is None else total[cols]

    def cost(self, objective: Objective, cols: np.ndarray | None = None) -> np.ndarray:
        return self.scores(objective.arc, objective.kappa_cycle, objective.kappa_chain,
                           objective.completion, cols)

    def usage(self, cols=None) -> sp.csc_matrix:
        """0/1 matrix arcs × columns (``cols`` only, in that order, when given)."""
        starts, arcs, owner, lengths, _ = self.flat()
        if cols is None:
            return sp.csc_matrix((np.ones(len(arcs)), (arcs, owner)),
                                 shape=(self.part.m, len(lengths)))
        cols = np.asarray(list(cols), dtype=np.int64)
        counts = lengths[cols]
        pos = np.repeat(starts[cols] - np.concatenate(([0], np.cumsum(counts)[:-1])), counts) \
            + np.arange(int(counts.sum()))
        return sp.csc_matrix((np.ones(len(pos)), (arcs[pos], np.repeat(np.arange(len(cols)),
                                                                         counts))),
                             shape=(self.part.m, len(cols)))

    def arc_usage_of(self, x: np.ndarray) -> np.ndarray:
        """z_a = sum of x over the columns using arc a."""
        starts, arcs, owner, lengths, _ = self.flat()
        z = np.zeros(self.part.m)
        xs = np.zeros(len(lengths))
        xs[:len(x)] = x[:len(lengths)]
        np.add.at(z, arcs, xs[owner])
        return z
