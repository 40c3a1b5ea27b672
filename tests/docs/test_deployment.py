"""docs/DEPLOYMENT.md stays in step with the catalogue and the program."""

from __future__ import annotations

from commands.offline import load_offline_config
from model.catalogue import start_order, wait_timeout_s
from model.config import resolve_specs
from tests.support.tools import ROOT

DOC = ROOT / "docs" / "DEPLOYMENT.md"
HEADER = (
    "| service | image | health check | binary it relies on | root filesystem | wait s | "
    "stop grace s |\n|---|---|---|---|---|---:|---:|"
)


def health_rows() -> list[str]:
    """The start-up table, one row per prod service in start order."""
    rows = []
    for spec in start_order(resolve_specs(load_offline_config("prod"))):
        check = " ".join(spec.healthcheck.test[1:]).replace("|", "\\|")
        root = "read-only" if spec.read_only_rootfs else f"writable: {spec.writable_rootfs_reason}"
        image = f"`{spec.image}`"
        if spec.app_image is not None:
            image = f"per-stack `images.{spec.app_image}`"
        rows.append(
            f"| {spec.name} | {image} | `{check}` | {spec.healthcheck.relies_on} | {root} | "
            f"{wait_timeout_s(spec)} | {spec.stop_grace_s} |"
        )
    return rows


def test_the_health_table_matches_the_catalogue():
    text = DOC.read_text()
    assert HEADER in text
    for row in health_rows():
        assert row in text, row


def test_the_documented_commands_name_flags_that_exist():
    text = DOC.read_text()
    assert "pulumi refresh --run-program" in text
    assert "pulumi destroy --run-program" in text
    assert "ssh -N -L" not in text.split("## How prod is reached")[0]
