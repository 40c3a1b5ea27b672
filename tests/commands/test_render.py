"""`python -m commands render`: every artefact written as deployed, and exit 2 on a bad stack."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from commands.cli import main
from commands.render import load_stack, rendered_artefacts, run
from dashboards import investment_platform
from model.config import resolve_specs
from render.files import generated_files
from render.nginx import render_nginx_conf
from render.workflows.files import rendered_files
from tests.support.stacks import stack_config
from tests.support.tools import ROOT


def test_render_writes_every_artefact(tmp_path: Path, capsys, promtool) -> None:
    assert main(["render", "--stack", "prod", "--out", str(tmp_path)]) == 0
    github = stack_config("prod").github
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == [
        "backup/backup.sh",
        "backup/entrypoint.sh",
        "backup/healthcheck.sh",
        "backup/metrics-http.sh",
        "backup/pitr.sh",
        "backup/restore.sh",
        "certbot/certbot-loop.sh",
        "grafana/alert-rules.json",
        "grafana/dashboards/cost-monitoring.json",
        "grafana/dashboards/investment-platform.json",
        "nginx/nginx.conf",
        "postgres/pg_hba.conf",
        "prometheus/prometheus.yml",
        "prometheus/rules/alerts.yml",
        "prometheus/rules/cost.yml",
        *(f"workflows/{path}" for path in rendered_files(github)),
    ]
    out = capsys.readouterr().out
    assert f"{tmp_path}/prometheus/prometheus.yml  (" in out
    # The written config is valid where it lies, rule files beside it.
    result = promtool("check", "config", str(tmp_path / "prometheus/prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_files_are_what_the_program_deploys(tmp_path: Path) -> None:
    config = stack_config("prod")
    specs = resolve_specs(config)
    files = rendered_artefacts(config)
    prometheus = next(s for s in specs if s.name == "prometheus")
    uploads = {f.path: f.content for f in generated_files(prometheus, config, specs)}
    for rel in ("prometheus.yml", "rules/alerts.yml", "rules/cost.yml"):
        assert files[f"prometheus/{rel}"] == uploads[f"/etc/prometheus/{rel}"]
    assert files["nginx/nginx.conf"] == render_nginx_conf(
        specs,
        domain="invest.example.com",
        tls_mode="letsencrypt",
        internal_networks=("127.0.0.1/32", "172.30.0.0/24"),
    )
    assert json.loads(files["grafana/dashboards/investment-platform.json"]) == (
        investment_platform.build(specs)
    )
    rule_names = [
        r["name"] for g in json.loads(files["grafana/alert-rules.json"]) for r in g["rules"]
    ]
    assert len(rule_names) == 21
    assert "elasticsearch" not in "".join(files.values()).lower()


def test_load_stack_reads_the_stack_file_like_the_program() -> None:
    assert load_stack("prod") == stack_config("prod")


def _root(tmp_path: Path, stack_yaml: str) -> Path:
    repo = ROOT
    (tmp_path / "Pulumi.yaml").write_text((repo / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.bad.yaml").write_text(stack_yaml)
    return tmp_path


def test_invalid_config_exits_2_naming_the_key(tmp_path: Path, capsys) -> None:
    root = _root(
        tmp_path,
        "config:\n  investment-platform:environment: staging\n"
        "  investment-platform:images: {backend: b:1.0.0, frontend: f:1.0.0}\n",
    )
    args = argparse.Namespace(stack="bad", out=tmp_path / "out")
    assert run(args, root=root) == 2
    err = capsys.readouterr().err
    assert err.startswith("Pulumi.bad.yaml: investment-platform:environment: ")
    assert not (tmp_path / "out").exists()


def test_unknown_stack_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["render", "--stack", "nope", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == "Pulumi.nope.yaml: no such stack file (stacks: dev, prod)\n"
