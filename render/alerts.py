"""Alert rules: one typed definition each, rendered for Prometheus and for Grafana.

A definition is a query that yields one value per series, a comparison and a threshold. Prometheus
gets `query comparison threshold` as its `expr`; Grafana gets the same query as stage A, a `last`
reduction as B and the threshold as C. So the rule promtool unit-tests is exactly the rule Grafana
notifies on.

Prometheus evaluates the rule file without an Alertmanager: its `ALERTS` series feed the dashboards
and promtool tests the rules. Notifications come from Grafana only (its own alertmanager, contact
point and policy), so every alert is sent once; running Alertmanager as well would cost another
container (~32 MiB) to deliver the same messages twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field

from model.alerting import AlertingSettings
from model.base import Frozen

Comparison = Literal[">", "<"]
Severity = Literal["critical", "warning"]

# Grafana's server-side expressions live in this pseudo data source.
EXPRESSION_UID = "__expr__"
# Grafana stores these two on every query model; leaving them out makes each preview show a diff.
INTERVAL_MS = 1000
MAX_DATA_POINTS = 43200
QUERY_RANGE_S = 600
GROUP_INTERVAL_S = 60

_EVALUATOR = {">": "gt", "<": "lt"}
_SET_OPERATOR = re.compile(r"\b(or|and|unless)\b")


class AlertRule(Frozen):
    """One alert: what it measures, when it fires, how bad it is and what to do."""

    name: str = Field(pattern=r"^[A-Z][A-Za-z0-9]+$")
    """Alert name (CamelCase, as Prometheus' conventions have it)."""
    group: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    """Rule group: one Prometheus group and one Grafana rule group per value."""
    query: str
    """PromQL giving one value per series that can alert (labels say which one)."""
    comparison: Comparison
    """How the value is compared with the threshold."""
    threshold: float
    """The value that, crossed, makes the series pending and then firing."""
    for_s: int = Field(ge=0)
    """Seconds the condition must hold before the alert fires."""
    severity: Severity
    """critical wakes someone up; warning waits for working hours."""
    summary: str
    """One line with the labels that say where (Go templates over $labels and $value)."""
    description: str
    """What it means, in a sentence or two."""
    anchor: str = Field(pattern=r"^[a-z0-9-]+$")
    """Anchor of the runbook section in docs/MONITORING.md."""

    @property
    def expr(self) -> str:
        """The Prometheus alert expression."""
        # Set operators bind more loosely than comparisons: `a or b > 1` means `a or (b > 1)`.
        query = f"({self.query})" if _SET_OPERATOR.search(self.query) else self.query
        return f"{query} {self.comparison} {self.threshold:g}"

    def runbook_url(self, settings: AlertingSettings) -> str:
        """Link to what to do."""
        return f"{settings.runbook_base_url}#{self.anchor}"


def duration(seconds: int) -> str:
    """Seconds as a Prometheus/Grafana duration in the largest whole unit ("5m", "26h", "30s")."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def alert_rules(settings: AlertingSettings = AlertingSettings()) -> tuple[AlertRule, ...]:
    """Every alert of the platform; the budget thresholds come from the stack's settings."""
    return (
        AlertRule(
            name="TargetDown",
            group="availability",
            query="up",
            comparison="<",
            threshold=1,
            for_s=180,
            severity="critical",
            summary="Scrape target {{ $labels.job }} ({{ $labels.instance }}) is down",
            description="Prometheus cannot scrape this endpoint: the service or exporter is down, "
            "restarting, or unreachable on the internal network.",
            anchor="targetdown",
        ),
        AlertRule(
            name="PostgresDown",
            group="availability",
            query="pg_up",
            comparison="<",
            threshold=1,
            for_s=60,
            severity="critical",
            summary="PostgreSQL is not answering the exporter",
            description="postgres_exporter runs but cannot connect to PostgreSQL.",
            anchor="postgresdown",
        ),
        AlertRule(
            name="PostgresConnectionsHigh",
            group="database",
            query="sum(pg_stat_database_numbackends) / max(pg_settings_max_connections)",
            comparison=">",
            threshold=0.8,
            for_s=300,
            severity="warning",
            summary="PostgreSQL uses {{ $value | humanizePercentage }} of max_connections",
            description="More than 80% of the allowed connections are open; new ones will soon "
            "be refused.",
            anchor="postgresconnectionshigh",
        ),
        AlertRule(
            name="PostgresLongTransaction",
            group="database",
            query="max by (datname) (pg_stat_activity_max_tx_duration)",
            comparison=">",
            threshold=300,
            for_s=120,
            severity="warning",
            summary="A transaction in {{ $labels.datname }} has been open for "
            "{{ $value | humanizeDuration }}",
            description="A transaction open for more than 5 minutes holds locks and stops vacuum "
            "from cleaning up.",
            anchor="postgreslongtransaction",
        ),
        AlertRule(
            name="RedisDown",
            group="availability",
            query="redis_up",
            comparison="<",
            threshold=1,
            for_s=60,
            severity="critical",
            summary="Redis is not answering the exporter",
            description="redis_exporter runs but cannot reach Redis: the cache and the Celery "
            "broker are gone.",
            anchor="redisdown",
        ),
        AlertRule(
            name="RedisMemoryNearMax",
            group="database",
            # maxmemory is 0 (unlimited) unless set; the filter keeps the ratio meaningful.
            query="redis_memory_used_bytes / (redis_memory_max_bytes > 0)",
            comparison=">",
            threshold=0.9,
            for_s=300,
            severity="warning",
            summary="Redis uses {{ $value | humanizePercentage }} of maxmemory",
            description="Redis is near maxmemory: it evicts cache keys with a TTL, then refuses "
            "writes (Celery tasks included).",
            anchor="redismemorynearmax",
        ),
        AlertRule(
            name="ContainerMemoryNearLimit",
            group="containers",
            query="max by (service) (container_memory_working_set_bytes) "
            "/ max by (service) (container_spec_memory_limit_bytes > 0)",
            comparison=">",
            threshold=0.9,
            for_s=300,
            severity="warning",
            summary="{{ $labels.service }} uses {{ $value | humanizePercentage }} of its memory "
            "limit",
            description="The container's working set is above 90% of its limit; the kernel will "
            "OOM-kill it at 100%.",
            anchor="containermemorynearlimit",
        ),
        AlertRule(
            name="ContainerOOMKilled",
            group="containers",
            query="sum by (service) (increase(container_oom_events_total[10m]))",
            comparison=">",
            threshold=0,
            for_s=60,
            severity="critical",
            summary="{{ $labels.service }} was OOM-killed",
            description="The kernel killed a process of this container for exceeding its memory "
            "limit in the last 10 minutes.",
            anchor="containeroomkilled",
        ),
        AlertRule(
            name="ContainerCPUThrottled",
            group="containers",
            query="sum by (service) (rate(container_cpu_cfs_throttled_periods_total[5m])) "
            "/ sum by (service) (rate(container_cpu_cfs_periods_total[5m]))",
            comparison=">",
            threshold=0.25,
            for_s=900,
            severity="warning",
            summary="{{ $labels.service }} is CPU-throttled in {{ $value | humanizePercentage }} "
            "of periods",
            description="The container keeps hitting its CPU limit, so requests and tasks slow "
            "down.",
            anchor="containercputhrottled",
        ),
        AlertRule(
            name="CeleryWorkerDown",
            group="application",
            # Absent when no worker ever sent an event: count that as zero workers.
            query="sum(celery_worker_up) or vector(0)",
            comparison="<",
            threshold=1,
            for_s=300,
            severity="critical",
            summary="No Celery worker is up",
            description="celery-exporter has had no heartbeat from any worker: background jobs "
            "are not running.",
            anchor="celeryworkerdown",
        ),
        AlertRule(
            name="CeleryQueueBacklog",
            group="application",
            query="sum by (queue_name) (celery_queue_length)",
            comparison=">",
            threshold=100,
            for_s=600,
            severity="warning",
            summary="{{ $value }} tasks waiting in Celery queue {{ $labels.queue_name }}",
            description="Tasks arrive faster than the worker finishes them.",
            anchor="celeryqueuebacklog",
        ),
        AlertRule(
            name="ApiHighErrorRate",
            group="application",
            query='sum(rate(http_requests_total{job="backend",status=~"5.."}[5m])) '
            '/ sum(rate(http_requests_total{job="backend"}[5m]))',
            comparison=">",
            threshold=0.05,
            for_s=300,
            severity="critical",
            summary="{{ $value | humanizePercentage }} of API requests fail with 5xx",
            description="More than 5% of the backend's responses are server errors.",
            anchor="apihigherrorrate",
        ),
        AlertRule(
            name="ApiHighLatency",
            group="application",
            query="histogram_quantile(0.95, sum by (le) "
            '(rate(http_request_duration_seconds_bucket{job="backend"}[5m])))',
            comparison=">",
            threshold=0.5,
            for_s=600,
            severity="warning",
            summary="API p95 latency is {{ $value | humanizeDuration }}",
            description="The 95th percentile of the backend's response time is above 500 ms.",
            anchor="apihighlatency",
        ),
        AlertRule(
            name="BackupTooOld",
            group="backup",
            query="time() - max(backup_last_success_timestamp_seconds)",
            comparison=">",
            threshold=26 * 3600,
            for_s=600,
            severity="critical",
            summary="The last successful backup is {{ $value | humanizeDuration }} old",
            description="The daily pg_dump has not succeeded for more than 26 hours: the RPO of "
            "24 hours is no longer met.",
            anchor="backuptooold",
        ),
        AlertRule(
            name="WalReceiverDown",
            group="backup",
            # Absent when pitr.sh never wrote its metrics: count that as not streaming.
            query="max(backup_wal_receiver_active) or vector(0)",
            comparison="<",
            threshold=1,
            for_s=300,
            severity="critical",
            summary="WAL is not streaming to the backup volume",
            description="pg_receivewal is not connected through its slot: point-in-time recovery "
            "stops at the last streamed second, and WAL piles up on the server.",
            anchor="walreceiverdown",
        ),
        AlertRule(
            name="WalArchiveLagging",
            group="backup",
            query="max(backup_wal_lag_bytes)",
            comparison=">",
            # About one WAL segment (16 MiB): more than that unconfirmed means the stream is
            # falling behind. Written as 16e6, which the rule file prints exactly.
            threshold=16e6,
            for_s=300,
            severity="warning",
            summary="{{ $value | humanize1024 }}B of WAL not yet streamed to the backup volume",
            description="The WAL the server wrote and pg_receivewal has not confirmed is more "
            "than one segment: the on-host RPO is above its minute.",
            anchor="walarchivelagging",
        ),
        AlertRule(
            name="BaseBackupTooOld",
            group="backup",
            query="time() - max(backup_base_last_success_timestamp_seconds)",
            comparison=">",
            threshold=26 * 3600,
            for_s=600,
            severity="critical",
            summary="The newest base backup is {{ $value | humanizeDuration }} old",
            description="No verified base backup for more than 26 hours: a restore replays ever "
            "more WAL (longer RTO), and retention cannot drop old WAL.",
            anchor="basebackuptooold",
        ),
        AlertRule(
            name="OffsiteSyncTooOld",
            group="backup",
            query="time() - max(backup_offsite_last_success_timestamp_seconds)",
            comparison=">",
            threshold=20 * 60,
            for_s=300,
            severity="critical",
            summary="The last off-site sync is {{ $value | humanizeDuration }} old",
            description="The encrypted off-site copy has not been updated for 20 minutes: losing "
            "the host now would lose more than the 15-minute off-site RPO.",
            anchor="offsitesynctooold",
        ),
        AlertRule(
            name="BackupRepositoryLarge",
            group="backup",
            query="max(backup_repository_size_bytes)",
            comparison=">",
            # 20 GB: a quarter of the smallest plan's 80 GB disk, several times the repository
            # measured for 100,000 stocks with a week of WAL (docs/DISASTER_RECOVERY.md).
            threshold=20e9,
            for_s=1200,
            severity="warning",
            summary="The PITR repository holds {{ $value | humanize1024 }}B",
            description="Base backups and WAL use more of the disk than planned: a write-heavy "
            "week, or retention not running.",
            anchor="backuprepositorylarge",
        ),
        AlertRule(
            name="CostOverBudget",
            group="cost",
            query="platform:budget_used_ratio",
            comparison=">",
            threshold=settings.budget_critical_ratio,
            for_s=900,
            severity="critical",
            summary="Projected monthly cost is {{ $value | humanizePercentage }} of the budget",
            description="The cost model's estimate plus the application's external spend exceeds "
            "the monthly budget.",
            anchor="costoverbudget",
        ),
        AlertRule(
            name="CostNearBudget",
            group="cost",
            query="platform:budget_used_ratio",
            comparison=">",
            threshold=settings.budget_warning_ratio,
            for_s=900,
            severity="warning",
            summary="Projected monthly cost is {{ $value | humanizePercentage }} of the budget",
            description="The projected monthly cost has passed the warning share of the budget.",
            anchor="costnearbudget",
        ),
    )


def _groups(rules: Sequence[AlertRule]) -> dict[str, list[AlertRule]]:
    groups: dict[str, list[AlertRule]] = {}
    for rule in rules:
        groups.setdefault(rule.group, []).append(rule)
    return groups


def prometheus_rule_groups(
    rules: Sequence[AlertRule], settings: AlertingSettings
) -> dict[str, Any]:
    """The rule file's data: one group per `AlertRule.group`, alerts in definition order."""
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate alert names: {', '.join(duplicates)}")
    return {
        "groups": [
            {
                "name": f"platform-{group}",
                "rules": [
                    {
                        "alert": r.name,
                        "expr": r.expr,
                        "for": duration(r.for_s),
                        "labels": {"severity": r.severity},
                        "annotations": {
                            "summary": r.summary,
                            "description": r.description,
                            "runbook_url": r.runbook_url(settings),
                        },
                    }
                    for r in members
                ],
            }
            for group, members in _groups(rules).items()
        ]
    }


def _query_model(rule: AlertRule, datasource_uid: str) -> dict[str, Any]:
    return {
        "datasource": {"type": "prometheus", "uid": datasource_uid},
        "editorMode": "code",
        "expr": rule.query,
        "instant": True,
        "range": False,
        "intervalMs": INTERVAL_MS,
        "maxDataPoints": MAX_DATA_POINTS,
        "refId": "A",
    }


def _expression(ref_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "datasource": {"type": "__expr__", "uid": EXPRESSION_UID},
        **body,
        "intervalMs": INTERVAL_MS,
        "maxDataPoints": MAX_DATA_POINTS,
        "refId": ref_id,
    }


@dataclass(frozen=True)
class GrafanaQuery:
    """One stage of a Grafana-managed rule: a query or an expression, its model as JSON text."""

    ref_id: str
    datasource_uid: str
    relative_from_s: int
    model: str
    """JSON text, as the provider stores it."""
    query_type: str = ""


@dataclass(frozen=True)
class GrafanaRule:
    """One Grafana-managed rule, in the provider's terms."""

    name: str
    uid: str
    condition: str
    for_: str
    no_data_state: str
    exec_err_state: str
    labels: dict[str, str]
    annotations: dict[str, str]
    data: tuple[GrafanaQuery, ...]


@dataclass(frozen=True)
class GrafanaRuleGroup:
    """A rule group: its name, evaluation interval and rules."""

    name: str
    interval_seconds: int
    rules: tuple[GrafanaRule, ...]

    def as_json(self) -> dict[str, Any]:
        """The group as plain data in the provider's attribute names (what `render` writes)."""
        return {
            "name": self.name,
            "interval_seconds": self.interval_seconds,
            "rules": [
                {
                    "name": r.name,
                    "uid": r.uid,
                    "condition": r.condition,
                    "for": r.for_,
                    "no_data_state": r.no_data_state,
                    "exec_err_state": r.exec_err_state,
                    "labels": r.labels,
                    "annotations": r.annotations,
                    "data": [
                        {
                            "ref_id": q.ref_id,
                            "datasource_uid": q.datasource_uid,
                            "query_type": q.query_type,
                            "relative_time_range": {"from": q.relative_from_s, "to": 0},
                            "model": q.model,
                        }
                        for q in r.data
                    ],
                }
                for r in self.rules
            ],
        }


def grafana_rule(rule: AlertRule, datasource_uid: str, settings: AlertingSettings) -> GrafanaRule:
    """One Grafana-managed rule: query A, reduce B, threshold C; condition C."""
    reduce_b = _expression(
        "B", {"type": "reduce", "expression": "A", "reducer": "last", "settings": {"mode": ""}}
    )
    threshold_c = _expression(
        "C",
        {
            "type": "threshold",
            "expression": "B",
            "conditions": [
                {"evaluator": {"type": _EVALUATOR[rule.comparison], "params": [rule.threshold]}}
            ],
        },
    )
    return GrafanaRule(
        name=rule.name,
        uid=rule.anchor[:40],
        condition="C",
        for_=duration(rule.for_s),
        no_data_state="OK",
        exec_err_state="Error",
        labels={"severity": rule.severity},
        annotations={
            "summary": rule.summary,
            "description": rule.description,
            "runbook_url": rule.runbook_url(settings),
        },
        data=(
            GrafanaQuery(
                "A",
                datasource_uid,
                QUERY_RANGE_S,
                json.dumps(_query_model(rule, datasource_uid), sort_keys=True),
            ),
            GrafanaQuery("B", EXPRESSION_UID, 0, json.dumps(reduce_b, sort_keys=True)),
            GrafanaQuery("C", EXPRESSION_UID, 0, json.dumps(threshold_c, sort_keys=True)),
        ),
    )


def grafana_rule_groups(
    rules: Sequence[AlertRule], datasource_uid: str, settings: AlertingSettings
) -> list[GrafanaRuleGroup]:
    """Grafana rule groups: what `Monitoring` provisions and `render` writes (as_json)."""
    return [
        GrafanaRuleGroup(
            name=f"platform-{group}",
            interval_seconds=GROUP_INTERVAL_S,
            rules=tuple(grafana_rule(r, datasource_uid, settings) for r in members),
        )
        for group, members in _groups(rules).items()
    ]
