"""`flask listings expire` and `flask currencies seed`."""

from __future__ import annotations

from datetime import date

from app.extensions import db
from app.market.models import Currency, ListingStatus


def test_listings_expire(runner, make_listing):
    past = make_listing(available_from=date(2020, 1, 1), available_until=date(2020, 6, 30))
    current = make_listing(available_until=date(2099, 1, 1))
    result = runner.invoke(args=["listings", "expire"])
    assert result.exit_code == 0 and "1 listing(s) expired" in result.output
    db.session.expire_all()
    assert (past.status, current.status) == (ListingStatus.EXPIRED, ListingStatus.OPEN)
    assert "0 listing(s) expired" in runner.invoke(args=["listings", "expire"]).output


def test_currencies_seed_keeps_existing_values(runner, make_currency):
    make_currency("staff", value_per_unit=999)
    result = runner.invoke(args=["currencies", "seed"])
    assert result.exit_code == 0 and "jobs" in result.output
    values = {c.code: c.value_per_unit for c in db.session.execute(
        db.select(Currency)).scalars()}
    assert set(values) == {"staff", "jobs", "training", "premises"}
    assert values["staff"] == 999
    assert "already exist" in runner.invoke(args=["currencies", "seed"]).output
