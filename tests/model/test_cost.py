"""The cost model, checked against figures computed by hand."""

import pytest

from model.cost import (
    CapacityError,
    FixedItem,
    ServiceLimits,
    cheapest_fitting_plan,
    cpu_share,
    estimate,
)
from model.hostplans import HOST_PLANS


def test_cpu_share_uses_opencost_relative_rates():
    # 4 vCPU x 0.031611 = 0.126444; 8 GiB x 0.004237 = 0.033896; 0.126444 / 0.16034 = 0.78860
    assert cpu_share(HOST_PLANS["hetzner-cx33"]) == pytest.approx(0.78860, abs=1e-5)


def test_single_service_on_a_24_dollar_plan():
    plan = HOST_PLANS["digitalocean-s-2vcpu-4gb"]  # 2 vCPU, 4 GiB, $24
    report = estimate(
        plan,
        [ServiceLimits(name="api", cpus=1.0, memory_mib=1024)],
        os_reserve_mib=512,
        fixed=[FixedItem(name="domain", monthly_usd=1.25, source="registrar")],
        budget_usd=50,
    )
    # share = 0.063222 / (0.063222 + 0.016948) = 0.788599; CPU part $18.9264, memory part $5.0736
    # api: 18.9264 / 2 + 5.0736 x 1024/4096 = 9.4632 + 1.2684 = 10.7316
    (api,) = report.services
    assert api.monthly_usd == 10.73
    assert api.cpu_usd == pytest.approx(9.4632, abs=1e-4)
    assert api.memory_usd == pytest.approx(1.2684, abs=1e-4)
    assert api.hourly_usd == pytest.approx(10.7316 / 730, abs=1e-5)
    assert report.system_usd == 0.63  # 5.0736 x 512/4096
    assert report.idle_usd == 12.64  # 24 - 10.73 - 0.63
    assert report.billed_usd == 25.25
    assert report.headroom_usd == 24.75
    assert report.budget_used_pct == 50.5
    assert report.memory_used_pct == 37.5
    assert report.cpu_used_pct == 50.0


def test_eur_plan_is_converted_and_lines_add_up_to_the_plan():
    plan = HOST_PLANS["hetzner-cx33"]
    services = [
        ServiceLimits(name="postgres", cpus=0.75, memory_mib=384),
        ServiceLimits(name="redis", cpus=0.2, memory_mib=128),
    ]
    report = estimate(plan, services, os_reserve_mib=512, budget_usd=50)
    assert report.plan_usd == 7.53  # 6.49 EUR x 1.16
    total = sum(s.monthly_usd for s in report.services) + report.system_usd + report.idle_usd
    assert round(total, 2) == 7.53


def test_overcommitted_cpu_is_shared_in_proportion():
    plan = HOST_PLANS["digitalocean-s-2vcpu-4gb"]
    services = [ServiceLimits(name=n, cpus=1.5, memory_mib=256) for n in ("a", "b")]
    report = estimate(plan, services, os_reserve_mib=512, budget_usd=50)
    # 3 CPUs of limits on 2 vCPUs: each takes half of the CPU part, none is idle.
    assert report.services[0].cpu_usd == pytest.approx(24 * 0.788599 / 2, abs=1e-3)
    assert report.cpu_used_pct == 150.0


def test_memory_over_host_is_an_error_not_a_cost():
    plan = HOST_PLANS["hetzner-cx23"]
    with pytest.raises(CapacityError) as excinfo:
        estimate(
            plan,
            [ServiceLimits(name="x", cpus=1, memory_mib=3800)],
            os_reserve_mib=512,
            budget_usd=50,
        )
    assert str(excinfo.value) == (
        "memory limits + OS reserve = 4312 MiB exceed hetzner-cx23 (4096 MiB)"
    )


def test_cheapest_fitting_plan_skips_plans_too_small():
    small = [ServiceLimits(name="x", cpus=1, memory_mib=1024)]
    plan = cheapest_fitting_plan(small, 512)
    assert plan is not None
    assert plan.name == "hetzner-cx23"
    big = [ServiceLimits(name="x", cpus=4, memory_mib=3900)]
    plan = cheapest_fitting_plan(big, 512)
    assert plan is not None
    assert plan.name == "hetzner-cx33"
    huge = [ServiceLimits(name="x", cpus=4, memory_mib=60000)]
    assert cheapest_fitting_plan(huge, 512) is None
