"""The cost model: pure Python, no Pulumi needed to call it.

The host is what is billed; services do not cost money by themselves. So the model allocates the
plan's monthly price to the services from their limits, the way OpenCost allocates a node:

* The price is split into a CPU part and a memory part using OpenCost's default relative rates
  ($0.031611 per vCPU-hour, $0.004237 per GiB-hour), scaled so the plan's whole capacity costs
  exactly its price. Unit prices per vCPU and per GiB follow.
* Each service is charged its CPU limit and memory limit at those unit prices. When CPU limits add
  up to more than the host has (they are ceilings, so some overcommit is normal), the CPU part is
  shared in proportion to the limits instead.
* The OS reserve is charged as "system"; whatever no limit claims is "idle".

Services + system + idle always equals the plan price, to the cent. The billed total adds the fixed
items (domain, storage) and is what the budget is checked against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from model.base import Frozen
from model.hostplans import EUR_USD, HOST_PLANS, HOURS_PER_MONTH, HostPlan

OPENCOST_CPU_HOURLY = 0.031611
OPENCOST_RAM_GIB_HOURLY = 0.004237
DEFAULT_CPU_OVERCOMMIT = 1.5


OffsitePlanName = Literal["hetzner-object-storage", "backblaze-b2"]


class OffsitePlan(Frozen):
    """The object storage the off-site backups go to: a fixed monthly line of the cost report."""

    name: str
    monthly_price: float
    currency: Literal["USD", "EUR"]
    source: str
    """Where the price comes from, with the date it was read."""

    @property
    def monthly_usd(self) -> float:
        rate = EUR_USD if self.currency == "EUR" else 1.0
        return round(self.monthly_price * rate, 2)

    def item(self) -> FixedItem:
        """The cost report's fixed line for this plan."""
        return FixedItem(name=self.name, monthly_usd=self.monthly_usd, source=self.source)


OFFSITE_PLANS: dict[OffsitePlanName, OffsitePlan] = {
    # A flat base price: the repository (about 3 GiB for 100,000 stocks with 7 days of WAL and 14
    # days of snapshots, docs/DISASTER_RECOVERY.md) is far inside the included terabyte.
    "hetzner-object-storage": OffsitePlan(
        name="off-site backups: Hetzner Object Storage",
        monthly_price=4.99,
        currency="EUR",
        source=(
            "https://www.hetzner.com/storage/object-storage/ : EUR 4.99/month base price, "
            "1 TB storage and 1 TB egress included, net of VAT (read 2026-11-29)"
        ),
    ),
    # Billed per GB-hour at $6/TB-month, so a 3 GiB repository costs cents; the line charges one
    # full terabyte-month as a ceiling that needs no usage data.
    "backblaze-b2": OffsitePlan(
        name="off-site backups: Backblaze B2",
        monthly_price=6.0,
        currency="USD",
        source=(
            "https://www.backblaze.com/cloud-storage/pricing : $6/TB-month, first 10 GB free, "
            "egress free up to 3x storage; charged here as one full TB (read 2026-11-29)"
        ),
    ),
}
"""Object-storage prices for the off-site copy, by the stack's `backup.offsite.plan`."""


class ServiceLimits(Frozen):
    """What the cost model needs of a service: its name and limits."""

    name: str
    cpus: float
    memory_mib: int


class FixedItem(Frozen):
    """A fixed monthly cost."""

    name: str
    monthly_usd: float
    source: str


class ServiceCost(Frozen):
    """One service's share of the host price."""

    name: str
    cpus: float
    memory_mib: int
    cpu_usd: float
    memory_usd: float
    monthly_usd: float
    hourly_usd: float


class CostReport(Frozen):
    """The whole stack's monthly cost, allocated and checked against the budget and the host."""

    plan: HostPlan
    plan_usd: float
    cpu_unit_usd: float
    """USD per vCPU-month."""
    memory_unit_usd: float
    """USD per GiB-month."""
    services: tuple[ServiceCost, ...]
    system_usd: float
    idle_usd: float
    fixed: tuple[FixedItem, ...]
    fixed_usd: float
    billed_usd: float
    budget_usd: float
    headroom_usd: float
    budget_used_pct: float
    cpu_limits: float
    memory_limits_mib: int
    os_reserve_mib: int
    memory_used_pct: float
    """Memory limits plus the OS reserve as a share of the host's memory."""
    cpu_used_pct: float
    """CPU limits as a share of the host's vCPUs (may exceed 100: limits are ceilings)."""

    @property
    def within_budget(self) -> bool:
        return self.billed_usd <= self.budget_usd

    def as_output(self) -> dict[str, object]:
        """Nested plain values for `pulumi.export`, so `pulumi preview` diffs them."""
        return {
            "plan": {
                "name": self.plan.name,
                "provider": self.plan.provider,
                "size": self.plan.size,
                "vcpus": self.plan.vcpus,
                "memoryMib": self.plan.memory_mib,
                "monthlyPrice": self.plan.monthly_price,
                "currency": self.plan.currency,
                "monthlyUsd": self.plan_usd,
                "source": self.plan.source,
                "asOf": self.plan.as_of,
                # What the managed host's server resource must be (policy server-type-is-priced).
                **({"serverType": self.plan.server_type} if self.plan.server_type else {}),
            },
            "services": {
                s.name: {"cpus": s.cpus, "memoryMib": s.memory_mib, "monthlyUsd": s.monthly_usd}
                for s in self.services
            },
            "systemUsd": self.system_usd,
            "idleUsd": self.idle_usd,
            "fixed": {f.name: f.monthly_usd for f in self.fixed},
            "billedUsd": self.billed_usd,
            "budgetUsd": self.budget_usd,
            "headroomUsd": self.headroom_usd,
            "budgetUsedPct": self.budget_used_pct,
            "capacity": {
                "cpuLimits": self.cpu_limits,
                "cpuUsedPct": self.cpu_used_pct,
                "memoryLimitsMib": self.memory_limits_mib,
                "osReserveMib": self.os_reserve_mib,
                "memoryUsedPct": self.memory_used_pct,
            },
        }


class CapacityError(ValueError):
    """The limits do not fit the host: an error, not a cost."""


def cpu_share(plan: HostPlan) -> float:
    """Fraction of the plan's price attributed to CPU, from OpenCost's relative default rates."""
    cpu = plan.vcpus * OPENCOST_CPU_HOURLY
    ram = plan.memory_mib / 1024 * OPENCOST_RAM_GIB_HOURLY
    return cpu / (cpu + ram)


def check_capacity(
    plan: HostPlan,
    services: Sequence[ServiceLimits],
    os_reserve_mib: int,
    cpu_overcommit: float = DEFAULT_CPU_OVERCOMMIT,
) -> None:
    """Raise CapacityError when memory limits plus reserve exceed the host, or CPU limits exceed
    `cpu_overcommit` times its vCPUs."""
    memory = sum(s.memory_mib for s in services) + os_reserve_mib
    if memory > plan.memory_mib:
        raise CapacityError(
            f"memory limits + OS reserve = {memory} MiB exceed {plan.name} ({plan.memory_mib} MiB)"
        )
    cpus = sum(s.cpus for s in services)
    if cpus > plan.vcpus * cpu_overcommit + 1e-9:
        raise CapacityError(
            f"CPU limits total {cpus:g} exceed {plan.name}'s {plan.vcpus} vCPUs "
            f"x {cpu_overcommit:g} allowed overcommit"
        )


def fits(plan: HostPlan, services: Sequence[ServiceLimits], os_reserve_mib: int) -> bool:
    """Whether the services fit the plan (see check_capacity)."""
    try:
        check_capacity(plan, services, os_reserve_mib)
    except CapacityError:
        return False
    return True


def cheapest_fitting_plan(
    services: Sequence[ServiceLimits], os_reserve_mib: int, exclude_local: bool = True
) -> HostPlan | None:
    """The cheapest preset (in USD) that fits the services, or None."""
    candidates = [
        p
        for p in HOST_PLANS.values()
        if not (exclude_local and p.monthly_price == 0) and fits(p, services, os_reserve_mib)
    ]
    return min(candidates, key=lambda p: (p.monthly_usd, p.name), default=None)


def estimate(
    plan: HostPlan,
    services: Sequence[ServiceLimits],
    *,
    os_reserve_mib: int,
    fixed: Sequence[FixedItem] = (),
    budget_usd: float,
) -> CostReport:
    """Allocate the plan's price to the services and total it against the budget."""
    check_capacity(plan, services, os_reserve_mib)
    plan_usd = plan.monthly_usd
    share = cpu_share(plan)
    cpu_part = plan_usd * share
    mem_part = plan_usd - cpu_part
    total_cpus = sum(s.cpus for s in services)
    cpu_capacity = max(float(plan.vcpus), total_cpus)
    cpu_unit = cpu_part / plan.vcpus
    mem_unit = mem_part / (plan.memory_mib / 1024)

    costs = []
    for s in services:
        cpu_usd = cpu_part * s.cpus / cpu_capacity
        mem_usd = mem_part * s.memory_mib / plan.memory_mib
        monthly = cpu_usd + mem_usd
        costs.append(
            ServiceCost(
                name=s.name,
                cpus=s.cpus,
                memory_mib=s.memory_mib,
                cpu_usd=round(cpu_usd, 4),
                memory_usd=round(mem_usd, 4),
                monthly_usd=round(monthly, 2),
                hourly_usd=round(monthly / HOURS_PER_MONTH, 6),
            )
        )
    system = mem_part * os_reserve_mib / plan.memory_mib
    system_usd = round(system, 2)
    # Idle takes the rounding remainder so the lines add up to the plan price exactly.
    idle_usd = round(plan_usd - sum(c.monthly_usd for c in costs) - system_usd, 2)
    fixed_usd = round(sum(f.monthly_usd for f in fixed), 2)
    billed = round(plan_usd + fixed_usd, 2)
    memory_limits = sum(s.memory_mib for s in services)
    return CostReport(
        plan=plan,
        plan_usd=plan_usd,
        cpu_unit_usd=round(cpu_unit, 4),
        memory_unit_usd=round(mem_unit, 4),
        services=tuple(costs),
        system_usd=system_usd,
        idle_usd=idle_usd,
        fixed=tuple(fixed),
        fixed_usd=fixed_usd,
        billed_usd=billed,
        budget_usd=budget_usd,
        headroom_usd=round(budget_usd - billed, 2),
        budget_used_pct=round(100 * billed / budget_usd, 1),
        cpu_limits=round(total_cpus, 3),
        memory_limits_mib=memory_limits,
        os_reserve_mib=os_reserve_mib,
        memory_used_pct=round(100 * (memory_limits + os_reserve_mib) / plan.memory_mib, 1),
        cpu_used_pct=round(100 * total_cpus / plan.vcpus, 1),
    )
