"""Right-sizing: a memory and a CPU limit per service from the usage Prometheus recorded.

Pure functions, no I/O: `commands/rightsize.py` reads the usage from Prometheus' HTTP API and hands
it here. The method follows the Kubernetes VPA recommender (a high percentile of usage plus a
safety margin, memory sized from peaks, OOM kills bump memory up, a floor per resource) adapted to
Docker limits, which are hard caps rather than scheduling requests; docs/COST_OPTIMIZATION.md
("Right-sizing from real usage") states every constant and where it comes from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic.alias_generators import to_camel

from model.base import Frozen
from model.catalogue import ServiceSpec, catalogue_by_name
from model.config import StackConfig
from model.cost import CostReport, ServiceLimits, cheapest_fitting_plan, estimate, fits
from model.hostplans import HOST_PLANS, HostPlan
from model.stackcost import fixed_items

MEMORY_PERCENTILE = 0.99
"""Working-set percentile a memory limit covers with MEMORY_MARGIN on top."""
MEMORY_MARGIN = 0.15
"""VPA's default safety margin (`--recommendation-margin-fraction`)."""
PEAK_MARGIN = 0.05
"""A memory limit also covers the window's peak working set plus this: below the peak, the
service would have been OOM-killed."""
CPU_PERCENTILE = 0.95
"""Percentile of 5-minute CPU averages a CPU limit covers with CPU_MARGIN on top."""
CPU_MARGIN = 0.15
"""Same safety margin as memory (VPA applies one margin to both)."""
CPU_RATE_WINDOW = "5m"
"""CPU usage is averaged over this (the dashboards' and alerts' rate window)."""
OOM_BUMP = 1.2
"""After OOM kills, memory goes to at least the limit times this (VPA's OOMBumpUpRatio)."""
THROTTLED_SUSTAINED = 0.10
"""Share of the CFS periods (those in which the container wanted CPU) that were throttled over
the window, from which throttling counts as sustained."""
THROTTLE_BUMP = 1.25
"""Under sustained throttling, CPU goes to at least the limit times this: throttled usage is
capped at the limit, so its percentiles cannot show how much more the service wants."""
MIN_HISTORY_H = 24.0
"""Hours of samples a service needs before its limits move: one daily cycle at least."""
CPU_STEP = 0.05
"""CPU limits are multiples of this (they then read back unchanged from Docker, see
model/catalogue.py check_cpus, from 0.1 up)."""
CPU_FLOOR = 0.1
"""The smallest CPU limit recommended."""
MIN_MEMORY_STEP_MIB = 4
"""Smallest memory rounding step."""
SUBQUERY_STEP_MIN = 5
"""Resolution of the subqueries (CPU percentiles, coverage), in minutes: one point per CPU rate
window."""

Status = Literal["recommended", "insufficient", "missing"]


class Usage(Frozen):
    """What Prometheus saw of one service over the window."""

    service: str
    covered_h: float
    """Hours of the window with working-set samples."""
    memory_p99_mib: float
    """99th percentile of the working set (MiB)."""
    memory_peak_mib: float
    """Highest working set (MiB)."""
    cpu_p95: float
    """95th percentile of the 5-minute CPU usage (cores)."""
    cpu_peak: float
    """Highest 5-minute CPU usage (cores)."""
    throttled_ratio: float
    """Throttled CFS periods / CFS periods over the window."""
    oom_kills: int
    """OOM kills in the window."""
    restarts: int
    """Container restarts in the window."""


class Recommendation(Frozen):
    """The limits recommended for one service, each with the reason."""

    service: str
    status: Status
    current_cpus: float
    current_memory_mib: int
    cpus: float
    """Recommended CPU limit (may exceed the catalogue's)."""
    memory_mib: int
    """Recommended memory limit (may exceed the catalogue's)."""
    catalogue_cpus: float
    catalogue_memory_mib: int
    cpu_reason: str
    memory_reason: str
    usage: Usage | None

    @property
    def written_cpus(self) -> float:
        """What a stack file may hold: the recommendation, capped at the catalogue's limit."""
        return min(self.cpus, self.catalogue_cpus)

    @property
    def written_memory_mib(self) -> int:
        """What a stack file may hold: the recommendation, capped at the catalogue's limit."""
        return min(self.memory_mib, self.catalogue_memory_mib)

    @property
    def changed(self) -> bool:
        return (self.cpus, self.memory_mib) != (self.current_cpus, self.current_memory_mib)

    @property
    def catalogue_changes(self) -> tuple[str, ...]:
        """The catalogue edits the recommendation needs (stacks may only lower limits)."""
        changes = []
        if self.cpus > self.catalogue_cpus:
            changes.append(
                f"{self.service}: raise cpus {self.catalogue_cpus:g}→{self.cpus:g} in "
                "model/catalogue.py (a stack file cannot go above the catalogue)"
            )
        if self.memory_mib > self.catalogue_memory_mib:
            changes.append(
                f"{self.service}: raise memory_mib {self.catalogue_memory_mib}→{self.memory_mib} "
                "in model/catalogue.py (a stack file cannot go above the catalogue)"
            )
        return tuple(changes)

    @property
    def explanation(self) -> tuple[str, str]:
        """One line per resource: `memory 512→384 MiB: p99 working set 301 MiB + 15% margin`."""
        if self.cpus == self.current_cpus:
            cpu = f"cpus {self.cpus:g} kept: {self.cpu_reason}"
        else:
            cpu = f"cpus {self.current_cpus:g}→{self.cpus:g}: {self.cpu_reason}"
        if self.memory_mib == self.current_memory_mib:
            memory = f"memory {self.memory_mib} MiB kept: {self.memory_reason}"
        else:
            memory = f"memory {self.current_memory_mib}→{self.memory_mib} MiB: {self.memory_reason}"
        return cpu, memory

    def as_output(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "status": self.status,
            "cpus": {"current": self.current_cpus, "recommended": self.cpus},
            "memoryMib": {"current": self.current_memory_mib, "recommended": self.memory_mib},
            "written": {"cpus": self.written_cpus, "memoryMib": self.written_memory_mib},
            "explanation": list(self.explanation),
            "catalogueChanges": list(self.catalogue_changes),
            "usage": None
            if self.usage is None
            else {to_camel(k): v for k, v in self.usage.model_dump().items()},
        }


def _sel(metric: str) -> str:
    # cAdvisor's container series carry `service` (render/prometheus.py relabels it from the
    # containers' service label and drops every other container's series), as in the alerts.
    return f'{metric}{{service!=""}}'


MEMORY = _sel("container_memory_working_set_bytes")
CPU_RATE = (
    f"sum by (service) (rate({_sel('container_cpu_usage_seconds_total')}[{CPU_RATE_WINDOW}]))"
)
MEMORY_LIMIT = f"max by (service) ({_sel('container_spec_memory_limit_bytes')} > 0)"
CPU_LIMIT = (
    f"max by (service) ({_sel('container_spec_cpu_quota')} / {_sel('container_spec_cpu_period')})"
)


def usage_queries(window: str) -> dict[str, str]:
    """PromQL per measure, each giving one value per service over `window` (a Prometheus
    duration) ending at the query's time: what `rightsize` reads and the cost dashboard's
    right-sizing row shows."""
    step = f"{SUBQUERY_STEP_MIN}m"
    return {
        "covered": f"count_over_time((max by (service) ({MEMORY}))[{window}:{step}])",
        "memory_p99": (
            f"max by (service) (quantile_over_time({MEMORY_PERCENTILE}, {MEMORY}[{window}]))"
        ),
        "memory_peak": f"max by (service) (max_over_time({MEMORY}[{window}]))",
        "cpu_p95": f"quantile_over_time({CPU_PERCENTILE}, ({CPU_RATE})[{window}:{step}])",
        "cpu_peak": f"max_over_time(({CPU_RATE})[{window}:{step}])",
        "throttled": (
            f"sum by (service) (increase({_sel('container_cpu_cfs_throttled_periods_total')}"
            f"[{window}])) / sum by (service) (increase("
            f"{_sel('container_cpu_cfs_periods_total')}[{window}]))"
        ),
        "oom": f"sum by (service) (increase({_sel('container_oom_events_total')}[{window}]))",
        "restarts": (
            f"sum by (service) (changes({_sel('container_start_time_seconds')}[{window}]))"
        ),
    }


def round_memory_mib(value: float) -> int:
    """Round up to one sixteenth of the enclosing power of two (346 → 352, 133 → 144, 21 → 24),
    at least MIN_MEMORY_STEP_MIB: at most 12.5% above the value at any size, in steps a person
    would pick."""
    if value <= MIN_MEMORY_STEP_MIB:
        return MIN_MEMORY_STEP_MIB
    power = 2 ** math.ceil(math.log2(value))
    step = max(MIN_MEMORY_STEP_MIB, power // 16)
    return int(math.ceil(value / step - 1e-9) * step)


def round_cpus(value: float) -> float:
    """Round up to a multiple of CPU_STEP, at least CPU_FLOOR."""
    hundredths = math.ceil(round(value * 100, 6) / (CPU_STEP * 100)) * round(CPU_STEP * 100)
    return max(CPU_FLOOR, hundredths / 100)


def _pct(value: float) -> str:
    return f"{value * 100:g}%"


def _memory(spec: ServiceSpec, current: int, usage: Usage) -> tuple[int, str]:
    from_p99 = usage.memory_p99_mib * (1 + MEMORY_MARGIN)
    from_peak = usage.memory_peak_mib * (1 + PEAK_MARGIN)
    if from_p99 >= from_peak:
        value, reason = (
            round_memory_mib(from_p99),
            f"p99 working set {usage.memory_p99_mib:.0f} MiB + {_pct(MEMORY_MARGIN)} margin",
        )
    else:
        value, reason = (
            round_memory_mib(from_peak),
            f"peak working set {usage.memory_peak_mib:.0f} MiB + {_pct(PEAK_MARGIN)} "
            f"(p99 {usage.memory_p99_mib:.0f} MiB)",
        )
    if usage.oom_kills:
        bumped = round_memory_mib(current * OOM_BUMP)
        if bumped >= value:
            kills = "OOM kill" if usage.oom_kills == 1 else "OOM kills"
            value, reason = (
                bumped,
                f"{usage.oom_kills} {kills}: limit {current} MiB + {_pct(OOM_BUMP - 1)} "
                "(VPA's OOM bump)",
            )
    if value < spec.min_memory_mib:
        value, reason = spec.min_memory_mib, f"the service's floor ({reason} is below it)"
    return value, reason


def _cpu(current: float, usage: Usage) -> tuple[float, str]:
    value = round_cpus(usage.cpu_p95 * (1 + CPU_MARGIN))
    reason = f"p95 CPU {usage.cpu_p95:.3f} + {_pct(CPU_MARGIN)} margin"
    if usage.throttled_ratio >= THROTTLED_SUSTAINED:
        bumped = round_cpus(current * THROTTLE_BUMP)
        if bumped >= value:
            value, reason = (
                bumped,
                f"throttled in {usage.throttled_ratio:.0%} of CFS periods: limit {current:g} + "
                f"{_pct(THROTTLE_BUMP - 1)}",
            )
    if value == CPU_FLOOR and usage.cpu_p95 * (1 + CPU_MARGIN) < CPU_FLOOR:
        reason = f"floor {CPU_FLOOR:g} ({reason} is below it)"
    return value, reason


def recommend(
    specs: Sequence[ServiceSpec],
    usage: Mapping[str, Usage],
    catalogue: Mapping[str, ServiceSpec] | None = None,
) -> tuple[Recommendation, ...]:
    """One recommendation per service the stack runs (`specs`: its resolved specs, holding its
    current limits), in catalogue order. A service without usage, or with less than
    MIN_HISTORY_H of it, keeps its limits and says why."""
    catalogue = catalogue or catalogue_by_name()
    recommendations = []
    for spec in specs:
        base = catalogue[spec.name]
        seen = usage.get(spec.name)
        status: Status
        if seen is None:
            status = "missing"
            why = "no cAdvisor series for it in the window"
            cpus, memory, cpu_reason, memory_reason = spec.cpus, spec.memory_mib, why, why
        elif seen.covered_h < MIN_HISTORY_H:
            status = "insufficient"
            why = f"only {seen.covered_h:.1f} h of samples ({MIN_HISTORY_H:g} h needed)"
            cpus, memory, cpu_reason, memory_reason = spec.cpus, spec.memory_mib, why, why
        else:
            status = "recommended"
            memory, memory_reason = _memory(base, spec.memory_mib, seen)
            cpus, cpu_reason = _cpu(spec.cpus, seen)
        recommendations.append(
            Recommendation(
                service=spec.name,
                status=status,
                current_cpus=spec.cpus,
                current_memory_mib=spec.memory_mib,
                cpus=cpus,
                memory_mib=memory,
                catalogue_cpus=base.cpus,
                catalogue_memory_mib=base.memory_mib,
                cpu_reason=cpu_reason,
                memory_reason=memory_reason,
                usage=seen,
            )
        )
    return tuple(recommendations)


class RecommendedCost(Frozen):
    """The recommendation costed: its report, and the host it needs."""

    report: dict[str, Any]
    """`CostReport.as_output()` of the recommended limits, plus `cheapestPlan`."""
    fits_current_plan: bool
    plan: str
    """The stack's plan when the recommendation fits it, else the cheapest preset that does."""


def _cheapest(limits: Sequence[ServiceLimits], os_reserve_mib: int) -> dict[str, Any] | None:
    plan = cheapest_fitting_plan(limits, os_reserve_mib)
    if plan is None:
        return None
    return {"name": plan.name, "monthlyUsd": plan.monthly_usd, "size": plan.size}


def cost_report(
    config: StackConfig, limits: Sequence[ServiceLimits], plan: HostPlan
) -> dict[str, Any]:
    """The cost report of `limits` on `plan` with the stack's fixed items and budget, as
    `cost --format json` prints it."""
    report: CostReport = estimate(
        plan,
        limits,
        os_reserve_mib=config.os_reserve_mib,
        fixed=fixed_items(config),
        budget_usd=config.budget_usd,
    )
    output = report.as_output()
    output["cheapestPlan"] = _cheapest(limits, config.os_reserve_mib)
    return output


def current_limits(specs: Sequence[ServiceSpec]) -> list[ServiceLimits]:
    return [ServiceLimits(name=s.name, cpus=s.cpus, memory_mib=s.memory_mib) for s in specs]


def recommended_cost(
    config: StackConfig, recommendations: Sequence[Recommendation]
) -> RecommendedCost:
    """Cost the recommended limits (catalogue changes included) on the stack's host plan, or,
    when they do not fit it, on the cheapest preset that does."""
    limits = [
        ServiceLimits(name=r.service, cpus=r.cpus, memory_mib=r.memory_mib) for r in recommendations
    ]
    plan = HOST_PLANS[config.host_plan]
    fit = fits(plan, limits, config.os_reserve_mib)
    if not fit:
        cheapest = cheapest_fitting_plan(limits, config.os_reserve_mib)
        if cheapest is None:
            raise ValueError("the recommended limits fit no preset host plan (model/hostplans.py)")
        plan = cheapest
    return RecommendedCost(
        report=cost_report(config, limits, plan), fits_current_plan=fit, plan=plan.name
    )
