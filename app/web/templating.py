"""Template globals and filters shared by every blueprint."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask, current_app, url_for
from flask_login import current_user

from app.auth import policy


def has_endpoint(name: str) -> bool:
    return name in current_app.view_functions


def nav_url(name: str, **values) -> str | None:
    """url_for, or None when the endpoint is not registered (keeps the layout robust)."""
    return url_for(name, **values) if has_endpoint(name) else None


def money(value) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value):,.2f}"


def fairness_words(value, *, short: bool = False) -> str:
    """Fairness (smaller value over larger, 0..1) in words, for people before numbers."""
    if value is None:
        return "exempt (a gift chain's first giver and last receiver)" if not short else "exempt"
    value = float(value)
    if value >= 0.9:
        return "about even" if short else "each side gives and gets about the same value"
    if value >= 0.75:
        return "fairly even" if short else \
            "each side gives and gets a similar value (within a quarter of each other)"
    percent = round(value * 100)
    return "uneven" if short else \
        f"one side gets more than the other: the smaller side is worth {percent} % of the larger"


def unread_notifications() -> int:
    if not current_user.is_authenticated:
        return 0
    try:
        from app.notifications.services import unread_count
    except ImportError:
        return 0
    return unread_count(current_user)


def register_template_helpers(app: Flask) -> None:
    from app.auth.models import Role
    from app.market.models import ListingKind, ListingStatus, Sector
    from app.proposals.models import ProposalStatus

    app.jinja_env.globals.update(
        # `can("action")` in a template: may the current user's role do it (app.auth.policy)?
        can=lambda action, obj=None: (policy.allows(current_user, action, obj) if obj is not None
                                      else policy.role_may(current_user, action)),
        has_endpoint=has_endpoint,
        nav_url=nav_url,
        Role=Role,
        Sector=Sector,
        ListingKind=ListingKind,
        ListingStatus=ListingStatus,
        ProposalStatus=ProposalStatus,
        unread_notifications=unread_notifications,
    )
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["fairness_words"] = fairness_words
