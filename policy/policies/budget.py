"""Policies on what the stack costs and whether it fits its host.

They read the program's exported `cost` among the stack outputs: `AnalyzeStack` sends the root
`pulumi:pulumi:Stack` resource with the stack outputs as its properties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .core import ADVISORY, CONTAINER, NUMBER, STACK, UNKNOWN, Setting, is_job, lookup, stack_policy


def stack_outputs(resources: Sequence[PolicyResource]) -> Any:
    """The stack outputs (the root stack resource's properties), None when it was not sent."""
    for resource in resources:
        if resource.resource_type == STACK:
            return resource.props
    return None


def _cost(args: StackValidationArgs) -> Any:
    outputs = stack_outputs(args.resources)
    if outputs is None:
        args.not_applicable("no pulumi:pulumi:Stack resource was analyzed")
    return lookup(outputs, "cost")


def _budget(cost: Any, cap: float) -> float:
    """The budget in force: the pack's cap, or the stack's own budget when that is lower (a stack
    may tighten the owner's $50 rule, never loosen it)."""
    own = lookup(cost, "budgetUsd")
    return min(cap, float(own)) if isinstance(own, int | float) else cap


def validate_within_budget(
    args: StackValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """The billed monthly cost (host plan plus fixed items) stays within the budget."""
    cost = _cost(args)
    budget = _budget(cost, float(settings["budgetUsd"]))
    billed = lookup(cost, "billedUsd")
    if billed is UNKNOWN:
        return
    if not isinstance(billed, int | float):
        report(
            "the stack exports no cost.billedUsd, so the budget cannot be checked; export the "
            "CostReport (`pulumi.export('cost', report.as_output())`).",
            None,
        )
        return
    if billed > budget:
        report(
            f"billed ${billed:.2f}/month exceeds the ${budget:.2f} budget by "
            f"${billed - budget:.2f}; choose a smaller hostPlan, lower service limits or drop a "
            "fixed cost (see `python -m commands cost`).",
            None,
        )


def validate_near_budget(
    args: StackValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Warns when the billed monthly cost passes a share (80%) of the budget."""
    cost = _cost(args)
    budget = _budget(cost, float(settings["budgetUsd"]))
    warn_at = float(settings["warnAtPct"])
    billed = lookup(cost, "billedUsd")
    if not isinstance(billed, int | float) or billed > budget:
        return
    used = 100 * billed / budget
    if used >= warn_at:
        report(
            f"billed ${billed:.2f}/month is {used:.0f}% of the ${budget:.2f} budget (warning from "
            f"{warn_at:.0f}%); look for limits to trim before the next service pushes it over.",
            None,
        )


def validate_memory_fits_host(
    args: StackValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Long-running containers' memory limits plus the OS reserve fit in the host's memory.

    One-shot jobs are left out: they run once during `pulumi up`, briefly, before the service they
    prepare starts.
    """
    cost = lookup(stack_outputs(args.resources), "cost")
    host = settings.get("hostMemoryMib") or lookup(lookup(cost, "plan"), "memoryMib")
    reserve = settings.get("osReserveMib")
    if reserve is None:
        reserve = lookup(lookup(cost, "capacity"), "osReserveMib")
    if not isinstance(host, int | float):
        report(
            "the host's memory is unknown; set hostMemoryMib in this policy's config or export "
            "cost.plan.memoryMib from the program.",
            None,
        )
        return
    reserve = float(reserve) if isinstance(reserve, int | float) else 512.0
    limits = 0.0
    for resource in args.resources:
        if resource.resource_type == CONTAINER and not is_job(resource.props):
            memory = lookup(resource.props, "memory")
            if isinstance(memory, int | float):
                limits += float(memory)
    if limits + reserve > host:
        report(
            f"container memory limits {limits:g} MiB + OS reserve {reserve:g} MiB = "
            f"{limits + reserve:g} MiB exceed the host's {host:g} MiB; lower limits or choose a "
            "larger hostPlan, or containers will be OOM-killed under load.",
            None,
        )


def policies() -> list[StackValidationPolicy]:
    """The budget and capacity policies, in report order."""
    return [
        stack_policy(
            "monthly-cost-within-budget",
            "The billed monthly cost of the stack stays within the budget.",
            validate_within_budget,
            settings={"budgetUsd": Setting(NUMBER, 50.0)},
        ),
        stack_policy(
            "monthly-cost-near-budget",
            "Warns when the billed monthly cost reaches 80% of the budget.",
            validate_near_budget,
            level=ADVISORY,
            settings={"budgetUsd": Setting(NUMBER, 50.0), "warnAtPct": Setting(NUMBER, 80.0)},
        ),
        stack_policy(
            "memory-fits-host",
            "Long-running containers' memory limits plus the OS reserve fit in the host's memory.",
            validate_memory_fits_host,
            settings={"hostMemoryMib": Setting(NUMBER), "osReserveMib": Setting(NUMBER)},
        ),
    ]
