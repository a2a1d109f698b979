"""The demo's story in a real browser: a coordinator runs the matcher (the run page follows
it without refreshing itself), approves an exchange, each organisation accepts and confirms
what it received on a phone, and the auditor finds the exchange in the ledger. Every page
on the way fits the screen and passes axe (nothing serious or critical)."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from app.matching import services as matching_services
from tests.browser.checks import page_problems
from tests.browser.conftest import DESKTOP, PHONE

RUN_TIMEOUT = 60_000  # ms: the demo solves in about a second; a slow machine gets leeway


def _start_run(page) -> str:
    page.goto("/matching/runs/new")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/matching/runs/\d+$"))
    return page.url


def test_the_run_page_follows_a_run_without_refreshing_itself(fresh_server, open_as,
                                                               monkeypatch):
    # A slow solver (the real one, two seconds late), so the page is seen mid-run.
    solve = matching_services.solve_document

    def slow_solve(document, nice=0):
        time.sleep(2)
        return solve(document, nice)

    monkeypatch.setattr(matching_services, "solve_document", slow_solve)
    page = open_as(fresh_server, "coordinator", PHONE)
    _start_run(page)
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    live = page.get_by_test_id("run-progress")
    assert live.get_attribute("aria-live") == "polite" and live.get_attribute("role") == "status"
    assert page.get_by_test_id("run-status").inner_text() in ("queued", "running")
    assert live.inner_text().startswith(("Waiting", "Working"))
    problems = page_problems(page, "coordinator run in progress at 390px")
    # The page polls the run's status, says the end in its live region, then reloads
    # itself once to show the result.
    expect(live).to_have_text(re.compile(r"^Finished: 6 new proposal"), timeout=RUN_TIMEOUT)
    expect(page.get_by_test_id("run-status")).to_have_text("completed")
    expect(page.get_by_test_id("run-verdict")).to_contain_text("Proven optimal")
    assert page.locator("meta[http-equiv=refresh]").count() == 0
    assert page.locator("table.proposals tbody tr").count() == 6  # the demo's six exchanges
    problems += page_problems(page, "coordinator run finished at 390px")
    assert problems == []


def test_the_whole_demo_loop_in_the_browser(fresh_server, open_as):
    problems = []
    staff = open_as(fresh_server, "coordinator", DESKTOP)
    _start_run(staff)
    expect(staff.get_by_test_id("run-status")).to_have_text("completed", timeout=RUN_TIMEOUT)

    # The coordinator approves the reciprocal exchange of the mental-health trust and the
    # county council (the guided visit's example).
    staff.goto("/proposals/review")
    problems += page_problems(staff, "coordinator review after the run")
    row = staff.locator("table.proposals tbody tr").filter(
        has_text="Fellside Mental Health").filter(has_text="County Council").first
    row.get_by_role("link").first.click()
    proposal_url = staff.url
    proposal_id = int(re.search(r"/proposals/(\d+)$", proposal_url).group(1))
    staff.get_by_role("button", name="Approve").click()
    expect(staff.get_by_test_id("status")).to_have_text("approved")
    problems += page_problems(staff, "coordinator approved proposal")

    members = {email: open_as(fresh_server, email, PHONE)
               for email in ("fellside-mh@northshire.example", "nsh-county@northshire.example")}
    for email, page in members.items():
        page.goto("/proposals/inbox")
        problems += page_problems(page, f"{email} inbox at 390px")
        page.get_by_test_id("waiting").get_by_role("link", name=f"#{proposal_id}").click()
        problems += page_problems(page, f"{email} proposal to accept at 390px")
        # The page says what the organisation commits to; accepting needs the box ticked.
        expect(page.get_by_test_id("accept-summary")).to_be_visible()
        page.locator("#accept-understood").check()
        page.get_by_role("button", name="Accept", exact=True).click()
        expect(page.get_by_test_id("participants")).to_contain_text("accepted")
    members_pages = list(members.values())
    expect(members_pages[-1].get_by_test_id("status")).to_have_text("agreed")

    for email, page in members.items():
        page.goto(proposal_url)
        confirm = page.get_by_role("button", name="Confirm receipt")
        expect(confirm).to_have_count(1)  # exactly the leg this organisation receives
        confirm.click()
        problems += page_problems(page, f"{email} after confirming at 390px")
    expect(members_pages[-1].get_by_test_id("status")).to_have_text("completed")

    auditor = open_as(fresh_server, "auditor", DESKTOP)
    auditor.goto(f"/ledger/?proposal={proposal_id}")
    entries = auditor.locator("table.ledger-entries tbody tr")
    expect(entries).to_have_count(2)  # one entry per leg
    expect(entries.first).to_contain_text("Fellside")
    problems += page_problems(auditor, "auditor ledger of the new exchange")
    auditor.goto("/ledger/verify")
    expect(auditor.get_by_test_id("verify-result")).to_contain_text("The chain is intact")
    auditor.goto("/trust/network")
    problems += page_problems(auditor, "auditor trust network after the loop")
    assert problems == []
