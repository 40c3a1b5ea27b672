"""The Infracost-style diff between two cost reports."""

from model.cost import ServiceLimits, estimate
from model.costdiff import diff_markdown, diff_reports
from model.hostplans import HOST_PLANS

PLAN = HOST_PLANS["hetzner-cx33"]


def report(backend_mib=512, plan=PLAN):
    return estimate(
        plan,
        [
            ServiceLimits(name="postgres", cpus=0.75, memory_mib=384),
            ServiceLimits(name="backend", cpus=0.5, memory_mib=backend_mib),
        ],
        os_reserve_mib=512,
        budget_usd=50,
    ).as_output()


def test_memory_change_is_reported_with_reason_and_delta():
    diff = diff_reports(report(512), report(1024), previous_label="main", new_label="branch")
    backend = next(line for line in diff.lines if line.name == "backend")
    assert backend.reason == "memory 512→1024 MiB"
    # CPU part 7.53 x 0.78860 = 5.9382, memory part 1.5918:
    # 5.9382 x 0.5/4 + 1.5918 x 512/8192 = 0.7423 + 0.0995 = 0.84; with 1024 MiB 0.7423 + 0.1990
    assert backend.previous_usd == 0.84
    assert backend.new_usd == 0.94
    assert backend.delta_usd == 0.1
    assert [line.name for line in diff.lines] == ["backend", "idle"]
    # Same host, same bill: more memory for one service is less idle capacity.
    assert diff.delta_billed_usd == 0.0
    assert diff.headline == (
        "Monthly cost will change by +$0.00 ($7.53 -> $7.53); 15.1% of the $50.00 budget"
    )


def test_plan_change_shows_the_host_line():
    diff = diff_reports(
        report(plan=HOST_PLANS["hetzner-cx33"]),
        report(plan=HOST_PLANS["digitalocean-s-4vcpu-8gb"]),
        previous_label="a",
        new_label="b",
    )
    host = diff.lines[0]
    assert (host.name, host.reason, host.delta_usd) == (
        "host",
        "plan hetzner-cx33→digitalocean-s-4vcpu-8gb",
        40.47,
    )
    assert (
        next(line for line in diff.lines if line.name == "postgres").reason == "host plan changed"
    )
    assert diff.delta_billed_usd == 40.47


def test_added_and_removed_services():
    old = report()
    new = report()
    new["services"]["cache"] = {"cpus": 0.1, "memoryMib": 64, "monthlyUsd": 0.1}
    del new["services"]["backend"]
    diff = diff_reports(old, new, previous_label="a", new_label="b")
    reasons = {line.name: line.reason for line in diff.lines}
    assert reasons["backend"] == "removed"
    assert reasons["cache"] == "added"


def test_markdown_has_a_row_per_line_and_the_total():
    diff = diff_reports(report(512), report(1024), previous_label="main", new_label="branch")
    text = diff_markdown(diff, "hetzner-cx23")
    assert "| backend | $0.84 | $0.94 | +$0.10 | memory 512→1024 MiB |" in text
    assert "| **billed total** | **$7.53** | **$7.53** | **+$0.00** | |" in text
    assert text.endswith("Cheapest preset plan that fits these limits: hetzner-cx23.\n")
