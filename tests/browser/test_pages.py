"""Every main page of every role, at phone (390 px) and desktop (1,280 px) width: no page
scrolls sideways, and axe-core finds nothing serious or critical. Then the interface's
own parts: the menu button, the skip link, visible keyboard focus, the favicon."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.market.models import Organisation
from app.proposals.models import ProposalParticipant as Participant
from tests.browser.checks import page_problems
from tests.browser.conftest import DESKTOP, PHONE

PAGES = {
    None: ["/", "/login", "/password/forgot", "/help/glossary", "/start"],
    "member": ["/", "/market", "/market/listings/1", "/market/my-organisation",
               "/proposals/inbox", "{member_proposal}", "/organisations",
               "/organisations/brightwater", "/trust/", "/notifications", "/account",
               "/help/glossary"],
    "coordinator": ["/", "/market", "/proposals/review", "/matching/runs",
                    "/matching/runs/new", "/proposals/1", "/trust/network",
                    "/trust/organisations/1", "/ledger/", "/organisations",
                    "/market/currencies"],
    "auditor": ["/", "/ledger/", "/ledger/verify", "/ledger/entries/1", "/ledger/audit",
                "/ledger/exchanges/1", "/proposals/", "/trust/network", "/matching/runs"],
    "admin": ["/", "/admin/", "/admin/users", "/admin/users/1", "/market/settings",
              "/market/currencies", "/ledger/admin-actions", "/organisations"],
}


def _member_proposal(server) -> str:
    """A past exchange of the member's organisation (Brightwater Homes) in the demo."""
    with server.app.app_context():
        proposal_id = db.session.execute(
            select(Participant.proposal_id).join(Organisation)
            .where(Organisation.slug == "brightwater").limit(1)).scalar_one()
        db.session.remove()
    return f"/proposals/{proposal_id}"


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
@pytest.mark.parametrize("role", list(PAGES), ids=lambda role: role or "anonymous")
def test_every_main_page_fits_the_screen_and_passes_axe(live_server, open_as, role, width):
    page = open_as(live_server, role, width)
    problems = []
    for path in PAGES[role]:
        path = path.format(member_proposal=_member_proposal(live_server)) if "{" in path \
            else path
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        problems += page_problems(page, f"{role or 'anonymous'} {path} at {width}px")
    assert problems == []


def test_the_menu_button_opens_and_closes_the_navigation_on_a_phone(live_server, open_as):
    page = open_as(live_server, "coordinator", PHONE)
    toggle = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    assert toggle.is_visible() and not nav.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    assert nav.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    assert nav.get_by_role("link", name="Ledger").is_visible()
    toggle.click()
    assert not nav.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    toggle.click()
    page.keyboard.press("Escape")  # Escape closes it and gives focus back to the button
    assert not nav.is_visible()
    assert page.evaluate("document.activeElement.className") == "menu-toggle"
    # On a wide screen the navigation is always there and the button is not.
    page.set_viewport_size({"width": DESKTOP, "height": 900})
    assert nav.is_visible() and not toggle.is_visible()


def test_without_javascript_the_phone_menu_stays_open(browser, live_server):
    context = browser.new_context(viewport={"width": PHONE, "height": 900},
                                  java_script_enabled=False, base_url=live_server.url)
    try:
        page = context.new_page()
        page.goto("/")
        assert page.get_by_role("navigation", name="Main").is_visible()
        assert not page.get_by_role("button", name="Menu").is_visible()
        assert page.get_by_role("link", name="Help").is_visible()
    finally:
        context.close()


def test_the_skip_link_is_first_and_moves_focus_to_the_main_content(live_server, open_as):
    page = open_as(live_server, "member", DESKTOP)
    page.goto("/market")
    skip = page.get_by_role("link", name="Skip to main content")
    assert not skip.is_visible() or skip.bounding_box()["y"] < 0  # off screen until focused
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    box = skip.bounding_box()
    assert box["y"] >= 0 and box["height"] > 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is inside the main content, not the menu
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


def _focus_style(page) -> dict:
    return page.evaluate("""() => {
        const s = getComputedStyle(document.activeElement);
        return {outline: s.outlineStyle + ' ' + s.outlineWidth, shadow: s.boxShadow,
                background: s.backgroundColor};
    }""")


def test_keyboard_focus_is_clearly_visible(live_server, open_as):
    page = open_as(live_server, "coordinator", DESKTOP)
    page.goto("/")
    # A link: the yellow highlight; a button: a 3 px ring.
    link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Market")
    before = link.evaluate("el => getComputedStyle(el).backgroundColor")
    link.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # keyboard focus, so :focus-visible applies
    focused = _focus_style(page)
    assert focused["background"] != before and focused["background"] == "rgb(255, 221, 0)"
    page.goto("/matching/runs/new")
    button = page.locator("main form button[type=submit]")
    button.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    style = _focus_style(page)
    assert style["outline"] == "solid 3px" and style["shadow"] != "none"


def test_pages_link_a_favicon_served_as_svg(live_server, open_as):
    page = open_as(live_server, None, DESKTOP)
    page.goto("/")
    href = page.locator("link[rel=icon]").get_attribute("href")
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"].startswith("image/svg+xml")
    assert response.text().lstrip().startswith("<svg")
