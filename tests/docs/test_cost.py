"""docs/COST_OPTIMIZATION.md's budget table is the cost model's output for prod, row by row."""

from __future__ import annotations

from typing import Any

from commands.offline import load_offline_config
from model.catalogue import catalogue_by_name
from model.stackcost import stack_cost
from tests.components.test_host import HOST
from tests.support.tools import ROOT

DOC = ROOT / "docs" / "COST_OPTIMIZATION.md"
HEADER = "| service | CPU | memory MiB | floor MiB | $/month (prod) |\n|---|---:|---:|---:|---:|"


def budget_rows() -> list[str]:
    """The prod budget table: services, system, idle, host, fixed costs and the billed total."""
    config = load_offline_config("prod")
    cost: dict[str, Any] = stack_cost(config).as_output()
    specs = catalogue_by_name()
    rows = [
        f"| {name} | {s['cpus']:g} | {s['memoryMib']} | {specs[name].min_memory_mib} | "
        f"{s['monthlyUsd']:.2f} |"
        for name, s in cost["services"].items()
    ]
    plan, capacity = cost["plan"], cost["capacity"]
    rows += [
        f"| system ({capacity['osReserveMib']} MiB OS reserve) | | | | {cost['systemUsd']:.2f} |",
        f"| idle | | | | {cost['idleUsd']:.2f} |",
        f"| **host** {plan['provider'].split()[0]} {plan['size']} ({plan['monthlyPrice']:g} "
        f"{plan['currency']}) | {plan['vcpus']} | {plan['memoryMib']} | | "
        f"**{plan['monthlyUsd']:.2f}** |",
        *(f"| {name} | | | | {usd:.2f} |" for name, usd in cost["fixed"].items()),
        f"| **billed** | {capacity['cpuLimits']:g} | {capacity['memoryLimitsMib']} | | "
        f"**{cost['billedUsd']:.2f}** |",
    ]
    return rows


def test_the_budget_table_is_the_cost_models_output():
    text = DOC.read_text()
    assert HEADER + "\n" + "\n".join(budget_rows()) + "\n" in text


def test_the_managed_host_lines_are_the_cost_models():
    text = DOC.read_text()
    base = stack_cost(load_offline_config("prod"))
    managed = {**HOST, "backups": False}
    ipv4_only = stack_cost(
        load_offline_config("prod", overrides={"dockerHost": None, "host": managed})
    )
    backed_up = stack_cost(
        load_offline_config("prod", overrides={"dockerHost": None, "host": HOST})
    )
    fixed = {f.name: f.monthly_usd for f in backed_up.fixed}
    assert "| 0.58 | €0.50 net" in text
    assert fixed["host-ipv4"] == 0.58
    assert f"| {fixed['host-backups']:.2f} | 20% of the server" in text
    assert (
        f"bills ${ipv4_only.billed_usd:.2f}/month instead of ${base.billed_usd:.2f} (the IPv4), "
        f"or ${backed_up.billed_usd:.2f} with Hetzner's"
    ) in " ".join(text.split())
