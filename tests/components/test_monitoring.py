"""The Monitoring component under the Pulumi SDK's mocks: both dashboards, every alert rule, the
data source, folder and routing are registered as Grafana resources through the explicit provider,
after the grafana container."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commands.offline import MASK, PlanResult, run_program
from components.monitoring import prometheus_url
from model.catalogue import CATALOGUE
from render.alerts import alert_rules
from tests.support.specs import app_spec

PROGRAM = Path(__file__).with_name("monitoring_program.py")
GRAFANA = "pulumi:providers:grafana"
GRAFANA_PROVIDER = GRAFANA


def _run(alerting: dict[str, object], webhook: str | None = None) -> PlanResult:
    overrides = {"testAlerting": json.dumps(alerting), "testWebhookUrl": webhook}
    result = run_program("prod", program=PROGRAM, overrides=overrides)
    # Keep the platform's containers and the component under test (not any other Grafana objects).
    result.resources = [
        r
        for r in result.resources
        if r.name.startswith("test-monitoring") or not r.type.startswith(("grafana:", GRAFANA))
    ]
    return result


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    return _run(
        {
            "emailAddresses": ["ops@invest.example.com"],
            "smtpHost": "smtp.example.com:587",
            "smtpFrom": "alerts@invest.example.com",
            "budgetWarningRatio": 0.75,
        }
    )


@pytest.fixture(scope="module")
def quiet_plan() -> PlanResult:
    return _run({})


def test_component_has_its_type_token(plan: PlanResult) -> None:
    component = plan.named("test-monitoring")
    assert component.type == "investment:platform:Monitoring"


def test_provider_uses_the_admin_password_as_a_secret(plan: PlanResult) -> None:
    provider = plan.named("test-monitoring-grafana")
    assert provider.type == GRAFANA_PROVIDER
    assert provider.inputs == {"url": "https://invest.example.com/grafana", "auth": MASK}
    assert provider.secret_paths == ["auth"]


def test_every_grafana_resource_is_a_child_using_the_provider_after_grafana_and_nginx(
    plan: PlanResult,
) -> None:
    component = plan.named("test-monitoring")
    provider = plan.named("test-monitoring-grafana")
    grafana_container = plan.named("investment-grafana-container")
    nginx_container = plan.named("investment-nginx-container")
    resources = [r for r in plan.resources if r.type.startswith("grafana:")]
    assert len(resources) == 2 + 2 + 6 + 2
    for r in resources:
        assert r.parent == component.urn, r.name
        assert r.provider.startswith(provider.urn), r.name
        assert grafana_container.urn in r.dependencies, r.name
        assert nginx_container.urn in r.dependencies, r.name
    assert {grafana_container.urn, nginx_container.urn} <= set(provider.dependencies)


def test_both_dashboards_are_provisioned_with_stable_uids(plan: PlanResult) -> None:
    dashboards = plan.of_type("grafana:oss/dashboard:Dashboard")
    configs = {json.loads(d.inputs["configJson"])["uid"]: d for d in dashboards}
    assert set(configs) == {"investment-platform", "cost-monitoring"}
    for d in dashboards:
        data = json.loads(d.inputs["configJson"])
        assert "id" not in data
        assert "version" not in data
        assert d.inputs["folder"] == "platform"
        assert d.inputs["overwrite"] is True
    used = json.loads(configs["cost-monitoring"].inputs["configJson"])
    budget_used = next(p for p in used["panels"] if p.get("title") == "Budget used")
    assert budget_used["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"] == 0.75


def test_every_alert_rule_is_provisioned(plan: PlanResult) -> None:
    groups = plan.of_type("grafana:alerting/ruleGroup:RuleGroup")
    assert sorted(g.inputs["name"] for g in groups) == [
        "platform-application",
        "platform-availability",
        "platform-backup",
        "platform-containers",
        "platform-cost",
        "platform-database",
    ]
    rules = {r["name"]: r for g in groups for r in g.inputs["rules"]}
    assert set(rules) == {r.name for r in alert_rules()}
    for g in groups:
        assert g.inputs["folderUid"] == "platform"
        assert g.inputs["intervalSeconds"] == 60
    near = rules["CostNearBudget"]
    assert json.loads(near["datas"][2]["model"])["conditions"][0]["evaluator"] == {
        "params": [0.75],
        "type": "gt",
    }
    for rule in rules.values():
        assert rule["condition"] == "C"
        assert [d["refId"] for d in rule["datas"]] == ["A", "B", "C"]
        assert rule["datas"][0]["relativeTimeRange"] == {"from": 600.0, "to": 0.0}
        for stage in rule["datas"]:
            model = json.loads(stage["model"])
            assert model["intervalMs"] == 1000
            assert model["maxDataPoints"] == 43200
        assert rule["annotations"]["runbook_url"].startswith("docs/MONITORING.md#")


def test_data_source_points_at_prometheus_on_the_internal_network(plan: PlanResult) -> None:
    (source,) = plan.of_type("grafana:oss/dataSource:DataSource")
    assert source.inputs["uid"] == "prometheus"
    assert source.inputs["url"] == "http://prometheus:9090"
    assert source.inputs["type"] == "prometheus"
    assert json.loads(source.inputs["jsonDataEncoded"]) == {
        "httpMethod": "POST",
        "timeInterval": "30s",
    }


def test_contact_point_and_policy_come_from_the_settings(plan: PlanResult) -> None:
    (contact,) = plan.of_type("grafana:alerting/contactPoint:ContactPoint")
    assert contact.inputs["name"] == "platform-alerts"
    assert contact.inputs["emails"] == [
        {"addresses": ["ops@invest.example.com"], "singleEmail": True}
    ]
    assert "webhooks" not in contact.inputs
    (policy,) = plan.of_type("grafana:alerting/notificationPolicy:NotificationPolicy")
    assert policy.inputs["contactPoint"] == "platform-alerts"
    assert policy.inputs["repeatInterval"] == "4h"
    assert policy.inputs["policies"][0]["matchers"] == [
        {"label": "severity", "match": "=", "value": "critical"}
    ]


def test_a_secret_webhook_stays_secret_in_the_contact_point() -> None:
    result = _run({}, webhook="https://hooks.example/services/T0K3N")
    (contact,) = result.of_type("grafana:alerting/contactPoint:ContactPoint")
    assert contact.inputs["webhooks"] == MASK
    assert "webhooks" in contact.secret_paths
    assert contact.unmasked_inputs()["webhooks"] == [
        {"url": "https://hooks.example/services/T0K3N"}
    ]
    assert "T0K3N" not in repr([r.inputs for r in result.resources])


def test_without_receivers_no_routing_is_created(quiet_plan: PlanResult) -> None:
    assert quiet_plan.of_type("grafana:alerting/contactPoint:ContactPoint") == []
    assert quiet_plan.of_type("grafana:alerting/notificationPolicy:NotificationPolicy") == []
    assert len(quiet_plan.of_type("grafana:alerting/ruleGroup:RuleGroup")) == 6


def test_prometheus_url_comes_from_the_metrics_store() -> None:
    assert prometheus_url(CATALOGUE) == "http://prometheus:9090"
    with pytest.raises(
        ValueError, match=r"^exactly one service must provide metrics-store \(found: none\)$"
    ):
        prometheus_url([])
    portless = app_spec("metrics", provides=("metrics-store",))
    with pytest.raises(
        ValueError, match=r"^metrics provides the metrics store but serves no port$"
    ):
        prometheus_url([portless])


def test_the_real_program_provisions_both_dashboards_and_every_rule() -> None:
    result = run_program("prod")
    dashboards = {
        json.loads(d.inputs["configJson"])["uid"]
        for d in result.of_type("grafana:oss/dashboard:Dashboard")
    }
    assert dashboards == {"investment-platform", "cost-monitoring"}
    rules = {
        r["name"]
        for g in result.of_type("grafana:alerting/ruleGroup:RuleGroup")
        for r in g.inputs["rules"]
    }
    assert rules == {r.name for r in alert_rules()}
