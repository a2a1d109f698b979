"""The API keeps its own contract under generated input.

schemathesis reads /api/v1/openapi.json and, for every operation, generates
requests from the documented schemas (valid and invalid ones), sent as a member
and as a coordinator on a small market with an approved three-way exchange.
Every answer must: never be a 500, use a documented status code and content
type, and match the documented response schema. Refusals only the business
rules can make (a date range the wrong way round, a duplicate name) are
expected, so the check that every schema-valid request succeeds is left out.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from app import create_app
from app.api.docs import build_spec
from app.extensions import db
from app.proposals import services
from config import TestingConfig
from tests.proposals.helpers import cycle_fixture, market_fixture, propose_fixture  # noqa: F401

HTTP_METHODS = {"get", "post", "patch", "put", "delete"}


def _operations() -> list[tuple[str, str]]:
    with create_app(TestingConfig).test_request_context():
        paths = build_spec()["paths"]
    return [(method.upper(), path) for path, item in sorted(paths.items())
            for method in sorted(item) if method in HTTP_METHODS
            # Revoking the test's own token would end the session under test.
            and not path.endswith("/revoke")]


@pytest.mark.parametrize("role", ["member", "coordinator"])
@pytest.mark.parametrize(("method", "path"), _operations())
def test_operation_keeps_its_contract(app, market, cycle, api_headers, role, method, path):
    services.approve(market.coordinator, cycle.id)
    db.session.commit()
    headers = api_headers(market.members["A"] if role == "member" else market.coordinator)
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method]

    @settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case):
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()
