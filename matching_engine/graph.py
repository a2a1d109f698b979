"""Graph documents (kidney-exchange style): reading and checking them.

Each non-gift node receives at most once and gives at most once, and gives only if it receives
(a patient-donor pair); a node may hold several alternative offers (willing donors) and an arc
names the one it uses. A gift node (non-directed donor) only gives and starts a chain. The
objective is the total weight of the arcs used.

Parallel arcs between the same two nodes (one per alternative offer) are interchangeable for
the optimisation: only the heaviest is kept (ties: the smallest offer id), and the result names
the offer it uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import validation as v
from .errors import InputError

DEFAULT_MAX_CYCLE = 3
DEFAULT_MAX_CHAIN = 3
DEFAULT_TIME_LIMIT = 30.0
SETTING_KEYS = ("max_cycle", "max_chain", "time_limit")


@dataclass(frozen=True)
class Graph:
    """Nodes in document order; arcs (after keeping the best of parallel arcs) as arrays."""

    ids: list[str]
    gift: np.ndarray  # bool per node
    src: np.ndarray  # int32 per arc
    dst: np.ndarray  # int32 per arc
    weight: np.ndarray  # float64 per arc
    offer: list[str | None]  # per arc
    arcs_in_document: int
    max_cycle: int
    max_chain: int
    time_limit: float


def parse_graph(doc: dict[str, Any]) -> Graph:
    """Read and check a graph document; raise ``InputError`` naming the first problem."""
    v.mapping(doc, "document", allowed=("nodes", "arcs", "settings"), required=("nodes", "arcs"))
    ids: list[str] = []
    index: dict[str, int] = {}
    gift: list[bool] = []
    offer_owner: dict[str, int] = {}
    for i, node in enumerate(v.array(doc["nodes"], "nodes")):
        v.mapping(node, f"nodes[{i}]", allowed=("id", "gift", "offers"), required=("id",))
        nid = v.ident(node["id"], f"nodes[{i}].id")
        if nid in index:
            raise InputError(f"nodes: duplicate id {nid!r}")
        index[nid] = len(ids)
        ids.append(nid)
        gift.append(v.boolean(node.get("gift", False), f"node {nid!r}.gift"))
        for j, offer in enumerate(v.array(node.get("offers", []) or [], f"node {nid!r}.offers")):
            oid = v.ident(offer, f"node {nid!r}.offers[{j}]")
            if oid in offer_owner:
                raise InputError(f"node {nid!r}: duplicate offer id {oid!r}")
            offer_owner[oid] = len(ids) - 1

    arcs = v.array(doc["arcs"], "arcs")
    src: list[int] = []
    dst: list[int] = []
    weights: list[float] = []
    offers: list[str | None] = []
    allowed = {"from", "to", "offer", "weight"}
    for k, arc in enumerate(arcs):
        # Fast path for the common, valid arc; anything unusual goes through the checks that
        # produce the precise message.
        if type(arc) is dict and arc.keys() <= allowed:
            u = index.get(arc.get("from")) if type(arc.get("from")) is str else None
            w_ = index.get(arc.get("to")) if type(arc.get("to")) is str else None
            weight = arc.get("weight", 1.0)
            offer = arc.get("offer")
            if (u is not None and w_ is not None and u != w_ and not gift[w_]
                    and type(weight) in (int, float) and 0.0 <= weight <= v.MAX_WEIGHT
                    and (offer is None or (type(offer) is str and offer_owner.get(offer) == u))):
                src.append(u)
                dst.append(w_)
                weights.append(float(weight))
                offers.append(offer)
                continue
        u, w_, offer, weight = _check_arc(arc, f"arcs[{k}]", index, gift, offer_owner)
        src.append(u)
        dst.append(w_)
        weights.append(weight)
        offers.append(offer)

    n_nodes = len(ids)
    src_a = np.array(src, dtype=np.int64)
    dst_a = np.array(dst, dtype=np.int64)
    w_a = np.array(weights, dtype=np.float64)
    key = src_a * max(n_nodes, 1) + dst_a
    with_offer = [i for i, o in enumerate(offers) if o is not None]
    if not with_offer:
        order = np.argsort(key, kind="stable")
        dup = np.flatnonzero(key[order][1:] == key[order][:-1])
        if len(dup):
            k = int(order[dup[0] + 1])
            raise InputError(f"arcs[{k}]: duplicate arc {ids[src[k]]!r} -> {ids[dst[k]]!r}")
        keep = order
    else:
        seen: set[tuple[int, int, str | None]] = set()
        for k in range(len(src)):
            triple = (src[k], dst[k], offers[k])
            if triple in seen:
                raise InputError(f"arcs[{k}]: duplicate arc {ids[src[k]]!r} -> {ids[dst[k]]!r}"
                                 + (f" with offer {offers[k]!r}" if offers[k] else ""))
            seen.add(triple)
        # Parallel arcs (alternative offers): keep the heaviest, ties to the smallest offer id.
        rank = {o: r for r, o in enumerate(sorted({o or "" for o in offers}, key=v.id_sort_key))}
        offer_rank = np.array([rank[o or ""] for o in offers], dtype=np.int64)
        order = np.lexsort((offer_rank, -w_a, key))
        first = np.ones(len(order), dtype=bool)
        first[1:] = key[order][1:] != key[order][:-1]
        keep = order[first]
    raw = doc.get("settings", {}) or {}
    v.mapping(raw, "settings", allowed=SETTING_KEYS)
    max_cycle, max_chain, time_limit = v.caps(
        raw.get("max_cycle", DEFAULT_MAX_CYCLE), raw.get("max_chain", DEFAULT_MAX_CHAIN),
        raw.get("time_limit", DEFAULT_TIME_LIMIT), "settings",
    )
    return Graph(ids, np.array(gift, dtype=bool), src_a[keep].astype(np.int32),
                 dst_a[keep].astype(np.int32), w_a[keep], [offers[k] for k in keep.tolist()],
                 len(arcs), max_cycle, max_chain, time_limit)


def _check_arc(arc: Any, where: str, index: dict[str, int], gift: list[bool],
               offer_owner: dict[str, int]) -> tuple[int, int, str | None, float]:
    """Validate one arc with precise messages: (tail, head, offer, weight)."""
    v.mapping(arc, where, allowed=("from", "to", "offer", "weight"), required=("from", "to"))
    a = v.ident(arc["from"], f"{where}.from")
    b = v.ident(arc["to"], f"{where}.to")
    for end, name in ((a, "from"), (b, "to")):
        if end not in index:
            raise InputError(f"{where}.{name}: unknown node id {end!r}")
    u, w_ = index[a], index[b]
    if u == w_:
        raise InputError(f"{where}: an arc from node {a!r} to itself")
    if gift[w_]:
        raise InputError(f"{where}: node {b!r} is a gift and cannot receive")
    offer = arc.get("offer")
    if offer is not None:
        offer = v.ident(offer, f"{where}.offer")
        if offer_owner.get(offer) != u:
            raise InputError(f"{where}.offer: {offer!r} is not an offer of node {a!r}")
    weight = float(v.number(arc.get("weight", 1.0), f"{where}.weight", low=0.0,
                            high=v.MAX_WEIGHT))
    return u, w_, offer, weight
