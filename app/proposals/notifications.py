"""Telling the organisations of a proposal what happened to it.

The one notification helper that needs to know who takes part in a proposal;
everything else about notifications is `app.notifications`.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.auth.models import User
from app.extensions import db
from app.notifications.services import members_of, notify
from app.proposals.models import ProposalParticipant


def notify_participants(proposal_id: int, message: str, *, exclude: User | None = None,
                        also: Iterable[int] = ()) -> int:
    """Notify every member of every organisation taking part in the proposal,
    plus the user ids in `also` (e.g. the coordinator who approved it)."""
    org_ids = db.session.execute(
        db.select(ProposalParticipant.organisation_id).where(
            ProposalParticipant.proposal_id == proposal_id)
    ).scalars().all()
    recipients: list[User | int] = [*members_of(org_ids), *[i for i in also if i]]
    return notify(recipients, message, proposal_id=proposal_id, exclude=exclude)
