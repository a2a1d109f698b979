"""Candidate exchanges of a market: every fair cycle and gift chain within the caps.

A market cycle is a sequence of arcs a1..ak whose organisations are pairwise distinct, where
the receiver of a_i is the giver of a_(i+1) (and of a1 for ak); it is *fair* when, at every
organisation, min(given, received) / max(given, received) >= the fairness threshold. A chain
starts with a gift arc and continues with ordinary arcs; its middle organisations must be fair,
its gift giver and last receiver are exempt. Declined signatures are never produced.

Cycles are enumerated from their smallest organisation (in natural id order), so every cycle
appears exactly once, already rotated the way the result shows it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field

import networkx as nx

from .market import Arc, Market, signature
from .validation import id_sort_key

#: Fairness comparisons allow for float rounding (1600/1750 vs a threshold typed as 0.9142857).
FAIR_EPS = 1e-9
#: Enumeration stops (and says so) beyond this many candidates; the solve is then not proven.
MAX_CANDIDATES = 3_000_000


@dataclass
class Candidates:
    """Cycles and chains as tuples of arc indices in giving order."""

    cycles: list[tuple[int, ...]] = field(default_factory=list)
    chains: list[tuple[int, ...]] = field(default_factory=list)
    truncated: bool = False

    def __len__(self) -> int:
        return len(self.cycles) + len(self.chains)


def fair(received: float, given: float, threshold: float) -> bool:
    """An organisation receiving ``received`` and giving ``given`` in one exchange is fair."""
    if threshold <= 0:
        return True
    high = max(received, given)
    return high <= 0 or min(received, given) >= threshold * high - FAIR_EPS * high


def participant_fairness(received: float, given: float) -> float:
    high = max(received, given)
    return 1.0 if high <= 0 else min(received, given) / high


def org_order(market: Market) -> dict[str, int]:
    return {oid: i for i, oid in enumerate(sorted(market.organisations, key=id_sort_key))}


def enumerate_candidates(
    market: Market, arcs: list[Arc], max_cycle: int, max_chain: int, deadline: float
) -> Candidates:
    """All fair, non-declined cycles (2..max_cycle) and chains (1..max_chain transfers)."""
    order = org_order(market)
    theta = market.settings.fairness_threshold
    declined = market.settings.declined
    value = [a.value for a in arcs]
    giver = [order[a.giver] for a in arcs]
    receiver = [order[a.receiver] for a in arcs]
    result = Candidates()
    budget = [0]

    def out_of_time() -> bool:
        budget[0] += 1
        if len(result) >= MAX_CANDIDATES or (budget[0] % 4096 == 0 and time.monotonic() > deadline):
            result.truncated = True
        return result.truncated

    def keep(path: tuple[int, ...]) -> bool:
        return not declined or signature([arcs[i] for i in path]) not in declined

    # Arcs that can lie on a cycle join two organisations of the same strongly connected
    # component of the organisation graph; the rest can only appear in chains.
    org_graph = nx.DiGraph()
    org_graph.add_nodes_from(range(len(order)))
    org_graph.add_edges_from((giver[i], receiver[i]) for i, a in enumerate(arcs) if not a.gift)
    component = {}
    for k, comp in enumerate(nx.strongly_connected_components(org_graph)):
        for node in comp:
            component[node] = k

    cycle_out: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    chain_out: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    gifts: list[int] = []
    for i, arc in enumerate(arcs):
        if arc.gift:
            gifts.append(i)
            continue
        chain_out[giver[i]][receiver[i]].append(i)
        if component[giver[i]] == component[receiver[i]]:
            cycle_out[giver[i]][receiver[i]].append(i)

    def extend_cycle(start: int, node: int, path: tuple[int, ...], visited: set[int]) -> None:
        for nxt, choices in sorted(cycle_out[node].items()):
            if result.truncated:
                return
            if nxt == start:
                for a in choices:
                    if fair(value[path[-1]], value[a], theta) and fair(value[a], value[path[0]],
                                                                        theta):
                        cycle = (*path, a)
                        if keep(cycle):
                            result.cycles.append(cycle)
                    if out_of_time():
                        return
            elif nxt > start and nxt not in visited and len(path) + 1 < max_cycle:
                for a in choices:
                    if fair(value[path[-1]], value[a], theta):
                        visited.add(nxt)
                        extend_cycle(start, nxt, (*path, a), visited)
                        visited.discard(nxt)
                    if out_of_time():
                        return

    for start in range(len(order)):
        for nxt, choices in sorted(cycle_out[start].items()):
            if nxt <= start:
                continue
            for a in choices:
                if result.truncated:
                    break
                extend_cycle(start, nxt, (a,), {start, nxt})

    def extend_chain(node: int, path: tuple[int, ...], visited: set[int]) -> None:
        if keep(path):
            result.chains.append(path)
        if len(path) >= max_chain or out_of_time():
            return
        for nxt, choices in sorted(chain_out[node].items()):
            if nxt in visited:
                continue
            for a in choices:
                if result.truncated:
                    return
                if fair(value[path[-1]], value[a], theta):
                    visited.add(nxt)
                    extend_chain(nxt, (*path, a), visited)
                    visited.discard(nxt)

    if max_chain >= 1:
        for g in gifts:
            if result.truncated:
                break
            extend_chain(receiver[g], (g,), {giver[g], receiver[g]})
    return result
