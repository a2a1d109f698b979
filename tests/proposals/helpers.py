"""Fixtures and helpers for the proposal lifecycle tests (imported by
tests/proposals/conftest.py and tests/api/test_proposals*.py).

Fixtures (registered under the names `market`, `propose`, `cycle`):
`market`: organisations A, B, C (participants) and D (not), a member of each,
a coordinator, an auditor and an admin, the currency "staff" (100 credits per
staff-day), and for each of A, B, C an offer and a need of 10 staff-days.
`propose(legs, kind)`: stores a proposal from a hand-built engine result in the
interface's format, as a matching run would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from app.auth.models import Role, User
from app.extensions import db
from app.market.models import Listing, ListingKind, Organisation
from app.proposals.models import Proposal
from app.proposals.services import create_proposals


@dataclass
class Market:
    orgs: dict[str, Organisation]
    members: dict[str, User]
    offers: dict[str, Listing]
    needs: dict[str, Listing]
    coordinator: User
    auditor: User
    admin: User
    extra: dict = field(default_factory=dict)

    def user(self, who: str) -> User | None:
        """'anonymous', 'A'..'D' (members), 'coordinator', 'auditor', 'admin'."""
        if who == "anonymous":
            return None
        if who in self.members:
            return self.members[who]
        return getattr(self, who)


def result_for(legs: list[tuple[Listing, Listing, int]], kind: str = "cycle") -> dict:
    """An engine result (the format the engine returns) with one exchange made of `legs`."""
    nodes: list[str] = []
    out_legs = []
    participants: dict[str, dict] = {}
    for offer, need, quantity in legs:
        giver, receiver = str(offer.organisation_id), str(need.organisation_id)
        for node in (giver, receiver):
            if node not in nodes:
                nodes.append(node)
        value = float(offer.currency.value_per_unit) * quantity
        out_legs.append({"from": giver, "to": receiver, "offer": str(offer.id),
                         "need": str(need.id), "currency": offer.currency.code,
                         "quantity": quantity, "value": value})
        participants.setdefault(giver, {"given": 0.0, "received": 0.0})["given"] += value
        participants.setdefault(receiver, {"given": 0.0, "received": 0.0})["received"] += value
    return {
        "mode": "market", "objective": 1.0, "optimal": True, "bound": 1.0, "status": "optimal",
        "exchanges": [{
            "kind": kind, "nodes": nodes, "weight": 1.0,
            "signature": sorted([leg["offer"], leg["need"]] for leg in out_legs),
            "legs": out_legs, "participants": participants,
            "fairness": 1.0 if kind == "cycle" else None, "expected_completion": 0.9,
        }],
        "stats": {"nodes": len(nodes), "arcs": len(legs), "method": "test"},
    }


@pytest.fixture(name="market")
def market_fixture(make_org, make_user, make_currency, make_listing) -> Market:
    make_currency("staff", name="Staff time", unit="staff-days", value_per_unit=100)
    orgs = {name: make_org(f"Org {name}") for name in "ABCD"}
    members = {name: make_user(Role.MEMBER, org) for name, org in orgs.items()}
    offers = {name: make_listing(orgs[name], ListingKind.OFFER, quantity=10,
                                 title=f"Offer of {name}") for name in "ABC"}
    needs = {name: make_listing(orgs[name], ListingKind.NEED, quantity=10,
                                title=f"Need of {name}") for name in "ABC"}
    return Market(orgs, members, offers, needs, make_user(Role.COORDINATOR),
                  make_user(Role.AUDITOR), make_user(Role.ADMIN))


@pytest.fixture(name="propose")
def propose_fixture(app):
    """propose([(offer, need, qty), ...], kind='cycle') -> the stored, committed Proposal."""

    def make(legs: list[tuple[Listing, Listing, int]], kind: str = "cycle") -> Proposal:
        outcome = create_proposals(result_for(legs, kind))
        db.session.commit()
        assert len(outcome.created) == 1, outcome
        return outcome.created[0]

    return make


@pytest.fixture(name="cycle")
def cycle_fixture(market, propose) -> Proposal:
    """A 3-way exchange A→B→C→A of 5 staff-days each."""
    return propose([(market.offers["A"], market.needs["B"], 5),
                    (market.offers["B"], market.needs["C"], 5),
                    (market.offers["C"], market.needs["A"], 5)])


def reload(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


def race(app, workers: list, *, timeout: float = 60) -> list:
    """Run every callable in its own thread (own app context, own session, real
    commits) released together by a barrier; returns what each returned or raised."""
    # The test's own session must hold no transaction while the workers run (on
    # SQLite it would hold the write lock); workers must not touch its objects.
    db.session.commit()
    barrier = threading.Barrier(len(workers))
    results: list = [None] * len(workers)

    def run(index: int, work) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=timeout)
                results[index] = work()
            except BaseException as exc:  # reported to the test, not swallowed
                db.session.rollback()
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a worker hung"
    return results
