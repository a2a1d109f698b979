"""Every model, in one import: used by create_app, Alembic and the tests."""

from app.api.models import IdempotencyRecord
from app.auth.models import ApiToken, LoginAttempt, Role, User
from app.core.read_cache import DataVersion
from app.ledger.models import EntryKind, LedgerEntry
from app.market.models import (
    Currency,
    Listing,
    ListingKind,
    ListingStatus,
    MarketSettings,
    Organisation,
    Sector,
    organisation_exclusions,
)
from app.matching.models import MatchingRun, RunStatus
from app.notifications.models import EmailMessage, EmailPreference, Notification
from app.proposals.models import (
    ExchangeKind,
    Proposal,
    ProposalLeg,
    ProposalParticipant,
    ProposalStatus,
    ProposalTransition,
    Response,
)

__all__ = [
    "ApiToken", "Currency", "DataVersion", "EmailMessage", "EmailPreference", "EntryKind",
    "ExchangeKind",
    "IdempotencyRecord", "LedgerEntry",
    "Listing", "ListingKind", "ListingStatus", "LoginAttempt", "MarketSettings", "MatchingRun",
    "Notification", "Organisation", "Proposal", "ProposalLeg", "ProposalParticipant",
    "ProposalStatus", "ProposalTransition", "Response", "Role", "RunStatus", "Sector", "User",
    "organisation_exclusions",
]
