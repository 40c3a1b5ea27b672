"""`python -m commands render --stack S --out DIR`: every generated artefact, as deployed.

Writes what the program uploads or provisions for the stack, so people can read and diff it:

    <service>/<file>                every file a service's config writer puts in its config volume
                                    (prometheus/prometheus.yml, nginx/nginx.conf, backup/backup.sh…)
    grafana/dashboards/<uid>.json   provisioned as Grafana dashboards
    grafana/alert-rules.json        provisioned as Grafana rule groups
    workflows/...                   the generated CI files (render/workflows)

Exit codes: 0 written, 2 invalid stack or config (the message names the file and key).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model.config import StackConfig


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "render", help="write every generated artefact of a stack (monitoring, nginx, workflows)"
    )
    parser.add_argument("--stack", required=True, help="stack name (dev or prod)")
    parser.add_argument("--out", required=True, type=Path, help="directory to write into")
    parser.set_defaults(handler=run)


def load_stack(stack: str, root: Path | None = None) -> StackConfig:
    """The stack's validated config, read from its stack file the way the program reads it."""
    from commands.offline import ROOT, load_offline_config

    return load_offline_config(stack, root or ROOT)


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def rendered_artefacts(config: StackConfig) -> dict[str, str]:
    """Every generated file of the stack, relative path to content: each service's files as its
    config writer receives them (`<service>/<path in its config_dir>`; secret files are left
    out), the Grafana dashboards and rule groups, and the CI files."""
    from dashboards import PROMETHEUS_UID, cost_monitoring, investment_platform
    from model.config import resolve_specs
    from model.stackcost import stack_cost
    from render.alerts import alert_rules, grafana_rule_groups
    from render.files import generated_files, template_context
    from render.workflows.files import rendered_files

    specs = resolve_specs(config)
    report = stack_cost(config, specs)
    settings = config.alerting
    context = template_context(config, specs)
    files: dict[str, str] = {}
    for spec in specs:
        for generated in generated_files(spec, config, specs, context=context):
            if isinstance(generated.content, str):
                relative = generated.path.removeprefix(f"{spec.config_dir}/")
                files[f"{spec.name}/{relative}"] = generated.content
    files[f"grafana/dashboards/{investment_platform.UID}.json"] = _json(
        investment_platform.build(specs)
    )
    files[f"grafana/dashboards/{cost_monitoring.UID}.json"] = _json(
        cost_monitoring.build(report, settings)
    )
    files["grafana/alert-rules.json"] = _json(
        [
            group.as_json()
            for group in grafana_rule_groups(alert_rules(settings), PROMETHEUS_UID, settings)
        ]
    )
    files.update({f"workflows/{p}": text for p, text in rendered_files(config.github).items()})
    return files


def write_artefacts(files: dict[str, str], out: Path) -> None:
    """Write the files under `out`, creating directories."""
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def run(args: argparse.Namespace, root: Path | None = None) -> int:
    from commands.offline import StackFileError
    from model.config import ConfigError

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
