"""Browser tests: a real headless Chromium (Playwright for Python driving Debian's
`chromium`) against the app served on a free local port over a seeded demo database.

Without Playwright or a Chromium these tests skip with a message saying so; with the
environment variable CI set they fail instead, so CI can never pass by skipping them
(.ci/run installs Chromium when it is missing).
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.browser.checks import MINOR_FINDINGS, PAGES_AUDITED
from tests.browser.server import LiveServer, seed_template

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

PASSWORDS = {"admin": "northshire-admin-demo", "coordinator": "northshire-coordinator-demo",
             "auditor": "northshire-auditor-demo", "member": "northshire-member-demo"}
EMAILS = {"admin": "admin@northshire.example", "coordinator": "coordinator@northshire.example",
          "auditor": "auditor@northshire.example", "member": "brightwater@northshire.example"}
PHONE, DESKTOP = 390, 1280


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or \
        shutil.which("chromium-browser")


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: the browser tests must run in CI (.ci/run installs Chromium).")
    pytest.skip(f"{reason}: browser tests skipped (install the `chromium` package and "
                "`pip install -r requirements-dev.txt` to run them).")


@pytest.fixture(scope="session")
def browser():
    if sync_playwright is None:
        _unavailable("Playwright for Python is not installed")
    path = chromium_path()
    if not path:
        _unavailable("No Chromium found (looked for `chromium` on PATH and $CHROMIUM_PATH)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path)
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    return seed_template(tmp_path_factory.mktemp("browser-template") / "demo.db")


@pytest.fixture(scope="session")
def live_server(browser, demo_template, tmp_path_factory):
    """One server for the read-only page tests."""
    server = LiveServer(demo_template, tmp_path_factory.mktemp("browser-live")).start()
    yield server
    server.stop()


@pytest.fixture
def fresh_server(browser, demo_template, tmp_path):
    """A server on its own copy of the demo, for a test that changes the market."""
    server = LiveServer(demo_template, tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def open_as(browser):
    """open_as(server, role_or_email, width) → a logged-in page (own cookies), through the
    real login form; role None = anonymous."""
    contexts = []

    def open_page(server, who: str | None, width: int = DESKTOP):
        context = browser.new_context(viewport={"width": width, "height": 900},
                                      base_url=server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # data-confirm questions
        if who is not None:
            email = EMAILS.get(who, who)
            role = who if who in PASSWORDS else "member"
            page.goto("/login")
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", PASSWORDS[role])
            page.locator("main form button[type=submit]").click()
            page.wait_for_url(lambda url: "/login" not in url)
        return page

    yield open_page
    for context in contexts:
        context.close()


def pytest_terminal_summary(terminalreporter):
    if not PAGES_AUDITED:
        return
    terminalreporter.write_sep("-", f"axe-core on {PAGES_AUDITED[0]} page views: findings "
                                    "below 'serious' (not failures)")
    for (impact, rule), count in sorted(MINOR_FINDINGS.items()):
        terminalreporter.write_line(f"{impact:9} {rule}: {count} page view(s)")
    if not MINOR_FINDINGS:
        terminalreporter.write_line("none (moderate 0, minor 0)")
