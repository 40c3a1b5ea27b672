"""Realistic cAdvisor history for a real Prometheus: generated as OpenMetrics, turned into TSDB
blocks by `promtool tsdb create-blocks-from openmetrics`, served by Debian's prometheus.

The series are the ones Prometheus stores in the deployment: cAdvisor's metric names, with the
labels left after render/prometheus.py's relabelling (`service` from the containers' service
label, cAdvisor's `id`, `image` and `name`, the scrape job's `job` and `instance`). Each service
follows a profile: a daily cycle, noise, spikes, and for some an OOM-kill sawtooth, CFS
throttling, a late start (short history) or no series at all. Deterministic: one seed per service.
"""

from __future__ import annotations

import hashlib
import math
import random
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from model.catalogue import CATALOGUE, catalogue_by_name, container_name
from render.prometheus import CADVISOR_JOB
from tests.support.tools import free_port, require_binary

MIB = 1024 * 1024
CFS_PERIOD_US = 100_000
"""The kernel's default CFS period, 100 ms, which Docker's --cpus divides."""
CFS_PERIODS_PER_S = 10


@dataclass(frozen=True)
class Profile:
    """How one service uses memory (MiB) and CPU (cores) over a day."""

    memory_base: float
    memory_daily: float = 0.0
    """Added at the daily peak (15:00 UTC), none at 03:00."""
    memory_noise: float = 2.0
    cpu_base: float = 0.005
    cpu_daily: float = 0.0
    cpu_noise: float = 0.002
    spike_every_h: float = 0.0
    """A spike (memory and CPU) this often, lasting 10 minutes; 0: none."""
    spike_memory: float = 0.0
    spike_cpu: float = 0.0
    oom_from: float = 0.0
    """Working set the OOM sawtooth restarts from after each kill (0: no OOM)."""
    oom_growth_per_h: float = 0.0
    throttled: float = 0.0
    """Share of CFS periods throttled at the daily peak (scaled by the daily cycle)."""
    starts_h_before_end: float = 0.0
    """The container started this many hours before the window's end (0: before the window)."""


PROFILES: dict[str, Profile | None] = {
    "postgres": Profile(
        memory_base=200,
        memory_daily=80,
        cpu_base=0.03,
        cpu_daily=0.15,
        spike_every_h=24,
        spike_memory=40,
        spike_cpu=0.3,
    ),
    "redis": Profile(memory_base=20, memory_noise=0.5, cpu_base=0.004, cpu_daily=0.004),
    "backend": Profile(
        memory_base=250,
        memory_daily=45,
        memory_noise=3,
        cpu_base=0.05,
        cpu_daily=0.12,
        spike_every_h=6,
        spike_memory=5,
        spike_cpu=0.1,
    ),
    "celery_worker": Profile(
        memory_base=250,
        cpu_base=0.05,
        cpu_daily=0.2,
        oom_from=250,
        oom_growth_per_h=19,
    ),
    "celery_beat": Profile(memory_base=60, memory_noise=1, cpu_base=0.002),
    "airflow": Profile(
        memory_base=330,
        memory_daily=30,
        cpu_base=0.1,
        cpu_daily=0.1,
        starts_h_before_end=12,
    ),
    "prometheus": Profile(memory_base=150, memory_daily=20, cpu_base=0.02, cpu_daily=0.02),
    "grafana": Profile(memory_base=70, memory_noise=1, cpu_base=0.002, cpu_noise=0.001),
    "frontend": None,
    "certbot": Profile(memory_base=12, memory_noise=0.5, cpu_base=0.001, cpu_noise=0.0005),
    "nginx": Profile(
        memory_base=14,
        memory_daily=4,
        memory_noise=0.5,
        cpu_base=0.05,
        cpu_daily=0.19,
        cpu_noise=0.01,
        throttled=0.4,
    ),
    "backup": Profile(
        memory_base=8,
        memory_noise=0.3,
        cpu_base=0.001,
        spike_every_h=24,
        spike_memory=40,
        spike_cpu=0.2,
    ),
    "postgres_exporter": Profile(memory_base=14, memory_noise=0.5, cpu_base=0.003),
    "redis_exporter": Profile(memory_base=9, memory_noise=0.3, cpu_base=0.002),
    "celery_exporter": Profile(memory_base=45, memory_noise=1, cpu_base=0.01),
    "nginx_exporter": Profile(memory_base=8, memory_noise=0.3, cpu_base=0.001),
    "cadvisor": Profile(memory_base=70, memory_daily=10, cpu_base=0.08, cpu_daily=0.04),
    "statsd_exporter": Profile(memory_base=12, memory_noise=0.4, cpu_base=0.002),
    # Runs only with backup.offsite (prod does not set it): its series are there, unasked for.
    "offsite": Profile(memory_base=40, memory_noise=2, cpu_base=0.003, cpu_noise=0.001),
}
"""One profile per catalogue service; frontend (None) has no series at all, airflow only 12 h,
celery_worker is OOM-killed, nginx throttled, grafana and redis idle."""

assert set(PROFILES) == set(catalogue_by_name()), "one profile per catalogue service"


def _daily(t: float) -> float:
    """0 at 03:00 UTC, 1 at 15:00 UTC."""
    return (1 - math.cos(2 * math.pi * ((t / 3600 - 3) % 24) / 24)) / 2


@dataclass
class _State:
    cpu_s: float = 0.0
    periods: float = 0.0
    throttled: float = 0.0
    ooms: int = 0
    started: float = 0.0
    oom_memory: float = 0.0


def _series(
    service: str, start: int, end: int, step: int
) -> Iterator[tuple[int, dict[str, float]]]:
    """(timestamp, metric -> value) for every sample of the service, at `step` seconds."""
    profile = PROFILES[service]
    if profile is None:
        return
    spec = catalogue_by_name()[service]
    rng = random.Random(f"{service}-{start}-{step}")
    first = (
        start if not profile.starts_h_before_end else end - int(profile.starts_h_before_end * 3600)
    )
    state = _State(started=first - 3600 if not profile.starts_h_before_end else first)
    state.oom_memory = profile.oom_from
    for t in range(first - first % step + step, end + 1, step):
        day = _daily(t)
        spiking = profile.spike_every_h and (t % int(profile.spike_every_h * 3600)) < 600
        memory = profile.memory_base + profile.memory_daily * day
        memory += rng.gauss(0, profile.memory_noise)
        cpu = profile.cpu_base + profile.cpu_daily * day + abs(rng.gauss(0, profile.cpu_noise))
        if spiking:
            memory += profile.spike_memory
            cpu += profile.spike_cpu
        if profile.oom_from:
            state.oom_memory += profile.oom_growth_per_h * step / 3600
            memory = state.oom_memory + rng.gauss(0, 2)
            if memory >= spec.memory_mib:
                # The kernel kills it at the limit; Docker restarts it from a clean heap.
                memory = spec.memory_mib - 0.5
                state.ooms += 1
                state.started = t
                state.oom_memory = profile.oom_from
        cpu = min(cpu, spec.cpus)
        active = min(1.0, 0.3 + cpu / spec.cpus)
        new_periods = CFS_PERIODS_PER_S * step * active
        state.cpu_s += cpu * step
        state.periods += new_periods
        state.throttled += new_periods * profile.throttled * day
        yield (
            t,
            {
                "container_memory_working_set_bytes": max(memory, 1.0) * MIB,
                "container_cpu_usage_seconds_total": state.cpu_s,
                "container_cpu_cfs_periods_total": state.periods,
                "container_cpu_cfs_throttled_periods_total": state.throttled,
                "container_oom_events_total": float(state.ooms),
                "container_start_time_seconds": float(state.started),
                "container_spec_memory_limit_bytes": float(spec.memory_mib * MIB),
                "container_spec_cpu_quota": float(round(spec.cpus * CFS_PERIOD_US)),
                "container_spec_cpu_period": float(CFS_PERIOD_US),
            },
        )


FAMILIES: dict[str, str] = {
    "container_memory_working_set_bytes": "gauge",
    "container_cpu_usage_seconds_total": "counter",
    "container_cpu_cfs_periods_total": "counter",
    "container_cpu_cfs_throttled_periods_total": "counter",
    "container_oom_events_total": "counter",
    "container_start_time_seconds": "gauge",
    "container_spec_memory_limit_bytes": "gauge",
    "container_spec_cpu_quota": "gauge",
    "container_spec_cpu_period": "gauge",
}


def _labels(service: str, metric: str) -> str:
    spec = catalogue_by_name()[service]
    digest = hashlib.sha256(service.encode()).hexdigest()
    labels = {
        "id": f"/system.slice/docker-{digest}.scope",
        "image": spec.image or f"ghcr.io/investment-platform/{spec.app_image}:1.8.0",
        "instance": "cadvisor:8080",
        "job": CADVISOR_JOB,
        "name": container_name("investment", service),
        "service": service,
    }
    if metric == "container_cpu_usage_seconds_total":
        labels["cpu"] = "total"
    return ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))


def write_openmetrics(out: IO[str], start: int, end: int, step: int) -> int:
    """The whole platform's history in (start, end] at `step` seconds; returns the sample count."""
    samples = 0
    services = [s.name for s in CATALOGUE]
    per_service = {name: list(_series(name, start, end, step)) for name in services}
    for metric, kind in FAMILIES.items():
        family = metric.removesuffix("_total") if kind == "counter" else metric
        out.write(f"# TYPE {family} {kind}\n")
        for name in services:
            labels = _labels(name, metric)
            lines = [
                f"{metric}{{{labels}}} {values[metric]!r} {t}\n" for t, values in per_service[name]
            ]
            out.writelines(lines)
            samples += len(lines)
    out.write("# EOF\n")
    return samples


def build_tsdb(data_dir: Path, start: int, end: int, step: int, chunk_s: int = 2 * 86400) -> int:
    """TSDB blocks of the history under `data_dir`, converted a chunk of time at a time so no
    file grows past a few hundred MB; returns the sample count."""
    promtool = require_binary("promtool")
    data_dir.mkdir(parents=True, exist_ok=True)
    samples = 0
    for chunk_start in range(start, end, chunk_s):
        chunk_end = min(end, chunk_start + chunk_s)
        source = data_dir.parent / "history.om"
        with source.open("w") as out:
            samples += write_openmetrics(out, chunk_start, chunk_end, step)
        subprocess.run(
            [
                promtool,
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                # promtool re-reads the whole file for every block: the default 2 h blocks make
                # a two-day file five times slower to convert than blocks as long as Prometheus
                # allows.
                f"--max-block-duration={chunk_s // 3600}h",
                str(source),
                str(data_dir),
            ],
            check=True,
            capture_output=True,
            timeout=3600,
        )
        source.unlink()
    return samples


@contextmanager
def prometheus_on(data_dir: Path, config_dir: Path) -> Iterator[str]:
    """Debian's prometheus serving the blocks in `data_dir` on loopback; yields its URL."""
    binary = require_binary("prometheus")
    config_dir.mkdir(parents=True, exist_ok=True)
    config = config_dir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 30s\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = config_dir / "prometheus.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={data_dir}",
                # The history is in the past: keep it however old it is.
                "--storage.tsdb.retention.time=100y",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 120
            while not _ready(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Prometheus did not become ready:\n{log_path.read_text()[-3000:]}"
                    )
                time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def _ready(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
