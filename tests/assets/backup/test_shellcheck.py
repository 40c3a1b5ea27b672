"""Every script shipped into the backup and off-site containers passes shellcheck with no finding,
each for the shell that runs it: bash in the postgres image, busybox sh in the restic image."""

from __future__ import annotations

import subprocess

import pytest

from tests.assets.backup.conftest import SCRIPTS
from tests.support.tools import require_binary

BASH_SCRIPTS = [
    "backup.sh",
    "entrypoint.sh",
    "healthcheck.sh",
    "metrics-http.sh",
    "pitr.sh",
    "restore.sh",
]
SH_SCRIPTS = ["offsite.sh"]


def test_every_script_is_checked() -> None:
    assert sorted(s.name for s in SCRIPTS.glob("*.sh")) == sorted(BASH_SCRIPTS + SH_SCRIPTS)


@pytest.mark.parametrize(("shell", "names"), [("bash", BASH_SCRIPTS), ("sh", SH_SCRIPTS)])
def test_backup_scripts_pass_shellcheck(shell: str, names: list[str]) -> None:
    shellcheck = require_binary("shellcheck")
    result = subprocess.run(
        [shellcheck, f"--shell={shell}", "--severity=style", *(str(SCRIPTS / n) for n in names)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
