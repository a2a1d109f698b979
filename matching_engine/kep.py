"""Exact kidney-exchange clearing by column generation over cycles and chains.

Problem: pair nodes ``0..n-1`` receive at most once and give only if they receive; gifts
``0..g-1`` give at most once and start chains. Choose cycles of length 2..L and chains of at
most K transfers maximising the total arc weight.

Formulation (the cycle-chain formulation): a binary column per exchange e (a cycle, or a chain
from a gift), weight w_e = the sum of its arcs,
    node v:  sum_{e ∋ v} x_e <= 1     (dual pi_v)        gift g:  sum_{e from g} x_e <= 1  (gamma_g)
Its LP relaxation is the strongest of the standard KEP formulations and, on every pool we and
others measured, equal to the integer optimum. The columns are never all built: the LP is
solved by column generation, starting from a greedy packing, and a column enters only when its
reduced cost ``w_e - sum pi - gamma`` is positive. Cycles are priced by the vectorised scans of
``cycles.py`` (partial pricing, round-robin over start nodes, a few columns per node per
round); chains by the position-indexed dynamic programme of ``chains.py``. The LP is optimal
when a complete scan finds no cycle and no walk from a gift with positive reduced cost.

Integer solution and proof (z* = LP optimum; with integer weights the target is floor(z*)):
1. If the LP solution is integral, it is optimal.
2. LP diving: fix the columns at one and some fractional ones (boldly a quarter of them,
   pairwise disjoint, largest first; after a failed bold step one at a time), re-solve (pricing
   the free nodes only when the LP value falls below the target; undoing a step that loses it),
   until the LP is integral. An integral LP worth the target is optimal (it meets the bound).
3. Integer programs over growing pools: the LP support, the supports of perturbed-objective
   LPs, every generated column within the gap. Meeting the target proves optimality.
4. Reduced-cost fixing: any solution worth at least ``t`` uses only columns with reduced cost
   >= t - z* (with respect to the optimal duals). Generate *all* of them (cycles by scan,
   chains by bounded enumeration) and solve the integer program over them exactly: reaching
   ``t`` proves optimality; otherwise no solution reaches ``t`` and t is lowered by one step.
With a time limit the best solution found is returned with the proven bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from . import highs
from .chains import ChainSearch
from .cycles import CycleSearch

EPS = 1e-6
#: Reduced-cost fixing gives up (no proof; the bound is still reported) beyond this many columns.
RC_FIX_LIMIT = 1_000_000
#: Perturbed-objective LPs whose supports are pooled for the second integer program.
PERTURBED_LPS = 3
#: Pricing adds at most this many new columns through any one node per round: in a degenerate
#: LP many near-identical columns through the same few nodes slow the LP and add nothing.
NODE_CAP = 3
#: Backtracks allowed to the LP dive before it gives up.
DIVE_BACKTRACKS = 8


@dataclass
class KepInstance:
    """Arrays of a kidney-exchange instance (pair nodes and gift nodes numbered separately).
    Pair arcs are sorted by (src, dst); gift arcs by (gsrc, gdst)."""

    n: int
    g: int
    src: np.ndarray
    dst: np.ndarray
    w: np.ndarray
    gsrc: np.ndarray
    gdst: np.ndarray
    gw: np.ndarray
    max_cycle: int
    max_chain: int


@dataclass
class KepSolution:
    cycles: list[tuple[int, ...]]  # pair indices in giving order
    chains: list[tuple[int, tuple[int, ...]]]  # (gift index, pair indices in order)
    objective: float
    bound: float
    status: str  # "optimal" | "time_limit" | "fallback"
    stats: dict = field(default_factory=dict)


def canonical(cycle) -> tuple[int, ...]:
    """A cycle rotated to start at its smallest node."""
    cycle = [int(v) for v in cycle]
    k = cycle.index(min(cycle))
    return tuple(cycle[k:] + cycle[:k])


def solution_weight(inst: KepInstance, cycles: list, chains: list) -> float:
    """Total arc weight of a packing (arcs looked up by binary search: arrays are sorted)."""
    tails, heads, gtails, gheads = [], [], [], []
    for cyc in cycles:
        tails += list(cyc)
        heads += list(cyc[1:]) + [cyc[0]]
    for gift, path in chains:
        gtails.append(gift)
        gheads.append(path[0])
        tails += list(path[:-1])
        heads += list(path[1:])

    def look(src, dst, w, a, b) -> float:
        if not a:
            return 0.0
        n = inst.n
        keys = src.astype(np.int64) * n + dst
        wanted = np.asarray(a, dtype=np.int64) * n + np.asarray(b, dtype=np.int64)
        pos = np.searchsorted(keys, wanted)
        if np.any(pos >= len(keys)) or np.any(keys[np.minimum(pos, len(keys) - 1)] != wanted):
            raise KeyError("a packing uses an arc that does not exist")
        return float(w[pos].sum())

    return look(inst.src, inst.dst, inst.w, tails, heads) + look(inst.gsrc, inst.gdst, inst.gw,
                                                                 gtails, gheads)


def select_diverse(candidates: list[tuple[float, tuple]], limit: int, node_cap: int,
                   nodes_of) -> list[tuple]:
    """The most promising columns (highest reduced cost first, ties by key), at most
    ``node_cap`` per node and ``limit`` in all."""
    usage: dict[int, int] = {}
    chosen = []
    for _, key in sorted(candidates, key=lambda c: (-c[0], c[1])):
        nodes = nodes_of(key)
        if any(usage.get(v, 0) >= node_cap for v in nodes):
            continue
        for v in nodes:
            usage[v] = usage.get(v, 0) + 1
        chosen.append(key)
        if len(chosen) >= limit:
            break
    return chosen


# --------------------------------------------------------------------------- greedy


def greedy(inst: KepInstance, search: CycleSearch | None = None,
           chains_search: ChainSearch | None = None) -> tuple[list, list]:
    """A quick valid packing (the fallback and the benchmark's baseline): for each node in turn
    the heaviest cycle of length <= 3 through it among uncovered nodes; then each gift's chain,
    grown along the heaviest arc to an uncovered node."""
    n = inst.n
    search = search or CycleSearch(n, inst.src, inst.dst, inst.w)
    free = np.ones(n, dtype=bool)
    cycles: list[tuple[int, ...]] = []
    max_len = min(inst.max_cycle, 3)
    for u in range(n):
        if not free[u]:
            continue
        row = search.out_idx[search.out_ptr[u]:search.out_ptr[u + 1]]
        col = search.in_idx[search.in_ptr[u]:search.in_ptr[u + 1]]
        V, X = row[free[row]], col[free[col]]
        if len(V) == 0 or len(X) == 0:
            continue
        best, best_cycle = 0.0, None
        out_w = search._block(np.array([u]), V)[0]
        back_w = search._weights_to(X, u)
        common, iv, ix = np.intersect1d(V, X, assume_unique=True, return_indices=True)
        if len(common):
            tw = out_w[iv] + back_w[ix]
            k = int(np.argmax(tw))
            if tw[k] > best:
                best, best_cycle = float(tw[k]), (u, int(common[k]))
        if max_len >= 3:
            total = out_w[:, None] + search._block(V, X) + back_w[None, :]
            if total.size and np.isfinite(total).any():
                k = int(np.argmax(total))
                i, j = divmod(k, total.shape[1])
                if total[i, j] > best:
                    best, best_cycle = float(total[i, j]), (u, int(V[i]), int(X[j]))
        if best_cycle is not None:
            cycles.append(canonical(best_cycle))
            free[list(best_cycle)] = False
    chains: list[tuple[int, tuple[int, ...]]] = []
    if inst.max_chain >= 1 and inst.g:
        cs = chains_search or ChainSearch(inst.n, inst.g, inst.src, inst.dst, inst.w, inst.gsrc,
                                          inst.gdst, inst.gw, inst.max_chain)
        for gift in range(inst.g):
            lo, hi = np.searchsorted(inst.gsrc, [gift, gift + 1])
            heads, ws = inst.gdst[lo:hi], inst.gw[lo:hi]
            ok = free[heads]
            if not ok.any():
                continue
            node = int(heads[int(np.argmax(np.where(ok, ws, -np.inf)))])
            path = [node]
            free[node] = False
            while len(path) < inst.max_chain:
                row = cs.out_idx[cs.out_ptr[node]:cs.out_ptr[node + 1]]
                arcs = cs.out_arc[cs.out_ptr[node]:cs.out_ptr[node + 1]]
                ok = free[row]
                if not ok.any():
                    break
                node = int(row[int(np.argmax(np.where(ok, inst.w[arcs], -np.inf)))])
                path.append(node)
                free[node] = False
            chains.append((gift, tuple(path)))
    return cycles, chains


# --------------------------------------------------------------------------- exact solver


class Columns:
    """Every exchange generated so far (cycles and chains), with weights and LP membership."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.keys: list[tuple] = []  # ("c", nodes) or ("h", gift, nodes)
        self.index: dict[tuple, int] = {}
        self.weight: list[float] = []
        self.col: list[int] = []  # LP column, or -1

    def add(self, key: tuple, weight: float) -> int:
        i = self.index.get(key)
        if i is None:
            i = len(self.keys)
            self.index[key] = i
            self.keys.append(key)
            self.weight.append(weight)
            self.col.append(-1)
        return i

    @staticmethod
    def nodes(key: tuple) -> tuple[int, ...]:
        return key[1] if key[0] == "c" else key[2]

    def rows(self, key: tuple) -> list[int]:
        """LP rows of a column: its pair nodes, and its gift's row for a chain."""
        return list(key[1]) if key[0] == "c" else [*key[2], self.n + key[1]]


class KepSolver:
    """Column generation over cycles and chains, then diving / integer programs / proof."""

    def __init__(self, inst: KepInstance, deadline: float) -> None:
        self.inst = inst
        self.deadline = deadline
        self.stats: dict = {"phases": {}}
        n = inst.n
        t = time.monotonic()
        # Arcs joining different strongly connected components lie on no cycle.
        if len(inst.src):
            adj = sp.csr_matrix((np.ones(len(inst.src)), (inst.src, inst.dst)), shape=(n, n))
            _, comp = connected_components(adj, directed=True, connection="strong")
            on_cycle = comp[inst.src] == comp[inst.dst]
        else:
            on_cycle = np.zeros(0, dtype=bool)
        self.search = CycleSearch(n, inst.src[on_cycle], inst.dst[on_cycle], inst.w[on_cycle])
        self.chains = ChainSearch(n, inst.g, inst.src, inst.dst, inst.w, inst.gsrc, inst.gdst,
                                  inst.gw, inst.max_chain)
        self.stats["cycle_arcs"] = int(on_cycle.sum())
        self.columns = Columns(n)
        self.n_rows = n + inst.g
        self.pricing_time = 0.0
        self._start = 0
        self.stats["phases"]["setup"] = time.monotonic() - t

    # ---------------------------------------------------------------- LP plumbing

    def _new_lp(self):
        h = highs.new_highs(max(self.deadline - time.monotonic(), 0.05))
        h.setOptionValue("simplex_strategy", 4)  # primal: the basis stays feasible as columns come
        highs.add_empty_rows(h, np.full(self.n_rows, -highs.INF), np.ones(self.n_rows))
        self.lp_cols: list[int] = []  # LP column -> column index
        return h

    def _register(self, keys: list[tuple]) -> list[int]:
        """Record columns (computing weights) and return their indices."""
        out = []
        for key in keys:
            i = self.columns.index.get(key)
            if i is None:
                if key[0] == "c":
                    c = np.array(key[1], dtype=np.int64)
                    w = float(self.search.arc_weight(c, np.roll(c, -1)).sum())
                else:
                    w = self.chains.weight(key[1], key[2])
                i = self.columns.add(key, w)
            out.append(i)
        return out

    def _add_to_lp(self, h, keys: list[tuple]) -> int:
        cols = self.columns
        idx = [i for i in dict.fromkeys(self._register(keys)) if cols.col[i] < 0]
        if not idx:
            return 0
        starts, rows = [], []
        base = h.getNumCol()
        for k, i in enumerate(idx):
            starts.append(len(rows))
            rows += cols.rows(cols.keys[i])
            cols.col[i] = base + k
            self.lp_cols.append(i)
        highs.add_columns(h, np.asarray(cols.weight)[idx], np.array(starts), np.array(rows),
                          np.ones(len(rows)), upper=highs.INF)
        return len(idx)

    def _price(self, duals: np.ndarray, allowed: np.ndarray | None,
               gift_allowed: np.ndarray | None, limit: int) -> tuple[list[tuple], bool]:
        """Columns with positive reduced cost (cycles and chains); and whether the search was
        complete enough to say there are none when the list is empty."""
        inst = self.inst
        n = inst.n
        pi, gamma = duals[:n], duals[n:]
        candidates: list[tuple[float, tuple]] = []
        found = self.search.scan(inst.max_cycle, pi, EPS, start=self._start, limit=2 * limit,
                                 deadline=self.deadline, allowed=allowed, per_start=NODE_CAP)
        self._start = found.next_start
        for nodes, rc in found.arrays().values():
            candidates += [(float(r), ("c", tuple(int(x) for x in row)))
                           for row, r in zip(nodes, rc, strict=True)]
        complete = found.complete
        if inst.g and inst.max_chain:
            chains, top = self.chains.price(pi, gamma, EPS, 3 * limit, allowed, gift_allowed)
            candidates += [(rc, ("h", key[0], key[1])) for key, rc in chains]
            if not chains and top > EPS and complete:
                # A positive walk whose loop-free version is not positive: settle exactly.
                exact = self.chains.enumerate(pi, gamma, EPS, limit,
                                              lambda: time.monotonic() > self.deadline)
                if exact is None:
                    complete = False
                else:
                    candidates += [(rc, ("h", key[0], key[1])) for key, rc in exact
                                   if allowed is None or allowed[list(key[1])].all()]
        chosen = select_diverse(candidates, limit, NODE_CAP, Columns.nodes)
        return chosen, complete

    def _column_generation(self, h, allowed=None, gift_allowed=None):
        """Solve the LP ``h`` over all columns (restricted to ``allowed`` nodes and gifts when
        given). Returns (converged, duals, value, x)."""
        per_round = max(300, self.inst.n)
        duals, value, x = np.zeros(self.n_rows), -np.inf, np.zeros(0)
        while True:
            highs.set_time_limit(h, max(self.deadline - time.monotonic(), 0.05))
            outcome = highs.run(h, mip=False)
            self.stats["lp_solves"] = self.stats.get("lp_solves", 0) + 1
            if outcome.status != highs.OPTIMAL or outcome.row_duals is None:
                return False, duals, -np.inf, x
            duals, value, x = outcome.row_duals, outcome.objective, outcome.x
            tp = time.monotonic()
            keys, complete = self._price(duals, allowed, gift_allowed, per_round)
            added = self._add_to_lp(h, keys)
            self.pricing_time += time.monotonic() - tp
            if added == 0 and complete:
                return True, duals, value, x
            if time.monotonic() > self.deadline:
                return False, duals, value, x

    # ---------------------------------------------------------------- diving

    def _dive(self, h, target: float, tol: float):
        """LP diving (see the module docstring, step 2). Returns a solution meeting ``target``
        or None. Column bounds are restored afterwards."""
        inst = self.inst
        cols = self.columns
        free = np.ones(inst.n, dtype=bool)
        gift_free = np.ones(inst.g, dtype=bool)
        fixed: list[list[int]] = []  # LP columns fixed at one, per step
        banned: list[int] = []
        backtracks = 0
        result = None
        steps = 0
        bold = True

        def set_bounds(columns, lower, upper):
            arr = np.array(columns, dtype=np.int32)
            h.changeColsBounds(len(arr), arr, np.full(len(arr), lower), np.full(len(arr), upper))

        def mark(columns, value):
            for col in columns:
                key = cols.keys[self.lp_cols[col]]
                free[list(Columns.nodes(key))] = value
                if key[0] == "h":
                    gift_free[key[1]] = value

        while time.monotonic() < self.deadline:
            highs.set_time_limit(h, max(self.deadline - time.monotonic(), 0.05))
            outcome = highs.run(h, mip=False)
            self.stats["lp_solves"] = self.stats.get("lp_solves", 0) + 1
            ok = outcome.status == highs.OPTIMAL
            value, x = (outcome.objective, outcome.x) if ok else (-np.inf, None)
            if ok and value < target - tol:
                # Price the free nodes: the lost value may come back with new columns.
                ok, _, value, x = self._column_generation(h, free, gift_free)
            if not ok or value < target - tol:
                # Undo the last step. After a bold step (several fractional columns fixed at
                # once) just become careful; after a careful one, ban the column it chose.
                if not fixed or backtracks >= DIVE_BACKTRACKS:
                    break
                backtracks += 1
                last, picked = fixed.pop()
                set_bounds(last, 0.0, highs.INF)
                mark(last, True)
                if picked > 1:
                    bold = False
                else:
                    set_bounds(last[-1:], 0.0, 0.0)
                    banned.append(last[-1])
                continue
            if np.all(np.abs(x - np.round(x)) < 1e-7):
                result = self._solution_of(np.round(x))
                break
            is_fixed = np.zeros(len(x), dtype=bool)
            for step, _ in fixed:
                is_fixed[step] = True
            frac = np.flatnonzero((x > 1e-7) & (x < 1 - 1e-7))
            ones = np.flatnonzero((x >= 1 - 1e-7) & ~is_fixed)
            order = frac[np.lexsort((frac, -x[frac]))]
            # Bold steps fix a quarter of the fractional columns at once (pairwise disjoint,
            # largest values first); careful steps fix one.
            want = max(1, len(order) // 4) if bold else 1
            pick: list[int] = []
            taken = np.zeros(inst.n + inst.g + 1, dtype=bool)
            for col in order:
                key = cols.keys[self.lp_cols[col]]
                nodes = list(Columns.nodes(key)) + ([inst.n + key[1]] if key[0] == "h" else [])
                if taken[nodes].any():
                    continue
                taken[nodes] = True
                pick.append(int(col))
                if len(pick) >= want:
                    break
            step_cols = [int(c) for c in ones] + pick
            set_bounds(step_cols, 1.0, highs.INF)
            mark(step_cols, False)
            fixed.append((step_cols, len(pick)))
            steps += 1
        restore = [c for step, _ in fixed for c in step]
        if restore:
            set_bounds(restore, 0.0, highs.INF)
        if banned:
            set_bounds(banned, 0.0, highs.INF)
        self.stats["dive_steps"] = steps
        self.stats["dive_backtracks"] = backtracks
        return result

    def _solution_of(self, x: np.ndarray) -> tuple[list, list]:
        cycles, chains = [], []
        for col in np.flatnonzero(x > 0.5):
            key = self.columns.keys[self.lp_cols[col]]
            if key[0] == "c":
                cycles.append(key[1])
            else:
                chains.append((key[1], key[2]))
        return cycles, chains

    # ---------------------------------------------------------------- solve

    def solve(self, incumbent: tuple[list, list]) -> KepSolution:
        inst = self.inst
        stats = self.stats
        phases = stats["phases"]
        h = self._new_lp()
        inc_cycles, inc_chains = incumbent
        self._add_to_lp(h, [("c", tuple(c)) for c in inc_cycles]
                        + [("h", g, tuple(p)) for g, p in inc_chains])
        best = (inc_cycles, inc_chains, solution_weight(inst, inc_cycles, inc_chains))

        t = time.monotonic()
        lp_done, duals, lp_value, x = self._column_generation(h)
        phases["column_generation"] = time.monotonic() - t
        phases["pricing"] = self.pricing_time
        stats["lp_bound"] = lp_value if lp_done else None
        stats["lp_columns"] = h.getNumCol()

        if not lp_done:
            # Out of time before the LP bound was proven: best packing of what we have.
            t = time.monotonic()
            found = self._mip_over(list(range(len(self.columns.keys))), best)
            phases["integer_program"] = time.monotonic() - t
            if found is not None and found[2] > best[2]:
                best = found[:3]
            stats["method"] = ("column generation stopped by the time limit; integer program "
                               "over the generated columns")
            return self._finish(best, max(self.trivial_bound(), best[2]), highs.TIME_LIMIT)

        if np.all(np.abs(x - np.round(x)) < 1e-7):
            cycles, chains = self._solution_of(np.round(x))
            stats["method"] = "column generation LP (integral optimum)"
            return self._finish((cycles, chains, 0.0), lp_value, highs.OPTIMAL)

        integral = bool(np.all(inst.w == np.round(inst.w)) and np.all(inst.gw == np.round(inst.gw)))
        tol = 1e-6 * max(1.0, abs(lp_value))
        target = math.floor(lp_value + 1e-6) if integral else lp_value
        method = "column generation LP"

        t = time.monotonic()
        self.pricing_time = 0.0
        dived = self._dive(h, target, tol)
        phases["dive"] = time.monotonic() - t
        if dived is not None:
            value = solution_weight(inst, *dived)
            if value > best[2]:
                best = (dived[0], dived[1], value)
        if best[2] >= target - tol:
            stats["method"] = method + " + diving meets the LP bound"
            return self._finish(best, best[2], highs.OPTIMAL)

        rc = self._reduced_costs(duals)
        gap = lp_value - target + tol
        t = time.monotonic()
        status = highs.TIME_LIMIT
        for name, pool in self._pools(h, x, rc, gap):
            found = self._mip_over(pool, best, stop_at=target if integral else None)
            if found is not None and found[2] > best[2]:
                best = found[:3]
            stats.setdefault("integer_programs", []).append(
                {"pool": name, "columns": len(pool), "objective": best[2]})
            if best[2] >= target - tol:
                status = highs.OPTIMAL
                method += f" + integer program over {name} meets the LP bound"
                break
        phases["integer_program"] = time.monotonic() - t
        del h

        bound = target
        t = time.monotonic()
        fixing_rounds = 0
        while status != highs.OPTIMAL and time.monotonic() < self.deadline:
            goal = target if integral else best[2] + tol
            pool = self._columns_above(duals, goal - lp_value - tol)
            fixing_rounds += 1
            if pool is None:
                method += " (reduced-cost fixing needs too many columns: not proven)"
                break
            found = self._mip_over(pool, best, stop_at=target if integral else None)
            if found is None or found[3] not in (highs.OPTIMAL, highs.TARGET):
                break
            if found[2] > best[2]:
                best = found[:3]
            if not integral or best[2] >= target - tol:
                status = highs.OPTIMAL
                break
            # No solution reaches the target: it is one step lower.
            target -= 1.0
            bound = target
            if best[2] >= target - tol:
                status = highs.OPTIMAL
        if fixing_rounds:
            phases["reduced_cost_fixing"] = time.monotonic() - t
            stats["rc_fixing_rounds"] = fixing_rounds
            if status == highs.OPTIMAL:
                method += " + reduced-cost fixing proves the optimum"
        stats["method"] = method
        return self._finish(best, bound, status)

    def _finish(self, best: tuple, bound: float, status: str) -> KepSolution:
        cycles, chains, _ = best
        value = solution_weight(self.inst, cycles, chains)
        self.stats["columns_generated"] = len(self.columns.keys)
        self.stats["cycle_columns"] = sum(1 for k in self.columns.keys if k[0] == "c")
        self.stats["chain_columns"] = sum(1 for k in self.columns.keys if k[0] == "h")
        if status == highs.OPTIMAL:
            bound = value
        return KepSolution(list(cycles), list(chains), value, max(bound, value), status,
                           self.stats)

    # ---------------------------------------------------------------- integer programs

    def _reduced_costs(self, duals: np.ndarray) -> np.ndarray:
        """Reduced cost of every generated column with respect to ``duals``."""
        n = self.inst.n
        pi, gamma = duals[:n], duals[n:]
        out = np.empty(len(self.columns.keys))
        for i, key in enumerate(self.columns.keys):
            nodes = list(Columns.nodes(key))
            out[i] = self.columns.weight[i] - pi[nodes].sum() - (gamma[key[1]] if key[0] == "h"
                                                                 else 0.0)
        return out

    def _pools(self, h, x: np.ndarray, rc: np.ndarray, gap: float):
        """Growing column pools for integer programs: the LP support; plus the supports of LPs
        with tiny random perturbations of the weights (restricted to columns within ``gap``);
        every generated column within ``gap``."""
        support = sorted(self.lp_cols[c] for c in np.flatnonzero(x > 1e-9))
        yield "the LP support", support
        ncol = h.getNumCol()
        near = np.array([rc[self.lp_cols[c]] >= -gap for c in range(ncol)])
        cost = np.asarray(self.columns.weight)[self.lp_cols]
        h.changeColsBounds(ncol, np.arange(ncol, dtype=np.int32), np.zeros(ncol),
                           np.where(near, highs.INF, 0.0))
        rng = np.random.default_rng(12345)
        pool = set(support)
        scale = 1e-4 / max(1, self.inst.n)
        for _ in range(PERTURBED_LPS):
            if time.monotonic() > self.deadline:
                break
            h.changeColsCost(ncol, np.arange(ncol, dtype=np.int32),
                             cost * (1.0 + scale * rng.random(ncol)))
            outcome = highs.run(h, mip=False)
            if outcome.status != highs.OPTIMAL:
                break
            pool.update(self.lp_cols[c] for c in np.flatnonzero(outcome.x > 1e-9))
        h.changeColsCost(ncol, np.arange(ncol, dtype=np.int32), cost)
        h.changeColsBounds(ncol, np.arange(ncol, dtype=np.int32), np.zeros(ncol),
                           np.full(ncol, highs.INF))
        if len(pool) > len(support):
            yield "perturbed LP supports", sorted(pool)
        yield "generated columns within the gap", np.flatnonzero(rc >= -gap).tolist()

    def _columns_above(self, duals: np.ndarray, threshold: float) -> list[int] | None:
        """All columns (not only generated ones) with reduced cost >= threshold, registered;
        None if there are more than RC_FIX_LIMIT."""
        inst = self.inst
        pi, gamma = duals[:inst.n], duals[inst.n:]
        found = self.search.scan(inst.max_cycle, pi, threshold - 1e-9, limit=RC_FIX_LIMIT + 1,
                                 deadline=self.deadline)
        if not found.complete or found.count > RC_FIX_LIMIT:
            return None
        keys = [("c", tuple(int(v) for v in row)) for nodes, _ in found.arrays().values()
                for row in nodes]
        if inst.g and inst.max_chain:
            chains = self.chains.enumerate(pi, gamma, threshold - 1e-9,
                                           RC_FIX_LIMIT - len(keys),
                                           lambda: time.monotonic() > self.deadline)
            if chains is None:
                return None
            keys += [("h", key[0], key[1]) for key, _ in chains]
        self.stats["rc_fixing_columns"] = len(keys)
        return sorted(set(self._register(keys)))

    def _mip_over(self, pool: list[int], start: tuple | None, stop_at: float | None = None):
        """The integer program over the columns ``pool`` (a fresh HiGHS model); ``stop_at``
        stops the search once a solution reaches that value. Returns (cycles, chains, value,
        status) or None."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0.05 or not len(pool):
            return None
        cols = self.columns
        h = highs.new_highs(remaining)
        if stop_at is not None:
            # Integral weights: any solution within one unit of the bound is optimal.
            h.setOptionValue("mip_abs_gap", 0.999)
            h.setOptionValue("objective_target", float(stop_at) - 1e-6)
        highs.add_empty_rows(h, np.full(self.n_rows, -highs.INF), np.ones(self.n_rows))
        starts, rows = [], []
        for i in pool:
            starts.append(len(rows))
            rows += cols.rows(cols.keys[i])
        highs.add_columns(h, np.asarray(cols.weight)[pool], np.array(starts), np.array(rows),
                          np.ones(len(rows)))
        highs.set_integer(h, len(pool))
        if start is not None:
            where = {i: k for k, i in enumerate(pool)}
            keys = [("c", tuple(c)) for c in start[0]] + [("h", g, tuple(p)) for g, p in start[1]]
            idx = [where.get(cols.index.get(key, -1)) for key in keys]
            if all(k is not None for k in idx):
                x0 = np.zeros(len(pool))
                x0[idx] = 1.0
                h.setSolution(len(pool), np.arange(len(pool), dtype=np.int32), x0)
        outcome = highs.run(h, mip=True)
        if outcome.status not in (highs.OPTIMAL, highs.TIME_LIMIT, highs.TARGET) \
                or not len(outcome.x):
            return None
        cycles, chains = [], []
        for k in np.flatnonzero(outcome.x > 0.5):
            key = cols.keys[pool[k]]
            if key[0] == "c":
                cycles.append(key[1])
            else:
                chains.append((key[1], key[2]))
        return cycles, chains, solution_weight(self.inst, cycles, chains), outcome.status

    def trivial_bound(self) -> float:
        """Every node receives at most once: the sum of each node's heaviest incoming arc."""
        inst = self.inst
        best = np.zeros(inst.n)
        np.maximum.at(best, inst.dst, inst.w)
        if inst.max_chain:
            np.maximum.at(best, inst.gdst, inst.gw)
        return float(best.sum())
