"""`python -m commands loadtest`, with its Locust runner process, against a loopback server that
serves the platform's endpoints: exact counts, concurrency, error rates, p95 and the exit code."""

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
from commands.loadtest.scenario import (
    FUZZY_QUERIES,
    PLATFORM,
    SEARCH_QUERIES,
    TICKERS,
    Plan,
)


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
