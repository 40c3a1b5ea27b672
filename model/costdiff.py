"""Infracost-style cost diff between two cost reports: pure functions, no I/O.

The diff works on the plain `CostReport.as_output()` shape, which is also what `cost --format json`
prints, so a report produced by another checkout of the program (`--against-ref`) compares the same
way as one computed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from model.base import Frozen


class LineDiff(Frozen):
    """One line of the diff: a service, the host plan, or a fixed item."""

    name: str
    kind: str
    """service, plan, system, idle or fixed."""
    previous_usd: float | None
    new_usd: float | None
    delta_usd: float
    reason: str


class CostDiff(Frozen):
    """The whole diff: lines that changed plus the billed totals and budget."""

    previous_label: str
    new_label: str
    lines: tuple[LineDiff, ...]
    previous_billed_usd: float
    new_billed_usd: float
    delta_billed_usd: float
    budget_usd: float
    budget_used_pct: float

    @property
    def headline(self) -> str:
        sign = "+" if self.delta_billed_usd >= 0 else "-"
        return (
            f"Monthly cost will change by {sign}${abs(self.delta_billed_usd):.2f} "
            f"(${self.previous_billed_usd:.2f} -> ${self.new_billed_usd:.2f}); "
            f"{self.budget_used_pct:.1f}% of the ${self.budget_usd:.2f} budget"
        )


def _line(name: str, kind: str, previous: float | None, new: float | None, why: str) -> LineDiff:
    """One line; a side that does not exist (added or removed) counts as 0 in the delta."""
    return LineDiff(
        name=name,
        kind=kind,
        previous_usd=previous,
        new_usd=new,
        delta_usd=round((new or 0.0) - (previous or 0.0), 2),
        reason=why,
    )


def _fmt_num(value: float) -> str:
    return f"{value:g}"


def _service_reason(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, plan_changed: bool
) -> str:
    if old is None:
        return "added"
    if new is None:
        return "removed"
    parts = []
    if old["cpus"] != new["cpus"]:
        parts.append(f"cpus {_fmt_num(old['cpus'])}→{_fmt_num(new['cpus'])}")
    if old["memoryMib"] != new["memoryMib"]:
        parts.append(f"memory {old['memoryMib']}→{new['memoryMib']} MiB")
    return ", ".join(parts) or ("host plan changed" if plan_changed else "host unit price changed")


def diff_reports(
    previous: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    previous_label: str,
    new_label: str,
    include_unchanged: bool = False,
) -> CostDiff:
    """Compare two `CostReport.as_output()` dicts line by line."""
    lines: list[LineDiff] = []
    old_plan, new_plan = previous["plan"], new["plan"]
    plan_changed = old_plan["name"] != new_plan["name"]
    if plan_changed or old_plan["monthlyUsd"] != new_plan["monthlyUsd"]:
        lines.append(
            _line(
                "host",
                "plan",
                old_plan["monthlyUsd"],
                new_plan["monthlyUsd"],
                f"plan {old_plan['name']}→{new_plan['name']}"
                if plan_changed
                else "plan price changed",
            )
        )
    old_s, new_s = previous["services"], new["services"]
    for name in [*old_s, *(n for n in new_s if n not in old_s)]:
        old, cur = old_s.get(name), new_s.get(name)
        if old == cur and not include_unchanged:
            continue
        lines.append(
            _line(
                name,
                "service",
                old["monthlyUsd"] if old else None,
                cur["monthlyUsd"] if cur else None,
                _service_reason(old, cur, plan_changed) if old != cur else "unchanged",
            )
        )
    for key, kind in (("systemUsd", "system"), ("idleUsd", "idle")):
        if previous[key] != new[key] or include_unchanged:
            lines.append(
                _line(
                    kind,
                    kind,
                    previous[key],
                    new[key],
                    "unallocated capacity" if kind == "idle" else "OS reserve",
                )
            )
    old_f, new_f = previous["fixed"], new["fixed"]
    for name in [*old_f, *(n for n in new_f if n not in old_f)]:
        a, b = old_f.get(name), new_f.get(name)
        if a == b and not include_unchanged:
            continue
        lines.append(
            _line(
                name,
                "fixed",
                a,
                b,
                "added" if a is None else "removed" if b is None else "price changed",
            )
        )
    return CostDiff(
        previous_label=previous_label,
        new_label=new_label,
        lines=tuple(lines),
        previous_billed_usd=previous["billedUsd"],
        new_billed_usd=new["billedUsd"],
        delta_billed_usd=round(new["billedUsd"] - previous["billedUsd"], 2),
        budget_usd=new["budgetUsd"],
        budget_used_pct=new["budgetUsedPct"],
    )


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:.2f}"


def _delta(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}${abs(value):.2f}"


def diff_markdown(diff: CostDiff, cheapest: str | None = None) -> str:
    """The diff as a Markdown PR comment."""
    rows = [
        f"### 💰 {diff.headline}",
        "",
        f"Comparing **{diff.new_label}** against **{diff.previous_label}**.",
        "",
        "| line | previous | new | Δ | reason |",
        "|---|---:|---:|---:|---|",
    ]
    rows += [
        f"| {line.name} | {_usd(line.previous_usd)} | {_usd(line.new_usd)} | "
        f"{_delta(line.delta_usd)} | {line.reason} |"
        for line in diff.lines
    ]
    if not diff.lines:
        rows.append("| (no change) | | | | |")
    rows += [
        f"| **billed total** | **{_usd(diff.previous_billed_usd)}** | "
        f"**{_usd(diff.new_billed_usd)}** | **{_delta(diff.delta_billed_usd)}** | |",
        "",
    ]
    if cheapest:
        rows.append(f"Cheapest preset plan that fits these limits: {cheapest}.")
    return "\n".join(rows) + "\n"
