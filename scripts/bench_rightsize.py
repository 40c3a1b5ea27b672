"""Benchmark: `rightsize` on 30 days of cAdvisor history at 15 s resolution for the whole platform.

Generates the history the real-Prometheus tests use (tests/support/cadvisor_history.py: every
catalogue service but frontend, nine cAdvisor series each), converts it into TSDB blocks with
`promtool tsdb create-blocks-from openmetrics`, starts Debian's prometheus on them, then times
`python -m commands rightsize --stack prod --window 30d` as users run it (a fresh process each
run): the first run on a Prometheus that has not read the blocks yet, then the warm runs.

    .venv/bin/python scripts/bench_rightsize.py [--days 30] [--step 15] [--runs 5] [--data DIR]

`--data DIR` keeps the blocks there and reuses them on the next run (building them takes minutes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from commands.rightsize import end_arg  # noqa: E402
from tests.support.cadvisor_history import build_tsdb, prometheus_on  # noqa: E402

END = "2026-11-01T00:00:00Z"


def run_once(url: str, window: str) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "commands",
            "rightsize",
            "--stack",
            "prod",
            "--prometheus",
            url,
            "--window",
            window,
            "--end",
            END,
            "--format",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"rightsize failed: {proc.stderr.strip()}")
    doc: dict[str, object] = json.loads(proc.stdout)
    return elapsed, doc


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--step", type=int, default=15, help="seconds between samples")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data", type=Path, help="keep (and reuse) the TSDB blocks here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-rightsize-") as tmp:
        base = args.data or Path(tmp)
        data = base / f"tsdb-{args.days}d-{args.step}s"
        end = int(end_arg(END))
        if not data.exists():
            started = time.perf_counter()
            samples = build_tsdb(data, end - args.days * 86400, end, args.step)
            print(
                f"history: {samples:,} samples ({args.days} days at {args.step} s), blocks built "
                f"in {time.perf_counter() - started:.0f} s"
            )
        size = sum(p.stat().st_size for p in data.rglob("*") if p.is_file())
        print(f"TSDB on disk: {size / 1024 / 1024:.0f} MiB")
        window = f"{args.days}d"
        with prometheus_on(data, base / "config") as url:
            cold, doc = run_once(url, window)
            warm = [run_once(url, window)[0] for _ in range(args.runs)]
    recs = doc["recommendations"]
    assert isinstance(recs, list)
    print(f"services: {len(recs)}, window {window}")
    print(f"first run (blocks not yet read by Prometheus): {cold:.2f} s")
    print(
        f"warm runs x{len(warm)}: median {statistics.median(warm):.2f} s, "
        f"p90 {percentile(warm, 0.9):.2f} s, min {min(warm):.2f} s, max {max(warm):.2f} s"
    )


if __name__ == "__main__":
    main()
