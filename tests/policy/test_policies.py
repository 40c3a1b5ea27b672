"""The validators called directly with a stub args object (gRPC-driven tests: test_pack.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy import policy as sdk_policy
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policy import policies
from policy.policies import SecretStr

SIG = "4dabf18193072939515e22adb298388d"
SECRET = "1b47061264138c4ac30d75fd1eb44270"


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def args(
    type_: str, props: dict[str, Any], *, config: dict[str, Any] | None = None, protect=False
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        type_,
        unknown_checking_proxy(props),
        f"urn:pulumi:prod::p::{type_}::r",
        "r",
        options(protect),
        None,
        config,
    )


def stack_args(*resources: tuple[str, dict[str, Any]], config=None) -> StackValidationArgs:
    return StackValidationArgs(
        [
            PolicyResource(
                t, unknown_checking_proxy(p), f"urn:{i}", f"r{i}", options(), None, None, [], {}
            )
            for i, (t, p) in enumerate(resources)
        ],
        config,
    )


def run(validator, validation_args) -> list[str]:
    reported: list[str] = []
    validator(validation_args, lambda message, urn=None: reported.append(message))
    return reported


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("redis:7.4.2-alpine", None),
        ("gcr.io/cadvisor/cadvisor:v0.49.1", None),
        ("localhost:5000/team/app:1.2", None),
        ("ghcr.io/acme/app@sha256:" + "0" * 64, None),
        ("sha256:" + "1" * 64, None),
        ("redis:latest", "'redis:latest' uses :latest"),
        ("redis", "'redis' has no tag, so Docker pulls :latest"),
        (
            "localhost:5000/team/app",
            "'localhost:5000/team/app' has no tag, so Docker pulls :latest",
        ),
        ("redis:alpine", "'redis:alpine' uses the floating tag :alpine"),
    ],
)
def test_image_problem(ref, problem):
    assert policies.image_problem(ref) == problem


@pytest.mark.parametrize(
    ("entry", "name"),
    [
        ("POSTGRES_PASSWORD=x", "POSTGRES_PASSWORD"),
        ("GF_SECURITY_ADMIN_PASSWORD=x", "GF_SECURITY_ADMIN_PASSWORD"),
        ("AIRFLOW__CORE__FERNET_KEY=x", "AIRFLOW__CORE__FERNET_KEY"),
        ("APP_SECRET_KEY=x", "APP_SECRET_KEY"),
        ("GITHUB_TOKEN=x", "GITHUB_TOKEN"),
        ("REDIS_URL=redis://:pw@redis:6379/0", "REDIS_URL"),
        ("DATA_SOURCE_NAME=postgresql://u:pw@postgres:5432/db", "DATA_SOURCE_NAME"),
        ("POSTGRES_PASSWORD_FILE=/run/secrets/pg", None),
        ("POSTGRES_PASSWORD=", None),
        ("REDIS_URL=redis://redis:6379/0", None),
        ("POSTGRES_USER=postgres", None),
    ],
)
def test_sensitive_env(entry, name):
    assert policies.sensitive_env(entry) == name


def test_mark_secrets_keeps_every_string_inside_a_secret_marked():
    props = {
        "envs": ["A=1", {SIG: SECRET, "value": "B_PASSWORD=x"}],
        "uploads": {SIG: SECRET, "value": [{"file": "/f", "content": "c", "executable": True}]},
        "memory": {SIG: SECRET, "value": 128.0},
    }

    marked = policies.mark_secrets(props)

    assert marked == {
        "envs": ["A=1", "B_PASSWORD=x"],
        "uploads": [{"file": "/f", "content": "c", "executable": True}],
        "memory": 128.0,
    }
    assert [type(e) for e in marked["envs"]] == [str, SecretStr]
    assert type(marked["uploads"][0]["content"]) is SecretStr
    assert repr(marked["envs"][1]) == "SecretStr('[secret]')"


def test_mark_secrets_leaves_remediation_to_the_sdk():
    props = {"password": {SIG: SECRET, "value": "x"}}

    assert policies.mark_secrets(props, True)["password"] == "x"


def test_install_secret_marking_replaces_the_servicers_deserializer(monkeypatch):
    original = getattr(sdk_policy, "deserialize_properties")  # noqa: B009 - not re-exported
    monkeypatch.setattr(sdk_policy, "deserialize_properties", original)

    policies.install_secret_marking()

    assert getattr(sdk_policy, "deserialize_properties") is policies.mark_secrets  # noqa: B009


def test_install_secret_marking_refuses_an_sdk_without_the_hook(monkeypatch):
    monkeypatch.delattr(sdk_policy, "deserialize_properties")

    with pytest.raises(RuntimeError) as error:
        policies.install_secret_marking()

    assert str(error.value) == (
        "pulumi_policy.policy.deserialize_properties is gone; pin pulumi-policy==1.21.0 or "
        "port install_secret_marking to this version"
    )


def test_unknown_values_are_not_violations():
    props = {"cpus": UNKNOWN_STRING_VALUE, "memory": UNKNOWN_NUMBER_VALUE, "restart": "no"}

    assert policies.lookup(unknown_checking_proxy(props), "memory") is policies.UNKNOWN
    assert run(policies.validate_container_limits, args(policies.CONTAINER, props)) == []


def test_plain_secret_detection_on_a_container():
    props = {"envs": ["POSTGRES_USER=u", "POSTGRES_PASSWORD=x", SecretStr("REDIS_PASSWORD=y")]}

    assert run(policies.validate_no_plaintext_secrets, args(policies.CONTAINER, props)) == [
        "'r' gets POSTGRES_PASSWORD in plain text, so it lands unencrypted in the state and the "
        "preview. Pass it as a secret: the Service's secret_env (built from pulumi-random or "
        "`pulumi config set --secret`), or pulumi.Output.secret(...)."
    ]


def test_elasticsearch_references_in_generated_config_are_found():
    config = (
        "scrape_configs:\n- job_name: es\n  static_configs:\n"
        "  - targets: [elasticsearch-exporter:9114]\n"
    )
    props = {"uploads": [{"file": "/etc/prometheus/prometheus.yml", "content": config}]}
    prose = {"uploads": [{"file": "/docs.sql", "content": "-- replaces Elasticsearch: search"}]}

    assert run(policies.validate_no_elasticsearch, args(policies.CONTAINER, props)) == [
        "Elasticsearch is still referenced: reference 'elasticsearch-exporter:9114' in "
        "uploads[0].content. It was replaced by PostgreSQL full-text search; remove the service, "
        "its exporter, its variables and scrape jobs."
    ]
    assert run(policies.validate_no_elasticsearch, args(policies.CONTAINER, prose)) == []


def test_configured_settings_overlay_the_coded_defaults():
    validation = args(policies.CONTAINER, {}, config={"allowedServices": ["x"], "other": None})

    assert policies.config(validation, "privileged-allow-list") == {"allowedServices": ["x"]}
    assert policies.config(args(policies.CONTAINER, {}), "deploy-only-on-main") == {
        "deployJobs": "deploy*",
        "branch": "main",
    }


def test_environment_prefers_the_policy_setting_then_stack_config_then_stack_name(monkeypatch):
    monkeypatch.setenv("PULUMI_PROJECT", "investment-platform")
    monkeypatch.setenv("PULUMI_STACK", "staging")
    monkeypatch.setenv("PULUMI_CONFIG", '{"investment-platform:environment": "dev"}')

    assert policies.environment("prod") == "prod"
    assert policies.environment(None) == "dev"
    monkeypatch.setenv("PULUMI_CONFIG", "{}")
    assert policies.environment(None) == "staging"


@pytest.mark.parametrize(
    ("condition", "problems"),
    [
        ("${{ github.event_name == 'push' && github.ref == 'refs/heads/main' }}", []),
        ('github.ref == "refs/heads/main" && github.event_name == "push"', []),
        (
            "github.event_name == 'push' && github.ref == 'refs/heads/main' || always()",
            [
                "job 'deploy' runs on pull_request, push without the condition "
                "`if: github.event_name == 'push' && github.ref == 'refs/heads/main'`"
            ],
        ),
    ],
)
def test_deploy_condition(condition, problems):
    content = f"on: [push, pull_request]\njobs:\n  deploy:\n    if: {condition}\n    steps: []\n"

    assert policies.deploy_job_problems(content, "deploy*", "main") == problems


def test_deploy_job_problems_reports_invalid_yaml():
    (problem,) = policies.deploy_job_problems("on: [push\n", "deploy*", "main")

    assert problem.startswith("the workflow is not valid YAML: ")


def test_data_volume_protection_reads_the_resource_option():
    props = {"name": "investment-postgres-data"}

    assert (
        run(policies.validate_data_volumes_protected, args(policies.VOLUME, props, protect=True))
        == []
    )
    assert len(run(policies.validate_data_volumes_protected, args(policies.VOLUME, props))) == 1


def test_memory_fits_host_uses_the_policy_setting_before_the_cost_output():
    stack = (
        policies.STACK,
        {"cost": {"plan": {"memoryMib": 8192}, "capacity": {"osReserveMib": 0}}},
    )
    container = (policies.CONTAINER, {"memory": 1024.0})

    assert run(policies.validate_memory_fits_host, stack_args(stack, container)) == []
    assert run(
        policies.validate_memory_fits_host,
        stack_args(stack, container, config={"hostMemoryMib": 1024, "osReserveMib": 256}),
    ) == [
        "container memory limits 1024 MiB + OS reserve 256 MiB = 1280 MiB exceed the host's "
        "1024 MiB; lower limits or choose a larger hostPlan, or containers will be OOM-killed "
        "under load."
    ]


def test_every_policy_is_named_described_and_leveled():
    built = policies.build_policies()

    names = [p.name for p in built]
    assert len(set(names)) == len(names) == 15
    for policy in built:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", policy.name), policy.name
        assert policy.description.endswith("."), policy.name
        assert ". " not in policy.description, policy.name
        assert isinstance(policy.enforcement_level, EnforcementLevel), policy.name
    assert set(policies.DEFAULTS) <= set(names)
    assert [p.name for p in built if p.enforcement_level != EnforcementLevel.MANDATORY] == [
        "monthly-cost-near-budget"
    ]


def test_an_unparsable_prometheus_config_is_a_violation():
    prometheus = (
        policies.CONTAINER,
        {"uploads": [{"file": "/etc/prometheus/prometheus.yml", "content": "scrape_configs: ["}]},
    )

    (message,) = run(policies.validate_scrape_coverage, stack_args(prometheus))

    assert message.startswith(
        "the Prometheus config at /etc/prometheus/prometheus.yml is not valid YAML: "
    )
