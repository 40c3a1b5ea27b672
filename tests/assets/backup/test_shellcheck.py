"""Every script shipped into the backup container passes shellcheck with no finding."""

from __future__ import annotations

import subprocess

from tests.assets.backup.conftest import SCRIPTS
from tests.support.tools import require_binary


def test_backup_scripts_pass_shellcheck():
    shellcheck = require_binary("shellcheck")
    scripts = sorted(SCRIPTS.glob("*.sh"))
    assert [s.name for s in scripts] == [
        "backup.sh",
        "entrypoint.sh",
        "healthcheck.sh",
        "metrics-http.sh",
        "pitr.sh",
        "restore.sh",
    ]
    result = subprocess.run(
        [shellcheck, "--shell=bash", "--severity=style", *map(str, scripts)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
