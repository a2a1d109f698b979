"""Search, filters, cursor pages and query counts of the market's lists.

These run on whichever database the suite uses (SQLite by default, PostgreSQL with
TEST_DATABASE_URL): the expected hits on the demo are the same for both engines (FTS5 and
PostgreSQL's tsvector), which is how the two are compared.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event

from app.demo.seed import seed_demo
from app.extensions import db
from app.market import browse
from app.market.search import parse
from tests.conftest import is_postgres

DEMO_HITS = {
    "nurse": [
        "Clinic room for district-nurse leg-ulcer clinics in Saltbay",
        "District nurse shifts for hospital-at-home",
        "Fire safety training for practice home-visit teams",
        "Mental-health nurse sessions for homelessness outreach",
        "Mental-health nurse two days a week in the homelessness team",
        "Theatre nurses for weekend elective lists"],
    "mental-health nurse": [
        "Mental-health nurse sessions for homelessness outreach",
        "Mental-health nurse two days a week in the homelessness team"],
    '"supported employment"': [
        "Supported employment for people in recovery",
        "Supported employment placements in county services"],
    "digital or apprenticeship": [
        "Apprenticeship places for health and social care students",
        "Digital skills course places (Essential Digital Skills, Microsoft 365)",
        "Digital skills for hospice volunteers",
        "Digital skills for ward and admin staff before the new patient record",
        "Healthcare support worker apprenticeships",
        "Trades apprenticeships (plumbing, electrical)"],
    "homelessness -outreach": [
        "Housing officer support for tenancy sustainment",
        "Housing officer time at our Eastmoor drop-in",
        "Housing options officer surgeries in partner venues",
        "Mental-health nurse two days a week in the homelessness team",
        "Trauma-informed practice for frontline crews",
        "Trauma-informed practice, co-delivered by people with lived experience",
        "Work experience for people leaving homelessness"],
    "accredited": [
        "Digital skills course places (Essential Digital Skills, Microsoft 365)",
        "Digital skills for ward and admin staff before the new patient record",
        "First-line manager course places (ILM level 3)"],
    "coach": ["Supported employment for people in recovery",
              "Supported employment placements in county services"],
    "dig": [
        "Digital skills course places (Essential Digital Skills, Microsoft 365)",
        "Digital skills for hospice volunteers",
        "Digital skills for ward and admin staff before the new patient record"],
    "safeguard": [
        "Safeguarding adults level 3 for social care staff",
        "Safeguarding adults level 3 places",
        "Safeguarding children level 2 (online)",
        "Safeguarding for volunteers (basic)"],
}
DEMO_HITS["Nurses"] = DEMO_HITS["nurse"]  # stemming and case
DEMO_HITS["apprentice"] = DEMO_HITS["digital or apprenticeship"][0:1] + [
    "Healthcare support worker apprenticeships", "Trades apprenticeships (plumbing, electrical)"]


def _titles(text: str, **filters) -> list[str]:
    statement = browse.listings_query(browse.ListingFilters(text=text, status="any", **filters))
    return [item.title for item in db.session.execute(statement).scalars()]


@pytest.fixture
def demo(app):
    seed_demo(date(2026, 3, 2))
    db.session.commit()


@pytest.mark.parametrize("term", sorted(DEMO_HITS))
def test_demo_search_hits_are_the_same_on_both_engines(demo, term):
    assert sorted(_titles(term)) == DEMO_HITS[term]


def test_search_combines_with_filters(demo):
    needs = set(_titles(None, kind="need"))
    found = _titles("nurse", kind="need")
    assert found and sorted(found) == sorted(set(DEMO_HITS["nurse"]) & needs)


def test_title_matches_rank_above_description_matches(app, make_listing):
    make_listing(title="Room booking", description="For the phlebotomy team.")
    make_listing(title="Phlebotomy clinic sessions", description="Weekly.")
    make_listing(title="Unrelated", description="Nothing here.")
    assert _titles("phlebotomy") == ["Phlebotomy clinic sessions", "Room booking"]
    assert _titles("phleb") == ["Phlebotomy clinic sessions", "Room booking"]  # prefix
    # A finished word is not a prefix (PostgreSQL may still find the title as a misspelling).
    assert "Room booking" not in _titles("phleb ")


@pytest.mark.skipif(not is_postgres(), reason="trigram similarity is PostgreSQL's (pg_trgm)")
def test_misspelt_words_find_titles_on_postgresql(app, make_listing):
    make_listing(title="Phlebotomy clinic sessions")
    make_listing(title="Meeting room")
    assert _titles("phlebotmy") == ["Phlebotomy clinic sessions"]


@pytest.mark.skipif(not is_postgres(), reason="trigram similarity is PostgreSQL's (pg_trgm)")
def test_misspellings_are_looked_for_only_when_a_page_is_empty(client, market, make_listing,
                                                               api_headers, as_role):
    """The API and the page find misspelt titles too, and a search whose words match
    asks no extra question for misspellings (it costs a full index scan)."""
    make_listing(title="Phlebotomy clinic sessions")
    make_listing(title="Meeting room")
    headers = api_headers(market["member"])
    as_role("member")
    for q in ("phlebotmy", "phlebotomy"):
        found = client.get(f"/api/v1/listings?q={q}", headers=headers).get_json()["items"]
        assert [item["title"] for item in found] == ["Phlebotomy clinic sessions"]
        assert "Phlebotomy clinic sessions" in client.get(f"/market?q={q}").get_data(True)

    def statements(url, **kwargs):
        def go():
            assert client.get(url, **kwargs).status_code == 200
        return _count_statements(go)

    # Different words each time so that no answer comes from the read cache.
    matching = statements("/api/v1/listings?q=meeting", headers=headers)
    misspelt = statements("/api/v1/listings?q=meetng", headers=headers)
    # The question, then the page for misspelt words with its planner estimate.
    assert misspelt == matching + 3
    # The page reads its user and the market's version once per transaction: warm up.
    assert client.get("/market?q=warm").status_code == 200
    assert statements("/market?q=clinic") + 3 == statements("/market?q=clinc")


def test_parse_keeps_only_words():
    assert parse("&|!:*()") is None and parse('""') is None and parse("🙂") is None
    query = parse('nurse "night shift" or days -agency car')
    assert [[(t.words, t.negated, t.prefix) for t in c] for c in query.clauses] == [
        [(("nurse",), False, False)], [(("night", "shift"), False, False),
                                       (("days",), False, False)],
        [(("agency",), True, False)], [(("car",), False, True)]]


BAD_INPUTS = ["&", "|", "!", ":", "*", "(", ")", "&|!:*()", "nurse & | ! :* ()", '"unclosed',
              '""', "'", "''; DROP TABLE listings; --", "1' OR '1'='1", "\\", "%_%",
              "🙂 nurse 🙂", "🙂", "-", "--", "- -nurse", "or", "or or", "nurse or",
              "a:*", "!!nurse", "<->", "nurse <-> day", "x" * 200, "ñandú Größe",
              "NEAR(a b)", "title:nurse", "^nurse", "{nurse}", "nurse*", "\t\n"]


@pytest.mark.parametrize("q", BAD_INPUTS)
def test_odd_search_text_gets_results_not_errors(client, market, as_role, api_headers, q):
    headers = api_headers(market["member"])
    response = client.get("/api/v1/listings", query_string={"q": q}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert isinstance(response.get_json()["items"], list)
    as_role("member")
    assert client.get("/market", query_string={"q": q}).status_code == 200


@pytest.mark.parametrize(("q", "status"), [("x" * 10_000, 422), ("nurse\x00", 400),
                                           ("\x00", 400)])
def test_long_or_nul_search_text_is_refused_or_ignored(client, market, api_headers, q,
                                                       status):
    headers = api_headers(market["member"])
    response = client.get("/api/v1/listings", query_string={"q": q}, headers=headers)
    assert response.status_code == status, response.get_json()
    assert "q" in response.get_json()["errors"]


def test_long_search_text_on_the_page_is_ignored_with_a_message(client, market, as_role):
    as_role("member")
    response = client.get("/market", query_string={"q": "x" * 10_000})
    assert response.status_code == 200
    assert "Not applied: Search (Longer than maximum length 200)." in \
        response.get_data(as_text=True)


# --- cursor pages --------------------------------------------------------------------------

def _walk(client, headers, url):
    seen, pages = [], []
    while url:
        body = client.get(url, headers=headers).get_json()
        pages.append(body)
        seen += [item["id"] for item in body["items"]]
        url = body["links"]["next"]
    return seen, pages


@pytest.mark.parametrize("q", [None, "bulk"])
def test_cursor_pages_walk_every_row_once_both_ways(client, market, make_listing, api_headers,
                                                    q):
    for n in range(23):
        make_listing(market["own_org"], title=f"Bulk offer {n:02d}")
    headers = api_headers(market["member"])
    first = "/api/v1/listings?per_page=5&status=any" + (f"&q={q}" if q else "")
    seen, pages = _walk(client, headers, first)
    expected = 23 if q else 26
    assert len(seen) == len(set(seen)) == expected
    assert pages[0]["total"] == expected and pages[0]["total_exact"] is True
    assert pages[0]["links"]["prev"] is None and pages[-1]["links"]["next"] is None
    # Back from the last page by `prev` gives the same pages in reverse.
    back, url = [], pages[-1]["links"]["prev"]
    while url:
        body = client.get(url, headers=headers).get_json()
        back = [item["id"] for item in body["items"]] + back
        url = body["links"]["prev"]
    assert back == seen[:len(back)] and len(back) == expected - len(pages[-1]["items"])


@pytest.mark.parametrize("cursor", ["x", "eyJrIjpbXX0", "e30", "!!!", "eyJrIjpbMSwyXSwiZCI6Im4ifQ",
                                    "eyJrIjpbeyJ0IjoibGF0ZXIifSwxXSwiZCI6Im4ifQ",
                                    "eyJrIjpbMSwxXSwiZCI6Im4ifQ"])
def test_a_cursor_not_given_out_is_refused(client, market, api_headers, cursor):
    response = client.get("/api/v1/listings", query_string={"cursor": cursor},
                          headers=api_headers(market["member"]))
    assert response.status_code == 422
    assert "cursor" in response.get_json()["errors"]


# --- no per-row queries --------------------------------------------------------------------

def _count_statements(fn) -> int:
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return len(statements)


LIST_URLS = ["/api/v1/listings?per_page={n}", "/api/v1/listings?per_page={n}&q=bulk",
             "/api/v1/organisations?per_page={n}", "/market?per_page={n}",
             "/market?per_page={n}&q=bulk", "/organisations?per_page={n}"]


@pytest.mark.parametrize("url", LIST_URLS)
def test_list_queries_do_not_grow_with_the_page_size(client, market, make_org, make_listing,
                                                     api_headers, as_role, url, monkeypatch):
    from app.core import paging

    # The planner's estimate is kept per process and asked for again when its entry
    # expires or the process's entries are cleared: a constant keeps it out of the count.
    monkeypatch.setattr(paging, "_planner_estimate", lambda statement: 0)
    for n in range(50):  # every listing its own organisation: lazy loads would show
        make_listing(make_org(), title=f"Bulk offer {n:02d}")
    headers = api_headers(market["member"])
    as_role("member")

    def fetch(n):
        def go():
            response = client.get(url.format(n=n), headers=headers)
            assert response.status_code == 200
        return go

    # Warm-up (another page size: cached market reads would answer 5 from memory), twice:
    # the token's first use is written, so the second reads it again and keeps it.
    fetch(6)()
    fetch(6)()
    small, large = _count_statements(fetch(5)), _count_statements(fetch(50))
    assert large == small, (small, large)


@pytest.mark.skipif(not is_postgres(), reason="the planner's estimate is PostgreSQL's")
def test_estimated_totals_are_kept_per_query_and_parameters(client, market, make_listing,
                                                           api_headers, monkeypatch):
    """Above the exact-count limit the total is the planner's estimate, remembered per
    statement shape *and* parameter values: two filters of the same shape must not
    share one remembered estimate."""
    from app.core import paging

    for n in range(6):
        make_listing(market["own_org"], title=f"Estimated offer {n}")
        make_listing(market["own_org"], kind="need", title=f"Estimated need {n}")
    monkeypatch.setattr(paging, "EXACT_COUNT_LIMIT", 2)
    monkeypatch.setattr(paging, "_ESTIMATES", {})
    headers = api_headers(market["member"])
    # Two per page: a first page holding every match would be counted exactly.
    for path in ("/api/v1/listings?kind=offer&per_page=2",
                 "/api/v1/listings?kind=need&per_page=2",
                 "/api/v1/listings?kind=offer&per_page=2"):
        body = client.get(path, headers=headers).get_json()
        assert body["total_exact"] is False and body["pages"] is None
        assert body["total"] >= 3
    assert len(paging._ESTIMATES) == 2


@pytest.mark.skipif(not is_postgres(), reason="the planner's estimate is PostgreSQL's")
@pytest.mark.parametrize("path", ["/api/v1/listings?kind=offer&per_page=2",
                                  "/api/v1/listings?q=counted&per_page=2"])
def test_a_large_estimate_skips_the_count(client, market, make_listing, api_headers,
                                          monkeypatch, path):
    """Where the planner expects more rows than the exact-count bound, no row is counted:
    the total is the estimate. A first page that holds every match is exact anyway."""
    from app.core import paging
    from tests.statements import recorded

    for n in range(3):
        make_listing(market["own_org"], title=f"Counted offer {n}")
    headers = api_headers(market["member"])
    client.get("/api/v1/listings?per_page=7", headers=headers)  # the token's first use
    monkeypatch.setattr(paging, "_planner_estimate", lambda statement: 50_000)
    seen, response = recorded(lambda: client.get(path, headers=headers))
    body = response.get_json()
    assert (body["total"], body["total_exact"], body["pages"]) == (50_000, False, None)
    assert len(body["items"]) == 2 and body["links"]["next"]
    assert not [s for s in seen if "count(" in s.lower()], seen
    whole = client.get(path.replace("per_page=2", "per_page=50"), headers=headers).get_json()
    assert whole["total_exact"] is True and whole["total"] == len(whole["items"]) >= 3


@pytest.mark.skipif(not is_postgres(), reason="a PostgreSQL planner setting")
def test_postgres_connections_plan_for_cached_data(app):
    """Every pooled connection gets random_page_cost 1.1 (app.extensions), so a search
    matching thousands of listings uses the full-text index instead of a full scan."""
    from sqlalchemy import text

    assert db.session.execute(text("SHOW random_page_cost")).scalar() == "1.1"
