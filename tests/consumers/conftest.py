"""Shared pieces of the real-consumer tests: each generated file or command line is handed to the
real program that consumes it, with the arguments and environment the program gives the
container, taken from the catalogue and never re-typed."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from model.catalogue import ServiceSpec, catalogue_by_name
from model.tuning import tuned_env
from tests.support.netns import DEFAULT_PATH
from tests.support.tools import require_binary

PROBES: Counter[str] = Counter()
"""Live probes sent per suite (one command against a running server each), for the summary."""


def spec(name: str) -> ServiceSpec:
    """The catalogue's service `name`."""
    return catalogue_by_name()[name]


def container_env(service: ServiceSpec, values: Mapping[str, str]) -> dict[str, str]:
    """The environment the service's container gets, as components/platform.py builds it: the
    catalogue's env with its `{name}` templates filled, the limit-derived env, and secret_env
    filled from `values` (a missing name raises KeyError, so a new template cannot go unfilled).
    PATH stands in for the image's own."""
    return {
        "PATH": DEFAULT_PATH,
        **{key: value.format_map(values) for key, value in service.env.items()},
        **tuned_env(service),
        **{key: template.format_map(values) for key, template in service.secret_env.items()},
    }


def healthcheck_argv(service: ServiceSpec) -> list[str]:
    """The service's Docker health check as the container runs it: CMD-SHELL through /bin/sh -c,
    CMD as it is.

    The images' `wget` is busybox's; here it is GNU wget, which takes the same options (-q,
    --spider, -T, -O), because Debian builds busybox without wget's -T and its wget crashes when
    given one (SIGSEGV, busybox 1.35.0-4+deb12u1).
    """
    kind, *args = service.healthcheck.test
    if kind == "CMD-SHELL":
        return ["/bin/sh", "-c", *args]
    assert kind == "CMD", service.healthcheck.test
    if args[0] == "wget":
        return [require_binary("wget"), *args[1:]]
    return args


def sample(text: str, metric: str) -> float:
    """The value of `metric`'s only series in Prometheus' text exposition format (whatever its
    labels: postgres-exporter 0.11 labels every series with `server`)."""
    values = re.findall(rf"^{re.escape(metric)}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE)
    assert len(values) == 1, f"{metric}: {len(values)} series"
    return float(values[0])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for suite, count in sorted(PROBES.items()):
        terminalreporter.write_line(f"live probes ({suite}): {count}")
