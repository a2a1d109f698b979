"""Playing out the demo's past (`history_data.HISTORY`) through the real services.

Each step of each past exchange — a member posting a listing, the matcher's
result becoming a proposal (`create_proposals`, fed a result in the engine's
format), a coordinator approving, members accepting or declining and
confirming receipt, a coordinator cancelling, the system expiring, members
withdrawing what is left — runs at its own past moment under
`app.core.clock.frozen_clock`. Steps of all exchanges are played in time order,
so ids, the audit trail and the ledger's sequence numbers are chronological
like the timestamps, and the ledger's hash chain is the one those services
would have written then.

Flushes only; the caller (`seed_demo`) commits once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from app.auth.models import Role, User
from app.core.clock import frozen_clock
from app.demo.data import EMAIL_DOMAIN
from app.demo.history_data import HISTORY, Outcome, PastExchange
from app.extensions import db
from app.ledger.models import LedgerEntry
from app.market import currencies as currency_rules
from app.market import listings as listing_rules
from app.market.models import Listing, MarketSettings, Organisation
from app.notifications.services import mark_all_read
from app.proposals import services as proposals
from app.proposals.models import Proposal
from app.reporting.trust import completion_rates

# Listings are posted this many days before the matcher proposed the exchange
# (needs first, offers a week later) and stay available this long after it.
NEED_POSTED, OFFER_POSTED, AVAILABLE_AFTER = -20, -13, 120
# After agreement, the first receipt is confirmed after two weeks, the others a week apart.
FIRST_DELIVERY, NEXT_DELIVERY = 14, 7
CANCEL_AFTER = 40


@dataclass
class HistoryResult:
    """What `seed_history` recorded."""

    exchanges: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    listings: int = 0
    ledger_entries: int = 0
    first: datetime | None = None
    last: datetime | None = None
    # history key ("H01"…) -> proposal id
    proposal_ids: dict[str, int] = field(default_factory=dict)

    @property
    def months(self) -> int:
        """Calendar months the history touches, first to last."""
        if self.first is None or self.last is None:
            return 0
        return (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1


@dataclass
class _Story:
    """One past exchange being played out."""

    spec: PastExchange
    coordinator: User
    offers: list[Listing] = field(default_factory=list)
    needs: list[Listing] = field(default_factory=list)
    proposal_id: int | None = None

    @property
    def organisations(self) -> list[str]:
        """Participants in giving order (a chain ends with its last receiver)."""
        slugs = [leg.giver for leg in self.spec.legs]
        if self.spec.kind == "chain":
            slugs.append(self.spec.legs[-1].receiver)
        return slugs


Step = tuple[datetime, int, int, Callable[[], None]]


class _Player:
    """Plays every step of every past exchange at its moment, in time order."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.organisations = {
            org.slug: org for org in db.session.execute(db.select(Organisation)).scalars()}
        users = db.session.execute(
            db.select(User).where(User.email.like(f"%@{EMAIL_DOMAIN}"))).scalars().all()
        self.members = {u.organisation.slug: u for u in users if u.role == Role.MEMBER}
        self.coordinators = sorted((u for u in users if u.role == Role.COORDINATOR),
                                   key=lambda u: u.email)
        self.values = {c.code: c.value_per_unit for c in currency_rules.list_currencies()}
        settings = MarketSettings.current()
        self.acceptance_days = settings.acceptance_days
        self.delivery_days = settings.delivery_days
        self.result = HistoryResult()

    # --- the schedule ------------------------------------------------------------------

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(self.today + timedelta(days=day), time(hour, minute))

    def steps(self, number: int, story: _Story) -> list[Step]:
        """Every step of one exchange with its moment; steps are strictly in time order."""
        spec, p = story.spec, story.spec.day
        plan: list[tuple[datetime, Callable[[], None]]] = [
            (self.at(p + NEED_POSTED, 10, 15), lambda: self.post(story, "need")),
            (self.at(p + OFFER_POSTED, 14, 30), lambda: self.post(story, "offer")),
            (self.at(p, 8), lambda: self.propose(story)),
            (self.at(p + 1, 10, 30), lambda: self.approve(story)),
        ]
        answering = story.organisations
        if spec.outcome == Outcome.DECLINED:
            answering = answering[:answering.index(spec.decliner) + 1]
        for position, slug in enumerate(answering):
            day = p + 2 + position
            if slug == spec.decliner:
                plan.append((self.at(day, 11, 20), lambda s=slug: self.decline(story, s)))
            else:
                plan.append((self.at(day, 11, 20), lambda s=slug: self.accept(story, s)))
        agreed = p + 2 + len(answering) - 1
        end = agreed
        if spec.outcome != Outcome.DECLINED:
            delivered = (range(len(spec.legs)) if spec.outcome == Outcome.COMPLETED
                         else spec.delivered)
            for n, position in enumerate(delivered):
                end = agreed + FIRST_DELIVERY + NEXT_DELIVERY * n
                plan.append((self.at(end, 15), lambda i=position: self.confirm(story, i)))
        if spec.outcome == Outcome.CANCELLED:
            end = agreed + CANCEL_AFTER
            plan.append((self.at(end, 9, 45), lambda: self.cancel(story)))
        elif spec.outcome == Outcome.EXPIRED:
            # The delivery deadline is `delivery_days` after agreement (11:20); the
            # nightly sweep the next morning records the expiry.
            end = agreed + self.delivery_days + 1
            plan.append((self.at(end, 6), lambda: self.expire(story)))
        if spec.outcome != Outcome.COMPLETED:
            plan.append((self.at(end + 2, 9), lambda: self.withdraw(story)))
        moments = [moment for moment, _ in plan]
        assert moments == sorted(moments) and len(set(moments)) == len(moments), spec.key
        return [(moment, number, order, action) for order, (moment, action) in enumerate(plan)]

    def play(self) -> HistoryResult:
        stories = [_Story(spec, self.coordinators[n % len(self.coordinators)])
                   for n, spec in enumerate(HISTORY)]
        schedule = sorted(
            (step for n, story in enumerate(stories) for step in self.steps(n, story)),
            key=lambda step: step[:3])
        latest = self.at(0, 0)
        if schedule[-1][0] >= latest:
            raise ValueError("The demo history must end before the day it is seeded.")
        for moment, _number, _order, action in schedule:
            with frozen_clock(moment):
                action()
        # Everyone has long read what the history told them.
        with frozen_clock(schedule[-1][0] + timedelta(days=1)):
            for user in [*self.members.values(), *self.coordinators]:
                mark_all_read(user)
        self.result.exchanges = len(stories)
        self.result.outcomes = dict(Counter(story.spec.outcome for story in stories))
        self.result.proposal_ids = {story.spec.key: story.proposal_id for story in stories}
        self.result.ledger_entries = db.session.execute(
            db.select(db.func.count(LedgerEntry.id))).scalar_one()
        self.result.first, self.result.last = schedule[0][0], schedule[-1][0]
        return self.result

    # --- the steps ---------------------------------------------------------------------

    def post(self, story: _Story, kind: str) -> None:
        """Each leg's need (or offer) is posted by its organisation's member."""
        p = story.spec.day
        for leg in story.spec.legs:
            slug = leg.receiver if kind == "need" else leg.giver
            listing = listing_rules.create_listing(self.members[slug], {
                "kind": kind, "currency": leg.currency, "category": leg.category,
                "title": leg.need_title if kind == "need" else leg.offer_title,
                "description": leg.note, "tags": [], "quantity": leg.quantity,
                "min_quantity": None, "areas": [leg.area] if leg.area else [],
                "remote": leg.area is None, "gift": leg.gift and kind == "offer",
                "available_from": self.today + timedelta(days=p + NEED_POSTED),
                "available_until": self.today + timedelta(days=p + AVAILABLE_AFTER),
            })
            (story.needs if kind == "need" else story.offers).append(listing)
            self.result.listings += 1

    def engine_result(self, story: _Story) -> dict:
        """The exchange as the matching engine reports one."""
        spec = story.spec
        org_ids = {slug: str(self.organisations[slug].id) for slug in story.organisations}
        legs, given, received = [], dict.fromkeys(org_ids, 0.0), dict.fromkeys(org_ids, 0.0)
        for leg, offer, need in zip(spec.legs, story.offers, story.needs, strict=True):
            value = float(leg.quantity * self.values[leg.currency])
            legs.append({"from": org_ids[leg.giver], "to": org_ids[leg.receiver],
                         "offer": str(offer.id), "need": str(need.id),
                         "currency": leg.currency, "quantity": leg.quantity, "value": value})
            given[leg.giver] += value
            received[leg.receiver] += value
        exempt = {story.organisations[0], story.organisations[-1]} if spec.kind == "chain" \
            else set()
        participants, fairness = {}, []
        for slug in story.organisations:
            share = None
            if slug not in exempt:
                share = round(min(given[slug], received[slug])
                              / max(given[slug], received[slug]), 4)
                fairness.append(share)
            participants[org_ids[slug]] = {"given": given[slug], "received": received[slug],
                                           "fairness": share}
        expected = 1.0
        for rate in completion_rates(int(i) for i in org_ids.values()).values():
            expected *= rate
        return {
            "mode": "market", "status": "optimal", "optimal": True,
            "exchanges": [{
                "kind": spec.kind, "nodes": [org_ids[s] for s in story.organisations],
                "weight": float(len(legs)),
                "signature": sorted([leg["offer"], leg["need"]] for leg in legs),
                "legs": legs, "participants": participants,
                "fairness": min(fairness) if fairness else None,
                "expected_completion": round(expected, 4),
            }],
        }

    def propose(self, story: _Story) -> None:
        created = proposals.create_proposals(self.engine_result(story)).created
        if len(created) != 1:  # pragma: no cover - only a data error could cause it
            raise ValueError(f"Past exchange {story.spec.key} was not proposed.")
        story.proposal_id = created[0].id

    def approve(self, story: _Story) -> None:
        proposal = db.session.get(Proposal, story.proposal_id)
        if story.spec.kind == "chain":
            reason = "A gift starts this chain; every link in the middle is fair."
        else:
            reason = f"Fair both ways ({proposal.fairness:.2f}); good fit for everyone."
        proposals.approve(story.coordinator, story.proposal_id, reason)

    def accept(self, story: _Story, slug: str) -> None:
        proposals.accept(self.members[slug], story.proposal_id)

    def decline(self, story: _Story, slug: str) -> None:
        proposals.decline(self.members[slug], story.proposal_id, story.spec.reason)

    def confirm(self, story: _Story, position: int) -> None:
        proposal = db.session.get(Proposal, story.proposal_id)
        leg = next(leg for leg in proposal.legs if leg.position == position)
        proposals.confirm_leg(self.members[story.spec.legs[position].receiver],
                              story.proposal_id, leg.id)

    def cancel(self, story: _Story) -> None:
        proposals.cancel(story.coordinator, story.proposal_id, story.spec.reason)

    def expire(self, story: _Story) -> None:
        if not proposals.expire(None, story.proposal_id):  # pragma: no cover - data error
            raise ValueError(f"Past exchange {story.spec.key} was not due to expire.")

    def withdraw(self, story: _Story) -> None:
        """What an exchange that did not complete leaves open is taken off the market."""
        for listing in [*story.needs, *story.offers]:
            listing_rules.withdraw_listing(self.members[listing.organisation.slug], listing)


def seed_history(today: date) -> HistoryResult:
    """Record the demo's past exchanges, ending before `today` (flushes; the caller
    commits). Needs the demo organisations, members and coordinators to exist."""
    return _Player(today).play()
