"""Every policy, passing and failing, through the gRPC-driven pack (as `pulumi preview` runs it).

`PLANTED` puts each violation class of issue #11 item 8 (and the one-shot job rules of #10) into
resources that are otherwise valid, and asserts the mandatory verdict and its exact message.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from commands.offline import PlanResult, RecordedResource
from commands.policy_runner import Violation, run_policy_pack
from model.github import AppCiSettings
from render.workflows.app_ci import app_ci_workflow
from render.workflows.infra_ci import InfraCiSettings, infra_workflow
from render.workflows.render import render_workflow
from tests.policy.resources import (
    VOLUME,
    container,
    cost,
    deployed,
    image,
    job,
    plan,
    resource,
    secret,
)

DASHBOARD = "grafana:oss/dashboard:Dashboard"
REPOSITORY_FILE = "github:index/repositoryFile:RepositoryFile"
ROLE = "postgresql:index/role:Role"
PROMETHEUS_YML = "/etc/prometheus/prometheus.yml"
SERVICE_LABEL = "com.investment-platform.service"

POSTGRES = "postgres:15.13-alpine"
NGINX = "nginx:1.27.4-alpine"
CADVISOR = "gcr.io/cadvisor/cadvisor:v0.49.1"
BACKEND = "ghcr.io/investment-platform/backend:1.8.0"
REDIS = "redis:7.4.2-alpine"
BUSYBOX = "busybox:1.37.0"
AIRFLOW = "apache/airflow:2.10.5-python3.11"
CADVISOR_MOUNTS = [
    {"hostPath": "/", "containerPath": "/rootfs", "readOnly": True},
    {"hostPath": "/var/run", "containerPath": "/var/run", "readOnly": True},
    {"hostPath": "/sys", "containerPath": "/sys", "readOnly": True},
    {"hostPath": "/var/lib/docker", "containerPath": "/var/lib/docker", "readOnly": True},
]
POSTGRES_CAPS = {"drops": ["ALL"], "adds": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"]}
NGINX_CAPS = {"drops": ["ALL"], "adds": ["NET_BIND_SERVICE", "SETUID", "SETGID", "CHOWN"]}


def lines(violations: list[Violation]) -> list[str]:
    return [v.line() for v in violations]


def volume(
    name: str, *, protect: bool, labels: list[dict[str, str]] | None = None, **inputs: Any
) -> RecordedResource:
    props = {"name": name, "driver": "local", **({"labels": labels} if labels else {}), **inputs}
    return resource(VOLUME, name, props, protect=protect)


def mount(volume_name: str, path: str, *, read_only: bool = False) -> dict[str, Any]:
    return {
        "volumeName": volume_name,
        "containerPath": path,
        **({"readOnly": True} if read_only else {}),
    }


def ports(*bindings: tuple[str, int, int]) -> list[dict[str, Any]]:
    return [{"ip": ip, "internal": float(i), "external": float(e)} for ip, i, e in bindings]


def prometheus_yml(jobs: list[dict[str, object]]) -> str:
    return yaml.safe_dump({"global": {"scrape_interval": "30s"}, "scrape_configs": jobs})


def prometheus(jobs: list[dict[str, object]]) -> RecordedResource:
    return container(
        "prometheus", uploads=[{"file": PROMETHEUS_YML, "content": prometheus_yml(jobs)}]
    )


BACKEND_JOB: dict[str, object] = {
    "job_name": "backend",
    "metrics_path": "/api/metrics",
    "static_configs": [{"targets": ["backend:8000"]}],
}


def backend_with_metrics() -> RecordedResource:
    return container(
        "backend",
        labels=[
            {"label": SERVICE_LABEL, "value": "backend"},
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


def provider(package: str, name: str, inputs: dict[str, Any]) -> RecordedResource:
    return resource(f"pulumi:providers:{package}", name, inputs)


def relabelled(service: str, ref: str, *, as_service: str, **overrides: Any) -> tuple[Any, ...]:
    """A service's image and a container running it that claims another service's label."""
    pulled, made = deployed(
        service, ref, labels=[{"label": SERVICE_LABEL, "value": as_service}], **overrides
    )
    return pulled, made


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
    case(plan(*job("airflow", "migrate", AIRFLOW, cpus="0.5", memory=512.0)), id="job-limits"),
    case(plan(container("redis"), stack="dev"), id="container-health-check"),
    case(plan(*job("airflow", "migrate", AIRFLOW)), id="container-health-check-not-for-jobs"),
    case(plan(container("redis", restart="on-failure")), id="container-restart-policy"),
    case(plan(*job("nginx", "config", BUSYBOX, restart=None)), id="job-restart-default-no"),
    case(
        plan(
            container("redis", securityOpts=["no-new-privileges"]),
            container("backend", securityOpts=["seccomp=default", "no-new-privileges=true"]),
        ),
        id="no-new-privileges",
    ),
    case(
        plan(
            *job("nginx", "config", BUSYBOX, networkMode="none"),
            container("redis", networkMode="bridge", pidMode="private"),
        ),
        id="no-host-namespaces",
    ),
    case(
        plan(
            *job(
                "nginx",
                "config",
                BUSYBOX,
                readOnly=False,
                uploads=[{"file": "/staging/nginx.conf", "content": "events {}"}],
            ),
            container("nginx", readOnly=True),
        ),
        id="uploads-need-writable-root",
    ),
    case(
        plan(
            image("redis", "redis:7.4.2-alpine"),
            image("cadvisor", CADVISOR),
            image("app", "ghcr.io/acme/backend@sha256:" + "a" * 64),
            image("registry", "localhost:5000/team/app:1.2"),
            container("backend", image="sha256:" + "b" * 64),
        ),
        id="images-pinned",
    ),
    case(
        plan(
            container(
                "backend",
                envs=["SEARCH_BACKEND=postgres", "LOG_LEVEL=info"],
                command=["echo", "search moved from OpenSearch to PostgreSQL"],
            )
        ),
        id="no-elasticsearch",
    ),
    case(
        plan(*deployed("cadvisor", CADVISOR, privileged=True, capabilities=None)),
        id="privileged-allow-list",
    ),
    case(
        plan(
            *deployed("postgres", POSTGRES, capabilities=POSTGRES_CAPS),
            *deployed("nginx", NGINX, capabilities={"drops": ["all"], "adds": ["cap_chown"]}),
            *job("airflow", "migrate", AIRFLOW),
        ),
        id="capabilities-allow-list",
    ),
    case(
        plan(
            *deployed(
                "cadvisor", CADVISOR, privileged=True, capabilities=None, volumes=CADVISOR_MOUNTS
            ),
            *deployed(
                "backup",
                POSTGRES,
                volumes=[{"hostPath": "/srv/investment-backups", "containerPath": "/offhost"}],
            ),
            volume(
                "investment-scratch", protect=False, driverOpts={"o": "bind", "device": "/srv/x"}
            ),
        ),
        id="no-sensitive-host-mounts",
    ),
    case(
        plan(*deployed("nginx", NGINX, ports=ports(("0.0.0.0", 80, 80), ("0.0.0.0", 443, 443)))),
        id="no-internal-ports-published-prod",
    ),
    case(
        plan(
            *deployed("postgres", POSTGRES, stack="dev", ports=ports(("127.0.0.1", 5432, 5432))),
            stack="dev",
        ),
        id="no-internal-ports-published-dev",
    ),
    case(
        plan(
            *deployed("redis", REDIS, stack="dev-alice", ports=ports(("127.0.0.1", 6379, 6379))),
            stack="dev-alice",
        ),
        id="no-internal-ports-published-dev-prefix",
    ),
    case(
        plan(
            volume("investment-postgres-data", protect=True),
            *deployed("postgres", POSTGRES, volumes=[mount("investment-postgres-data", "/data")]),
            volume("investment-celery-beat-schedule", protect=False),
            *deployed(
                "celery_beat",
                BACKEND,
                volumes=[mount("investment-celery-beat-schedule", "/var/lib/celery")],
            ),
            volume("investment-nginx-config", protect=False),
            *deployed(
                "nginx",
                NGINX,
                capabilities=NGINX_CAPS,
                volumes=[mount("investment-nginx-config", "/etc/nginx/generated", read_only=True)],
            ),
            *job("nginx", "config", BUSYBOX, volumes=[mount("investment-nginx-config", "/config")]),
            volume("investment-unused", protect=False),
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
            container(
                "redis",
                command=["sh", "-c", 'exec redis-server --requirepass "$REDIS_PASSWORD"'],
            ),
            container(
                "db-tool",
                command=["psql", "-p", "5432", "--password-file=/run/pw", "--password"],
                entrypoints=["tool", "--token", secret("t0k3n")],
            ),
            resource(ROLE, "app-role", {"name": "app", "password": secret("pw")}),
            provider(
                "postgresql",
                "investment-database-provider",
                {"host": "127.0.0.1", "username": "postgres", "password": secret("pw")},
            ),
            provider(
                "grafana",
                "investment-monitoring-grafana",
                {"url": "https://invest.example.com/grafana", "auth": secret("admin:pw")},
            ),
            provider(
                "docker",
                "investment-docker",
                {
                    "host": "ssh://deploy@vps.example",
                    "registryAuth": secret(json.dumps([{"address": "ghcr.io", "password": "t"}])),
                },
            ),
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
            *job("airflow", "migrate", AIRFLOW, memory=4096.0),
            outputs={"cost": cost(10.0, memory_mib=8192, reserve_mib=512)},
        ),
        id="memory-fits-host-without-jobs",
    ),
    case(
        plan(backend_with_metrics(), prometheus([BACKEND_JOB])),
        id="metrics-scrape-coverage",
    ),
    case(
        plan(
            backend_with_metrics(),
            *job(
                "prometheus",
                "config",
                BUSYBOX,
                uploads=[
                    {"file": "/staging/prometheus.yml", "content": prometheus_yml([BACKEND_JOB])}
                ],
            ),
        ),
        id="metrics-scrape-coverage-config-writer",
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
            "host. Set cpus and memory_mib in its ServiceSpec (model/catalogue.py) or the "
            "stack's services override.",
        ],
        id="container-resource-limits",
    ),
    pytest.param(
        plan(*job("airflow", "migrate", AIRFLOW, cpus=None)),
        [
            "mandatory: container-resource-limits: investment-airflow-migrate: container "
            "'airflow' has no cpus limit; an unlimited container can starve or OOM the whole "
            "host. Set cpus and memory_mib in its ServiceSpec (model/catalogue.py) or the "
            "stack's services override.",
        ],
        id="container-resource-limits-job",
    ),
    pytest.param(
        plan(
            container("redis", healthcheck=None),
            container("worker", healthcheck={"tests": ["NONE"]}),
            container("attached", attach=True, restart="no", healthcheck=None),
        ),
        [
            "mandatory: container-health-check: investment-redis-container: container 'redis' has "
            "no health check, so nothing waits for it to be ready and a hung process stays "
            "'running'. Give its ServiceSpec a HealthCheck whose command exists in the image.",
            "mandatory: container-health-check: investment-worker-container: container 'worker' "
            "has no health check, so nothing waits for it to be ready and a hung process stays "
            "'running'. Give its ServiceSpec a HealthCheck whose command exists in the image.",
            "mandatory: container-health-check: investment-attached-container: container "
            "'attached' has no health check, so nothing waits for it to be ready and a hung "
            "process stays 'running'. Give its ServiceSpec a HealthCheck whose command exists in "
            "the image.",
        ],
        id="container-health-check",
    ),
    pytest.param(
        plan(container("redis", restart="no")),
        [
            "mandatory: container-restart-policy: investment-redis-container: container 'redis' "
            "has restart policy 'no'; set restart to 'unless-stopped' (the Service component "
            "does) so it survives crashes and reboots.",
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
            "mandatory: images-pinned: investment-nginx-image: image 'nginx' has no tag, so "
            "Docker pulls :latest; pin a version tag (e.g. redis:7.4.2-alpine) or a digest in the "
            "catalogue or the stack's images config, so every deploy runs what was tested.",
            "mandatory: images-pinned: investment-grafana-image: image 'grafana/grafana:main' "
            "uses the floating tag :main; pin a version tag (e.g. redis:7.4.2-alpine) or a digest "
            "in the catalogue or the stack's images config, so every deploy runs what was tested.",
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
            "mandatory: no-elasticsearch: investment-search-image: Elasticsearch (or a fork such "
            "as OpenSearch) is still referenced: image "
            "'docker.elastic.co/elasticsearch/elasticsearch:8.11.0'. It was replaced by "
            "PostgreSQL full-text search; remove the service, its exporter, its variables and "
            "scrape jobs.",
            "mandatory: no-elasticsearch: investment-backend-container: Elasticsearch (or a fork "
            "such as OpenSearch) is still referenced: variable ELASTICSEARCH_URL. It was replaced "
            "by PostgreSQL full-text search; remove the service, its exporter, its variables and "
            "scrape jobs.",
        ],
        id="no-elasticsearch",
    ),
    pytest.param(
        plan(container("backend", privileged=True, capabilities=None)),
        [
            "mandatory: privileged-allow-list: investment-backend-container: container 'backend' "
            "runs an unidentified image privileged, which gives it the whole host; only cadvisor "
            "running gcr.io/cadvisor/cadvisor may. Drop privileged and add the single capability "
            "it needs (cap_add in its ServiceSpec, model/catalogue.py) instead.",
        ],
        id="privileged-allow-list",
    ),
    pytest.param(
        plan(*deployed("postgres", POSTGRES, ports=ports(("127.0.0.1", 5432, 5432)))),
        [
            "mandatory: no-internal-ports-published: investment-postgres-container: container "
            "'postgres' running docker.io/library/postgres publishes 127.0.0.1:5432->5432 on the "
            "host, but stack 'prod' is prod (every stack but dev and dev-* is), where no internal "
            "port may be; services talk over the internal network and users come in through nginx "
            "running docker.io/library/nginx. Remove the port (prod sets publishPorts: false).",
        ],
        id="no-internal-ports-published-prod",
    ),
    pytest.param(
        plan(
            *deployed(
                "redis", REDIS, stack="dev", ports=[{"internal": 6379.0, "external": 6379.0}]
            ),
            stack="dev",
        ),
        [
            "mandatory: no-internal-ports-published: investment-redis-container: container "
            "'redis' running docker.io/library/redis publishes 0.0.0.0:6379->6379 on the host, "
            "but ports must bind 127.0.0.1; services talk over the internal network and users "
            "come in through nginx running docker.io/library/nginx. Remove the port (prod sets "
            "publishPorts: false).",
        ],
        id="no-internal-ports-published-dev",
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
            "updates). Give it a fixed uid and leave id and version out of the generated JSON.",
        ],
        id="grafana-dashboard-stable-uid",
    ),
    pytest.param(
        plan(workflow(DEPLOY_ON_ANY_EVENT)),
        [
            "mandatory: deploy-only-on-main: app-ci-workflow: .github/workflows/ci.yml: job "
            "'deploy' runs on pull_request, push without the condition `if: github.event_name == "
            "'push' && github.ref == 'refs/heads/main'`. Add that condition to the deploy job "
            "(render/workflows/app_ci.py ON_MAIN_PUSH).",
        ],
        id="deploy-only-on-main-pull-request",
    ),
    pytest.param(
        plan(workflow(DEPLOY_ON_ANY_BRANCH)),
        [
            "mandatory: deploy-only-on-main: app-ci-workflow: .github/workflows/ci.yml: job "
            "'deploy' runs on push without the condition `if: github.event_name == 'push' && "
            "github.ref == 'refs/heads/main'`. Add that condition to the deploy job "
            "(render/workflows/app_ci.py ON_MAIN_PUSH).",
        ],
        id="deploy-only-on-main-any-branch",
    ),
    pytest.param(
        plan(outputs={"cost": cost(52.53)}),
        [
            "mandatory: monthly-cost-within-budget: stack: billed $52.53/month exceeds the $50.00 "
            "budget by $2.53; choose a smaller hostPlan, lower service limits or drop a fixed "
            "cost (see `python -m commands cost`).",
        ],
        id="monthly-cost-within-budget",
    ),
    pytest.param(
        plan(outputs={"cost": {**cost(8.78), "budgetUsd": 5.0}}),
        [
            "mandatory: monthly-cost-within-budget: stack: billed $8.78/month exceeds the $5.00 "
            "budget by $3.78; choose a smaller hostPlan, lower service limits or drop a fixed "
            "cost (see `python -m commands cost`).",
        ],
        id="monthly-cost-within-the-stacks-own-lower-budget",
    ),
    pytest.param(
        plan(outputs={}),
        [
            "mandatory: monthly-cost-within-budget: stack: the stack exports no cost.billedUsd, "
            "so the budget cannot be checked; export the CostReport (`pulumi.export('cost', "
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
            "over.",
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
            "mandatory: memory-fits-host: stack: container memory limits 7681 MiB + OS reserve "
            "512 MiB = 8193 MiB exceed the host's 8192 MiB; lower limits or choose a larger "
            "hostPlan, or containers will be OOM-killed under load.",
        ],
        id="memory-fits-host",
    ),
    pytest.param(
        plan(backend_with_metrics()),
        [
            "mandatory: metrics-scrape-coverage: investment-backend-container: 'backend' exposes "
            "metrics on :8000/api/metrics (label com.investment-platform.metrics.backend) but no "
            "container uploads a Prometheus config at /etc/prometheus/prometheus.yml or "
            "/staging/prometheus.yml; upload the generated prometheus.yml (the prometheus "
            "service's config writer receives it at /staging/prometheus.yml).",
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
            "catalogue's metrics endpoints.",
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
            "metrics endpoints.",
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
            "scrape jobs from the catalogue's metrics endpoints.",
        ],
        id="metrics-scrape-coverage-wrong-target",
    ),
]


@pytest.mark.parametrize(("planned", "expected"), FAILING)
def test_failing_resources_raise_one_violation_each(planned, expected):
    assert lines(run_policy_pack(planned)) == expected


PLANTED = [
    pytest.param(
        plan(*deployed("backend", BACKEND, networkMode="host")),
        None,
        [
            "mandatory: no-host-namespaces: investment-backend-container: container 'backend' "
            "shares the host's network namespace (networkMode: host), which takes away Docker's "
            "isolation from the host's network, processes and memory; remove networkMode so it "
            "gets namespaces of its own and talks over the internal network (networks_advanced, "
            "components/service.py).",
        ],
        id="host-network-mode",
    ),
    pytest.param(
        plan(*deployed("backend", BACKEND, pidMode="host", ipcMode="host")),
        None,
        [
            "mandatory: no-host-namespaces: investment-backend-container: container 'backend' "
            "shares the host's process and IPC namespaces (pidMode: host, ipcMode: host), which "
            "takes away Docker's isolation from the host's network, processes and memory; remove "
            "pidMode and ipcMode so it gets namespaces of its own and talks over the internal "
            "network (networks_advanced, components/service.py).",
        ],
        id="host-pid-and-ipc-mode",
    ),
    pytest.param(
        plan(
            *deployed(
                "backend",
                BACKEND,
                volumes=[
                    {"hostPath": "/var/run/docker.sock", "containerPath": "/var/run/docker.sock"}
                ],
            )
        ),
        None,
        [
            "mandatory: no-sensitive-host-mounts: investment-backend-container: container "
            "'backend' running ghcr.io/investment-platform/backend mounts the host's "
            "/var/run/docker.sock at /var/run/docker.sock read-write; the Docker socket and the "
            "host's root, system and home directories give a container the host. Mount a "
            "directory of its own instead (for the backup job's off-host copy, set "
            "backup.offhostDir in Pulumi.<stack>.yaml to one, e.g. /srv/investment-backups); a "
            "path this policy's allow-list grants a service and image may only be mounted "
            "read-only (HostMount in model/catalogue.py).",
        ],
        id="docker-socket-bind",
    ),
    pytest.param(
        plan(
            *deployed(
                "backend",
                BACKEND,
                mounts=[
                    {
                        "type": "bind",
                        "source": "/run/docker.sock",
                        "target": "/docker.sock",
                        "readOnly": True,
                    }
                ],
            )
        ),
        None,
        [
            "mandatory: no-sensitive-host-mounts: investment-backend-container: container "
            "'backend' running ghcr.io/investment-platform/backend mounts the host's "
            "/run/docker.sock at /docker.sock read-only; the Docker socket and the host's root, "
            "system and home directories give a container the host. Mount a directory of its own "
            "instead (for the backup job's off-host copy, set backup.offhostDir in "
            "Pulumi.<stack>.yaml to one, e.g. /srv/investment-backups); a path this policy's "
            "allow-list grants a service and image may only be mounted read-only (HostMount in "
            "model/catalogue.py).",
        ],
        id="docker-socket-mount",
    ),
    pytest.param(
        plan(
            *deployed(
                "backend",
                BACKEND,
                volumes=[
                    {"hostPath": "/etc", "containerPath": "/host-etc", "readOnly": True},
                    {"hostPath": "/home/deploy/.ssh", "containerPath": "/ssh"},
                    {"hostPath": "/var//lib/docker/../docker/volumes", "containerPath": "/v"},
                    {"hostPath": "/var", "containerPath": "/var-host", "readOnly": True},
                ],
            )
        ),
        None,
        [
            "mandatory: no-sensitive-host-mounts: investment-backend-container: container "
            "'backend' running ghcr.io/investment-platform/backend mounts the host's /etc at "
            "/host-etc read-only, /home/deploy/.ssh at /ssh read-write, /var/lib/docker/volumes "
            "at /v read-write, /var at /var-host read-only; the Docker socket and the host's "
            "root, system and home directories give a container the host. Mount a directory of "
            "its own instead (for the backup job's off-host copy, set backup.offhostDir in "
            "Pulumi.<stack>.yaml to one, e.g. /srv/investment-backups); a path this policy's "
            "allow-list grants a service and image may only be mounted read-only (HostMount in "
            "model/catalogue.py).",
        ],
        id="system-and-home-paths",
    ),
    pytest.param(
        plan(
            *deployed(
                "backup", POSTGRES, volumes=[{"hostPath": "/etc", "containerPath": "/offhost"}]
            )
        ),
        None,
        [
            "mandatory: no-sensitive-host-mounts: investment-backup-container: container 'backup' "
            "running docker.io/library/postgres mounts the host's /etc at /offhost read-write; "
            "the Docker socket and the host's root, system and home directories give a container "
            "the host. Mount a directory of its own instead (for the backup job's off-host copy, "
            "set backup.offhostDir in Pulumi.<stack>.yaml to one, e.g. /srv/investment-backups); "
            "a path this policy's allow-list grants a service and image may only be mounted "
            "read-only (HostMount in model/catalogue.py).",
        ],
        id="backup-offhost-dir",
    ),
    pytest.param(
        plan(
            *deployed(
                "cadvisor",
                CADVISOR,
                privileged=True,
                capabilities=None,
                volumes=[*CADVISOR_MOUNTS[1:], {"hostPath": "/", "containerPath": "/rootfs"}],
            )
        ),
        None,
        [
            "mandatory: no-sensitive-host-mounts: investment-cadvisor-container: container "
            "'cadvisor' running gcr.io/cadvisor/cadvisor mounts the host's / at /rootfs "
            "read-write (allowed read-only only); the Docker socket and the host's root, system "
            "and home directories give a container the host. Mount a directory of its own instead "
            "(for the backup job's off-host copy, set backup.offhostDir in Pulumi.<stack>.yaml to "
            "one, e.g. /srv/investment-backups); a path this policy's allow-list grants a service "
            "and image may only be mounted read-only (HostMount in model/catalogue.py).",
        ],
        id="cadvisor-mount-read-write",
    ),
    pytest.param(
        plan(*relabelled("backend", BACKEND, as_service="cadvisor", volumes=CADVISOR_MOUNTS[1:2])),
        None,
        [
            "mandatory: no-sensitive-host-mounts: investment-backend-container: container "
            "'cadvisor' running ghcr.io/investment-platform/backend mounts the host's /var/run at "
            "/var/run read-only; the Docker socket and the host's root, system and home "
            "directories give a container the host. Mount a directory of its own instead (for the "
            "backup job's off-host copy, set backup.offhostDir in Pulumi.<stack>.yaml to one, "
            "e.g. /srv/investment-backups); a path this policy's allow-list grants a service and "
            "image may only be mounted read-only (HostMount in model/catalogue.py).",
        ],
        id="cadvisor-label-on-another-image",
    ),
    pytest.param(
        plan(
            volume(
                "investment-sock",
                protect=True,
                driverOpts={"type": "none", "o": "bind", "device": "/var/run"},
            )
        ),
        None,
        [
            "mandatory: no-sensitive-host-mounts: investment-sock: volume 'investment-sock' binds "
            "the host's /var/run (driver_opts o=bind), so every container that mounts it gets "
            "that host path; the Docker socket and the host's root, system and home directories "
            "give a container the host. Mount a directory of its own instead (for the backup "
            "job's off-host copy, set backup.offhostDir in Pulumi.<stack>.yaml to one, e.g. "
            "/srv/investment-backups); a path this policy's allow-list grants a service and image "
            "may only be mounted read-only (HostMount in model/catalogue.py).",
        ],
        id="volume-binding-a-host-path",
    ),
    pytest.param(
        plan(
            *deployed(
                "backend",
                BACKEND,
                devices=[
                    {"hostPath": "/dev/sda", "containerPath": "/dev/sda", "permissions": "rwm"}
                ],
            )
        ),
        None,
        [
            "mandatory: no-sensitive-host-mounts: investment-backend-container: container "
            "'backend' running ghcr.io/investment-platform/backend mounts the host's /dev/sda at "
            "/dev/sda read-write; the Docker socket and the host's root, system and home "
            "directories give a container the host. Mount a directory of its own instead (for the "
            "backup job's off-host copy, set backup.offhostDir in Pulumi.<stack>.yaml to one, "
            "e.g. /srv/investment-backups); a path this policy's allow-list grants a service and "
            "image may only be mounted read-only (HostMount in model/catalogue.py).",
        ],
        id="device",
    ),
    pytest.param(
        plan(
            *deployed(
                "backend",
                BACKEND,
                capabilities={"drops": ["ALL"], "adds": ["SYS_ADMIN", "CAP_NET_ADMIN"]},
            ),
            *deployed(
                "nginx",
                NGINX,
                capabilities={"drops": ["ALL"], "adds": ["NET_BIND_SERVICE", "SYS_PTRACE"]},
            ),
        ),
        None,
        [
            "mandatory: capabilities-allow-list: investment-backend-container: container "
            "'backend' running ghcr.io/investment-platform/backend adds SYS_ADMIN, NET_ADMIN, "
            "which this policy's allow-list does not grant (it has no entry for backend running "
            "ghcr.io/investment-platform/backend). Remove them from cap_add in its ServiceSpec "
            "(model/catalogue.py); SYS_ADMIN, NET_ADMIN or SYS_PTRACE reach into the host.",
            "mandatory: capabilities-allow-list: investment-nginx-container: container 'nginx' "
            "running docker.io/library/nginx adds SYS_PTRACE, which this policy's allow-list does "
            "not grant (its entry grants NET_BIND_SERVICE, SETUID, SETGID, CHOWN). Remove them "
            "from cap_add in its ServiceSpec (model/catalogue.py); SYS_ADMIN, NET_ADMIN or "
            "SYS_PTRACE reach into the host.",
        ],
        id="capability-beyond-the-allow-list",
    ),
    pytest.param(
        plan(
            *deployed("redis", REDIS, capabilities=None),
            *job("airflow", "migrate", AIRFLOW, capabilities={"drops": ["NET_RAW"]}),
        ),
        None,
        [
            "mandatory: capabilities-allow-list: investment-redis-container: container 'redis' "
            "running docker.io/library/redis does not drop ALL capabilities, so it keeps Docker's "
            "default set (CHOWN, DAC_OVERRIDE, FOWNER, NET_RAW, SETUID, SETGID and more). Set "
            "capabilities drops to ['ALL'] (the Service component does, components/service.py) "
            "and add back only what it needs.",
            "mandatory: capabilities-allow-list: investment-airflow-migrate: container 'airflow' "
            "running docker.io/apache/airflow does not drop ALL capabilities, so it keeps "
            "Docker's default set (CHOWN, DAC_OVERRIDE, FOWNER, NET_RAW, SETUID, SETGID and "
            "more). Set capabilities drops to ['ALL'] (the Service component does, "
            "components/service.py) and add back only what it needs.",
        ],
        id="capabilities-not-dropped",
    ),
    pytest.param(
        plan(*relabelled("backend", BACKEND, as_service="postgres", capabilities=POSTGRES_CAPS)),
        None,
        [
            "mandatory: capabilities-allow-list: investment-backend-container: container "
            "'postgres' running ghcr.io/investment-platform/backend adds CHOWN, DAC_OVERRIDE, "
            "FOWNER, SETUID, SETGID, which this policy's allow-list does not grant (it has no "
            "entry for postgres running ghcr.io/investment-platform/backend). Remove them from "
            "cap_add in its ServiceSpec (model/catalogue.py); SYS_ADMIN, NET_ADMIN or "
            "SYS_PTRACE reach into the host.",
        ],
        id="capabilities-label-on-another-image",
    ),
    pytest.param(
        plan(
            container("redis", securityOpts=None),
            container("backend", securityOpts=["no-new-privileges:false"]),
            *job("nginx", "config", BUSYBOX, securityOpts=["seccomp=unconfined"]),
        ),
        None,
        [
            "mandatory: no-new-privileges: investment-redis-container: container 'redis' runs "
            "without no-new-privileges, so a setuid binary in its image can gain privileges its "
            'process never had; add "no-new-privileges:true" to its security_opts (the Service '
            "component sets it on every container, components/service.py).",
            "mandatory: no-new-privileges: investment-backend-container: container 'backend' runs "
            "without no-new-privileges, so a setuid binary in its image can gain privileges its "
            'process never had; add "no-new-privileges:true" to its security_opts (the Service '
            "component sets it on every container, components/service.py).",
            "mandatory: no-new-privileges: investment-nginx-config: container 'nginx' runs "
            "without no-new-privileges, so a setuid binary in its image can gain privileges its "
            'process never had; add "no-new-privileges:true" to its security_opts (the Service '
            "component sets it on every container, components/service.py).",
        ],
        id="no-new-privileges-missing",
    ),
    pytest.param(
        plan(
            volume(
                "investment-postgres-data",
                protect=False,
                labels=[{"label": "com.investment-platform.data", "value": "false"}],
            ),
            *deployed(
                "postgres",
                POSTGRES,
                capabilities=POSTGRES_CAPS,
                volumes=[mount("investment-postgres-data", "/data")],
            ),
        ),
        None,
        [
            "mandatory: data-volumes-protected: investment-postgres-data: volume "
            "'investment-postgres-data' is mounted read-write by postgres at /data but is not "
            "protected, so a replace or `pulumi destroy` deletes its data. Set protect=True and "
            "retain_on_delete=True on it (the Service component does for a Volume with data=True, "
            "model/catalogue.py); a label does not exempt it. Only protect can be checked: "
            "the analyzer protocol does not carry retainOnDelete.",
        ],
        id="data-volume-labelled-scratch",
    ),
    pytest.param(
        plan(
            volume("investment-celery-beat-schedule", protect=False),
            *deployed(
                "postgres",
                POSTGRES,
                capabilities=POSTGRES_CAPS,
                volumes=[mount("investment-celery-beat-schedule", "/var/lib/postgresql/data")],
            ),
        ),
        None,
        [
            "mandatory: data-volumes-protected: investment-celery-beat-schedule: volume "
            "'investment-celery-beat-schedule' is mounted read-write by postgres at "
            "/var/lib/postgresql/data but is not protected, so a replace or `pulumi destroy` "
            "deletes its data. Set protect=True and retain_on_delete=True on it (the Service "
            "component does for a Volume with data=True, model/catalogue.py); a label does "
            "not exempt it. Only protect can be checked: the analyzer protocol does not carry "
            "retainOnDelete.",
        ],
        id="data-volume-named-like-scratch",
    ),
    pytest.param(
        plan(
            *relabelled(
                "backend", BACKEND, as_service="cadvisor", privileged=True, capabilities=None
            )
        ),
        None,
        [
            "mandatory: privileged-allow-list: investment-backend-container: container 'cadvisor' "
            "runs ghcr.io/investment-platform/backend privileged, which gives it the whole host; "
            "only cadvisor running gcr.io/cadvisor/cadvisor may. Drop privileged and add the "
            "single capability it needs (cap_add in its ServiceSpec, model/catalogue.py) "
            "instead.",
        ],
        id="privileged-label-on-another-image",
    ),
    pytest.param(
        plan(*relabelled("redis", REDIS, as_service="nginx", ports=ports(("0.0.0.0", 6379, 6379)))),
        None,
        [
            "mandatory: no-internal-ports-published: investment-redis-container: container "
            "'nginx' running docker.io/library/redis publishes 0.0.0.0:6379->6379 on the host, "
            "but stack 'prod' is prod (every stack but dev and dev-* is), where no internal port "
            "may be; services talk over the internal network and users come in through nginx "
            "running docker.io/library/nginx. Remove the port (prod sets publishPorts: false).",
        ],
        id="public-label-on-another-image",
    ),
    pytest.param(
        plan(
            image("nginx", "nginx@sha256:abc"),
            image("redis", "redis:7.4.2@sha256:" + "A" * 64),
            image("grafana", "grafana/Grafana:11.6.0"),
            container("backend", image="sha256:xyz"),
        ),
        None,
        [
            "mandatory: images-pinned: investment-nginx-image: image 'nginx@sha256:abc' has a "
            "malformed digest: sha256 takes exactly 64 lowercase hex digits; pin a version tag "
            "(e.g. redis:7.4.2-alpine) or a digest in the catalogue or the stack's images config, "
            "so every deploy runs what was tested.",
            "mandatory: images-pinned: investment-redis-image: image "
            "'redis:7.4.2@sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' "
            "has a malformed digest: sha256 takes exactly 64 lowercase hex digits; pin a version "
            "tag (e.g. redis:7.4.2-alpine) or a digest in the catalogue or the stack's images "
            "config, so every deploy runs what was tested.",
            "mandatory: images-pinned: investment-grafana-image: image 'grafana/Grafana:11.6.0' "
            "is not a valid image reference; pin a version tag (e.g. redis:7.4.2-alpine) or a "
            "digest in the catalogue or the stack's images config, so every deploy runs what was "
            "tested.",
            "mandatory: images-pinned: investment-backend-container: image 'sha256:xyz' is a "
            "malformed image ID: sha256 takes exactly 64 lowercase hex digits; pin a version tag "
            "(e.g. redis:7.4.2-alpine) or a digest in the catalogue or the stack's images config, "
            "so every deploy runs what was tested.",
        ],
        id="malformed-digests-and-references",
    ),
    pytest.param(
        plan(
            image("search", "opensearchproject/opensearch:2.11.0"),
            image("search-ui", "opensearchproject/opensearch-dashboards:2.11.0"),
            container(
                "backend",
                envs=[
                    "OPENSEARCH_HOSTS=https://search:9200",
                    "SEARCH_URL=http://opensearch-node1:9200",
                ],
            ),
        ),
        None,
        [
            "mandatory: no-elasticsearch: investment-search-image: Elasticsearch (or a fork such "
            "as OpenSearch) is still referenced: image 'opensearchproject/opensearch:2.11.0'. It "
            "was replaced by PostgreSQL full-text search; remove the service, its exporter, its "
            "variables and scrape jobs.",
            "mandatory: no-elasticsearch: investment-search-ui-image: Elasticsearch (or a fork "
            "such as OpenSearch) is still referenced: image "
            "'opensearchproject/opensearch-dashboards:2.11.0'. It was replaced by PostgreSQL "
            "full-text search; remove the service, its exporter, its variables and scrape jobs.",
            "mandatory: no-elasticsearch: investment-backend-container: Elasticsearch (or a fork "
            "such as OpenSearch) is still referenced: variable OPENSEARCH_HOSTS, reference "
            "'opensearch-node1:9200' in envs[1]. It was replaced by PostgreSQL full-text search; "
            "remove the service, its exporter, its variables and scrape jobs.",
        ],
        id="opensearch",
    ),
    pytest.param(
        plan(
            container("redis", command=["sh", "-c", "redis-server --requirepass xyz"]),
            container(
                "backup",
                command=[
                    "pg_dump",
                    "--password=hunter2",
                    "-p",
                    "secret",
                    "postgresql://app:pw@postgres/app",
                ],
            ),
            container(
                "worker",
                entrypoints=["worker", "--api-key", "k"],
                healthcheck={"tests": ["CMD", "redis-cli", "--pass", "x", "ping"]},
            ),
        ),
        None,
        [
            "mandatory: no-plaintext-secrets: investment-redis-container: 'redis' has a "
            "credential in plain text on its command line (command: --requirepass), so it lands "
            "unencrypted in the state and the preview, and `docker inspect` and `ps` show it. Put "
            "the value in the Service's secret_env and have the command read the variable (e.g. "
            "`sh -c 'exec redis-server --requirepass \"$REDIS_PASSWORD\"'`).",
            "mandatory: no-plaintext-secrets: investment-backup-container: 'backup' has a "
            "credential in plain text on its command line (command: --password, -p, a URL with a "
            "password), so it lands unencrypted in the state and the preview, and `docker "
            "inspect` and `ps` show it. Put the value in the Service's secret_env and have the "
            "command read the variable (e.g. `sh -c 'exec redis-server --requirepass "
            '"$REDIS_PASSWORD"\'`).',
            "mandatory: no-plaintext-secrets: investment-worker-container: 'worker' has a "
            "credential in plain text on its command line (entrypoint: --api-key; health check: "
            "--pass), so it lands unencrypted in the state and the preview, and `docker inspect` "
            "and `ps` show it. Put the value in the Service's secret_env and have the command "
            "read the variable (e.g. `sh -c 'exec redis-server --requirepass "
            '"$REDIS_PASSWORD"\'`).',
        ],
        id="password-on-command-line",
    ),
    pytest.param(
        plan(
            provider(
                "postgresql",
                "investment-database-provider",
                {"host": "127.0.0.1", "username": "postgres", "password": "pw"},
            ),
            provider(
                "grafana",
                "investment-monitoring-grafana",
                {"url": "https://invest.example.com/grafana", "auth": "admin:pw"},
            ),
            provider(
                "docker",
                "investment-docker",
                {
                    "host": "ssh://deploy@vps.example",
                    "registryAuth": json.dumps(
                        [{"address": "ghcr.io", "username": "bot", "password": "t"}]
                    ),
                },
            ),
        ),
        None,
        [
            "mandatory: no-plaintext-secrets: investment-database-provider: provider "
            "'investment-database-provider' (pulumi:providers:postgresql) gets password in plain "
            "text, so it lands unencrypted in the state and the preview. Pass it as a secret: "
            "pulumi.Output.secret(...) or a secret config value in the program, or `pulumi config "
            "set --secret postgresql:<key>` for the default provider.",
            "mandatory: no-plaintext-secrets: investment-monitoring-grafana: provider "
            "'investment-monitoring-grafana' (pulumi:providers:grafana) gets auth in plain text, "
            "so it lands unencrypted in the state and the preview. Pass it as a secret: "
            "pulumi.Output.secret(...) or a secret config value in the program, or `pulumi config "
            "set --secret grafana:<key>` for the default provider.",
            "mandatory: no-plaintext-secrets: investment-docker: provider 'investment-docker' "
            "(pulumi:providers:docker) gets registryAuth[0].password in plain text, so it lands "
            "unencrypted in the state and the preview. Pass it as a secret: "
            "pulumi.Output.secret(...) or a secret config value in the program, or `pulumi config "
            "set --secret docker:<key>` for the default provider.",
        ],
        id="provider-password-in-plain-text",
    ),
    pytest.param(
        plan(
            *deployed("postgres", POSTGRES, ports=ports(("127.0.0.1", 5432, 5432))),
            environment="dev",
        ),
        None,
        [
            "mandatory: no-internal-ports-published: investment-postgres-container: container "
            "'postgres' running docker.io/library/postgres publishes 127.0.0.1:5432->5432 on the "
            "host, but stack 'prod' is prod (every stack but dev and dev-* is), where no internal "
            "port may be; services talk over the internal network and users come in through nginx "
            "running docker.io/library/nginx. Remove the port (prod sets publishPorts: false).",
        ],
        id="prod-stack-file-says-dev",
    ),
    pytest.param(
        plan(*deployed("postgres", POSTGRES, ports=ports(("127.0.0.1", 5432, 5432)))),
        {"no-internal-ports-published": {"environment": "dev"}},
        [
            "mandatory: no-internal-ports-published: investment-postgres-container: container "
            "'postgres' running docker.io/library/postgres publishes 127.0.0.1:5432->5432 on the "
            "host, but stack 'prod' is prod (every stack but dev and dev-* is), where no internal "
            "port may be; services talk over the internal network and users come in through nginx "
            "running docker.io/library/nginx. Remove the port (prod sets publishPorts: false).",
        ],
        id="prod-config-cannot-relax",
    ),
    pytest.param(
        plan(
            *deployed("postgres", POSTGRES, stack="dev", ports=ports(("127.0.0.1", 5432, 5432))),
            stack="dev",
        ),
        {"no-internal-ports-published": {"environment": "prod"}},
        [
            "mandatory: no-internal-ports-published: investment-postgres-container: container "
            "'postgres' running docker.io/library/postgres publishes 127.0.0.1:5432->5432 on the "
            "host, but stack 'dev' is prod (every stack but dev and dev-* is), where no internal "
            "port may be; services talk over the internal network and users come in through nginx "
            "running docker.io/library/nginx. Remove the port (prod sets publishPorts: false).",
        ],
        id="config-forces-prod-on-dev",
    ),
    pytest.param(
        plan(
            *deployed(
                "postgres", POSTGRES, stack="staging", ports=ports(("127.0.0.1", 5432, 5432))
            ),
            stack="staging",
            environment="dev",
        ),
        None,
        [
            "mandatory: no-internal-ports-published: investment-postgres-container: container "
            "'postgres' running docker.io/library/postgres publishes 127.0.0.1:5432->5432 on the "
            "host, but stack 'staging' is prod (every stack but dev and dev-* is), where no "
            "internal port may be; services talk over the internal network and users come in "
            "through nginx running docker.io/library/nginx. Remove the port (prod sets "
            "publishPorts: false).",
        ],
        id="staging-stack-is-prod",
    ),
    pytest.param(
        plan(
            *job("airflow", "migrate", AIRFLOW, restart="always"),
            *job("nginx", "config", BUSYBOX, restart="on-failure"),
        ),
        None,
        [
            "mandatory: container-restart-policy: investment-airflow-migrate: container 'airflow' "
            "is a one-shot job (attach: true) with restart policy 'always', so Docker runs it "
            "again after it exits; set restart to 'no' (the Service component's one-shot jobs do, "
            "components/service.py).",
            "mandatory: container-restart-policy: investment-nginx-config: container 'nginx' is a "
            "one-shot job (attach: true) with restart policy 'on-failure', so Docker runs it "
            "again after it exits; set restart to 'no' (the Service component's one-shot jobs do, "
            "components/service.py).",
        ],
        id="job-that-restarts",
    ),
    pytest.param(
        plan(
            container(
                "prometheus", readOnly=True, uploads=[{"file": PROMETHEUS_YML, "content": "x"}]
            )
        ),
        None,
        [
            "mandatory: uploads-need-writable-root: investment-prometheus-container: container "
            "'prometheus' has 1 upload(s) but a read-only root filesystem; the provider extracts "
            "every upload at / and the Docker daemon refuses that when the root filesystem is "
            "read-only, so `pulumi up` fails. Give the files to a one-shot config writer "
            "(readOnly: false) that copies them into a config volume, and mount that volume "
            "read-only in the service (components/service.py).",
        ],
        id="uploads-into-read-only-root",
    ),
    pytest.param(
        plan(*job("nginx", "config", "busybox:latest")),
        None,
        [
            "mandatory: images-pinned: investment-nginx-config-image: image 'busybox:latest' uses "
            ":latest; pin a version tag (e.g. redis:7.4.2-alpine) or a digest in the catalogue or "
            "the stack's images config, so every deploy runs what was tested.",
        ],
        id="job-unpinned-image",
    ),
]


@pytest.mark.parametrize(("planned", "config", "expected"), PLANTED)
def test_planted_violations_are_mandatory_with_a_fix(planned, config, expected):
    violations = run_policy_pack(planned, config=config)

    assert lines(violations) == expected
    assert all(v.mandatory for v in violations)
