"""Real programs the tests hand generated files to, and what happens when one is missing; the
project's own commands run the way users run them.

`scripts/setup.sh` installs every one of them, so on CI a missing tool is a broken set-up, never a
reason to skip: `.ci/run` sets INVESTMENT_REQUIRE_ALL_TESTS=1, which turns each skip below into a
failure. A developer machine without root (network namespaces) or without the Airflow virtualenv
(INVESTMENT_SKIP_AIRFLOW=1) skips those tests instead, saying why.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import pytest

REQUIRE_ALL = "INVESTMENT_REQUIRE_ALL_TESTS"
ROOT = Path(__file__).resolve().parents[2]
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "node_modules", "*_cache", "__pycache__")
"""For shutil.copytree of the repository into a test directory: its files, not its environments."""


def load_script(name: str) -> ModuleType:
    """scripts/<name>.py as a fresh module: scripts/ is a folder of commands, not a package."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_command(
    *args: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m commands ARGS` as a user runs it: a subprocess in `cwd`. The test process's own
    libpq variables (PG*) are left out, so only `env` decides which server a command reaches."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    return subprocess.run(
        [sys.executable, "-m", "commands", *args],
        cwd=cwd,
        env={**inherited, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def unavailable(reason: str) -> NoReturn:
    """Skip the test for `reason`, or fail it when every test must run (CI)."""
    if os.environ.get(REQUIRE_ALL) == "1":
        pytest.fail(f"{reason}; {REQUIRE_ALL}=1 requires it (run scripts/setup.sh)")
    pytest.skip(reason)


def require_binary(name: str, *extra_dirs: str) -> str:
    """The path of an installed program (PATH, then `extra_dirs` such as /usr/sbin)."""
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in extra_dirs if (Path(d) / name).is_file()), None
    )
    if found is None:
        unavailable(f"{name} is not installed (scripts/setup.sh installs it from Debian)")
    return found


def require_root(why: str) -> None:
    """Tests that create network namespaces or start sshd need root (CI runs as root)."""
    if os.geteuid() != 0:
        unavailable(f"needs root: {why}")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
