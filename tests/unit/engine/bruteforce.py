"""Independent, deliberately simple brute force for tiny instances (no engine code is used).

Everything is re-derived from the documented rules (README): compatibility, exchanges
(permutations of organisations, every choice of listing pair between consecutive ones),
fairness, and the best packing (exhaustive search over sets of exchanges).
"""

from __future__ import annotations

import itertools
import math
from datetime import date

TOL = 1e-7


# --------------------------------------------------------------------------- graph documents


def graph_optimum(doc: dict, max_cycle: int, max_chain: int) -> float:
    """Best total arc weight of node-disjoint cycles (2..max_cycle) and gift chains."""
    nodes = [n["id"] for n in doc["nodes"]]
    gift = {n["id"] for n in doc["nodes"] if n.get("gift")}
    weight: dict[tuple[str, str], float] = {}
    for arc in doc["arcs"]:
        key = (arc["from"], arc["to"])
        weight[key] = max(weight.get(key, -1.0), float(arc.get("weight", 1.0)))
    bit = {v: 1 << i for i, v in enumerate(nodes)}
    exchanges: list[tuple[int, float]] = []
    pairs = [v for v in nodes if v not in gift]
    for k in range(2, max_cycle + 1):
        for perm in itertools.permutations(pairs, k):
            if perm[0] != min(perm, key=nodes.index):
                continue
            arcs = [(perm[i], perm[(i + 1) % k]) for i in range(k)]
            if all(a in weight for a in arcs):
                exchanges.append((sum(bit[v] for v in perm), sum(weight[a] for a in arcs)))

    def grow(path: list[str], value: float) -> None:
        if len(path) > 1:
            exchanges.append((sum(bit[v] for v in path), value))
        if len(path) - 1 >= max_chain:
            return
        for v in pairs:
            if v not in path and (path[-1], v) in weight:
                grow(path + [v], value + weight[(path[-1], v)])

    if max_chain >= 1:
        for g in sorted(gift, key=nodes.index):
            grow([g], 0.0)
    return _best_disjoint(exchanges, len(nodes))


def _best_disjoint(exchanges: list[tuple[int, float]], n_bits: int) -> float:
    """Max total value of pairwise disjoint bit-masks (DP on the lowest undecided node)."""
    by_low: dict[int, list[tuple[int, float]]] = {}
    for mask, value in exchanges:
        low = (mask & -mask).bit_length() - 1
        by_low.setdefault(low, []).append((mask, value))
    memo: dict[int, float] = {}

    def best(used: int) -> float:
        if used in memo:
            return memo[used]
        free = [i for i in range(n_bits) if not used >> i & 1]
        if not free:
            return 0.0
        low = free[0]
        result = best(used | 1 << low)  # the lowest free node takes part in nothing more
        for mask, value in by_low.get(low, []):
            if not mask & used:
                result = max(result, value + best(used | mask))
        memo[used] = result
        return result

    return best(0)


# --------------------------------------------------------------------------- market documents


def _overlap(a: dict, b: dict) -> bool:
    lo = [date.fromisoformat(x) for x in (a.get("available_from"), b.get("available_from")) if x]
    hi = [date.fromisoformat(x) for x in (a.get("available_until"), b.get("available_until")) if x]
    return not lo or not hi or max(lo) <= min(hi)


def market_arcs(doc: dict) -> list[dict]:
    """Every compatible (offer, need) pair as a leg dict, by the market's compatibility rule."""
    orgs = {o["id"]: o for o in doc["organisations"]}
    value = {c["code"]: c["value"] for c in doc["currencies"]}

    def areas(listing: dict) -> set | None:
        if listing.get("remote"):
            return None
        own = set(listing.get("areas") or []) or set(orgs[listing["organisation"]].get("areas")
                                                     or [])
        return own or None

    legs = []
    for o in doc["listings"]:
        if o["kind"] != "offer":
            continue
        for n in doc["listings"]:
            if n["kind"] != "need" or o["organisation"] == n["organisation"]:
                continue
            a, b = orgs[o["organisation"]], orgs[n["organisation"]]
            if b["id"] in (a.get("excludes") or []) or a["id"] in (b.get("excludes") or []):
                continue
            if o["currency"] != n["currency"]:
                continue
            if n.get("category") is not None and n.get("category") != o.get("category"):
                continue
            if not set(n.get("tags") or []) <= set(o.get("tags") or []):
                continue
            if not _overlap(o, n):
                continue
            ao, an = areas(o), areas(n)
            if ao is not None and an is not None and not ao & an:
                continue
            least = n["quantity"] if n.get("min_quantity") is None else n["min_quantity"]
            if o["quantity"] < least:
                continue
            q = min(o["quantity"], n["quantity"])
            legs.append({"from": a["id"], "to": b["id"], "offer": o["id"], "need": n["id"],
                         "quantity": q, "value": q * value[o["currency"]],
                         "gift": bool(o.get("gift"))})
    return legs


def _fair(received: float, given: float, threshold: float) -> bool:
    high = max(received, given)
    return high == 0 or min(received, given) / high >= threshold - 1e-9


def market_exchanges(doc: dict, max_cycle: int, max_chain: int) -> list[dict]:
    settings = doc.get("settings") or {}
    theta = settings.get("fairness_threshold", 0.5)
    declined = {tuple(sorted(tuple(p) for p in sig)) for sig in settings.get("declined", [])}
    legs = market_arcs(doc)
    orgs = [o["id"] for o in doc["organisations"]]
    between: dict[tuple[str, str], list[dict]] = {}
    for leg in legs:
        between.setdefault((leg["from"], leg["to"], leg["gift"]), []).append(leg)
    result = []

    def signature(chosen) -> tuple:
        return tuple(sorted((leg["offer"], leg["need"]) for leg in chosen))

    for k in range(2, max_cycle + 1):
        for perm in itertools.permutations(orgs, k):
            if perm[0] != min(perm):  # each cycle once
                continue
            options = [between.get((perm[i], perm[(i + 1) % k], False), []) for i in range(k)]
            for chosen in itertools.product(*options):
                fair = all(_fair(chosen[i - 1]["value"], chosen[i]["value"], theta)
                           for i in range(k))
                if fair and signature(chosen) not in declined:
                    result.append({"kind": "cycle", "legs": chosen, "orgs": perm})
    for k in range(1, max_chain + 1):
        for perm in itertools.permutations(orgs, k + 1):
            options = [between.get((perm[0], perm[1], True), [])]
            options += [between.get((perm[i], perm[i + 1], False), []) for i in range(1, k)]
            for chosen in itertools.product(*options):
                if all(_fair(chosen[i - 1]["value"], chosen[i]["value"], theta)
                       for i in range(1, k)) and signature(chosen) not in declined:
                    result.append({"kind": "chain", "legs": chosen, "orgs": perm})
    return result


def market_levels(doc: dict, exchange: dict) -> tuple[float, float, float, float]:
    """(needs, value, parties², expected needs met) of one exchange."""
    rate = {o["id"]: o.get("completion_rate", 1.0) for o in doc["organisations"]}
    legs = exchange["legs"]
    parties = len(exchange["orgs"])
    return (len(legs), sum(leg["value"] for leg in legs), parties ** 2,
            len(legs) * math.prod(rate[o] for o in exchange["orgs"]))


def market_optimum(doc: dict, max_cycle: int, max_chain: int):
    """The best objective: lexicographic (needs, value, -parties², completion) as a tuple, or
    the weighted score; found by trying every feasible set of exchanges."""
    settings = doc.get("settings") or {}
    weighted = settings.get("objective") == "weighted"
    weights = {"needs": 1.0, "value": 0.0, "parties": 0.0, "completion": 0.0}
    weights.update(settings.get("weights") or {})
    capacity = {lst["id"]: lst["quantity"] for lst in doc["listings"]}
    exchanges = market_exchanges(doc, max_cycle, max_chain)
    levels = [market_levels(doc, e) for e in exchanges]
    best = [None]

    def score(total):
        if weighted:
            return (weights["needs"] * total[0] + weights["value"] * total[1]
                    - weights["parties"] * total[2] + weights["completion"] * total[3],)
        return (total[0], total[1], -total[2], total[3])

    def better(a, b) -> bool:
        for x, y in zip(a, b, strict=True):
            if x > y + TOL * max(1.0, abs(y)):
                return True
            if x < y - TOL * max(1.0, abs(y)):
                return False
        return False

    def search(i: int, used: dict, total: tuple) -> None:
        if best[0] is None or better(score(total), best[0]):
            best[0] = score(total)
        for j in range(i, len(exchanges)):
            need = {}
            for leg in exchanges[j]["legs"]:
                for lid in (leg["offer"], leg["need"]):
                    need[lid] = need.get(lid, 0) + leg["quantity"]
            if all(used.get(lid, 0) + q <= capacity[lid] + 1e-9 for lid, q in need.items()):
                for lid, q in need.items():
                    used[lid] = used.get(lid, 0) + q
                search(j + 1, used, tuple(a + b for a, b in zip(total, levels[j], strict=True)))
                for lid, q in need.items():
                    used[lid] -= q

    search(0, {}, (0, 0.0, 0, 0.0))
    return best[0], len(exchanges)
