"""An independent reading of the market's compatibility rule, for testing the demo data.

It builds the matching engine's market document from the
database and finds compatible arcs, short cycles and gift chains by brute force,
without the engine, so the demo can be checked while the engine is being written.
"""

from __future__ import annotations

from datetime import date
from itertools import permutations

from app.extensions import db
from app.market.models import Currency, Listing, ListingStatus, MarketSettings, Organisation


def market_document() -> dict:
    """The engine's market document for the open listings that still have units available."""
    settings = MarketSettings.current()
    organisations = db.session.execute(db.select(Organisation).order_by(Organisation.id)).scalars()
    currencies = db.session.execute(db.select(Currency).order_by(Currency.id)).scalars()
    listings = db.session.execute(
        db.select(Listing).where(Listing.status == ListingStatus.OPEN).order_by(Listing.id)
    ).scalars()
    return {
        "organisations": [
            {"id": str(org.id), "areas": list(org.areas),
             "excludes": [str(other.id) for other in org.excluded]}
            for org in organisations
        ],
        "currencies": [{"code": c.code, "value": float(c.value_per_unit)} for c in currencies
                       if c.active],
        "listings": [
            {"id": str(item.id), "organisation": str(item.organisation_id), "kind": item.kind,
             "currency": item.currency.code, "category": item.category, "tags": list(item.tags),
             "quantity": item.available, "min_quantity": item.min_quantity,
             "areas": list(item.areas), "remote": item.remote,
             "available_from": item.available_from and item.available_from.isoformat(),
             "available_until": item.available_until and item.available_until.isoformat(),
             "gift": item.is_gift}
            for item in listings if item.available > 0
        ],
        "settings": {"max_cycle": settings.max_cycle, "max_chain": settings.max_chain,
                     "fairness_threshold": float(settings.fairness_threshold),
                     "objective": settings.objective, "weights": dict(settings.weights),
                     "time_limit": settings.time_limit_seconds, "declined": []},
    }


def _day(value: str | None, default: date) -> date:
    return date.fromisoformat(value) if value else default


def compatible(offer: dict, need: dict, excludes: dict[str, set[str]]) -> bool:
    """The compatibility rule, clause by clause."""
    a, b = offer["organisation"], need["organisation"]
    if a == b or offer["kind"] != "offer" or need["kind"] != "need":
        return False
    if offer["currency"] != need["currency"]:
        return False
    if need["category"] is not None and need["category"] != offer["category"]:
        return False
    if not set(need["tags"]) <= set(offer["tags"]):
        return False
    if max(_day(offer["available_from"], date.min), _day(need["available_from"], date.min)) > \
            min(_day(offer["available_until"], date.max), _day(need["available_until"], date.max)):
        return False
    if not (offer["remote"] or need["remote"] or set(offer["areas"]) & set(need["areas"])):
        return False
    if offer["quantity"] < (need["min_quantity"] or need["quantity"]):
        return False
    return b not in excludes.get(a, set()) and a not in excludes.get(b, set())


class Market:
    """Arcs and values of a market document."""

    def __init__(self, document: dict):
        self.document = document
        self.listings = {item["id"]: item for item in document["listings"]}
        self.values = {c["code"]: c["value"] for c in document["currencies"]}
        excludes = {org["id"]: set(org["excludes"]) for org in document["organisations"]}
        offers = [item for item in document["listings"] if item["kind"] == "offer"]
        needs = [item for item in document["listings"] if item["kind"] == "need"]
        # (offer id, need id) for every compatible pair
        self.arcs = {(o["id"], n["id"]) for o in offers for n in needs
                     if compatible(o, n, excludes)}
        self.threshold = document["settings"]["fairness_threshold"]

    def leg_value(self, offer_id: str, need_id: str) -> float:
        offer, need = self.listings[offer_id], self.listings[need_id]
        return min(offer["quantity"], need["quantity"]) * self.values[offer["currency"]]

    def giver(self, listing_id: str) -> str:
        return self.listings[listing_id]["organisation"]

    def cycle_fairness(self, legs: list[tuple[str, str]]) -> float:
        """Lowest min(given, received) / max(given, received) over the participants."""
        given = {self.giver(o): self.leg_value(o, n) for o, n in legs}
        received = {self.giver(n): self.leg_value(o, n) for o, n in legs}
        return min(min(given[org], received[org]) / max(given[org], received[org])
                   for org in given)

    def chain_fairness(self, legs: list[tuple[str, str]]) -> float:
        """Lowest fairness of the organisations in the middle of a chain (each receives leg i
        and gives leg i+1); the gift's giver and the last receiver are exempt."""
        values = [self.leg_value(o, n) for o, n in legs]
        middle = list(zip(values, values[1:], strict=False))
        return min((min(a, b) / max(a, b) for a, b in middle), default=1.0)

    def is_cycle(self, legs: list[tuple[str, str]]) -> bool:
        """Each leg is an arc, leg i's receiver gives leg i+1, and no organisation twice."""
        if not all(leg in self.arcs for leg in legs):
            return False
        givers = [self.giver(o) for o, _ in legs]
        receivers = [self.giver(n) for _, n in legs]
        return len(set(givers)) == len(givers) and receivers == givers[1:] + givers[:1]

    def is_chain(self, legs: list[tuple[str, str]]) -> bool:
        """Starts with a gift offer; each receiver gives the next leg; no organisation twice."""
        if not legs or not self.listings[legs[0][0]]["gift"]:
            return False
        if not all(leg in self.arcs for leg in legs):
            return False
        orgs = [self.giver(legs[0][0])] + [self.giver(n) for _, n in legs]
        givers = [self.giver(o) for o, _ in legs]
        return givers == orgs[:-1] and len(set(orgs)) == len(orgs)

    def cycles(self, length: int) -> list[list[tuple[str, str]]]:
        """Every fair-or-not cycle of exactly `length` organisations, once per rotation."""
        by_giver: dict[str, list[tuple[str, str]]] = {}
        for arc in sorted(self.arcs):
            by_giver.setdefault(self.giver(arc[0]), []).append(arc)
        found = []
        orgs = sorted(by_giver)
        for combo in permutations(orgs, length):
            if combo[0] != min(combo):
                continue
            options = [[arc for arc in by_giver.get(combo[i], [])
                        if self.giver(arc[1]) == combo[(i + 1) % length]]
                       for i in range(length)]
            found.extend(_product(options))
        return found

    def distinct_listings(self, exchanges: list[list[tuple[str, str]]]) -> bool:
        ids = [listing for legs in exchanges for leg in legs for listing in leg]
        return len(ids) == len(set(ids))


def _product(options: list[list]) -> list[list]:
    result: list[list] = [[]]
    for choices in options:
        result = [prefix + [choice] for prefix in result for choice in choices]
    return result
