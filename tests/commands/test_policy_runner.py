"""The offline policy runner: the real stacks, a deliberately broken stack, the protocol edges."""

from __future__ import annotations

import ast
import dataclasses
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from commands.offline import PlanResult, RecordedResource, run_program
from commands.policy_runner import (
    PACK_DIR,
    PolicyRunError,
    Violation,
    analyze_requests,
    analyze_stack_request,
    mandatory,
    run_policy_pack,
    stack_urn,
)
from model.catalogue import CATALOGUE
from render.prometheus import render_prometheus_config
from tests.policy.resources import (
    REMOTE_IMAGE,
    container,
    image,
    inputs_of,
    plan,
    resource,
    with_inputs,
)

METRICS_LABEL = "com.investment-platform.metrics."


@pytest.fixture(scope="module")
def prod() -> PlanResult:
    return run_program("prod")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_real_stacks_pass_every_policy(stack):
    violations = run_policy_pack(run_program(stack))

    assert [v.line() for v in violations] == []
    assert mandatory(violations) == []


MANAGED_HOST = {
    "dockerHost": None,
    "host": {
        "mode": "hetzner",
        "location": "fsn1",
        "adminNetworks": ["198.51.100.0/24"],
        "sshKeys": [
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPtiOFLvacenBdggwQOU1kK+1u7gtmyhZqZg8l/NIKA"
        ],
        "backups": True,
    },
}


def test_a_real_managed_host_stack_passes_every_policy_and_a_widened_firewall_is_caught():
    managed = run_program("prod", overrides=MANAGED_HOST)
    assert [v.line() for v in run_policy_pack(managed)] == []

    def open_postgres(r: RecordedResource) -> RecordedResource:
        rules = [*r.inputs["rules"], {"direction": "in", "protocol": "tcp", "port": "5432"}]
        return with_inputs(r, {**r.inputs, "rules": rules})

    widened = dataclasses.replace(
        managed,
        resources=[
            open_postgres(r) if r.type == "hcloud:index/firewall:Firewall" else r
            for r in managed.resources
        ],
    )
    assert [v.line() for v in run_policy_pack(widened)] == [
        "mandatory: firewall-admits-only-web-and-admin-ssh: investment-host-firewall: firewall "
        "'investment-host-firewall' admits tcp port 5432 from nowhere; only 80 and 443 (public) "
        "and 22 (admin networks) may be open. Remove the rule (components/host.py "
        "firewall_rules)."
    ]


def test_real_prod_labels_every_metrics_endpoint(prod):
    for spec in CATALOGUE:
        if not spec.metrics:
            continue
        inputs = prod.named(f"investment-{spec.name.replace('_', '-')}-container").inputs
        labels = {entry["label"]: entry["value"] for entry in inputs["labels"]}
        for endpoint in spec.metrics:
            assert labels.get(METRICS_LABEL + endpoint.job) == f"{endpoint.port}:{endpoint.path}"


PROMETHEUS_CONFIG_PATHS = ("/etc/prometheus/prometheus.yml", "/staging/prometheus.yml")
"""Where metrics-scrape-coverage looks for prometheus.yml by default (in any container)."""


def prometheus_config_uploads(result: PlanResult) -> list[tuple[str, str]]:
    """(container, path) of every upload of prometheus.yml at one of the policy's paths."""
    return [
        (r.name, u["file"])
        for r in result.of_type("docker:index/container:Container")
        for u in r.inputs.get("uploads") or []
        if u["file"] in PROMETHEUS_CONFIG_PATHS
    ]


def test_real_prod_uploads_the_prometheus_config_where_the_policy_looks(prod):
    assert len(prometheus_config_uploads(prod)) == 1


def with_prometheus_config(result: PlanResult, prometheus_yml: str) -> PlanResult:
    """`result` with a different prometheus.yml in the container that uploads it."""
    ((name, path),) = prometheus_config_uploads(result)
    uploader = result.named(name)
    inputs = inputs_of(uploader)
    inputs["uploads"] = [
        {**u, "content": prometheus_yml} if u["file"] == path else u for u in inputs["uploads"]
    ]
    return replaced(result, uploader, inputs)


def replaced(result: PlanResult, recorded: RecordedResource, inputs: dict[str, Any]) -> PlanResult:
    """`result` with one resource's inputs replaced."""
    return dataclasses.replace(
        result,
        resources=[with_inputs(r, inputs) if r is recorded else r for r in result.resources],
    )


def test_the_real_stack_gives_every_policy_something_to_check(prod):
    types = {r.type for r in prod.resources}
    labels = [
        entry["label"]
        for r in prod.of_type("docker:index/container:Container")
        for entry in r.inputs["labels"]
    ]

    assert {
        "docker:index/container:Container",
        "docker:index/remoteImage:RemoteImage",
        "docker:index/volume:Volume",
        "grafana:oss/dashboard:Dashboard",
        "github:index/repositoryFile:RepositoryFile",
    } <= types
    assert sum(label.startswith(METRICS_LABEL) for label in labels) == sum(
        len(spec.metrics) for spec in CATALOGUE
    )


def test_a_metrics_endpoint_without_its_scrape_job_is_caught(prod):
    without_redis = [spec for spec in CATALOGUE if spec.name != "redis_exporter"]
    unscraped = with_prometheus_config(prod, render_prometheus_config(without_redis))

    assert [v.line() for v in run_policy_pack(unscraped)] == [
        "mandatory: metrics-scrape-coverage: investment-redis-exporter-container: "
        "'redis_exporter' exposes metrics on :9121/metrics (label "
        "com.investment-platform.metrics.redis) but prometheus.yml has no scrape job 'redis'; "
        "derive the scrape jobs from the catalogue's metrics endpoints."
    ]


def broken_prod() -> PlanResult:
    """Prod with Elasticsearch added, a container without limits, an unpinned image, over budget."""
    result = run_program(
        "prod",
        overrides={
            "fixedCosts": [
                {"name": "search", "monthlyUsd": 45.0, "source": "a hosted Elasticsearch"}
            ]
        },
    )
    redis = result.named("investment-redis-container")
    unlimited = {
        k: v for k, v in inputs_of(redis).items() if k not in ("cpus", "memory", "memorySwap")
    }
    nginx_image = result.named("investment-nginx-image")
    unpinned = {**inputs_of(nginx_image), "name": "nginx:latest"}
    result.resources = [
        with_inputs(redis, unlimited)
        if r is redis
        else with_inputs(nginx_image, unpinned)
        if r is nginx_image
        else r
        for r in result.resources
    ]
    result.resources += [
        resource(
            REMOTE_IMAGE,
            "investment-elasticsearch-image",
            {"name": "docker.elastic.co/elasticsearch/elasticsearch:8.11.0", "keepLocally": True},
        ),
        container("elasticsearch", memory=512.0, cpus="0.5"),
    ]
    return result


def test_broken_stack_gives_one_violation_per_problem():
    violations = run_policy_pack(broken_prod())

    assert [v.line() for v in violations] == [
        "mandatory: images-pinned: investment-nginx-image: image 'nginx:latest' uses :latest; pin "
        "a version tag (e.g. redis:7.4.2-alpine) or a digest in the catalogue or the stack's "
        "images config, so every deploy runs what was tested.",
        "mandatory: container-resource-limits: investment-redis-container: container 'redis' has "
        "no cpus and no memory limit; an unlimited container can starve or OOM the whole host. "
        "Set cpus and memory_mib in its ServiceSpec (model/catalogue.py) or the stack's "
        "services override.",
        "mandatory: no-elasticsearch: investment-elasticsearch-image: Elasticsearch (or a fork "
        "such as OpenSearch) is still referenced: image "
        "'docker.elastic.co/elasticsearch/elasticsearch:8.11.0'. It was replaced by PostgreSQL "
        "full-text search; remove the service, its exporter, its variables and scrape jobs.",
        "mandatory: monthly-cost-within-budget: stack: billed $52.53/month exceeds the $50.00 "
        "budget by $2.53; choose a smaller hostPlan, lower service limits or drop a fixed cost "
        "(see `python -m commands cost`).",
    ]
    assert len(mandatory(violations)) == 4


def test_the_pack_is_self_contained(tmp_path, prod):
    # Under the CLI the pack runs from its own directory and virtualenv: a copy anywhere works.
    pack = shutil.copytree(PACK_DIR, tmp_path / "policy", ignore=shutil.ignore_patterns(".venv"))

    assert run_policy_pack(prod, pack_dir=pack) == []


def test_the_pack_imports_only_what_its_requirements_pin():
    pinned = {"pulumi": "pulumi", "pulumi_policy": "pulumi-policy", "yaml": "PyYAML"}
    own = {path.stem for path in PACK_DIR.iterdir() if path.is_dir() or path.suffix == ".py"}
    imported = set()
    for source in PACK_DIR.rglob("*.py"):
        if ".venv" in source.parts:
            continue
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"__future__"} - own
    requirements = (PACK_DIR / "requirements.txt").read_text()

    assert third_party == {"pulumi_policy", "yaml"}
    for module in third_party:
        assert f"{pinned[module]}==" in requirements


def test_no_pack_module_shadows_the_standard_library():
    # The pack's directory is first on sys.path when the CLI runs it.
    assert {path.stem for path in PACK_DIR.iterdir()} & set(sys.stdlib_module_names) == set()


def test_policy_config_overrides_the_coded_defaults(prod):
    violations = run_policy_pack(
        prod,
        config={
            "monthly-cost-within-budget": {"budgetUsd": 8},
            "privileged-allow-list": {"enforcementLevel": "advisory", "allowed": []},
        },
    )

    assert [(v.policy, v.enforcement_level, v.resource) for v in violations] == [
        ("monthly-cost-within-budget", "mandatory", "stack"),
        ("privileged-allow-list", "advisory", "investment-cadvisor-container"),
    ]


def test_unknown_policy_in_config_is_an_error():
    with pytest.raises(PolicyRunError) as error:
        run_policy_pack(plan(), config={"no-such-policy": {}})

    assert str(error.value).startswith(
        "policy config names unknown policies no-such-policy "
        "(the pack has: capabilities-allow-list, container-health-check, "
    )


def test_invalid_enforcement_level_is_an_error():
    with pytest.raises(PolicyRunError) as error:
        run_policy_pack(plan(), config={"images-pinned": {"enforcementLevel": "strict"}})

    assert str(error.value) == (
        "policy config for 'images-pinned': enforcementLevel 'strict' is not one of advisory, "
        "mandatory, disabled, remediate"
    )


def write_pack(tmp_path: Path, main: str) -> Path:
    (tmp_path / "__main__.py").write_text(textwrap.dedent(main))
    return tmp_path


def test_a_pack_that_fails_to_start_is_reported_with_its_error(tmp_path):
    pack = write_pack(tmp_path, "raise RuntimeError('policy module is broken')\n")

    with pytest.raises(PolicyRunError) as error:
        run_policy_pack(plan(), pack_dir=pack)

    assert str(error.value).startswith("the policy pack exited with code 1 before serving:\n")
    assert "RuntimeError: policy module is broken" in str(error.value)


def test_a_pack_that_prints_no_port_is_reported(tmp_path):
    pack = write_pack(tmp_path, "print('hello')\nimport time\ntime.sleep(30)\n")

    with pytest.raises(PolicyRunError) as error:
        run_policy_pack(plan(), pack_dir=pack)

    assert str(error.value) == "the policy pack printed b'hello\\n' instead of its port"


def test_a_silent_pack_times_out(tmp_path):
    pack = write_pack(tmp_path, "import time\ntime.sleep(30)\n")

    with pytest.raises(PolicyRunError) as error:
        run_policy_pack(plan(), pack_dir=pack, timeout_s=1)

    assert str(error.value) == "the policy pack printed no port within 1s"


def test_analyze_requests_carry_options_provider_and_secrets(prod):
    requests = {r.name: r for r in analyze_requests(prod)}

    stack = requests["investment-platform-prod"]
    assert (stack.type, stack.urn) == ("pulumi:pulumi:Stack", stack_urn(prod))
    volume = requests["investment-postgres-data"]
    assert volume.options.protect is True
    assert volume.provider.type == "pulumi:providers:docker"
    assert volume.options.parent == prod.named("investment-postgres").urn
    envs = json_format.MessageToDict(requests["investment-postgres-container"].properties)["envs"]
    assert envs[:3] == ["PGDATA=/data/pgdata", "POSTGRES_DB=postgres", "POSTGRES_USER=postgres"]
    assert envs[3]["4dabf18193072939515e22adb298388d"] == "1b47061264138c4ac30d75fd1eb44270"
    assert envs[3]["value"].startswith("POSTGRES_PASSWORD=")


def test_real_secret_env_sent_in_plain_text_is_caught(prod):
    postgres = prod.named("investment-postgres-container")
    inputs = inputs_of(postgres)
    inputs["envs"] = [e["value"] if isinstance(e, dict) else e for e in inputs["envs"]]
    prod_plain = dataclasses.replace(
        prod, resources=[with_inputs(r, inputs) if r is postgres else r for r in prod.resources]
    )

    assert [v.line() for v in run_policy_pack(prod_plain)] == [
        "mandatory: no-plaintext-secrets: investment-postgres-container: 'postgres' gets "
        "POSTGRES_PASSWORD in plain text, so it lands unencrypted in the state and the preview. "
        "Pass it as a secret: the Service's secret_env (built from pulumi-random or `pulumi "
        "config set --secret`), or pulumi.Output.secret(...)."
    ]


def test_analyze_stack_request_holds_the_stack_outputs(prod):
    request = analyze_stack_request(prod)

    stack = request.resources[0]
    assert stack.type == "pulumi:pulumi:Stack"
    assert json_format.MessageToDict(stack.properties)["cost"]["billedUsd"] == 8.78
    assert len(request.resources) == len(prod.resources) + 1


def test_violation_line_names_level_policy_resource_and_message():
    violation = Violation(
        policy="images-pinned",
        enforcement_level="mandatory",
        message="image 'redis' has no tag,\nso Docker pulls :latest",
        description="Images are pinned.",
        urn="urn:pulumi:prod::investment-platform::docker:index/remoteImage:RemoteImage::redis-image",
    )
    stack_wide = violation.model_copy(update={"urn": "", "enforcement_level": "advisory"})

    assert violation.line() == (
        "mandatory: images-pinned: redis-image: image 'redis' has no tag, so Docker pulls :latest"
    )
    assert (stack_wide.resource, stack_wide.mandatory) == ("stack", False)
    assert violation.model_dump()["resource"] == "redis-image"


def test_real_offhost_backups_pass_and_a_sensitive_offhost_mount_is_caught():
    with_copy = run_program("prod", overrides={"backup": {"offhostDir": "/mnt/backups"}})
    backup = with_copy.named("investment-backup-container")
    inputs = inputs_of(backup)
    inputs["volumes"] = [
        {**v, "hostPath": "/var/run"} if v.get("hostPath") == "/mnt/backups" else v
        for v in inputs["volumes"]
    ]

    assert run_policy_pack(with_copy) == []
    assert [v.line() for v in run_policy_pack(replaced(with_copy, backup, inputs))] == [
        "mandatory: no-sensitive-host-mounts: investment-backup-container: container 'backup' "
        "running docker.io/library/postgres mounts the host's /var/run at /offhost read-write; the "
        "Docker socket and the host's root, system and home directories give a container the "
        "host. Mount a directory of its own instead (for the backup job's off-host copy, set "
        "backup.offhostDir in Pulumi.<stack>.yaml to one, e.g. /srv/investment-backups); a path "
        "this policy's allow-list grants a service and image may only be mounted read-only "
        "(HostMount in model/catalogue.py)."
    ]


def test_real_prod_rules_follow_the_stack_name_not_the_stack_config(prod):
    postgres = prod.named("investment-postgres-container")
    inputs = {
        **inputs_of(postgres),
        "ports": [{"internal": 5432, "external": 5432, "ip": "127.0.0.1"}],
    }
    says_dev = dataclasses.replace(
        replaced(prod, postgres, inputs),
        config={**prod.config, "investment-platform:environment": "dev"},
    )

    assert [v.line() for v in run_policy_pack(says_dev)] == [
        "mandatory: no-internal-ports-published: investment-postgres-container: container "
        "'postgres' running docker.io/library/postgres publishes 127.0.0.1:5432->5432 on the "
        "host, but stack 'prod' is prod (every stack but dev and dev-* is), where no internal "
        "port may be; services talk over the internal network and users come in through nginx "
        "running docker.io/library/nginx. Remove the port (prod sets publishPorts: false)."
    ]


def test_real_prod_service_label_alone_grants_no_privilege(prod):
    backend = prod.named("investment-backend-container")
    inputs = inputs_of(backend)
    inputs["privileged"] = True
    inputs["labels"] = [
        {**entry, "value": "cadvisor"}
        if entry["label"] == "com.investment-platform.service"
        else entry
        for entry in inputs["labels"]
    ]

    assert [v.line() for v in run_policy_pack(replaced(prod, backend, inputs))] == [
        "mandatory: privileged-allow-list: investment-backend-container: container 'cadvisor' "
        "runs ghcr.io/investment-platform/backend privileged, which gives it the whole host; only "
        "cadvisor running gcr.io/cadvisor/cadvisor may. Drop privileged and add the single "
        "capability it needs (cap_add in its ServiceSpec, model/catalogue.py) instead."
    ]


def test_real_provider_password_sent_in_plain_text_is_caught(prod):
    provider = prod.named("investment-database-provider")
    inputs = inputs_of(provider)
    inputs["password"] = inputs["password"]["value"]

    assert [v.line() for v in run_policy_pack(replaced(prod, provider, inputs))] == [
        "mandatory: no-plaintext-secrets: investment-database-provider: provider "
        "'investment-database-provider' (pulumi:providers:postgresql) gets password in plain "
        "text, so it lands unencrypted in the state and the preview. Pass it as a secret: "
        "pulumi.Output.secret(...) or a secret config value in the program, or `pulumi config "
        "set --secret postgresql:<key>` for the default provider."
    ]


def test_property_dependencies_reach_the_pack_and_decide_the_image():
    cadvisor_image = image("cadvisor", "gcr.io/cadvisor/cadvisor:v0.49.1")
    network = resource("docker:index/network:Network", "investment-network", {"name": "internal"})
    # A literal image ID beside a depends_on on the cadvisor image: the plain dependencies cannot
    # tell that from running it, the property dependencies can.
    literal = container("cadvisor", privileged=True, dependencies=[cadvisor_image.urn, network.urn])
    recorded = dataclasses.replace(
        literal, property_dependencies={"networksAdvanced": [network.urn], "image": []}
    )

    request = analyze_stack_request(plan(cadvisor_image, network, recorded))

    assert {k: list(v.urns) for k, v in request.resources[-1].propertyDependencies.items()} == {
        "networksAdvanced": [network.urn]
    }
    assert run_policy_pack(plan(cadvisor_image, network, literal)) == []
    assert [v.line() for v in run_policy_pack(plan(cadvisor_image, network, recorded))] == [
        "mandatory: privileged-allow-list: investment-cadvisor-container: container 'cadvisor' "
        "runs an unidentified image privileged, which gives it the whole host; only cadvisor "
        "running gcr.io/cadvisor/cadvisor may. Drop privileged and add the single capability it "
        "needs (cap_add in its ServiceSpec, model/catalogue.py) instead."
    ]
