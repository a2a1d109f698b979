"""Matching runs: the snapshot given to the engine, storing the run and its
proposals, background runs, the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

import pytest

from app.core.clock import today
from app.core.errors import Conflict, Forbidden, Invalid
from app.extensions import db
from app.market.models import Currency, Listing, ListingKind, ListingStatus
from app.matching import services as matching
from app.matching.models import MatchingRun, RunStatus
from app.matching.snapshot import build_market_document
from app.proposals import services
from app.proposals.models import Proposal
from tests.proposals.helpers import reload


def _reciprocal(market) -> None:
    """Make A↔B the only exchange: C's listings leave the market."""
    for listing in (market.offers["C"], market.needs["C"]):
        reload(Listing, listing.id).status = ListingStatus.WITHDRAWN
    db.session.commit()


def test_snapshot_lists_what_is_available_now(market, make_listing, make_currency, propose):
    a, b = market.orgs["A"], market.orgs["B"]
    half = make_listing(a, ListingKind.NEED, quantity=8, min_quantity=6, title="half")
    reload(Listing, half.id).reserved = 4
    make_listing(a, ListingKind.OFFER, quantity=3, remaining=3, reserved=3, title="all reserved")
    make_listing(a, ListingKind.OFFER, quantity=3, status=ListingStatus.FULFILLED)
    make_listing(a, ListingKind.OFFER, quantity=3, available_until=today() - timedelta(days=1),
                 available_from=date(2020, 1, 1))
    make_currency("old", active=False)
    make_listing(a, ListingKind.OFFER, currency="old", quantity=3)
    make_listing(b, ListingKind.OFFER, quantity=2, is_gift=True, title="gift")
    db.session.expire_all()
    db.session.get(type(a), a.id).excluded.append(db.session.get(type(b), b.id))
    db.session.commit()

    document = build_market_document(matching.effective_settings())
    listings = {item["id"]: item for item in document["listings"]}
    expected = {str(x.id) for x in [*market.offers.values(), *market.needs.values(), half]}
    assert set(listings) == expected | {next(i for i, x in listings.items()
                                              if x["gift"])}
    assert listings[str(half.id)]["quantity"] == 4
    assert listings[str(half.id)]["min_quantity"] == 4  # what is left, at most
    assert listings[str(market.offers["A"].id)]["min_quantity"] is None
    orgs = {o["id"]: o for o in document["organisations"]}
    assert orgs[str(a.id)]["excludes"] == [str(b.id)]
    assert orgs[str(a.id)]["completion_rate"] == 1.0
    assert document["currencies"] == [{"code": "staff", "value": 100.0}]
    assert document["settings"]["declined"] == []
    assert document["settings"]["max_cycle"] == 3
    json.dumps(document)  # plain JSON


def test_a_run_stores_its_input_verdict_and_proposals(market, runner):
    _reciprocal(market)
    run = matching.start_run(market.coordinator, {"max_cycle": 2})
    db.session.commit()
    run = reload(MatchingRun, run.id)
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.started_by_name == market.coordinator.name
    assert run.settings["max_cycle"] == 2
    assert run.market_input["settings"]["max_cycle"] == 2
    assert run.solver_status in ("optimal", "time_limit", "fallback") and run.optimal is not None
    assert run.stats["proposals"]["created"] == 1
    [proposal] = run.proposals
    assert proposal.kind == "cycle" and len(proposal.legs) == 2
    assert {leg.quantity for leg in proposal.legs} == {10}
    assert proposal.transitions[0].actor_name == market.coordinator.name

    # The same market again: the open exchange is not proposed twice.
    again = matching.start_run(market.coordinator)
    db.session.commit()
    assert again.stats["proposals"] == {"exchanges": 1, "created": 0, "skipped_open": 1,
                                        "skipped_declined": 0}


def test_a_declined_exchange_is_never_proposed_again(market):
    _reciprocal(market)
    run = matching.start_run(market.coordinator)
    db.session.commit()
    proposal_id = reload(MatchingRun, run.id).proposals[0].id
    services.approve(market.coordinator, proposal_id)
    services.decline(market.members["A"], proposal_id, "not now")
    db.session.commit()
    later = matching.start_run(market.coordinator)
    db.session.commit()
    later = reload(MatchingRun, later.id)
    assert later.market_input["settings"]["declined"] == [
        json.loads(reload(Proposal, proposal_id).signature)]
    assert later.proposals == []
    assert later.stats["proposals"]["skipped_declined"] == 0  # the engine itself avoided it


def test_reserved_quantities_are_left_out_of_the_next_run(market):
    _reciprocal(market)
    run = matching.start_run(market.coordinator)
    db.session.commit()
    services.approve(market.coordinator, reload(MatchingRun, run.id).proposals[0].id)
    db.session.commit()
    document = build_market_document(matching.effective_settings())
    assert document["listings"] == []


def test_engine_failure_marks_the_run_failed_without_proposals(market, monkeypatch):
    def broken(document, nice=0):
        raise ValueError("listing '7'.quantity must be a number")

    monkeypatch.setattr(matching, "solve_document", broken)
    run = matching.start_run(market.coordinator)
    db.session.commit()
    run = reload(MatchingRun, run.id)
    assert run.status == RunStatus.FAILED and "quantity" in run.error
    assert db.session.execute(db.select(db.func.count(Proposal.id))).scalar_one() == 0


def test_a_result_that_does_not_fit_fails_the_run_and_stores_nothing(market, monkeypatch):
    from tests.proposals.helpers import result_for

    bad = result_for([(market.offers["A"], market.needs["B"], 5),
                      (market.offers["B"], market.needs["A"], 5)])
    bad["exchanges"].append({**bad["exchanges"][0], "legs": [{"offer": "999", "need": "998",
                                                              "quantity": 1}]})
    monkeypatch.setattr(matching, "solve_document", lambda document, nice=0: bad)
    run = matching.start_run(market.coordinator)
    db.session.commit()
    assert reload(MatchingRun, run.id).status == RunStatus.FAILED
    assert db.session.execute(db.select(db.func.count(Proposal.id))).scalar_one() == 0


def test_only_coordinators_run_and_settings_are_checked(market):
    for who in ("auditor", "admin", "A"):
        with pytest.raises(Forbidden):
            matching.start_run(market.user(who))
    with pytest.raises(Invalid) as caught:
        matching.start_run(market.coordinator, {"max_cycle": 9, "fairness_threshold": 2,
                                                "objective": "random", "time_limit": 0,
                                                "weights": {"luck": 1}})
    assert set(caught.value.errors) == {"max_cycle", "fairness_threshold", "objective",
                                        "time_limit", "weights"}
    assert db.session.execute(db.select(db.func.count(MatchingRun.id))).scalar_one() == 0


def test_large_markets_run_in_the_background(market, app):
    _reciprocal(market)
    app.config["MATCHING_BACKGROUND_THRESHOLD"] = 1
    run = matching.start_run(market.coordinator)
    run_id = run.id
    assert run.status == RunStatus.QUEUED
    with pytest.raises(Conflict):  # one run at a time
        matching.start_run(market.coordinator)
    db.session.commit()  # the thread starts only now
    thread = matching.THREADS[run_id]
    thread.join(60)
    assert not thread.is_alive()
    run = reload(MatchingRun, run_id)
    assert run.status == RunStatus.COMPLETED, run.error
    assert run.started_at is not None and run.finished_at is not None
    assert len(run.proposals) == 1
    assert run.progress.startswith("completed")
    # The thread read the market itself (the request only queued the run).
    assert run.market_input is not None and run.heartbeat_at is not None
    assert run.worker.startswith("thread in process ")


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="nice levels are POSIX")
def test_a_background_run_solves_at_a_lower_priority(market, app, client, login, monkeypatch):
    """MATCHING_NICE lowers the run's thread's priority, and only that thread's; the engine
    solves in a child process at that level, with a session (and on Linux a scheduling
    group) of its own, and its proposals are the same as those of a solve in this thread."""
    _reciprocal(market)
    inline = matching.solve_document(build_market_document(matching.effective_settings()))
    app.config.update(MATCHING_BACKGROUND_THRESHOLD=0, MATCHING_NICE=5)
    ours = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = {}
    real_solve = matching.solve_document

    def solve(document, nice=0):
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen["asked"] = nice
        return real_solve(document, nice)

    monkeypatch.setattr(matching, "solve_document", solve)
    run_id = matching.start_run(market.coordinator).id
    db.session.commit()
    matching.THREADS[run_id].join(60)
    run = reload(MatchingRun, run_id)
    assert run.status == RunStatus.COMPLETED, run.error
    assert seen["nice"] == min(19, ours + 5) and seen["asked"] == 5
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == ours
    # The child reports the levels it reached: its own, and its session group's where the
    # kernel groups by session (it leads a new session, so only it is lowered).
    priority = run.stats["priority"]
    assert priority["nice"] == max(5, min(19, ours + 5))
    grouped = os.path.exists("/proc/self/autogroup")
    assert priority["group_nice"] == (priority["nice"] if grouped else None)
    assert sorted(json.loads(p.signature) for p in run.proposals) == \
        sorted(e["signature"] for e in inline["exchanges"])
    assert (run.optimal, run.objective) == (inline["optimal"], inline["objective"])
    # The run page says so under its technical details.
    login(market.coordinator)
    page = client.get(f"/matching/runs/{run_id}").get_data(as_text=True)
    assert f"lower CPU priority (nice {priority['nice']}" in page


def test_a_document_the_engine_refuses_in_a_child_process_reads_as_in_this_thread():
    from matching_engine import InputError

    refused = {"listings": "many", "organisations": [], "currencies": []}
    with pytest.raises(InputError) as here:
        matching.solve_document(refused)
    with pytest.raises(InputError) as child:
        matching.solve_document(refused, nice=3)
    assert str(child.value) == str(here.value) and "listings" in str(here.value)


def test_a_rolled_back_background_run_never_starts(market, app):
    app.config["MATCHING_BACKGROUND_THRESHOLD"] = 0
    matching.THREADS.clear()
    run_id = matching.start_run(market.coordinator).id
    db.session.rollback()
    assert run_id not in matching.THREADS


def test_cli_runs_the_matcher_and_prints_the_input(market, runner):
    _reciprocal(market)
    result = runner.invoke(args=["match", "run", "--max-cycle", "2", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["status"] == "completed" and len(out["proposals"]) == 1
    run = reload(MatchingRun, out["id"])
    assert run.started_by_name == "command line"
    printed = runner.invoke(args=["match", "input", str(out["id"])])
    assert json.loads(printed.output) == run.market_input
    bad = runner.invoke(args=["match", "run", "--max-cycle", "9"])
    assert bad.exit_code != 0 and "max_cycle" in bad.output


def test_replaying_the_stored_input_gives_the_same_result(market):
    from matching_engine import solve

    _reciprocal(market)
    run = matching.start_run(market.coordinator)
    db.session.commit()
    run = reload(MatchingRun, run.id)
    replay = solve(run.market_input)
    assert [e["signature"] for e in replay["exchanges"]] == [
        json.loads(p.signature) for p in run.proposals]


def test_currency_value_is_copied_when_proposed(market):
    _reciprocal(market)
    run = matching.start_run(market.coordinator)
    db.session.commit()
    db.session.execute(db.update(Currency).values(value_per_unit=999))
    db.session.commit()
    proposal = reload(MatchingRun, run.id).proposals[0]
    assert {leg.unit_value for leg in proposal.legs} == {100}


def test_a_running_run_without_heartbeat_is_failed_and_a_new_one_starts(market, app):
    """Without a job queue too: a run whose thread (or worker) stopped beating for
    MATCHING_HEARTBEAT_TIMEOUT seconds no longer blocks the matcher."""
    from app.core.clock import utcnow

    _reciprocal(market)
    app.config["MATCHING_BACKGROUND_THRESHOLD"] = 0
    run_id = matching.start_run(market.coordinator).id
    db.session.info.pop("matching.pending_background_runs", None)  # its thread never starts
    db.session.commit()
    assert reload(MatchingRun, run_id).market_input is None  # the worker reads the market
    assert matching._claim(run_id, "thread in process 1") is not None
    run = reload(MatchingRun, run_id)
    run.heartbeat_at = utcnow() - timedelta(seconds=30)
    db.session.commit()
    with pytest.raises(Conflict):
        matching.start_run(market.coordinator)
    db.session.rollback()
    reload(MatchingRun, run_id).heartbeat_at = utcnow() - timedelta(seconds=61)
    db.session.commit()
    new = matching.start_run(market.coordinator, background=False)
    db.session.commit()
    assert reload(MatchingRun, new.id).status == RunStatus.COMPLETED
    failed = reload(MatchingRun, run_id)
    assert failed.status == RunStatus.FAILED and failed.finished_at is not None
    assert "no heartbeat since" in failed.error and "thread in process 1" in failed.error


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_a_solver_whose_parent_is_killed_stops_with_it(tmp_path):
    """The child leads a session of its own, so nothing else would stop it: a work horse
    killed outright (a cold worker shutdown) takes its solver down with it."""
    from bench.generators import realistic_market

    document = realistic_market(200, seed=3)
    document["settings"] = {**document.get("settings", {}), "time_limit": 60}
    path = tmp_path / "market.json"
    path.write_text(json.dumps(document))
    parent = subprocess.Popen([sys.executable, "-c", (
        "import json, sys; from app.matching.engine_process import solve_in_child; "
        f"solve_in_child(json.load(open({str(path)!r})), 5)")], cwd=os.getcwd())
    try:
        solver = _wait_for(lambda: _solver_of(parent.pid), 30)
        assert solver is not None, "the solver process never started"
        # Past its launcher (which gives up at once if its parent is already gone): solving.
        assert _wait_for(lambda: _cpu_seconds(solver) > 1.5, 30), "the solver never got going"
        parent.kill()
        parent.wait()
        assert _wait_for(lambda: not os.path.exists(f"/proc/{solver}"), 10), \
            "the solver outlived its parent"
    finally:
        parent.kill()


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _solver_of(parent: int) -> int | None:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                return int(entry)
    return None


def _wait_for(check, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    return None
