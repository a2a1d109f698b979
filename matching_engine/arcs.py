"""The market's exchange graph as arrays: every compatible (offer, need) pair, vectorised.

``build_arc_table(market)`` applies the compatibility rule (README "Compatibility") to all
offer × need pairs without a Python loop over pairs:

1. *Blocking.* Candidate pairs are generated only inside blocks that can match at all: same
   currency, same category (or any category for a need that names none), and a shared area
   (an offer or need that is remote / has no areas matches every area). Offers are indexed by
   (currency, category, area) and by (currency, area); every need row (one per area it lists)
   looks up the segments of offers it may meet, and the pairs are produced with NumPy
   ``repeat``/``arange`` arithmetic, a bounded chunk of needs at a time (memory stays flat).
2. *Filtering.* The remaining rules are array tests on the candidate pairs: different
   organisations; tags as bit masks (need ⊆ offer); date windows as day ordinals; the offer's
   quantity covers the need's minimum (its full quantity when it has none); exclusions as a
   sorted set of (giver, receiver) keys, either side excluding the other.

Invariants: arcs are sorted by (offer, need) in natural id order (``validation.id_sort_key``),
so the table — and everything built on it — is the same whatever order the document lists
things in; an arc moves ``min(offer, need)`` units worth ``units × currency value``; the scalar
rule ``market.compatible`` accepts exactly the pairs this table holds (tests check it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .market import NEED, OFFER, Listing, Market
from .validation import id_sort_key

#: Candidate pairs generated per chunk before filtering (bounds the build's memory).
CHUNK_PAIRS = 4_000_000
_NO_DATE_LOW = -(1 << 40)
_NO_DATE_HIGH = 1 << 40


@dataclass
class ArcTable:
    """Arrays over arcs (one per compatible pair), plus the listing and organisation numbering.

    ``listings`` are in natural id order; ``offer``/``need`` index into it. Organisations are
    numbered in natural id order (``org_ids``). ``listing_org`` gives each listing's
    organisation number, ``capacity`` its quantity.
    """

    listings: list[Listing]
    org_ids: list[str]
    listing_org: np.ndarray
    capacity: np.ndarray
    offer: np.ndarray  # int32 listing index
    need: np.ndarray  # int32 listing index
    giver: np.ndarray  # int32 organisation number
    receiver: np.ndarray  # int32 organisation number
    quantity: np.ndarray  # float64 units moved
    value: np.ndarray  # float64 credits moved
    gift: np.ndarray  # bool: the offer is a gift (the arc can only start a chain)
    rate: np.ndarray  # float64 completion rate per organisation

    def __len__(self) -> int:
        return len(self.offer)


def _ordinal(day, default: int) -> int:
    return default if day is None else day.toordinal()


def _tag_masks(listings: list[Listing]) -> np.ndarray:
    """One row of uint64 words per listing: bit t set when the listing carries tag t."""
    tags = sorted({t for lst in listings for t in lst.tags})
    bit = {t: i for i, t in enumerate(tags)}
    words = max(1, (len(tags) + 63) // 64)
    masks = np.zeros((len(listings), words), dtype=np.uint64)
    for i, lst in enumerate(listings):
        for t in lst.tags:
            b = bit[t]
            masks[i, b // 64] |= np.uint64(1) << np.uint64(b % 64)
    return masks


def _segments(sorted_keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[lo, hi) of each wanted key in ``sorted_keys``."""
    return (np.searchsorted(sorted_keys, wanted, side="left"),
            np.searchsorted(sorted_keys, wanted, side="right"))


def _expand(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments [lo_i, hi_i): (row i repeated, position) for every position in them."""
    counts = hi - lo
    total = int(counts.sum())
    rows = np.repeat(np.arange(len(lo)), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, np.repeat(lo, counts) + offsets


def build_arc_table(market: Market) -> ArcTable:
    """Every compatible (offer, need) pair of ``market`` (see the module docstring)."""
    listings = sorted(market.listings, key=lambda lst: id_sort_key(lst.id))
    org_ids = sorted(market.organisations, key=id_sort_key)
    org_no = {oid: i for i, oid in enumerate(org_ids)}
    n_orgs = len(org_ids)
    n = len(listings)
    currencies = sorted(market.currencies)
    cur_no = {c: i for i, c in enumerate(currencies)}
    categories = sorted({lst.category for lst in listings if lst.category is not None})
    cat_no = {c: i + 1 for i, c in enumerate(categories)}  # 0: no category
    areas = sorted({a for lst in listings if lst.areas for a in lst.areas})
    area_no = {a: i + 1 for i, a in enumerate(areas)}  # 0: any area
    n_cat, n_area = len(categories) + 1, len(areas) + 1

    kind = np.array([lst.kind == OFFER for lst in listings], dtype=bool)
    cur = np.array([cur_no[lst.currency] for lst in listings], dtype=np.int64)
    cat = np.array([cat_no.get(lst.category, 0) if lst.category is not None else 0
                    for lst in listings], dtype=np.int64)
    org = np.array([org_no[lst.organisation] for lst in listings], dtype=np.int64)
    qty = np.array([lst.quantity for lst in listings], dtype=np.float64)
    least = np.array([lst.least_acceptable for lst in listings], dtype=np.float64)
    start = np.array([_ordinal(lst.available_from, _NO_DATE_LOW) for lst in listings],
                     dtype=np.int64)
    until = np.array([_ordinal(lst.available_until, _NO_DATE_HIGH) for lst in listings],
                     dtype=np.int64)
    gift = np.array([lst.gift for lst in listings], dtype=bool)
    masks = _tag_masks(listings)
    unit_value = np.array([market.currencies[c] for c in currencies], dtype=np.float64)
    rate = np.array([market.organisations[o].completion_rate for o in org_ids], dtype=np.float64)

    # Area rows: (listing, area) for listings with areas; (listing, 0) for "any area".
    row_listing, row_area = [], []
    for i, lst in enumerate(listings):
        if lst.areas is None:
            row_listing.append(i)
            row_area.append(0)
        else:
            for a in sorted(lst.areas):
                row_listing.append(i)
                row_area.append(area_no[a])
    row_listing_a = np.array(row_listing, dtype=np.int64)
    row_area_a = np.array(row_area, dtype=np.int64)
    is_offer_row = kind[row_listing_a]

    # Offer indexes: by (currency, category, area) and by (currency, area); the area-0 rows of
    # remote offers sit in every lookup's "any" segment.
    o_rows = np.flatnonzero(is_offer_row)
    o_list = row_listing_a[o_rows]
    o_area = row_area_a[o_rows]
    key_cca = (cur[o_list] * n_cat + cat[o_list]) * n_area + o_area
    by_cca = np.argsort(key_cca, kind="stable")
    key_cca_sorted = key_cca[by_cca]
    list_cca = o_list[by_cca]
    key_ca = cur[o_list] * n_area + o_area
    by_ca = np.argsort(key_ca, kind="stable")
    key_ca_sorted = key_ca[by_ca]
    list_ca = o_list[by_ca]
    # Distinct offers per (currency, category) and per currency, for needs matching any area.
    offers = np.flatnonzero(kind)
    key_cc = cur[offers] * n_cat + cat[offers]
    by_cc = np.argsort(key_cc, kind="stable")
    key_cc_sorted, list_cc = key_cc[by_cc], offers[by_cc]
    key_c_sorted, list_c = cur[offers], offers  # offers are already in listing order
    by_c = np.argsort(key_c_sorted, kind="stable")
    key_c_sorted, list_c = key_c_sorted[by_c], list_c[by_c]

    # Every need row looks up at most two segments (its area and "any"); a need without areas
    # looks up every offer of its block once.
    n_rows = np.flatnonzero(~is_offer_row)
    n_list = row_listing_a[n_rows]
    nr_area = row_area_a[n_rows]
    wild = cat[n_list] == 0
    lookups = []  # (need listing, lo, hi, table)
    for table, keys_sorted, values in (("cca", key_cca_sorted, list_cca),
                                       ("ca", key_ca_sorted, list_ca),
                                       ("cc", key_cc_sorted, list_cc),
                                       ("c", key_c_sorted, list_c)):
        if table == "cca":
            sel = ~wild & (nr_area > 0)
            base = (cur[n_list[sel]] * n_cat + cat[n_list[sel]]) * n_area
            keys = [base + nr_area[sel], base]  # its area, then remote offers
        elif table == "ca":
            sel = wild & (nr_area > 0)
            base = cur[n_list[sel]] * n_area
            keys = [base + nr_area[sel], base]
        elif table == "cc":
            sel = ~wild & (nr_area == 0)
            keys = [cur[n_list[sel]] * n_cat + cat[n_list[sel]]]
        else:
            sel = wild & (nr_area == 0)
            keys = [cur[n_list[sel]]]
        for key in keys:
            lo, hi = _segments(keys_sorted, key)
            lookups.append((n_list[sel], lo, hi, values))

    pair_keys = []
    for need_ids, lo, hi, values in lookups:
        counts = hi - lo
        if not counts.sum():
            continue
        # Chunks of needs whose candidate pairs stay under CHUNK_PAIRS.
        ends = np.cumsum(counts)
        cut_points = np.searchsorted(ends, np.arange(CHUNK_PAIRS, int(ends[-1]), CHUNK_PAIRS))
        bounds = [0, *sorted(set((cut_points + 1).tolist())), len(counts)]
        for a, b in zip(bounds[:-1], bounds[1:], strict=False):
            if a >= b:
                continue
            rows, pos = _expand(lo[a:b], hi[a:b])
            o = values[pos]
            nd = need_ids[a:b][rows]
            keep = _compatible(o, nd, org, qty, least, start, until, masks)
            o, nd = o[keep], nd[keep]
            pair_keys.append(o * n + nd)
    keys = np.concatenate(pair_keys) if pair_keys else np.zeros(0, dtype=np.int64)
    keys.sort()
    # A pair found through two shared areas appears twice; sorted, duplicates are adjacent.
    if len(keys) > 1:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    o_idx, n_idx = keys // max(n, 1), keys % max(n, 1)
    giver, receiver = org[o_idx], org[n_idx]
    excluded = _exclusion_keys(market, org_no, n_orgs)
    if len(excluded) and len(keys):
        pk = giver * n_orgs + receiver
        pos = np.minimum(np.searchsorted(excluded, pk), len(excluded) - 1)
        ok = excluded[pos] != pk
        o_idx, n_idx, giver, receiver = o_idx[ok], n_idx[ok], giver[ok], receiver[ok]
    quantity = np.minimum(qty[o_idx], qty[n_idx])
    return ArcTable(
        listings=listings, org_ids=org_ids, listing_org=org.astype(np.int32), capacity=qty,
        offer=o_idx.astype(np.int32), need=n_idx.astype(np.int32),
        giver=giver.astype(np.int32), receiver=receiver.astype(np.int32),
        quantity=quantity, value=quantity * unit_value[cur[o_idx]], gift=gift[o_idx],
        rate=rate,
    )


def _compatible(o, nd, org, qty, least, start, until, masks) -> np.ndarray:
    """The per-pair rules left after blocking (currency, category and area already hold)."""
    keep = org[o] != org[nd]
    keep &= qty[o] >= least[nd]
    keep &= np.maximum(start[o], start[nd]) <= np.minimum(until[o], until[nd])
    for w in range(masks.shape[1]):
        keep &= (masks[nd, w] & ~masks[o, w]) == 0
    return keep


def _exclusion_keys(market: Market, org_no: dict[str, int], n_orgs: int) -> np.ndarray:
    """Sorted (giver * n + receiver) keys of forbidden organisation pairs (both directions)."""
    keys = set()
    for oid, organisation in market.organisations.items():
        for other in organisation.excludes:
            if other in org_no and other != oid:
                a, b = org_no[oid], org_no[other]
                keys.add(a * n_orgs + b)
                keys.add(b * n_orgs + a)
    return np.array(sorted(keys), dtype=np.int64)


__all__ = ["ArcTable", "build_arc_table", "NEED", "OFFER"]
