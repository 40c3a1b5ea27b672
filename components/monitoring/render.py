"""`python -m components render --stack S --out DIR`: every generated artefact, as deployed.

Writes what the program uploads or provisions for the stack, so people can read and diff it:

    prometheus/prometheus.yml, prometheus/rules/*.yml   uploaded into the prometheus container
    grafana/dashboards/<uid>.json                      provisioned as Grafana dashboards
    grafana/alert-rules.json                           provisioned as Grafana rule groups
    nginx/nginx.conf                                   uploaded into the nginx container
    workflows/...                                      the generated CI files (components/workflows)

Exit codes: 0 written, 2 invalid stack or config (the message names the file and key).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.config import StackConfig


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "render", help="write every generated artefact of a stack (monitoring, nginx, workflows)"
    )
    parser.add_argument("--stack", required=True, help="stack name (dev or prod)")
    parser.add_argument("--out", required=True, type=Path, help="directory to write into")
    parser.set_defaults(handler=run)


def load_stack(stack: str, root: Path | None = None) -> StackConfig:
    """The stack's validated config, read from its stack file the way the program reads it."""
    from components.offline import ROOT, load_offline_config

    return load_offline_config(stack, root or ROOT)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def rendered_artefacts(config: StackConfig) -> dict[str, str]:
    """Every generated file of the stack: relative path to content."""
    from components.config import resolve_specs
    from components.monitoring.alerts import alert_rules, grafana_rule_groups
    from components.monitoring.prometheus import alerting_settings, prometheus_files
    from components.platform import nginx_conf
    from components.stackcost import stack_cost
    from components.workflows.files import rendered_files
    from dashboards import PROMETHEUS_UID, cost_monitoring, investment_platform

    specs = resolve_specs(config)
    report = stack_cost(config)
    settings = alerting_settings(config)
    files = {
        f"prometheus/{path}": text
        for path, text in prometheus_files(specs, report, settings, stack=config.stack).items()
    }
    files[f"grafana/dashboards/{investment_platform.UID}.json"] = _json(
        investment_platform.build(specs)
    )
    files[f"grafana/dashboards/{cost_monitoring.UID}.json"] = _json(
        cost_monitoring.build(report, settings)
    )
    files["grafana/alert-rules.json"] = _json(
        grafana_rule_groups(alert_rules(settings), PROMETHEUS_UID, settings)
    )
    files["nginx/nginx.conf"] = nginx_conf(config, specs)
    # The stack's GitHub settings, once StackConfig carries them; the infra files regardless.
    github = getattr(config, "github", None)
    files.update({f"workflows/{p}": text for p, text in rendered_files(github).items()})
    return files


def write_artefacts(files: dict[str, str], out: Path) -> None:
    """Write the files under `out`, creating directories."""
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def run(args: argparse.Namespace, root: Path | None = None) -> int:
    from components.config import ConfigError
    from components.offline import StackFileError

    try:
        config = load_stack(args.stack, root)
    except (ConfigError, StackFileError) as exc:
        print(exc, file=sys.stderr)
        return 2
    files = rendered_artefacts(config)
    write_artefacts(files, args.out)
    for rel, text in files.items():
        print(f"{args.out / rel}  ({len(text.encode())} bytes)")
    return 0
