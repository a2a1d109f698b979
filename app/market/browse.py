"""Reading the market: browsing listings with filters, one listing, an organisation's
listings, and the counts of the start page.

Reads never write: a listing past its end reads as expired at once (`Listing.open_on`,
`Listing.expired_on`) while its stored status catches up later (`expire_listings`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass, replace
from datetime import timedelta

from sqlalchemy import Select, func, literal, or_, union_all
from sqlalchemy.orm import joinedload

from app.core import read_cache
from app.core.clock import today as utc_today
from app.core.errors import NotFound
from app.core.paging import CursorPage, Page, keyset_page, paginate
from app.core.validation import normalise_code, valid_id
from app.extensions import db
from app.market import search
from app.market.models import (
    Currency,
    Listing,
    ListingKind,
    ListingStatus,
    Organisation,
    code_list_contains,
)

STATUS_ANY = "any"

#: What listing reads are cached under (app.core.read_cache): a listing as anyone sees
#: it shows its organisation and currency, so their changes count too. A new listing is
#: an addition: answers it does not match are kept (`survives_additions`).
MARKET = read_cache.watch("market", Listing, Organisation, Currency, additive=Listing,
                         shared=True)


def with_organisation_and_currency() -> list:
    """A listing's organisation and currency joined into the query that reads it (every
    listing has both): a page of 50 costs one query, not 1 + 100 lazy loads. Built when
    asked: loader options at import would configure the mappers before every model is
    imported."""
    return [joinedload(Listing.organisation, innerjoin=True),
            joinedload(Listing.currency, innerjoin=True)]


@dataclass
class ListingFilters:
    """What the market can be browsed by. Codes and text are normalised here."""

    kind: str | None = None
    currency: str | None = None
    category: str | None = None
    area: str | None = None
    organisation_id: int | None = None
    text: str | None = None
    status: str | None = ListingStatus.OPEN
    tag: str | None = None
    gift: bool | None = None

    def as_args(self) -> dict:
        """The filters as query-string arguments (for paging links)."""
        args = {"kind": self.kind, "currency": self.currency, "category": self.category,
                "area": self.area, "organisation_id": self.organisation_id, "q": self.text,
                "tag": self.tag, "gift": self.gift, "status": self.status or STATUS_ANY}
        return {key: value for key, value in args.items() if value not in (None, "")}


@dataclass
class ListingQuery:
    """A listings select, ordered by `keys` (each descending, the last unique), with
    organisations and currencies loaded in the same query. `match`: the text search, if
    any; `misspellings`: the same filters with its misspelt words (see `misspelt`)."""

    statement: Select
    keys: list
    misspellings: ListingQuery | None = None
    match: search.TextMatch | None = None

    @property
    def ids(self) -> Select:
        """The same select, of listing ids only: what a page is chosen by. A ranked search
        sorts every match; sorting ids instead of whole rows costs a third less (41 → 28 ms
        for 7,000 matches), and the page's rows are then read by id (`listings_by_id`)."""
        return self.statement.with_only_columns(Listing.id).options()

    def misspelt(self) -> ListingQuery | None:
        """The query for misspelt words when the words match no listing at all (a query:
        ask only when a page comes back empty)."""
        if self.misspellings is None or self.match.misspelt() is None:
            return None
        return self.misspellings

    def matches_any(self, ids) -> bool:
        """Whether any listing of the select `ids` matches these filters and words (or
        their misspellings)."""
        found = [query.ids.order_by(None).where(Listing.id.in_(ids))
                 for query in (self, self.misspellings) if query is not None]
        either = found[0] if len(found) == 1 else union_all(*found)
        return db.session.execute(
            db.select(literal(1)).select_from(either.subquery()).limit(1)).first() is not None


def browse_listings(filters: ListingFilters) -> ListingQuery:
    """Listings matching `filters`: the most relevant first when there is text to search
    (`app.market.search`), otherwise the newest first.

    Every filter is a condition an index serves on PostgreSQL: equality on kind, status,
    currency and organisation with the newest-first order (composite indexes), areas and
    tags by array containment (GIN), lower(category) (an expression index). Expiry is read
    here, not stored: "open" is status 'open' and no end date before today, checked on the
    index's rows.
    """
    statement = db.select(Listing)
    if filters.kind:
        statement = statement.where(Listing.kind == filters.kind)
    if filters.currency:
        statement = statement.where(Listing.currency_id == db.select(Currency.id).where(
            Currency.code == filters.currency).scalar_subquery())
    if filters.category:
        statement = statement.where(
            func.lower(Listing.category) == filters.category.strip().lower())
    if filters.area:
        code = normalise_code(filters.area)
        # remote/any listings match every area, as in the compatibility rule.
        statement = statement.where(or_(code_list_contains(Listing.areas, code),
                                        Listing.remote.is_(True)))
    if filters.tag:
        statement = statement.where(code_list_contains(Listing.tags, normalise_code(filters.tag)))
    if filters.organisation_id:
        statement = statement.where(Listing.organisation_id == filters.organisation_id)
    if filters.gift is not None:
        statement = statement.where(Listing.is_gift.is_(filters.gift))
    if filters.status == ListingStatus.OPEN:
        statement = statement.where(Listing.open_on(utc_today()))
    elif filters.status == ListingStatus.EXPIRED:
        statement = statement.where(Listing.expired_on(utc_today()))
    elif filters.status and filters.status != STATUS_ANY:
        statement = statement.where(Listing.status == filters.status)
    query = search.parse(filters.text)
    if query is None:
        return _ordered(statement, None)
    match = search.text_match(query)
    misspellings = None if match.misspellings is None else _ordered(
        statement, match.misspellings)
    return replace(_ordered(statement, match), misspellings=misspellings, match=match)


def _ordered(statement: Select, match: search.TextMatch | None) -> ListingQuery:
    """`statement` narrowed by the text `match` (if any), most relevant then newest first."""
    keys = [Listing.created_at, Listing.id]
    if match is not None:
        statement = match.apply(statement)
        keys = [match.rank, *keys]
    statement = statement.options(*with_organisation_and_currency())
    return ListingQuery(statement.order_by(*(key.desc() for key in keys)), keys)


def _page_or_misspellings(query: ListingQuery,
                          run: Callable[[ListingQuery], Page | CursorPage]):
    """`run` on `query`; when it finds nothing and the words match no listing at all, on
    the query for misspelt words instead."""
    found = run(query)
    if not found.items and (fuzzy := query.misspelt()) is not None:
        found = run(fuzzy)
    return found


def survives_additions(filters: ListingFilters) -> Callable:
    """For `read_cache.remember`: a page of these filters stays the same when no added
    listing matches them (nor their words' misspellings)."""
    return lambda added_ids: not browse_listings(filters).matches_any(added_ids)


def market_page_ids(filters: ListingFilters, page: int, per_page: int) -> Page:
    """Which listings (ids, in order) a page of the market shows, with the count. Kept
    under the market's version (`app.core.read_cache`): repeated searches skip the
    ranking and the count."""

    def ids_page() -> Page:
        return _page_or_misspellings(browse_listings(filters), lambda query: paginate(
            query.ids, page, per_page, clamp=True, bounded_count=True))

    return read_cache.remember(MARKET, ("page", astuple(filters), page, per_page), ids_page,
                               survives_additions=survives_additions(filters))


def listing_keyset_page(filters: ListingFilters, per_page: int, *, cursor: str | None = None,
                        page: int = 1) -> CursorPage:
    """A page of `browse_listings` by cursor (the API's). Raises BadCursor.

    Newest first, an index gives the page in order: one query with the organisations and
    currencies joined. Ranked by a search, every match is sorted: the page is chosen by
    id and then read by id (`ListingQuery.ids`)."""
    query = browse_listings(filters)
    if query.match is None:
        return keyset_page(query.statement, query.keys, per_page, cursor=cursor, page=page)
    found = _page_or_misspellings(query, lambda chosen: keyset_page(
        chosen.ids, chosen.keys, per_page, cursor=cursor, page=page))
    return replace(found, items=listings_by_id(found.items))


def listings_by_id(ids: list[int]) -> list[Listing]:
    """These listings, in this order, with their organisations and currencies."""
    if not ids:
        return []
    found = {listing.id: listing for listing in db.session.execute(
        db.select(Listing).where(Listing.id.in_(ids))
        .options(*with_organisation_and_currency())).scalars()}
    return [found[listing_id] for listing_id in ids if listing_id in found]


def listings_query(filters: ListingFilters) -> Select:
    """The select of `browse_listings` (for previews and tests): for misspelt words when
    the words match nothing."""
    query = browse_listings(filters)
    return (query.misspelt() or query).statement


def get_listing(listing_id: int) -> Listing:
    listing = db.session.get(Listing, listing_id, options=[
        joinedload(Listing.organisation), joinedload(Listing.currency)]) if valid_id(
        listing_id) else None
    if listing is None:
        raise NotFound(f"No listing with id {listing_id}.")
    return listing


def organisation_listings(organisation: Organisation) -> dict[str, list[Listing]]:
    """An organisation's listings grouped by kind, open first then newest."""
    listings = db.session.execute(
        db.select(Listing).where(Listing.organisation_id == organisation.id)
        .order_by(Listing.open_on(utc_today()).desc(), Listing.created_at.desc(),
                  Listing.id.desc())
    ).scalars().all()
    return {kind: [item for item in listings if item.kind == kind] for kind in ListingKind.ALL}


def open_listing_counts() -> dict[int, int]:
    """Open listings per organisation id (one query, for lists of organisations)."""
    rows = db.session.execute(
        db.select(Listing.organisation_id, func.count(Listing.id))
        .where(Listing.open_on(utc_today())).group_by(Listing.organisation_id))
    return {organisation_id: count for organisation_id, count in rows}


def market_summary(organisation: Organisation | None = None) -> dict:
    """Counts for the start page: open offers and needs, market-wide and for `organisation`."""

    def count(*conditions) -> int:
        return db.session.execute(
            db.select(func.count(Listing.id)).where(*conditions)).scalar_one()

    is_open = Listing.open_on(utc_today())
    summary = {
        "open_offers": count(is_open, Listing.kind == ListingKind.OFFER),
        "open_needs": count(is_open, Listing.kind == ListingKind.NEED),
        "gifts": count(is_open, Listing.is_gift.is_(True)),
        "organisations": db.session.execute(
            db.select(func.count(Organisation.id))).scalar_one(),
        "expiring_soon": count(is_open, Listing.available_until.is_not(None),
                               Listing.available_until <= utc_today() + timedelta(days=14)),
    }
    if organisation is not None:
        mine = Listing.organisation_id == organisation.id
        summary.update(
            my_open_offers=count(mine, is_open, Listing.kind == ListingKind.OFFER),
            my_open_needs=count(mine, is_open, Listing.kind == ListingKind.NEED),
            my_reserved=count(mine, is_open, Listing.reserved > 0),
            my_expiring=list(db.session.execute(
                db.select(Listing).where(
                    mine, is_open, Listing.available_until.is_not(None),
                    Listing.available_until <= utc_today() + timedelta(days=14))
                .order_by(Listing.available_until)).scalars()),
        )
    return summary
