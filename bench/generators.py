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
                     fairness: float = 0.5) -> dict:
    """A market document: organisations in regions trading staff, jobs, training, premises."""
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
                       "remote": bool(currency == "training" and rng.random() < 0.3)}
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
