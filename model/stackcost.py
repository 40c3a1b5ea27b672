"""The bridge from a validated stack config to the pure cost model."""

from __future__ import annotations

from collections.abc import Sequence

from model.catalogue import ServiceSpec
from model.config import StackConfig, resolve_specs
from model.cost import OFFSITE_PLANS, CostReport, FixedItem, ServiceLimits, estimate
from model.host import host_options
from model.hostplans import HOST_PLANS


def service_limits(specs: Sequence[ServiceSpec]) -> list[ServiceLimits]:
    """The limits of the services."""
    return [ServiceLimits(name=s.name, cpus=s.cpus, memory_mib=s.memory_mib) for s in specs]


def fixed_items(config: StackConfig) -> list[FixedItem]:
    """What the stack bills beside its plan: the managed host's options first, then the stack's
    fixedCosts, then the off-site backup storage."""
    plan = HOST_PLANS[config.host_plan]
    return [
        *(
            FixedItem(name=o.name, monthly_usd=o.monthly_usd, source=o.source)
            for o in host_options(config.host, plan)
        ),
        *(
            FixedItem(name=f.name, monthly_usd=f.monthly_usd, source=f.source)
            for f in config.fixed_costs
        ),
        *([OFFSITE_PLANS[config.backup.offsite.plan].item()] if config.backup.offsite else []),
    ]


def stack_cost(config: StackConfig, specs: Sequence[ServiceSpec] | None = None) -> CostReport:
    """The stack's cost report: its plan, its services' limits (the services it runs unless
    `specs` says otherwise), its fixed items and budget."""
    return estimate(
        HOST_PLANS[config.host_plan],
        service_limits(resolve_specs(config) if specs is None else specs),
        os_reserve_mib=config.os_reserve_mib,
        fixed=fixed_items(config),
        budget_usd=config.budget_usd,
    )
