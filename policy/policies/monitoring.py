"""Policies on monitoring: every metrics endpoint is scraped, dashboards keep a stable uid."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

import yaml
from pulumi_policy import (
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)

from .core import (
    CONTAINER,
    DASHBOARDS,
    METRICS_LABEL_PREFIX,
    STRINGS,
    UNKNOWN,
    Setting,
    items,
    labels,
    lookup,
    resource_policy,
    service_of,
    stack_policy,
)


def scrape_jobs(content: str) -> dict[str, tuple[str, list[str]]]:
    """Each scrape job of a prometheus.yml: its metrics path and static targets."""
    loaded = yaml.safe_load(content) or {}
    jobs: dict[str, tuple[str, list[str]]] = {}
    for job in loaded.get("scrape_configs") or [] if isinstance(loaded, dict) else []:
        if not isinstance(job, dict) or "job_name" not in job:
            continue
        targets = [
            str(t)
            for static in job.get("static_configs") or []
            if isinstance(static, dict)
            for t in static.get("targets") or []
        ]
        jobs[str(job["job_name"])] = (str(job.get("metrics_path", "/metrics")), targets)
    return jobs


def _aliases(props: Any) -> set[str]:
    names = {n for n in [lookup(props, "name")] if isinstance(n, str)}
    for network in items(lookup(props, "networksAdvanced")):
        names.update(a for a in items(lookup(network, "aliases")) if isinstance(a, str))
    return names


def _prometheus_config(args: StackValidationArgs, paths: list[str]) -> tuple[Any, str | None]:
    """(content, path) of the first upload, in any container, at one of `paths` (in their order):
    the prometheus container's own file, or the config writer's staging copy."""
    containers = [r for r in args.resources if r.resource_type == CONTAINER]
    for path in paths:
        for container in containers:
            for upload in items(lookup(container.props, "uploads")):
                if lookup(upload, "file") == path:
                    return lookup(upload, "content"), path
    return None, None


def validate_scrape_coverage(
    args: StackValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Every metrics endpoint a container declares (label) has a matching Prometheus scrape job."""
    paths = [p for p in items(settings["prometheusConfigPaths"]) if isinstance(p, str)]
    content, found_at = _prometheus_config(args, paths)
    if content is UNKNOWN:
        return
    try:
        jobs = scrape_jobs(content) if isinstance(content, str) else None
    except yaml.YAMLError as exc:
        report(f"the Prometheus config at {found_at} is not valid YAML: {exc}", None)
        return
    for container in args.resources:
        if container.resource_type != CONTAINER:
            continue
        service = service_of(container.props, container.name)
        for key, value in labels(container.props).items():
            if not key.startswith(METRICS_LABEL_PREFIX):
                continue
            job = key.removeprefix(METRICS_LABEL_PREFIX)
            port, sep, metrics_path = value.partition(":")
            if not sep or not port.isdigit() or not metrics_path.startswith("/"):
                report(
                    f"label {key}={value!r} must read '<port>:<path>', e.g. '8000:/metrics'.", None
                )
                continue
            where = f"'{service}' exposes metrics on :{port}{metrics_path} (label {key})"
            if jobs is None:
                report(
                    f"{where} but no container uploads a Prometheus config at "
                    f"{' or '.join(paths) or 'the configured paths'}; upload the generated "
                    "prometheus.yml (the prometheus service's config writer receives it at "
                    "/staging/prometheus.yml).",
                    container.urn,
                )
                continue
            problem = _job_problem(jobs, job, port, metrics_path, _aliases(container.props))
            if problem:
                report(
                    f"{where} but {problem}; derive the scrape jobs from the catalogue's metrics "
                    "endpoints.",
                    container.urn,
                )


def _job_problem(
    jobs: Mapping[str, tuple[str, list[str]]], job: str, port: str, path: str, hosts: set[str]
) -> str | None:
    if job not in jobs:
        return f"prometheus.yml has no scrape job '{job}'"
    job_path, targets = jobs[job]
    if job_path != path:
        return f"scrape job '{job}' scrapes {job_path}"
    if not any(t.rpartition(":")[2] == port and t.rpartition(":")[0] in hosts for t in targets):
        return f"scrape job '{job}' has no target <{'|'.join(sorted(hosts))}>:{port}"
    return None


_GRAFANA_UID: Final = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")


def validate_dashboard_uid(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Dashboards carry a stable uid and no id or version, so links and updates survive."""
    if args.resource_type not in DASHBOARDS:
        return
    raw = lookup(args.props, "configJson")
    if not isinstance(raw, str):
        return
    try:
        dashboard = json.loads(raw)
    except json.JSONDecodeError as exc:
        report(f"dashboard configJson is not valid JSON: {exc}", None)
        return
    if not isinstance(dashboard, dict):
        report("dashboard configJson is not a JSON object", None)
        return
    problems = []
    uid = dashboard.get("uid")
    if not isinstance(uid, str) or not _GRAFANA_UID.match(uid):
        problems.append(f"uid {uid!r} is not a fixed 1-40 character [a-zA-Z0-9_-] string")
    if dashboard.get("id") is not None:
        problems.append("it sets id (Grafana assigns it per instance)")
    if "version" in dashboard:
        problems.append("it sets version (Grafana increments it; a stale one rejects updates)")
    if problems:
        title = dashboard.get("title", args.name)
        report(
            f"dashboard '{title}': {'; '.join(problems)}. Give it a fixed uid and leave id and "
            "version out of the generated JSON.",
            None,
        )


def policies() -> list[Policy]:
    """The monitoring policies, in report order."""
    return [
        stack_policy(
            "metrics-scrape-coverage",
            "Every metrics endpoint a container declares has a Prometheus scrape job.",
            validate_scrape_coverage,
            settings={
                "prometheusConfigPaths": Setting(
                    STRINGS, ["/etc/prometheus/prometheus.yml", "/staging/prometheus.yml"]
                )
            },
        ),
        resource_policy(
            "grafana-dashboard-stable-uid",
            "Grafana dashboards have a fixed uid and no id or version.",
            validate_dashboard_uid,
        ),
    ]
