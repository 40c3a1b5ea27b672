"""The bridge from a validated stack config to the pure cost model."""

from __future__ import annotations

from components.config import StackConfig, resolve_specs
from components.cost import CostReport, FixedItem, ServiceLimits, estimate
from components.hostplans import HOST_PLANS


def service_limits(config: StackConfig) -> list[ServiceLimits]:
    """The limits of every service the stack runs."""
    return [
        ServiceLimits(name=s.name, cpus=s.cpus, memory_mib=s.memory_mib)
        for s in resolve_specs(config)
    ]


def stack_cost(config: StackConfig) -> CostReport:
    """The stack's cost report: its plan, its services' limits, its fixed items and budget."""
    return estimate(
        HOST_PLANS[config.host_plan],
        service_limits(config),
        os_reserve_mib=config.os_reserve_mib,
        fixed=[
            FixedItem(name=f.name, monthly_usd=f.monthly_usd, source=f.source)
            for f in config.fixed_costs
        ],
        budget_usd=config.budget_usd,
    )
