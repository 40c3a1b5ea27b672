"""commands/loadtest/containers.py: what `docker stats`, `inspect` and `events` say, parsed from
exact output, and the per-container report of a run."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from commands.loadtest import (
    ContainerReport,
    ContainerState,
    StatsSample,
    container_reports,
    parse_inspect,
    parse_oom_events,
    parse_size,
    parse_stats,
)


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
