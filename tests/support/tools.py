"""Real programs the tests hand generated files to, and what happens when one is missing.

`scripts/setup.sh` installs every one of them, so on CI a missing tool is a broken set-up, never a
reason to skip: `.ci/run` sets INVESTMENT_REQUIRE_ALL_TESTS=1, which turns each skip below into a
failure. A developer machine without root (network namespaces) or without the Airflow virtualenv
(INVESTMENT_SKIP_AIRFLOW=1) skips those tests instead, saying why.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

REQUIRE_ALL = "INVESTMENT_REQUIRE_ALL_TESTS"
ROOT = Path(__file__).resolve().parents[2]


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
