"""The cost model as Prometheus recording rules, so Grafana can chart it and alert on the budget.

The estimate is a pure function of the stack config (model/cost.py), so it becomes constant
series (`vector(1.08)` with a `service` label), regenerated whenever the config changes; no extra
exporter is needed. Usage-based cost multiplies what cAdvisor measures (CPU seconds, memory working
set) by the same unit prices, which shows what each service would cost if billed for what it uses
rather than for its limits. The application's own variable spend (paid data APIs), which it
reports on its cost endpoint as `app_external_cost_monthly_usd`, is added to the projection that the
budget alerts compare with the budget.
"""

from __future__ import annotations

from typing import Any

from model.cost import CostReport
from model.series import (
    BILLED,
    BUDGET,
    CPU_UNIT,
    ESTIMATE,
    EXTERNAL,
    HEADROOM,
    MEMORY_UNIT,
    OVERHEAD,
    PROJECTED,
    USAGE,
    USAGE_CPU,
    USAGE_MEMORY,
    USED_RATIO,
)

GIB = 1024**3
CADVISOR_RATE_WINDOW = "5m"


def _number(value: float) -> str:
    return f"{round(value, 4):g}"


def _constant(record: str, value: float, **labels: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"record": record, "expr": f"vector({_number(value)})"}
    if labels:
        rule["labels"] = labels
    return rule


def cost_rule_groups(report: CostReport) -> dict[str, Any]:
    """Recording rules for the estimate, the budget, the projection and usage-based cost.

    Rules in a group run in order, so each may use the ones above it in the same evaluation.
    """
    estimate = [_constant(ESTIMATE, s.monthly_usd, service=s.name) for s in report.services]
    overhead = [
        _constant(OVERHEAD, report.system_usd, item="system"),
        _constant(OVERHEAD, report.idle_usd, item="idle"),
        *(_constant(OVERHEAD, f.monthly_usd, item=f.name) for f in report.fixed),
    ]
    budget = [
        _constant(BILLED, report.billed_usd),
        _constant(BUDGET, report.budget_usd),
        {"record": EXTERNAL, "expr": "sum(app_external_cost_monthly_usd) or vector(0)"},
        {"record": PROJECTED, "expr": f"{BILLED} + {EXTERNAL}"},
        {"record": HEADROOM, "expr": f"{BUDGET} - {PROJECTED}"},
        {"record": USED_RATIO, "expr": f"{PROJECTED} / {BUDGET}"},
    ]
    usage = [
        _constant(CPU_UNIT, report.cpu_unit_usd),
        _constant(MEMORY_UNIT, report.memory_unit_usd),
        {
            "record": USAGE_CPU,
            "expr": 'sum by (service) (rate(container_cpu_usage_seconds_total{service!=""}'
            f"[{CADVISOR_RATE_WINDOW}])) * scalar({CPU_UNIT})",
        },
        {
            "record": USAGE_MEMORY,
            "expr": 'sum by (service) (container_memory_working_set_bytes{service!=""}) '
            f"/ {GIB} * scalar({MEMORY_UNIT})",
        },
        {"record": USAGE, "expr": f"{USAGE_CPU} + {USAGE_MEMORY}"},
    ]
    return {
        "groups": [
            {"name": "platform-cost-estimate", "rules": estimate + overhead},
            {"name": "platform-cost-budget", "rules": budget},
            {"name": "platform-cost-usage", "rules": usage},
        ]
    }
