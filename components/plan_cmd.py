"""`python -m components plan --stack S`: the offline plan of a stack.

Runs the real program under the SDK's mocks, prints every resource (type, name, image, limits,
health check), the cost breakdown and the total, then evaluates the policy pack through its gRPC
analyzer. Exit codes: 0 clean, 1 a mandatory policy failed, 2 invalid config or arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

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
    parser.set_defaults(handler=run)


def _container_rows(result: Any) -> list[dict[str, Any]]:
    rows = []
    for res in result.of_type("docker:index/container:Container"):
        inputs = res.inputs
        health = inputs.get("healthcheck") or {}
        tests = health.get("tests") or []
        rows.append(
            {
                "name": res.name,
                "container": inputs.get("name"),
                "cpus": float(inputs.get("cpus", 0)),
                "memoryMib": int(inputs.get("memory", 0)),
                "healthcheck": " ".join(tests[1:]) if tests else "",
                "restart": inputs.get("restart"),
                "ports": [
                    f"{p.get('ip', '')}:{int(p['external'])}->{int(p['internal'])}"
                    for p in inputs.get("ports") or []
                ],
            }
        )
    return rows


def _images(result: Any) -> dict[str, str]:
    return {
        r.name.removesuffix("-image"): r.inputs.get("name", "")
        for r in result.of_type("docker:index/remoteImage:RemoteImage")
    }


def plan_document(result: Any, violations: list[Any] | None) -> dict[str, Any]:
    """The plan as plain data (the JSON format)."""
    images = _images(result)
    containers = sorted(_container_rows(result), key=lambda r: r["container"])
    for row in containers:
        row["image"] = images.get(row["name"].removesuffix("-container"), "")
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
        "containers": containers,
        "outputs": result.outputs,
        "policy": None
        if violations is None
        else [v.model_dump() if hasattr(v, "model_dump") else vars(v) for v in violations],
    }


def _markdown(doc: dict[str, Any]) -> str:
    cost = doc["outputs"]["cost"]
    lines = [
        f"## Offline plan: `{doc['stack']}` ({doc['resourceCount']} resources)",
        "",
        "| container | image | CPU | memory | health check | $/month |",
        "|---|---|---:|---:|---|---:|",
    ]
    for row in doc["containers"]:
        service = row["container"].split("-", 1)[-1].replace("-", "_")
        usd = cost["services"].get(service, {}).get("monthlyUsd", 0.0)
        lines.append(
            f"| {row['container']} | `{row['image']}` | {row['cpus']:g} | {row['memoryMib']} MiB"
            f" | `{row['healthcheck']}` | ${usd:.2f} |"
        )
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

    from components.console import make_console

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
    for row in sorted(doc["containers"], key=lambda r: r["container"]):
        service = row["container"].split("-", 1)[-1].replace("-", "_")
        usd = cost["services"].get(service, {}).get("monthlyUsd", 0.0)
        table.add_row(
            row["container"],
            row["image"],
            f"{row['cpus']:g}",
            f"{row['memoryMib']} MiB",
            row["healthcheck"],
            " ".join(row["ports"]),
            f"${usd:.2f}",
        )
    console.print(table)
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
    from components.offline import ProgramError, StackFileError, run_program

    try:
        result = run_program(args.stack)
    except (ProgramError, StackFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from components.policy_runner import PolicyRunError

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
    failed = [v for v in violations or [] if getattr(v, "enforcement_level", "") == "mandatory"]
    return 1 if failed else 0


def _policy(result: Any) -> list[Any]:
    """Violations from the policy pack, evaluated through its gRPC analyzer."""
    from components.policy_runner import run_policy_pack

    violations: list[Any] = run_policy_pack(result)
    return violations
