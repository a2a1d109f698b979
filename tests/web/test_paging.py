"""A page number beyond the last shows the last page and says so, on every paged
list (one clamp in app/core/paging.py); the API keeps an empty page so a client
walking pages stops."""

from __future__ import annotations

import pytest

from app.auth.models import Role
from app.core.paging import paginate
from app.extensions import db
from app.market.models import Listing, ListingKind


@pytest.fixture
def many_listings(app, make_org, make_user, make_currency, make_listing):
    make_currency("staff")
    org = make_org("Paging Org")
    for n in range(45):
        make_listing(org, ListingKind.OFFER, title=f"Listing {n:02d}")
    return make_user(Role.COORDINATOR)


@pytest.mark.parametrize("bounded", [False, True], ids=["counted apart", "count in the page"])
def test_paginate_clamps_only_when_asked(many_listings, bounded):
    statement = db.select(Listing).order_by(Listing.id)
    clamped = paginate(statement, 999, 20, clamp=True, bounded_count=bounded)
    assert (clamped.page, clamped.pages, clamped.requested, len(clamped.items)) == (3, 3, 999, 5)
    assert [item.title for item in clamped.items] == [f"Listing {n}" for n in range(40, 45)]
    plain = paginate(statement, 999, 20, bounded_count=bounded)
    assert (plain.page, plain.requested, plain.items, plain.total) == (999, None, [], 45)
    inside = paginate(statement, 2, 20, clamp=True, bounded_count=bounded)
    assert (inside.page, inside.requested, len(inside.items), inside.total) == (2, None, 20, 45)
    assert [item.title for item in inside.items][:2] == ["Listing 20", "Listing 21"]
    last = paginate(statement, 3, 20, clamp=True, bounded_count=bounded)
    assert (last.page, last.requested, len(last.items), last.total) == (3, None, 5, 45)
    empty = paginate(db.select(Listing).where(Listing.id < 0), 5, 20, clamp=True,
                     bounded_count=bounded)
    assert (empty.page, empty.pages, empty.requested, empty.items) == (1, 1, 5, [])
    first = paginate(db.select(Listing).where(Listing.id < 0), 1, 20, clamp=True,
                     bounded_count=bounded)
    assert (first.page, first.total, first.requested, first.items) == (1, 0, None, [])


@pytest.mark.parametrize("path, has_items", [
    ("/market", True), ("/organisations", True), ("/admin/users", True),
    ("/matching/runs", False), ("/notifications", False), ("/proposals/", False),
    ("/proposals/review", False)])
def test_pages_beyond_the_last_show_the_last(client, login, many_listings, path, has_items,
                                             make_user):
    user = make_user(Role.ADMIN) if path.startswith("/admin") else many_listings
    login(user)
    response = client.get(f"{path}?page=999")
    assert response.status_code == 200
    page = response.data.decode()
    assert "Page 999" not in page
    # An empty list shows its "nothing yet" text; a non-empty one its last page and why.
    assert ('There is no page 999' in page) is has_items


def test_market_page_999_shows_the_last_listings(client, login, many_listings):
    login(many_listings)
    page = client.get("/market?page=999&per_page=20").data.decode()
    assert "Page 3 of 3" in page and "are 3 pages" in page
    # Said once, above the listings (where the eye lands), not only under the pager.
    assert page.count('data-testid="page-beyond"') == 1
    assert page.index('data-testid="page-beyond"') < page.index("<table")
    assert "Listing 00" in page or "Listing 44" in page  # the last page has listings
    assert "?page=1" in page or "page=1&" in page or "&amp;page=1" in page


def test_api_keeps_an_empty_page_beyond_the_last(client, api_headers, many_listings):
    body = client.get("/api/v1/listings?page=999", headers=api_headers(many_listings)).get_json()
    assert body["items"] == [] and body["page"] == 999
