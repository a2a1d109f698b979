"""Property tests: on random small documents the engine's result is valid, its objective equals
an independent brute-force optimum, and the same input always gives the same output."""

from __future__ import annotations

import copy
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching_engine import solve

from .bruteforce import graph_optimum, market_optimum
from .strategies import (
    check_graph_result,
    check_market_result,
    graph_documents,
    market_documents,
)

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def without_stats(result: dict) -> dict:
    clean = copy.deepcopy(result)
    clean.pop("stats")
    return clean


@FAST
@given(graph_documents())
def test_graph_results_are_valid_and_optimal(doc):
    L, K = doc["settings"]["max_cycle"], doc["settings"]["max_chain"]
    result = solve(doc)
    check_graph_result(doc, result, L, K)
    assert result["status"] == "optimal" and result["optimal"]
    assert math.isclose(result["objective"], graph_optimum(doc, L, K), abs_tol=1e-6)
    assert math.isclose(result["bound"], result["objective"], abs_tol=1e-6)


@FAST
@given(graph_documents(integer_weights=False))
def test_graph_optimal_with_fractional_weights(doc):
    L, K = doc["settings"]["max_cycle"], doc["settings"]["max_chain"]
    result = solve(doc)
    check_graph_result(doc, result, L, K)
    assert math.isclose(result["objective"], graph_optimum(doc, L, K), abs_tol=1e-6)


@settings(max_examples=25, deadline=None)
@given(graph_documents(), st.integers(2, 4), st.integers(0, 3))
def test_graph_keyword_caps_override_the_document(doc, L, K):
    result = solve(doc, max_cycle=L, max_chain=K)
    check_graph_result(doc, result, L, K)
    assert math.isclose(result["objective"], graph_optimum(doc, L, K), abs_tol=1e-6)


@FAST
@given(market_documents())
def test_market_results_are_valid_and_optimal(doc):
    L, K = doc["settings"]["max_cycle"], doc["settings"]["max_chain"]
    result = solve(doc)
    check_market_result(doc, result, L, K)
    assert result["status"] == "optimal"
    best, _ = market_optimum(doc, L, K)
    levels = result["objectives"]
    if doc["settings"].get("objective") == "weighted":
        assert math.isclose(levels["weighted"], best[0], rel_tol=1e-6, abs_tol=1e-6)
        assert math.isclose(result["objective"], best[0], rel_tol=1e-6, abs_tol=1e-6)
    else:
        got = (levels["needs"], levels["value"], -levels["parties"], levels["completion"])
        for ours, theirs in zip(got, best, strict=True):
            assert math.isclose(ours, theirs, rel_tol=1e-6, abs_tol=1e-4), (got, best)
        assert result["objective"] == levels["needs"]


@settings(max_examples=30, deadline=None)
@given(st.one_of(market_documents(), graph_documents()))
def test_same_input_same_output(doc):
    first = solve(copy.deepcopy(doc))
    second = solve(copy.deepcopy(doc))
    assert without_stats(first) == without_stats(second)


@settings(max_examples=20, deadline=None)
@given(st.one_of(market_documents(), graph_documents()))
def test_results_are_strict_json(doc):
    import json

    text = json.dumps(solve(doc), allow_nan=False)  # raises on NaN or infinity anywhere
    assert json.loads(text)["status"] in ("optimal", "time_limit", "fallback")
