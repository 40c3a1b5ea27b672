"""`python -m commands loadtest`: a bounded Locust load test, latency percentiles, containers.

Plays either one URL (default: the backend's health endpoint) or, with --scenario, the platform's
mix of search, fuzzy search, stock detail and health (scenario.py), with Locust users run
headless in a child process (runner.py). A run is exactly N requests, or every request issued in
a fixed duration, with at most C in flight. It reports p50/p95/p99 latency, error rate and
throughput, overall and per endpoint. When a Docker engine is reachable it also samples
`docker stats` during the run and reports, per container, peak memory and CPU, restarts
(RestartCount before vs after) and OOM kills (`docker inspect` State.OOMKilled plus `oom` events,
since a container restarted by its policy clears the flag).

Exit status: 0 when p95 is within --p95-max-ms, the error rate within --max-error-rate and no
container was OOM-killed; 1 otherwise; 2 on bad arguments, when --docker was given and no engine
answers, or when the Locust runner could not run.

Pure functions (percentiles, summaries, the plan, Docker output parsing) are separate from the
I/O that feeds them, so they are tested on exact inputs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from commands.loadtest.containers import (
    ContainerReport,
    ContainerState,
    StatsSample,
    StatsSampler,
    container_reports,
    docker_engine,
    docker_oom_events,
    docker_states,
    parse_inspect,
    parse_oom_events,
    parse_percent,
    parse_size,
    parse_stats,
)
from commands.loadtest.protocol import RunResult, RunSpec
from commands.loadtest.report import (
    RequestResult,
    Summary,
    Verdict,
    judge,
    percentile,
    summarize,
    summarize_endpoints,
)
from commands.loadtest.scenario import Endpoint

__all__ = [
    "ContainerReport",
    "ContainerState",
    "RequestResult",
    "RunResult",
    "RunSpec",
    "StatsSample",
    "Summary",
    "Verdict",
    "add_parser",
    "container_reports",
    "docker_engine",
    "judge",
    "parse_inspect",
    "parse_oom_events",
    "parse_percent",
    "parse_size",
    "parse_stats",
    "percentile",
    "run",
    "summarize",
    "summarize_endpoints",
]

DEFAULT_URL = "http://127.0.0.1:8000/api/health"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_REQUESTS = 1000
DEFAULT_P95_MAX_MS = 500.0  # the checklist's "API response time <500ms p95"
_ROOT = Path(__file__).resolve().parents[2]


class RunnerFailed(RuntimeError):
    """The Locust runner process ended without a result."""


def play(spec: RunSpec, on_progress: Callable[[int], None]) -> RunResult:
    """Run `spec` in a Locust runner process; `on_progress` gets the count of requests done."""
    path = os.pathsep.join(p for p in (str(_ROOT), os.environ.get("PYTHONPATH")) if p)
    result: RunResult | None = None
    with subprocess.Popen(
        [sys.executable, "-m", "commands.loadtest.runner", spec.to_json()],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            message = json.loads(line)
            if message["event"] == "progress":
                on_progress(int(message["completed"]))
            elif message["event"] == "result":
                result = RunResult.from_message(message)
                on_progress(len(result.requests))
    if process.returncode != 0 or result is None:
        raise RunnerFailed(f"the Locust runner exited with status {process.returncode}")
    return result


def validate_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"URL must be http:// or https:// with a host, got {url!r}"
        )
    return url


def validate_base_url(url: str) -> str:
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise argparse.ArgumentTypeError(
            "the base URL must be http:// or https:// with a host and no path "
            f"(the scenario requests /api/...), got {url!r}"
        )
    return url.rstrip("/")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def _positive_float(text: str) -> float:
    value = _number(text)
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _rate(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "loadtest",
        help="bounded load test: latency percentiles, error rate, container OOM kills",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "url",
        nargs="?",
        type=validate_url,
        metavar="URL",
        help=f"request only this URL ({DEFAULT_URL})",
    )
    target.add_argument(
        "--scenario",
        nargs="?",
        const=DEFAULT_BASE_URL,
        type=validate_base_url,
        metavar="BASE_URL",
        help="play the platform scenario (search, fuzzy search, stock detail, health) against "
        f"BASE_URL ({DEFAULT_BASE_URL})",
    )
    bound = parser.add_mutually_exclusive_group()
    bound.add_argument(
        "-n",
        "--requests",
        type=_positive_int,
        metavar="N",
        help=f"send exactly N requests ({DEFAULT_REQUESTS})",
    )
    bound.add_argument(
        "-t",
        "--duration",
        type=_positive_float,
        metavar="S",
        help="issue requests for S seconds instead, then let those in flight finish",
    )
    parser.add_argument(
        "-c",
        "--concurrency",
        type=_positive_int,
        default=10,
        metavar="C",
        help="Locust users, so requests in flight at most (clamped to N)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive_float,
        default=10.0,
        metavar="S",
        help="per request: to connect, and for each read, seconds",
    )
    parser.add_argument(
        "--p95-max-ms",
        type=_positive_float,
        default=DEFAULT_P95_MAX_MS,
        metavar="MS",
        help="fail when p95 latency is above this (500, the checklist's target)",
    )
    parser.add_argument(
        "--max-error-rate",
        type=_rate,
        default=0.0,
        metavar="R",
        help="fail when more than this fraction of requests fail (default 0: any failure)",
    )
    docker = parser.add_mutually_exclusive_group()
    docker.add_argument(
        "--docker",
        dest="docker",
        action="store_const",
        const="required",
        default="auto",
        help="require a Docker engine (default: use one when reachable)",
    )
    docker.add_argument(
        "--no-docker", dest="docker", action="store_const", const="off", help="skip Docker checks"
    )
    parser.add_argument(
        "--stats-interval",
        type=_positive_float,
        default=2.0,
        metavar="S",
        help="pause between `docker stats` samples",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run_spec(args: argparse.Namespace) -> RunSpec:
    """The runner's spec from the command's arguments."""
    requests = None
    if args.duration is None:
        requests = args.requests if args.requests is not None else DEFAULT_REQUESTS
    users = args.concurrency if requests is None else min(args.concurrency, requests)
    if args.scenario is not None:
        return RunSpec(args.scenario, None, requests, args.duration, users, args.timeout)
    parts = urlsplit(args.url or DEFAULT_URL)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = f"{parts.scheme}://{parts.netloc}"
    return RunSpec(host, path, requests, args.duration, users, args.timeout)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console(stderr=True)
    spec = run_spec(args)
    target = args.scenario or args.url or DEFAULT_URL
    docker_problem: str | None = "not requested (--no-docker)"
    if args.docker != "off":
        docker_problem = docker_engine()
        if docker_problem and args.docker == "required":
            console.print(f"[red]--docker: no Docker engine reachable: {docker_problem}[/red]")
            return 2
        if docker_problem:
            console.print(
                f"Docker engine not reachable ({docker_problem}); container checks skipped"
            )

    before: dict[str, ContainerState] = {}
    sampler: StatsSampler | None = None
    if docker_problem is None:
        before = docker_states()
        sampler = StatsSampler(args.stats_interval)
        sampler.start()

    started_at = time.time()
    what = "platform scenario" if spec.path is None else f"GET {target}"
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=args.quiet,
    ) as progress:
        task = progress.add_task(f"{what} x{spec.users}", total=spec.requests)
        try:
            outcome = play(spec, lambda done: progress.update(task, completed=done))
        except RunnerFailed as exc:
            if sampler is not None:
                sampler.stop()
            console.print(f"[red]{exc}; its error is above[/red]")
            return 2

    containers: list[ContainerReport] = []
    problems: list[str] = []
    if sampler is not None:
        sampler.stop()
        after = docker_states()
        ooms = docker_oom_events(started_at, time.time())
        containers = container_reports(before, after, sampler.samples, ooms)
        problems = sampler.problems

    results = [result for _, result in outcome.requests]
    summary = summarize(results, outcome.wall_seconds) if results else None
    per_endpoint = summarize_endpoints(outcome.requests, outcome.wall_seconds)
    endpoints = {
        e.name: (e, per_endpoint[e.name]) for e in spec.endpoints if e.name in per_endpoint
    }
    failures = [f"the scenario raised {exception}" for exception in outcome.exceptions]
    if summary is None:
        failures.append("no request was completed")
    else:
        failures[:0] = judge(summary, containers, args.p95_max_ms, args.max_error_rate).failures
    verdict = Verdict(tuple(failures))

    if args.json:
        print(
            json.dumps(
                {
                    "url": target,
                    "scenario": "single URL" if spec.path is not None else "platform",
                    "requests": spec.requests,
                    "duration": spec.duration,
                    "concurrency": spec.users,
                    "summary": asdict(summary) if summary else None,
                    "endpoints": {
                        name: {"path": endpoint.template, "weight": endpoint.weight, **asdict(s)}
                        for name, (endpoint, s) in endpoints.items()
                    },
                    "containers": [
                        {**asdict(c), "peak_memory_percent": c.peak_memory_percent}
                        for c in containers
                    ],
                    "docker": docker_problem or "sampled",
                    "failures": list(verdict.failures),
                },
                indent=2,
            )
        )
    else:
        _print_report(
            args, spec, target, summary, endpoints, containers, docker_problem, problems, verdict
        )
    return verdict.exit_code


def _print_report(
    args: argparse.Namespace,
    spec: RunSpec,
    target: str,
    summary: Summary | None,
    endpoints: dict[str, tuple[Endpoint, Summary]],
    containers: Sequence[ContainerReport],
    docker_problem: str | None,
    problems: Sequence[str],
    verdict: Verdict,
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if summary is not None:
        if spec.path is None:
            title = f"{summary.requests} requests, platform scenario on {target}"
        else:
            title = f"{summary.requests} x GET {target}"
        console.print(f"{title}, concurrency {spec.users}", soft_wrap=True)
        table = Table()
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row("requests", str(summary.requests))
        table.add_row("errors", f"{summary.errors} ({summary.error_rate:.2%})")
        table.add_row("throughput", f"{summary.throughput:.1f} req/s")
        table.add_row("wall time", f"{summary.wall_seconds:.2f} s")
        for label, value in (
            ("p50", summary.p50_ms),
            ("p95", summary.p95_ms),
            ("p99", summary.p99_ms),
            ("mean", summary.mean_ms),
            ("max", summary.max_ms),
        ):
            table.add_row(f"latency {label}", f"{value:.1f} ms")
        table.add_row("responses", ", ".join(f"{k}: {v}" for k, v in summary.statuses.items()))
        console.print(table)

        by_endpoint = Table(title="per endpoint (latency in ms)")
        by_endpoint.add_column("endpoint")
        for column in ("requests", "errors", "p50", "p95", "p99", "max"):
            by_endpoint.add_column(column, justify="right")
        # Last, so that on a narrow terminal only the path wraps.
        by_endpoint.add_column("path", overflow="fold")
        for name, (endpoint, s) in endpoints.items():
            by_endpoint.add_row(
                name,
                str(s.requests),
                str(s.errors),
                f"{s.p50_ms:.1f}",
                f"{s.p95_ms:.1f}",
                f"{s.p99_ms:.1f}",
                f"{s.max_ms:.1f}",
                endpoint.template,
            )
        console.print(by_endpoint)
    if docker_problem is None:
        docker_table = Table(title="containers during the run")
        for column in ("container", "peak memory", "limit", "peak %", "peak CPU %"):
            docker_table.add_column(column, justify="right" if column != "container" else "left")
        docker_table.add_column("restarts", justify="right")
        docker_table.add_column("OOM kills", justify="right")
        for c in containers:
            docker_table.add_row(
                c.name,
                f"{c.peak_memory_bytes / 1_048_576:.1f} MiB",
                f"{c.memory_limit_bytes / 1_048_576:.0f} MiB",
                f"{c.peak_memory_percent:.1f}",
                f"{c.peak_cpu_percent:.1f}",
                str(c.restarts),
                str(c.oom_kills),
            )
        console.print(docker_table)
        for problem in problems:
            console.print(f"[yellow]sampling problem: {problem}[/yellow]")
    else:
        console.print(f"containers: not checked ({docker_problem})")
    if verdict.failures:
        for failure in verdict.failures:
            console.print(f"[red]FAIL[/red] {failure}")
    elif summary is not None:
        console.print(
            f"[green]PASS[/green] p95 {summary.p95_ms:.1f} ms <= {args.p95_max_ms:g} ms, "
            f"error rate {summary.error_rate:.2%}, no OOM kills"
        )
