"""Both dashboards as Grafana loads them: structure, stable uids, the SDK's own models, and every
PromQL expression through Prometheus' real parser (promtool)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import PROMETHEUS_UID, cost_monitoring, investment_platform, panels, queries
from model.alerting import AlertingSettings
from model.catalogue import CATALOGUE, MetricsEndpoint
from model.rightsize import CPU_LIMIT, MEMORY_LIMIT, usage_queries
from model.stackcost import stack_cost
from render.cost_metrics import cost_rule_groups
from render.prometheus import scrape_jobs
from tests.support.specs import app_spec
from tests.support.stacks import stack_config, write_files


@pytest.fixture(scope="module")
def boards() -> dict[str, dict[str, Any]]:
    report = stack_cost(stack_config("prod"))
    return {
        "investment-platform": investment_platform.build(CATALOGUE),
        "cost-monitoring": cost_monitoring.build(report, AlertingSettings()),
    }


def _overlaps(a: dict[str, int], b: dict[str, int]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


@pytest.mark.parametrize("uid", ["investment-platform", "cost-monitoring"])
def test_dashboard_is_loadable_as_grafana_expects(uid: str, boards) -> None:
    data = boards[uid]
    assert data["uid"] == uid
    assert "id" not in data
    assert "version" not in data
    assert data["schemaVersion"] == 41
    all_panels = list(panels(data))
    ids = [p["id"] for p in all_panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert all(isinstance(i, int) and i > 0 for i in ids)
    for panel in all_panels:
        pos = panel["gridPos"]
        assert set(pos) == {"h", "w", "x", "y"}, panel["title"]
        assert pos["x"] >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": PROMETHEUS_UID}
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == PROMETHEUS_UID
            assert target["expr"].strip()
    for i, a in enumerate(all_panels):
        for b in all_panels[i + 1 :]:
            assert not _overlaps(a["gridPos"], b["gridPos"]), (a["title"], b["title"])


@pytest.mark.parametrize("uid", ["investment-platform", "cost-monitoring"])
def test_dashboard_round_trips_through_the_sdk_models(uid: str, boards) -> None:
    data = boards[uid]
    model = Dashboard.from_json(data)
    assert json.loads(json.dumps(model, cls=JSONEncoder)) == data


def test_dashboards_are_deterministic(boards) -> None:
    report = stack_cost(stack_config("prod"))
    assert investment_platform.build(CATALOGUE) == boards["investment-platform"]
    assert cost_monitoring.build(report, AlertingSettings()) == boards["cost-monitoring"]


@pytest.mark.promtool
def test_every_dashboard_query_parses_with_promtool(tmp_path: Path, promtool, boards) -> None:
    exprs = [q for board in boards.values() for q in queries(board)]
    # One UP query per service with metrics, 33 fixed operations queries (5 of them the backup
    # row's), 15 cost queries, 4 right-sizing queries.
    assert len(exprs) == len([s for s in CATALOGUE if s.metrics]) + 33 + 15 + 4
    rules = {
        "groups": [
            {
                "name": "dashboard-queries",
                "rules": [
                    {"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    write_files(tmp_path, {"queries.yml": yaml.safe_dump(rules)})
    result = promtool("check", "rules", str(tmp_path / "queries.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in result.stdout


@pytest.mark.promtool
def test_promtool_rejects_a_bad_query(tmp_path: Path, promtool) -> None:
    rules = {"groups": [{"name": "x", "rules": [{"record": "x:y", "expr": "sum by (le (x)"}]}]}
    write_files(tmp_path, {"queries.yml": yaml.safe_dump(rules)})
    assert promtool("check", "rules", str(tmp_path / "queries.yml")).returncode == 1


def test_cost_dashboard_reads_only_recorded_cost_series(boards) -> None:
    recorded = {
        r["record"]
        for g in cost_rule_groups(stack_cost(stack_config("prod")))["groups"]
        for r in g["rules"]
    }
    used = {
        name for q in queries(boards["cost-monitoring"]) for name in re.findall(r"platform:\w+", q)
    }
    assert used
    assert used <= recorded


def test_right_sizing_row_shows_what_rightsize_reads(boards) -> None:
    board = boards["cost-monitoring"]
    rows = [p["title"] for p in panels(board) if p["type"] == "row"]
    assert rows == ["Budget", "Per service", "Right-sizing"]
    after = list(panels(board))
    start = next(i for i, p in enumerate(after) if p["title"] == "Right-sizing")
    row = after[start + 1 :]
    assert [p["title"] for p in row] == [
        "Memory p99 of limit (7d)",
        "Memory peak of limit (7d)",
        "CPU p95 of limit (7d)",
        "CPU throttled (7d)",
    ]
    q = usage_queries("7d")
    assert [p["targets"][0]["expr"] for p in row] == [
        f"sort_desc({q['memory_p99']} / on (service) {MEMORY_LIMIT})",
        f"sort_desc({q['memory_peak']} / on (service) {MEMORY_LIMIT})",
        f"sort_desc({q['cpu_p95']} / on (service) {CPU_LIMIT})",
        f"sort_desc({q['throttled']})",
    ]
    assert all(p["fieldConfig"]["defaults"]["unit"] == "percentunit" for p in row)
    assert row[0]["fieldConfig"]["defaults"]["thresholds"]["steps"][0] == {
        "value": None,
        "color": "blue",
    }
    # The other bar gauges keep Grafana's default colours.
    per_service = next(p for p in after if p["title"] == "Estimated monthly cost per service")
    assert "thresholds" not in per_service["fieldConfig"]["defaults"]


def test_budget_colours_follow_the_alert_thresholds(boards) -> None:
    used = next(p for p in panels(boards["cost-monitoring"]) if p["title"] == "Budget used")
    assert used["fieldConfig"]["defaults"]["thresholds"]["steps"] == [
        {"value": None, "color": "green"},
        {"value": 0.8, "color": "orange"},
        {"value": 1.0, "color": "red"},
    ]


def test_service_row_has_one_panel_per_service_with_metrics(boards) -> None:
    titles = [p["title"] for p in panels(boards["investment-platform"]) if p["type"] == "stat"][:-1]
    assert titles == [s.name for s in CATALOGUE if s.metrics]


def test_a_new_service_gets_a_scrape_job_and_a_panel_without_monitoring_changes() -> None:
    feed = app_spec(
        "market_feed",
        description="Streams quotes",
        metrics=(MetricsEndpoint(job="market-feed", port=9400),),
    )
    catalogue = (*CATALOGUE, feed)
    job = next(j for j in scrape_jobs(catalogue) if j["job_name"] == "market-feed")
    assert job["static_configs"] == [
        {"targets": ["market-feed:9400"], "labels": {"service": "market_feed"}}
    ]
    board = investment_platform.build(catalogue)
    panel = next(p for p in panels(board) if p["title"] == "market_feed")
    assert panel["targets"][0]["expr"] == 'min(up{service="market_feed"})'
    assert panel["description"] == "Streams quotes. Scrape jobs: market-feed."
    assert "market_feed" not in json.dumps(investment_platform.build(CATALOGUE))


def test_no_elasticsearch_anywhere_in_the_dashboards(boards) -> None:
    assert "elasticsearch" not in json.dumps(boards).lower()
