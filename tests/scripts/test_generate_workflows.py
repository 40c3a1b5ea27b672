"""scripts/generate_workflows.py: writes the generated files, and --check reports stale ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from render.workflows.files import infra_files
from tests.support.tools import ROOT, load_script

SCRIPT = ROOT / "scripts" / "generate_workflows.py"


def test_check_passes_on_the_committed_tree():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_write_then_check_in_an_empty_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    module = load_script("generate_workflows")
    monkeypatch.setattr(module, "ROOT", tmp_path)
    assert module.main(["--check"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"out of date: {path}" for path in infra_files()
    ]
    assert module.main([]) == 0
    assert capsys.readouterr().out.splitlines() == [f"written: {path}" for path in infra_files()]
    for path, text in infra_files().items():
        assert (tmp_path / path).read_text(encoding="utf-8") == text
    assert module.main(["--check"]) == 0
    (tmp_path / ".github/workflows/infra.yml").write_text("edited by hand\n", encoding="utf-8")
    assert module.main(["--check"]) == 1
    assert capsys.readouterr().out == "out of date: .github/workflows/infra.yml\n"
