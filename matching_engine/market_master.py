"""The market master problem of one independent part, solved by column generation.

Columns are exchanges (``market_columns``); rows are

* one capacity row per listing: ``sum over legs using it of the leg's quantity <= quantity``
  (a leg uses ``min(offer, need)`` units of both its offer and its need);
* one row per earlier lexicographic level, keeping it at its optimum (``>= value - slack``);
* knapsack cuts on arc usage (``market_cuts``), purged when they stay slack.

Every row is *robust* — linear in arc usage, or a constant per exchange length — so a
column's reduced cost is ``sum over its arcs of r_a + kappa[length] + w × completion``, with
``r_a = c_a - q_a (y_offer + y_need) - cut duals - level duals × their arc coefficients``; the
searches of ``market_search`` price exactly that. Completion (legs × the product of completion
rates) is not additive: pricing bounds it (the product is at most one) and every candidate is
re-scored exactly, so nothing is missed and nothing wrong enters.

Bounds at any time. For any duals ``y`` of the right signs, every packing X satisfies
``value(X) <= D(y) + sum over e in X of rc_e(y)`` (``D`` the dual objective), and a packing has
at most one exchange per listing (each leg uses up its offer or its need) and each exchange at
most once. So after any pricing round that bounds every column's reduced cost by ``delta``
(complete searches, or the bound a truncated search reports for what it skipped),
``D(y) + n_listings × max(delta, 0)`` is a valid bound — and ``D(y) / (1 - delta / c_min)``
when every column is worth at least ``c_min > 0`` (Farley). Per leg is sharper: a packing has
at most ``n_listings`` *legs* (each leg uses up its offer or its need, which then takes part in
no other leg), so with ``delta_leg`` bounding every column's rc / legs, ``D(y) + n_listings ×
delta_leg`` holds, and ``D(y) / (1 - delta_leg / a_min)`` when every arc is worth at least
``a_min > 0`` and no length constant is negative (the needs and value levels). The searches
report both bounds for what they skip (a cycle below its pivot's weight ``w`` scores at most
``w + kappa[k] / k`` per leg; a chain at most its best walk per transfer). When the search
returned *every* column above the tolerance ``EPS`` (or bounds the rest per leg), the sharper
*packing bound* of ``market_bound`` holds: ``D(y)`` plus an LP over the improving columns of
what a packing can collect of their reduced costs. At convergence these meet the LP bound.

Column upper bounds are infinite in the LP (the listing rows already keep each column <= 1).
Small LPs are re-solved by simplex from the previous basis, which is quick after cuts are added.
Large ones by the interior-point method without crossover: on these degenerate LPs it is several
times faster than simplex (1.4 s against 10 s from scratch at 500 organisations) and its
well-centred duals make pricing converge in fewer rounds. Presolve stays off then: postsolving
an interior solution without a basis gives wrong duals (highspy 1.15).
"""

from __future__ import annotations

import math
import time

import numpy as np
import scipy.sparse as sp

from . import highs
from .market_bound import packing_lp
from .market_columns import CHAIN, CYCLE, Candidates, Objective, Pool
from .market_cuts import Cut, separate
from .market_search import Found, search_cycles

#: Reduced cost a column needs to enter (LP tolerance).
EPS = 1e-7
#: Columns added per pricing round through any one listing.
LISTING_CAP = 5
#: Cut separation stops when the LP bound improved by less than this (relative, or absolute)
#: over the last ``TAIL_ROUNDS`` bounding rounds.
TAIL = 2e-4
TAIL_ABS = 0.05
TAIL_ROUNDS = 3
#: Column generation stops when its bound is within this (relative) of the LP value.
GAP_TOL = 1e-4
#: A cut slack for this many consecutive LP solves is removed.
PURGE_AFTER = 3
#: Up to this many listing rows the LP is re-solved by simplex from the previous basis (fast
#: after adding cuts); beyond, by the interior-point method (see the module docstring). At 200
#: organisations (1,707 listings, ~1,500 cuts) a warm simplex re-solve still takes 1–3 s (3,000
#: iterations), the interior point ~1.3 s: column generation gets further in the same time
#: (bound 531–532 against 535 at 15 s); at 100 organisations simplex stays faster.
SIMPLEX_ROWS = 1000


class Master:
    """Column pool, LP and pricing of one part (arrays indexed by the part's local arcs)."""

    def __init__(self, part, max_cycle: int, max_chain: int, declined: set) -> None:
        self.part = part
        self.L, self.K = max_cycle, max_chain
        self.declined = declined
        self.pool = Pool(part)
        self.extra: list[dict] = []  # rows after the listing rows: cuts and fixed levels
        self.h = highs.new_highs()
        if part.n_rows > SIMPLEX_ROWS:
            self.h.setOptionValue("solver", "ipm")
            self.h.setOptionValue("run_crossover", "off")
            self.h.setOptionValue("presolve", "off")
        self.n_rows = part.n_rows
        highs.add_empty_rows(self.h, np.full(self.n_rows, -highs.INF), part.capacity)
        self.objective: Objective | None = None
        self.pricing_seconds = self.lp_seconds = self.cut_seconds = 0.0
        self.lp_solves = 0
        self.duals = np.zeros(self.n_rows)
        self.bound = np.inf  # best valid bound of the current stage
        self.bound_weights: tuple | None = None
        self._cut_matrix: sp.csr_matrix | None = None

    def __len__(self) -> int:
        return len(self.pool)

    @property
    def cuts(self) -> list[Cut]:
        return [e["cut"] for e in self.extra if e["kind"] == "cut"]

    # ---------------------------------------------------------------- columns and rows

    def cost(self, objective: Objective, cols=None) -> np.ndarray:
        return self.pool.cost(objective, cols)

    def add_columns(self, items) -> int:
        """Add (kind, arcs) columns not yet in the pool (to the LP too); returns how many."""
        new = self.pool.add(items)
        if not new:
            return 0
        part = self.part
        usage = self.pool.usage(new)  # arcs x new
        coo = usage.tocoo()
        q = part.quantity[coo.row]
        rows = [part.offer_row[coo.row], part.need_row[coo.row]]
        cols = [coo.col, coo.col]
        vals = [q, q]
        cut_rows = [i for i, e in enumerate(self.extra) if e["kind"] == "cut"]
        if cut_rows:
            cc = (self.cut_matrix() @ usage).tocoo()
            rows.append(self.n_rows + np.asarray(cut_rows)[cc.row])
            cols.append(cc.col)
            vals.append(cc.data)
        for i, e in enumerate(self.extra):
            if e["kind"] == "level":
                rows.append(np.full(len(new), self.n_rows + i))
                cols.append(np.arange(len(new)))
                vals.append(self.pool.cost(e["objective"], new))
        mat = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                            shape=(self.h.getNumRow(), len(new)))
        mat.sum_duplicates()
        mat.eliminate_zeros()
        mat.sort_indices()
        cost = self.pool.cost(self.objective, new) if self.objective else np.zeros(len(new))
        highs.add_columns(self.h, cost, mat.indptr[:-1], mat.indices, mat.data,
                          upper=highs.INF)
        return len(new)

    def cut_matrix(self) -> sp.csr_matrix:
        """Cuts × arcs coefficients, in the order the cuts appear among the rows."""
        if self._cut_matrix is None:
            cuts = self.cuts
            m = self.part.m
            if not cuts:
                self._cut_matrix = sp.csr_matrix((0, m))
            else:
                self._cut_matrix = sp.csr_matrix(
                    (np.concatenate([c.alpha for c in cuts]),
                     (np.repeat(np.arange(len(cuts)), [len(c.arcs) for c in cuts]),
                      np.concatenate([c.arcs for c in cuts]))), shape=(len(cuts), m))
        return self._cut_matrix

    def set_objective(self, objective: Objective) -> None:
        self.objective = objective
        self.bound, self.bound_weights = np.inf, None
        n = len(self.pool)
        if n:
            self.h.changeColsCost(n, np.arange(n, dtype=np.int32), self.pool.cost(objective))

    def fix_level(self, objective: Objective, value: float, slack: float) -> None:
        """Keep ``objective`` at ``value`` (minus ``slack``) from now on."""
        coef = self.pool.cost(objective)
        idx = np.flatnonzero(coef != 0).astype(np.int32)
        self.h.addRow(float(value - slack), highs.INF, len(idx), idx, coef[idx])
        self.extra.append({"kind": "level", "objective": objective, "lower": value - slack})

    def add_cuts(self, cuts: list[Cut]) -> None:
        if not cuts:
            return
        m = self.part.m
        data = sp.csr_matrix((np.concatenate([c.alpha for c in cuts]),
                              (np.repeat(np.arange(len(cuts)), [len(c.arcs) for c in cuts]),
                               np.concatenate([c.arcs for c in cuts]))), shape=(len(cuts), m))
        coef = (data @ self.pool.usage()).tocsr()
        lower = np.full(len(cuts), -highs.INF)
        self.h.addRows(len(cuts), lower, np.ones(len(cuts)), int(coef.nnz),
                       coef.indptr[:-1].astype(np.int32), coef.indices.astype(np.int32),
                       coef.data)
        self.extra += [{"kind": "cut", "cut": c, "idle": 0} for c in cuts]
        self._cut_matrix = None

    def _purge(self, row_values: np.ndarray) -> None:
        """Remove cuts that stayed slack for ``PURGE_AFTER`` LP solves."""
        drop = []
        for i, e in enumerate(self.extra):
            if e["kind"] != "cut":
                continue
            e["idle"] = e["idle"] + 1 if row_values[self.n_rows + i] < 1.0 - 1e-4 else 0
            if e["idle"] >= PURGE_AFTER:
                drop.append(i)
        if drop:
            idx = (self.n_rows + np.array(drop)).astype(np.int32)
            self.h.deleteRows(len(idx), idx)
            gone = set(drop)
            self.extra = [e for i, e in enumerate(self.extra) if i not in gone]
            self._cut_matrix = None

    # ---------------------------------------------------------------- LP, duals, bounds

    def solve_lp(self, deadline: float) -> highs.Outcome:
        highs.set_time_limit(self.h, max(deadline - time.monotonic(), 0.05))
        t = time.monotonic()
        outcome = highs.run(self.h, mip=False)
        if outcome.status == highs.OTHER and self.part.n_rows > SIMPLEX_ROWS \
                and time.monotonic() < deadline:
            # The interior-point method gave up on accuracy: finish with a crossover.
            self.h.setOptionValue("run_crossover", "on")
            highs.set_time_limit(self.h, max(deadline - time.monotonic(), 0.05))
            outcome = highs.run(self.h, mip=False)
            self.h.setOptionValue("run_crossover", "off")
        self.lp_seconds += time.monotonic() - t
        self.lp_solves += 1
        if outcome.row_duals is not None:
            # Duals of the right sign only (<= rows: >= 0; level rows, >=: <= 0), so that the
            # bounds below hold exactly whatever the solver's tolerances.
            duals = np.maximum(outcome.row_duals, 0.0)
            for i, e in enumerate(self.extra):
                if e["kind"] == "level":
                    duals[self.n_rows + i] = min(outcome.row_duals[self.n_rows + i], 0.0)
            outcome.row_duals = duals
        return outcome

    def dual_objective(self, duals: np.ndarray) -> float:
        total = float(self.part.capacity @ duals[:self.n_rows])
        for i, e in enumerate(self.extra):
            d = duals[self.n_rows + i]
            total += d if e["kind"] == "cut" else d * e["lower"]
        return total

    def reduced_weights(self, duals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                         float]:
        """Arc weights r, per-length constants for cycles and chains, completion weight."""
        part, obj = self.part, self.objective
        y = duals[:self.n_rows]
        r = obj.arc - part.quantity * (y[part.offer_row] + y[part.need_row])
        kc, kh, wc = obj.kappa_cycle.copy(), obj.kappa_chain.copy(), obj.completion
        cut_duals = []
        for i, e in enumerate(self.extra):
            d = duals[self.n_rows + i]
            if e["kind"] == "level":
                level = e["objective"]
                r -= d * level.arc
                kc -= d * level.kappa_cycle
                kh -= d * level.kappa_chain
                wc -= d * level.completion
            else:
                cut_duals.append(d)
        if cut_duals:
            r -= self.cut_matrix().T @ np.asarray(cut_duals)
        return r, kc, kh, wc

    def round_bound(self, duals: np.ndarray, delta: float, delta_leg: float = np.inf) -> float:
        """The valid bound of the module docstring, given every column's rc <= ``delta`` and
        rc / legs <= ``delta_leg``."""
        dual = self.dual_objective(duals)
        delta = max(delta, 0.0)
        delta_leg = min(max(delta_leg, 0.0), delta)
        # A packing has at most n_rows legs (each leg uses up its offer or its need, and a
        # used-up listing takes part in no other leg), so its columns' reduced costs add up to
        # at most n_rows × delta_leg.
        bound = dual + self.n_rows * delta_leg
        obj = self.objective
        if any(e["kind"] == "level" for e in self.extra) or obj.completion < 0:
            return bound
        # Every column has at least one arc, so it is worth at least c_min.
        c_min = float(obj.arc.min(initial=np.inf)) + min(
            0.0, float(obj.kappa_cycle[2:].min(initial=0.0)),
            float(obj.kappa_chain[1:].min(initial=0.0)))
        if c_min > 0 and delta < c_min:
            bound = min(bound, dual / (1.0 - delta / c_min))
        # Farley per leg: without negative length constants a column is worth at least
        # a_min per leg, so sum of rc <= delta_leg × legs <= delta_leg / a_min × value.
        a_min = float(obj.arc.min(initial=np.inf))
        if a_min > 0 and min(obj.kappa_cycle.min(initial=0.0),
                             obj.kappa_chain.min(initial=0.0)) >= 0 and delta_leg < a_min:
            bound = min(bound, dual / (1.0 - delta_leg / a_min))
        return bound

    # ---------------------------------------------------------------- pricing

    def search(self, r: np.ndarray, kc: np.ndarray, kh: np.ndarray, wc: float,
               threshold: float, limit: int | None, deadline: float,
               exact_chains: bool = False) -> tuple[Candidates, bool, float]:
        """Exchanges whose exact reduced cost exceeds ``threshold``; whether the search was
        complete; and a bound on the reduced cost of every exchange not returned."""
        part = self.part
        bonus = max(wc, 0.0)  # completion is between 0 and legs
        cyc = search_cycles(part.lg, np.where(part.cycle_arc, r, -np.inf),
                            kc + bonus * np.arange(len(kc)), threshold, self.L, limit=limit,
                            deadline=deadline)
        complete, rest = cyc.complete, cyc.rest_bound
        rest_leg = cyc.rest_leg
        chains = Found()
        if self.K and part.chains.reach:
            kh_ub = kh + bonus * np.arange(len(kh))
            got = None
            if exact_chains:
                got = part.chains.enumerate(r, kh_ub, threshold,
                                            limit if limit is not None else 10**7, deadline)
            if got is not None:
                chains = got
            elif exact_chains and limit is None:
                complete, rest, rest_leg = False, np.inf, np.inf
            else:
                # Best walks (the exact search was not asked for, or found too many).
                chains, top = part.chains.price(r, kh_ub, threshold, limit or 10**6)
                rest = max(rest, top)
                rest_leg = max(rest_leg, chains.rest_leg)
                if exact_chains:
                    complete = False
                if not chains.count and top > threshold and complete:
                    got = part.chains.enumerate(r, kh_ub, threshold, limit or 10**6, deadline)
                    if got is None:
                        complete = False
                    else:
                        chains, rest, rest_leg = got, cyc.rest_bound, cyc.rest_leg
        groups = Candidates()
        for kind, found in ((CYCLE, cyc), (CHAIN, chains)):
            for paths, scores in found.arrays():
                if kind == CYCLE:
                    paths = part.canonical_rows(paths)
                if bonus or wc:
                    # Re-score with the exact completion term.
                    k = paths.shape[1]
                    prod = part.rate[part.giver[paths]].prod(axis=1)
                    if kind == CHAIN:
                        prod = prod * part.rate[part.receiver[paths[:, -1]]]
                    scores = (r[paths].sum(axis=1) + (kc[k] if kind == CYCLE else kh[k])
                              + wc * k * prod)
                    keep = scores > threshold
                    paths, scores = paths[keep], scores[keep]
                if self.declined and len(paths):
                    keep = ~self._declined_rows(paths)
                    paths, scores = paths[keep], scores[keep]
                groups.add(kind, paths, scores)
        groups.rest_leg = rest_leg
        return groups, complete, rest

    def _declined_rows(self, paths: np.ndarray) -> np.ndarray:
        """Rows whose signature was declined (only rows made of declined pairs are checked)."""
        part = self.part
        if not hasattr(self, "_declined_arc"):
            pairs = {pair for sig in self.declined for pair in sig}
            self._declined_arc = np.array([part.pair_ids(a) in pairs for a in range(part.m)],
                                          dtype=bool)
        out = np.zeros(len(paths), dtype=bool)
        for i in np.flatnonzero(self._declined_arc[paths].all(axis=1)):
            out[i] = part.signature(paths[i].tolist()) in self.declined
        return out

    def _diverse(self, groups: Candidates, limit: int) -> list[tuple[int, tuple[int, ...]]]:
        """Best columns first, at most ``LISTING_CAP`` through any listing, ``limit`` in all."""
        part = self.part
        usage = np.zeros(part.n_rows, dtype=np.int64)
        chosen = []
        for kind, path in groups.ordered(cap=20 * limit):
            if (kind, path) in self.pool.keys:
                continue
            arcs = list(path)
            rows = np.concatenate([part.offer_row[arcs], part.need_row[arcs]])
            if (usage[rows] >= LISTING_CAP).any():
                continue
            usage[rows] += 1
            chosen.append((kind, path))
            if len(chosen) >= limit:
                break
        return chosen

    def column_generation(self, deadline: float, cuts_until: float | None = None
                          ) -> tuple[bool, highs.Outcome | None]:
        """Solve the LP over all columns, adding knapsack cuts on the way.

        Each round solves the LP and prices: new columns, and a valid bound (``self.bound``,
        see the module docstring). The LP is *closed* when pricing finds nothing, or when the
        round's bound is as good as the LP value for the stage's purpose (same floor for an
        integral objective, within ``GAP_TOL`` otherwise) — the long tail of column
        generation then adds nothing a proof could use. On closed rounds (or when pricing
        adds few columns) knapsack cuts are separated, until ``cuts_until`` passes or the
        bounds tail off (less than ``TAIL`` gained over ``TAIL_ROUNDS`` closed rounds).
        Returns (closed, last LP).
        """
        part = self.part
        per_round = max(300, min(5000, 3 * part.n_orgs))
        integral = self.objective.integral
        outcome = None
        bounds: list[float] = []
        tail = False
        while True:
            outcome = self.solve_lp(deadline)
            if outcome.status != highs.OPTIMAL or outcome.row_duals is None:
                return False, outcome
            self.duals = outcome.row_duals
            t = time.monotonic()
            r, kc, kh, wc = self.reduced_weights(self.duals)
            # Near the end, chains are enumerated exactly: then every improving column is
            # known and the bound can use how few of them a packing can hold at once.
            found, complete, rest = self.search(r, kc, kh, wc, EPS, 2 * per_round, deadline,
                                                exact_chains=tail)
            pool_rc = self.pool.scores(r, kc, kh, wc) if len(self.pool) else np.zeros(0)
            delta = max(rest, found.best(), float(pool_rc.max(initial=-np.inf)), EPS)
            pool_leg = pool_rc / self.pool.flat()[3] if len(self.pool) else pool_rc
            delta_leg = max(found.rest_leg, found.best_per_leg(),
                            float(pool_leg.max(initial=-np.inf)), EPS)
            bound = self.round_bound(self.duals, delta, delta_leg)
            bound = min(bound, self.packing_bound(found, pool_rc, min(bound, self.bound),
                                                  max(deadline - time.monotonic(), 0.2)))
            if bound < self.bound:
                # The reduced weights behind the best bound, for reduced-cost fixing.
                self.bound, self.bound_weights = bound, (r, kc, kh, wc)
            value = outcome.objective
            if not math.isfinite(bound):
                closed = False
            elif integral:
                closed = math.floor(bound + 1e-6) <= math.floor(value + 1e-6)
            else:
                closed = bound - value <= GAP_TOL * max(1.0, abs(bound))
            added = 0
            if not closed:
                added = self.add_columns(self._diverse(found, per_round))
            tail = added < per_round // 4
            self.pricing_seconds += time.monotonic() - t
            closed = closed or (added == 0 and complete)
            if closed:
                bounds.append(self.bound)
            new_cuts = 0
            if cuts_until is not None and time.monotonic() < cuts_until \
                    and (closed or added <= per_round // 10) and not self._tailing(bounds):
                t = time.monotonic()
                self._purge(np.asarray(self.h.getSolution().row_value))
                new_cuts = self.cutting_planes(outcome.x)
                self.cut_seconds += time.monotonic() - t
            if closed and new_cuts == 0:
                return True, outcome
            if time.monotonic() > deadline:
                return False, outcome

    def packing_bound(self, found: Candidates, pool_rc: np.ndarray, best: float,
                      seconds: float | None = None) -> float:
        """The bound of ``market_bound`` for this round (inf when it cannot beat ``best``),
        its LP given at most ``seconds``."""
        base = self.dual_objective(self.duals) + self.n_rows * max(found.rest_leg, EPS)
        if not base < best:
            return np.inf
        paths, rc = [], []
        for kind, p, score in found.groups:
            fresh = np.array([(kind, tuple(row)) not in self.pool.keys for row in p.tolist()],
                             dtype=bool)
            keep = fresh & (score > EPS)
            paths.append(p[keep])
            rc.append(score[keep])
        for j in np.flatnonzero(pool_rc > EPS).tolist():
            paths.append(np.array([self.pool.paths[j]], dtype=np.int64))
            rc.append(pool_rc[j:j + 1])
        cuts = self.cut_matrix() if self.cuts else None
        return base + packing_lp(self.part, paths, rc, cuts, seconds)

    def _tailing(self, bounds: list[float]) -> bool:
        if len(bounds) <= TAIL_ROUNDS:
            return False
        gain = bounds[-TAIL_ROUNDS - 1] - bounds[-1]
        return gain < max(TAIL * abs(bounds[-1]), TAIL_ABS)

    def cutting_planes(self, x: np.ndarray, limit: int = 2000) -> int:
        part = self.part
        z = self.pool.arc_usage_of(x)
        cuts = separate(z, part.row_arcs, np.arange(part.n_rows), part.quantity,
                        part.capacity, limit)
        self.add_cuts(cuts)
        return len(cuts)
