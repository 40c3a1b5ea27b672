"""`investment-platform`: is everything up, how the API, the data stores, Celery and the containers
are doing. The "Services" row has one panel per catalogue service that exposes metrics, so a new
service shows up without touching this file."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dashboard_b

from dashboards import (
    Layout,
    row,
    stat_panel,
    timeseries_panel,
    to_json,
    up_mappings,
)
from model.catalogue import ServiceSpec

UID = "investment-platform"
TITLE = "Investment platform"
API = 'job="backend"'
RATE = "5m"


def _service_up(layout: Layout, spec: ServiceSpec) -> Any:
    jobs = ", ".join(e.job for e in spec.metrics)
    return stat_panel(
        layout,
        spec.name,
        [(f'min(up{{service="{spec.name}"}})', "")],
        unit="none",
        description=f"{spec.description}. Scrape jobs: {jobs}.",
        span=3,
        height=3,
        steps=((None, "red"), (1, "green")),
        mappings=up_mappings(),
    )


def _api(layout: Layout) -> list[Any]:
    return [
        timeseries_panel(
            layout,
            "API requests by status",
            [(f"sum by (status) (rate(http_requests_total{{{API}}}[{RATE}]))", "{{status}}")],
            unit="reqps",
            span=8,
        ),
        timeseries_panel(
            layout,
            "API 5xx ratio",
            [
                (
                    f'sum(rate(http_requests_total{{{API},status=~"5.."}}[{RATE}])) '
                    f"/ sum(rate(http_requests_total{{{API}}}[{RATE}]))",
                    "5xx share",
                )
            ],
            unit="percentunit",
            description="Alert ApiHighErrorRate fires above 5% for 5 minutes.",
            span=8,
            min_value=0,
        ),
        timeseries_panel(
            layout,
            "API latency",
            [
                (
                    f"histogram_quantile({q}, sum by (le) "
                    f"(rate(http_request_duration_seconds_bucket{{{API}}}[{RATE}])))",
                    f"p{round(q * 100)}",
                )
                for q in (0.5, 0.95, 0.99)
            ],
            unit="s",
            description="Alert ApiHighLatency fires when p95 stays above 500 ms for 10 minutes.",
            span=8,
            min_value=0,
        ),
    ]


def _postgres(layout: Layout) -> list[Any]:
    return [
        timeseries_panel(
            layout,
            "PostgreSQL connections",
            [
                ("sum by (datname) (pg_stat_database_numbackends)", "{{datname}}"),
                ("max(pg_settings_max_connections)", "max_connections"),
            ],
            unit="short",
            span=8,
            min_value=0,
        ),
        timeseries_panel(
            layout,
            "PostgreSQL transactions",
            [
                ("sum(rate(pg_stat_database_xact_commit[5m]))", "commits"),
                ("sum(rate(pg_stat_database_xact_rollback[5m]))", "rollbacks"),
            ],
            unit="ops",
            span=8,
        ),
        timeseries_panel(
            layout,
            "Longest open transaction",
            [("max by (datname) (pg_stat_activity_max_tx_duration)", "{{datname}}")],
            unit="s",
            description="Alert PostgresLongTransaction fires above 5 minutes.",
            span=8,
            min_value=0,
        ),
    ]


def _redis(layout: Layout) -> list[Any]:
    return [
        timeseries_panel(
            layout,
            "Redis memory vs maxmemory",
            [
                ("max(redis_memory_used_bytes)", "used"),
                ("max(redis_memory_max_bytes)", "maxmemory"),
            ],
            unit="bytes",
            span=8,
            min_value=0,
        ),
        timeseries_panel(
            layout,
            "Redis commands",
            [("sum(rate(redis_commands_processed_total[5m]))", "commands")],
            unit="ops",
            span=8,
        ),
        timeseries_panel(
            layout,
            "Redis clients and keys",
            [
                ("sum(redis_connected_clients)", "clients"),
                ("sum(redis_db_keys)", "keys"),
            ],
            unit="short",
            span=8,
        ),
    ]


def _celery(layout: Layout) -> list[Any]:
    return [
        stat_panel(
            layout,
            "Celery workers up",
            [("sum(celery_worker_up) or vector(0)", "")],
            unit="none",
            span=4,
            height=8,
            steps=((None, "red"), (1, "green")),
        ),
        timeseries_panel(
            layout,
            "Celery queue length",
            [("sum by (queue_name) (celery_queue_length)", "{{queue_name}}")],
            unit="short",
            description="Alert CeleryQueueBacklog fires above 100 for 10 minutes.",
            span=10,
            min_value=0,
        ),
        timeseries_panel(
            layout,
            "Celery tasks",
            [
                ("sum(rate(celery_task_succeeded_total[5m]))", "succeeded"),
                ("sum(rate(celery_task_failed_total[5m]))", "failed"),
                ("sum(rate(celery_task_retried_total[5m]))", "retried"),
            ],
            unit="ops",
            description="Counted from task events: workers run with --task-events.",
            span=10,
        ),
    ]


def _containers(layout: Layout) -> list[Any]:
    return [
        timeseries_panel(
            layout,
            "Memory vs limit",
            [
                (
                    "max by (service) (container_memory_working_set_bytes) "
                    "/ max by (service) (container_spec_memory_limit_bytes > 0)",
                    "{{service}}",
                )
            ],
            unit="percentunit",
            description="Working set as a share of each container's limit (cAdvisor). "
            "ContainerMemoryNearLimit fires above 90%.",
            min_value=0,
            max_value=1,
        ),
        timeseries_panel(
            layout,
            "CPU vs limit",
            [
                (
                    "sum by (service) (rate(container_cpu_usage_seconds_total[5m])) "
                    "/ max by (service) (container_spec_cpu_quota / container_spec_cpu_period)",
                    "{{service}}",
                )
            ],
            unit="percentunit",
            description="CPU used as a share of each container's CPU limit.",
            min_value=0,
        ),
        timeseries_panel(
            layout,
            "Memory working set",
            [("max by (service) (container_memory_working_set_bytes)", "{{service}}")],
            unit="bytes",
            min_value=0,
        ),
        timeseries_panel(
            layout,
            "CPU throttling and OOM kills",
            [
                (
                    "sum by (service) (rate(container_cpu_cfs_throttled_periods_total[5m])) "
                    "/ sum by (service) (rate(container_cpu_cfs_periods_total[5m]))",
                    "throttled {{service}}",
                ),
                (
                    "sum by (service) (increase(container_oom_events_total[1h])) > 0",
                    "OOM kills (1h) {{service}}",
                ),
            ],
            unit="short",
            min_value=0,
        ),
    ]


def _backups(layout: Layout) -> list[Any]:
    """Point-in-time recovery and the off-site copy: the numbers behind the RPO (WAL lag, the
    age of the last off-site sync) and the RTO (the age of the base backup a restore starts
    from)."""
    return [
        timeseries_panel(
            layout,
            "WAL not yet streamed",
            [
                ("max(backup_wal_lag_bytes)", "lag"),
                ("max(backup_wal_receiver_active)", "receiver active"),
            ],
            unit="bytes",
            description="WAL the server wrote that pg_receivewal has not confirmed. Alerts "
            "WalArchiveLagging (above 16 MB for 5 minutes) and WalReceiverDown.",
            span=6,
            min_value=0,
        ),
        timeseries_panel(
            layout,
            "Age of the last base backup and off-site sync",
            [
                ("time() - max(backup_base_last_success_timestamp_seconds)", "base backup"),
                ("time() - max(backup_offsite_last_success_timestamp_seconds)", "off-site sync"),
            ],
            unit="s",
            description="Alerts BaseBackupTooOld above 26 hours and OffsiteSyncTooOld above 20 "
            "minutes (no off-site line: no backup.offsite).",
            span=12,
            min_value=0,
        ),
        timeseries_panel(
            layout,
            "Backup repository size",
            [("max(backup_repository_size_bytes)", "base backups + WAL")],
            unit="bytes",
            description="Alert BackupRepositoryLarge above 20 GB.",
            span=6,
            min_value=0,
        ),
    ]


def _edge(layout: Layout) -> list[Any]:
    return [
        timeseries_panel(
            layout,
            "nginx connections",
            [
                ("sum(nginx_connections_active)", "active"),
                ("sum(rate(nginx_http_requests_total[5m]))", "requests/s"),
            ],
            unit="short",
        ),
        timeseries_panel(
            layout,
            "Firing alerts",
            [
                (
                    'sum by (alertname, severity) (ALERTS{alertstate="firing"})',
                    "{{alertname}} ({{severity}})",
                )
            ],
            unit="short",
            description="Prometheus' evaluation of the same rules Grafana notifies on.",
            min_value=0,
        ),
    ]


def build(specs: Sequence[ServiceSpec]) -> dict[str, Any]:
    """The dashboard JSON for the services the stack runs."""
    layout = Layout()
    board = (
        dashboard_b.Dashboard(TITLE)
        .uid(UID)
        .tags(["investment-platform", "generated"])
        .refresh("1m")
        .time("now-6h", "now")
        .timezone("utc")
        .readonly()
    )
    sections: list[tuple[str, Callable[[Layout], list[Any]]]] = [
        ("Services", lambda lay: [_service_up(lay, s) for s in specs if s.metrics]),
        ("API", _api),
        ("PostgreSQL", _postgres),
        ("Redis", _redis),
        ("Celery", _celery),
        ("Containers", _containers),
        ("Backups and recovery", _backups),
        ("Edge and alerts", _edge),
    ]
    for title, make in sections:
        board = board.with_row(row(layout, title))
        for panel in make(layout):
            board = board.with_panel(panel)
    return to_json(board)
