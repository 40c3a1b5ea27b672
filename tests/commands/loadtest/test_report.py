"""commands/loadtest/report.py: percentiles, summaries and the verdict on exact inputs."""

from __future__ import annotations

import re

import pytest

from commands.loadtest import (
    ContainerReport,
    RequestResult,
    Summary,
    judge,
    percentile,
    summarize,
    summarize_endpoints,
)


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0, 1.0), (50, 2.5), (95, 3.85), (99, 3.97), (100, 4.0), (25, 1.75)],
)
def test_percentile_interpolates_between_closest_ranks(q, expected):
    assert percentile([1.0, 2.0, 3.0, 4.0], q) == pytest.approx(expected)


def test_percentile_of_one_value_is_that_value():
    assert percentile([7.0], 99) == 7.0


@pytest.mark.parametrize(
    ("values", "q", "message"),
    [([], 50, "percentile of no values"), ([1.0], 101, "percentile must be within 0-100, got 101")],
)
def test_percentile_rejects_bad_input(values, q, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        percentile(values, q)


def test_summarize_counts_failed_statuses_and_exceptions_as_errors():
    results = [RequestResult(s / 1000, 200) for s in range(1, 9)]
    results += [RequestResult(0.009, 500), RequestResult(0.010, None, "TimeoutError: timed out")]

    summary = summarize(results, wall_seconds=0.5)

    assert (summary.requests, summary.errors, summary.error_rate) == (10, 2, 0.2)
    assert (summary.wall_seconds, summary.throughput) == (0.5, 20.0)
    assert summary.p50_ms == pytest.approx(5.5)
    assert summary.p95_ms == pytest.approx(9.55)
    assert summary.p99_ms == pytest.approx(9.91)
    assert summary.mean_ms == pytest.approx(5.5)
    assert summary.max_ms == pytest.approx(10.0)
    assert summary.statuses == {"200": 8, "500": 1, "error: TimeoutError: timed out": 1}


def test_summarize_refuses_an_empty_run():
    with pytest.raises(ValueError, match=r"^no requests to summarize\Z"):
        summarize([], 1.0)


def summary_with(p95_ms: float, errors: int = 0) -> Summary:
    return Summary(100, errors, errors / 100, 1.0, 100.0, 10.0, p95_ms, p95_ms, 10.0, p95_ms, {})


def test_judge_passes_a_run_within_every_limit():
    verdict = judge(summary_with(499.9), [], p95_max_ms=500, max_error_rate=0.0)

    assert verdict.failures == ()
    assert verdict.exit_code == 0


def test_judge_names_every_broken_limit():
    oom = ContainerReport("investment-backend", 512 << 20, 512 << 20, 99.0, restarts=1, oom_kills=1)

    verdict = judge(summary_with(612.34, errors=3), [oom], p95_max_ms=500, max_error_rate=0.01)

    assert verdict.failures == (
        "p95 latency 612.3 ms exceeds 500 ms",
        "error rate 3.00% (3 of 100) exceeds 1.00%",
        "container investment-backend was OOM-killed 1 time(s)",
    )
    assert verdict.exit_code == 1


def test_summarize_endpoints_groups_by_name_in_first_seen_order():
    results = [
        ("search", RequestResult(0.010, 200)),
        ("health", RequestResult(0.001, 503)),
        ("search", RequestResult(0.030, 200)),
    ]

    summaries = summarize_endpoints(results, wall_seconds=2.0)

    assert list(summaries) == ["search", "health"]
    assert (summaries["search"].requests, summaries["search"].errors) == (2, 0)
    assert summaries["search"].p50_ms == pytest.approx(20.0)
    assert summaries["search"].throughput == 1.0
    assert (summaries["health"].requests, summaries["health"].errors) == (1, 1)
    assert summaries["health"].statuses == {"503": 1}
