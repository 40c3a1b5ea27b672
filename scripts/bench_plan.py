"""Benchmark of the offline plan: wall time for dev, prod and synthetic stacks of N services.

Not a test: timings here are noisy, so it reports medians and spreads over several runs, and the
per-service cost at each size to show whether growth is linear. Each timed run of the program is a
fresh process: the Pulumi runtime keeps per-process state (event loops, callbacks) that makes
later runs in one process slower, which is not what a user running `plan` sees.

    .venv/bin/python scripts/bench_plan.py [--runs 5] [--sizes 50 100 200]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def synthetic(n: int) -> tuple[object, ...]:
    """N small services shaped like the real ones (health check, volume, metrics, a dependency)."""
    from model.catalogue import HealthCheck, MetricsEndpoint, ServiceSpec, Volume

    return tuple(
        ServiceSpec(
            name=f"synthetic_{i:03d}",
            description="benchmark filler",
            tier="app",
            image="ghcr.io/bench/filler:1.0.0",
            cpus=0.01,
            memory_mib=16,
            min_memory_mib=8,
            port=9000,
            healthcheck=HealthCheck(test=("CMD", "true"), relies_on="true"),
            stop_grace_s=10,
            depends_on=("redis",),
            volumes=(Volume(role="data", path="/data"),),
            metrics=(MetricsEndpoint(job=f"synthetic_{i:03d}", port=9000),),
        )
        for i in range(n)
    )


def time_program(stack: str, runs: int, extra: int = 0) -> list[float]:
    """Run the mocked program `runs` times in this process; seconds per run."""
    import model.catalogue as catalogue
    import model.config as config

    original = catalogue.CATALOGUE
    if extra:
        from model.hostplans import HOST_PLANS, HostPlan

        # config.py binds the name at import, so both modules see the enlarged catalogue.
        catalogue.CATALOGUE = config.CATALOGUE = original + synthetic(extra)  # type: ignore
        HOST_PLANS["bench-huge"] = HostPlan(
            name="bench-huge",
            provider="benchmark",
            size="huge",
            vcpus=64,
            memory_mib=262144,
            monthly_price=100.0,
            currency="USD",
            source="synthetic",
            as_of="2026-11",
        )
    from commands.offline import run_program

    overrides = {"hostPlan": "bench-huge", "budgetUsd": 1000} if extra else None
    times = []
    try:
        for _ in range(runs):
            start = time.perf_counter()
            result = run_program(stack, overrides=overrides)
            times.append(time.perf_counter() - start)
    finally:
        catalogue.CATALOGUE = config.CATALOGUE = original  # type: ignore[attr-defined]
    print(f"{len(result.resources)} resources registered", file=sys.stderr)
    return times


def time_program_fresh(stack: str, runs: int, extra: int = 0) -> list[float]:
    """Each run in its own interpreter; the program's own wall time (imports excluded)."""
    times = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", stack, str(extra)],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        times.append(float(proc.stdout.strip()))
    return times


def time_cli(stack: str, runs: int) -> list[float]:
    """Wall time of the whole `python -m commands plan` command, start-up and imports included."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "commands", "plan", "--stack", stack, "--format", "json"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - start)
    return times


def summary(label: str, times: list[float], services: int) -> str:
    med = statistics.median(times)
    return (
        f"| {label} | {services} | {med:.3f} | {min(times):.3f} | {max(times):.3f} | "
        f"{1000 * med / services:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="*", default=[50, 100, 200])
    parser.add_argument("--child", nargs=2, metavar=("STACK", "EXTRA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        stack, extra = args.child[0], int(args.child[1])
        print(time_program(stack, 1, extra=extra)[0])
        return
    from model.catalogue import CATALOGUE

    base = len(CATALOGUE)
    print("| run | catalogue services | median s | min s | max s | ms per service |")
    print("|---|---:|---:|---:|---:|---:|")
    print(
        summary("CLI plan dev (subprocess, policy pack included)", time_cli("dev", args.runs), base)
    )
    print(
        summary(
            "CLI plan prod (subprocess, policy pack included)", time_cli("prod", args.runs), base
        )
    )
    print(summary("program dev", time_program_fresh("dev", args.runs), base))
    print(summary("program prod", time_program_fresh("prod", args.runs), base))
    for n in args.sizes:
        times = time_program_fresh("prod", args.runs, extra=n)
        print(summary(f"program prod + {n} synthetic", times, base + n))


if __name__ == "__main__":
    main()
