"""commands/loadtest/scenario.py: the weighted plan of requests over the platform's endpoints."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from commands.loadtest.scenario import (
    FUZZY_QUERIES,
    PLATFORM,
    SEARCH_QUERIES,
    Endpoint,
    Plan,
    single_url,
    weighted_order,
)


def test_weighted_order_holds_each_weight_once_per_period_spread_out():
    assert weighted_order([10, 6, 3, 1]) == [
        0, 1, 0, 2, 0, 1, 0, 1, 0, 2, 3, 0, 1, 0, 0, 1, 2, 0, 1, 0
    ]  # fmt: skip
    assert weighted_order([3, 1]) == [0, 0, 1, 0]
    assert weighted_order([1]) == [0]


@pytest.mark.parametrize("weights", [[], [2, 0]])
def test_weighted_order_rejects_weights_below_one(weights):
    message = f"weights must be whole numbers of at least 1, got {weights}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        weighted_order(weights)


def test_a_bounded_plan_hands_out_exactly_its_total_in_weighted_shares():
    plan = Plan(PLATFORM, 40)

    names = Counter(request.name for request in plan)

    assert names == {"search": 20, "stock detail": 12, "fuzzy search": 6, "health": 2}
    assert next(plan, None) is None
    assert (plan.issued, plan.exhausted) == (40, True)


def test_a_plan_takes_each_endpoints_values_in_turn_percent_encoded():
    endpoints = (
        Endpoint("search", 2, "/api/stocks/search?q={}", ("Nestlé", "L'Oréal", "societe generale")),
        Endpoint("stock detail", 1, "/api/stocks/{}", ("BRK.B",)),
    )

    paths = [request.path for request in Plan(endpoints, 6)]

    assert paths == [
        "/api/stocks/search?q=Nestl%C3%A9",
        "/api/stocks/BRK.B",
        "/api/stocks/search?q=L%27Or%C3%A9al",
        "/api/stocks/search?q=societe%20generale",
        "/api/stocks/BRK.B",
        "/api/stocks/search?q=Nestl%C3%A9",
    ]


def test_an_endless_plan_stops_when_closed():
    plan = Plan(single_url("/api/health?verbose=1"), None)

    first = [next(plan) for _ in range(1000)]
    plan.close()

    assert {(r.name, r.path) for r in first} == {("/api/health?verbose=1", "/api/health?verbose=1")}
    assert next(plan, None) is None
    assert plan.exhausted


def test_the_scenario_uses_the_backends_documented_routes():
    assert [(e.name, e.weight, e.template) for e in PLATFORM] == [
        ("search", 10, "/api/stocks/search?q={}"),
        ("stock detail", 6, "/api/stocks/{}"),
        # docs/SEARCH.md: the search route falls back to fuzzy_search_stocks() on no full-text hit.
        ("fuzzy search", 3, "/api/stocks/search?q={}"),
        ("health", 1, "/api/health"),
    ]
    assert not set(SEARCH_QUERIES) & set(FUZZY_QUERIES)
    # search_stocks() refuses queries over 256 characters (migration 0006).
    assert max(len(q) for q in SEARCH_QUERIES + FUZZY_QUERIES) <= 256
