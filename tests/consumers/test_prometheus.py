"""Prometheus running the rendered config and rule files until every rule group has been evaluated,
with no rule in error.

promtool (tests/monitoring) checks that the files parse; only the server shows that every rule
evaluates: an expression can parse and still fail at every evaluation (two series with the same
labels after a recording rule's labels, many-to-many matching). Prometheus runs as its container
does: the catalogue's command line, as the image's user (nobody), with the files at
/etc/prometheus and its data at /prometheus (a private mount namespace binds temporary
directories there), inside a network namespace of its own so port 9090 is free and the scrape
targets, which do not exist here, fail fast.

Versions: the image pins v2.53.4 and Debian ships 2.42.0. The rendered files use nothing newer
than 2.42 knows, so they are given to it unchanged; no transformation is needed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from model.config import resolve_specs
from model.stackcost import stack_cost
from render.prometheus import prometheus_files
from tests.consumers.conftest import spec
from tests.support.netns import Namespace, namespace, wait_until
from tests.support.stacks import stack_config, write_files
from tests.support.tools import require_binary

pytestmark = [pytest.mark.consumer, pytest.mark.netns, pytest.mark.promtool]

NEVER = "0001-01-01T00:00:00Z"
"""lastEvaluation of a group that has not been evaluated yet."""
DATA_DIR = "/prometheus"
CONFIG_DIR = spec("prometheus").config_dir or ""
"""Where the prometheus container reads its files (its config volume)."""


def rendered(stack: str) -> dict[str, str]:
    config = stack_config(stack)
    return prometheus_files(resolve_specs(config), stack_cost(config), config.alerting, stack=stack)


class Prometheus:
    """A running Prometheus and its HTTP API (queried from inside the namespace)."""

    def __init__(self, ns: Namespace, files: Mapping[str, str]) -> None:
        self.ns = ns
        service = spec("prometheus")
        self.port = service.port or 0
        config = ns.workdir / "config"
        data = ns.workdir / "data"
        write_files(config, files)
        data.mkdir()
        # The image runs as nobody: the files must be readable and the data directory writable.
        for path in (config, *config.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        os.chown(data, 65534, 65534)
        assert f"--config.file={CONFIG_DIR}/prometheus.yml" in service.command
        assert f"--storage.tsdb.path={DATA_DIR}" in service.command
        self.process = ns.start(
            "prometheus",
            require_binary("setpriv"),
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            require_binary("prometheus"),
            *service.command,
            binds={CONFIG_DIR: config, DATA_DIR: data},
        )
        wait_until(self.ready, "Prometheus ready", self.process, timeout=60)

    def get(self, path: str) -> Any:
        result = self.ns.run(
            require_binary("curl"), "-sS", "--max-time", "5", f"http://127.0.0.1:{self.port}{path}"
        )
        if result.returncode != 0:
            return None
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError:
            return result.stdout

    def ready(self) -> bool:
        return self.get("/-/ready") is not None

    def rule_groups(self) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = self.get("/api/v1/rules")["data"]["groups"]
        return groups

    def all_evaluated(self) -> bool:
        return all(g["lastEvaluation"] != NEVER for g in self.rule_groups())


Start = Callable[[Mapping[str, str]], Prometheus]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Start]:
    """Start Prometheus with given files in a fresh namespace; stopped with the namespace."""
    with namespace(tmp_path) as ns:
        yield lambda files: Prometheus(ns, files)


def _evaluate(prometheus: Start, files: Mapping[str, str]) -> list[dict[str, Any]]:
    server = prometheus(files)
    interval = yaml.safe_load(files["prometheus.yml"])["global"]["evaluation_interval"]
    interval_s = int(interval[:-1]) * {"s": 1, "m": 60, "h": 3600}[interval[-1]]
    # Each group first runs at an offset within its interval: wait two intervals at most.
    wait_until(
        server.all_evaluated, "every rule group evaluated", server.process, 2 * interval_s + 30
    )
    return server.rule_groups()


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_every_rule_group_evaluates_without_error(prometheus: Start, stack: str) -> None:
    files = rendered(stack)
    groups = _evaluate(prometheus, files)
    expected = [
        g["name"]
        for path in ("rules/alerts.yml", "rules/cost.yml")
        for g in yaml.safe_load(files[path])["groups"]
    ]
    assert sorted(g["name"] for g in groups) == sorted(expected)
    rules = [r for g in groups for r in g["rules"]]
    assert len(rules) == sum(
        len(g["rules"]) for p in ("rules/alerts.yml", "rules/cost.yml")
        for g in yaml.safe_load(files[p])["groups"]
    )  # fmt: skip
    errors = {r["name"]: r.get("lastError") for r in rules if r["health"] != "ok"}
    assert errors == {}


def test_the_config_is_loaded_with_every_scrape_job(prometheus: Start) -> None:
    files = rendered("prod")
    server = prometheus(files)
    status = server.get("/api/v1/status/config")
    assert status["status"] == "success"
    loaded = yaml.safe_load(status["data"]["yaml"])
    expected = [j["job_name"] for j in yaml.safe_load(files["prometheus.yml"])["scrape_configs"]]
    assert [j["job_name"] for j in loaded["scrape_configs"]] == expected
    assert loaded["rule_files"] == [
        f"{CONFIG_DIR}/rules/alerts.yml",
        f"{CONFIG_DIR}/rules/cost.yml",
    ]
    assert loaded["global"]["external_labels"] == {"stack": "prod"}


def test_a_rule_that_fails_at_evaluation_is_caught(prometheus: Start) -> None:
    """The check can fail: a planted recording rule that parses (promtool accepts it) but gives
    two series with the same labels at every evaluation is reported in error."""
    files = dict(rendered("prod"))
    cost = yaml.safe_load(files["rules/cost.yml"])
    cost["groups"].append(
        {
            "name": "planted",
            "rules": [
                {
                    "record": "planted:duplicate",
                    "expr": 'label_replace(vector(1), "a", "1", "", "") '
                    'or label_replace(vector(2), "b", "1", "", "")',
                    "labels": {"a": "1", "b": "1"},
                }
            ],
        }
    )
    files["rules/cost.yml"] = yaml.safe_dump(cost, sort_keys=False)
    groups = _evaluate(prometheus, files)
    (planted,) = [g for g in groups if g["name"] == "planted"]
    (rule,) = planted["rules"]
    assert rule["health"] == "err"
    assert "same labelset" in rule["lastError"]
    others = [r for g in groups if g["name"] != "planted" for r in g["rules"]]
    assert {r["health"] for r in others} == {"ok"}
