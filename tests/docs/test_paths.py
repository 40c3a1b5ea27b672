"""Every file of this repository that the README or a doc names exists (the layout moves; the
docs must move with it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.tools import ROOT

DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
TOP_LEVEL = (
    "assets",
    "commands",
    "components",
    "dashboards",
    "docs",
    "model",
    "policy",
    "program",
    "render",
    "scripts",
    "search",
    "tests",
    ".ci",
    ".github",
)
ELSEWHERE = {
    ".github/workflows/ci.yml": "the application repository's workflow (WorkflowFiles commits it)",
    "policy/.venv": "the pack's virtualenv, created by `pulumi install` (git-ignored)",
}
"""Paths the docs name that are not files of this repository, and why."""

# A path into one of the repository's own directories: a file name, or a directory with a slash.
PATH = re.compile(
    rf"(?<![\w./-])((?:{'|'.join(re.escape(d) for d in TOP_LEVEL)})/(?:[\w.-]+/)*[\w.-]*)"
)


def named_paths(text: str) -> list[str]:
    """The repository paths a document names, without trailing full stops; globs are skipped."""
    found = []
    for match in PATH.finditer(text):
        if text[match.end() : match.end() + 1] in ("*", "{", "<"):
            continue
        found.append(match.group(1).rstrip("."))
    return found


def test_named_paths_finds_files_and_directories_and_skips_other_text() -> None:
    text = (
        "see `model/catalogue.py`, render/workflows/ and tests/docs/test_paths.py. "
        "Not: prometheus/rules/alerts.yml, ../shared/x.md, docs/*.md, ./model/x.py"
    )
    assert named_paths(text) == [
        "model/catalogue.py",
        "render/workflows/",
        "tests/docs/test_paths.py",
    ]


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_named_path_exists(doc: Path) -> None:
    named = set(named_paths(doc.read_text())) - ELSEWHERE.keys()
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == []
