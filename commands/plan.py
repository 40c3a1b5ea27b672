"""`python -m commands plan --stack S`: the offline plan of a stack.

Runs the real program under the SDK's mocks, prints every resource (type, name, image, limits,
health check), the cost breakdown and the total, then evaluates the policy pack through its gRPC
analyzer. Exit codes: 0 clean, 1 a mandatory policy failed, 2 invalid config or arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model.labels import JOB_LABEL, SERVICE_LABEL

if TYPE_CHECKING:
    # Imported when run: the program's SDK and the pack's gRPC stubs load only for `plan`.
    from commands.offline import PlanResult
    from commands.policy_runner import Violation

FORMATS = ("table", "json", "markdown")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan", help="run the program offline under mocks and show resources, cost and policies"
    )
    parser.add_argument("--stack", required=True, help="stack name (dev or prod)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument(
        "--no-policy", action="store_true", help="skip the policy pack (resources and cost only)"
    )
    parser.add_argument(
        "--cwd",
        type=Path,
        default=None,
        metavar="DIR",
        help="the project directory holding Pulumi.yaml and the stack files (default: this one)",
    )
    parser.set_defaults(handler=run)


def container_labels(inputs: dict[str, Any]) -> dict[str, str]:
    """A recorded container's labels as a dict (secret or unknown values left out)."""
    return {
        entry["label"]: entry["value"]
        for entry in inputs.get("labels") or []
        if isinstance(entry, dict) and isinstance(entry.get("value"), str)
    }


def _container_rows(result: PlanResult) -> list[dict[str, Any]]:
    """One row per container: the service it belongs to (its label, not its name, which a
    namePrefix with dashes would split wrongly), its image (the RemoteImage it depends on), its
    limits and checks; `job` is the role of a one-shot job, None for a long-running service."""
    images = {
        r.urn: r.inputs.get("name", "")
        for r in result.of_type("docker:index/remoteImage:RemoteImage")
    }
    rows = []
    for res in result.of_type("docker:index/container:Container"):
        inputs = res.inputs
        labels = container_labels(inputs)
        health = inputs.get("healthcheck") or {}
        tests = health.get("tests") or []
        command = inputs.get("command")
        uploads = inputs.get("uploads") or []
        runs = " ".join(command) if isinstance(command, list) else ""
        if labels.get(JOB_LABEL) == "config":
            volumes = [v.get("volumeName", "") for v in inputs.get("volumes") or []]
            files = "1 generated file" if len(uploads) == 1 else f"{len(uploads)} generated files"
            runs = f"writes {files} into {', '.join(volumes)}"
        rows.append(
            {
                "name": res.name,
                "container": inputs.get("name"),
                "service": labels.get(SERVICE_LABEL, ""),
                "job": labels.get(JOB_LABEL),
                "image": next((images[d] for d in res.dependencies if d in images), ""),
                "cpus": float(inputs.get("cpus", 0)),
                "memoryMib": int(inputs.get("memory", 0)),
                "healthcheck": " ".join(tests[1:]) if tests else "",
                "runs": runs,
                "restart": inputs.get("restart"),
                "ports": [
                    f"{p.get('ip', '')}:{int(p['external'])}->{int(p['internal'])}"
                    for p in inputs.get("ports") or []
                ],
            }
        )
    return sorted(rows, key=lambda r: r["container"])


def monthly_usd(doc: dict[str, Any], row: dict[str, Any]) -> float:
    """The service's share of the bill, from the cost output (jobs run briefly: $0)."""
    if row["job"] is not None:
        return 0.0
    service: dict[str, Any] = doc["outputs"]["cost"]["services"].get(row["service"], {})
    return float(service.get("monthlyUsd", 0.0))


def plan_document(result: PlanResult, violations: list[Violation] | None) -> dict[str, Any]:
    """The plan as plain data (the JSON format)."""
    rows = _container_rows(result)
    return {
        "stack": result.stack,
        "resourceCount": len(result.resources),
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "protect": r.protect,
                "retainOnDelete": r.retain_on_delete,
                "import": r.import_id or None,
            }
            for r in result.resources
        ],
        "containers": [r for r in rows if r["job"] is None],
        "jobs": [r for r in rows if r["job"] is not None],
        "outputs": result.outputs,
        "policy": None if violations is None else [v.model_dump() for v in violations],
    }


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a `|` would end the cell, a newline the row."""
    return " ".join(text.split()).replace("|", "\\|")


def _markdown(doc: dict[str, Any]) -> str:
    cost = doc["outputs"]["cost"]
    lines = [
        f"## Offline plan: `{doc['stack']}` ({doc['resourceCount']} resources)",
        "",
        "| container | image | CPU | memory | health check | $/month |",
        "|---|---|---:|---:|---|---:|",
    ]
    for row in doc["containers"]:
        lines.append(
            f"| {row['container']} | `{row['image']}` | {row['cpus']:g} | {row['memoryMib']} MiB"
            f" | `{_cell(row['healthcheck'])}` | ${monthly_usd(doc, row):.2f} |"
        )
    if doc["jobs"]:
        lines += [
            "",
            "| one-shot job | image | CPU | memory | runs |",
            "|---|---|---:|---:|---|",
        ]
        lines += [
            f"| {row['container']} | `{row['image']}` | {row['cpus']:g} | {row['memoryMib']} MiB"
            f" | {_cell(row['runs'])} |"
            for row in doc["jobs"]
        ]
    plan = cost["plan"]
    lines += [
        "",
        f"Host: {plan['provider']} {plan['size']} ({plan['vcpus']} vCPU, {plan['memoryMib']} MiB)"
        f" ${plan['monthlyUsd']:.2f}/month; system ${cost['systemUsd']:.2f}, idle"
        f" ${cost['idleUsd']:.2f}; fixed ${sum(cost['fixed'].values()):.2f}.",
        f"**Billed total ${cost['billedUsd']:.2f} of ${cost['budgetUsd']:.2f} budget"
        f" ({cost['budgetUsedPct']:.1f}%).**",
    ]
    if doc["policy"] is not None:
        lines += ["", "### Policies", ""]
        lines += [
            f"- **{v['enforcement_level']}** `{v['policy']}` on `{v['resource']}`: {v['message']}"
            for v in doc["policy"]
        ] or ["- all policies pass"]
    return "\n".join(lines) + "\n"


def _table(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from commands.console import make_console

    console = make_console()
    cost = doc["outputs"]["cost"]
    res = Table(title=f"Resources of stack {doc['stack']} ({doc['resourceCount']})")
    for col in ("type", "name", "options"):
        res.add_column(col)
    for r in doc["resources"]:
        opts = ", ".join(k for k in ("protect", "retainOnDelete") if r[k]) + (
            f" import={r['import']}" if r["import"] else ""
        )
        res.add_row(r["type"], r["name"], opts)
    console.print(res)
    table = Table(title="Containers")
    for col in ("container", "image", "CPU", "memory", "health check", "ports", "$/month"):
        table.add_column(col, justify="right" if col in {"CPU", "memory", "$/month"} else "left")
    for row in doc["containers"]:
        table.add_row(
            row["container"],
            row["image"],
            f"{row['cpus']:g}",
            f"{row['memoryMib']} MiB",
            row["healthcheck"],
            " ".join(row["ports"]),
            f"${monthly_usd(doc, row):.2f}",
        )
    console.print(table)
    jobs = Table(title="One-shot jobs (run to completion before their service starts)")
    for col in ("container", "image", "CPU", "memory", "runs"):
        jobs.add_column(col, justify="right" if col in {"CPU", "memory"} else "left")
    for row in doc["jobs"]:
        jobs.add_row(
            row["container"],
            row["image"],
            f"{row['cpus']:g}",
            f"{row['memoryMib']} MiB",
            row["runs"],
        )
    console.print(jobs)
    plan = cost["plan"]
    console.print(
        f"Host {plan['provider']} {plan['size']}: ${plan['monthlyUsd']:.2f}/month "
        f"({plan['monthlyPrice']} {plan['currency']}, {plan['source']}, {plan['asOf']}); "
        f"system ${cost['systemUsd']:.2f}, idle ${cost['idleUsd']:.2f}; "
        f"fixed ${sum(cost['fixed'].values()):.2f}"
    )
    console.print(
        f"[bold]Billed total ${cost['billedUsd']:.2f}[/bold] of ${cost['budgetUsd']:.2f} budget "
        f"({cost['budgetUsedPct']:.1f}%, headroom ${cost['headroomUsd']:.2f}); memory "
        f"{cost['capacity']['memoryUsedPct']:.1f}% of host, CPU limits "
        f"{cost['capacity']['cpuUsedPct']:.1f}% of vCPUs"
    )
    if doc["policy"] is not None:
        if not doc["policy"]:
            console.print("[green]Policies: all pass[/green]")
        # One unwrapped line per violation, so CI logs and grep see each whole.
        for v in doc["policy"]:
            console.print(
                f"{v['enforcement_level']}: {v['policy']}: {v['resource']}: {v['message']}",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )


def run(args: argparse.Namespace) -> int:
    from commands.offline import ROOT, ProgramError, StackFileError, run_program

    try:
        result = run_program(args.stack, root=args.cwd or ROOT)
    except (ProgramError, StackFileError) as exc:
        # One line, whatever the program's message held.
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    from commands.policy_runner import PolicyRunError

    try:
        violations = None if args.no_policy else _policy(result)
    except PolicyRunError as exc:
        print(f"error: policy pack: {exc}", file=sys.stderr)
        return 2
    doc = plan_document(result, violations)
    if args.format == "json":
        print(json.dumps(doc, indent=2, default=str))
    elif args.format == "markdown":
        print(_markdown(doc), end="")
    else:
        _table(doc)
    return 1 if any(v.mandatory for v in violations or []) else 0


def _policy(result: PlanResult) -> list[Violation]:
    """Violations from the policy pack, evaluated through its gRPC analyzer."""
    from commands.policy_runner import run_policy_pack

    return run_policy_pack(result)
