"""Every policy, passing and failing, through the gRPC-driven pack (as `pulumi preview` runs it)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components.offline import PlanResult, RecordedResource
from components.policy_runner import Violation, run_policy_pack
from components.workflows.app_ci import AppCiSettings, app_ci_workflow
from components.workflows.infra_ci import InfraCiSettings, infra_workflow
from components.workflows.render import render_workflow
from tests.policy.resources import (
    REMOTE_IMAGE,
    VOLUME,
    container,
    cost,
    plan,
    resource,
    secret,
)

DASHBOARD = "grafana:oss/dashboard:Dashboard"
REPOSITORY_FILE = "github:index/repositoryFile:RepositoryFile"
ROLE = "postgresql:index/role:Role"
PROMETHEUS_YML = "/etc/prometheus/prometheus.yml"


def lines(violations: list[Violation]) -> list[str]:
    return [v.line() for v in violations]


def image(name: str, ref: str) -> RecordedResource:
    return resource(REMOTE_IMAGE, f"investment-{name}-image", {"name": ref, "keepLocally": True})


def volume(
    name: str, *, protect: bool, labels: list[dict[str, str]] | None = None
) -> RecordedResource:
    inputs = {"name": name, "driver": "local", **({"labels": labels} if labels else {})}
    return resource(VOLUME, name, inputs, protect=protect)


def ports(*bindings: tuple[str, int, int]) -> list[dict[str, Any]]:
    return [{"ip": ip, "internal": float(i), "external": float(e)} for ip, i, e in bindings]


def prometheus(jobs: list[dict[str, object]]) -> RecordedResource:
    config = yaml.safe_dump({"global": {"scrape_interval": "30s"}, "scrape_configs": jobs})
    return container("prometheus", uploads=[{"file": PROMETHEUS_YML, "content": config}])


def backend_with_metrics() -> RecordedResource:
    return container(
        "backend",
        labels=[
            {"label": "com.investment-platform.service", "value": "backend"},
            {"label": "com.investment-platform.metrics.backend", "value": "8000:/api/metrics"},
        ],
    )


def dashboard(config: dict[str, object]) -> RecordedResource:
    return resource(DASHBOARD, "investment-dashboard", {"configJson": json.dumps(config)})


def workflow(
    content: str, path: str = ".github/workflows/ci.yml", name: str = "app-ci-workflow"
) -> RecordedResource:
    return resource(
        REPOSITORY_FILE,
        name,
        {"repository": "investment-platform", "file": path, "content": content},
    )


APP_CI = render_workflow(app_ci_workflow(AppCiSettings(image_prefix="ghcr.io/acme/investment")))
INFRA_CI = render_workflow(infra_workflow(InfraCiSettings()))
DEPLOY_ON_ANY_EVENT = """
on:
  push:
    branches: [main]
  pull_request:
jobs:
  deploy:
    runs-on: ubuntu-24.04
    steps:
      - run: ./deploy.sh
"""
DEPLOY_ON_ANY_BRANCH = """
on: push
jobs:
  deploy:
    if: github.event_name == 'push'
    runs-on: ubuntu-24.04
    steps:
      - run: ./deploy.sh
"""
DEPLOY_PUSH_MAIN_ONLY = """
on:
  push:
    branches: [main]
jobs:
  deploy:
    runs-on: ubuntu-24.04
    steps:
      - run: ./deploy.sh
"""


def case(planned: PlanResult, config: dict[str, dict[str, Any]] | None = None, *, id: str) -> Any:
    return pytest.param(planned, config, id=id)


PASSING = [
    case(plan(container("redis")), id="container-resource-limits"),
    case(plan(container("redis"), stack="dev"), id="container-health-check"),
    case(plan(container("redis", restart="on-failure")), id="container-restart-policy"),
    case(
        plan(
            image("redis", "redis:7.4.2-alpine"),
            image("cadvisor", "gcr.io/cadvisor/cadvisor:v0.49.1"),
            image("app", "ghcr.io/acme/backend@sha256:" + "a" * 64),
        ),
        id="images-pinned",
    ),
    case(
        plan(container("backend", envs=["SEARCH_BACKEND=postgres", "LOG_LEVEL=info"])),
        id="no-elasticsearch",
    ),
    case(plan(container("cadvisor", privileged=True)), id="privileged-allow-list"),
    case(
        plan(container("nginx", ports=ports(("0.0.0.0", 80, 80), ("0.0.0.0", 443, 443)))),
        id="no-internal-ports-published-prod",
    ),
    case(
        plan(container("postgres", ports=ports(("127.0.0.1", 5432, 5432))), stack="dev"),
        id="no-internal-ports-published-dev",
    ),
    case(
        plan(
            volume("investment-postgres-data", protect=True),
            volume("investment-celery-beat-schedule", protect=False),
            volume(
                "investment-cache",
                protect=False,
                labels=[{"label": "com.investment-platform.data", "value": "false"}],
            ),
        ),
        id="data-volumes-protected",
    ),
    case(
        plan(
            container("postgres", envs=secret(["POSTGRES_USER=postgres", "POSTGRES_PASSWORD=x"])),
            container(
                "exporter",
                envs=[
                    "PG_EXPORTER_WEB_LISTEN=:9187",
                    secret("DATA_SOURCE_NAME=postgresql://monitor:pw@postgres:5432/app"),
                    "POSTGRES_PASSWORD_FILE=/run/secrets/pg",
                ],
            ),
            resource(ROLE, "app-role", {"name": "app", "password": secret("pw")}),
        ),
        id="no-plaintext-secrets",
    ),
    case(
        plan(dashboard({"uid": "cost-monitoring", "title": "Cost", "panels": []})),
        id="grafana-dashboard-stable-uid",
    ),
    case(
        plan(workflow(APP_CI), workflow(INFRA_CI, ".github/workflows/infra.yml", "infra-ci")),
        id="deploy-only-on-main",
    ),
    case(plan(workflow(DEPLOY_PUSH_MAIN_ONLY)), id="deploy-only-on-main-push-trigger"),
    case(plan(outputs={"cost": cost(39.99)}), id="monthly-cost-near-budget"),
    case(
        plan(outputs={"cost": cost(50.0)}),
        {"monthly-cost-near-budget": {"enforcementLevel": "disabled"}},
        id="monthly-cost-within-budget",
    ),
    case(
        plan(
            container("postgres", memory=3584.0),
            container("backend", memory=4096.0),
            outputs={"cost": cost(10.0, memory_mib=8192, reserve_mib=512)},
        ),
        id="memory-fits-host",
    ),
    case(
        plan(
            backend_with_metrics(),
            prometheus(
                [
                    {
                        "job_name": "backend",
                        "metrics_path": "/api/metrics",
                        "static_configs": [{"targets": ["backend:8000"]}],
                    }
                ]
            ),
        ),
        id="metrics-scrape-coverage",
    ),
]


@pytest.mark.parametrize(("planned", "config"), PASSING)
def test_passing_resources_raise_no_violation(planned, config):
    assert lines(run_policy_pack(planned, config=config)) == []


FAILING = [
    pytest.param(
        plan(container("redis", cpus=None, memory=None)),
        [
            "mandatory: container-resource-limits: investment-redis-container: container 'redis' "
            "has no cpus and no memory limit; an unlimited container can starve or OOM the whole "
            "host. Set cpus and memory_mib in its ServiceSpec (components/catalogue.py) or the "
            "stack's services override."
        ],
        id="container-resource-limits",
    ),
    pytest.param(
        plan(
            container("redis", healthcheck=None),
            container("worker", healthcheck={"tests": ["NONE"]}),
        ),
        [
            "mandatory: container-health-check: investment-redis-container: container 'redis' has "
            "no health check, so nothing waits for it to be ready and a hung process stays "
            "'running'. Give its ServiceSpec a HealthCheck whose command exists in the image.",
            "mandatory: container-health-check: investment-worker-container: container 'worker' "
            "has no health check, so nothing waits for it to be ready and a hung process stays "
            "'running'. Give its ServiceSpec a HealthCheck whose command exists in the image.",
        ],
        id="container-health-check",
    ),
    pytest.param(
        plan(container("redis", restart="no")),
        [
            "mandatory: container-restart-policy: investment-redis-container: container 'redis' "
            "has restart policy 'no'; set restart to 'unless-stopped' (the Service component does) "
            "so it survives crashes and reboots."
        ],
        id="container-restart-policy",
    ),
    pytest.param(
        plan(
            image("redis", "redis:latest"),
            image("nginx", "nginx"),
            image("grafana", "grafana/grafana:main"),
            container("frontend", image="ghcr.io/acme/frontend:latest"),
        ),
        [
            "mandatory: images-pinned: investment-redis-image: image 'redis:latest' uses :latest; "
            "pin a version tag (e.g. redis:7.4.2-alpine) or a digest in the catalogue or the "
            "stack's images config, so every deploy runs what was tested.",
            "mandatory: images-pinned: investment-nginx-image: image 'nginx' has no tag, so Docker "
            "pulls :latest; pin a version tag (e.g. redis:7.4.2-alpine) or a digest in the "
            "catalogue or the stack's images config, so every deploy runs what was tested.",
            "mandatory: images-pinned: investment-grafana-image: image 'grafana/grafana:main' uses "
            "the floating tag :main; pin a version tag (e.g. redis:7.4.2-alpine) or a digest in "
            "the catalogue or the stack's images config, so every deploy runs what was tested.",
            "mandatory: images-pinned: investment-frontend-container: image "
            "'ghcr.io/acme/frontend:latest' uses :latest; pin a version tag (e.g. "
            "redis:7.4.2-alpine) or a digest in the catalogue or the stack's images config, so "
            "every deploy runs what was tested.",
        ],
        id="images-pinned",
    ),
    pytest.param(
        plan(
            image("search", "docker.elastic.co/elasticsearch/elasticsearch:8.11.0"),
            container("backend", envs=["ELASTICSEARCH_URL=http://elasticsearch:9200"]),
        ),
        [
            "mandatory: no-elasticsearch: investment-search-image: Elasticsearch is still "
            "referenced: image 'docker.elastic.co/elasticsearch/elasticsearch:8.11.0'. It was "
            "replaced by PostgreSQL full-text search; remove the service, its exporter, its "
            "variables and scrape jobs.",
            "mandatory: no-elasticsearch: investment-backend-container: Elasticsearch is still "
            "referenced: variable ELASTICSEARCH_URL. It was replaced by PostgreSQL full-text "
            "search; remove the service, its exporter, its variables and scrape jobs.",
        ],
        id="no-elasticsearch",
    ),
    pytest.param(
        plan(container("backend", privileged=True)),
        [
            "mandatory: privileged-allow-list: investment-backend-container: container 'backend' "
            "is privileged, which gives it the whole host; only cadvisor may be. Drop privileged "
            "and add the single capability it needs (cap_add) instead."
        ],
        id="privileged-allow-list",
    ),
    pytest.param(
        plan(container("postgres", ports=ports(("127.0.0.1", 5432, 5432)))),
        [
            "mandatory: no-internal-ports-published: investment-postgres-container: container "
            "'postgres' publishes 127.0.0.1:5432->5432 on the host, but in prod no internal port "
            "may be; services talk over the internal network and users come in through nginx. "
            "Remove the port (prod sets publishPorts: false)."
        ],
        id="no-internal-ports-published-prod",
    ),
    pytest.param(
        plan(container("redis", ports=[{"internal": 6379.0, "external": 6379.0}]), stack="dev"),
        [
            "mandatory: no-internal-ports-published: investment-redis-container: container "
            "'redis' publishes 0.0.0.0:6379->6379 on the host, but ports must bind 127.0.0.1; "
            "services talk over the internal network and users come in through nginx. Remove the "
            "port (prod sets publishPorts: false)."
        ],
        id="no-internal-ports-published-dev",
    ),
    pytest.param(
        plan(volume("investment-postgres-data", protect=False)),
        [
            "mandatory: data-volumes-protected: investment-postgres-data: volume "
            "'investment-postgres-data' holds data but is not protected; set protect=True and "
            "retain_on_delete=True on it (the Service component does for data volumes), or label "
            "it com.investment-platform.data=false if it only holds scratch data."
        ],
        id="data-volumes-protected",
    ),
    pytest.param(
        plan(
            container(
                "exporter",
                envs=[
                    "POSTGRES_PASSWORD=hunter2",
                    "DATA_SOURCE_NAME=postgresql://monitor:pw@postgres:5432/app",
                    "LOG_LEVEL=info",
                ],
            ),
            resource(ROLE, "app-role", {"name": "app", "password": "pw"}),
        ),
        [
            "mandatory: no-plaintext-secrets: investment-exporter-container: 'exporter' gets "
            "DATA_SOURCE_NAME, POSTGRES_PASSWORD in plain text, so it lands unencrypted in the "
            "state and the preview. Pass it as a secret: the Service's secret_env (built from "
            "pulumi-random or `pulumi config set --secret`), or pulumi.Output.secret(...).",
            "mandatory: no-plaintext-secrets: app-role: 'app' gets password in plain text, so it "
            "lands unencrypted in the state and the preview. Pass it as a secret: the Service's "
            "secret_env (built from pulumi-random or `pulumi config set --secret`), or "
            "pulumi.Output.secret(...).",
        ],
        id="no-plaintext-secrets",
    ),
    pytest.param(
        plan(dashboard({"id": 3, "version": 7, "title": "Cost", "panels": []})),
        [
            "mandatory: grafana-dashboard-stable-uid: investment-dashboard: dashboard 'Cost': uid "
            "None is not a fixed 1-40 character [a-zA-Z0-9_-] string; it sets id (Grafana assigns "
            "it per instance); it sets version (Grafana increments it; a stale one rejects "
            "updates). Give it a fixed uid and leave id and version out of the generated JSON."
        ],
        id="grafana-dashboard-stable-uid",
    ),
    pytest.param(
        plan(workflow(DEPLOY_ON_ANY_EVENT)),
        [
            "mandatory: deploy-only-on-main: app-ci-workflow: .github/workflows/ci.yml: job "
            "'deploy' runs on pull_request, push without the condition `if: github.event_name == "
            "'push' && github.ref == 'refs/heads/main'`. Add that condition to the deploy job "
            "(components/workflows/app_ci.py ON_MAIN_PUSH)."
        ],
        id="deploy-only-on-main-pull-request",
    ),
    pytest.param(
        plan(workflow(DEPLOY_ON_ANY_BRANCH)),
        [
            "mandatory: deploy-only-on-main: app-ci-workflow: .github/workflows/ci.yml: job "
            "'deploy' runs on push without the condition `if: github.event_name == 'push' && "
            "github.ref == 'refs/heads/main'`. Add that condition to the deploy job "
            "(components/workflows/app_ci.py ON_MAIN_PUSH)."
        ],
        id="deploy-only-on-main-any-branch",
    ),
    pytest.param(
        plan(outputs={"cost": cost(52.53)}),
        [
            "mandatory: monthly-cost-within-budget: stack: billed $52.53/month exceeds the $50.00 "
            "budget by $2.53; choose a smaller hostPlan, lower service limits or drop a fixed cost "
            "(see `python -m components cost`)."
        ],
        id="monthly-cost-within-budget",
    ),
    pytest.param(
        plan(outputs={"cost": {**cost(8.78), "budgetUsd": 5.0}}),
        [
            "mandatory: monthly-cost-within-budget: stack: billed $8.78/month exceeds the $5.00 "
            "budget by $3.78; choose a smaller hostPlan, lower service limits or drop a fixed cost "
            "(see `python -m components cost`)."
        ],
        id="monthly-cost-within-the-stacks-own-lower-budget",
    ),
    pytest.param(
        plan(outputs={}),
        [
            "mandatory: monthly-cost-within-budget: stack: the stack exports no cost.billedUsd, so "
            "the budget cannot be checked; export the CostReport (`pulumi.export('cost', "
            "report.as_output())`).",
            "mandatory: memory-fits-host: stack: the host's memory is unknown; set hostMemoryMib "
            "in this policy's config or export cost.plan.memoryMib from the program.",
        ],
        id="monthly-cost-within-budget-no-cost-output",
    ),
    pytest.param(
        plan(outputs={"cost": cost(40.0)}),
        [
            "advisory: monthly-cost-near-budget: stack: billed $40.00/month is 80% of the $50.00 "
            "budget (warning from 80%); look for limits to trim before the next service pushes it "
            "over."
        ],
        id="monthly-cost-near-budget",
    ),
    pytest.param(
        plan(
            container("postgres", memory=3584.0),
            container("backend", memory=4097.0),
            outputs={"cost": cost(10.0, memory_mib=8192, reserve_mib=512)},
        ),
        [
            "mandatory: memory-fits-host: stack: container memory limits 7681 MiB + OS reserve 512 "
            "MiB = 8193 MiB exceed the host's 8192 MiB; lower limits or choose a larger hostPlan, "
            "or containers will be OOM-killed under load."
        ],
        id="memory-fits-host",
    ),
    pytest.param(
        plan(backend_with_metrics()),
        [
            "mandatory: metrics-scrape-coverage: investment-backend-container: 'backend' exposes "
            "metrics on :8000/api/metrics (label com.investment-platform.metrics.backend) but no "
            "Prometheus config is uploaded at /etc/prometheus/prometheus.yml; upload the generated "
            "prometheus.yml into the prometheus container."
        ],
        id="metrics-scrape-coverage-no-config",
    ),
    pytest.param(
        plan(
            backend_with_metrics(),
            prometheus([{"job_name": "node", "static_configs": [{"targets": ["backend:8000"]}]}]),
        ),
        [
            "mandatory: metrics-scrape-coverage: investment-backend-container: 'backend' exposes "
            "metrics on :8000/api/metrics (label com.investment-platform.metrics.backend) but "
            "prometheus.yml has no scrape job 'backend'; derive the scrape jobs from the "
            "catalogue's metrics endpoints."
        ],
        id="metrics-scrape-coverage-no-job",
    ),
    pytest.param(
        plan(
            backend_with_metrics(),
            prometheus(
                [{"job_name": "backend", "static_configs": [{"targets": ["frontend:8000"]}]}]
            ),
        ),
        [
            "mandatory: metrics-scrape-coverage: investment-backend-container: 'backend' exposes "
            "metrics on :8000/api/metrics (label com.investment-platform.metrics.backend) but "
            "scrape job 'backend' scrapes /metrics; derive the scrape jobs from the catalogue's "
            "metrics endpoints."
        ],
        id="metrics-scrape-coverage-wrong-path",
    ),
    pytest.param(
        plan(
            backend_with_metrics(),
            prometheus(
                [
                    {
                        "job_name": "backend",
                        "metrics_path": "/api/metrics",
                        "static_configs": [{"targets": ["frontend:8000"]}],
                    }
                ]
            ),
        ),
        [
            "mandatory: metrics-scrape-coverage: investment-backend-container: 'backend' exposes "
            "metrics on :8000/api/metrics (label com.investment-platform.metrics.backend) but "
            "scrape job 'backend' has no target <backend|investment-backend>:8000; derive the "
            "scrape jobs from the catalogue's metrics endpoints."
        ],
        id="metrics-scrape-coverage-wrong-target",
    ),
]


@pytest.mark.parametrize(("planned", "expected"), FAILING)
def test_failing_resources_raise_one_violation_each(planned, expected):
    assert lines(run_policy_pack(planned)) == expected
