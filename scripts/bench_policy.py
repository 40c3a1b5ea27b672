"""How long the offline policy check takes: pack start-up plus Analyze/AnalyzeStack over a stack.

Usage: .venv/bin/python scripts/bench_policy.py [--runs N]
Prints, per stack, the resources analyzed and the median and worst wall time of `run_policy_pack`
(the program itself is planned once, outside the timing).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from commands.offline import run_program
from commands.policy_runner import run_policy_pack


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for stack in ("dev", "prod"):
        result = run_program(stack)
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            violations = run_policy_pack(result)
            times.append(time.perf_counter() - start)
        print(
            f"{stack}: {len(result.resources) + 1} resources, {len(violations)} violations, "
            f"median {statistics.median(times):.2f}s, worst {max(times):.2f}s over {args.runs} runs"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
