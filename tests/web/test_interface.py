"""The interface's server side (issue 13): the run status polled instead of a
self-refreshing page, the glossary, the guided demo visit, the favicon, fairness in words.
What the browser does with them is tested in tests/browser."""

from __future__ import annotations

import pytest

from app.auth.models import Role
from app.extensions import db
from app.matching.models import MatchingRun
from app.web.templating import fairness_words


def _run(**fields) -> MatchingRun:
    run = MatchingRun(settings={}, **fields)
    db.session.add(run)
    db.session.commit()
    return run


def test_a_run_in_progress_is_polled_not_refreshed(app, make_user, login):
    client = login(make_user(Role.COORDINATOR), app.test_client())
    run = _run(status="running", progress="solving (12 open listings)")
    page = client.get(f"/matching/runs/{run.id}").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in page
    assert 'aria-live="polite"' in page and f"/matching/runs/{run.id}/status.json" in page
    assert "Working: solving (12 open listings)." in page
    status = client.get(f"/matching/runs/{run.id}/status.json")
    assert status.status_code == 200 and status.is_json
    assert status.get_json() == {"id": run.id, "status": "running", "in_progress": True,
                                 "progress": "solving (12 open listings)",
                                 "message": "Working: solving (12 open listings)."}
    run.status, run.stats = "completed", {"proposals": {"created": 4}}
    db.session.commit()
    done = client.get(f"/matching/runs/{run.id}/status.json").get_json()
    assert done["in_progress"] is False and done["message"].startswith("Finished: 4 new")
    finished = client.get(f"/matching/runs/{run.id}").get_data(as_text=True)
    assert "data-run-status-url" not in finished  # nothing left to poll


def test_the_run_status_follows_the_run_pages_permissions(app, make_user, login):
    run = _run(status="queued")
    anonymous = app.test_client().get(f"/matching/runs/{run.id}/status.json")
    assert anonymous.status_code in (302, 401)
    member = login(make_user(Role.MEMBER), app.test_client())
    assert member.get(f"/matching/runs/{run.id}/status.json").status_code == 403
    auditor = login(make_user(Role.AUDITOR), app.test_client())
    assert auditor.get(f"/matching/runs/{run.id}/status.json").get_json()["in_progress"]
    assert auditor.get("/matching/runs/999999/status.json").status_code == 404


def test_solver_figures_sit_under_technical_details(app, make_user, login):
    client = login(make_user(Role.AUDITOR), app.test_client())
    run = _run(status="completed", optimal=True, objective=15, bound=15,
               solver_status="optimal", stats={"peak_memory_mb": 88.5})
    page = client.get(f"/matching/runs/{run.id}").get_data(as_text=True)
    technical = page.index('data-testid="technical-details"')
    assert page.index("Proven optimal") < technical
    for jargon in ("objective 15", "bound 15", "Peak memory"):
        assert page.index(jargon) > technical


def test_the_glossary_explains_the_words_to_everyone(client):
    page = client.get("/help/glossary").get_data(as_text=True)
    for word in ("Offer", "Need", "Currency", "Exchange", "Reciprocal exchange", "Three-way",
                 "Gift chain", "Coordinator", "matching round", "Fairness", "Completion rate",
                 "Ledger", "Hash chain"):
        assert word in page, word
    assert 'href="/help/glossary"' in client.get("/").get_data(as_text=True)


def test_the_guided_visit_exists_only_in_demo_mode(app, client):
    app.config["DEMO_MODE"] = False
    assert client.get("/start").status_code == 404
    assert 'href="/start"' not in client.get("/help/glossary").get_data(as_text=True)
    app.config["DEMO_MODE"] = True
    page = client.get("/start").get_data(as_text=True)
    for step in ("Run a matching round", "Approve an exchange", "Each organisation accepts",
                 "The receivers confirm", "See the ledger and trust"):
        assert step in page
    for login in ("coordinator@northshire.example", "fellside-mh@northshire.example",
                  "nsh-county@northshire.example", "auditor@northshire.example"):
        assert login in page
    assert 'href="/start"' in client.get("/").get_data(as_text=True)


def test_every_page_links_an_svg_favicon(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.get_data(as_text=True).startswith("<svg")


def test_layout_landmarks_skip_link_and_menu_button(client):
    page = client.get("/login").get_data(as_text=True)
    assert page.index('class="skip-link" href="#main"') < page.index("<header")
    assert page.count("<main") == 1 and '<main id="main"' in page
    assert '<nav aria-label="Main">' in page and "<nav>" not in page
    assert 'aria-controls="site-menu"' in page and 'id="site-menu"' in page


@pytest.mark.parametrize(("value", "words"), [
    (1.0, "each side gives and gets about the same value"),
    (0.92, "each side gives and gets about the same value"),
    (0.8, "each side gives and gets a similar value"),
    (0.55, "the smaller side is worth 55 % of the larger"),
    (None, "exempt"),
])
def test_fairness_in_words(value, words):
    assert words in fairness_words(value)
    assert fairness_words(value, short=True) in ("about even", "fairly even", "uneven",
                                                 "exempt")
