"""Fixtures of the demo history tests."""

from __future__ import annotations

import pytest

from app.demo.seed import SeedResult, seed_demo
from app.extensions import db


@pytest.fixture
def seeded(app) -> SeedResult:
    """The demo market with its history, seeded as `flask demo seed` does (today)."""
    result = seed_demo(history=True)
    db.session.commit()
    return result
