"""An id no database could hold answers 404 on every route, never a 500."""

from __future__ import annotations

import re

import pytest

HUGE = "18446744073709551616"  # 2**64: beyond any integer column
INT_PART = re.compile(r"<int:[a-z_]+>")


def _routes_with_ids(app):
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, INT_PART.sub(HUGE, rule.rule)


@pytest.mark.parametrize("role", ["coordinator", "member"])
def test_every_route_answers_404_to_an_impossible_id(app, client, login, api_headers, users,
                                                     role):
    user = users[role]
    login(user)
    headers = api_headers(user)
    checked = 0
    for method, url in _routes_with_ids(app):
        response = client.open(url, method=method, json={},
                               headers=headers if url.startswith("/api/") else {})
        assert response.status_code == 404, (method, url, response.status_code)
        if url.startswith("/api/"):
            assert response.json["code"] == "not_found"
        checked += 1
    assert checked > 30  # every feature's id routes were exercised
