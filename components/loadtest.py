"""`python -m components loadtest`: a bounded load test, latency percentiles, container checks.

Sends exactly N requests with at most C in flight to one URL (default: the backend's health
endpoint), then reports p50/p95/p99 latency, error rate and throughput. When a Docker engine is
reachable it also samples `docker stats` during the run and reports, per container, peak memory and
CPU, restarts (RestartCount before vs after) and OOM kills (`docker inspect` State.OOMKilled plus
`oom` events, since a container restarted by its policy clears the flag).

Exit status: 0 when p95 is within --p95-max-ms, the error rate within --max-error-rate and no
container was OOM-killed; 1 otherwise; 2 on bad arguments, or when --docker was given and no engine
answers.

Pure functions (percentiles, the summary, Docker output parsing) are separate from the I/O that
feeds them, so they are tested on exact inputs.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_URL = "http://127.0.0.1:8000/api/health"
DEFAULT_P95_MAX_MS = 500.0  # the checklist's "API response time <500ms p95"


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


_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}


def parse_size(text: str) -> int:
    """Bytes from a Docker size such as '22.8MiB', '1.05kB' or '0B'."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*", text)
    if not match or match[2].lower() not in _SIZE_UNITS:
        raise ValueError(f"not a Docker size: {text!r}")
    return round(float(match[1]) * _SIZE_UNITS[match[2].lower()])


def parse_percent(text: str) -> float:
    """A float from a Docker percentage such as '12.34%' ('--' while a container starts is 0)."""
    stripped = text.strip()
    if stripped in ("--", ""):
        return 0.0
    if not stripped.endswith("%"):
        raise ValueError(f"not a Docker percentage: {text!r}")
    return float(stripped[:-1])


@dataclass(frozen=True)
class StatsSample:
    """One container in one `docker stats --no-stream --format '{{json .}}'` line."""

    name: str
    memory_bytes: int
    memory_limit_bytes: int
    cpu_percent: float


def parse_stats(output: str) -> list[StatsSample]:
    """Parse `docker stats --no-stream --format '{{json .}}'` output (one JSON object a line)."""
    samples = []
    for number, line in enumerate(output.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            used, _, limit = str(row["MemUsage"]).partition(" / ")
            samples.append(
                StatsSample(
                    name=str(row["Name"]),
                    memory_bytes=parse_size(used),
                    memory_limit_bytes=parse_size(limit),
                    cpu_percent=parse_percent(str(row["CPUPerc"])),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"docker stats line {number} is not understood: {exc}") from exc
    return samples


@dataclass(frozen=True)
class ContainerState:
    """What `docker inspect` says of a container: restart count and whether it was OOM-killed."""

    name: str
    restart_count: int
    oom_killed: bool
    status: str


def parse_inspect(output: str) -> dict[str, ContainerState]:
    """Parse `docker inspect` output (a JSON array of containers), keyed by container name."""
    try:
        containers = json.loads(output)
        states = {}
        for container in containers:
            name = str(container["Name"]).lstrip("/")
            state = container["State"]
            states[name] = ContainerState(
                name=name,
                restart_count=int(container["RestartCount"]),
                oom_killed=bool(state["OOMKilled"]),
                status=str(state["Status"]),
            )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"docker inspect output is not understood: {exc}") from exc
    return states


def parse_oom_events(output: str) -> Counter[str]:
    """Count `oom` events per container name in `docker events --format '{{json .}}'` output."""
    counts: Counter[str] = Counter()
    for number, line in enumerate(output.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            if event.get("Action") == "oom":
                counts[str(event["Actor"]["Attributes"]["name"])] += 1
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"docker events line {number} is not understood: {exc}") from exc
    return counts


@dataclass(frozen=True)
class ContainerReport:
    """One container over the run."""

    name: str
    peak_memory_bytes: int
    memory_limit_bytes: int
    peak_cpu_percent: float
    restarts: int
    oom_kills: int

    @property
    def peak_memory_percent(self) -> float:
        if self.memory_limit_bytes <= 0:
            return 0.0
        return 100 * self.peak_memory_bytes / self.memory_limit_bytes


def container_reports(
    before: dict[str, ContainerState],
    after: dict[str, ContainerState],
    samples: Iterable[StatsSample],
    oom_events: Counter[str],
) -> list[ContainerReport]:
    """Per container: peaks from the samples, restarts as the RestartCount delta, OOM kills as the
    larger of the events counted and the OOMKilled flag newly set (a restart clears the flag)."""
    peaks_mem: dict[str, int] = {}
    limits: dict[str, int] = {}
    peaks_cpu: dict[str, float] = {}
    for sample in samples:
        peaks_mem[sample.name] = max(peaks_mem.get(sample.name, 0), sample.memory_bytes)
        limits[sample.name] = sample.memory_limit_bytes
        peaks_cpu[sample.name] = max(peaks_cpu.get(sample.name, 0.0), sample.cpu_percent)
    reports = []
    for name in sorted(set(before) | set(after) | set(peaks_mem) | set(oom_events)):
        old = before.get(name)
        new = after.get(name)
        restarts = (new.restart_count if new else 0) - (old.restart_count if old else 0)
        flagged = 1 if new and new.oom_killed and not (old and old.oom_killed) else 0
        reports.append(
            ContainerReport(
                name=name,
                peak_memory_bytes=peaks_mem.get(name, 0),
                memory_limit_bytes=limits.get(name, 0),
                peak_cpu_percent=peaks_cpu.get(name, 0.0),
                restarts=max(restarts, 0),
                oom_kills=max(oom_events.get(name, 0), flagged),
            )
        )
    return reports


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


def _send_requests(
    url: str,
    total: int,
    concurrency: int,
    timeout: float,
    on_done: Callable[[], None],
) -> tuple[list[RequestResult], float]:
    """Send `total` GETs to `url` from `concurrency` threads, each on a keep-alive connection."""
    import http.client

    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    connection_class: type[http.client.HTTPConnection] = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    results: list[RequestResult] = []
    lock = threading.Lock()
    issued = 0

    def claim() -> bool:
        nonlocal issued
        with lock:
            if issued >= total:
                return False
            issued += 1
            return True

    def worker() -> None:
        conn: http.client.HTTPConnection | None = None
        while claim():
            if conn is None:
                conn = connection_class(parts.netloc, timeout=timeout)
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers={"User-Agent": "investment-loadtest"})
                response = conn.getresponse()
                response.read()
                result = RequestResult(time.perf_counter() - started, response.status)
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as exc:
                result = RequestResult(
                    time.perf_counter() - started, None, type(exc).__name__ + f": {exc}"
                )
                if conn is not None:
                    conn.close()
                conn = None
            with lock:
                results.append(result)
            on_done()
        if conn is not None:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - started


def _docker(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def docker_engine() -> str | None:
    """None when `docker info` answers; otherwise why Docker cannot be used."""
    if shutil.which("docker") is None:
        return "the docker CLI is not on PATH"
    try:
        info = _docker("info", "--format", "{{json .ServerVersion}}", timeout=15)
    except subprocess.TimeoutExpired:
        return "`docker info` did not answer within 15 s"
    if info.returncode != 0:
        detail = (info.stderr.strip() or info.stdout.strip()).splitlines()
        return "`docker info` failed: " + (detail[-1] if detail else f"exit {info.returncode}")
    return None


def docker_states() -> dict[str, ContainerState]:
    ids = _docker("ps", "--all", "--quiet")
    if ids.returncode != 0:
        raise RuntimeError(f"docker ps failed: {ids.stderr.strip()}")
    if not ids.stdout.split():
        return {}
    inspect = _docker("inspect", *ids.stdout.split())
    if inspect.returncode != 0:
        raise RuntimeError(f"docker inspect failed: {inspect.stderr.strip()}")
    return parse_inspect(inspect.stdout)


def docker_oom_events(since: float, until: float) -> Counter[str]:
    events = _docker(
        "events",
        "--since",
        str(int(since)),
        "--until",
        str(math.ceil(until)),
        "--filter",
        "type=container",
        "--filter",
        "event=oom",
        "--format",
        "{{json .}}",
    )
    if events.returncode != 0:
        raise RuntimeError(f"docker events failed: {events.stderr.strip()}")
    return parse_oom_events(events.stdout)


@dataclass
class StatsSampler:
    """Runs `docker stats --no-stream` in a loop on a thread until stopped."""

    interval: float
    samples: list[StatsSample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while True:
            try:
                stats = _docker("stats", "--no-stream", "--format", "{{json .}}")
                if stats.returncode == 0:
                    self.samples.extend(parse_stats(stats.stdout))
                else:
                    self.problems.append(f"docker stats failed: {stats.stderr.strip()}")
            except (subprocess.TimeoutExpired, ValueError) as exc:
                self.problems.append(str(exc))
            if self._stop.wait(self.interval):
                return


def validate_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"URL must be http:// or https:// with a host, got {url!r}"
        )
    return url


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "loadtest",
        help="bounded load test: latency percentiles, error rate, container OOM kills",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    parser.add_argument(
        "url", nargs="?", default=DEFAULT_URL, type=validate_url, metavar="URL", help=DEFAULT_URL
    )
    parser.add_argument(
        "-n", "--requests", type=_positive_int, default=1000, metavar="N", help="total (1000)"
    )
    parser.add_argument(
        "-c",
        "--concurrency",
        type=_positive_int,
        default=10,
        metavar="C",
        help="requests in flight at most (clamped to N)",
    )
    parser.add_argument(
        "--timeout", type=_positive_float, default=10.0, metavar="S", help="per request, seconds"
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


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    console = Console(stderr=True)
    concurrency = min(args.concurrency, args.requests)
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
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=args.quiet,
    ) as progress:
        task = progress.add_task(f"GET {args.url} x{concurrency}", total=args.requests)
        results, wall = _send_requests(
            args.url,
            args.requests,
            concurrency,
            args.timeout,
            lambda: progress.advance(task),
        )
    summary = summarize(results, wall)

    containers: list[ContainerReport] = []
    problems: list[str] = []
    if sampler is not None:
        sampler.stop()
        after = docker_states()
        ooms = docker_oom_events(started_at, time.time())
        containers = container_reports(before, after, sampler.samples, ooms)
        problems = sampler.problems
    verdict = judge(summary, containers, args.p95_max_ms, args.max_error_rate)

    if args.json:
        print(
            json.dumps(
                {
                    "url": args.url,
                    "concurrency": concurrency,
                    "summary": asdict(summary),
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
        _print_report(args, concurrency, summary, containers, docker_problem, problems, verdict)
    return verdict.exit_code


def _print_report(
    args: argparse.Namespace,
    concurrency: int,
    summary: Summary,
    containers: Sequence[ContainerReport],
    docker_problem: str | None,
    problems: Sequence[str],
    verdict: Verdict,
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{summary.requests} x GET {args.url}, concurrency {concurrency}")
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
    else:
        console.print(
            f"[green]PASS[/green] p95 {summary.p95_ms:.1f} ms <= {args.p95_max_ms:g} ms, "
            f"error rate {summary.error_rate:.2%}, no OOM kills"
        )
