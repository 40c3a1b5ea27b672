"""docs/MONITORING.md stays in step with the alert definitions and the scrape jobs."""

from __future__ import annotations

from model.catalogue import CATALOGUE
from render.alerts import alert_rules, duration
from tests.support.tools import ROOT

DOC = ROOT / "docs" / "MONITORING.md"


def test_every_alert_has_a_runbook_section_and_a_table_row() -> None:
    text = DOC.read_text()
    headings = {line.removeprefix("### ") for line in text.splitlines() if line.startswith("### ")}
    for rule in alert_rules():
        assert rule.name in headings, rule.name
        assert rule.anchor == rule.name.lower()
        row = (
            f"| [{rule.name}](#{rule.anchor}) | {rule.severity} | `{rule.expr}` | "
            f"{duration(rule.for_s)} |"
        )
        assert row in text, rule.name


def test_every_scrape_job_is_documented() -> None:
    text = DOC.read_text()
    for spec in CATALOGUE:
        for endpoint in spec.metrics:
            assert f"| {endpoint.job} |" in text, endpoint.job
