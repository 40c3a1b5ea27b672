"""What a load test measured and whether it passed: pure functions over exact inputs."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from commands.loadtest.containers import ContainerReport


@dataclass(frozen=True)
class RequestResult:
    """One request: its wall time, the HTTP status if one came back, and the failure if any."""

    seconds: float
    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 400


@dataclass(frozen=True)
class Summary:
    """What a run measured; latencies are of every request, failed ones included."""

    requests: int
    errors: int
    error_rate: float
    wall_seconds: float
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    statuses: dict[str, int]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks (numpy's default method)."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0-100, got {q}")
    rank = (len(sorted_values) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    fraction = rank - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * fraction


def summarize(results: Sequence[RequestResult], wall_seconds: float) -> Summary:
    """Counts, error rate, throughput (requests per wall second) and latency percentiles."""
    if not results:
        raise ValueError("no requests to summarize")
    latencies_ms = sorted(r.seconds * 1000 for r in results)
    errors = sum(1 for r in results if not r.ok)
    statuses = Counter(
        str(r.status) if r.status is not None else f"error: {r.error}" for r in results
    )
    return Summary(
        requests=len(results),
        errors=errors,
        error_rate=errors / len(results),
        wall_seconds=wall_seconds,
        throughput=len(results) / wall_seconds if wall_seconds > 0 else float("inf"),
        p50_ms=percentile(latencies_ms, 50),
        p95_ms=percentile(latencies_ms, 95),
        p99_ms=percentile(latencies_ms, 99),
        mean_ms=sum(latencies_ms) / len(latencies_ms),
        max_ms=latencies_ms[-1],
        statuses=dict(sorted(statuses.items())),
    )


def summarize_endpoints(
    results: Iterable[tuple[str, RequestResult]], wall_seconds: float
) -> dict[str, Summary]:
    """One summary per endpoint name, in the order each endpoint was first seen; throughput is
    that endpoint's requests over the whole run's wall time."""
    grouped: dict[str, list[RequestResult]] = {}
    for name, result in results:
        grouped.setdefault(name, []).append(result)
    return {name: summarize(group, wall_seconds) for name, group in grouped.items()}


@dataclass(frozen=True)
class Verdict:
    """Whether the run passed, and why not."""

    failures: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


def judge(
    summary: Summary,
    containers: Sequence[ContainerReport],
    p95_max_ms: float,
    max_error_rate: float,
) -> Verdict:
    """Fail on p95 above its limit, an error rate above its limit, or any OOM kill."""
    failures = []
    if summary.p95_ms > p95_max_ms:
        failures.append(f"p95 latency {summary.p95_ms:.1f} ms exceeds {p95_max_ms:g} ms")
    if summary.error_rate > max_error_rate:
        failures.append(
            f"error rate {summary.error_rate:.2%} ({summary.errors} of {summary.requests}) "
            f"exceeds {max_error_rate:.2%}"
        )
    for report in containers:
        if report.oom_kills:
            failures.append(f"container {report.name} was OOM-killed {report.oom_kills} time(s)")
    return Verdict(tuple(failures))
