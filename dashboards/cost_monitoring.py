"""`cost-monitoring`: the cost model's estimate per service, the budget and its headroom, what
the services would cost billed for what they use (cAdvisor usage times the same unit prices), and
the slack between each limit and the usage `rightsize` sizes it from.

The series come from the recording rules of render/cost_metrics.py; the budget
panels' colours use the stack's alert thresholds, so the dashboard turns orange and red exactly when
CostNearBudget and CostOverBudget fire.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dashboard_b

from dashboards import Layout, bargauge_panel, row, stat_panel, timeseries_panel, to_json
from model import rightsize as rs
from model import series as cm
from model.alerting import AlertingSettings
from model.cost import CostReport

UID = "cost-monitoring"
TITLE = "Cost monitoring"
RIGHT_SIZING_WINDOW = "7d"
"""The window of the right-sizing row: `rightsize`'s default."""
SLACK_STEPS = ((None, "blue"), (0.5, "green"), (0.9, "orange"), (0.98, "red"))
"""Under half the limit used: slack to take back; above 90%: close to the limit."""


def _budget(layout: Layout, report: CostReport, settings: AlertingSettings) -> list[Any]:
    warn, crit = settings.budget_warning_ratio, settings.budget_critical_ratio
    budget = report.budget_usd
    return [
        stat_panel(
            layout,
            "Projected monthly cost",
            [(cm.PROJECTED, "")],
            unit="currencyUSD",
            description="The cost model's billed estimate plus the application's external spend.",
            steps=((None, "green"), (budget * warn, "orange"), (budget * crit, "red")),
        ),
        stat_panel(layout, "Monthly budget", [(cm.BUDGET, "")], unit="currencyUSD"),
        stat_panel(
            layout,
            "Headroom",
            [(cm.HEADROOM, "")],
            unit="currencyUSD",
            steps=((None, "red"), (0, "orange"), (budget * (1 - warn), "green")),
        ),
        stat_panel(
            layout,
            "Budget used",
            [(cm.USED_RATIO, "")],
            unit="percentunit",
            steps=((None, "green"), (warn, "orange"), (crit, "red")),
        ),
        stat_panel(
            layout,
            "Host and fixed costs (estimate)",
            [(cm.BILLED, "")],
            unit="currencyUSD",
            description=f"{report.plan.name} allocated by limits, plus fixed items.",
        ),
        stat_panel(
            layout,
            "External spend",
            [(cm.EXTERNAL, "")],
            unit="currencyUSD",
            description="app_external_cost_monthly_usd from the backend's cost endpoint.",
        ),
        timeseries_panel(
            layout,
            "Projected cost vs budget",
            [(cm.PROJECTED, "projected"), (cm.BUDGET, "budget")],
            unit="currencyUSD",
            span=24,
            min_value=0,
        ),
    ]


def _per_service(layout: Layout) -> list[Any]:
    return [
        bargauge_panel(
            layout,
            "Estimated monthly cost per service",
            [(f"sort_desc({cm.ESTIMATE})", "{{service}}")],
            unit="currencyUSD",
            description="The host price allocated to each service by its CPU and memory limits.",
        ),
        bargauge_panel(
            layout,
            "Usage-based monthly cost per service",
            [(f"sort_desc({cm.USAGE})", "{{service}}")],
            unit="currencyUSD",
            description="What each service would cost billed for its measured CPU and memory.",
        ),
        timeseries_panel(
            layout,
            "Usage-based cost over time",
            [(cm.USAGE, "{{service}}")],
            unit="currencyUSD",
            min_value=0,
        ),
        timeseries_panel(
            layout,
            "Usage vs estimate",
            [(f"{cm.USAGE} / on (service) {cm.ESTIMATE}", "{{service}}")],
            unit="percentunit",
            description="Low values mean a limit larger than the service needs: a candidate "
            "for right-sizing.",
            min_value=0,
        ),
        bargauge_panel(
            layout,
            "System, idle and fixed items",
            [(cm.OVERHEAD, "{{item}}")],
            unit="currencyUSD",
        ),
        timeseries_panel(
            layout,
            "Usage-based cost: CPU and memory",
            [(f"sum({cm.USAGE_CPU})", "CPU"), (f"sum({cm.USAGE_MEMORY})", "memory")],
            unit="currencyUSD",
            min_value=0,
        ),
    ]


def _right_sizing(layout: Layout) -> list[Any]:
    q = rs.usage_queries(RIGHT_SIZING_WINDOW)
    w = RIGHT_SIZING_WINDOW
    why = f"The query `python -m commands rightsize --window {w}` reads."

    def bars(title: str, expr: str, description: str) -> Any:
        return bargauge_panel(
            layout,
            title,
            [(f"sort_desc({expr})", "{{service}}")],
            unit="percentunit",
            description=f"{description} {why}",
            steps=SLACK_STEPS,
            max_value=1,
        )

    return [
        bars(
            f"Memory p99 of limit ({w})",
            f"{q['memory_p99']} / on (service) {rs.MEMORY_LIMIT}",
            f"99th percentile of the working set over {w} as a share of the memory limit: "
            "blue bars are slack a smaller limit takes back.",
        ),
        bars(
            f"Memory peak of limit ({w})",
            f"{q['memory_peak']} / on (service) {rs.MEMORY_LIMIT}",
            f"Highest working set over {w} as a share of the memory limit: red is an OOM kill "
            "waiting to happen.",
        ),
        bars(
            f"CPU p95 of limit ({w})",
            f"{q['cpu_p95']} / on (service) {rs.CPU_LIMIT}",
            f"95th percentile of the {rs.CPU_RATE_WINDOW} CPU usage over {w} as a share of the "
            "CPU limit.",
        ),
        bars(
            f"CPU throttled ({w})",
            q["throttled"],
            f"Share of the CFS periods throttled over {w}; from "
            f"{rs.THROTTLED_SUSTAINED:.0%} the limit is raised.",
        ),
    ]


def build(report: CostReport, settings: AlertingSettings) -> dict[str, Any]:
    """The cost dashboard JSON; thresholds follow the budget and the alert settings."""
    layout = Layout()
    board = (
        dashboard_b.Dashboard(TITLE)
        .uid(UID)
        .tags(["investment-platform", "cost", "generated"])
        .refresh("5m")
        .time("now-7d", "now")
        .timezone("utc")
        .readonly()
    )
    sections: list[tuple[str, Callable[[Layout], list[Any]]]] = [
        ("Budget", lambda lay: _budget(lay, report, settings)),
        ("Per service", _per_service),
        ("Right-sizing", _right_sizing),
    ]
    for title, make in sections:
        board = board.with_row(row(layout, title))
        for panel in make(layout):
            board = board.with_panel(panel)
    return to_json(board)
