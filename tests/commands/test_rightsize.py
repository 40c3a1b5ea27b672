"""`python -m commands rightsize` against Debian's real Prometheus, loaded with two days of
generated cAdvisor history (tests/support/cadvisor_history.py: daily cycles, spikes, an
OOM-killed celery_worker, a throttled nginx, idle grafana and redis, airflow started 12 h before
the end, no frontend series at all), converted by `promtool tsdb create-blocks-from openmetrics`.

The stack files are written in a copy of the repository, so the checkout's own stay untouched.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from commands.rightsize import end_arg
from tests.support.cadvisor_history import build_tsdb, prometheus_on
from tests.support.tools import COPY_IGNORE, ROOT, free_port, run_command

pytestmark = [pytest.mark.promtool]

END = "2026-11-01T00:00:00Z"
WINDOW = "2d"
STEP_S = 60


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Prometheus serving the generated history."""
    tmp = tmp_path_factory.mktemp("rightsize-prometheus")
    end = int(end_arg(END))
    build_tsdb(tmp / "data", end - 2 * 86400, end, STEP_S)
    with prometheus_on(tmp / "data", tmp / "config") as url:
        yield url


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repository whose stack files the tests may write."""
    copy = tmp_path_factory.mktemp("rightsize-repo") / "repo"
    shutil.copytree(ROOT, copy, ignore=COPY_IGNORE)
    return copy


@pytest.fixture
def stacks(repo: Path) -> Iterator[Path]:
    """The repository copy, its stack files restored after each test."""
    saved = {p.name: p.read_bytes() for p in repo.glob("Pulumi.*.yaml")}
    yield repo
    for name, data in saved.items():
        (repo / name).write_bytes(data)


def rightsize(url: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return run_command("rightsize", "--prometheus", url, "--end", END, *args, cwd=cwd)


EXPECTED = {
    # service: (status, current cpus, recommended, current MiB, recommended)
    "postgres": ("recommended", 0.75, 0.25, 384, 352),
    "redis": ("recommended", 0.2, 0.1, 128, 64),
    "backend": ("recommended", 0.5, 0.2, 512, 352),
    "celery_worker": ("recommended", 0.75, 0.3, 512, 640),
    "celery_beat": ("recommended", 0.1, 0.1, 160, 96),
    "airflow": ("insufficient", 0.5, 0.5, 512, 512),
    "prometheus": ("recommended", 0.25, 0.1, 320, 208),
    "grafana": ("recommended", 0.25, 0.1, 256, 160),
    "frontend": ("missing", 0.1, 0.1, 64, 64),
    "certbot": ("recommended", 0.1, 0.1, 96, 64),
    "nginx": ("recommended", 0.25, 0.35, 64, 32),
    "backup": ("recommended", 0.25, 0.1, 128, 64),
    "postgres_exporter": ("recommended", 0.1, 0.1, 48, 24),
    "redis_exporter": ("recommended", 0.1, 0.1, 32, 16),
    "celery_exporter": ("recommended", 0.1, 0.1, 96, 64),
    "nginx_exporter": ("recommended", 0.1, 0.1, 24, 16),
    "cadvisor": ("recommended", 0.2, 0.15, 160, 96),
    "statsd_exporter": ("recommended", 0.1, 0.1, 32, 16),
}


def _json(url: str, *args: str, cwd: Path = ROOT) -> dict[str, Any]:
    proc = rightsize(url, "--stack", "prod", "--window", WINDOW, "--format", "json", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def test_every_service_gets_a_recommendation_from_its_usage(prometheus: str) -> None:
    doc = _json(prometheus)
    got = {
        r["service"]: (
            r["status"],
            r["cpus"]["current"],
            r["cpus"]["recommended"],
            r["memoryMib"]["current"],
            r["memoryMib"]["recommended"],
        )
        for r in doc["recommendations"]
    }
    assert got == EXPECTED
    why = {r["service"]: r["explanation"] for r in doc["recommendations"]}
    assert why["backend"] == [
        "cpus 0.5→0.2: p95 CPU 0.171 + 15% margin",
        "memory 512→352 MiB: p99 working set 299 MiB + 15% margin",
    ]
    assert why["celery_worker"][1] == (
        "memory 512→640 MiB: 3 OOM kills: limit 512 MiB + 20% (VPA's OOM bump)"
    )
    assert why["nginx"][0] == "cpus 0.25→0.35: throttled in 23% of CFS periods: limit 0.25 + 25%"
    assert why["backup"][1] == (
        "memory 128→64 MiB: the service's floor (peak working set 49 MiB + 5% (p99 9 MiB) is "
        "below it)"
    )
    assert why["grafana"][0] == "cpus 0.25→0.1: floor 0.1 (p95 CPU 0.003 + 15% margin is below it)"
    assert why["airflow"] == [
        "cpus 0.5 kept: only 12.0 h of samples (24 h needed)",
        "memory 512 MiB kept: only 12.0 h of samples (24 h needed)",
    ]
    assert why["frontend"] == [
        "cpus 0.1 kept: no cAdvisor series for it in the window",
        "memory 64 MiB kept: no cAdvisor series for it in the window",
    ]


def test_usage_is_read_as_the_deployment_records_it(prometheus: str) -> None:
    usage = {r["service"]: r["usage"] for r in _json(prometheus)["recommendations"]}
    assert usage["frontend"] is None
    assert usage["airflow"]["coveredH"] == 12.0
    assert usage["backend"]["coveredH"] == 48.0
    assert (usage["celery_worker"]["oomKills"], usage["celery_worker"]["restarts"]) == (3, 3)
    assert (usage["backend"]["oomKills"], usage["backend"]["restarts"]) == (0, 0)
    assert round(usage["nginx"]["throttledRatio"], 2) == 0.23
    assert usage["postgres"]["throttledRatio"] == 0.0
    # The working set of the OOM-killed service stops just under its 512 MiB limit.
    assert 511 < usage["celery_worker"]["memoryPeakMib"] < 512


def test_raises_above_the_catalogue_are_catalogue_changes(prometheus: str) -> None:
    doc = _json(prometheus)
    assert doc["catalogueChanges"] == [
        "celery_worker: raise memory_mib 512→640 in model/catalogue.py (a stack file cannot go "
        "above the catalogue)",
        "nginx: raise cpus 0.25→0.35 in model/catalogue.py (a stack file cannot go above the "
        "catalogue)",
    ]
    assert doc["stackChanges"]["celery_worker"] == {"cpus": 0.3}
    assert doc["stackChanges"]["nginx"] == {"memoryMib": 32}
    assert "airflow" not in doc["stackChanges"]
    assert "frontend" not in doc["stackChanges"]


def test_the_cost_diff_is_the_cost_commands(prometheus: str) -> None:
    proc = rightsize(prometheus, "--stack", "prod", "--window", WINDOW, "--format", "markdown")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for line in (
        "| backend | 0.5→0.2 | 512→352 MiB | 0 | 0 | 0% | cpus 0.5→0.2: p95 CPU 0.171 + 15% "
        "margin; memory 512→352 MiB: p99 working set 299 MiB + 15% margin |",
        "| airflow | 0.5 | 512 MiB | 0 | 0 | 0% | kept: only 12.0 h of samples (24 h needed) |",
        "| frontend | 0.1 | 64 MiB | - | - | - | kept: no cAdvisor series for it in the window |",
        "- The recommended limits fit the stack's host plan hetzner-cx33.",
        "- They also fit hetzner-cx23 ($4.63/month): hostPlan: hetzner-cx23 would bill "
        "$2.90/month less than hetzner-cx33 ($7.53).",
        "### 💰 Monthly cost will change by +$0.00 ($8.78 -> $8.78); 17.6% of the $50.00 budget",
        "Comparing **recommendation (2d)** against **stack prod**.",
        "| backend | $0.73 | $0.37 | -$0.36 | cpus 0.5→0.2, memory 512→352 MiB |",
        "| celery_worker | $1.05 | $0.57 | -$0.48 | cpus 0.75→0.3, memory 512→640 MiB |",
        "| idle | $0.81 | $2.50 | +$1.69 | unallocated capacity |",
        "| **billed total** | **$8.78** | **$8.78** | **+$0.00** | |",
        "Cheapest preset plan that fits these limits: hetzner-cx23.",
    ):
        assert line in out.splitlines(), line


def test_table_format_prints_the_recommendation_and_the_diff(prometheus: str) -> None:
    proc = rightsize(prometheus, "--stack", "prod", "--window", WINDOW)
    assert proc.returncode == 0, proc.stderr
    assert "Right-sizing of stack prod from 2d of usage ending 2026-11-01T00:00:00Z" in proc.stdout
    assert "recommendation (2d) vs stack prod" in proc.stdout
    assert "Monthly cost will change by +$0.00 ($8.78 -> $8.78)" in proc.stdout


PROD_SERVICES = """\
  investment-platform:services:
    postgres:
      cpus: 0.25
      memoryMib: 352
    redis:
      cpus: 0.1
      memoryMib: 64
    backend:
      cpus: 0.2
      memoryMib: 352
    celery_worker:
      cpus: 0.3
    celery_beat:
      memoryMib: 96
    prometheus:
      cpus: 0.1
      memoryMib: 208
    grafana:
      cpus: 0.1
      memoryMib: 160
    certbot:
      memoryMib: 64
    nginx:
      memoryMib: 32
    backup:
      cpus: 0.1
      memoryMib: 64
    postgres_exporter:
      memoryMib: 24
    redis_exporter:
      memoryMib: 16
    celery_exporter:
      memoryMib: 64
    nginx_exporter:
      memoryMib: 16
    cadvisor:
      cpus: 0.15
      memoryMib: 96
    statsd_exporter:
      memoryMib: 16
"""


def test_write_adds_the_overrides_keeping_comments_and_order(prometheus: str, stacks: Path) -> None:
    path = stacks / "Pulumi.prod.yaml"
    before = path.read_text()
    path.chmod(0o640)
    proc = rightsize(
        prometheus,
        "--stack",
        "prod",
        "--window",
        WINDOW,
        "--format",
        "markdown",
        "--write",
        cwd=stacks,
    )
    assert proc.returncode == 0, proc.stderr
    assert "- Wrote 16 service overrides to Pulumi.prod.yaml." in proc.stdout.splitlines()
    assert path.read_text() == before + PROD_SERVICES
    assert path.stat().st_mode & 0o777 == 0o640
    assert list(stacks.glob(".Pulumi.*")) == []
    # The program takes the file, and costs it as the recommendation said.
    cost = run_command("cost", "--stack", "prod", "--format", "json", cwd=stacks)
    assert cost.returncode == 0, cost.stderr
    services = json.loads(cost.stdout)["services"]
    assert services["backend"] == {"cpus": 0.2, "memoryMib": 352, "monthlyUsd": 0.37}
    # Written once, a second run finds nothing left to write.
    again = rightsize(
        prometheus,
        "--stack",
        "prod",
        "--window",
        WINDOW,
        "--format",
        "json",
        "--write",
        cwd=stacks,
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["written"] is False
    assert (stacks / "Pulumi.prod.yaml").read_text() == before + PROD_SERVICES


def test_write_raises_a_stack_limit_up_to_the_catalogue_only(prometheus: str, stacks: Path) -> None:
    path = stacks / "Pulumi.dev.yaml"
    before = path.read_text()
    proc = rightsize(prometheus, "--stack", "dev", "--window", WINDOW, "--write", cwd=stacks)
    assert proc.returncode == 0, proc.stderr
    after = path.read_text()
    # Existing overrides change in place, comments kept; postgres goes up (usage demands it),
    # celery_worker up to the catalogue's 512 MiB, not the 640 MiB recommended.
    assert after.startswith(before[: before.index("  investment-platform:services:")])
    section = after[after.index("  investment-platform:services:") :]
    assert section.startswith(
        "  investment-platform:services:\n"
        "    postgres:\n      cpus: 0.25\n      memoryMib: 352\n"
        "    backend:\n      cpus: 0.2\n      memoryMib: 352\n"
        "    celery_worker:\n      cpus: 0.3\n      memoryMib: 512\n"
        "    airflow:\n      cpus: 0.5\n      memoryMib: 512\n"
        "    redis:\n      cpus: 0.1\n      memoryMib: 64\n"
    )
    assert section.endswith(
        "  investment-platform:backup:\n"
        '    schedule: "12:30"\n'
        "    keepDaily: 3\n"
        "    keepWeekly: 0\n"
    )


def test_a_short_window_keeps_every_limit(prometheus: str, stacks: Path) -> None:
    before = (stacks / "Pulumi.prod.yaml").read_bytes()
    proc = rightsize(
        prometheus, "--stack", "prod", "--window", "12h", "--format", "json", "--write", cwd=stacks
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    statuses = {r["service"]: r["status"] for r in doc["recommendations"]}
    assert statuses == {s: ("missing" if s == "frontend" else "insufficient") for s in EXPECTED}
    assert doc["recommendations"][0]["explanation"][0] == (
        "cpus 0.75 kept: only 12.0 h of samples (24 h needed)"
    )
    assert doc["stackChanges"] == {}
    assert (stacks / "Pulumi.prod.yaml").read_bytes() == before


@pytest.fixture(scope="module")
def not_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real web server that is not Prometheus (Python's, serving a static page)."""
    root = tmp_path_factory.mktemp("www")
    (root / "index.html").write_text("<html><body>hello</body></html>\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    prometheus: str, not_prometheus: str, stacks: Path
) -> None:
    before = {p.name: p.read_bytes() for p in stacks.glob("Pulumi.*.yaml")}
    port = free_port()
    cases = {
        "unreachable": (
            ("--prometheus", f"http://127.0.0.1:{port}", "--stack", "prod"),
            f"error: --prometheus http://127.0.0.1:{port}: cannot connect: "
            "[Errno 111] Connection refused",
        ),
        "not prometheus": (
            ("--prometheus", not_prometheus, "--stack", "prod"),
            f"error: --prometheus {not_prometheus}: not a Prometheus server "
            "(/api/v1/status/buildinfo answered HTTP 404 without Prometheus' JSON)",
        ),
        "window without data": (
            ("--prometheus", prometheus, "--stack", "prod", "--end", "2025-01-01T00:00:00Z"),
            f"error: --window 2d: Prometheus at {prometheus} holds no cAdvisor series "
            "(container_memory_working_set_bytes) in the 2d ending 2025-01-01T00:00:00Z",
        ),
        "unknown stack": (
            ("--prometheus", prometheus, "--stack", "staging"),
            "error: Pulumi.staging.yaml: no such stack file (stacks: dev, prod)",
        ),
    }
    for name, (args, message) in cases.items():
        proc = run_command(
            "rightsize", "--end", END, "--window", WINDOW, "--write", *args, cwd=stacks
        )
        assert proc.returncode == 2, name
        assert proc.stderr == message + "\n", name
        assert proc.stdout == "", name
        assert {p.name: p.read_bytes() for p in stacks.glob("Pulumi.*.yaml")} == before, name


def test_a_server_that_never_answers_times_out(stacks: Path) -> None:
    # A listening socket nobody accepts from: the connection opens, no answer ever comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        proc = run_command(
            "rightsize", "--stack", "prod", "--prometheus", url, "--timeout", "1", cwd=stacks
        )
    assert proc.returncode == 2
    assert proc.stderr == (
        f"error: --prometheus {url}: no answer to /api/v1/status/buildinfo within 1 s\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--window", "7x"), "argument --window: '7x' is not a window like 24h, 7d or 2w"),
        (("--window", "1d) or vector(1"), "argument --window: '1d) or vector(1' is not a window"),
        (("--end", "yesterday"), "argument --end: 'yesterday' is not a time"),
        (("--prometheus", "ftp://x"), "argument --prometheus: 'ftp://x' is not an http://"),
        (("--timeout", "0"), "argument --timeout: '0' is not a number of seconds from 0 to 3600"),
        (("--timeout", "nan"), "argument --timeout: 'nan' is not a number of seconds"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(args: tuple[str, ...], message: str) -> None:
    base = {"--prometheus": "http://127.0.0.1:9", "--window": "7d", "--end": END}
    merged = {**base, **dict(zip(args[::2], args[1::2], strict=True))}
    argv = [x for pair in merged.items() for x in pair]
    proc = run_command("rightsize", "--stack", "prod", *argv)
    assert proc.returncode == 2
    assert message in proc.stderr


def test_the_dashboard_row_shows_the_same_history_as_the_command(prometheus: str) -> None:
    from commands.rightsize import Prometheus
    from dashboards import cost_monitoring, panels
    from model.alerting import AlertingSettings
    from model.stackcost import stack_cost
    from tests.support.stacks import stack_config

    board = cost_monitoring.build(stack_cost(stack_config("prod")), AlertingSettings())
    exprs = {p["title"]: p["targets"][0]["expr"] for p in panels(board) if p["type"] != "row"}
    server = Prometheus(prometheus)
    # The panels read 7 days; the history holds 2 (airflow 12 h), which is what they show.
    at = end_arg(END)
    memory = server.query(exprs["Memory p99 of limit (7d)"], at)
    peak = server.query(exprs["Memory peak of limit (7d)"], at)
    cpu = server.query(exprs["CPU p95 of limit (7d)"], at)
    throttled = server.query(exprs["CPU throttled (7d)"], at)
    usage = {r["service"]: r["usage"] for r in _json(prometheus)["recommendations"]}
    assert "frontend" not in memory
    assert memory["backend"] == pytest.approx(299.19438274037265 / 512, rel=1e-3)
    assert memory["backend"] == pytest.approx(usage["backend"]["memoryP99Mib"] / 512)
    assert peak["celery_worker"] == pytest.approx(usage["celery_worker"]["memoryPeakMib"] / 512)
    assert cpu["nginx"] == pytest.approx(usage["nginx"]["cpuP95"] / 0.25)
    assert throttled["nginx"] == pytest.approx(usage["nginx"]["throttledRatio"])
    assert sorted(memory, key=memory.__getitem__, reverse=True)[0] == "celery_worker"


def test_write_refuses_limits_the_host_cannot_hold(stacks: Path) -> None:
    from commands.offline import StackFileError
    from commands.rightsize import write_stack
    from model.config import ConfigError

    path = stacks / "Pulumi.prod.yaml"
    path.write_text(path.read_text().replace("hostPlan: hetzner-cx33", "hostPlan: hetzner-cx23"))
    small = {name: {"cpus": 0.25} for name in ("postgres", "backend", "celery_worker", "airflow")}
    small |= {name: {"cpus": 0.1} for name in ("backup", "prometheus", "grafana")}
    write_stack("prod", stacks, small)
    before = path.read_bytes()
    with pytest.raises((ConfigError, StackFileError)) as error:
        write_stack("prod", stacks, {"airflow": {"cpus": 0.5}, "backend": {"cpus": 0.5}})
    assert str(error.value) == (
        "Pulumi.prod.yaml: investment-platform:services: CPU limits total 3.25 exceed "
        "hetzner-cx23's 2 vCPUs x 1.5 allowed overcommit"
    )
    assert path.read_bytes() == before
