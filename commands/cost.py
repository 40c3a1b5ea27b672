"""`python -m commands cost --stack S [--against-stack T | --against-ref REF]`.

Without a comparison it prints the stack's cost breakdown. With one it prints an Infracost-style
diff (per line previous/new/Δ and the reason, billed total Δ, budget used). `--against-ref` runs
this same command from a clean export of the repository at REF, so catalogue and stack-file
changes both count. Every report also names the cheapest preset plan that fits the stack's limits.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

FORMATS = ("table", "json", "markdown")


class RefError(RuntimeError):
    """The comparison ref could not be exported or costed."""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("cost", help="cost breakdown, or the cost diff against another")
    parser.add_argument("--stack", required=True, help="stack to cost")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--against-stack", metavar="STACK", help="compare with another stack")
    group.add_argument(
        "--against-ref", metavar="GITREF", help="compare with the same stack at a git ref"
    )
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.set_defaults(handler=run)


def report_for(stack: str, root: Path | None = None) -> dict[str, Any]:
    """The stack's cost report as plain data, plus the cheapest fitting preset."""
    from commands.offline import ROOT, load_offline_config
    from model.config import resolve_specs
    from model.cost import cheapest_fitting_plan
    from model.stackcost import service_limits, stack_cost

    config = load_offline_config(stack, root or ROOT)
    report = stack_cost(config).as_output()
    cheapest = cheapest_fitting_plan(service_limits(resolve_specs(config)), config.os_reserve_mib)
    report["cheapestPlan"] = (
        None
        if cheapest is None
        else {"name": cheapest.name, "monthlyUsd": cheapest.monthly_usd, "size": cheapest.size}
    )
    return report


def report_at_ref(stack: str, ref: str, repo: Path) -> dict[str, Any]:
    """Cost the stack as the repository stood at `ref`, by running that checkout's own code."""
    with tempfile.TemporaryDirectory(prefix="cost-ref-") as tmp:
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", ref],
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            raise RefError(f"cannot export git ref '{ref}': {archive.stderr.decode().strip()}")
        tar_path = Path(tmp) / "ref.tar"
        tar_path.write_bytes(archive.stdout)
        with tarfile.open(tar_path) as tar:
            tar.extractall(Path(tmp) / "src", filter="data")
        source = Path(tmp) / "src"
        # The command's package moved from components/ to commands/ (issue #12); older refs keep
        # theirs, and each ref is costed by its own code.
        package = "commands" if (source / "commands" / "__main__.py").exists() else "components"
        proc = subprocess.run(
            [sys.executable, "-m", package, "cost", "--stack", stack, "--format", "json"],
            cwd=source,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RefError(f"costing '{stack}' at '{ref}' failed: {proc.stderr.strip()}")
        data: dict[str, Any] = json.loads(proc.stdout)
        return data


def _print_report(report: dict[str, Any], stack: str) -> None:
    from rich.table import Table

    from commands.console import make_console

    table = Table(title=f"Monthly cost of stack {stack}")
    for col in ("line", "CPU", "memory", "$/month"):
        table.add_column(col, justify="left" if col == "line" else "right")
    for name, s in report["services"].items():
        table.add_row(name, f"{s['cpus']:g}", f"{s['memoryMib']} MiB", f"${s['monthlyUsd']:.2f}")
    table.add_row("system (OS reserve)", "", "", f"${report['systemUsd']:.2f}")
    table.add_row("idle", "", "", f"${report['idleUsd']:.2f}")
    for name, usd in report["fixed"].items():
        table.add_row(f"fixed: {name}", "", "", f"${usd:.2f}")
    table.add_row("[bold]billed total[/bold]", "", "", f"[bold]${report['billedUsd']:.2f}[/bold]")
    console = make_console()
    console.print(table)
    plan = report["plan"]
    console.print(
        f"Host {plan['provider']} {plan['size']} ${plan['monthlyUsd']:.2f}/month "
        f"({plan['source']}, {plan['asOf']}); budget ${report['budgetUsd']:.2f}, "
        f"{report['budgetUsedPct']:.1f}% used, headroom ${report['headroomUsd']:.2f}"
    )
    _print_cheapest(console, report)


def _print_cheapest(console: Any, report: dict[str, Any]) -> None:
    cheapest = report.get("cheapestPlan")
    if cheapest:
        console.print(
            f"Cheapest preset plan that fits: {cheapest['name']} "
            f"(${cheapest['monthlyUsd']:.2f}/month)"
        )


def print_diff(diff: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    from commands.console import make_console

    console = make_console()
    console.print(f"[bold]{diff.headline}[/bold]")
    table = Table(title=f"{diff.new_label} vs {diff.previous_label}")
    for col in ("line", "previous", "new", "Δ", "reason"):
        table.add_column(col, justify="right" if col in {"previous", "new", "Δ"} else "left")
    for line in diff.lines:
        table.add_row(
            line.name,
            "-" if line.previous_usd is None else f"${line.previous_usd:.2f}",
            "-" if line.new_usd is None else f"${line.new_usd:.2f}",
            f"{line.delta_usd:+.2f}",
            line.reason,
        )
    console.print(table)
    _print_cheapest(console, report)


def run(args: argparse.Namespace) -> int:
    from commands.offline import ROOT, StackFileError
    from model.config import ConfigError
    from model.costdiff import diff_markdown, diff_reports

    try:
        report = report_for(args.stack)
        if args.against_stack:
            previous = report_for(args.against_stack)
            label = f"stack {args.against_stack}"
        elif args.against_ref:
            previous = report_at_ref(args.stack, args.against_ref, ROOT)
            label = f"{args.stack} at {args.against_ref}"
        else:
            previous = None
            label = ""
    except (ConfigError, StackFileError, RefError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if previous is None:
        if args.format == "json":
            print(json.dumps(report, indent=2))
        elif args.format == "markdown":
            empty = diff_reports(report, report, previous_label=label, new_label=args.stack)
            cheapest = report.get("cheapestPlan")
            print(diff_markdown(empty, cheapest and cheapest["name"]), end="")
        else:
            _print_report(report, args.stack)
        return 0
    diff = diff_reports(previous, report, previous_label=label, new_label=f"stack {args.stack}")
    if args.format == "json":
        print(json.dumps({"diff": diff.model_dump(), "headline": diff.headline}, indent=2))
    elif args.format == "markdown":
        cheapest = report.get("cheapestPlan")
        print(diff_markdown(diff, cheapest and cheapest["name"]), end="")
    else:
        print_diff(diff, report)
    return 0
