"""Fixtures and helpers for tests of what the program generates: the real promtool, and the
stacks' configs as the program loads them."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from commands.offline import read_stack_config
from model.config import StackConfig, load_config

PromtoolRun = Callable[..., subprocess.CompletedProcess[str]]


def stack_config(stack: str, **overrides: object) -> StackConfig:
    """The stack's validated config, read from its stack file like the program reads it."""
    _, raw, _ = read_stack_config(stack, overrides=dict(overrides) or None)
    return load_config(stack, {key.split(":", 1)[1]: value for key, value in raw.items()})


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Write `relative path -> text` under root."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture(scope="session")
def promtool() -> PromtoolRun:
    """Run Prometheus' promtool (Debian's prometheus package); fail, never skip, when missing."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool not found: apt-get install -y prometheus (make test does this)")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [binary, *args], capture_output=True, text=True, timeout=120, check=False
        )

    return run
