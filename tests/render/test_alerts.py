"""Alert rules through the real promtool: every alert fires on a bad series and stays silent on a
healthy one; the Grafana rendering carries the same query and threshold."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from model.alerting import AlertingSettings
from model.stackcost import stack_cost
from render.alerts import (
    AlertRule,
    alert_rules,
    duration,
    grafana_rule_groups,
    prometheus_rule_groups,
)
from render.cost_metrics import cost_rule_groups
from render.prometheus import render_yaml
from tests.support.stacks import stack_config, write_files

pytestmark = pytest.mark.promtool

EVAL_AT = "30m"


@dataclass(frozen=True)
class AlertCase:
    """Input series (selector -> promtool values, one sample a minute) for one alert."""

    alert: str
    firing: dict[str, str]
    """Series on which the alert must be firing at EVAL_AT."""
    labels: dict[str, str]
    """The firing alert's labels, besides alertname."""
    silent: tuple[dict[str, str], ...] = field(default_factory=tuple)
    """Healthy series sets on which it must not fire."""


REDIS = 'job="redis",instance="redis-exporter:9121",service="redis_exporter"'
MEM = 'container_memory_working_set_bytes{service="redis",name="investment-redis"}'
LIMIT = 'container_spec_memory_limit_bytes{service="redis",name="investment-redis"}'
HTTP = 'job="backend",handler="/api/stocks",method="GET"'
BUCKET = "http_request_duration_seconds_bucket"

CASES = (
    AlertCase(
        "TargetDown",
        {f"up{{{REDIS}}}": "0x30"},
        {"job": "redis", "instance": "redis-exporter:9121", "service": "redis_exporter"},
        ({f"up{{{REDIS}}}": "1x30"}, {f"up{{{REDIS}}}": "1x28 0x2"}),
    ),
    AlertCase(
        "PostgresDown",
        {'pg_up{job="postgres"}': "0x30"},
        {"job": "postgres"},
        ({'pg_up{job="postgres"}': "1x30"},),
    ),
    AlertCase(
        "PostgresConnectionsHigh",
        {
            'pg_stat_database_numbackends{datname="investment"}': "70x30",
            'pg_stat_database_numbackends{datname="airflow"}': "15x30",
            "pg_settings_max_connections": "100x30",
        },
        {},
        (
            {
                'pg_stat_database_numbackends{datname="investment"}': "60x30",
                'pg_stat_database_numbackends{datname="airflow"}': "15x30",
                "pg_settings_max_connections": "100x30",
            },
        ),
    ),
    AlertCase(
        "PostgresLongTransaction",
        {'pg_stat_activity_max_tx_duration{datname="investment",state="active"}': "600x30"},
        {"datname": "investment"},
        ({'pg_stat_activity_max_tx_duration{datname="investment",state="active"}': "2x30"},),
    ),
    AlertCase(
        "RedisDown",
        {f"redis_up{{{REDIS}}}": "0x30"},
        dict(job="redis", instance="redis-exporter:9121", service="redis_exporter"),
        ({f"redis_up{{{REDIS}}}": "1x30"},),
    ),
    AlertCase(
        "RedisMemoryNearMax",
        {
            f"redis_memory_used_bytes{{{REDIS}}}": "95x30",
            f"redis_memory_max_bytes{{{REDIS}}}": "100x30",
        },
        dict(job="redis", instance="redis-exporter:9121", service="redis_exporter"),
        (
            {
                f"redis_memory_used_bytes{{{REDIS}}}": "50x30",
                f"redis_memory_max_bytes{{{REDIS}}}": "100x30",
            },
            # maxmemory unset (0): no ratio, no alert.
            {
                f"redis_memory_used_bytes{{{REDIS}}}": "95x30",
                f"redis_memory_max_bytes{{{REDIS}}}": "0x30",
            },
        ),
    ),
    AlertCase(
        "ContainerMemoryNearLimit",
        {
            'container_memory_working_set_bytes{service="redis",name="investment-redis"}': "125x30",
            'container_spec_memory_limit_bytes{service="redis",name="investment-redis"}': "128x30",
        },
        {"service": "redis"},
        (
            {
                MEM: "64x30",
                LIMIT: "128x30",
            },
        ),
    ),
    AlertCase(
        "ContainerOOMKilled",
        {'container_oom_events_total{service="backend"}': "0x20 1x10"},
        {"service": "backend"},
        ({'container_oom_events_total{service="backend"}': "0x30"},),
    ),
    AlertCase(
        "ContainerCPUThrottled",
        {
            'container_cpu_cfs_throttled_periods_total{service="backend"}': "0+30x30",
            'container_cpu_cfs_periods_total{service="backend"}': "0+60x30",
        },
        {"service": "backend"},
        (
            {
                'container_cpu_cfs_throttled_periods_total{service="backend"}': "0+3x30",
                'container_cpu_cfs_periods_total{service="backend"}': "0+60x30",
            },
        ),
    ),
    AlertCase(
        "CeleryWorkerDown",
        {'celery_worker_up{hostname="celery@worker"}': "0x30"},
        {},
        ({'celery_worker_up{hostname="celery@worker"}': "1x30"},),
    ),
    AlertCase(
        "CeleryQueueBacklog",
        {'celery_queue_length{queue_name="celery"}': "500x30"},
        {"queue_name": "celery"},
        ({'celery_queue_length{queue_name="celery"}': "5x30"},),
    ),
    AlertCase(
        "ApiHighErrorRate",
        {
            f'http_requests_total{{{HTTP},status="5xx"}}': "0+10x30",
            f'http_requests_total{{{HTTP},status="2xx"}}': "0+90x30",
        },
        {},
        (
            {
                f'http_requests_total{{{HTTP},status="5xx"}}': "0+1x30",
                f'http_requests_total{{{HTTP},status="2xx"}}': "0+99x30",
            },
        ),
    ),
    AlertCase(
        "ApiHighLatency",
        {
            f'{BUCKET}{{{HTTP},le="0.25"}}': "0+10x30",
            f'{BUCKET}{{{HTTP},le="0.5"}}': "0+20x30",
            f'{BUCKET}{{{HTTP},le="1"}}': "0+100x30",
            f'{BUCKET}{{{HTTP},le="+Inf"}}': "0+100x30",
        },
        {},
        (
            {
                f'{BUCKET}{{{HTTP},le="0.25"}}': "0+96x30",
                f'{BUCKET}{{{HTTP},le="0.5"}}': "0+100x30",
                f'{BUCKET}{{{HTTP},le="1"}}': "0+100x30",
                f'{BUCKET}{{{HTTP},le="+Inf"}}': "0+100x30",
            },
        ),
    ),
    AlertCase(
        "BackupTooOld",
        # promtool's clock starts at 0: a success at -100000 s is 28 hours old at 30m.
        {'backup_last_success_timestamp_seconds{job="backup"}': "-100000x30"},
        {},
        ({'backup_last_success_timestamp_seconds{job="backup"}': "1000x30"},),
    ),
    AlertCase(
        "WalReceiverDown",
        {'backup_wal_receiver_active{job="backup"}': "0x30"},
        {},
        ({'backup_wal_receiver_active{job="backup"}': "1x30"},),
    ),
    AlertCase(
        "WalArchiveLagging",
        {'backup_wal_lag_bytes{job="backup"}': "20000000x30"},
        {},
        ({'backup_wal_lag_bytes{job="backup"}': "16000000x30"},),
    ),
    AlertCase(
        "BaseBackupTooOld",
        {'backup_base_last_success_timestamp_seconds{job="backup"}': "-100000x30"},
        {},
        ({'backup_base_last_success_timestamp_seconds{job="backup"}': "1000x30"},),
    ),
    AlertCase(
        "OffsiteSyncTooOld",
        # At 30m a sync at -600 s is 40 minutes old; one at 1200 s is 10 minutes old.
        {'backup_offsite_last_success_timestamp_seconds{job="backup"}': "-600x30"},
        {},
        ({'backup_offsite_last_success_timestamp_seconds{job="backup"}': "1200x30"},),
    ),
    AlertCase(
        "BackupRepositoryLarge",
        {'backup_repository_size_bytes{job="backup"}': "30000000000x60"},
        {},
        ({'backup_repository_size_bytes{job="backup"}': "3000000000x60"},),
    ),
    AlertCase(
        "CostOverBudget",
        # prod's estimate is $8.78 of $50; $45 of external spend projects $53.78.
        {'app_external_cost_monthly_usd{provider="market-data"}': "45x30"},
        {},
        ({'app_external_cost_monthly_usd{provider="market-data"}': "35x30"}, {}),
    ),
    AlertCase(
        "CostNearBudget",
        {'app_external_cost_monthly_usd{provider="market-data"}': "35x30"},
        {},
        ({'app_external_cost_monthly_usd{provider="market-data"}': "20x30"}, {}),
    ),
)


def _series(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"series": name, "values": v} for name, v in values.items()]


def _rule(name: str) -> AlertRule:
    return next(r for r in alert_rules() if r.name == name)


def unit_tests(cases: tuple[AlertCase, ...]) -> list[dict[str, object]]:
    """promtool `tests:` entries: one firing and one per healthy series set, per alert."""
    tests: list[dict[str, object]] = []
    for case in cases:
        labels = {"severity": _rule(case.alert).severity, **case.labels}
        tests.append(
            {
                "interval": "1m",
                "input_series": _series(case.firing),
                "alert_rule_test": [
                    {
                        "eval_time": EVAL_AT,
                        "alertname": case.alert,
                        "exp_alerts": [{"exp_labels": labels}],
                    }
                ],
            }
        )
        for silent in case.silent:
            tests.append(
                {
                    "interval": "1m",
                    "input_series": _series(silent),
                    "alert_rule_test": [
                        {"eval_time": EVAL_AT, "alertname": case.alert, "exp_alerts": []}
                    ],
                }
            )
    return tests


def _without_annotations(groups: dict[str, object]) -> dict[str, object]:
    """The rule groups with annotations removed: promtool compares expanded annotations too, and
    the fire/silent tests are about expressions, durations and labels (annotations are tested on
    the real file below)."""
    data: dict[str, Any] = json.loads(json.dumps(groups))
    for group in data["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return data


@pytest.fixture
def prod_cost_rules() -> str:
    return render_yaml(cost_rule_groups(stack_cost(stack_config("prod"))))


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    assert sorted(c.alert for c in CASES) == sorted(r.name for r in alert_rules())
    assert all(c.silent for c in CASES)


def test_issue_alerts_are_all_defined() -> None:
    assert [r.name for r in alert_rules()] == [
        "TargetDown",
        "PostgresDown",
        "PostgresConnectionsHigh",
        "PostgresLongTransaction",
        "RedisDown",
        "RedisMemoryNearMax",
        "ContainerMemoryNearLimit",
        "ContainerOOMKilled",
        "ContainerCPUThrottled",
        "CeleryWorkerDown",
        "CeleryQueueBacklog",
        "ApiHighErrorRate",
        "ApiHighLatency",
        "BackupTooOld",
        "WalReceiverDown",
        "WalArchiveLagging",
        "BaseBackupTooOld",
        "OffsiteSyncTooOld",
        "BackupRepositoryLarge",
        "CostOverBudget",
        "CostNearBudget",
    ]


def test_rule_files_pass_promtool_check(tmp_path: Path, promtool, prod_cost_rules: str) -> None:
    settings = AlertingSettings()
    write_files(
        tmp_path,
        {
            "alerts.yml": render_yaml(prometheus_rule_groups(alert_rules(settings), settings)),
            "cost.yml": prod_cost_rules,
        },
    )
    result = promtool("check", "rules", str(tmp_path / "alerts.yml"), str(tmp_path / "cost.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 21 rules found" in result.stdout
    report = stack_cost(stack_config("prod"))
    # One estimate per service, system, idle and each fixed item, six budget and five usage rules.
    cost_rules = len(report.services) + 2 + len(report.fixed) + 6 + 5
    assert f"SUCCESS: {cost_rules} rules found" in result.stdout


def test_every_alert_fires_on_bad_series_and_not_on_healthy(
    tmp_path: Path, promtool, prod_cost_rules: str
) -> None:
    settings = AlertingSettings()
    groups = _without_annotations(prometheus_rule_groups(alert_rules(settings), settings))
    write_files(
        tmp_path,
        {
            "alerts.yml": yaml.safe_dump(groups, sort_keys=False),
            "cost.yml": prod_cost_rules,
            "tests.yml": yaml.safe_dump(
                {
                    "rule_files": ["alerts.yml", "cost.yml"],
                    "evaluation_interval": "30s",
                    "tests": unit_tests(CASES),
                },
                sort_keys=False,
            ),
        },
    )
    result = promtool("test", "rules", str(tmp_path / "tests.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_a_wrong_expectation_fails_promtool(tmp_path: Path, promtool, prod_cost_rules: str) -> None:
    """The harness can fail: a healthy series expected to fire makes promtool exit non-zero."""
    settings = AlertingSettings()
    groups = _without_annotations(prometheus_rule_groups(alert_rules(settings), settings))
    wrong = AlertCase("TargetDown", {f"up{{{REDIS}}}": "1x30"}, dict(job="redis"))
    write_files(
        tmp_path,
        {
            "alerts.yml": yaml.safe_dump(groups),
            "cost.yml": prod_cost_rules,
            "tests.yml": yaml.safe_dump(
                {"rule_files": ["alerts.yml", "cost.yml"], "tests": unit_tests((wrong,))}
            ),
        },
    )
    result = promtool("test", "rules", str(tmp_path / "tests.yml"))
    assert result.returncode == 1
    assert "alertname: TargetDown" in result.stdout + result.stderr


def test_annotations_expand_with_labels_values_and_runbook(
    tmp_path: Path, promtool, prod_cost_rules: str
) -> None:
    settings = AlertingSettings()
    target = _rule("TargetDown")
    over = _rule("CostOverBudget")
    write_files(
        tmp_path,
        {
            "alerts.yml": render_yaml(prometheus_rule_groups(alert_rules(settings), settings)),
            "cost.yml": prod_cost_rules,
            "tests.yml": yaml.safe_dump(
                {
                    "rule_files": ["alerts.yml", "cost.yml"],
                    "tests": [
                        {
                            "interval": "1m",
                            "input_series": _series(
                                {
                                    f"up{{{REDIS}}}": "0x30",
                                    'app_external_cost_monthly_usd{provider="x"}': "45x30",
                                }
                            ),
                            "alert_rule_test": [
                                {
                                    "eval_time": EVAL_AT,
                                    "alertname": "TargetDown",
                                    "exp_alerts": [
                                        {
                                            "exp_labels": {
                                                "severity": "critical",
                                                "job": "redis",
                                                "instance": "redis-exporter:9121",
                                                "service": "redis_exporter",
                                            },
                                            "exp_annotations": {
                                                "summary": "Scrape target redis "
                                                "(redis-exporter:9121) is down",
                                                "description": target.description,
                                                "runbook_url": "docs/MONITORING.md#targetdown",
                                            },
                                        }
                                    ],
                                },
                                {
                                    "eval_time": EVAL_AT,
                                    "alertname": "CostOverBudget",
                                    "exp_alerts": [
                                        {
                                            "exp_labels": {"severity": "critical"},
                                            "exp_annotations": {
                                                "summary": "Projected monthly cost is 107.6% "
                                                "of the budget",
                                                "description": over.description,
                                                "runbook_url": "docs/MONITORING.md#costoverbudget",
                                            },
                                        }
                                    ],
                                },
                            ],
                        }
                    ],
                }
            ),
        },
    )
    result = promtool("test", "rules", str(tmp_path / "tests.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_budget_thresholds_come_from_settings() -> None:
    rules = {r.name: r for r in alert_rules(AlertingSettings(budget_warning_ratio=0.7))}
    assert rules["CostNearBudget"].expr == "platform:budget_used_ratio > 0.7"
    assert rules["CostOverBudget"].expr == "platform:budget_used_ratio > 1"


def test_settings_reject_warning_above_critical() -> None:
    with pytest.raises(ValueError, match=r"budgetWarningRatio \(1\) must be below "):
        AlertingSettings.model_validate({"budgetWarningRatio": 1.0, "budgetCriticalRatio": 0.9})


def test_settings_accept_camel_case_keys() -> None:
    settings = AlertingSettings.model_validate(
        {
            "emailAddresses": ["ops@invest.example.com"],
            "smtpHost": "smtp.example.com:587",
            "smtpFrom": "alerts@invest.example.com",
        }
    )
    assert settings.email_addresses == ("ops@invest.example.com",)
    assert settings.has_email
    assert not AlertingSettings().has_email


def test_a_webhook_url_in_plain_settings_is_refused_as_a_secret() -> None:
    from model.config import ConfigError, load_config

    raw = {
        "hostPlan": "local",
        "images": '{"backend": "ghcr.io/a/b:1.0.0", "frontend": "ghcr.io/a/f:1.0.0"}',
        "alerting": '{"webhookUrl": "https://hooks.example/T0K3N"}',
    }
    with pytest.raises(ConfigError) as excinfo:
        load_config("dev", raw)
    assert str(excinfo.value) == (
        "Pulumi.dev.yaml: investment-platform:alerting: webhookUrl: a webhook URL carries its "
        "token, so it is a secret: remove it here and run `pulumi config set --secret "
        "alertingWebhookUrl`"
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (45, "45s"), (60, "1m"), (900, "15m"), (93600, "26h")]
)
def test_duration(seconds: int, text: str) -> None:
    assert duration(seconds) == text


def test_grafana_rules_mirror_the_prometheus_rules() -> None:
    settings = AlertingSettings()
    groups = [
        g.as_json() for g in grafana_rule_groups(alert_rules(settings), "prometheus", settings)
    ]
    assert [g["name"] for g in groups] == [
        "platform-availability",
        "platform-database",
        "platform-containers",
        "platform-application",
        "platform-backup",
        "platform-cost",
    ]
    rules = {r["name"]: r for g in groups for r in g["rules"]}
    assert set(rules) == {r.name for r in alert_rules(settings)}
    latency = rules["ApiHighLatency"]
    assert latency["condition"] == "C"
    assert latency["for"] == "10m"
    assert latency["labels"] == {"severity": "warning"}
    assert latency["annotations"]["runbook_url"] == "docs/MONITORING.md#apihighlatency"
    a, b, c = (json.loads(d["model"]) for d in latency["data"])
    assert a["expr"] == _rule("ApiHighLatency").query
    assert a["datasource"] == {"type": "prometheus", "uid": "prometheus"}
    assert b == {
        "datasource": {"type": "__expr__", "uid": "__expr__"},
        "expression": "A",
        "intervalMs": 1000,
        "maxDataPoints": 43200,
        "reducer": "last",
        "refId": "B",
        "settings": {"mode": ""},
        "type": "reduce",
    }
    assert c["conditions"] == [{"evaluator": {"params": [0.5], "type": "gt"}}]
    assert latency["data"][0]["relative_time_range"] == {"from": 600, "to": 0}
    # Every stage of every rule carries intervalMs and maxDataPoints (else: perpetual diff).
    for rule in rules.values():
        for stage in rule["data"]:
            model = json.loads(stage["model"])
            assert (model["intervalMs"], model["maxDataPoints"]) == (1000, 43200), rule["name"]
            assert model["refId"] == stage["ref_id"]
    assert json.loads(rules["TargetDown"]["data"][2]["model"])["conditions"] == [
        {"evaluator": {"params": [1], "type": "lt"}}
    ]


def test_duplicate_alert_names_are_rejected() -> None:
    rule = _rule("TargetDown")
    with pytest.raises(ValueError, match=r"^duplicate alert names: TargetDown$"):
        prometheus_rule_groups([rule, rule], AlertingSettings())


def test_no_elasticsearch_alert() -> None:
    text = json.dumps([r.model_dump() for r in alert_rules()]).lower()
    assert "elasticsearch" not in text


def test_set_operators_are_parenthesised_before_the_comparison() -> None:
    assert _rule("CeleryWorkerDown").expr == "(sum(celery_worker_up) or vector(0)) < 1"
    assert _rule("PostgresDown").expr == "pg_up < 1"
