"""Market settings and currency forms refuse non-finite and absurd numbers with a 422
naming the field (issue 11: "inf", "-inf", "1e308", "sNaN" were a 500)."""

from __future__ import annotations

import pytest

from app.auth.models import Role
from app.extensions import db
from app.market.models import Currency, MarketSettings

VALID = {"max_cycle": "4", "max_chain": "2", "fairness_threshold": "0.6",
         "objective": "lexicographic", "time_limit_seconds": "20", "acceptance_days": "10",
         "delivery_days": "30"}
NOT_NUMBERS = ["inf", "-inf", "Infinity", "1e308", "-1e308", "sNaN", "NaN", "1e-400000000"]


@pytest.fixture
def admin_client(client, login, make_user):
    login(make_user(Role.ADMIN))
    MarketSettings.current()
    db.session.commit()
    return client


def _field_block(page: str, field: str) -> str:
    """The form's block for `field`: its label, input and error messages."""
    at = page.index(f'name="{field}"')
    start = page.rindex('<div class="field', 0, at)
    following = page.find('<div class="field', at)
    return page[start:following if following != -1 else len(page)]


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_a_fairness_threshold_that_is_no_finite_number_is_422(admin_client, value):
    before = MarketSettings.current().fairness_threshold
    response = admin_client.post("/market/settings", data={**VALID, "fairness_threshold": value})
    assert response.status_code == 422
    block = _field_block(response.get_data(as_text=True), "fairness_threshold")
    assert 'class="error"' in block
    db.session.expire_all()
    assert MarketSettings.current().fairness_threshold == before


def test_a_valid_threshold_is_still_saved(admin_client):
    response = admin_client.post("/market/settings", data={**VALID, "fairness_threshold": "0.75"})
    assert response.status_code == 302
    db.session.expire_all()
    assert float(MarketSettings.current().fairness_threshold) == 0.75


def test_more_than_three_places_is_still_refused(admin_client):
    response = admin_client.post("/market/settings", data={**VALID, "fairness_threshold": "0.1234"})
    assert response.status_code == 422
    assert "At most three decimal places." in response.get_data(as_text=True)


@pytest.mark.parametrize("value", NOT_NUMBERS)
def test_a_currency_value_that_is_no_finite_number_is_422(admin_client, value):
    response = admin_client.post("/market/currencies/new", data={
        "code": "hours", "name": "Hours", "unit": "hour", "value_per_unit": value,
        "active": "y", "categories": ""})
    assert response.status_code == 422
    block = _field_block(response.get_data(as_text=True), "value_per_unit")
    assert 'class="error"' in block
    assert db.session.execute(db.select(Currency).where(Currency.code == "hours")
                              ).scalar_one_or_none() is None
