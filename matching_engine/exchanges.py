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
#: Past a few hundred thousand columns the integer program cannot even solve its LP within a
#: run's time limit, so more candidates would not give a better packing.
MAX_CANDIDATES = 250_000


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

    # Neighbours in ascending order, sorted once (the searches below visit them many times).
    cycle_next = {node: sorted(targets.items()) for node, targets in cycle_out.items()}
    chain_next = {node: sorted(targets.items()) for node, targets in chain_out.items()}

    def extend_cycle(start: int, node: int, path: tuple[int, ...], visited: set[int]) -> None:
        # ``start`` is the cycle's smallest organisation, so closing arcs come first in
        # ascending order; at the last position only they can follow.
        for a in cycle_out[node].get(start, ()):
            if result.truncated:
                return
            if fair(value[path[-1]], value[a], theta) and fair(value[a], value[path[0]], theta):
                cycle = (*path, a)
                if keep(cycle):
                    result.cycles.append(cycle)
            if out_of_time():
                return
        if len(path) + 1 >= max_cycle:
            return
        # The next organisation is the last one: it must be able to give back to ``start``.
        last = len(path) + 2 >= max_cycle
        for nxt, choices in cycle_next.get(node, ()):
            if result.truncated:
                return
            if nxt > start and nxt not in visited and (not last or start in cycle_out[nxt]):
                for a in choices:
                    if fair(value[path[-1]], value[a], theta):
                        visited.add(nxt)
                        extend_cycle(start, nxt, (*path, a), visited)
                        visited.discard(nxt)
                    if out_of_time():
                        return

    for start in range(len(order)):
        for nxt, choices in cycle_next.get(start, ()):
            if nxt <= start:
                continue
            for a in choices:
                if result.truncated:
                    break
                extend_cycle(start, nxt, (a,), {start, nxt})

    def chains_from(gift: int, budget: int) -> bool:
        """Add the gift's chains, shortest first, at most ``budget`` of them; return whether
        some were left out. Shorter chains are never crowded out by longer ones."""
        level = [(gift,)]
        cut = False
        while level and not result.truncated:
            deeper: list[tuple[int, ...]] = []
            for path in level:
                if keep(path):
                    if budget <= 0:
                        return True
                    result.chains.append(path)
                    budget -= 1
                if out_of_time():
                    return True
                if len(path) >= max_chain:
                    continue
                if len(deeper) > budget:
                    cut = True  # the next level already holds more than the budget can keep
                    continue
                visited = {giver[path[0]], *(receiver[a] for a in path)}
                for nxt, choices in chain_next.get(receiver[path[-1]], ()):
                    if nxt not in visited:
                        deeper.extend((*path, a) for a in choices
                                      if fair(value[path[-1]], value[a], theta))
            level = deeper
        return cut

    if max_chain >= 1 and gifts:
        # Every gift gets an equal share of what is left, so that a market with many long
        # chains still has every gift's shortest chains among the candidates; gifts with the
        # fewest continuations go first and leave what they do not use to the others.
        fan_out = {g: sum(len(c) for _, c in chain_next.get(receiver[g], ())) for g in gifts}
        cut = False
        for k, g in enumerate(sorted(gifts, key=lambda g: (fan_out[g], g))):
            if result.truncated:
                break
            share = max(MAX_CANDIDATES - len(result), 0) // (len(gifts) - k)
            cut = chains_from(g, share) or cut
        result.truncated = result.truncated or cut
    return result
