"""Exchanges over time: the monthly figures, who may see them, the SVG drawing and
the pages that show it (plus the Trust and ledger-timeline links)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date, datetime
from decimal import Decimal

import pytest

from app.core.clock import frozen_clock
from app.core.errors import Forbidden, NotFound
from app.reporting import over_time as trust
from app.reporting.drawing import nice_scale, over_time_svg
from app.reporting.over_time import MonthFigures, month_starts

SVG = "{http://www.w3.org/2000/svg}"
UNTIL = date(2026, 3, 15)


def parse(svg) -> ET.Element:
    root = ET.fromstring(str(svg))  # well-formed XML or this raises
    assert root.tag == f"{SVG}svg"
    return root


def with_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if cls in (e.get("class") or "").split()]


@pytest.fixture
def history(users, make_org, make_exchange):
    """Own Org: two exchanges in January 2026 (one with Other Org), one in March 2026
    and one in February 2025, outside a 12-month window ending in March 2026; a
    third organisation's exchange with Other Org in March."""
    third = make_org("Third Org")
    for moment, orgs, quantity in (
        (datetime(2025, 2, 10, 12), [users["own_org"], users["other_org"]], 1),
        (datetime(2026, 1, 5, 9), [users["own_org"], users["other_org"]], 2),
        (datetime(2026, 1, 28, 16), [users["own_org"], third], 3),
        (datetime(2026, 3, 1, 0), [users["other_org"], users["own_org"]], 4),
        (datetime(2026, 3, 31, 23, 59), [users["other_org"], third], 5),
    ):
        with frozen_clock(moment):
            make_exchange(orgs, quantity=quantity, actor=users["member"])
    return {**users, "third": third}


def test_month_starts():
    assert month_starts(3, date(2026, 1, 31)) == [date(2025, 11, 1), date(2025, 12, 1),
                                                  date(2026, 1, 1)]
    months = month_starts(12, UNTIL)
    assert len(months) == 12 and months[0] == date(2025, 4, 1) and months[-1] == date(2026, 3, 1)


def test_figures_for_the_market_and_for_one_organisation(history):
    months = trust.exchanges_by_month(until=UNTIL)
    assert [m.month for m in months] == month_starts(12, UNTIL)
    by_month = {m.month: m for m in months}
    # Legs are worth quantity × 100 each; a two-organisation exchange has two legs.
    assert (by_month[date(2026, 1, 1)].exchanges, by_month[date(2026, 1, 1)].value) == (
        2, Decimal("1000.00"))
    assert (by_month[date(2026, 3, 1)].exchanges, by_month[date(2026, 3, 1)].value) == (
        2, Decimal("1800.00"))
    assert sum(m.exchanges for m in months) == 4  # February 2025 is outside the window
    own = {m.month: m for m in trust.exchanges_by_month(history["own_org"].id, until=UNTIL)}
    assert (own[date(2026, 1, 1)].exchanges, own[date(2026, 1, 1)].given,
            own[date(2026, 1, 1)].received) == (2, Decimal("500.00"), Decimal("500.00"))
    assert own[date(2026, 3, 1)].exchanges == 1 and own[date(2026, 3, 1)].given == Decimal(
        "400.00")
    assert own[date(2026, 2, 1)].exchanges == 0 and own[date(2026, 2, 1)].value == 0
    longer = trust.exchanges_by_month(history["own_org"].id, months=14, until=UNTIL)
    assert longer[0].month == date(2025, 2, 1) and longer[0].exchanges == 1


def test_who_may_see_exchanges_over_time(history):
    member, other = history["member"], history["other_member"]
    own_id = history["own_org"].id
    assert len(trust.exchanges_over_time_view(member, own_id, until=UNTIL)) == 12
    for role in ("auditor", "coordinator", "admin"):
        assert trust.exchanges_over_time_view(history[role], until=UNTIL)
        assert trust.exchanges_over_time_view(history[role], own_id, until=UNTIL)
    with pytest.raises(Forbidden):
        trust.exchanges_over_time_view(other, own_id)
    with pytest.raises(Forbidden):
        trust.exchanges_over_time_view(member)  # the whole market is for the readers
    with pytest.raises(NotFound):
        trust.exchanges_over_time_view(history["auditor"], 999_999)


def _months(values: dict[int, tuple[int, int, int]]) -> list[MonthFigures]:
    """Twelve months to March 2026; `values` maps a month index to (n, given, received)."""
    months = []
    for i, start in enumerate(month_starts(12, UNTIL)):
        n, given, received = values.get(i, (0, 0, 0))
        months.append(MonthFigures(start, n, Decimal(given + received), Decimal(given),
                                   Decimal(received)))
    return months


def test_drawing_for_the_market():
    root = parse(over_time_svg(_months({0: (1, 300, 300), 5: (2, 900, 1000), 11: (3, 50, 0)})))
    assert len(with_class(root, "text", "month")) == 12
    bars = with_class(root, "rect", "bar")
    assert [b.get("data-month") for b in bars] == ["2025-04", "2025-09", "2026-03"]
    assert [t.text for t in with_class(root, "text", "count")] == ["1", "2", "3"]
    tallest = max(bars, key=lambda b: float(b.get("height")))
    assert tallest.get("data-month") == "2025-09"
    # Bars stand on the axis and stay inside the picture.
    assert len({round(float(b.get("y")) + float(b.get("height")), 1) for b in bars}) == 1
    assert all(float(b.get("y")) >= 0 for b in bars)
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "value (market credits)" in texts and "month completed (UTC)" in texts
    assert "2,000" in texts and "Apr" in texts and "2025" in texts and "2026" in texts
    assert "6 exchanges completed" in root.get("aria-label")


def test_drawing_for_an_organisation_escapes_its_name():
    name = 'Evil <script>alert("x")</script> & Co'
    svg = str(over_time_svg(_months({2: (1, 400, 0), 3: (2, 200, 600)}), organisation=name))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    root = parse(svg)
    assert name in root.get("aria-label") and name in root.find(f"{SVG}title").text
    given = with_class(root, "rect", "bar-given")
    received = with_class(root, "rect", "bar-received")
    assert [b.get("data-month") for b in given] == ["2025-06", "2025-07"]
    assert [b.get("data-month") for b in received] == ["2025-07"]  # nothing to draw in June
    assert all(name in b.find(f"{SVG}title").text for b in given + received)


def test_drawing_with_no_exchanges():
    root = parse(over_time_svg(_months({})))
    assert not with_class(root, "rect", "bar") and not with_class(root, "text", "count")
    assert len(with_class(root, "text", "month")) == 12
    assert "No exchanges completed" in " ".join(t.text or "" for t in root.iter(f"{SVG}text"))


def test_nice_scale():
    assert nice_scale(0) == (1000.0, 250.0)
    assert nice_scale(12_100) == (15_000, 5_000)
    assert nice_scale(2_500) == (3_000, 1_000)
    for highest in (1, 7, 99, 101, 3_333, 987_654):
        top, step = nice_scale(highest)
        assert top >= highest and top / step <= 5


def test_pages_show_exchanges_over_time(history, client, login):
    login(history["auditor"])
    workspace = client.get("/ledger/").get_data(as_text=True)
    assert 'data-testid="exchanges-over-time"' in workspace and 'class="over-time"' in workspace
    page = client.get(f"/trust/organisations/{history['third'].id}").get_data(as_text=True)
    assert 'data-testid="exchanges-over-time"' in page and "Third Org" in page

    login(history["member"])
    own = client.get(f"/trust/organisations/{history['own_org'].id}").get_data(as_text=True)
    assert 'data-testid="exchanges-over-time"' in own and "bar-given" in own
    # Another organisation's page shows its public reputation only: no picture of its trades.
    other = client.get(f"/trust/organisations/{history['other_org'].id}")
    assert other.status_code == 200
    assert 'data-testid="exchanges-over-time"' not in other.get_data(as_text=True)
    assert client.get("/ledger/").status_code == 403


def test_trust_link_for_members_and_timeline_link_for_readers(history, client, login,
                                                              make_exchange):
    proposal = make_exchange([history["own_org"], history["other_org"]])
    login(history["member"])
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert '<a href="/trust/"' in page  # the member's Trust link in the navigation
    assert 'data-testid="ledger-timeline-link"' not in page  # timelines are for readers
    assert client.get("/trust/").headers["Location"].endswith(
        f"/trust/organisations/{history['own_org'].id}")
    for role in ("auditor", "coordinator", "admin"):
        login(history[role])
        page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
        assert f'href="/ledger/exchanges/{proposal.id}"' in page, role
        assert 'href="/trust/"' not in page  # readers have the network link instead
        assert client.get(f"/ledger/exchanges/{proposal.id}").status_code == 200
