"""Writing a completed exchange to the ledger, in the transaction that completes it.

The ledger knows nothing of proposals: this module turns a completed proposal's
legs into the ledger's plain `TradeLeg` records (leg order; each names the user
who confirmed it, else the actor who confirmed the last one, else "system") and
appends them. Only a completed proposal with legs is recorded, once.
"""

from __future__ import annotations

from app.auth.models import User
from app.core.errors import Conflict
from app.ledger.models import LedgerEntry
from app.ledger.services import TradeLeg, append_trade_entries
from app.proposals.models import Proposal, ProposalStatus


def trade_legs(proposal: Proposal, actor: User | None) -> list[TradeLeg]:
    """The proposal's legs as the ledger records them, in leg order."""
    records = []
    for leg in sorted(proposal.legs, key=lambda leg: leg.position):
        confirmer = leg.confirmed_by or actor
        records.append(TradeLeg(
            proposal_id=proposal.id, leg_id=leg.id, giver_id=leg.giver_id,
            receiver_id=leg.receiver_id, currency_code=leg.currency.code,
            quantity=leg.quantity, unit_value=leg.unit_value, value=leg.value,
            confirmed_by_id=confirmer.id if confirmer else None,
            confirmed_by_name=confirmer.name if confirmer else "system",
        ))
    return records


def record_in_ledger(proposal: Proposal, actor: User | None) -> list[LedgerEntry]:
    """Append one trade entry per leg of a just-completed proposal. Refuses a proposal
    that is not completed, has no legs, or is already in the ledger. Flushes."""
    if proposal.status != ProposalStatus.COMPLETED:
        raise Conflict(f"Proposal {proposal.id} is {proposal.status}, not completed: "
                       "only completed exchanges are written to the ledger.")
    legs = trade_legs(proposal, actor)
    if not legs:
        raise Conflict(f"Proposal {proposal.id} has no legs to record.")
    return append_trade_entries(legs)
