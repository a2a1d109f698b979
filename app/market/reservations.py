"""What approved exchanges hold on listings: the market owns `reserved`, `remaining` and
the move to `fulfilled`, and the proposal lifecycle asks it through these functions.

Every change is a *conditional* UPDATE guarded on the listing row itself, so the row
is the arbiter when two transactions race: whichever gets the row first wins and the
other sees the new value (its UPDATE matches no row). Callers take the rows' locks
first, in listing-id order (`lock`), so two transactions never wait on each other in
opposite orders. `quantities` maps listing id → units, iterated in id order.

Invariants (also CHECK constraints): 0 <= reserved <= remaining <= quantity; a listing
whose remaining reaches 0 is fulfilled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from sqlalchemy import case, select, update

from app.core.clock import today, utcnow
from app.core.errors import Conflict
from app.extensions import db
from app.market.models import Listing, ListingStatus

log = logging.getLogger(__name__)


def lock(listing_ids: Iterable[int]) -> None:
    """Take the listings' row locks in id order (SELECT … FOR UPDATE; SQLite's
    BEGIN IMMEDIATE already serialises writers)."""
    ids = sorted(set(listing_ids))
    if ids:
        db.session.execute(
            select(Listing.id).where(Listing.id.in_(ids)).order_by(Listing.id).with_for_update()
        ).all()


def reserve(quantities: Mapping[int, int]) -> int | None:
    """Reserve each listing's units if it is still open today and has them unreserved.

    Returns None when every listing was reserved, else the id of the first listing
    that could not give its units (the caller rolls back what was reserved before).
    """
    now, day = utcnow(), today()
    for listing_id, quantity in sorted(quantities.items()):
        result = db.session.execute(
            update(Listing)
            .where(Listing.id == listing_id, Listing.open_on(day),
                   Listing.remaining - Listing.reserved >= quantity)
            .values(reserved=Listing.reserved + quantity, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            return listing_id
    return None


def release(quantities: Mapping[int, int], *, holder: str = "this exchange") -> None:
    """Give back reserved units (a declined, cancelled or expired exchange)."""
    for listing_id, quantity in sorted(quantities.items()):
        result = db.session.execute(
            update(Listing)
            .where(Listing.id == listing_id, Listing.reserved >= quantity)
            .values(reserved=Listing.reserved - quantity, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # pragma: no cover - only a bug elsewhere could cause it
            log.error("Listing %s holds less than %s reserved", listing_id, holder)
            raise Conflict(f"Listing #{listing_id} does not hold the reservation of {holder}; "
                           "nothing was changed.")


def consume(quantities: Mapping[int, int], *, holder: str = "this exchange") -> None:
    """Deliver reserved units (a completed exchange): remaining and reserved drop by the
    same amount, and a listing left with nothing is fulfilled."""
    for listing_id, quantity in sorted(quantities.items()):
        result = db.session.execute(
            update(Listing)
            .where(Listing.id == listing_id, Listing.reserved >= quantity,
                   Listing.remaining >= quantity)
            .values(
                remaining=Listing.remaining - quantity,
                reserved=Listing.reserved - quantity,
                # Right-hand sides read the old row: at zero, the listing is fulfilled.
                status=case((Listing.remaining - quantity == 0, ListingStatus.FULFILLED),
                            else_=Listing.status),
                updated_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # pragma: no cover - only a bug elsewhere could cause it
            raise Conflict(f"Listing #{listing_id} no longer holds the reservation of "
                           f"{holder}; nothing was changed.")


def unreserved_amounts(listing_ids: Iterable[int]) -> dict[int, int]:
    """Units each listing could still give a new exchange today (0 when it is not open)."""
    ids = sorted(set(listing_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Listing.id, case((Listing.open_on(today()), Listing.remaining - Listing.reserved),
                                else_=0))
        .where(Listing.id.in_(ids))
    ).all()
    return {listing_id: int(amount) for listing_id, amount in rows}
