"""commands/loadtest/: summaries, the plan and Docker parsing on exact inputs; the command, with
its Locust runner process, against a loopback server that serves the platform's endpoints."""

from __future__ import annotations

import json
import re
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from commands import loadtest
from commands.cli import main
from commands.loadtest import (
    ContainerReport,
    ContainerState,
    RequestResult,
    RunResult,
    RunSpec,
    StatsSample,
    Summary,
    container_reports,
    judge,
    parse_inspect,
    parse_oom_events,
    parse_size,
    parse_stats,
    percentile,
    summarize,
    summarize_endpoints,
)
from commands.loadtest.scenario import (
    FUZZY_QUERIES,
    PLATFORM,
    SEARCH_QUERIES,
    TICKERS,
    Endpoint,
    Plan,
    single_url,
    weighted_order,
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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0B", 0),
        ("22.8MiB", 23907533),
        ("7.667GiB", 8232378565),
        ("1.05kB", 1050),
        ("512MiB", 1 << 29),
    ],
)
def test_parse_size_reads_docker_units(text, expected):
    assert parse_size(text) == expected


def test_parse_size_rejects_other_text():
    with pytest.raises(ValueError, match=r"^not a Docker size: '12 parsecs'\Z"):
        parse_size("12 parsecs")


def json_lines(*rows: dict[str, object]) -> str:
    return "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)


# `docker stats --no-stream --format '{{json .}}'` output as Docker 28 prints it.
STATS_OUTPUT = json_lines(
    {
        "BlockIO": "1.2MB / 0B",
        "CPUPerc": "3.51%",
        "Container": "4f1b5a3c2d10",
        "ID": "4f1b5a3c2d10",
        "MemPerc": "12.50%",
        "MemUsage": "48MiB / 384MiB",
        "Name": "investment-postgres",
        "NetIO": "1.05kB / 0B",
        "PIDs": "9",
    },
    {
        "BlockIO": "0B / 0B",
        "CPUPerc": "48.02%",
        "Container": "9a8b7c6d5e4f",
        "ID": "9a8b7c6d5e4f",
        "MemPerc": "40.23%",
        "MemUsage": "206MiB / 512MiB",
        "Name": "investment-backend",
        "NetIO": "3.4MB / 5.1MB",
        "PIDs": "21",
    },
)


def test_parse_stats_reads_name_memory_and_cpu():
    assert parse_stats(STATS_OUTPUT) == [
        StatsSample("investment-postgres", 48 << 20, 384 << 20, 3.51),
        StatsSample("investment-backend", 206 << 20, 512 << 20, 48.02),
    ]


def test_parse_stats_names_the_line_it_cannot_read():
    with pytest.raises(ValueError, match=r"^docker stats line 2 is not understood: 'MemUsage'\Z"):
        parse_stats('{"Name":"a","MemUsage":"1MiB / 2MiB","CPUPerc":"1%"}\n{"Name":"b"}\n')


# Trimmed real `docker inspect` output: the fields the tool reads, where Docker puts them.
INSPECT_OUTPUT = json.dumps(
    [
        {
            "Id": "9a8b7c6d5e4f",
            "Name": "/investment-backend",
            "RestartCount": 2,
            "State": {
                "Status": "running",
                "Running": True,
                "Restarting": False,
                "OOMKilled": False,
                "Dead": False,
                "Pid": 4242,
                "ExitCode": 0,
            },
            "HostConfig": {"Memory": 536870912, "NanoCpus": 500000000},
        },
        {
            "Id": "4f1b5a3c2d10",
            "Name": "/investment-worker",
            "RestartCount": 0,
            "State": {"Status": "exited", "Running": False, "OOMKilled": True, "ExitCode": 137},
        },
    ]
)


def test_parse_inspect_reads_restarts_and_oom_flags():
    assert parse_inspect(INSPECT_OUTPUT) == {
        "investment-backend": ContainerState("investment-backend", 2, False, "running"),
        "investment-worker": ContainerState("investment-worker", 0, True, "exited"),
    }


def test_parse_inspect_rejects_other_json():
    with pytest.raises(ValueError, match=r"^docker inspect output is not understood: 'State'\Z"):
        parse_inspect('[{"Name": "/x", "RestartCount": 0}]')


def oom_event(action: str, name: str, time_nano: int) -> dict[str, object]:
    """A `docker events --format '{{json .}}'` line as Docker prints it."""
    return {
        "status": action,
        "id": "9a8b",
        "from": "backend:1.4.2",
        "Type": "container",
        "Action": action,
        "Actor": {"ID": "9a8b", "Attributes": {"image": "backend:1.4.2", "name": name}},
        "scope": "local",
        "time": time_nano // 10**9,
        "timeNano": time_nano,
    }


EVENTS_OUTPUT = json_lines(
    oom_event("oom", "investment-backend", 1795860000123456789),
    oom_event("die", "investment-backend", 1795860000223456789),
    oom_event("oom", "investment-backend", 1795860030123456789),
)


def test_parse_oom_events_counts_oom_actions_per_container():
    assert parse_oom_events(EVENTS_OUTPUT) == Counter({"investment-backend": 2})


def test_container_reports_take_restart_deltas_peaks_and_oom_kills():
    before = {
        "investment-backend": ContainerState("investment-backend", 1, False, "running"),
        "investment-worker": ContainerState("investment-worker", 0, False, "running"),
        "investment-redis": ContainerState("investment-redis", 0, True, "running"),
    }
    after = {
        "investment-backend": ContainerState("investment-backend", 3, False, "running"),
        "investment-worker": ContainerState("investment-worker", 0, True, "exited"),
        "investment-redis": ContainerState("investment-redis", 0, True, "running"),
    }
    samples = [
        StatsSample("investment-backend", 100 << 20, 512 << 20, 20.0),
        StatsSample("investment-backend", 300 << 20, 512 << 20, 80.5),
        StatsSample("investment-backend", 200 << 20, 512 << 20, 10.0),
    ]

    reports = container_reports(before, after, samples, Counter({"investment-backend": 2}))

    assert reports == [
        ContainerReport("investment-backend", 300 << 20, 512 << 20, 80.5, restarts=2, oom_kills=2),
        # The flag was already set before the run: not this run's kill.
        ContainerReport("investment-redis", 0, 0, 0.0, restarts=0, oom_kills=0),
        ContainerReport("investment-worker", 0, 0, 0.0, restarts=0, oom_kills=1),
    ]
    assert reports[0].peak_memory_percent == pytest.approx(58.59375)


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


def test_run_spec_and_result_cross_the_process_boundary_unchanged():
    spec = RunSpec("http://127.0.0.1:8000", None, 40, None, 4, 10.0)
    result = RunResult(
        1.5,
        [("search", RequestResult(0.012, 200)), ("health", RequestResult(0.5, None, "E: x"))],
        ["ZeroDivisionError: division by zero (2 times)"],
    )

    assert RunSpec.from_json(spec.to_json()) == spec
    assert RunResult.from_message(json.loads(json.dumps(result.to_message()))) == result


@pytest.mark.parametrize(("requests", "duration"), [(None, None), (10, 1.0)])
def test_run_spec_is_bounded_by_exactly_one_limit(requests, duration):
    message = "a run is bounded by exactly one of requests and duration"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        RunSpec("http://h", "/", requests, duration, 1, 1.0)


def _route(path: str) -> str:
    """The backend route a request path falls under."""
    parts = urlsplit(path)
    if parts.path == "/api/health":
        return "health"
    if parts.path == "/api/stocks/search":
        return "search"
    if parts.path.startswith("/api/stocks/"):
        return "detail"
    return parts.path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle on, the client's delayed ACK adds 40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        server = self.server
        route = _route(self.path)
        with server.lock:
            server.received += 1
            number = server.received
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
            server.routes[route] += 1
            server.user_agents.add(self.headers.get("User-Agent", ""))
            if route == "search":
                server.queries.append(parse_qs(urlsplit(self.path).query)["q"][0])
            elif route == "detail":
                server.tickers.append(unquote(urlsplit(self.path).path.rsplit("/", 1)[1]))
        try:
            status = 503 if route in server.failing else 200
            time.sleep(server.slow.get(route, 0.0))
            if match := re.fullmatch(r"/sleep/(\d+)", self.path):
                time.sleep(int(match[1]) / 1000)
            elif match := re.fullmatch(r"/fail-every/(\d+)", self.path):
                status = 500 if number % int(match[1]) == 0 else 200
            body = b'{"status":"ok"}' if status == 200 else b'{"status":"error"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        finally:
            with server.lock:
                server.in_flight -= 1

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    """The backend's four routes, any of them slowed down or failing on demand, and `/sleep/MS`
    and `/fail-every/N` for the single-URL mode; it counts what it received."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.received = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.routes: Counter[str] = Counter()
        self.queries: list[str] = []
        self.tickers: list[str] = []
        self.user_agents: set[str] = set()
        self.slow: dict[str, float] = {}
        self.failing: set[str] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def run_json(capsys, *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["loadtest", *args, "--no-docker", "--json", "--quiet"])
    return code, json.loads(capsys.readouterr().out)


def endpoint_counts(report: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Requests and errors per endpoint of a JSON report."""
    return {name: (e["requests"], e["errors"]) for name, e in report["endpoints"].items()}


def test_sends_exactly_n_requests_and_passes(server, capsys):
    code, report = run_json(capsys, f"{server.url}/api/health", "--requests", "50", "-c", "5")

    assert code == 0
    assert server.received == 50
    assert report["scenario"] == "single URL"
    assert report["summary"]["requests"] == 50
    assert report["summary"]["errors"] == 0
    assert report["summary"]["statuses"] == {"200": 50}
    assert endpoint_counts(report) == {"/api/health": (50, 0)}
    assert report["failures"] == []
    assert report["docker"] == "not requested (--no-docker)"
    assert server.user_agents == {"investment-loadtest"}


def test_never_has_more_than_c_requests_in_flight(server, capsys):
    code, report = run_json(capsys, f"{server.url}/sleep/100", "--requests", "12", "-c", "3")

    assert code == 0
    assert server.received == 12
    assert 2 <= server.max_in_flight <= 3
    # 12 requests of 100 ms, 3 at a time: at least 4 rounds.
    assert report["summary"]["wall_seconds"] >= 0.4
    assert report["summary"]["p50_ms"] >= 100


def test_concurrency_above_n_is_clamped(server, capsys):
    code, report = run_json(capsys, f"{server.url}/", "--requests", "3", "-c", "50")

    assert code == 0
    assert report["concurrency"] == 3
    assert server.received == 3


def test_error_rate_is_exact_and_fails_the_run(server, capsys):
    code, report = run_json(capsys, f"{server.url}/fail-every/5", "--requests", "40", "-c", "4")

    assert code == 1
    assert report["summary"]["errors"] == 8
    assert report["summary"]["error_rate"] == 0.2
    assert report["summary"]["statuses"] == {"200": 32, "500": 8}
    assert report["failures"] == ["error rate 20.00% (8 of 40) exceeds 0.00%"]


def test_errors_within_the_allowed_rate_pass(server, capsys):
    code, report = run_json(
        capsys, f"{server.url}/fail-every/5", "-n", "40", "-c", "4", "--max-error-rate", "0.2"
    )

    assert code == 0
    assert report["failures"] == []


def test_p95_over_the_threshold_fails_the_run(server, capsys):
    code, report = run_json(
        capsys, f"{server.url}/sleep/30", "-n", "10", "-c", "2", "--p95-max-ms", "5"
    )

    assert code == 1
    p95 = report["summary"]["p95_ms"]
    assert p95 >= 30
    assert report["failures"] == [f"p95 latency {p95:.1f} ms exceeds 5 ms"]


def test_p95_under_the_threshold_passes(server, capsys):
    code, _ = run_json(
        capsys, f"{server.url}/sleep/30", "-n", "10", "-c", "2", "--p95-max-ms", "5000"
    )

    assert code == 0


def test_refused_connections_are_errors(capsys):
    closed = _Server()
    url = closed.url
    closed.server_close()

    code, report = run_json(capsys, f"{url}/api/health", "-n", "4", "-c", "2")

    assert code == 1
    assert report["summary"]["errors"] == 4
    assert list(report["summary"]["statuses"]) == [
        "error: ConnectionRefusedError: [Errno 111] Connection refused"
    ]


def test_scenario_sends_exact_counts_per_endpoint_with_its_queries(server, capsys):
    code, report = run_json(capsys, "--scenario", server.url, "-n", "40", "-c", "4")

    assert code == 0
    assert (report["scenario"], report["url"], report["concurrency"]) == (
        "platform",
        server.url,
        4,
    )
    assert endpoint_counts(report) == {
        "search": (20, 0),
        "stock detail": (12, 0),
        "fuzzy search": (6, 0),
        "health": (2, 0),
    }
    # Search and fuzzy search share the backend's one search route.
    assert server.routes == {"search": 26, "detail": 12, "health": 2}
    # Accents, apostrophes and spaces arrive decoded, exactly as the scenario wrote them.
    assert sorted(server.queries) == sorted(SEARCH_QUERIES[:20] + FUZZY_QUERIES[:6])
    assert sorted(server.tickers) == sorted(TICKERS[:12])
    assert report["summary"]["statuses"] == {"200": 40}
    assert report["failures"] == []


def test_scenario_fails_on_a_failing_endpoints_error_rate(server, capsys):
    server.failing = {"health"}

    code, report = run_json(capsys, "--scenario", server.url, "-n", "40", "-c", "4")

    assert code == 1
    assert endpoint_counts(report)["health"] == (2, 2)
    assert report["endpoints"]["health"]["statuses"] == {"503": 2}
    assert report["summary"]["statuses"] == {"200": 38, "503": 2}
    assert report["failures"] == ["error rate 5.00% (2 of 40) exceeds 0.00%"]


def test_scenario_passes_with_the_failing_endpoints_share_allowed(server, capsys):
    server.failing = {"health"}

    code, report = run_json(
        capsys, "--scenario", server.url, "-n", "40", "-c", "4", "--max-error-rate", "0.05"
    )

    assert code == 0
    assert report["summary"]["errors"] == 2
    assert report["failures"] == []


def test_scenario_fails_on_p95_when_one_endpoint_is_slow(server, capsys):
    # 12 of 40 requests (30%) take at least 300 ms, so p95 is at least 300 ms, whatever the noise.
    server.slow = {"detail": 0.3}

    code, report = run_json(
        capsys, "--scenario", server.url, "-n", "40", "-c", "8", "--p95-max-ms", "100"
    )

    assert code == 1
    p95 = report["summary"]["p95_ms"]
    assert p95 >= 300
    assert report["endpoints"]["stock detail"]["p50_ms"] >= 300
    assert report["failures"] == [f"p95 latency {p95:.1f} ms exceeds 100 ms"]


def test_scenario_passes_when_the_slow_endpoint_is_within_the_limit(server, capsys):
    server.slow = {"detail": 0.3}

    code, report = run_json(
        capsys, "--scenario", server.url, "-n", "40", "-c", "8", "--p95-max-ms", "10000"
    )

    assert code == 0
    assert report["failures"] == []


def test_a_timed_run_sends_a_prefix_of_the_plan_and_finishes_what_it_started(server, capsys):
    code, report = run_json(capsys, "--scenario", server.url, "--duration", "0.5", "-c", "3")

    sent = report["summary"]["requests"]
    expected = Counter(request.name for request in Plan(PLATFORM, sent))
    assert code == 0
    assert (report["requests"], report["duration"], report["concurrency"]) == (None, 0.5, 3)
    assert sent == server.received > 0
    assert {name: e["requests"] for name, e in report["endpoints"].items()} == expected


def test_human_report_shows_percentiles_endpoints_and_verdict(server, capsys):
    code = main(["loadtest", "--scenario", server.url, "-n", "20", "-c", "2", "--no-docker"])

    out = capsys.readouterr().out
    assert code == 0
    assert f"20 requests, platform scenario on {server.url}, concurrency 2" in out
    assert "latency p95" in out
    assert "throughput" in out
    assert "per endpoint (latency in ms)" in out
    assert re.search(r"│ fuzzy search +│ +3 │ +0 │ [ .0-9│]+│ /api/stocks/se", out)
    assert "containers: not checked (not requested (--no-docker))" in out
    assert "PASS p95" in out


def test_the_command_process_never_imports_locust(server, capsys):
    # Locust monkey-patches the process it is imported in; only the runner process may do that.
    run_json(capsys, "--scenario", server.url, "-n", "4", "-c", "2")

    assert "locust" not in sys.modules
    assert "gevent" not in sys.modules


def test_a_runner_that_cannot_start_exits_2_and_sends_nothing(server, capsys, monkeypatch):
    monkeypatch.setattr(sys, "executable", shutil.which("false"))

    code = main(["loadtest", f"{server.url}/", "-n", "5", "--no-docker", "--quiet"])

    assert code == 2
    assert server.received == 0
    assert "the Locust runner exited with status 1; its error is above" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["ftp://127.0.0.1/x"],
            "argument URL: URL must be http:// or https:// with a host, got 'ftp://127.0.0.1/x'",
        ),
        (
            ["http:///nohost"],
            "argument URL: URL must be http:// or https:// with a host, got 'http:///nohost'",
        ),
        (["--requests", "0"], "argument -n/--requests: must be at least 1, got 0"),
        (["-c", "0"], "argument -c/--concurrency: must be at least 1, got 0"),
        (["-n", "ten"], "argument -n/--requests: must be a whole number, got 'ten'"),
        (["--timeout", "0"], "argument --timeout: must be a positive number, got 0"),
        (
            ["--max-error-rate", "1.5"],
            "argument --max-error-rate: must be between 0 and 1, got 1.5",
        ),
        (["-t", "0"], "argument -t/--duration: must be a positive number, got 0"),
        (["-n", "5", "-t", "1"], "argument -t/--duration: not allowed with argument -n/--requests"),
        (
            ["--scenario", "http://127.0.0.1:8000/api/health"],
            "argument --scenario: the base URL must be http:// or https:// with a host and no "
            "path (the scenario requests /api/...), got 'http://127.0.0.1:8000/api/health'",
        ),
        (
            ["http://127.0.0.1:8000/api/health", "--scenario"],
            "argument --scenario: not allowed with argument URL",
        ),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["loadtest", *args])

    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(f"python -m commands loadtest: error: {message}\n")
    assert err.count("error:") == 1


@pytest.fixture
def no_engine(monkeypatch, tmp_path):
    """This machine's docker CLI, pointed at a socket with no engine behind it."""
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")


def test_docker_engine_reports_why_it_is_unreachable(no_engine, tmp_path):
    problem = loadtest.docker_engine()

    if shutil.which("docker") is None:
        assert problem == "the docker CLI is not on PATH"
    else:
        assert problem is not None
        assert problem.startswith("`docker info` failed: ")
        assert f"{tmp_path}/no-engine.sock" in problem


def test_required_docker_without_an_engine_exits_2(no_engine, server, capsys):
    code = main(["loadtest", f"{server.url}/", "-n", "5", "--docker", "--quiet"])

    assert code == 2
    assert "--docker: no Docker engine reachable: " in capsys.readouterr().err
    assert server.received == 0


def test_without_an_engine_the_run_goes_on_without_container_checks(no_engine, server, capsys):
    code = main(["loadtest", f"{server.url}/", "-n", "5", "--json", "--quiet"])

    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 0
    assert report["containers"] == []
    assert report["docker"] == loadtest.docker_engine()
    assert "container checks skipped" in captured.err
