"""The right-sizing method on hand-made usage: each rule with the case next to it that it must
not fire on (the real-Prometheus end of it is tests/commands/test_rightsize.py)."""

from __future__ import annotations

from typing import Any

import pytest

from model.catalogue import catalogue_by_name
from model.config import resolve_specs
from model.rightsize import (
    Recommendation,
    Usage,
    recommend,
    recommended_cost,
    round_cpus,
    round_memory_mib,
)
from tests.support.stacks import stack_config


def usage(service: str = "backend", **changes: Any) -> Usage:
    values: dict[str, Any] = {
        "service": service,
        "covered_h": 168.0,
        "memory_p99_mib": 301.0,
        "memory_peak_mib": 310.0,
        "cpu_p95": 0.19,
        "cpu_peak": 0.3,
        "throttled_ratio": 0.0,
        "oom_kills": 0,
        "restarts": 0,
    }
    return Usage(**{**values, **changes})


def one(service: str = "backend", stack: str = "prod", **changes: Any) -> Recommendation:
    specs = [s for s in resolve_specs(stack_config(stack)) if s.name == service]
    (rec,) = recommend(specs, {service: usage(service, **changes)})
    return rec


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (346.15, 352),
        (256.0, 256),
        (256.1, 288),
        (133.35, 144),
        (21.0, 24),
        (2.0, 4),
        (4.1, 8),
        (1000.0, 1024),
        (1100.0, 1152),
    ],
)
def test_memory_rounds_up_to_a_sixteenth_of_its_power_of_two(value: float, rounded: int) -> None:
    assert round_memory_mib(value) == rounded


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (0.2185, 0.25),
        (0.25, 0.25),
        (0.2501, 0.3),
        (0.01, 0.1),
        (0.1, 0.1),
        (0.101, 0.15),
        (0.3125, 0.35),
        (1.0, 1.0),
    ],
)
def test_cpus_round_up_to_a_twentieth_from_the_floor(value: float, rounded: float) -> None:
    assert round_cpus(value) == rounded


def test_memory_is_the_p99_plus_margin_when_the_peak_is_close() -> None:
    rec = one(memory_p99_mib=301.0, memory_peak_mib=310.0)
    assert rec.memory_mib == 352
    assert rec.explanation[1] == "memory 512→352 MiB: p99 working set 301 MiB + 15% margin"


def test_memory_covers_a_peak_far_above_the_p99() -> None:
    rec = one(memory_p99_mib=200.0, memory_peak_mib=420.0)
    # 420 x 1.05 = 441 → 448; the p99 alone (230 → 256) would have OOM-killed it at the peak.
    assert rec.memory_mib == 448
    assert rec.explanation[1] == ("memory 512→448 MiB: peak working set 420 MiB + 5% (p99 200 MiB)")


def test_oom_kills_raise_memory_by_vpa_bump_even_above_the_catalogue() -> None:
    rec = one(memory_p99_mib=480.0, memory_peak_mib=511.0, oom_kills=2)
    assert rec.memory_mib == 640
    assert rec.explanation[1] == (
        "memory 512→640 MiB: 2 OOM kills: limit 512 MiB + 20% (VPA's OOM bump)"
    )
    assert rec.written_memory_mib == 512
    assert rec.catalogue_changes == (
        "backend: raise memory_mib 512→640 in model/catalogue.py (a stack file cannot go above "
        "the catalogue)",
    )


def test_without_oom_kills_the_same_usage_gets_no_bump() -> None:
    rec = one(memory_p99_mib=480.0, memory_peak_mib=511.0, oom_kills=0)
    assert rec.memory_mib == 576
    assert "OOM" not in rec.explanation[1]


def test_sustained_throttling_raises_cpu() -> None:
    rec = one(cpu_p95=0.49, throttled_ratio=0.3)
    # p95 x 1.15 = 0.5635 → 0.6 is below the limit + 25% (0.625 → 0.65).
    assert rec.cpus == 0.65
    assert rec.explanation[0] == "cpus 0.5→0.65: throttled in 30% of CFS periods: limit 0.5 + 25%"
    assert rec.written_cpus == 0.5


def test_throttling_under_the_threshold_is_not_sustained() -> None:
    rec = one(cpu_p95=0.19, throttled_ratio=0.09)
    assert rec.cpus == 0.25
    assert rec.explanation[0] == "cpus 0.5→0.25: p95 CPU 0.190 + 15% margin"


def test_idle_service_gets_the_floors() -> None:
    rec = one("grafana", memory_p99_mib=70.0, memory_peak_mib=71.0, cpu_p95=0.003)
    assert (rec.cpus, rec.memory_mib) == (0.1, catalogue_by_name()["grafana"].min_memory_mib)
    assert rec.explanation == (
        "cpus 0.25→0.1: floor 0.1 (p95 CPU 0.003 + 15% margin is below it)",
        "memory 256→160 MiB: the service's floor (p99 working set 70 MiB + 15% margin is below it)",
    )


def test_too_little_history_keeps_the_limits() -> None:
    rec = one(covered_h=23.9)
    assert rec.status == "insufficient"
    assert (rec.cpus, rec.memory_mib) == (0.5, 512)
    assert rec.explanation[1] == "memory 512 MiB kept: only 23.9 h of samples (24 h needed)"
    assert one(covered_h=24.0).status == "recommended"


def test_a_service_without_series_keeps_its_limits() -> None:
    specs = [s for s in resolve_specs(stack_config("prod")) if s.name in ("backend", "redis")]
    redis, backend = recommend(specs, {"backend": usage()})
    assert redis.status == "missing"
    assert (redis.cpus, redis.memory_mib, redis.changed) == (0.2, 128, False)
    assert backend.status == "recommended"


def test_a_stack_below_the_catalogue_may_be_raised_up_to_it() -> None:
    # dev's postgres runs at 0.5 CPU / 320 MiB under a 0.75 / 384 catalogue limit.
    rec = one("postgres", "dev", memory_p99_mib=290.0, memory_peak_mib=295.0, cpu_p95=0.55)
    # 0.55 x 1.15 = 0.6325 → 0.65; 290 x 1.15 = 333.5 → 352: both within the catalogue's limits.
    assert (rec.cpus, rec.memory_mib) == (0.65, 352)
    assert (rec.written_cpus, rec.written_memory_mib) == (0.65, 352)
    assert rec.catalogue_changes == ()


def test_recommendation_is_costed_on_the_stack_plan_when_it_fits() -> None:
    config = stack_config("prod")
    specs = resolve_specs(config)
    recs = recommend(
        specs,
        {s.name: usage(s.name, memory_p99_mib=20, memory_peak_mib=21, cpu_p95=0.01) for s in specs},
    )
    cost = recommended_cost(config, recs)
    assert cost.fits_current_plan
    assert cost.plan == "hetzner-cx33"
    assert cost.report["plan"]["name"] == "hetzner-cx33"
    assert cost.report["cheapestPlan"]["name"] == "hetzner-cx23"


SMALL_HOST_OVERRIDES = {
    name: {"cpus": 0.25} for name in ("postgres", "backend", "celery_worker", "airflow")
} | {name: {"cpus": 0.1} for name in ("backup", "prometheus", "grafana")}
"""Catalogue memory (3528 MiB) and 2.75 CPUs: prod squeezed onto hetzner-cx23 (2 vCPUs x 1.5)."""


def test_a_recommendation_too_big_for_the_host_is_costed_on_the_cheapest_that_fits() -> None:
    config = stack_config("prod", hostPlan="hetzner-cx23", services=SMALL_HOST_OVERRIDES)
    specs = resolve_specs(config)
    recs = recommend(specs, {s.name: usage(s.name, cpu_p95=0.2) for s in specs})
    # 18 services x 0.25 CPU = 4.5 CPUs: more than cx23's 3, within cx33's 6.
    cost = recommended_cost(config, recs)
    assert not cost.fits_current_plan
    assert cost.plan == "hetzner-cx33"
    assert cost.report["plan"]["name"] == "hetzner-cx33"
    assert cost.report["capacity"]["cpuLimits"] == 4.5


def test_a_recommendation_no_preset_fits_is_an_error() -> None:
    config = stack_config("prod")
    specs = resolve_specs(config)
    recs = recommend(specs, {s.name: usage(s.name, cpu_p95=0.5) for s in specs})
    with pytest.raises(ValueError, match=r"^the recommended limits fit no preset host plan"):
        recommended_cost(config, recs)
