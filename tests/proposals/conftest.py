"""Fixtures of the proposal lifecycle tests (defined in helpers.py so the API
tests can import them too)."""

from tests.proposals.helpers import cycle_fixture, market_fixture, propose_fixture  # noqa: F401
