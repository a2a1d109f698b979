"""Fixtures of the web-tier tests: the proposal fixtures (for the exchange drawing)."""

from tests.proposals.helpers import cycle_fixture, market_fixture, propose_fixture  # noqa: F401
