"""Random lifecycles through the proposals services: completed proposals and
ledger legs correspond one to one, the chain always verifies, and the trust
figures agree with the matcher's completion rates.

A hypothesis state machine drives the real services (create, approve,
accept, decline, confirm each leg, cancel, reject) plus coordinator reversals
(a double reversal or a stale step is refused, and that is part of the test),
committing after each step as the pages and the API do. All examples share one
database (see `Lifecycles`).
"""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from app.auth.models import Role, User
from app.core.errors import ServiceError
from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import EntryKind, LedgerEntry
from app.market.models import Currency, Listing, ListingKind, Organisation
from app.proposals import services as proposals
from app.proposals.models import (
    Proposal,
    ProposalLeg,
    ProposalParticipant,
    ProposalStatus,
    Response,
)
from app.reporting import trust
from app.reporting.audit import verify_ledger
from tests.conftest import _DEFAULT_HASH

ORGS = 4
_names = itertools.count(1)


class Lifecycles(RuleBasedStateMachine):
    """Each example adds its own organisations to the same database: the
    invariants are about the whole database, so earlier examples' data only
    makes them harder to satisfy (and no per-example reset is needed)."""

    def __init__(self) -> None:
        super().__init__()
        currency = db.session.execute(
            db.select(Currency).where(Currency.code == "staff")).scalar_one_or_none()
        if currency is None:
            currency = Currency(code="staff", name="Staff", unit="day", value_per_unit=150)
            db.session.add(currency)
        self.orgs, self.members = [], {}
        for _ in range(ORGS):
            n = next(_names)
            org = Organisation(name=f"Org {n}", slug=f"org-{n}", areas=["north"])
            db.session.add(org)
            db.session.flush()
            self.orgs.append(org.id)
            member = User(email=f"m{n}@example.org", name=f"Member {n}", role=Role.MEMBER,
                          organisation_id=org.id, password_hash=_DEFAULT_HASH)
            db.session.add(member)
            self.members[org.id] = member
        self.coordinator = User(email=f"c{next(_names)}@example.org", name="Coordinator",
                                role=Role.COORDINATOR, password_hash=_DEFAULT_HASH)
        db.session.add(self.coordinator)
        db.session.commit()
        self.currency_id = currency.id

    # -- helpers ------------------------------------------------------------------------

    def _ids(self, status: str) -> list[int]:
        """This example's proposals in `status`."""
        mine = db.select(ProposalParticipant.proposal_id).where(
            ProposalParticipant.organisation_id.in_(self.orgs))
        return list(db.session.execute(
            db.select(Proposal.id).where(Proposal.status == status, Proposal.id.in_(mine))
            .order_by(Proposal.id)
        ).scalars())

    def _attempt(self, action) -> None:
        """Run a service call as a request would: commit on success, roll back on a
        refusal (a refusal is a legitimate outcome of a random step)."""
        try:
            action()
            db.session.commit()
        except ServiceError:
            db.session.rollback()

    def _listing(self, org_id: int, kind: str, quantity: int) -> Listing:
        listing = Listing(organisation_id=org_id, kind=kind, currency_id=self.currency_id,
                          category="nurse", title=f"{kind} {next(_names)}", quantity=quantity,
                          remaining=quantity, areas=["north"], tags=[],
                          available_from=date(2026, 1, 1))
        db.session.add(listing)
        db.session.flush()
        return listing

    # -- rules --------------------------------------------------------------------------

    @initialize(data=st.data(), size=st.integers(2, 3), quantity=st.integers(1, 5))
    def first_proposal(self, data, size, quantity):
        self.propose(data, size, quantity, shared=False)

    @rule(data=st.data(), size=st.integers(2, 3), quantity=st.integers(1, 5),
          shared=st.booleans())
    def propose(self, data, size, quantity, shared):
        parties = data.draw(st.permutations(self.orgs))[:size]
        legs = []
        for i, giver in enumerate(parties):
            receiver = parties[(i + 1) % size]
            offer = None
            if shared:  # reuse an open offer so approvals can compete for it
                offer = db.session.execute(
                    db.select(Listing).where(Listing.organisation_id == giver,
                                             Listing.kind == ListingKind.OFFER,
                                             Listing.remaining >= quantity)
                    .order_by(Listing.id)).scalars().first()
            offer = offer or self._listing(giver, ListingKind.OFFER, quantity + 2)
            need = self._listing(receiver, ListingKind.NEED, quantity)
            legs.append({"offer": offer.id, "need": need.id, "quantity": quantity,
                         "from": giver, "to": receiver})
        self._attempt(lambda: proposals.create_proposals(
            {"exchanges": [{"kind": "cycle", "legs": legs, "nodes": list(parties)}]}))

    def _next_step(self, proposal: Proposal, decline: bool) -> None:
        """The natural next step of an open proposal (or a decline when asked)."""
        if proposal.status == ProposalStatus.PROPOSED:
            self._attempt(lambda: proposals.approve(self.coordinator, proposal.id))
        elif proposal.status == ProposalStatus.APPROVED:
            pending = [p.organisation_id for p in proposal.participants
                       if p.response == Response.PENDING]
            if pending:
                member = self.members[pending[0]]
                answer = proposals.decline if decline else proposals.accept
                self._attempt(lambda: answer(member, proposal.id, "cannot spare it"))
        elif proposal.status == ProposalStatus.AGREED:
            legs = [leg for leg in proposal.legs if leg.confirmed_at is None]
            if legs:
                member = self.members[legs[-1].receiver_id]
                self._attempt(lambda: proposals.confirm_leg(member, proposal.id, legs[-1].id))

    def _open_ids(self) -> list[int]:
        return [i for status in ProposalStatus.OPEN for i in self._ids(status)]

    @rule(data=st.data())
    def advance(self, data):
        """Walk one open proposal along its happy path until it is completed."""
        ids = self._open_ids()
        if not ids:
            return
        pid = data.draw(st.sampled_from(ids))
        for _ in range(10):
            proposal = db.session.get(Proposal, pid)
            if proposal.status not in ProposalStatus.OPEN:
                break
            self._next_step(proposal, decline=False)

    @rule(data=st.data())
    def nudge(self, data):
        """One step of one open proposal: walks get interleaved and left half-done."""
        ids = self._open_ids()
        if ids:
            self._next_step(db.session.get(Proposal, data.draw(st.sampled_from(ids))),
                            decline=False)

    @rule(data=st.data(), what=st.sampled_from(["reject", "decline", "cancel"]),
          go=st.integers(0, 7))
    def disrupt(self, data, what, go):
        """A coordinator rejects or cancels, or a participant declines. It acts
        on about one draw in four, and not on the boundary values hypothesis
        favours, so the happy path still gets through often."""
        if go not in (3, 4):
            return
        if what == "reject":
            ids = self._ids(ProposalStatus.PROPOSED)
            if ids:
                pid = data.draw(st.sampled_from(ids))
                self._attempt(lambda: proposals.reject(self.coordinator, pid, "not now"))
        elif what == "decline":
            ids = self._ids(ProposalStatus.APPROVED)
            if ids:
                self._next_step(db.session.get(Proposal, data.draw(st.sampled_from(ids))),
                                decline=True)
        else:
            ids = self._ids(ProposalStatus.APPROVED) + self._ids(ProposalStatus.AGREED)
            if ids:
                pid = data.draw(st.sampled_from(ids))
                self._attempt(lambda: proposals.cancel(self.coordinator, pid, "stalled"))

    @rule(data=st.data(), go=st.integers(0, 7))
    def reverse(self, data, go):
        if go not in (3, 4):
            return
        # Only this example's entries: what is drawn must not depend on earlier examples.
        trades = list(db.session.execute(
            db.select(LedgerEntry.sequence).where(LedgerEntry.kind == EntryKind.TRADE,
                                                  LedgerEntry.giver_id.in_(self.orgs))
            .order_by(LedgerEntry.sequence)
        ).scalars())
        if trades:
            sequence = data.draw(st.sampled_from(trades))
            self._attempt(lambda: ledger.reverse_entry(self.coordinator, sequence, "typo"))

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def completed_proposals_and_ledger_legs_correspond(self):
        # Two queries over the whole database: every leg of every completed
        # proposal, and every trade entry, keyed by leg.
        leg = ProposalLeg
        legs = {row.id: row[1:] for row in db.session.execute(
            db.select(leg.id, leg.proposal_id, leg.giver_id, leg.receiver_id, leg.quantity,
                      leg.value, leg.confirmed_by_id)
            .join(Proposal, Proposal.id == leg.proposal_id)
            .where(Proposal.status == ProposalStatus.COMPLETED))}
        e = LedgerEntry
        trades = db.session.execute(
            db.select(e.leg_id, e.proposal_id, e.giver_id, e.receiver_id, e.quantity, e.value,
                      e.confirmed_by_id, e.sequence)
            .where(e.kind == EntryKind.TRADE).order_by(e.sequence)).all()
        assert len(trades) == len(legs)  # one entry per leg of a completed proposal…
        assert {t.leg_id: tuple(t[1:7]) for t in trades} == legs  # …and none for anything else
        sequences: dict[int, list[int]] = {}
        for t in trades:
            sequences.setdefault(t.proposal_id, []).append(t.sequence)
        for numbers in sequences.values():  # a proposal's entries are consecutive
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))

    @invariant()
    def the_chain_verifies(self):
        result = verify_ledger()
        assert result.ok, result.summary()

    def teardown(self):
        # Checked once per example (not after every step) to keep the test fast.
        self.trust_figures_agree_with_the_matcher()

    def trust_figures_agree_with_the_matcher(self):
        rates = trust.completion_rates(self.orgs)
        history = trust.history_for(self.orgs)
        for org_id in self.orgs:
            figures = trust.organisation_trust(db.session.get(Organisation, org_id))
            assert figures.completion_rate == rates[org_id] == history[org_id].completion_rate
            assert figures.exchanges_completed == figures.completed
            # The rate counts settled outcomes only: never one still in progress.
            assert figures.settled + figures.in_progress == figures.agreed
            assert figures.completion_rate == (figures.completed + 1) / (figures.settled + 1)
            assert history[org_id].exchanges_completed == figures.exchanges_completed
        db.session.rollback()


@pytest.mark.slow
def test_random_lifecycles_keep_ledger_and_proposals_in_step(app):
    run_state_machine_as_test(Lifecycles, settings=settings(
        max_examples=30, stateful_step_count=20, deadline=None,
        suppress_health_check=list(HealthCheck)))
