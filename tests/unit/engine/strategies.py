"""Hypothesis strategies for small random documents, and a checker of result validity."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from .bruteforce import market_arcs

CATEGORIES = ["nurse", "porter", None]
TAGS = ["dbs", "driver"]
AREAS = ["north", "south"]
DATES = [None, "2026-01-01", "2026-03-01", "2026-06-01"]


@st.composite
def graph_documents(draw, max_pairs: int = 8, max_gifts: int = 2, integer_weights: bool = True):
    n = draw(st.integers(2, max_pairs))
    g = draw(st.integers(0, max_gifts))
    nodes = [{"id": str(i)} for i in range(n)]
    offers_of: dict[str, list[str]] = {}
    for node in nodes:
        if draw(st.booleans()) and draw(st.booleans()):
            node["offers"] = [f"{node['id']}a", f"{node['id']}b"]
            offers_of[node["id"]] = node["offers"]
    nodes += [{"id": f"g{i}", "gift": True} for i in range(g)]
    density = draw(st.sampled_from([0.2, 0.35, 0.5, 0.8]))
    weight = st.integers(0, 3).map(float) if integer_weights else st.floats(0.0, 5.0).map(
        lambda x: round(x, 3))
    arcs = []
    for a in nodes:
        for b in nodes[:n]:
            if a["id"] == b["id"] or draw(st.integers(0, 99)) >= density * 100:
                continue
            offers = offers_of.get(a["id"])
            if offers:
                for offer in offers[: draw(st.integers(1, 2))]:
                    arcs.append({"from": a["id"], "to": b["id"], "offer": offer,
                                 "weight": draw(weight)})
            else:
                arcs.append({"from": a["id"], "to": b["id"], "weight": draw(weight)})
    settings = {"max_cycle": draw(st.integers(2, 4)), "max_chain": draw(st.integers(0, 3))}
    return {"nodes": nodes, "arcs": arcs, "settings": settings}


@st.composite
def market_documents(draw, max_orgs: int = 4, max_listings: int = 12):
    n_orgs = draw(st.integers(2, max_orgs))
    orgs = []
    for i in range(n_orgs):
        org = {"id": str(i + 1), "name": f"Org {i + 1}",
               "areas": draw(st.sampled_from([[], [], ["north"], ["north", "south"]])),
               "completion_rate": draw(st.sampled_from([1.0, 0.9, 0.75, 0.5]))}
        orgs.append(org)
    if n_orgs > 2 and draw(st.booleans()):
        orgs[0]["excludes"] = [orgs[-1]["id"]]
    currencies = [{"code": "staff", "value": 350.0}, {"code": "training", "value": 100.0}]
    listings = []
    # Mostly compatible choices (so that exchanges exist), with every rule exercised sometimes.
    simple = draw(st.booleans())
    for j in range(draw(st.integers(4, max_listings))):
        kind = "offer" if j % 2 == 0 else "need"
        quantity = draw(st.integers(2, 8) if kind == "offer" else st.integers(1, 4))
        listing = {
            "id": str(100 + j),
            "organisation": draw(st.sampled_from(orgs))["id"],
            "kind": kind,
            "currency": draw(st.sampled_from(["staff"] * 4 + ["training"])),
            "category": draw(st.sampled_from(["nurse"] * 4 + ["porter"] if kind == "offer"
                                             else [None, "nurse", "nurse", "nurse", "porter"])),
            "tags": draw(st.sampled_from([["dbs"], ["dbs"], [], TAGS] if kind == "offer"
                                         else [[]] * 5 + [["dbs"], ["driver"]])),
            "quantity": quantity,
            "areas": draw(st.sampled_from([[]] * 4 + [["north"], ["south"]])),
            "remote": draw(st.sampled_from([False] * 5 + [True])),
            "available_from": draw(st.sampled_from([None] * 5 + ["2026-03-01"])),
            "available_until": draw(st.sampled_from([None] * 5 + ["2026-02-01"])),
        }
        if listing["available_from"] and listing["available_until"]:
            listing["available_until"] = None
        if simple:  # one currency and category, no restrictions: many cycles to choose from
            listing.update(currency="staff", category="nurse", tags=[], areas=[], remote=False,
                           available_from=None, available_until=None)
        if kind == "need":
            listing["min_quantity"] = draw(st.sampled_from([None, None, 1, 2]))
            if listing["min_quantity"] and listing["min_quantity"] > quantity:
                listing["min_quantity"] = quantity
        else:
            listing["gift"] = draw(st.sampled_from([False, False, False, True]))
        listings.append(listing)
    settings = {
        "max_cycle": draw(st.integers(2, 3)),
        "max_chain": draw(st.integers(0, 2)),
        "fairness_threshold": draw(st.sampled_from([0.0, 0.3, 0.5, 0.9])),
    }
    if draw(st.booleans()) and draw(st.booleans()):
        settings["objective"] = "weighted"
        settings["weights"] = {"needs": draw(st.sampled_from([0.0, 1.0, 5.0])),
                               "value": draw(st.sampled_from([0.0, 0.001])),
                               "parties": draw(st.sampled_from([0.0, 0.1])),
                               "completion": draw(st.sampled_from([0.0, 1.0]))}
    doc = {"organisations": orgs, "currencies": currencies, "listings": listings,
           "settings": settings}
    arcs = market_arcs(doc)
    if arcs and draw(st.booleans()):
        # Decline one plausible exchange signature (a 2-cycle or a 1-transfer chain).
        a = draw(st.sampled_from(arcs))
        back = [b for b in arcs if b["from"] == a["to"] and b["to"] == a["from"]]
        sig = [[a["offer"], a["need"]]]
        if back and not a["gift"]:
            sig.append([back[0]["offer"], back[0]["need"]])
        settings["declined"] = [sig]
    return doc


# --------------------------------------------------------------------------- validity


def check_graph_result(doc: dict, result: dict, max_cycle: int, max_chain: int) -> None:
    """Every exchange uses existing arcs, respects the caps, and nobody takes part twice."""
    gift = {n["id"] for n in doc["nodes"] if n.get("gift")}
    arcs: dict[tuple[str, str, str | None], float] = {}
    for arc in doc["arcs"]:
        arcs[(arc["from"], arc["to"], arc.get("offer"))] = float(arc.get("weight", 1.0))
    seen: set[str] = set()
    total = 0.0
    for ex in result["exchanges"]:
        nodes = ex["nodes"]
        assert len(set(nodes)) == len(nodes), ex
        assert not seen & set(nodes), "a node takes part in two exchanges"
        seen |= set(nodes)
        if ex["kind"] == "cycle":
            assert 2 <= len(nodes) <= max_cycle
            assert not gift & set(nodes)
            steps = [(nodes[i], nodes[(i + 1) % len(nodes)]) for i in range(len(nodes))]
        else:
            assert nodes[0] in gift and not gift & set(nodes[1:])
            assert 1 <= len(nodes) - 1 <= max_chain
            steps = [(nodes[i], nodes[i + 1]) for i in range(len(nodes) - 1)]
        assert [(leg["from"], leg["to"]) for leg in ex["legs"]] == steps
        weight = 0.0
        for leg in ex["legs"]:
            key = (leg["from"], leg["to"], leg["offer"])
            assert key in arcs, f"leg {key} is not an arc of the document"
            assert math.isclose(arcs[key], leg["weight"])
            weight += leg["weight"]
        assert math.isclose(ex["weight"], weight, abs_tol=1e-9)
        total += weight
    assert math.isclose(result["objective"], total, abs_tol=1e-6)
    assert result["bound"] >= result["objective"] - 1e-6


def check_market_result(doc: dict, result: dict, max_cycle: int, max_chain: int) -> None:
    """Legs are compatible pairs, listings stay within quantity, organisations appear once per
    exchange, fairness holds where it applies, declined signatures never come back."""
    settings = doc.get("settings") or {}
    theta = settings.get("fairness_threshold", 0.5)
    declined = {tuple(sorted(tuple(p) for p in sig)) for sig in settings.get("declined", [])}
    compatible = {(a["offer"], a["need"]): a for a in market_arcs(doc)}
    quantity = {lst["id"]: lst["quantity"] for lst in doc["listings"]}
    used: dict[str, float] = {}
    for ex in result["exchanges"]:
        nodes, legs = ex["nodes"], ex["legs"]
        assert len(set(nodes)) == len(nodes), "an organisation twice in one exchange"
        for leg in legs:
            arc = compatible.get((leg["offer"], leg["need"]))
            assert arc is not None, f"incompatible leg {leg}"
            assert (leg["from"], leg["to"]) == (arc["from"], arc["to"])
            assert leg["quantity"] == arc["quantity"]
            assert math.isclose(leg["value"], arc["value"])
            for lid in (leg["offer"], leg["need"]):
                used[lid] = used.get(lid, 0) + leg["quantity"]
        sig = tuple(sorted((leg["offer"], leg["need"]) for leg in legs))
        assert [list(p) for p in sig] == ex["signature"]
        assert sig not in declined
        if ex["kind"] == "cycle":
            assert 2 <= len(nodes) <= max_cycle and len(legs) == len(nodes)
            assert not any(compatible[(leg["offer"], leg["need"])]["gift"] for leg in legs)
            exempt: set[str] = set()
        else:
            assert 1 <= len(legs) <= max_chain and len(nodes) == len(legs) + 1
            assert compatible[(legs[0]["offer"], legs[0]["need"])]["gift"]
            assert not any(compatible[(leg["offer"], leg["need"])]["gift"] for leg in legs[1:])
            exempt = {nodes[0], nodes[-1]}
        for i, leg in enumerate(legs):
            nxt = legs[(i + 1) % len(legs)]
            assert leg["to"] == nxt["from"] or (ex["kind"] == "chain" and i == len(legs) - 1)
        for org, part in ex["participants"].items():
            if org in exempt:
                assert part["fairness"] is None
            else:
                high = max(part["given"], part["received"])
                ratio = min(part["given"], part["received"]) / high
                assert ratio >= theta - 1e-6, f"unfair for {org}: {ratio} < {theta}"
    for lid, amount in used.items():
        assert amount <= quantity[lid] + 1e-9, f"listing {lid} over-used: {amount}"


@st.composite
def shared_market_documents(draw, max_orgs: int = 4, max_listings: int = 10):
    """Markets where one listing can serve several exchanges: big offers (some of them gifts
    that can start several chains) against small needs with minimums, one or two
    currencies, so that exchanges compete for the same listings' quantities."""
    n_orgs = draw(st.integers(3, max_orgs))
    orgs = [{"id": str(i + 1), "name": f"Org {i + 1}",
             "completion_rate": draw(st.sampled_from([1.0, 0.8, 0.6]))} for i in range(n_orgs)]
    currencies = [{"code": "staff", "value": 300.0}, {"code": "jobs", "value": 100.0}]
    listings = []
    for j in range(draw(st.integers(4, max_listings))):
        kind = "offer" if j % 2 == 0 else "need"
        listing = {"id": str(200 + j), "organisation": draw(st.sampled_from(orgs))["id"],
                   "kind": kind, "currency": draw(st.sampled_from(["staff", "staff", "jobs"])),
                   "category": "any"}
        if kind == "offer":
            listing["quantity"] = draw(st.integers(4, 9))
            listing["gift"] = draw(st.sampled_from([False, False, True]))
        else:
            quantity = draw(st.integers(1, 3))
            listing["quantity"] = quantity
            listing["category"] = draw(st.sampled_from([None, "any"]))
            listing["min_quantity"] = draw(st.sampled_from([None, 1, max(1, quantity // 2)]))
        listings.append(listing)
    settings = {"max_cycle": draw(st.integers(2, 3)), "max_chain": draw(st.integers(1, 3)),
                "fairness_threshold": draw(st.sampled_from([0.0, 0.25, 0.5]))}
    if draw(st.booleans()) and draw(st.booleans()):
        settings["objective"] = "weighted"
        settings["weights"] = {"needs": 1.0, "value": draw(st.sampled_from([0.0, 0.001])),
                               "parties": draw(st.sampled_from([0.0, 0.1])),
                               "completion": draw(st.sampled_from([0.0, 1.0]))}
    return {"organisations": orgs, "currencies": currencies, "listings": listings,
            "settings": settings}
