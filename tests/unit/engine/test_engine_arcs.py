"""The vectorised exchange graph (``arcs.build_arc_table``) against the rules read literally."""

from __future__ import annotations

import math
import random

from hypothesis import HealthCheck, given, settings

from matching_engine import arcs
from matching_engine.arcs import build_arc_table
from matching_engine.market import build_arcs, compatible, parse_market

from .bruteforce import market_arcs
from .strategies import market_documents

MANY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def table_legs(doc: dict) -> list[tuple]:
    table = build_arc_table(parse_market(doc))
    L, orgs = table.listings, table.org_ids
    return [(L[o].id, L[n].id, orgs[g], orgs[r], q, v, bool(gift)) for o, n, g, r, q, v, gift in
            zip(table.offer.tolist(), table.need.tolist(), table.giver.tolist(),
                table.receiver.tolist(), table.quantity.tolist(), table.value.tolist(),
                table.gift.tolist(), strict=True)]


@MANY
@given(market_documents(max_orgs=5, max_listings=16))
def test_table_holds_exactly_the_compatible_pairs(doc):
    ours = {(o, n): (g, r, q, v, gift) for o, n, g, r, q, v, gift in table_legs(doc)}
    expected = {(a["offer"], a["need"]): (a["from"], a["to"], a["quantity"], a["value"],
                                         a["gift"]) for a in market_arcs(doc)}
    assert set(ours) == set(expected)
    for key, (g, r, q, v, gift) in ours.items():
        eg, er, eq, ev, egift = expected[key]
        assert (g, r, gift) == (eg, er, egift) and q == eq and math.isclose(v, ev)


def random_market(seed: int, n_orgs: int = 30, n_listings: int = 400) -> dict:
    """Many areas, tags, dates, exclusions and remote listings: every rule matters."""
    rng = random.Random(seed)
    areas = [f"a{i}" for i in range(6)]
    orgs = [{"id": str(i), "name": f"O{i}", "areas": rng.sample(areas, rng.randint(0, 2))}
            for i in range(n_orgs)]
    for org in rng.sample(orgs, 4):
        org["excludes"] = [rng.choice(orgs)["id"], "unknown"]
    listings = []
    for j in range(n_listings):
        kind = rng.choice(["offer", "need"])
        q = rng.randint(1, 12)
        start = rng.choice([None, "2026-01-01", "2026-04-01"])
        listing = {"id": f"L{j}", "organisation": rng.choice(orgs)["id"], "kind": kind,
                   "currency": rng.choice(["staff", "jobs"]),
                   "category": rng.choice(["c1", "c2", "c3"] + ([None] if kind == "need"
                                                                else [])),
                   "tags": rng.sample(["t1", "t2", "t3"], rng.randint(0, 2 if kind == "offer"
                                                                       else 1)),
                   "quantity": q, "areas": rng.sample(areas, rng.randint(0, 2)),
                   "remote": rng.random() < 0.1, "available_from": start,
                   "available_until": rng.choice([None, "2026-03-01", "2026-12-31"])
                   if start != "2026-04-01" else None}
        if kind == "need":
            listing["min_quantity"] = rng.choice([None, max(1, q // 2)])
        else:
            listing["gift"] = rng.random() < 0.1
        listings.append(listing)
    return {"organisations": orgs, "currencies": [{"code": "staff", "value": 300.0},
                                                  {"code": "jobs", "value": 120.0}],
            "listings": listings}


def test_table_equals_the_scalar_rule_on_a_larger_market(monkeypatch):
    doc = random_market(7)
    market = parse_market(doc)
    scalar = sorted((a.offer, a.need) for a in build_arcs(market))
    assert scalar == sorted((o, n) for o, n, *_ in table_legs(doc))
    offers = [lst for lst in market.listings if lst.kind == "offer"]
    needs = [lst for lst in market.listings if lst.kind == "need"]
    assert len(scalar) == sum(compatible(o, n, market) for o in offers for n in needs)
    # Chunking the candidate pairs changes nothing.
    monkeypatch.setattr(arcs, "CHUNK_PAIRS", 50)
    assert sorted((o, n) for o, n, *_ in table_legs(doc)) == scalar


def test_table_is_independent_of_document_order():
    doc = random_market(3)
    first = table_legs(doc)
    doc["listings"].reverse()
    doc["organisations"].reverse()
    assert table_legs(doc) == first
