"""The import contracts in pyproject.toml, run by import-linter in the quality gate: they hold for
the project, and they fail on a wrong-way import planted in a copy of it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.tools import ROOT

PACKAGES = (
    "model",
    "render",
    "dashboards",
    "search",
    "components",
    "program",
    "commands",
    "policy",
)
LINT_IMPORTS = ROOT / ".venv" / "bin" / "lint-imports"


def lint(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the packages and the contracts, to plant imports in."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_project_keeps_every_contract(project):
    result = lint(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "planted", "contract", "broken"),
    [
        (
            "model/cost.py",
            "import components.platform",
            "Imports flow one way",
            "model is not allowed to import components",
        ),
        (
            "render/nginx.py",
            "import program.main",
            "Imports flow one way",
            "render is not allowed to import program",
        ),
        (
            "dashboards/cost_monitoring.py",
            "import render.cost_metrics",
            "Imports flow one way",
            "dashboards is not allowed to import render",
        ),
        (
            "model/catalogue.py",
            "import pulumi",
            "The pure layers import nothing from Pulumi",
            "model.catalogue -> pulumi",
        ),
        (
            "search/migrator.py",
            "import pulumi_postgresql",
            "The pure layers import nothing from Pulumi",
            "search.migrator -> pulumi_postgresql",
        ),
        (
            "policy/policies/core.py",
            "import model.catalogue",
            "The policy pack imports nothing of the program",
            "policy.policies.core -> model.catalogue",
        ),
    ],
)
def test_a_planted_wrong_way_import_breaks_its_contract(project, module, planted, contract, broken):
    path = project / module
    text = path.read_text()
    marker = "from __future__ import annotations\n"
    path.write_text(text.replace(marker, f"{marker}\n{planted}  # planted\n", 1))
    result = lint(project)
    assert result.returncode == 1
    text = " ".join(result.stdout.split())
    assert re.search(re.escape(contract) + r"[^.]*? BROKEN", text), text
    assert broken in text
