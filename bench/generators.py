"""Instance generators for the matching benchmark (fixed seeds: the same instance every run).

``saidman_pool`` follows Saidman et al. (2006), the generator behind the PrefLib kidney pools:
blood types O/A/B/AB 48.14/33.73/10.01/8.12 %; patient PRA low/medium/high (0.05/0.45/0.90)
with probability 70.19/20/9.81 %; 40.9 % of patients are women, whose spouse donors (48.97 %
of donors) see a raised PRA (1 - 0.75 (1 - PRA)); a pair enters the pool only if its own donor
cannot give to its patient. Arc donor(i) -> patient(j) when ABO-compatible and the crossmatch is
negative (probability 1 - PRA_j). This gives ~25 % arc density. Gifts (non-directed donors) are
donors without a patient.

``realistic_market`` builds a market document of public-sector organisations trading staff,
jobs, training and premises with categories, tags, areas, dates and quantities.
``national_market`` builds a larger one spread over regions and local areas, with seven sector
types, six currencies, remote listings, partial needs and gifts.
"""

from __future__ import annotations

import numpy as np

BLOOD = np.array(["O", "A", "B", "AB"])
BLOOD_P = np.array([0.4814, 0.3373, 0.1001, 0.0812])
PRA_LEVELS = np.array([0.05, 0.45, 0.90])
PRA_P = np.array([0.7019, 0.20, 0.0981])
FEMALE_P = 0.4090
SPOUSE_P = 0.4897


def _abo_ok(donor: np.ndarray, patient: np.ndarray) -> np.ndarray:
    """donor[i] can give to patient[j] (both arrays of blood-type indices 0=O,1=A,2=B,3=AB)."""
    d = donor[:, None]
    p = patient[None, :]
    return (d == 0) | (p == 3) | (d == p)


def saidman_arrays(n_pairs: int, n_gifts: int, seed: int):
    """Arrays (src, dst) of a pool: nodes 0..n_pairs-1 are pairs, then the gifts."""
    rng = np.random.default_rng(seed)
    pat_bt, don_bt, pra = [], [], []
    while len(pat_bt) < n_pairs:
        pb = rng.choice(4, p=BLOOD_P)
        db = rng.choice(4, p=BLOOD_P)
        level = PRA_LEVELS[rng.choice(3, p=PRA_P)]
        female = rng.random() < FEMALE_P
        spouse = rng.random() < SPOUSE_P
        own = 1 - 0.75 * (1 - level) if (female and spouse) else level
        compatible = bool(_abo_ok(np.array([db]), np.array([pb]))[0, 0]) and rng.random() >= own
        if compatible:
            continue  # a compatible pair transplants directly and never enters the pool
        pat_bt.append(pb)
        don_bt.append(db)
        pra.append(level)
    gift_bt = rng.choice(4, size=n_gifts, p=BLOOD_P)
    pat_bt, don_bt, pra = np.array(pat_bt), np.array(don_bt), np.array(pra)
    donors = np.concatenate([don_bt, gift_bt])
    ok = _abo_ok(donors, pat_bt) & (rng.random((len(donors), n_pairs)) >= pra[None, :])
    ok[np.arange(n_pairs), np.arange(n_pairs)] = False
    src, dst = np.nonzero(ok)
    return src, dst


def saidman_pool(n_pairs: int, gift_share: float = 0.0, seed: int = 1,
                 max_cycle: int = 3, max_chain: int = 0) -> dict:
    """A graph document (unit weights) for a Saidman-style pool."""
    n_gifts = int(round(n_pairs * gift_share))
    src, dst = saidman_arrays(n_pairs, n_gifts, seed)
    nodes = [{"id": str(i)} for i in range(n_pairs)]
    nodes += [{"id": str(n_pairs + i), "gift": True} for i in range(n_gifts)]
    arcs = [{"from": str(a), "to": str(b)} for a, b in zip(src.tolist(), dst.tolist(),
                                                          strict=True)]
    return {"nodes": nodes, "arcs": arcs,
            "settings": {"max_cycle": max_cycle, "max_chain": max_chain}}


def dense_pool(n: int, n_arcs: int, seed: int = 1, max_cycle: int = 3) -> dict:
    """A pool with exactly ``n_arcs`` arcs: a Saidman pool thinned or thickened at random."""
    rng = np.random.default_rng(seed)
    src, dst = saidman_arrays(n, 0, seed)
    keys = set((src * n + dst).tolist())
    keys = sorted(keys)
    if len(keys) > n_arcs:
        keys = sorted(rng.choice(keys, size=n_arcs, replace=False).tolist())
    else:
        extra = set(keys)
        while len(extra) < n_arcs:
            a, b = rng.integers(0, n, size=2)
            if a != b:
                extra.add(int(a) * n + int(b))
        keys = sorted(extra)
    arcs = [{"from": str(k // n), "to": str(k % n)} for k in keys]
    return {"nodes": [{"id": str(i)} for i in range(n)], "arcs": arcs,
            "settings": {"max_cycle": max_cycle, "max_chain": 0}}


# --------------------------------------------------------------------------- markets

CURRENCIES = {"staff": 350.0, "jobs": 120.0, "training": 60.0, "premises": 40.0}
CATEGORIES = {
    "staff": ["registered nurse", "mental-health nurse", "social worker",
              "occupational therapist", "pharmacist", "administrator"],
    "jobs": ["apprenticeship", "work placement", "supported employment"],
    "training": ["safeguarding", "manual handling", "computer skills",
                 "equal-opportunity interviewing", "first aid"],
    "premises": ["clinic room", "meeting room", "hot desk", "storage"],
}
QUANTITY = {"staff": (5, 40), "jobs": (1, 6), "training": (2, 20), "premises": (4, 40)}
TAGS = ["dbs-checked", "driver", "weekend", "welsh-speaking"]
KINDS = ["NHS trust", "primary care network", "council", "housing association",
         "voluntary group", "college"]


def realistic_market(n_orgs: int, seed: int = 1, listings_per_org: tuple[int, int] = (4, 14),
                     n_regions: int | None = None, max_cycle: int = 3, max_chain: int = 3,
                     fairness: float = 0.5, remote_training: float = 0.3) -> dict:
    """A market document: organisations in regions trading staff, jobs, training, premises.
    ``remote_training``: share of training listings offered or needed remotely (any area)."""
    rng = np.random.default_rng(seed)
    n_regions = n_regions or max(3, n_orgs // 40)
    regions = [f"region-{i}" for i in range(n_regions)]
    orgs = []
    for i in range(n_orgs):
        home = int(rng.integers(n_regions))
        areas = [regions[home]] + ([regions[(home + 1) % n_regions]] if rng.random() < 0.3 else [])
        orgs.append({"id": str(i + 1), "name": f"{KINDS[i % len(KINDS)]} {i + 1}",
                     "areas": areas,
                     "completion_rate": round(float(rng.beta(8, 2)), 3)})
    for i in rng.choice(n_orgs, size=max(1, n_orgs // 50), replace=False):
        j = int(rng.integers(n_orgs))
        if j != i:
            orgs[int(i)]["excludes"] = [str(j + 1)]
    listings = []
    codes = list(CURRENCIES)
    for org in orgs:
        for _ in range(int(rng.integers(*listings_per_org))):
            kind = "offer" if rng.random() < 0.5 else "need"
            currency = codes[int(rng.choice(4, p=[0.4, 0.15, 0.3, 0.15]))]
            lo, hi = QUANTITY[currency]
            quantity = int(rng.integers(lo, hi + 1))
            listing = {"id": str(len(listings) + 1), "organisation": org["id"], "kind": kind,
                       "currency": currency,
                       "category": str(rng.choice(CATEGORIES[currency])),
                       "tags": [], "quantity": quantity,
                       "remote": bool(currency == "training"
                                      and rng.random() < remote_training)}
            if kind == "offer":
                listing["tags"] = [t for t in TAGS if rng.random() < 0.35]
                listing["gift"] = bool(rng.random() < 0.05)
            else:
                listing["tags"] = [t for t in TAGS if rng.random() < 0.08]
                if rng.random() < 0.15:
                    listing["category"] = None
                if rng.random() < 0.5:
                    listing["min_quantity"] = max(1, quantity // 2)
            start = int(rng.integers(1, 10))
            listing["available_from"] = f"2026-{start:02d}-01"
            listing["available_until"] = (f"2026-{min(12, start + int(rng.integers(2, 6))):02d}-28"
                                          if rng.random() < 0.6 else None)
            listings.append(listing)
    return {"organisations": orgs,
            "currencies": [{"code": c, "value": v} for c, v in CURRENCIES.items()],
            "listings": listings,
            "settings": {"max_cycle": max_cycle, "max_chain": max_chain,
                         "fairness_threshold": fairness, "time_limit": 300}}


# --------------------------------------------------------------------------- national markets

#: England-like regions; each has ``areas_per_region`` local areas (a district, a borough).
NATIONAL_REGIONS = ["north-east", "north-west", "yorkshire", "midlands", "east", "london",
                    "south-east", "south-west"]
#: Market credits per unit: a staff-day, a placement, a training place, a room-hour, an
#: equipment-week, an analyst-day.
NATIONAL_CURRENCIES = {"staff": 350.0, "jobs": 120.0, "training": 60.0, "premises": 40.0,
                       "equipment": 25.0, "data": 300.0}
NATIONAL_CATEGORIES = {
    "staff": ["registered nurse", "mental-health nurse", "social worker", "occupational therapist",
              "pharmacist", "physiotherapist", "care worker", "administrator", "health visitor"],
    "jobs": ["apprenticeship", "work placement", "supported employment", "graduate scheme"],
    "training": ["safeguarding", "manual handling", "computer skills",
                 "equal-opportunity interviewing", "first aid", "mental-health first aid",
                 "leadership", "infection control"],
    "premises": ["clinic room", "meeting room", "hot desk", "storage", "training room",
                 "community hall"],
    "equipment": ["mobility aids", "minibus", "laptops", "clinical devices"],
    "data": ["analytics", "mapping", "survey design", "evaluation"],
}
#: (lowest, highest) quantity per currency; quantities are drawn log-uniformly (small is common).
NATIONAL_QUANTITY = {"staff": (2, 40), "jobs": (1, 8), "training": (2, 30), "premises": (4, 60),
                     "equipment": (1, 12), "data": (2, 20)}
NATIONAL_TAGS = {
    "staff": ["dbs-checked", "driver", "weekend", "bilingual"],
    "jobs": ["entry-level", "part-time"],
    "training": ["accredited", "evening"],
    "premises": ["wheelchair-accessible", "parking", "evening"],
    "equipment": ["delivered"],
    "data": ["nhs-data-access"],
}
#: Currencies (and training or data delivered online) that can sensibly be remote / any area.
REMOTE_SHARE = {"staff": 0.05, "jobs": 0.02, "training": 0.3, "premises": 0.0, "equipment": 0.1,
                "data": 0.45}
#: Per organisation type: (share of the population, listings (low, high), areas covered
#: (low, high), completion-rate beta (a, b), what it offers and what it needs as
#: {currency: weight}, with the categories it favours when it has a say).
ORG_TYPES: dict[str, dict] = {
    "NHS trust": {
        "share": 0.06, "listings": (12, 36), "areas": (2, 4), "beta": (9, 2),
        "offers": {"training": 4, "premises": 2, "jobs": 3, "data": 2, "staff": 1},
        "needs": {"staff": 4, "premises": 1, "training": 1, "jobs": 1, "equipment": 1},
    },
    "primary care network": {
        "share": 0.12, "listings": (4, 12), "areas": (1, 1), "beta": (8, 2),
        "offers": {"staff": 2, "training": 2, "premises": 1, "data": 1},
        "needs": {"premises": 3, "staff": 2, "data": 2, "training": 1},
    },
    "council": {
        "share": 0.06, "listings": (12, 32), "areas": (2, 6), "beta": (7, 2),
        "offers": {"premises": 4, "jobs": 2, "staff": 2, "data": 2, "equipment": 1},
        "needs": {"staff": 4, "jobs": 3, "training": 2, "data": 1},
    },
    "housing association": {
        "share": 0.1, "listings": (4, 12), "areas": (1, 3), "beta": (7, 3),
        "offers": {"premises": 3, "jobs": 2, "equipment": 1},
        "needs": {"staff": 3, "training": 2, "jobs": 1},
    },
    "voluntary group": {
        "share": 0.4, "listings": (2, 9), "areas": (1, 1), "beta": (5, 2),
        "offers": {"staff": 2, "premises": 1, "training": 1, "equipment": 1},
        "needs": {"premises": 3, "training": 3, "equipment": 2, "data": 2, "jobs": 1},
    },
    "college": {
        "share": 0.08, "listings": (6, 18), "areas": (1, 2), "beta": (8, 3),
        "offers": {"training": 5, "premises": 2, "data": 1},
        "needs": {"jobs": 4, "staff": 1, "equipment": 2},
    },
    "care provider": {
        "share": 0.18, "listings": (3, 10), "areas": (1, 2), "beta": (6, 3),
        "offers": {"jobs": 2, "training": 1, "equipment": 1},
        "needs": {"staff": 3, "training": 3, "jobs": 1, "premises": 1},
    },
}


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=np.float64)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def national_market(n_orgs: int = 1000, seed: int = 1, n_regions: int = 8,
                    areas_per_region: int = 6, max_cycle: int = 3, max_chain: int = 3,
                    fairness: float = 0.5, gift_share: float = 0.03,
                    remote_scale: float = 1.0) -> dict:
    """A national market document: ``n_orgs`` organisations of seven sector types spread over
    ``n_regions`` regions × ``areas_per_region`` local areas. Most listings are local to their
    organisation's one or two areas; about 10 % are remote / any area (online training,
    analytics), a few cover a whole region; quantities are log-uniform within each currency's
    range; about 40 % of needs accept a partial quantity; a few % of offers are gifts; 2 % of
    organisations exclude a neighbour."""
    rng = np.random.default_rng(seed)
    regions = NATIONAL_REGIONS[:n_regions] + [f"region-{i}" for i in range(8, n_regions)]
    region_areas = {r: [f"{r}/area-{k + 1}" for k in range(areas_per_region)] for r in regions}
    types = list(ORG_TYPES)
    type_p = np.array([ORG_TYPES[t]["share"] for t in types])
    # Regions differ in size (London and the north-west are busier than the north-east).
    region_p = rng.uniform(0.7, 1.4, size=n_regions)
    region_p /= region_p.sum()
    orgs, org_meta = [], []
    for i in range(n_orgs):
        kind = types[int(rng.choice(len(types), p=type_p))]
        spec = ORG_TYPES[kind]
        region = regions[int(rng.choice(n_regions, p=region_p))]
        home = int(rng.integers(areas_per_region))
        width = int(rng.integers(spec["areas"][0], spec["areas"][1] + 1))
        areas = [region_areas[region][(home + k) % areas_per_region] for k in range(width)]
        a, b = spec["beta"]
        orgs.append({"id": str(i + 1), "name": f"{kind} {i + 1} ({region})", "areas": areas,
                     "completion_rate": round(float(rng.beta(a, b)), 3)})
        org_meta.append((kind, region))
    by_region: dict[str, list[int]] = {}
    for i, (_, region) in enumerate(org_meta):
        by_region.setdefault(region, []).append(i)
    for i in rng.choice(n_orgs, size=max(1, n_orgs // 50), replace=False):
        peers = by_region[org_meta[int(i)][1]]
        others = [j for j in rng.choice(peers, size=min(2, len(peers)), replace=False).tolist()
                  if j != int(i)]
        if others:
            orgs[int(i)]["excludes"] = [str(j + 1) for j in others]
    listings = []
    for i, org in enumerate(orgs):
        kind, region = org_meta[i]
        spec = ORG_TYPES[kind]
        for _ in range(int(rng.integers(spec["listings"][0], spec["listings"][1] + 1))):
            listing_kind = "offer" if rng.random() < 0.5 else "need"
            currency = _pick(rng, spec["offers" if listing_kind == "offer" else "needs"])
            lo, hi = NATIONAL_QUANTITY[currency]
            quantity = int(round(float(np.exp(rng.uniform(np.log(lo), np.log(hi + 0.99))))))
            quantity = max(lo, min(hi, quantity))
            listing: dict = {"id": str(len(listings) + 1), "organisation": org["id"],
                             "kind": listing_kind, "currency": currency,
                             "category": str(rng.choice(NATIONAL_CATEGORIES[currency])),
                             "quantity": quantity}
            tags = NATIONAL_TAGS[currency]
            if listing_kind == "offer":
                listing["tags"] = [t for t in tags if rng.random() < 0.4]
                if rng.random() < gift_share:
                    listing["gift"] = True
            else:
                listing["tags"] = [t for t in tags if rng.random() < 0.07]
                if rng.random() < 0.12:
                    listing["category"] = None  # "any nurse / any training will do"
                if quantity > 1 and rng.random() < 0.4:
                    listing["min_quantity"] = max(1, int(quantity * rng.uniform(0.3, 0.75)))
            reach = rng.random()
            if reach < REMOTE_SHARE[currency] * remote_scale:
                listing["remote"] = True
            elif reach > 0.95:
                listing["areas"] = region_areas[region]  # anywhere in the region
            elif len(org["areas"]) > 1 and rng.random() < 0.6:
                # Big organisations list most things for one or two of their areas.
                k = 1 if rng.random() < 0.7 else 2
                listing["areas"] = [str(a) for a in rng.choice(org["areas"], size=k,
                                                              replace=False)]
            start = int(rng.integers(0, 18))  # months from January 2026
            listing["available_from"] = f"{2026 + start // 12}-{start % 12 + 1:02d}-01"
            if rng.random() < 0.55:
                end = start + int(rng.integers(2, 9))
                listing["available_until"] = f"{2026 + end // 12}-{end % 12 + 1:02d}-28"
            listings.append(listing)
    return {"organisations": orgs,
            "currencies": [{"code": c, "value": v} for c, v in NATIONAL_CURRENCIES.items()],
            "listings": listings,
            "settings": {"max_cycle": max_cycle, "max_chain": max_chain,
                         "fairness_threshold": fairness, "time_limit": 300}}
