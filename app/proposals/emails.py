"""The emails of the proposal lifecycle: one per event and member of each organisation
taking part, telling that organisation its own side (what it gives, what it gets, by
when) with one link; reminders before open deadlines; coordinators' news of stalls.

Called by the lifecycle functions beside their in-app notifications, in the same
transaction (app.notifications.outbox queues; a job sends). An email names the
organisations and listings of the exchange (public within it) and never another
organisation's private fields (contact details, internal notes, exclusions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.auth.models import Role, User
from app.core.clock import utcnow
from app.extensions import db
from app.ledger.models import LedgerEntry
from app.notifications.mail import absolute_url
from app.notifications.models import EmailCategory
from app.notifications.outbox import london_text, queue_email
from app.notifications.services import members_of, notify
from app.proposals.models import (
    Proposal,
    ProposalLeg,
    ProposalParticipant,
    ProposalStatus,
    ProposalTransition,
    Response,
)
from app.proposals.reading import describe

REMINDER_DAYS = (3, 1)


@dataclass
class Side:
    """One organisation's view of an exchange."""

    organisation: object
    gives: list[ProposalLeg]
    gets: list[ProposalLeg]
    participant: ProposalParticipant


def _sides(proposal: Proposal) -> list[Side]:
    return [Side(p.organisation,
                 [leg for leg in proposal.legs if leg.giver_id == p.organisation_id],
                 [leg for leg in proposal.legs if leg.receiver_id == p.organisation_id], p)
            for p in proposal.participants]


def _context(proposal: Proposal, side: Side, **extra) -> dict:
    return {"proposal": proposal, "side": side, "kind_text": describe(proposal),
            "link": absolute_url("proposals.detail", proposal_id=proposal.id),
            "others": [p.organisation.name for p in proposal.participants
                       if p.organisation_id != side.organisation.id], **extra}


def _mail_sides(proposal: Proposal, event: str, template: str, subject: str, category: str,
                *, deadline: datetime | None = None, exclude: User | None = None,
                only: set[int] | None = None, **extra) -> int:
    sent = 0
    for side in _sides(proposal):
        if only is not None and side.organisation.id not in only:
            continue
        context = _context(proposal, side, **extra)
        for user in members_of([side.organisation.id]):
            if exclude is not None and user.id == exclude.id:
                continue
            if queue_email(user, event_key=f"proposal:{proposal.id}:{event}",
                           category=category, template=template,
                           subject=subject.format(org=side.organisation.name, id=proposal.id),
                           deadline=deadline, proposal_id=proposal.id, **context):
                sent += 1
    return sent


def approved(proposal: Proposal) -> int:
    return _mail_sides(proposal, "approved", "proposal_approved",
                       "Action needed: {org} is asked to accept exchange #{id}",
                       EmailCategory.ACTIONS, deadline=proposal.accept_by)


def agreed(proposal: Proposal) -> int:
    return _mail_sides(proposal, "agreed", "proposal_agreed",
                       "Exchange #{id} is agreed: what {org} delivers and receives",
                       EmailCategory.ACTIONS, deadline=proposal.deliver_by)


def completed(proposal: Proposal) -> int:
    entries = db.session.execute(
        select(LedgerEntry).where(LedgerEntry.proposal_id == proposal.id)
        .order_by(LedgerEntry.sequence)).scalars().all()
    sent = 0
    for side in _sides(proposal):
        mine = [e for e in entries if side.organisation.id in (e.giver_id, e.receiver_id)]
        sent += _mail_sides(proposal, "completed", "proposal_completed",
                            "Exchange #{id} is completed and recorded in the ledger",
                            EmailCategory.OUTCOMES, only={side.organisation.id},
                            entries=mine, names=_names(proposal))
    return sent


def _names(proposal: Proposal) -> dict[int, str]:
    return {p.organisation_id: p.organisation.name for p in proposal.participants}


def closed(proposal: Proposal, outcome: str, why: str, *, exclude: User | None = None) -> int:
    """Declined, cancelled, expired or superseded: what happened and why."""
    return _mail_sides(proposal, outcome, "proposal_closed",
                       f"Exchange #{{id}} was {outcome}", EmailCategory.OUTCOMES,
                       exclude=exclude, outcome=outcome, why=why)


def coordinators() -> list[User]:
    return list(db.session.execute(
        select(User).where(User.role == Role.COORDINATOR, User.enabled.is_(True))
        .order_by(User.id)).scalars())


def stalled(proposal: Proposal, what: str, deadline: datetime | None) -> int:
    """Coordinators' news: an exchange stalled past its deadline (and expired)."""
    waiting = ([p.organisation.name for p in proposal.participants
                if p.response != Response.ACCEPTED] if what == "acceptance" else
               sorted({leg.receiver.name for leg in proposal.legs if leg.confirmed_at is None}))
    staff = coordinators()
    # In-app too (the approving coordinator already has the "expired" message).
    notify([u for u in staff if u.id != proposal.approved_by_id],
           f"Exchange #{proposal.id} stalled: its {what} deadline passed"
           + (f" while it waited on {', '.join(waiting)}." if waiting else "."),
           proposal_id=proposal.id)
    sent = 0
    for user in staff:
        if queue_email(user, event_key=f"proposal:{proposal.id}:stalled", proposal_id=proposal.id,
                       category=EmailCategory.NEWS, template="proposal_stalled",
                       subject=f"Exchange #{proposal.id} stalled: its {what} deadline passed",
                       proposal=proposal, what=what, waiting=waiting,
                       deadline_passed=deadline, kind_text=describe(proposal),
                       link=absolute_url("proposals.detail", proposal_id=proposal.id)):
            sent += 1
    return sent


# --- reminders ------------------------------------------------------------------------------

def _agreed_at(proposal_id: int) -> datetime | None:
    return db.session.execute(
        select(ProposalTransition.created_at).where(
            ProposalTransition.proposal_id == proposal_id,
            ProposalTransition.to_status == ProposalStatus.AGREED,
            ProposalTransition.from_status == ProposalStatus.APPROVED)
        .order_by(ProposalTransition.id.desc()).limit(1)).scalar_one_or_none()


def _threshold(deadline: datetime, started: datetime | None, now: datetime) -> int | None:
    """The reminder due at `now` (3 or 1 days before), or None. A threshold that had
    already passed when the deadline was set is skipped (the email that set it said so)."""
    left = deadline - now
    if left <= timedelta(0):
        return None
    for days in sorted(REMINDER_DAYS):
        if left <= timedelta(days=days):
            if started is not None and deadline - started <= timedelta(days=days):
                return None
            return days
    return None


def send_reminders(now: datetime | None = None) -> int:
    """Queue the reminders due at `now`: to members of organisations that have not yet
    answered an approved exchange (before `accept_by`), and of organisations that still
    have to deliver or confirm a leg of an agreed one (before `deliver_by`). Each
    (proposal, deadline, threshold, user) is mailed once. Flushes; returns how many."""
    now = now or utcnow()
    horizon = now + timedelta(days=max(REMINDER_DAYS))
    open_ones = db.session.execute(
        select(Proposal).where(
            ((Proposal.status == ProposalStatus.APPROVED) & (Proposal.accept_by > now)
             & (Proposal.accept_by <= horizon))
            | ((Proposal.status == ProposalStatus.AGREED) & (Proposal.deliver_by > now)
               & (Proposal.deliver_by <= horizon)))
        .order_by(Proposal.id)).scalars().all()
    sent = 0
    for proposal in open_ones:
        if proposal.status == ProposalStatus.APPROVED:
            deadline, what = proposal.accept_by, "accept"
            days = _threshold(deadline, proposal.approved_at, now)
            owing = {p.organisation_id for p in proposal.participants
                     if p.response == Response.PENDING}
        else:
            deadline, what = proposal.deliver_by, "deliver"
            days = _threshold(deadline, _agreed_at(proposal.id), now)
            owing = set()
            for leg in proposal.legs:
                if leg.confirmed_at is None:
                    owing |= {leg.giver_id, leg.receiver_id}
        if days is None or not owing:
            continue
        sent += _mail_sides(
            proposal, f"remind:{what}:{deadline:%Y%m%dT%H%M}:{days}d", "proposal_reminder",
            f"Reminder: exchange #{{id}} {'needs your answer' if what == 'accept' else 'is due'}"
            f" by {london_text(deadline)}", EmailCategory.REMINDERS,
            deadline=deadline, only=owing, what=what, days=days)
    return sent
