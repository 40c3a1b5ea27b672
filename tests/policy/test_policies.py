"""The policies and their helpers called directly with stub args (gRPC-driven tests: test_pack.py).

`CASES` holds, for every policy of the pack, a passing and a failing stub and the exact messages;
`test_every_policy_has_a_direct_case` keeps it complete.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import policy as sdk_policy
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE, UNKNOWN_STRING_VALUE, unknown_checking_proxy

from policy import policies
from policy.policies import SecretStr, containers, core, credentials, host, workloads
from tests.policy.resources import container_inputs

SIG = "4dabf18193072939515e22adb298388d"
SECRET = "1b47061264138c4ac30d75fd1eb44270"
CONTAINER = core.CONTAINER
REMOTE_IMAGE = core.REMOTE_IMAGE
VOLUME = core.VOLUME
POLICIES = {p.name: p for p in policies.build_policies()}


@pytest.fixture(autouse=True)
def prod_stack(monkeypatch):
    """The stack name as the CLI hands it to the pack."""
    monkeypatch.setenv("PULUMI_STACK", "prod")


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


def res(
    type_: str,
    props: dict[str, Any],
    name: str = "r",
    *,
    protect: bool = False,
    dependencies: list[PolicyResource] | None = None,
    property_dependencies: dict[str, list[PolicyResource]] | None = None,
) -> PolicyResource:
    return PolicyResource(
        type_,
        unknown_checking_proxy(props),
        f"urn:pulumi:prod::p::{type_}::{name}",
        name,
        options(protect),
        None,
        None,
        list(dependencies or []),
        dict(property_dependencies or {}),
    )


def stack(*resources: PolicyResource, config: dict[str, Any] | None = None) -> StackValidationArgs:
    return StackValidationArgs(list(resources), config)


def image(ref: str, name: str = "img", **outputs: Any) -> PolicyResource:
    return res(REMOTE_IMAGE, {"name": ref, **outputs}, name)


def deployed(service: str, ref: str, **overrides: Any) -> list[PolicyResource]:
    """An image and a container whose `image` property depends on it (as the engine sends it)."""
    pulled = image(ref, f"{service}-image")
    made = res(
        CONTAINER,
        container_inputs(service, **overrides),
        f"{service}-container",
        property_dependencies={"image": [pulled]},
    )
    return [pulled, made]


def job_props(service: str, **overrides: Any) -> dict[str, Any]:
    return container_inputs(
        service,
        **{"attach": True, "mustRun": False, "restart": "no", "healthcheck": None, **overrides},
    )


def outputs(**values: Any) -> PolicyResource:
    return res(core.STACK, values, "stack")


def run(policy: str, validation_args: ResourceValidationArgs | StackValidationArgs) -> list[str]:
    reported: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        reported.append(message)

    built = POLICIES[policy]
    if isinstance(built, ResourceValidationPolicy):
        assert isinstance(validation_args, ResourceValidationArgs), policy
        built.validate(validation_args, report)
    else:
        assert isinstance(built, StackValidationPolicy), policy
        assert isinstance(validation_args, StackValidationArgs), policy
        built.validate(validation_args, report)
    return reported


def cost(billed: float) -> dict[str, Any]:
    return {
        "billedUsd": billed,
        "budgetUsd": 50.0,
        "plan": {"memoryMib": 8192},
        "capacity": {"osReserveMib": 512},
    }


def inbound(protocol: str, port: str | None, *sources: str) -> dict[str, Any]:
    """An inbound Hetzner firewall rule as the engine sends it."""
    return {"direction": "in", "protocol": protocol, "sourceIps": list(sources)} | (
        {"port": port} if port else {}
    )


WEB_RULES = [inbound("tcp", port, "0.0.0.0/0", "::/0") for port in ("80", "443")]
HOST_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPt"


def pinned(key: str = HOST_PUBLIC_KEY, checking: str = "yes") -> list[str]:
    return [
        "-o",
        f"StrictHostKeyChecking={checking}",
        "-o",
        f"KnownHostsCommand=/bin/echo 203.0.113.10 {key}",
    ]


def managed_host(
    *extra: PolicyResource, docker_opts: list[str] | None = None
) -> list[PolicyResource]:
    """A managed host's server, generated key and Docker provider (provider config JSON-encoded,
    as the engine sends it)."""
    return [
        res("hcloud:index/server:Server", {"serverType": "cx33", "firewallIds": [7]}, "server"),
        res("tls:index/privateKey:PrivateKey", {"publicKeyOpenssh": HOST_PUBLIC_KEY + "\n"}, "key"),
        res(
            "pulumi:providers:docker",
            {"host": "ssh://deploy@203.0.113.10", "sshOpts": json.dumps(docker_opts or pinned())},
            "docker",
        ),
        *extra,
    ]


def priced(server_type: str | None = "cx33", **fixed: float) -> PolicyResource:
    plan = {"memoryMib": 8192, **({"serverType": server_type} if server_type else {})}
    return outputs(cost={**cost(9.0), "plan": plan, "fixed": fixed})


PROMETHEUS_YML = yaml.safe_dump(
    {
        "scrape_configs": [
            {"job_name": "api", "metrics_path": "/m", "static_configs": [{"targets": ["api:80"]}]}
        ]
    }
)
METRICS_LABELS = [
    {"label": core.SERVICE_LABEL, "value": "api"},
    {"label": "com.investment-platform.metrics.api", "value": "80:/m"},
]
UNNAMED_VOLUME = res(VOLUME, {"name": "v"}, "v")
"""A volume whose name a container cannot know yet during a preview."""

CASES = [
    pytest.param(
        "firewall-admits-only-web-and-admin-ssh",
        args(
            "hcloud:index/firewall:Firewall",
            {
                "rules": [
                    *WEB_RULES,
                    inbound("tcp", "22", "198.51.100.0/24"),
                    {
                        "direction": "out",
                        "protocol": "udp",
                        "port": "53",
                        "destinationIps": ["::/0"],
                    },
                ]
            },
        ),
        args(
            "hcloud:index/firewall:Firewall",
            {
                "rules": [
                    *WEB_RULES,
                    inbound("tcp", "22", "198.51.100.0/24", "0.0.0.0/0"),
                    inbound("tcp", "5432", "::/0"),
                    inbound("icmp", None, "0.0.0.0/0"),
                ]
            },
        ),
        [
            "firewall 'r' admits SSH from 0.0.0.0/0, the whole internet; list the admins' "
            "networks in host.adminNetworks instead.",
            "firewall 'r' admits tcp port 5432 from ::/0; only 80 and 443 (public) and 22 (admin "
            "networks) may be open. Remove the rule (components/host.py firewall_rules).",
            "firewall 'r' admits icmp port any from 0.0.0.0/0; only 80 and 443 (public) and 22 "
            "(admin networks) may be open. Remove the rule (components/host.py firewall_rules).",
        ],
        id="firewall-admits-only-web-and-admin-ssh",
    ),
    pytest.param(
        "host-key-pinned",
        stack(
            *managed_host(
                res(
                    "command:local:Command",
                    {"environment": {"INVESTMENT_SSH_OPTIONS": json.dumps(pinned())}},
                    "bootstrap",
                )
            )
        ),
        stack(
            *managed_host(
                res(
                    "command:local:Command",
                    {"environment": {"INVESTMENT_SSH_OPTIONS": json.dumps(pinned(checking="no"))}},
                    "bootstrap",
                ),
                docker_opts=pinned(key="ssh-ed25519 AAAAother"),
            )
        ),
        [
            "'docker' reaches its host over SSH with the pinned key is not the host key the "
            "program generated: a man in the middle would get the Docker socket. Pass the managed "
            "host's ssh_options (model/host.py pinned_host_key_options).",
            "'bootstrap' reaches its host over SSH with StrictHostKeyChecking=no; no "
            "StrictHostKeyChecking=yes: a man in the middle would get the Docker socket. Pass the "
            "managed host's ssh_options (model/host.py pinned_host_key_options).",
        ],
        id="host-key-pinned",
    ),
    pytest.param(
        "server-is-the-priced-plan",
        stack(priced("cx33"), *managed_host()),
        stack(
            priced("cx23"),
            res(
                "hcloud:index/server:Server",
                {"serverType": "cx33", "firewallIds": [], "backups": True},
                "server",
            ),
        ),
        [
            "server 'server' is a cx33 but the cost report prices cx23; create the server from "
            "the stack's hostPlan (components/host.py) so the bill is the one the preview shows.",
            "server 'server' has no firewall, so every port it listens on is public; attach the "
            "host's firewall (firewallIds).",
            "server 'server' has Hetzner backups on (20% of its price) but the cost report has no "
            "host-backups line; set host.backups so both agree.",
        ],
        id="server-is-the-priced-plan",
    ),
    pytest.param(
        "monthly-cost-within-budget",
        stack(outputs(cost=cost(50.0))),
        stack(outputs(cost=cost(50.01))),
        [
            "billed $50.01/month exceeds the $50.00 budget by $0.01; choose a smaller hostPlan, "
            "lower service limits or drop a fixed cost (see `python -m commands cost`)."
        ],
        id="monthly-cost-within-budget",
    ),
    pytest.param(
        "monthly-cost-near-budget",
        stack(outputs(cost=cost(39.99))),
        stack(outputs(cost=cost(40.0))),
        [
            "billed $40.00/month is 80% of the $50.00 budget (warning from 80%); look for limits "
            "to trim before the next service pushes it over."
        ],
        id="monthly-cost-near-budget",
    ),
    pytest.param(
        "memory-fits-host",
        stack(
            outputs(cost=cost(1.0)),
            res(CONTAINER, container_inputs("db", memory=7680.0)),
            res(CONTAINER, job_props("db", memory=4096.0)),
        ),
        stack(outputs(cost=cost(1.0)), res(CONTAINER, container_inputs("db", memory=7681.0))),
        [
            "container memory limits 7681 MiB + OS reserve 512 MiB = 8193 MiB exceed the host's "
            "8192 MiB; lower limits or choose a larger hostPlan, or containers will be OOM-killed "
            "under load."
        ],
        id="memory-fits-host-counts-no-jobs",
    ),
    pytest.param(
        "metrics-scrape-coverage",
        stack(
            res(CONTAINER, container_inputs("api", labels=METRICS_LABELS)),
            res(
                CONTAINER,
                job_props(
                    "prometheus",
                    uploads=[{"file": "/staging/prometheus.yml", "content": PROMETHEUS_YML}],
                ),
            ),
        ),
        stack(
            res(CONTAINER, container_inputs("api", labels=METRICS_LABELS)),
            res(
                CONTAINER,
                job_props(
                    "prometheus",
                    uploads=[{"file": "/staging/prometheus.yml", "content": PROMETHEUS_YML}],
                ),
            ),
            config={"prometheusConfigPaths": ["/etc/prometheus/prometheus.yml"]},
        ),
        [
            "'api' exposes metrics on :80/m (label com.investment-platform.metrics.api) but no "
            "container uploads a Prometheus config at /etc/prometheus/prometheus.yml; upload the "
            "generated prometheus.yml (the prometheus service's config writer receives it at "
            "/staging/prometheus.yml)."
        ],
        id="metrics-scrape-coverage-paths",
    ),
    pytest.param(
        "grafana-dashboard-stable-uid",
        args("grafana:oss/dashboard:Dashboard", {"configJson": '{"uid": "a", "title": "A"}'}),
        args("grafana:oss/dashboard:Dashboard", {"configJson": '{"uid": "a b", "title": "A"}'}),
        [
            "dashboard 'A': uid 'a b' is not a fixed 1-40 character [a-zA-Z0-9_-] string. Give it "
            "a fixed uid and leave id and version out of the generated JSON."
        ],
        id="grafana-dashboard-stable-uid",
    ),
    pytest.param(
        "container-resource-limits",
        args(CONTAINER, job_props("airflow")),
        args(CONTAINER, job_props("airflow", memory=None)),
        [
            "container 'airflow' has no memory limit; an unlimited container can starve or OOM "
            "the whole host. Set cpus and memory_mib in its ServiceSpec (model/catalogue.py) "
            "or the stack's services override."
        ],
        id="container-resource-limits-job",
    ),
    pytest.param(
        "container-health-check",
        args(CONTAINER, job_props("airflow")),
        args(CONTAINER, job_props("airflow", mustRun=True)),
        [
            "container 'airflow' has no health check, so nothing waits for it to be ready and a "
            "hung process stays 'running'. Give its ServiceSpec a HealthCheck whose command exists "
            "in the image."
        ],
        id="container-health-check-jobs-by-behaviour",
    ),
    pytest.param(
        "container-restart-policy",
        args(CONTAINER, job_props("airflow")),
        args(CONTAINER, job_props("airflow", restart="unless-stopped")),
        [
            "container 'airflow' is a one-shot job (attach: true) with restart policy "
            "'unless-stopped', so Docker runs it again after it exits; set restart to 'no' (the "
            "Service component's one-shot jobs do, components/service.py)."
        ],
        id="container-restart-policy-job",
    ),
    pytest.param(
        "no-new-privileges",
        args(CONTAINER, container_inputs("redis", securityOpts=["no-new-privileges=1"])),
        args(
            CONTAINER,
            container_inputs("redis", securityOpts=["no-new-privileges", "no-new-privileges=0"]),
        ),
        [
            "container 'redis' runs without no-new-privileges, so a setuid binary in its image "
            'can gain privileges its process never had; add "no-new-privileges:true" to its '
            "security_opts (the Service component sets it on every container, "
            "components/service.py)."
        ],
        id="no-new-privileges-last-wins",
    ),
    pytest.param(
        "no-host-namespaces",
        args(CONTAINER, container_inputs("redis", networkMode="container:other")),
        args(CONTAINER, container_inputs("redis", usernsMode="HOST")),
        [
            "container 'redis' shares the host's user namespace (usernsMode: host), which takes "
            "away Docker's isolation from the host's network, processes and memory; remove "
            "usernsMode so it gets namespaces of its own and talks over the internal network "
            "(networks_advanced, components/service.py)."
        ],
        id="no-host-namespaces",
    ),
    pytest.param(
        "uploads-need-writable-root",
        args(CONTAINER, job_props("nginx", readOnly=False, uploads=[{"file": "/s/a"}])),
        args(CONTAINER, job_props("nginx", readOnly=True, uploads=[{"file": "/s/a"}])),
        [
            "container 'nginx' has 1 upload(s) but a read-only root filesystem; the provider "
            "extracts every upload at / and the Docker daemon refuses that when the root "
            "filesystem is read-only, so `pulumi up` fails. Give the files to a one-shot config "
            "writer (readOnly: false) that copies them into a config volume, and mount that "
            "volume read-only in the service (components/service.py)."
        ],
        id="uploads-need-writable-root",
    ),
    pytest.param(
        "images-pinned",
        args(REMOTE_IMAGE, {"name": "nginx@sha256:" + "a" * 64}),
        args(REMOTE_IMAGE, {"name": "nginx@sha256:" + "a" * 63}),
        [
            f"image 'nginx@sha256:{'a' * 63}' has a malformed digest: sha256 takes exactly 64 "
            "lowercase hex digits; pin a version tag (e.g. redis:7.4.2-alpine) or a digest in the "
            "catalogue or the stack's images config, so every deploy runs what was tested."
        ],
        id="images-pinned-digest",
    ),
    pytest.param(
        "no-elasticsearch",
        args(CONTAINER, {"uploads": [{"file": "/a", "content": "-- replaces OpenSearch"}]}),
        args(CONTAINER, {"uploads": [{"file": "/a", "content": "targets: [opensearch-x:9114]"}]}),
        [
            "Elasticsearch (or a fork such as OpenSearch) is still referenced: reference "
            "'opensearch-x:9114' in uploads[0].content. It was replaced by PostgreSQL full-text "
            "search; remove the service, its exporter, its variables and scrape jobs."
        ],
        id="no-elasticsearch-fork-in-strings",
    ),
    pytest.param(
        "privileged-allow-list",
        stack(*deployed("cadvisor", "gcr.io/cadvisor/cadvisor:v0.49.1", privileged=True)),
        stack(*deployed("cadvisor", "ghcr.io/acme/backend:1.0", privileged=True)),
        [
            "container 'cadvisor' runs ghcr.io/acme/backend privileged, which gives it the whole "
            "host; only cadvisor running gcr.io/cadvisor/cadvisor may. Drop privileged and add the "
            "single capability it needs (cap_add in its ServiceSpec, model/catalogue.py) "
            "instead."
        ],
        id="privileged-allow-list",
    ),
    pytest.param(
        "capabilities-allow-list",
        stack(*deployed("nginx", "nginx:1.27", capabilities={"drops": ["ALL"], "adds": ["chown"]})),
        stack(*deployed("nginx", "nginx:1.27", capabilities={"drops": ["ALL"], "adds": ["ALL"]})),
        [
            "container 'nginx' running docker.io/library/nginx adds ALL, which this policy's "
            "allow-list does not grant (its entry grants NET_BIND_SERVICE, SETUID, SETGID, CHOWN). "
            "Remove them from cap_add in its ServiceSpec (model/catalogue.py); SYS_ADMIN, "
            "NET_ADMIN or SYS_PTRACE reach into the host."
        ],
        id="capabilities-allow-list",
    ),
    pytest.param(
        "no-sensitive-host-mounts",
        stack(
            *deployed(
                "backup",
                "postgres:15",
                volumes=[{"hostPath": "/srv/secrets-nearby", "containerPath": "/offhost"}],
            ),
            config={"extraSensitivePaths": ["/srv/secrets"]},
        ),
        stack(
            *deployed(
                "backup",
                "postgres:15",
                volumes=[{"hostPath": "/srv/secrets/x", "containerPath": "/offhost"}],
            ),
            config={"extraSensitivePaths": ["/srv/secrets"]},
        ),
        [
            "container 'backup' running docker.io/library/postgres mounts the host's "
            "/srv/secrets/x at /offhost read-write; the Docker socket and the host's root, system "
            "and home directories give a container the host. Mount a directory of its own instead "
            "(for the backup job's off-host copy, set backup.offhostDir in Pulumi.<stack>.yaml to "
            "one, e.g. /srv/investment-backups); a path this policy's allow-list grants a service "
            "and image may only be mounted read-only (HostMount in model/catalogue.py)."
        ],
        id="no-sensitive-host-mounts-extra-paths-add",
    ),
    pytest.param(
        "no-internal-ports-published",
        stack(
            *deployed(
                "nginx", "nginx:1.27", ports=[{"internal": 80.0, "external": 80.0, "ip": ""}]
            ),
        ),
        stack(
            *deployed(
                "nginx",
                "nginx:1.27",
                ports=[{"internal": 80.0, "external": 80.0, "ip": ""}],
            ),
            config={"publicServices": ["nginx"]},
        ),
        [
            "container 'nginx' running docker.io/library/nginx publishes 0.0.0.0:80->80 on the "
            "host, but stack 'prod' is prod (every stack but dev and dev-* is), where no internal "
            "port may be; services talk over the internal network and users come in through none. "
            "Remove the port (prod sets publishPorts: false)."
        ],
        id="no-internal-ports-published-entries-need-an-image",
    ),
    pytest.param(
        "data-volumes-protected",
        stack(
            res(VOLUME, {"name": "v"}, "v", protect=True),
            *deployed("db", "postgres:15", volumes=[{"volumeName": "v", "containerPath": "/d"}]),
        ),
        stack(
            UNNAMED_VOLUME,
            image("postgres:15", "db-image"),
            res(
                CONTAINER,
                container_inputs(
                    "db", volumes=[{"volumeName": UNKNOWN_STRING_VALUE, "containerPath": "/d"}]
                ),
                "db-container",
                property_dependencies={"volumes": [UNNAMED_VOLUME]},
            ),
        ),
        [
            "volume 'v' is mounted read-write by db at /d but is not protected, so a replace or "
            "`pulumi destroy` deletes its data. Set protect=True and retain_on_delete=True on it "
            "(the Service component does for a Volume with data=True, model/catalogue.py); a "
            "label does not exempt it. Only protect can be checked: the analyzer protocol does not "
            "carry retainOnDelete."
        ],
        id="data-volumes-protected-unknown-name-uses-property-dependencies",
    ),
    pytest.param(
        "no-plaintext-secrets",
        args(
            "pulumi:providers:docker",
            {"host": "unix:///var/run/docker.sock", "keyMaterial": SecretStr("-----BEGIN...")},
        ),
        args(
            "pulumi:providers:docker",
            {"keyMaterial": "-----BEGIN RSA PRIVATE KEY-----\nMII\n-----END RSA PRIVATE KEY-----"},
        ),
        [
            "provider 'r' (pulumi:providers:docker) gets keyMaterial in plain text, so it lands "
            "unencrypted in the state and the preview. Pass it as a secret: "
            "pulumi.Output.secret(...) or a secret config value in the program, or `pulumi config "
            "set --secret docker:<key>` for the default provider."
        ],
        id="no-plaintext-secrets-provider-private-key",
    ),
    pytest.param(
        "deploy-only-on-main",
        args(
            core.REPOSITORY_FILE,
            {
                "file": ".github/workflows/ci.yml",
                "content": "on:\n  push:\n    branches: [main]\njobs:\n  deploy: {}\n",
            },
        ),
        args(
            core.REPOSITORY_FILE,
            {
                "file": ".github/workflows/ci.yml",
                "content": "on:\n  push:\n    branches: [release]\njobs:\n  ship: {}\n",
            },
            config={"deployJobs": "ship"},
        ),
        [
            ".github/workflows/ci.yml: job 'ship' runs on push without the condition `if: "
            "github.event_name == 'push' && github.ref == 'refs/heads/main'`. Add that condition "
            "to the deploy job (render/workflows/app_ci.py ON_MAIN_PUSH)."
        ],
        id="deploy-only-on-main-configured-jobs",
    ),
]


@pytest.mark.parametrize(("policy", "passing", "failing", "messages"), CASES)
def test_each_policy_passes_and_fails(policy, passing, failing, messages):
    assert run(policy, passing) == []
    assert run(policy, failing) == messages


def test_every_policy_has_a_direct_case():
    assert {case.values[0] for case in CASES} == set(POLICIES)


def test_every_policy_is_named_described_and_leveled():
    built = policies.build_policies()

    names = [p.name for p in built]
    assert len(set(names)) == len(names) == 23
    for policy in built:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", policy.name), policy.name
        assert policy.description.endswith("."), policy.name
        assert ". " not in policy.description, policy.name
        assert isinstance(policy.enforcement_level, EnforcementLevel), policy.name
    assert [p.name for p in built if p.enforcement_level != EnforcementLevel.MANDATORY] == [
        "monthly-cost-near-budget"
    ]


def test_settings_schema_documents_the_coded_defaults():
    schema = POLICIES["privileged-allow-list"].config_schema
    ports = POLICIES["no-internal-ports-published"].config_schema
    assert schema is not None
    assert ports is not None

    assert schema.properties["allowed"]["default"] == [
        {"service": "cadvisor", "image": "gcr.io/cadvisor/cadvisor"}
    ]
    assert schema.properties["allowed"]["items"]["required"] == ["service", "image"]
    assert ports.properties["environment"] == {
        "type": "string",
        "enum": ["prod"],
    }


def test_configured_settings_overlay_the_coded_defaults():
    declared = {"a": core.Setting(core.STRING, "x"), "b": core.Setting(core.NUMBER, 1.0)}

    assert core.settings_of({"b": 2.0, "c": "ignored", "a": None}, declared) == {
        "a": "x",
        "b": 2.0,
    }


def test_the_image_comes_from_the_property_dependency_of_image():
    cadvisor, backend = image("gcr.io/cadvisor/cadvisor:v1"), image("ghcr.io/a/b:1")
    container = res(
        CONTAINER,
        {"image": UNKNOWN_STRING_VALUE},
        property_dependencies={"image": [backend], "networksAdvanced": []},
        dependencies=[cadvisor, backend],
    )

    assert workloads.image_repository(container, [cadvisor, backend]) == "ghcr.io/a/b"


def test_the_image_comes_from_a_matching_image_id_output():
    ids = {"imageId": "sha256:" + "1" * 64}
    cadvisor, backend = image("gcr.io/cadvisor/cadvisor:v1", **ids), image("ghcr.io/a/b:1")
    container = res(CONTAINER, {"image": "sha256:" + "1" * 64})

    assert workloads.image_repository(container, [cadvisor, backend]) == "gcr.io/cadvisor/cadvisor"


def test_the_only_image_dependency_counts_only_without_property_dependencies():
    cadvisor = image("gcr.io/cadvisor/cadvisor:v1")
    offline = res(CONTAINER, {"image": "sha256:" + "2" * 64}, dependencies=[cadvisor])
    # A literal image ID beside a depends_on on the cadvisor image, as the engine sends it.
    network = res("docker:index/network:Network", {"name": "internal"}, "network")
    literal = res(
        CONTAINER,
        {"image": "sha256:" + "2" * 64},
        dependencies=[cadvisor, network],
        property_dependencies={"networksAdvanced": [network]},
    )
    two = res(
        CONTAINER,
        {"image": "sha256:" + "2" * 64},
        dependencies=[cadvisor, image("ghcr.io/a/b:1")],
    )

    assert workloads.image_repository(offline, [cadvisor]) == "gcr.io/cadvisor/cadvisor"
    assert workloads.image_repository(literal, [cadvisor]) is None
    assert workloads.image_repository(two, [cadvisor]) is None


def test_allow_list_entries_without_service_or_valid_image_grant_nothing():
    entries = workloads.grants(
        [
            "nginx",
            {"service": "nginx"},
            {"service": "nginx", "image": "Not A Ref"},
            {"service": "", "image": "nginx"},
            {"service": "nginx", "image": "nginx:1.27", "capabilities": ["CHOWN"]},
        ]
    )

    assert [(e.service, e.repository, e.strings("capabilities")) for e in entries] == [
        ("nginx", "docker.io/library/nginx", ["CHOWN"])
    ]


@pytest.mark.parametrize(
    ("stack_name", "forced", "environment"),
    [
        ("dev", None, "dev"),
        ("dev-alice", None, "dev"),
        ("dev", "prod", "prod"),
        ("dev", "dev", "dev"),
        ("prod", "dev", "prod"),
        ("prod", None, "prod"),
        ("staging", None, "prod"),
        ("development", None, "prod"),
        ("Dev", None, "prod"),
        ("", None, "prod"),
    ],
)
def test_environment_follows_the_stack_name_and_config_can_only_force_prod(
    monkeypatch, stack_name, forced, environment
):
    monkeypatch.setenv("PULUMI_STACK", stack_name)
    # What the stack file says is ignored: it could say anything.
    monkeypatch.setenv("PULUMI_CONFIG", '{"investment-platform:environment": "dev"}')

    assert host.environment(forced) == environment


@pytest.mark.parametrize(
    ("security_opts", "enabled"),
    [
        (["no-new-privileges"], True),
        (["no-new-privileges:true"], True),
        (["no-new-privileges=TRUE"], True),
        (["no-new-privileges=t"], True),
        (["no-new-privileges=yes"], False),
        (["no-new-privileges:false"], False),
        (["no-new-privileges", "no-new-privileges=false"], False),
        (["no-new-privileges=false", "no-new-privileges"], True),
        (["seccomp=unconfined"], False),
        ([], False),
        (None, False),
    ],
)
def test_no_new_privileges_reads_security_opts_as_the_daemon_does(security_opts, enabled):
    assert containers.no_new_privileges(security_opts) is enabled


@pytest.mark.parametrize(
    ("path", "sensitive"),
    [
        ("/var/run/docker.sock", True),
        ("/run/docker.sock", True),
        ("/var/run", True),
        ("/run", True),
        ("/var", True),
        ("/", True),
        ("//etc/", True),
        ("/etc/ssh/sshd_config", True),
        ("/srv/../etc", True),
        ("/home/deploy", True),
        ("/root/.ssh", True),
        ("/proc/1/root", True),
        ("/sys/fs/cgroup", True),
        ("/dev/sda", True),
        ("/boot", True),
        ("/var/lib/docker/volumes/x/_data", True),
        ("/var/lib", True),
        ("/srv/investment-backups", False),
        ("/mnt/storage-box/backups", False),
        ("/var/lib/postgresql", False),
        ("/etcetera", False),
        ("/homes", False),
    ],
)
def test_sensitive_host_paths(path, sensitive):
    assert host.is_sensitive(host.host_path(path) or "", host.SENSITIVE_HOST_PATHS) is sensitive


def test_relative_host_paths_are_volume_names_not_paths():
    assert host.host_path("etc") is None


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
        ("REDIS_URL=redis://:$REDIS_PASSWORD@redis:6379/0", None),
        ("POSTGRES_USER=postgres", None),
    ],
)
def test_sensitive_env(entry, name):
    assert credentials.sensitive_env(entry) == name


@pytest.mark.parametrize(
    ("command", "found"),
    [
        (["redis-server", "--requirepass", "xyz"], ["--requirepass"]),
        (["sh", "-c", "redis-server --requirepass xyz --port 6379"], ["--requirepass"]),
        (["sh", "-c", 'exec redis-server --requirepass "$REDIS_PASSWORD"'], []),
        (["redis-server", "--masterauth=abc"], ["--masterauth"]),
        (["mysql", "-p", "secret"], ["-p"]),
        (["psql", "-p", "5432"], []),
        (
            ["app", "--db-password=x", "--api-key", "k", "-client_secret=s"],
            [
                "--db-password",
                "--api-key",
                "-client_secret",
            ],
        ),
        (["app", "--password-file", "/run/secrets/pw", "--token-path=/t"], []),
        (["app", "--password", "--verbose"], []),
        (["app", "--auth-type", "basic", "--passive"], []),
        (["app", "postgresql://u:pw@db/app"], ["a URL with a password"]),
        (["app", "postgresql://u:${PW}@db/app"], []),
        (["app", "--token", SecretStr("t")], []),
        (["sh", "-c", "unbalanced 'quote --password=x"], ["--password"]),
        (["celery", "-A", "app.worker", "--max-memory-per-child=200000"], []),
    ],
)
def test_command_line_secrets(command, found):
    assert credentials.command_line_secrets(command) == found


def test_provider_secrets_read_into_json_arguments():
    props = {
        "host": "ssh://deploy@vps",
        "registryAuth": json.dumps([{"address": "ghcr.io", "username": "u", "password": "p"}]),
        "url": "https://admin:pw@grafana.example/",
        "smAccessToken": "t",
        "auth": SecretStr("admin:pw"),
        "insecure": "false",
        "caCertFile": "/etc/ca.pem",
    }

    assert list(credentials.provider_secrets(props)) == [
        "registryAuth[0].password",
        "url",
        "smAccessToken",
    ]


def test_a_secret_command_or_healthcheck_is_not_reported():
    props = container_inputs(
        "redis",
        command=[SecretStr("redis-server"), SecretStr("--requirepass"), SecretStr("x")],
        healthcheck={"tests": ["CMD", "redis-cli", "-a", SecretStr("pw"), "--pass", "$X"]},
    )

    assert run("no-plaintext-secrets", args(CONTAINER, props)) == []


def test_plain_secret_detection_on_a_container():
    props = {"envs": ["POSTGRES_USER=u", "POSTGRES_PASSWORD=x", SecretStr("REDIS_PASSWORD=y")]}

    assert run("no-plaintext-secrets", args(CONTAINER, props)) == [
        "'r' gets POSTGRES_PASSWORD in plain text, so it lands unencrypted in the state and the "
        "preview. Pass it as a secret: the Service's secret_env (built from pulumi-random or "
        "`pulumi config set --secret`), or pulumi.Output.secret(...)."
    ]


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
    props = {
        "cpus": UNKNOWN_STRING_VALUE,
        "memory": UNKNOWN_NUMBER_VALUE,
        "restart": UNKNOWN_STRING_VALUE,
        "securityOpts": UNKNOWN_STRING_VALUE,
    }

    assert core.lookup(unknown_checking_proxy(props), "memory") is core.UNKNOWN
    for name in ("container-resource-limits", "container-restart-policy", "no-new-privileges"):
        assert run(name, args(CONTAINER, props)) == [], name


def test_elasticsearch_references_in_generated_config_are_found():
    config = (
        "scrape_configs:\n- job_name: es\n  static_configs:\n"
        "  - targets: [elasticsearch-exporter:9114]\n"
    )
    props = {"uploads": [{"file": "/etc/prometheus/prometheus.yml", "content": config}]}
    prose = {"uploads": [{"file": "/docs.sql", "content": "-- replaces Elasticsearch: search"}]}

    assert run("no-elasticsearch", args(CONTAINER, props)) == [
        "Elasticsearch (or a fork such as OpenSearch) is still referenced: reference "
        "'elasticsearch-exporter:9114' in uploads[0].content. It was replaced by PostgreSQL "
        "full-text search; remove the service, its exporter, its variables and scrape jobs."
    ]
    assert run("no-elasticsearch", args(CONTAINER, prose)) == []


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


def test_memory_fits_host_uses_the_policy_setting_before_the_cost_output():
    stack_resource = outputs(cost={"plan": {"memoryMib": 8192}, "capacity": {"osReserveMib": 0}})
    container = res(CONTAINER, {"memory": 1024.0})

    assert run("memory-fits-host", stack(stack_resource, container)) == []
    assert run(
        "memory-fits-host",
        stack(stack_resource, container, config={"hostMemoryMib": 1024, "osReserveMib": 256}),
    ) == [
        "container memory limits 1024 MiB + OS reserve 256 MiB = 1280 MiB exceed the host's "
        "1024 MiB; lower limits or choose a larger hostPlan, or containers will be OOM-killed "
        "under load."
    ]


def test_an_unparsable_prometheus_config_is_a_violation():
    prometheus = res(
        CONTAINER,
        {"uploads": [{"file": "/etc/prometheus/prometheus.yml", "content": "scrape_configs: ["}]},
    )

    (message,) = run("metrics-scrape-coverage", stack(prometheus))

    assert message.startswith(
        "the Prometheus config at /etc/prometheus/prometheus.yml is not valid YAML: "
    )


def test_the_configured_prometheus_path_order_decides_which_upload_counts():
    etc = res(CONTAINER, {"uploads": [{"file": "/etc/prometheus/prometheus.yml", "content": "["}]})
    staging = res(
        CONTAINER, {"uploads": [{"file": "/staging/prometheus.yml", "content": PROMETHEUS_YML}]}
    )
    api = res(CONTAINER, container_inputs("api", labels=METRICS_LABELS))
    paths = ["/staging/prometheus.yml", "/etc/prometheus/prometheus.yml"]

    assert run("metrics-scrape-coverage", stack(api, etc, staging)) != []
    assert (
        run(
            "metrics-scrape-coverage",
            stack(api, etc, staging, config={"prometheusConfigPaths": paths}),
        )
        == []
    )
