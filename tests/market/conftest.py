"""Fixtures for the market's tests: a small market on top of the root `users` fixture,
and helpers to act as each role and to prove refused requests changed nothing."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import inspect as sa_inspect

from app.extensions import db
from app.market.models import ListingKind
from tests.jobs.conftest import redis_url  # noqa: F401 - a real Redis (the shared read cache)

ROLES = ("anonymous", "member", "other_member", "coordinator", "auditor", "admin")


@pytest.fixture
def market(users, make_currency, make_listing):
    return build_market(users, make_currency, make_listing)


def build_market(users, make_currency, make_listing) -> dict:
    """Two currencies with categories; the own organisation serves `north`/`south`, the other
    `north`/`east`; one open offer and one open need of the own organisation, one offer of
    the other. Returns them with the `users` fixture's entries."""
    own, other = users["own_org"], users["other_org"]
    own.areas = ["north", "south"]
    other.areas = ["north", "east"]
    db.session.commit()
    staff = make_currency("staff", name="Staff time", unit="staff-day", value_per_unit=300,
                          categories=["registered nurse", "social worker"])
    premises = make_currency("premises", name="Premises", unit="room-hour", value_per_unit=25,
                             categories=["clinic room", "meeting room"])
    offer = make_listing(own, ListingKind.OFFER, staff, quantity=10, title="Nurse days",
                         category="registered nurse", tags=["dbs-checked"],
                         available_until=date(2099, 1, 1))
    need = make_listing(own, ListingKind.NEED, premises, quantity=40, title="Clinic room",
                        category="clinic room", min_quantity=20, areas=["south"])
    other_offer = make_listing(other, ListingKind.OFFER, premises, quantity=100,
                               title="Spare clinic room", category="clinic room",
                               areas=["east"])
    return {"staff": staff, "premises": premises, "offer": offer, "need": need,
            "other_offer": other_offer, **users}


def snapshot(instance) -> dict:
    """Every column of `instance` as stored now (re-read from the database)."""
    model = type(instance)
    db.session.expire_all()
    fresh = db.session.get(model, instance.id)
    return {column.key: getattr(fresh, column.key) for column in sa_inspect(model).columns}


@pytest.fixture
def as_role(client, login, users):
    """`as_role(name)` logs the test client in as that role (logs it out for anonymous)
    and returns the user (None for anonymous)."""

    def act(role: str):
        if role == "anonymous":
            with client.session_transaction() as session:
                session.clear()
            return None
        user = users[role]
        login(user)
        return user

    return act


@pytest.fixture
def api_as(api_headers, users):
    return headers_for_role(api_headers, users)


def headers_for_role(api_headers, users):
    """`headers(role)` returns bearer headers for that role (none for anonymous)."""

    def headers(role: str, **extra) -> dict:
        if role == "anonymous":
            return dict(extra)
        return api_headers(users[role], **extra)

    return headers
