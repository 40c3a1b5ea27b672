"""Prometheus' configuration, generated from the catalogue: one scrape job per metrics endpoint.

Pure functions: `render_prometheus_config` gives prometheus.yml, `prometheus_files` everything the
container reads (config and rule files, as relative paths beside each other, exactly as promtool
checks them); the catalogue's prometheus entry names them (`RenderedFiles("prometheus")`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from model import labels
from model.alerting import AlertingSettings
from model.catalogue import ServiceSpec, dns_name
from model.cost import CostReport
from model.labels import cadvisor_label
from render.alerts import alert_rules, duration, prometheus_rule_groups
from render.cost_metrics import cost_rule_groups
from render.yamltext import dump_yaml

ALERTS_FILE = "rules/alerts.yml"
COST_FILE = "rules/cost.yml"
SCRAPE_INTERVAL_S = 30
"""Global scrape and rule evaluation interval: cAdvisor refreshes every 30 s (its housekeeping
interval), and half the samples of a 15 s interval keep 15 days within the volume."""
SCRAPE_TIMEOUT_S = 10
GENERATED_HEADER = "# Generated from model/catalogue.py by render/prometheus.py; do not edit.\n"

CADVISOR_JOB = "cadvisor"
SERVICE_LABEL = cadvisor_label(labels.SERVICE_LABEL)
"""cAdvisor's label for the containers' service label (whitelisted in its
command); relabelled to `service` so container metrics join everything else by service."""

# Container metrics of containers that are not platform services (the host's root cgroup, other
# workloads) carry no service label: drop them, name the rest by service, drop the raw labels.
_METRIC_RELABEL: dict[str, list[dict[str, Any]]] = {
    CADVISOR_JOB: [
        {
            "source_labels": ["__name__", SERVICE_LABEL],
            "regex": "container_.*;",
            "action": "drop",
        },
        {
            "source_labels": [SERVICE_LABEL],
            "regex": "(.+)",
            "target_label": "service",
        },
        {"regex": "container_label_.*", "action": "labeldrop"},
    ],
}

EXPECTED_SERIES: dict[str, int] = {
    "backend": 1500,
    "cost": 50,
    "prometheus": 1000,
    "grafana": 2500,
    "backup": 10,
    "postgres": 600,
    "redis": 250,
    "celery": 200,
    "nginx": 80,
    "cadvisor": 800,
    "airflow": 300,
}
"""Active series per job, from each exporter's default metric set at this platform's size (see
docs/MONITORING.md, "Retention"); jobs not listed count DEFAULT_SERIES."""
DEFAULT_SERIES = 300
BYTES_PER_SAMPLE = 2.0
"""Prometheus' documented on-disk cost of a compressed sample is 1-2 bytes; take the high end."""


def scrape_jobs(specs: Sequence[ServiceSpec]) -> list[dict[str, Any]]:
    """One scrape job per metrics endpoint, in catalogue order; the target is the service's name on
    the internal network and every series carries the service's name as `service`."""
    jobs: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for spec in specs:
        for endpoint in spec.metrics:
            if endpoint.job in seen:
                raise ValueError(
                    f"scrape job '{endpoint.job}' is declared by both {seen[endpoint.job]} "
                    f"and {spec.name}"
                )
            seen[endpoint.job] = spec.name
            job: dict[str, Any] = {"job_name": endpoint.job}
            if endpoint.interval_s is not None:
                job["scrape_interval"] = duration(endpoint.interval_s)
            job["metrics_path"] = endpoint.path
            job["static_configs"] = [
                {
                    "targets": [f"{dns_name(spec.name)}:{endpoint.port}"],
                    "labels": {"service": spec.name},
                }
            ]
            if endpoint.job in _METRIC_RELABEL:
                job["metric_relabel_configs"] = _METRIC_RELABEL[endpoint.job]
            jobs.append(job)
    return jobs


def render_yaml(data: Mapping[str, Any]) -> str:
    """YAML text in the given key order, with the generated-file header."""
    return dump_yaml(data, header=GENERATED_HEADER)


def render_prometheus_config(
    specs: Sequence[ServiceSpec],
    *,
    scrape_interval_s: int = SCRAPE_INTERVAL_S,
    rule_files: Sequence[str] = (ALERTS_FILE, COST_FILE),
    external_labels: Mapping[str, str] | None = None,
) -> str:
    """prometheus.yml: global intervals, the rule files (relative to the config file) and one job
    per metrics endpoint. No `alerting:` section: Grafana notifies (see render/alerts.py)."""
    global_: dict[str, Any] = {
        "scrape_interval": duration(scrape_interval_s),
        "scrape_timeout": duration(min(SCRAPE_TIMEOUT_S, scrape_interval_s)),
        "evaluation_interval": duration(scrape_interval_s),
    }
    if external_labels:
        global_["external_labels"] = dict(external_labels)
    return render_yaml(
        {
            "global": global_,
            "rule_files": list(rule_files),
            "scrape_configs": scrape_jobs(specs),
        }
    )


def prometheus_files(
    specs: Sequence[ServiceSpec],
    report: CostReport,
    settings: AlertingSettings,
    *,
    stack: str | None = None,
) -> dict[str, str]:
    """Every file Prometheus reads, by path relative to its config directory."""
    return {
        "prometheus.yml": render_prometheus_config(
            specs, external_labels={"stack": stack} if stack else None
        ),
        ALERTS_FILE: render_yaml(prometheus_rule_groups(alert_rules(settings), settings)),
        COST_FILE: render_yaml(cost_rule_groups(report)),
    }


def storage_estimate_bytes(
    specs: Sequence[ServiceSpec],
    *,
    retention_days: float,
    scrape_interval_s: int = SCRAPE_INTERVAL_S,
) -> int:
    """Disk the TSDB needs to keep `retention_days` of every job's expected series."""
    samples_per_s = 0.0
    for spec in specs:
        for endpoint in spec.metrics:
            interval = endpoint.interval_s or scrape_interval_s
            samples_per_s += EXPECTED_SERIES.get(endpoint.job, DEFAULT_SERIES) / interval
    return int(samples_per_s * 86400 * retention_days * BYTES_PER_SAMPLE)


_SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def retention_flags(spec: ServiceSpec) -> tuple[float, int]:
    """(days, bytes) from the prometheus service's `--storage.tsdb.retention.*` flags."""
    days: float | None = None
    size: int | None = None
    for arg in spec.command:
        if m := re.fullmatch(r"--storage\.tsdb\.retention\.time=(\d+)d", arg):
            days = float(m.group(1))
        if m := re.fullmatch(r"--storage\.tsdb\.retention\.size=(\d+)(B|KB|MB|GB|TB)", arg):
            size = int(m.group(1)) * _SIZE_UNITS[m.group(2)]
    if days is None or size is None:
        raise ValueError(f"{spec.name}: command sets no retention time in days or no size")
    return days, size
