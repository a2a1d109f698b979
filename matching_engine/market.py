"""Market documents: reading them, the compatibility rule and the exchange graph.

A market document (see the README) is read into frozen dataclasses; ``build_arcs`` then
applies the market's compatibility rule to every (offer, need) pair and returns one ``Arc`` per
compatible pair, in a deterministic order. ``exchange_graph`` gives the same arcs as a networkx
multigraph (organisations as nodes) for callers that want to draw or inspect it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from . import validation as v
from .errors import InputError

OFFER = "offer"
NEED = "need"
LEXICOGRAPHIC = "lexicographic"
WEIGHTED = "weighted"
OBJECTIVES = (LEXICOGRAPHIC, WEIGHTED)
WEIGHT_KEYS = ("needs", "value", "parties", "completion")
DEFAULT_WEIGHTS = {"needs": 1.0, "value": 0.0, "parties": 0.0, "completion": 0.0}

DEFAULT_MAX_CYCLE = 3
DEFAULT_MAX_CHAIN = 3
DEFAULT_FAIRNESS = 0.5
DEFAULT_TIME_LIMIT = 30.0

ORG_KEYS = ("id", "name", "areas", "excludes", "completion_rate")
CURRENCY_KEYS = ("code", "value")
LISTING_KEYS = (
    "id", "organisation", "kind", "currency", "category", "tags", "quantity", "min_quantity",
    "areas", "remote", "available_from", "available_until", "gift",
)
SETTING_KEYS = (
    "max_cycle", "max_chain", "fairness_threshold", "objective", "weights", "time_limit",
    "declined",
)

Signature = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    areas: frozenset[str]
    excludes: frozenset[str]
    completion_rate: float


@dataclass(frozen=True)
class Listing:
    """An offer or a need. ``areas`` is None when the listing matches every area (remote, or no
    area given by the listing nor its organisation)."""

    id: str
    organisation: str
    kind: str
    currency: str
    category: str | None
    tags: frozenset[str]
    quantity: float
    min_quantity: float | None
    areas: frozenset[str] | None
    available_from: dt.date | None
    available_until: dt.date | None
    gift: bool

    @property
    def least_acceptable(self) -> float:
        """What an offer must be able to give for this need (the minimum, else the full need)."""
        return self.quantity if self.min_quantity is None else self.min_quantity


@dataclass(frozen=True)
class Settings:
    max_cycle: int = DEFAULT_MAX_CYCLE
    max_chain: int = DEFAULT_MAX_CHAIN
    fairness_threshold: float = DEFAULT_FAIRNESS
    objective: str = LEXICOGRAPHIC
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    time_limit: float = DEFAULT_TIME_LIMIT
    declined: frozenset[Signature] = frozenset()


@dataclass(frozen=True)
class Market:
    organisations: dict[str, Organisation]
    currencies: dict[str, float]
    listings: list[Listing]
    settings: Settings


@dataclass(frozen=True)
class Arc:
    """One compatible (offer, need) pair: ``giver`` gives ``quantity`` units worth ``value``."""

    index: int
    offer: str
    need: str
    giver: str
    receiver: str
    currency: str
    quantity: float
    value: float
    gift: bool


def signature(arcs: list[Arc] | tuple[Arc, ...]) -> Signature:
    """The rotation-free identity of an exchange: its sorted (offer, need) pairs."""
    return tuple(sorted((a.offer, a.need) for a in arcs))


# --------------------------------------------------------------------------- reading


def parse_market(doc: dict[str, Any]) -> Market:
    """Read and check a market document; raise ``InputError`` naming the first problem."""
    v.mapping(doc, "document", allowed=("organisations", "currencies", "listings", "settings"),
              required=("organisations", "currencies", "listings"))
    organisations = _parse_organisations(v.array(doc["organisations"], "organisations"))
    currencies = _parse_currencies(v.array(doc["currencies"], "currencies"))
    listings = _parse_listings(v.array(doc["listings"], "listings"), organisations, currencies)
    settings = parse_settings(doc.get("settings", {}) or {})
    return Market(organisations, currencies, listings, settings)


def _parse_organisations(items: list) -> dict[str, Organisation]:
    result: dict[str, Organisation] = {}
    for i, item in enumerate(items):
        where = f"organisations[{i}]"
        v.mapping(item, where, allowed=ORG_KEYS, required=("id",))
        oid = v.ident(item["id"], f"{where}.id")
        where = f"organisation {oid!r}"
        if oid in result:
            raise InputError(f"organisations: duplicate id {oid!r}")
        rate = v.number(item.get("completion_rate", 1.0), f"{where}.completion_rate", low=0.0,
                        high=1.0, nullable=True)
        result[oid] = Organisation(
            id=oid,
            name=v.text(item.get("name", oid), f"{where}.name", nullable=True) or oid,
            areas=frozenset(v.strings(item.get("areas", []) or [], f"{where}.areas")),
            excludes=frozenset(
                v.ident(x, f"{where}.excludes[{j}]")
                for j, x in enumerate(v.array(item.get("excludes", []) or [], f"{where}.excludes"))
            ),
            completion_rate=1.0 if rate is None else float(rate),
        )
    return result


def _parse_currencies(items: list) -> dict[str, float]:
    result: dict[str, float] = {}
    for i, item in enumerate(items):
        where = f"currencies[{i}]"
        v.mapping(item, where, allowed=CURRENCY_KEYS, required=CURRENCY_KEYS)
        code = v.ident(item["code"], f"{where}.code")
        if code in result:
            raise InputError(f"currencies: duplicate code {code!r}")
        result[code] = float(v.number(item["value"], f"currency {code!r}.value", low=0.0,
                                      low_open=True, high=v.MAX_VALUE))
    return result


def _parse_listings(
    items: list, organisations: dict[str, Organisation], currencies: dict[str, float]
) -> list[Listing]:
    result: list[Listing] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        v.mapping(item, f"listings[{i}]", allowed=LISTING_KEYS,
                  required=("id", "organisation", "kind", "currency", "quantity"))
        lid = v.ident(item["id"], f"listings[{i}].id")
        where = f"listing {lid!r}"
        if lid in seen:
            raise InputError(f"listings: duplicate id {lid!r}")
        seen.add(lid)
        org = v.ident(item["organisation"], f"{where}.organisation")
        if org not in organisations:
            raise InputError(f"{where}.organisation: unknown organisation {org!r}")
        kind = item["kind"]
        if kind not in (OFFER, NEED):
            raise InputError(f"{where}.kind must be 'offer' or 'need' (got {kind!r})")
        currency = v.ident(item["currency"], f"{where}.currency")
        if currency not in currencies:
            raise InputError(f"{where}.currency: unknown currency {currency!r}")
        quantity = v.number(item["quantity"], f"{where}.quantity", low=0.0, low_open=True,
                            high=v.MAX_QUANTITY)
        min_quantity = v.number(item.get("min_quantity"), f"{where}.min_quantity", low=0.0,
                                low_open=True, high=v.MAX_QUANTITY, nullable=True)
        if kind == OFFER:
            min_quantity = None  # only needs have a minimum
        elif min_quantity is not None and min_quantity > quantity:
            raise InputError(f"{where}.min_quantity ({min_quantity:g}) exceeds its quantity "
                             f"({quantity:g})")
        gift = v.boolean(item.get("gift", False), f"{where}.gift")
        if gift and kind != OFFER:
            raise InputError(f"{where}.gift: only offers can be gifts")
        start = v.date(item.get("available_from"), f"{where}.available_from")
        until = v.date(item.get("available_until"), f"{where}.available_until")
        if start and until and start > until:
            raise InputError(f"{where}: available_from is after available_until")
        remote = v.boolean(item.get("remote", False), f"{where}.remote")
        areas = frozenset(v.strings(item.get("areas", []) or [], f"{where}.areas"))
        # A listing with no areas of its own takes its organisation's; with none at all, or
        # remote, it matches every area.
        areas = areas or organisations[org].areas
        result.append(
            Listing(
                id=lid, organisation=org, kind=kind, currency=currency,
                category=v.text(item.get("category"), f"{where}.category", nullable=True),
                tags=frozenset(v.strings(item.get("tags", []) or [], f"{where}.tags")),
                quantity=quantity, min_quantity=min_quantity,  # type: ignore[arg-type]
                areas=None if remote or not areas else areas,
                available_from=start, available_until=until, gift=gift,
            )
        )
    return result


def parse_settings(raw: Any, where: str = "settings") -> Settings:
    v.mapping(raw, where, allowed=SETTING_KEYS)
    max_cycle, max_chain, time_limit = v.caps(
        raw.get("max_cycle", DEFAULT_MAX_CYCLE), raw.get("max_chain", DEFAULT_MAX_CHAIN),
        raw.get("time_limit", DEFAULT_TIME_LIMIT), where,
    )
    threshold = float(v.number(raw.get("fairness_threshold", DEFAULT_FAIRNESS),
                               f"{where}.fairness_threshold", low=0.0, high=1.0))
    objective = raw.get("objective", LEXICOGRAPHIC)
    if objective not in OBJECTIVES:
        raise InputError(f"{where}.objective must be one of {', '.join(OBJECTIVES)} "
                         f"(got {objective!r})")
    weights = dict(DEFAULT_WEIGHTS)
    raw_weights = v.mapping(raw.get("weights", {}) or {}, f"{where}.weights", allowed=WEIGHT_KEYS)
    for key, value in raw_weights.items():
        weights[key] = float(v.number(value, f"{where}.weights.{key}", low=0.0, high=1e9))
    declined = set()
    for i, sig in enumerate(v.array(raw.get("declined", []) or [], f"{where}.declined")):
        pairs = []
        for j, pair in enumerate(v.array(sig, f"{where}.declined[{i}]")):
            pw = f"{where}.declined[{i}][{j}]"
            if not isinstance(pair, list) or len(pair) != 2:
                raise InputError(f"{pw} must be an [offer_id, need_id] pair")
            pairs.append((v.ident(pair[0], pw + "[0]"), v.ident(pair[1], pw + "[1]")))
        if not pairs:
            raise InputError(f"{where}.declined[{i}] is an empty signature")
        declined.add(tuple(sorted(pairs)))
    return Settings(max_cycle, max_chain, threshold, objective, weights, time_limit,
                    frozenset(declined))


# --------------------------------------------------------------------------- compatibility


def _dates_overlap(a: Listing, b: Listing) -> bool:
    start = max((d for d in (a.available_from, b.available_from) if d), default=None)
    end = min((d for d in (a.available_until, b.available_until) if d), default=None)
    return start is None or end is None or start <= end


def compatible(offer: Listing, need: Listing, market: Market) -> bool:
    """The compatibility rule for offer O (organisation A) and need N (organisation B)."""
    if offer.kind != OFFER or need.kind != NEED or offer.organisation == need.organisation:
        return False
    if offer.currency != need.currency:
        return False
    if need.category is not None and need.category != offer.category:
        return False
    if not need.tags <= offer.tags:
        return False
    if not _dates_overlap(offer, need):
        return False
    if offer.areas is not None and need.areas is not None and not offer.areas & need.areas:
        return False
    if offer.quantity < need.least_acceptable:
        return False
    a = market.organisations[offer.organisation]
    b = market.organisations[need.organisation]
    return b.id not in a.excludes and a.id not in b.excludes


def build_arcs(market: Market) -> list[Arc]:
    """Every compatible (offer, need) pair as an ``Arc``, ordered by (offer id, need id)."""
    offers_by_key: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    offers_by_currency: dict[str, list[int]] = defaultdict(list)
    # Natural id order, not document order: the same market gives the same result however
    # its listings are ordered.
    listings = sorted(market.listings, key=lambda lst: v.id_sort_key(lst.id))
    for i, listing in enumerate(listings):
        if listing.kind == OFFER:
            offers_by_key[(listing.currency, listing.category)].append(i)
            offers_by_currency[listing.currency].append(i)
    pairs: list[tuple[int, int]] = []
    for j, need in enumerate(listings):
        if need.kind != NEED:
            continue
        candidates = (offers_by_currency[need.currency] if need.category is None
                      else offers_by_key[(need.currency, need.category)])
        for i in candidates:
            if compatible(listings[i], need, market):
                pairs.append((i, j))
    pairs.sort()
    arcs = []
    for index, (i, j) in enumerate(pairs):
        offer, need = listings[i], listings[j]
        quantity = min(offer.quantity, need.quantity)
        arcs.append(Arc(index, offer.id, need.id, offer.organisation, need.organisation,
                        offer.currency, quantity, quantity * market.currencies[offer.currency],
                        offer.gift))
    return arcs


def exchange_graph(market: Market, arcs: list[Arc] | None = None) -> nx.MultiDiGraph:
    """Organisations as nodes, one arc per compatible (offer, need) pair, keyed by the pair."""
    graph = nx.MultiDiGraph()
    for org in market.organisations.values():
        graph.add_node(org.id, name=org.name, completion_rate=org.completion_rate)
    for arc in build_arcs(market) if arcs is None else arcs:
        graph.add_edge(arc.giver, arc.receiver, key=(arc.offer, arc.need), offer=arc.offer,
                       need=arc.need, currency=arc.currency, quantity=arc.quantity,
                       value=arc.value, gift=arc.gift)
    return graph
