"""Stack config validation: every invalid value stops the program with a message naming the key."""

import json

import pytest

from model.config import (
    ConfigError,
    check_image_pinned,
    environment_of,
    load_config,
    resolve_specs,
)

IMAGES = json.dumps({"backend": "ghcr.io/acme/backend:1.2.3", "frontend": "ghcr.io/acme/fe:1.2.3"})


def raw(**extra):
    base = {"hostPlan": "local", "images": IMAGES}
    base.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()})
    return base


def test_minimal_dev_config_loads_with_catalogue_defaults():
    config = load_config("dev", raw())
    assert config.environment == "dev"
    assert not config.tunnel_enabled
    assert config.budget_usd == 50.0
    specs = {s.name: s for s in resolve_specs(config)}
    assert (specs["postgres"].cpus, specs["postgres"].memory_mib) == (0.75, 384)
    assert specs["backend"].image == "ghcr.io/acme/backend:1.2.3"
    assert specs["celery_worker"].image == "ghcr.io/acme/backend:1.2.3"
    assert specs["frontend"].image == "ghcr.io/acme/fe:1.2.3"


def test_override_lowers_a_limit():
    config = load_config("dev", raw(services={"backend": {"cpus": 0.25, "memoryMib": 300}}))
    backend = next(s for s in resolve_specs(config) if s.name == "backend")
    assert (backend.cpus, backend.memory_mib) == (0.25, 300)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"services": {"backend": {"cpus": -1}}},
            "Pulumi.dev.yaml: investment-platform:services.backend.cpus: "
            "Input should be greater than 0 (got -1)",
        ),
        (
            {"services": {"backend": {"cpus": "lots"}}},
            "Pulumi.dev.yaml: investment-platform:services.backend.cpus: Input should be a valid "
            "number, unable to parse string as a number (got 'lots')",
        ),
        (
            {"services": {"postgres": {"memoryMib": 128}}},
            "Pulumi.dev.yaml: investment-platform:services.postgres.memoryMib: 128 MiB is below "
            "the floor of 256 MiB for postgres",
        ),
        (
            {"services": {"backend": {"memoryMib": 1024}}},
            "Pulumi.dev.yaml: investment-platform:services.backend.memoryMib: 1024 MiB exceeds "
            "the production limit 512 MiB; stacks may lower limits, never raise them",
        ),
        (
            {"services": {"elasticsearch": {"cpus": 1}}},
            "Pulumi.dev.yaml: investment-platform:services: unknown service 'elasticsearch'; "
            "known services: airflow, backend, backup, cadvisor, celery_beat, celery_exporter, "
            "celery_worker, certbot, frontend, grafana, nginx, nginx_exporter, offsite, postgres, "
            "postgres_exporter, prometheus, redis, redis_exporter, statsd_exporter",
        ),
        (
            {"images": {"backend": "ghcr.io/acme/backend:latest", "frontend": "fe:1.0.0"}},
            "Pulumi.dev.yaml: investment-platform:images.backend: image "
            "'ghcr.io/acme/backend:latest' uses :latest: pin a version tag (e.g. :1.2.3) or a "
            "sha256 digest",
        ),
        (
            {"images": {"backend": "ghcr.io/acme/backend", "frontend": "fe:1.0.0"}},
            "Pulumi.dev.yaml: investment-platform:images.backend: image 'ghcr.io/acme/backend' "
            "has no tag, so Docker pulls :latest: pin a version tag (e.g. :1.2.3) or a sha256 "
            "digest",
        ),
        (
            {"hostPlan": "hetzner-cx23"},
            "Pulumi.dev.yaml: investment-platform:services: CPU limits total 4.6 exceed "
            "hetzner-cx23's 2 vCPUs x 1.5 allowed overcommit",
        ),
        (
            {"hostPlan": "hetzner-cx23", "osReserveMib": 1024},
            "Pulumi.dev.yaml: investment-platform:services: memory limits + OS reserve = 4456 MiB "
            "exceed hetzner-cx23 (4096 MiB)",
        ),
        (
            {"hostPlan": "ovh-tiny"},
            "Pulumi.dev.yaml: investment-platform:hostPlan: unknown host plan 'ovh-tiny'; presets: "
            "local, hetzner-cx23, hetzner-cx33, digitalocean-s-2vcpu-4gb, "
            "digitalocean-s-4vcpu-8gb, linode-g6-standard-2, linode-g6-standard-4",
        ),
        (
            {"subnet": "10.0.0.0/28"},
            "Pulumi.dev.yaml: investment-platform:subnet: 10.0.0.0/28 is too small; "
            "use a /26 or larger",
        ),
        (
            {"subnet": "not-a-subnet"},
            "Pulumi.dev.yaml: investment-platform:subnet: Input is not a valid IPv4 network "
            "(got 'not-a-subnet')",
        ),
        (
            {"budgetUsd": 0},
            "Pulumi.dev.yaml: investment-platform:budgetUsd: "
            "Input should be greater than 0 (got 0)",
        ),
        (
            {"colour": "blue"},
            "Pulumi.dev.yaml: investment-platform:colour: unknown key",
        ),
        (
            {"tls": {"mode": "letsencrypt"}},
            "Pulumi.dev.yaml: investment-platform:tls: email is required when mode is letsencrypt",
        ),
        (
            {"adoptVolumes": {"elasticsearch-data": "es_data"}},
            "Pulumi.dev.yaml: investment-platform:adoptVolumes: unknown volume "
            "'elasticsearch-data'; volumes: airflow-logs, backup-data, celery_beat-schedule, "
            "certbot-certs, certbot-webroot, grafana-data, postgres-data, prometheus-data, "
            "redis-data",
        ),
    ],
)
def test_invalid_config_names_the_key(extra, message):
    with pytest.raises(ConfigError) as excinfo:
        load_config("dev", raw(**extra))
    assert str(excinfo.value) == message


def test_missing_required_value():
    values = raw()
    del values["images"]
    with pytest.raises(ConfigError) as excinfo:
        load_config("prod", values)
    assert (
        str(excinfo.value) == "Pulumi.prod.yaml: investment-platform:images: missing required value"
    )


@pytest.mark.parametrize(
    ("stack", "environment"),
    [("dev", "dev"), ("dev-alice", "dev"), ("prod", "prod"), ("staging", "prod"), ("devx", "prod")],
)
def test_the_rules_follow_the_stack_name(stack, environment):
    assert environment_of(stack) == environment


def test_a_stack_file_cannot_choose_its_rules():
    with pytest.raises(ConfigError) as excinfo:
        load_config("prod", raw(environment="dev", publishPorts=True))
    assert str(excinfo.value) == (
        "Pulumi.prod.yaml: investment-platform:environment: a stack's rules follow its name (dev "
        "and dev-* stacks are dev, every other stack is prod), never a value in its file; remove "
        "this key"
    )


def test_prod_must_not_publish_internal_ports():
    values = raw(publishPorts=True, hostPlan="hetzner-cx33", tls={"mode": "none"})
    with pytest.raises(ConfigError) as excinfo:
        load_config("prod", values)
    assert str(excinfo.value) == (
        "Pulumi.prod.yaml: investment-platform:publishPorts: stack 'prod' gets prod rules (only "
        "dev and dev-* stacks are dev), which publish no internal port; only nginx is public"
    )
    # The same file under a dev stack's name is fine.
    assert load_config("dev-alice", values).publish_ports


def test_prod_needs_tls():
    with pytest.raises(ConfigError) as excinfo:
        load_config("staging", raw(hostPlan="hetzner-cx33"))
    assert str(excinfo.value) == (
        "Pulumi.staging.yaml: investment-platform:tls.mode: stack 'staging' gets prod rules (only "
        "dev and dev-* stacks are dev), which need TLS: letsencrypt or provided"
    )


def test_prod_cannot_price_its_host_at_zero():
    values = raw(tls={"mode": "letsencrypt", "email": "ops@example.com"})
    with pytest.raises(ConfigError) as excinfo:
        load_config("prod", values)
    assert str(excinfo.value) == (
        "Pulumi.prod.yaml: investment-platform:hostPlan: 'local' costs nothing, which only a dev "
        "stack's own machine does; stack 'prod' needs a priced plan"
    )


def test_a_plain_text_secret_is_refused_and_never_shown():
    with pytest.raises(ConfigError) as excinfo:
        load_config("dev", raw(redisPassword="hunter2"))
    assert str(excinfo.value) == (
        "Pulumi.dev.yaml: investment-platform:redisPassword: is Redis's password (generated when "
        "unset), a secret, but the stack file holds it in plain text; remove it and run "
        "`pulumi config set --secret redisPassword`"
    )
    # Given as a secret, it is accepted and kept out of the model.
    config = load_config("dev", raw(redisPassword="hunter2"), secret_keys={"redisPassword"})
    assert "hunter2" not in repr(config)


def test_ssh_hosts_open_the_tunnel_by_default():
    config = load_config(
        "prod",
        raw(
            hostPlan="hetzner-cx33",
            dockerHost="ssh://deploy@vps.example.com:2222",
            tls={"mode": "letsencrypt", "email": "ops@example.com"},
            database={"port": 15432},
        ),
    )
    assert config.tunnel_enabled
    assert str(config.postgres_address) == "172.30.0.10"


@pytest.mark.parametrize(
    "image",
    [
        "postgres:15.13-alpine",
        "quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
        "registry.example.com:5000/team/app:2024.11.3",
        "redis@sha256:" + "a" * 64,
        "redis:7.4.2@sha256:" + "a" * 64,
        "ghcr.io/acme/back__end:1.0.0",
        "localhost:5000/app:1",
        "[::1]:5000/app:1.0",
    ],
)
def test_pinned_images_pass(image):
    assert check_image_pinned(image) == image


PIN = ": pin a version tag (e.g. :1.2.3) or a sha256 digest"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("redis", "image 'redis' has no tag, so Docker pulls :latest" + PIN),
        ("redis:latest", "image 'redis:latest' uses :latest" + PIN),
        ("redis:alpine", "image 'redis:alpine' uses the floating tag :alpine" + PIN),
        ("Redis:7", "image 'Redis:7' is not a valid image reference"),
        (
            "redis@sha256:xyz",
            "image 'redis@sha256:xyz' has a malformed digest: sha256 takes exactly 64 lowercase "
            "hex digits",
        ),
        (
            "a" * 64,
            f"image '{'a' * 64}' is an image ID, which names no repository to pull from",
        ),
    ],
)
def test_unpinned_images_fail(image, message):
    with pytest.raises(ValueError, match=r"^image ") as raised:
        check_image_pinned(image)
    assert str(raised.value) == message


GITHUB = {"repository": "acme/app", "ci": {"imagePrefix": "ghcr.io/acme"}}


@pytest.mark.parametrize(
    ("github", "message"),
    [
        (
            {"repository": "just-a-name"},
            "Pulumi.dev.yaml: investment-platform:github.repository: 'just-a-name' is not in "
            "owner/name form (e.g. acme/investment-platform)",
        ),
        (
            {**GITHUB, "branch": ""},
            "Pulumi.dev.yaml: investment-platform:github.branch: must not be empty",
        ),
        (
            {**GITHUB, "workflows": ["ci", "release"]},
            "Pulumi.dev.yaml: investment-platform:github.workflows: unknown workflow 'release'; "
            "known workflows are ci, dependabot",
        ),
        (
            {"repository": "acme/app", "ci": {"imagePrefix": "ghcr.io/other"}},
            "Pulumi.dev.yaml: investment-platform:images.backend: 'ghcr.io/acme/backend:1.2.3' "
            "is not under github.ci.imagePrefix 'ghcr.io/other/', where the application's CI "
            "pushes its images",
        ),
    ],
)
def test_invalid_github_settings_name_the_key(github, message):
    with pytest.raises(ConfigError) as excinfo:
        load_config("dev", raw(github=github))
    assert str(excinfo.value) == message


def test_github_settings_load():
    config = load_config("dev", raw(github=GITHUB))
    assert config.github is not None
    assert (config.github.owner, config.github.name, config.github.branch) == (
        "acme",
        "app",
        "main",
    )
