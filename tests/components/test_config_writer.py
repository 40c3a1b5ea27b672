"""The config writer's script, run by busybox as in its image: it replaces the config volume's
whole content with the uploaded files, keeping their modes."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from components.service import WRITER_SCRIPT

BUSYBOX = shutil.which("busybox")


@pytest.fixture(scope="module")
def image_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH of busybox applets only, as in the busybox image's /bin."""
    assert BUSYBOX, "busybox runs the writer as the busybox image would: apt-get install busybox"
    bindir = tmp_path_factory.mktemp("busybox-bin")
    for applet in ("sh", "rm", "find", "cp", "wc"):
        (bindir / applet).symlink_to(BUSYBOX)
    return str(bindir)


@pytest.fixture
def write(image_path: str):
    def run(staging: Path, target: Path) -> subprocess.CompletedProcess[str]:
        # The container's command: sh -c SCRIPT config-writer /staging /config
        return subprocess.run(
            ["sh", "-c", WRITER_SCRIPT, "config-writer", str(staging), str(target)],
            capture_output=True,
            text=True,
            check=False,
            env={"PATH": image_path},
            executable=str(Path(image_path) / "sh"),
        )

    return run


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    staging, target = tmp_path / "staging", tmp_path / "config"
    (staging / "rules").mkdir(parents=True)
    target.mkdir()
    (staging / "prometheus.yml").write_text("global: {}\n")
    (staging / "rules" / "alerts.yml").write_text("groups: []\n")
    script = staging / "backup.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    key = staging / "tls.key"
    key.write_text("KEY")
    key.chmod(0o600)
    return staging, target


def test_the_writer_copies_every_file_with_its_mode(dirs, write):
    staging, target = dirs
    result = write(staging, target)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"config-writer: 4 files written to {target}\n"
    assert (target / "rules" / "alerts.yml").read_text() == "groups: []\n"
    assert stat.S_IMODE((target / "backup.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((target / "tls.key").stat().st_mode) == 0o600


def test_files_the_program_no_longer_generates_disappear(dirs, write):
    staging, target = dirs
    (target / "old-rules").mkdir()
    (target / "old-rules" / "stale.yml").write_text("stale")
    (target / ".hidden").write_text("stale")
    assert write(staging, target).returncode == 0
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "backup.sh",
        "prometheus.yml",
        "rules",
        "rules/alerts.yml",
        "tls.key",
    ]


def test_a_failed_copy_exits_non_zero(dirs, write):
    staging, target = dirs
    result = write(staging / "missing", target)
    assert result.returncode != 0
