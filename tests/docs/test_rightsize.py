"""The documented `rightsize` command lines parse as written, and docs/COST_OPTIMIZATION.md states
the constants model/rightsize.py applies."""

from __future__ import annotations

import re
import shlex

import pytest

from commands.cli import build_parser
from model import rightsize
from tests.support.tools import ROOT

DOCS = [ROOT / "README.md", ROOT / "docs" / "COST_OPTIMIZATION.md"]


def documented() -> list[str]:
    """The command lines of the docs' code blocks (those starting `.venv/bin/python -m`)."""
    lines = []
    for doc in DOCS:
        for line in doc.read_text().splitlines():
            match = re.match(r"\.venv/bin/python -m commands (rightsize .*)$", line)
            if match:
                lines.append(match.group(1).split("  #")[0])
    return lines


def test_every_documented_rightsize_line_parses() -> None:
    lines = documented()
    assert len(lines) == 5
    for line in lines:
        args = build_parser().parse_args(shlex.split(line))
        assert args.command == "rightsize", line
        assert args.prometheus.startswith("http://127.0.0.1:"), line


@pytest.mark.parametrize(
    ("constant", "value", "phrase"),
    [
        ("MEMORY_PERCENTILE", 0.99, "p99 working set + 15%"),
        ("MEMORY_MARGIN", 0.15, "p99 working set + 15%"),
        ("PEAK_MARGIN", 0.05, "peak working set + 5%"),
        ("CPU_PERCENTILE", 0.95, "p95 of the 5-minute usage + 15%"),
        ("CPU_MARGIN", 0.15, "p95 of the 5-minute usage + 15%"),
        ("OOM_BUMP", 1.2, "current limit + 20%"),
        ("THROTTLE_BUMP", 1.25, "current limit + 25%"),
        ("THROTTLED_SUSTAINED", 0.10, "10% or more"),
        ("MIN_HISTORY_H", 24, "fewer than 24 h"),
        ("CPU_FLOOR", 0.1, "CPU: 0.1"),
        ("CPU_STEP", 0.05, "CPU up to 0.05"),
    ],
)
def test_the_method_table_states_the_constant(constant: str, value: float, phrase: str) -> None:
    method = (ROOT / "docs" / "COST_OPTIMIZATION.md").read_text().split("### The method")[1]
    assert getattr(rightsize, constant) == value
    assert phrase in method.split("###")[0]
