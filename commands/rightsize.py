"""`python -m commands rightsize --stack S --prometheus URL [--window 7d] [--end T] [--write]`.

Reads what cAdvisor recorded of each service over the window from Prometheus' HTTP API (working
set percentiles and peak, CPU percentiles and peak, throttling, OOM kills, restarts), recommends a
memory and a CPU limit per service (model/rightsize.py, method in docs/COST_OPTIMIZATION.md),
prints them with the cost diff against the stack as it is (the format of `cost --against-*`), and
with `--write` sets them as the stack file's service overrides, comments and order kept.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model.rightsize import Recommendation, RecommendedCost, Usage

FORMATS = ("table", "json", "markdown")
WINDOW_RE = re.compile(r"^[1-9][0-9]{0,3}[hdw]$")
MIB = 1024 * 1024
TIMEOUT_S = 60.0


class UsageError(ValueError):
    """Bad input the user can fix: exit 2 with the message, nothing written."""


def window_arg(text: str) -> str:
    """A Prometheus duration of whole hours, days or weeks (`7d`): it goes into PromQL as is, so
    nothing else may pass."""
    if not WINDOW_RE.match(text):
        raise argparse.ArgumentTypeError(f"'{text}' is not a window like 24h, 7d or 2w")
    return text


def end_arg(text: str) -> float:
    """Unix seconds or an RFC 3339 UTC time (2026-11-01T00:00:00Z)."""
    try:
        return float(text) if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text) else _rfc3339(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a time: use unix seconds or 2026-11-01T00:00:00Z"
        ) from None


def _rfc3339(text: str) -> float:
    if not text.endswith("Z"):
        raise ValueError(text)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()


def url_arg(text: str) -> str:
    """An http(s) URL with a host and nothing after its path."""
    parsed = urllib.parse.urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise argparse.ArgumentTypeError(f"'{text}' is not an http:// or https:// URL")
    if parsed.query or parsed.fragment:
        raise argparse.ArgumentTypeError(f"'{text}': give the server's base URL, no query")
    return text.rstrip("/")


def timeout_arg(text: str) -> float:
    """Seconds, more than 0 and at most an hour."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds from 0 to 3600")
    return value


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rightsize", help="recommend limits from the usage Prometheus recorded, with the cost diff"
    )
    parser.add_argument("--stack", required=True, help="stack whose limits to recommend")
    parser.add_argument(
        "--prometheus", required=True, type=url_arg, metavar="URL", help="Prometheus base URL"
    )
    parser.add_argument(
        "--window", type=window_arg, default="7d", help="history to read (default 7d)"
    )
    parser.add_argument(
        "--end", type=end_arg, metavar="TIME", help="end of the window (default: now)"
    )
    parser.add_argument(
        "--timeout",
        type=timeout_arg,
        default=TIMEOUT_S,
        metavar="SECONDS",
        help=f"longest wait for one answer from Prometheus (default {TIMEOUT_S:g})",
    )
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument(
        "--write", action="store_true", help="set the recommended limits in the stack file"
    )
    parser.set_defaults(handler=run)


class Prometheus:
    """The few calls of Prometheus' HTTP API this command needs."""

    def __init__(self, url: str, timeout_s: float = TIMEOUT_S) -> None:
        self.url = url
        self.timeout_s = timeout_s

    def _call(self, path: str, form: Mapping[str, str] | None = None) -> Any:
        data = None if form is None else urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self.url + path, data=data)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        except TimeoutError:
            raise UsageError(
                f"--prometheus {self.url}: no answer to {path} within {self.timeout_s:g} s"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise UsageError(f"--prometheus {self.url}: cannot connect: {reason}") from None
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or doc.get("status") not in ("success", "error"):
            raise UsageError(
                f"--prometheus {self.url}: not a Prometheus server "
                f"({path} answered HTTP {status} without Prometheus' JSON)"
            )
        if doc["status"] == "error":
            raise UsageError(f"--prometheus {self.url}: {path}: {doc.get('error')}")
        return doc.get("data")

    def version(self) -> str:
        """The server's version; proves the URL is a Prometheus API."""
        data = self._call("/api/v1/status/buildinfo")
        if not isinstance(data, dict) or "version" not in data:
            raise UsageError(f"--prometheus {self.url}: not a Prometheus server (no buildinfo)")
        return str(data["version"])

    def query(self, expr: str, at: float) -> dict[str, float]:
        """An instant query's value per `service` label."""
        data = self._call("/api/v1/query", {"query": expr, "time": f"{at:.3f}"})
        values: dict[str, float] = {}
        for item in data.get("result", []) if isinstance(data, dict) else []:
            service = item.get("metric", {}).get("service")
            if service:
                value = float(item["value"][1])
                values[service] = 0.0 if math.isnan(value) else value
        return values


def window_hours(window: str) -> float:
    """The window's length in hours (`7d` → 168)."""
    return int(window[:-1]) * {"h": 1, "d": 24, "w": 168}[window[-1]]


def read_usage(prometheus: Prometheus, window: str, end: float) -> dict[str, Usage]:
    """Every service's Usage over the window; UsageError when the window holds no cAdvisor
    series at all (a wrong URL, window or end)."""
    from model.rightsize import SUBQUERY_STEP_MIN, Usage, usage_queries

    queries = usage_queries(window)
    # Prometheus evaluates concurrent queries in parallel; together they take the longest one.
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(prometheus.query, expr, end) for name, expr in queries.items()}
        results = {name: future.result() for name, future in futures.items()}
    if not results["covered"]:
        when = datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise UsageError(
            f"--window {window}: Prometheus at {prometheus.url} holds no cAdvisor series "
            f"(container_memory_working_set_bytes) in the {window} ending {when}"
        )
    return {
        service: Usage(
            service=service,
            # A subquery's range holds both its ends: one step more than the window when the
            # data reaches back to its start.
            covered_h=round(min(covered * SUBQUERY_STEP_MIN / 60, window_hours(window)), 2),
            memory_p99_mib=results["memory_p99"].get(service, 0.0) / MIB,
            memory_peak_mib=results["memory_peak"].get(service, 0.0) / MIB,
            cpu_p95=results["cpu_p95"].get(service, 0.0),
            cpu_peak=results["cpu_peak"].get(service, 0.0),
            throttled_ratio=results["throttled"].get(service, 0.0),
            oom_kills=round(results["oom"].get(service, 0.0)),
            restarts=round(results["restarts"].get(service, 0.0)),
        )
        for service, covered in results["covered"].items()
    }


def stack_changes(recommendations: Sequence[Recommendation]) -> dict[str, dict[str, float | int]]:
    """The overrides to write: each limit that moves, capped at the catalogue's (stacks may only
    lower limits; a raise beyond it is a catalogue change, reported, never written)."""
    changes: dict[str, dict[str, float | int]] = {}
    for rec in recommendations:
        values: dict[str, float | int] = {}
        if rec.written_cpus != rec.current_cpus:
            values["cpus"] = rec.written_cpus
        if rec.written_memory_mib != rec.current_memory_mib:
            values["memoryMib"] = rec.written_memory_mib
        if values:
            changes[rec.service] = values
    return changes


def write_stack(stack: str, root: Path, changes: Mapping[str, Mapping[str, float | int]]) -> None:
    """Set `changes` in Pulumi.<stack>.yaml, after the edited file has passed the program's own
    validation (a copy is loaded first); the file is replaced in one rename."""
    from commands.offline import load_offline_config, read_stack_config
    from commands.stackfile import set_service_limits

    path = root / f"Pulumi.{stack}.yaml"
    project, _, _ = read_stack_config(stack, root)
    text = set_service_limits(path.read_text(), project, changes)
    with tempfile.TemporaryDirectory(prefix="rightsize-") as tmp:
        (Path(tmp) / "Pulumi.yaml").write_text((root / "Pulumi.yaml").read_text())
        (Path(tmp) / path.name).write_text(text)
        load_offline_config(stack, Path(tmp))
    staged = path.with_name(f".{path.name}.rightsize")
    staged.write_text(text)
    shutil.copymode(path, staged)
    staged.replace(path)


def _cell_limit(current: float | int, new: float | int, unit: str = "") -> str:
    if current == new:
        return f"{current:g}{unit}"
    return f"{current:g}→{new:g}{unit}"


def _rows(recommendations: Sequence[Recommendation]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for rec in recommendations:
        usage = rec.usage
        rows.append(
            (
                rec.service,
                _cell_limit(rec.current_cpus, rec.cpus),
                _cell_limit(rec.current_memory_mib, rec.memory_mib, " MiB"),
                "-" if usage is None else str(usage.oom_kills),
                "-" if usage is None else str(usage.restarts),
                "-" if usage is None else f"{usage.throttled_ratio:.0%}",
                "; ".join(rec.explanation)
                if rec.status == "recommended"
                else f"kept: {rec.cpu_reason}",
            )
        )
    return rows


COLUMNS = ("service", "cpus", "memory", "OOM kills", "restarts", "throttled", "why")


def _host_lines(cost: RecommendedCost, stack_plan: str) -> list[str]:
    """Whether the recommendation fits the stack's host, and what a cheaper host would save:
    limits alone move cost between lines, only a smaller plan lowers the bill."""
    if not cost.fits_current_plan:
        return [
            f"The recommended limits do not fit {stack_plan}; the cheapest preset plan that "
            f"fits them is {cost.plan} (costed below)."
        ]
    lines = [f"The recommended limits fit the stack's host plan {stack_plan}."]
    cheapest = cost.report["cheapestPlan"]
    current = cost.report["plan"]
    if cheapest and cheapest["monthlyUsd"] < current["monthlyUsd"]:
        lines.append(
            f"They also fit {cheapest['name']} (${cheapest['monthlyUsd']:.2f}/month): "
            f"hostPlan: {cheapest['name']} would bill "
            f"${current['monthlyUsd'] - cheapest['monthlyUsd']:.2f}/month less than "
            f"{stack_plan} (${current['monthlyUsd']:.2f})."
        )
    return lines


def _markdown(title: str, recommendations: Sequence[Recommendation], notes: Sequence[str]) -> str:
    lines = [f"### {title}", "", "| " + " | ".join(COLUMNS) + " |", "|---" * len(COLUMNS) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(recommendations)]
    lines += ["", *(f"- {note}" for note in notes), ""]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from commands.cost import print_diff, report_for
    from commands.offline import ROOT, StackFileError, load_offline_config
    from model.config import ConfigError, resolve_specs
    from model.costdiff import diff_markdown, diff_reports
    from model.rightsize import recommend, recommended_cost

    end = datetime.now(UTC).timestamp() if args.end is None else args.end
    try:
        config = load_offline_config(args.stack, ROOT)
        prometheus = Prometheus(args.prometheus, args.timeout)
        prometheus.version()
        usage = read_usage(prometheus, args.window, end)
    except (ConfigError, StackFileError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    recommendations = recommend(resolve_specs(config), usage)
    try:
        cost = recommended_cost(config, recommendations)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    current = report_for(args.stack)
    diff = diff_reports(
        current,
        cost.report,
        previous_label=f"stack {args.stack}",
        new_label=f"recommendation ({args.window})",
    )
    when = datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    title = f"Right-sizing of stack {args.stack} from {args.window} of usage ending {when}"
    changes = stack_changes(recommendations)
    catalogue_changes = [c for rec in recommendations for c in rec.catalogue_changes]
    notes = [*_host_lines(cost, config.host_plan), *catalogue_changes]
    written = ""
    if args.write:
        if changes:
            try:
                write_stack(args.stack, ROOT, changes)
            except (ConfigError, StackFileError) as exc:
                print(f"error: not written: {exc}", file=sys.stderr)
                return 1
            written = f"Wrote {len(changes)} service overrides to Pulumi.{args.stack}.yaml."
        else:
            written = f"Pulumi.{args.stack}.yaml already holds these limits; nothing written."
        notes.append(written)
    if args.format == "json":
        doc = {
            "stack": args.stack,
            "window": args.window,
            "end": when,
            "recommendations": [rec.as_output() for rec in recommendations],
            "fitsCurrentPlan": cost.fits_current_plan,
            "plan": cost.plan,
            "cheapestPlan": cost.report["cheapestPlan"],
            "catalogueChanges": catalogue_changes,
            "stackChanges": changes,
            "written": bool(args.write and changes),
            "diff": diff.model_dump(),
            "headline": diff.headline,
        }
        print(json.dumps(doc, indent=2))
    elif args.format == "markdown":
        cheapest = cost.report["cheapestPlan"]
        print(_markdown(title, recommendations, notes), end="")
        print(diff_markdown(diff, cheapest and cheapest["name"]), end="")
    else:
        _print_table(title, recommendations, notes)
        print_diff(diff, cost.report)
    return 0


def _print_table(
    title: str, recommendations: Sequence[Recommendation], notes: Sequence[str]
) -> None:
    from rich.table import Table

    from commands.console import make_console

    table = Table(title=title)
    for column in COLUMNS:
        table.add_column(column, justify="left" if column in {"service", "why"} else "right")
    for row in _rows(recommendations):
        table.add_row(*row)
    console = make_console()
    console.print(table)
    for note in notes:
        console.print(note, highlight=False)
