"""The proposals' services in one place, for the pages, the API, the CLI and the demo.

Each function lives in the module of its job (see those modules for the
invariants they keep):

- `reading`: who may see which proposal, the filtered lists, what waits on a user;
- `creation`: an engine result becomes proposals;
- `lifecycle`: one function per transition (approve, reject, accept, decline,
  confirm a leg and complete, cancel, supersede);
- `expiry`: deadlines passing;
- `recording`: a completed exchange written to the ledger;
- `signatures`: an exchange's canonical name.

The trust figures shown on a proposal page are `app.reporting.trust.trust_history`.
"""

from app.proposals.creation import Creation, create_proposals
from app.proposals.expiry import (
    due_for_expiry,
    expire,
    expire_due,
    expire_due_opportunistically,
)
from app.proposals.lifecycle import (
    accept,
    approve,
    cancel,
    confirm_leg,
    decline,
    reject,
    supersede,
)
from app.proposals.reading import (
    Commitment,
    Waiting,
    commitment,
    describe,
    get_proposal,
    list_proposals,
    visible_proposals,
    waiting_on,
)
from app.proposals.recording import record_in_ledger
from app.proposals.signatures import canonical_signature, signature_pairs

__all__ = [
    "Commitment", "Creation", "Waiting", "accept", "approve", "cancel", "canonical_signature",
    "commitment", "confirm_leg",
    "create_proposals", "decline", "describe", "due_for_expiry", "expire", "expire_due",
    "expire_due_opportunistically", "get_proposal", "list_proposals", "record_in_ledger",
    "reject", "signature_pairs", "supersede", "visible_proposals", "waiting_on",
]
