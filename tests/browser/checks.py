"""What every page must pass in the browser tests: no sideways scrolling of the page, and
no axe-core violation of impact serious or critical (lesser ones are counted)."""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

BLOCKING = ("serious", "critical")
# axe findings below "serious", counted per (impact, rule) over the whole run and printed
# at the end of the test session (tests/browser/conftest.py).
MINOR_FINDINGS: Counter = Counter()
PAGES_AUDITED = [0]  # how many page views axe audited (one cell: shared by reference)
_AXE = []


def _axe():
    if not _AXE:  # imported here: without Playwright the tests skip (or fail in CI) cleanly
        from axe_playwright_python.sync_playwright import Axe

        _AXE.append(Axe())
    return _AXE[0]


def overflow(page) -> int:
    """How many pixels the page is wider than the window (0 = no horizontal scroll)."""
    return page.evaluate(
        "Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


def page_problems(page, label: str) -> list[str]:
    """Overflow and serious/critical axe violations of the page as it is now, one line
    each; a screenshot goes to $SCREENSHOTS_DIR when that is set."""
    page.wait_for_load_state("load")  # a click returns once the next page starts to arrive
    problems = []
    wide = overflow(page)
    if wide:
        problems.append(f"{label}: the page scrolls sideways by {wide} px")
    result = _axe().run(page)
    PAGES_AUDITED[0] += 1
    for violation in result.response["violations"]:
        impact = violation.get("impact") or "minor"
        if impact in BLOCKING:
            targets = [node["target"] for node in violation["nodes"]][:3]
            problems.append(f"{label}: axe {impact} {violation['id']} "
                            f"({violation['help']}) at {targets}")
        else:
            MINOR_FINDINGS[(impact, violation["id"])] += 1
    shots = os.environ.get("SCREENSHOTS_DIR")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
        page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)
    return problems
