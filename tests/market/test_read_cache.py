"""Cached market reads (app.core.read_cache): a repeated read is answered from memory, and
every kind of change a reader could see — a listing posted, edited, withdrawn or reserved,
an organisation renamed, a currency's unit changed, the date moving on — is seen at once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import update

from app.core import read_cache
from app.core.clock import frozen_clock
from app.core.read_cache import DataVersion
from app.extensions import db
from app.market.models import Listing
from tests.statements import recorded

LIST = "/api/v1/listings?per_page=50"


def _statements(fn) -> tuple[int, object]:
    seen, result = recorded(fn)
    return len(seen), result


def _page_and_row_reads(client, url: str) -> tuple[str, list[str]]:
    """A page's HTML and the statements that read listing rows for it."""
    seen, response = recorded(lambda: client.get(url))
    return response.get_data(as_text=True), [s for s in seen if "listings.title" in s]


def _titles(client, headers, url=LIST) -> list[str]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_json()
    return [item["title"] for item in response.get_json()["items"]]


def _version() -> int:
    db.session.rollback()
    return db.session.execute(db.select(DataVersion.version).where(
        DataVersion.name == "market")).scalar_one()


def test_a_repeated_read_is_answered_from_memory(client, market, api_as):
    headers = api_as("member")
    _titles(client, headers)  # the token's first use is written; the answer is stored
    cold_count, cold = _statements(lambda: client.get(LIST + "&q=nurse", headers=headers))
    warm_count, warm = _statements(lambda: client.get(LIST + "&q=nurse", headers=headers))
    assert warm.get_json() == cold.get_json()
    assert warm.get_json()["items"][0]["title"] == "Nurse days"
    # the versions only (the token is kept too): no search, no count, no rows
    assert warm_count == 1 < cold_count, (warm_count, cold_count)
    hits = read_cache.stats("market")["hits"]
    client.get(LIST + "&q=nurse", headers=headers)
    assert read_cache.stats("market")["hits"] == hits + 1


def test_a_posted_listing_is_seen_at_once(client, market, api_as):
    headers = api_as("member")
    before = _titles(client, headers)
    posted = client.post("/api/v1/listings", headers=api_as("other_member"), json={
        "kind": "offer", "currency": "staff", "category": "social worker",
        "title": "Weekend social worker", "quantity": 2, "remote": True})
    assert posted.status_code == 201, posted.get_json()
    after = _titles(client, headers)
    assert after == ["Weekend social worker", *before]
    assert _titles(client, headers, LIST + "&q=weekend") == ["Weekend social worker"]


def test_an_edit_and_a_withdrawal_are_seen_at_once(client, market, api_as):
    headers = api_as("member")
    listing = market["offer"]
    assert "Nurse days" in _titles(client, headers)
    assert client.get(f"/api/v1/listings/{listing.id}", headers=headers).get_json()[
        "quantity"] == 10
    edited = client.patch(f"/api/v1/listings/{listing.id}", headers=headers,
                          json={"title": "Nurse weeks", "quantity": 12})
    assert edited.status_code == 200, edited.get_json()
    assert "Nurse weeks" in _titles(client, headers)
    assert client.get(f"/api/v1/listings/{listing.id}", headers=headers).get_json()[
        "quantity"] == 12
    withdrawn = client.post(f"/api/v1/listings/{listing.id}/withdraw", headers=headers)
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert "Nurse weeks" not in _titles(client, headers)
    assert client.get(f"/api/v1/listings/{listing.id}", headers=headers).get_json()[
        "status"] == "withdrawn"


def test_an_organisation_or_currency_change_is_seen_at_once(client, market, api_as):
    headers = api_as("member")
    first = client.get(LIST, headers=headers).get_json()["items"]
    assert {item["organisation"]["name"] for item in first} == {"Own Org", "Other Org"}
    market["other_org"].name = "Renamed Org"
    db.session.commit()
    names = {item["organisation"]["name"] for item in
             client.get(LIST, headers=headers).get_json()["items"]}
    assert names == {"Own Org", "Renamed Org"}
    market["premises"].unit = "room-day"
    db.session.commit()
    units = {item["unit"] for item in client.get(LIST, headers=headers).get_json()["items"]
             if item["currency"] == "premises"}
    assert units == {"room-day"}


def test_a_bulk_update_raises_the_version(client, market, api_as):
    """Reservations are written by UPDATE statements, not through loaded objects."""
    headers = api_as("member")
    listing_id = market["other_offer"].id
    assert client.get(f"/api/v1/listings/{listing_id}", headers=headers).get_json()[
        "reserved"] == 0
    before = _version()
    db.session.execute(update(Listing).where(Listing.id == listing_id).values(reserved=30))
    db.session.commit()
    assert _version() == before + 1
    assert client.get(f"/api/v1/listings/{listing_id}", headers=headers).get_json()[
        "reserved"] == 30


def test_only_committed_changes_to_watched_tables_raise_the_version(client, market, api_as):
    before = _version()
    market["offer"].title = "Never saved"
    db.session.flush()
    db.session.rollback()
    assert _version() == before
    market["member"].name = "Someone else"  # a user: not part of the market's reads
    db.session.commit()
    assert _version() == before
    market["offer"].title = "Saved"
    market["need"].title = "Saved too"
    db.session.commit()
    assert _version() == before + 1  # one raise per transaction


def test_a_transaction_reads_its_own_changes(app, market):
    """Inside a transaction that has changed listings, cached reads are not used."""
    from app.market import browse

    def titles():
        chosen = browse.market_page_ids(browse.ListingFilters(), 1, 50)
        return [item.title for item in browse.listings_by_id(chosen.items)]

    assert "Nurse days" in titles()
    db.session.commit()
    market["offer"].title = "Changed, not committed"
    assert "Changed, not committed" in titles()
    db.session.rollback()
    assert "Nurse days" in titles()


def test_the_market_page_sees_changes(client, market, as_role):
    as_role("member")
    assert "Spare clinic room" in client.get("/market").get_data(as_text=True)
    assert "Spare clinic room" in client.get("/market").get_data(as_text=True)
    market["other_offer"].title = "Spare consulting room"
    db.session.commit()
    page = client.get("/market").get_data(as_text=True)
    assert "Spare consulting room" in page and "Spare clinic room" not in page


def test_the_market_pages_currency_menus_are_kept_until_a_currency_changes(
        client, market, as_role, api_as):
    """The currency and category menus are read once per version and kept across posts;
    a renamed currency or a new category shows at the next page."""
    poster = api_as("other_member")
    as_role("member")

    def currency_reads() -> tuple[str, int]:
        seen, response = recorded(lambda: client.get("/market"))
        return (response.get_data(as_text=True),
                len([s for s in seen if "FROM currencies ORDER BY" in " ".join(s.split())]))

    first, reads = currency_reads()
    assert reads == 1 and '<option value="premises"' in first
    assert currency_reads()[1] == 0
    _post(client, poster)
    assert currency_reads()[1] == 0  # kept across a new listing
    market["premises"].name = "Rooms and halls"
    market["premises"].categories = [*(market["premises"].categories or []), "Sports hall"]
    db.session.commit()
    renamed, reads = currency_reads()
    assert reads == 1 and "Rooms and halls" in renamed and "Sports hall" in renamed


def test_the_market_page_keeps_its_rendered_rows_until_a_listing_changes(
        client, market, as_role, api_as):
    """The table of a page's listings is rendered once per version and kept across posts
    that are other rows; a change to a shown listing (here a quantity edit) shows at once."""
    poster = api_as("other_member")
    as_role("member")
    url = "/market?kind=need"

    def page() -> tuple[str, list[str]]:
        return _page_and_row_reads(client, url)

    first, reads = page()
    assert "Clinic room" in first and "40 <span" in first and reads
    assert page() == (first, [])  # from memory: no listing rows read
    _post(client, poster)  # an offer: not on a page of needs
    assert page() == (first, [])  # kept across the post: still no rows read
    market["need"].quantity = market["need"].remaining = 45
    db.session.commit()
    edited, reads = page()
    assert "45 <span" in edited and "40 <span" not in edited and reads


def test_the_listing_page_keeps_its_details_but_not_the_buttons(
        client, market, as_role, api_as):
    """A listing's page renders its details once per version (kept across posts of other
    listings); its owners still get the Edit button and others do not; an edit shows at
    once; an unknown id is 404 every time."""
    offer_id = market["offer"].id
    url = f"/market/listings/{offer_id}"

    def page(role: str) -> tuple[str, list[str]]:
        as_role(role)
        db.session.commit()
        db.session.expire_all()  # as in production: nothing is known before a request
        return _page_and_row_reads(client, url)

    owner, reads = page("member")
    assert "Nurse days" in owner and ">Edit</a>" in owner and reads
    other, reads = page("other_member")
    assert "Nurse days" in other and ">Edit</a>" not in other and not reads
    _post(client, api_as("other_member"))
    assert page("member") == (owner, [])
    db.session.get(Listing, offer_id).title = "Nurse days, weekends too"
    db.session.commit()
    edited, reads = page("member")
    assert "Nurse days, weekends too" in edited and ">Edit</a>" in edited and reads
    for _ in range(2):
        assert client.get("/market/listings/999999").status_code == 404


def test_a_new_day_reads_afresh(client, market, make_listing, api_as):
    """Expiry is read at query time: an answer from yesterday is not served today."""
    headers = api_as("member")
    today = date.today()
    make_listing(market["other_org"], title="Ends today", available_until=today)
    with frozen_clock(datetime.combine(today, datetime.min.time()) + timedelta(hours=12)):
        assert "Ends today" in _titles(client, headers)
        assert "Ends today" in _titles(client, headers)
    with frozen_clock(datetime.combine(today + timedelta(days=1), datetime.min.time())):
        assert "Ends today" not in _titles(client, headers)


# --- answers kept across additions ---------------------------------------------------------

def _post(client, headers, **fields) -> int:
    body = {"kind": "offer", "currency": "staff", "category": "social worker",
            "title": "Weekend social worker", "quantity": 2, "remote": True, **fields}
    posted = client.post("/api/v1/listings", headers=headers, json=body)
    assert posted.status_code == 201, posted.get_json()
    return posted.get_json()["id"]


def _rewritten() -> tuple[int, int]:
    db.session.rollback()
    return tuple(db.session.execute(db.select(DataVersion.version, DataVersion.rewritten)
                                    .where(DataVersion.name == "market")).one())


def test_a_post_is_an_addition_and_an_edit_a_rewrite(client, market, api_as):
    headers = api_as("other_member")
    version, rewritten = _rewritten()
    listing_id = _post(client, headers)
    assert _rewritten() == (version + 1, rewritten)
    assert db.session.execute(db.select(read_cache.DataAddition.row_id).where(
        read_cache.DataAddition.version == version + 1)).scalars().all() == [listing_id]
    edited = client.patch(f"/api/v1/listings/{listing_id}", headers=headers,
                          json={"quantity": 3})
    assert edited.status_code == 200, edited.get_json()
    assert _rewritten() == (version + 2, version + 2)
    # additions before a rewrite are of no further use
    assert db.session.execute(db.select(read_cache.DataAddition)).first() is None


def test_answers_a_new_listing_does_not_match_are_kept(client, market, api_as):
    reader, poster = api_as("member"), api_as("other_member")
    nurse = LIST + "&q=nurse"
    needs = LIST + "&kind=need"
    one = f"/api/v1/listings/{market['offer'].id}"
    answers = {url: client.get(url, headers=reader).get_json() for url in (nurse, needs, one)}
    _post(client, poster)  # an offer for a social worker: matches none of them
    stats = read_cache.stats("market")
    count, kept = _statements(lambda: client.get(nurse, headers=reader))
    assert kept.get_json() == answers[nurse]
    # the versions, the token (the poster's token's first use was written, and tokens
    # are kept under the users' version), the additions check: no ranking, no count, no rows
    assert count == 3, count
    assert client.get(needs, headers=reader).get_json() == answers[needs]
    assert client.get(one, headers=reader).get_json() == answers[one]
    after = read_cache.stats("market")
    assert after["kept"] == stats["kept"] + 3 and after["misses"] == stats["misses"]
    # kept for the new version: asked again, a plain hit (the versions only)
    assert _statements(lambda: client.get(nurse, headers=reader))[0] == 1


def test_answers_a_new_listing_matches_are_read_afresh(client, market, api_as, as_role):
    reader, poster = api_as("member"), api_as("other_member")
    offers = LIST + "&kind=offer"
    weekend = LIST + "&q=weekend"
    social = LIST + "&category=social%20worker&status=any"
    before = {url: _titles(client, reader, url) for url in (offers, weekend, social)}
    as_role("member")
    assert "Weekend social worker" not in client.get("/market?q=weekend").get_data(True)
    _post(client, poster)
    for url in (offers, weekend, social):
        assert _titles(client, reader, url) == ["Weekend social worker", *before[url]], url
    assert "Weekend social worker" in client.get("/market?q=weekend").get_data(True)


def test_a_new_listing_that_only_misspells_is_seen(client, market, api_as):
    """A search that found nothing (and fell back to misspellings on PostgreSQL) sees a
    new listing that has its words, or (PostgreSQL) a title like them."""
    reader, poster = api_as("member"), api_as("other_member")
    assert _titles(client, reader, LIST + "&q=phlebotomy") == []
    _post(client, poster, title="Phlebotomy clinic sessions")
    assert _titles(client, reader, LIST + "&q=phlebotomy") == ["Phlebotomy clinic sessions"]


def test_additions_older_than_the_log_are_read_afresh(client, market, api_as, monkeypatch):
    reader, poster = api_as("member"), api_as("other_member")
    monkeypatch.setattr(read_cache, "ADDITIONS_KEPT", 1)
    answer = client.get(LIST + "&q=nurse", headers=reader).get_json()
    _post(client, poster)
    _post(client, poster, title="Weekend social worker again")
    misses = read_cache.stats("market")["misses"]
    assert client.get(LIST + "&q=nurse", headers=reader).get_json() == answer
    assert read_cache.stats("market")["misses"] == misses + 1
