"""Containers during a load test: `docker stats`, `inspect` and `events`, parsed and sampled.

The parsers are pure and tested on Docker's real output; the functions that call the docker CLI
are thin around them.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

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
