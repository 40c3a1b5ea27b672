"""prometheus.yml from the catalogue, checked by the real promtool with its rule files beside it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from model.alerting import AlertingSettings
from model.catalogue import CATALOGUE, MetricsEndpoint, ServiceSpec
from model.config import resolve_specs
from model.stackcost import stack_cost
from render.files import generated_files
from render.prometheus import (
    EXPECTED_SERIES,
    prometheus_files,
    render_prometheus_config,
    retention_flags,
    scrape_jobs,
    storage_estimate_bytes,
)
from tests.support.specs import app_spec
from tests.support.stacks import stack_config, write_files

pytestmark = pytest.mark.promtool


def _spec(name: str, *metrics: MetricsEndpoint) -> ServiceSpec:
    return app_spec(name, metrics=metrics)


MARKET_FEED = _spec("market_feed", MetricsEndpoint(job="market-feed", port=9400, interval_s=60))


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_generated_config_passes_promtool(stack: str, tmp_path: Path, promtool) -> None:
    config = stack_config(stack)
    files = prometheus_files(
        resolve_specs(config), stack_cost(config), AlertingSettings(), stack=stack
    )
    write_files(tmp_path, files)
    result = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rule files found" in result.stdout


def test_promtool_rejects_a_broken_config(tmp_path: Path, promtool) -> None:
    """The check can fail: a job without targets' host is not valid."""
    write_files(
        tmp_path, {"prometheus.yml": "scrape_configs:\n- job_name: x\n  scrape_interval: 1\n"}
    )
    result = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 1


def test_one_job_per_metrics_endpoint_of_the_catalogue() -> None:
    jobs = scrape_jobs(CATALOGUE)
    assert [j["job_name"] for j in jobs] == [
        "backend",
        "cost",
        "prometheus",
        "grafana",
        "backup",
        "postgres",
        "redis",
        "celery",
        "nginx",
        "cadvisor",
        "airflow",
    ]
    by_job = {j["job_name"]: j for j in jobs}
    assert by_job["cost"] == {
        "job_name": "cost",
        "scrape_interval": "5m",
        "metrics_path": "/api/metrics/cost",
        "static_configs": [{"targets": ["backend:8000"], "labels": {"service": "backend"}}],
    }
    assert by_job["celery"]["static_configs"][0]["targets"] == ["celery-exporter:9808"]
    assert by_job["backup"]["static_configs"][0]["targets"] == ["backup:9188"]
    relabel = by_job["cadvisor"]["metric_relabel_configs"]
    assert relabel[1] == {
        "source_labels": ["container_label_com_investment_platform_service"],
        "regex": "(.+)",
        "target_label": "service",
    }
    # The old target scraped the worker itself on 9540; the exporter replaces it.
    text = render_prometheus_config(CATALOGUE)
    assert "9540" not in text
    assert "elasticsearch" not in text.lower()


def test_config_has_globals_rule_files_and_no_alertmanager() -> None:
    data = yaml.safe_load(render_prometheus_config(CATALOGUE, external_labels={"stack": "prod"}))
    assert data["global"] == {
        "scrape_interval": "30s",
        "scrape_timeout": "10s",
        "evaluation_interval": "30s",
        "external_labels": {"stack": "prod"},
    }
    assert data["rule_files"] == ["rules/alerts.yml", "rules/cost.yml"]
    assert "alerting" not in data


def test_a_new_service_with_metrics_gets_a_scrape_job() -> None:
    jobs = {j["job_name"]: j for j in scrape_jobs((*CATALOGUE, MARKET_FEED))}
    assert jobs["market-feed"] == {
        "job_name": "market-feed",
        "scrape_interval": "1m",
        "metrics_path": "/metrics",
        "static_configs": [{"targets": ["market-feed:9400"], "labels": {"service": "market_feed"}}],
    }


def test_duplicate_job_names_are_rejected() -> None:
    clash = _spec("other", MetricsEndpoint(job="backend", port=1234))
    with pytest.raises(
        ValueError, match=r"^scrape job 'backend' is declared by both backend and other$"
    ):
        scrape_jobs((*CATALOGUE, clash))


def test_retention_size_covers_the_retention_time_with_margin() -> None:
    prometheus = next(s for s in CATALOGUE if s.name == "prometheus")
    days, size = retention_flags(prometheus)
    assert (days, size) == (15.0, 2 * 1024**3)
    needed = storage_estimate_bytes(CATALOGUE, retention_days=days)
    # ~0.58 GiB of samples for 15 days; the size cap leaves room for the WAL and compaction.
    assert 0.5 * 1024**3 < needed < size / 2
    # No stale estimates; a job without one counts DEFAULT_SERIES.
    assert set(EXPECTED_SERIES) <= {e.job for s in CATALOGUE for e in s.metrics}


def test_retention_flags_must_be_present() -> None:
    with pytest.raises(ValueError, match=r"^market_feed: command sets no retention time"):
        retention_flags(MARKET_FEED)


def test_files_go_to_the_config_directory_the_command_reads() -> None:
    config = stack_config("prod")
    specs = resolve_specs(config)
    prometheus = next(s for s in specs if s.name == "prometheus")
    files = generated_files(prometheus, config, specs)
    assert [f.path for f in files] == [
        "/etc/prometheus/prometheus.yml",
        "/etc/prometheus/rules/alerts.yml",
        "/etc/prometheus/rules/cost.yml",
    ]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus.command
    assert all(isinstance(f.content, str) and f.content.startswith("# Generated") for f in files)
