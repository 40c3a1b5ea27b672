"""The managed host under the SDK's mocks: what a new prod-like stack with `host.mode: hetzner`
registers, in which order, and how everything after the host follows from it."""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml

from commands.offline import MOCK_HOST_PUBLIC_KEY, PlanResult, run_program
from components.host import BOOTSTRAP_TIMEOUT_S
from program.main import BOOTSTRAP_WAIT

OPS_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPtiOFLvacenBdggwQOU1kK+1u7gtmyhZqZg8l/NIKA ops"
HOST = {
    "mode": "hetzner",
    "location": "nbg1",
    "adminNetworks": ["198.51.100.0/24", "2001:db8:42::/48"],
    "sshKeys": [OPS_KEY],
    "backups": True,
}
SERVER = "hcloud:index/server:Server"
FIREWALL = "hcloud:index/firewall:Firewall"
PRIMARY_IP = "hcloud:index/primaryIp:PrimaryIp"
SSH_KEY = "hcloud:index/sshKey:SshKey"
HOST_KEY = "tls:index/privateKey:PrivateKey"
BOOTSTRAP = "command:local:Command"
CONTAINER = "docker:index/container:Container"
DOCKER = "pulumi:providers:docker"
KNOWN_HOSTS = "203.0.113.10 " + " ".join(MOCK_HOST_PUBLIC_KEY.split()[:2])


@pytest.fixture(scope="module")
def managed() -> PlanResult:
    # Pulumi.prod.yaml's dockerHost removed: the engine then passes Pulumi.yaml's default.
    return run_program(
        "prod", overrides={"dockerHost": "unix:///var/run/docker.sock", "host": HOST}
    )


@pytest.fixture(scope="module")
def existing() -> PlanResult:
    return run_program("prod")


def only(result: PlanResult, type_: str):
    found = result.of_type(type_)
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def test_the_server_is_the_priced_plan_in_the_chosen_location(managed):
    server = only(managed, SERVER)
    assert server.name == "investment-host-server"
    inputs = server.inputs
    assert (inputs["name"], inputs["serverType"], inputs["location"], inputs["image"]) == (
        "investment-prod",
        "cx33",
        "nbg1",
        "debian-12",
    )
    assert managed.outputs["cost"]["plan"]["serverType"] == inputs["serverType"]
    assert (inputs["backups"], inputs["keepDisk"]) == (True, True)
    assert inputs["labels"] == {"com.investment-platform.stack": "prod"}
    # The addresses and the name belong to one server at a time; a new admin key or a changed
    # cloud-config must not replace (wipe) the host.
    assert server.delete_before_replace
    assert sorted(server.ignore_changes) == ["sshKeys", "userData"]
    # The cloud-config carries the host's private key.
    assert "userData" in server.secret_paths


def test_the_cloud_config_pins_the_generated_host_key_and_admits_the_ops_key(managed):
    user_data = only(managed, SERVER).unmasked_inputs()["userData"]
    data = yaml.safe_load(user_data)
    assert data["ssh_keys"]["ed25519_public"] == MOCK_HOST_PUBLIC_KEY.strip()
    assert data["users"][0]["ssh_authorized_keys"] == [OPS_KEY]


def test_addresses_survive_a_server_replace(managed):
    ips = {r.inputs["type"]: r for r in managed.of_type(PRIMARY_IP)}
    assert sorted(ips) == ["ipv4", "ipv6"]
    for kind, ip in ips.items():
        assert ip.inputs["name"] == f"investment-prod-{kind}"
        assert (ip.inputs["location"], ip.inputs["assigneeType"]) == ("nbg1", "server")
        assert ip.inputs["autoDelete"] is False
    public = only(managed, SERVER).inputs["publicNets"]
    assert public == [
        {
            "ipv4Enabled": True,
            "ipv4": mock_id("investment-host-ipv4"),
            "ipv6Enabled": True,
            "ipv6": mock_id("investment-host-ipv6"),
        }
    ]


def mock_id(name: str) -> int:
    """The numeric id the offline mocks give a Hetzner resource (Hetzner's ids are numbers)."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)


def test_the_firewall_admits_web_from_anywhere_and_ssh_from_the_admin_networks_only(managed):
    firewall = only(managed, FIREWALL)
    assert firewall.inputs["rules"] == [
        {
            "direction": "in",
            "protocol": "tcp",
            "port": "80",
            "sourceIps": ["0.0.0.0/0", "::/0"],
            "description": "public web (80)",
        },
        {
            "direction": "in",
            "protocol": "tcp",
            "port": "443",
            "sourceIps": ["0.0.0.0/0", "::/0"],
            "description": "public web (443)",
        },
        {
            "direction": "in",
            "protocol": "tcp",
            "port": "22",
            "sourceIps": ["198.51.100.0/24", "2001:db8:42::/48"],
            "description": "SSH from the admin networks",
        },
    ]
    assert only(managed, SERVER).inputs["firewallIds"] == [mock_id("investment-host-firewall")]


def test_the_deploy_key_is_the_projects_key_so_no_root_password_is_mailed(managed):
    key = only(managed, SSH_KEY)
    assert (key.inputs["name"], key.inputs["publicKey"]) == ("investment-prod-deploy", OPS_KEY)
    assert only(managed, SERVER).inputs["sshKeys"] == [str(mock_id("investment-host-ssh-key"))]
    assert only(managed, HOST_KEY).inputs["algorithm"] == "ED25519"


def test_the_bootstrap_waits_for_the_server_with_the_pinned_key(managed):
    wait = only(managed, BOOTSTRAP)
    server = only(managed, SERVER)
    assert wait.inputs["create"] == BOOTSTRAP_WAIT.read_text()
    assert wait.inputs["interpreter"] == ["python3", "-c"]
    env = wait.inputs["environment"]
    assert env["INVESTMENT_HOST"] == "203.0.113.10"
    assert env["INVESTMENT_SSH_USER"] == "deploy"
    assert env["INVESTMENT_TIMEOUT_S"] == str(BOOTSTRAP_TIMEOUT_S)
    options = json.loads(env["INVESTMENT_SSH_OPTIONS"])
    assert f"KnownHostsCommand=/bin/echo {KNOWN_HOSTS}" in options
    assert "StrictHostKeyChecking=yes" in options
    assert server.urn in wait.dependencies


def test_host_resources_register_before_any_container_and_every_container_uses_the_host(managed):
    order = [r.type for r in managed.resources]
    first_container = order.index(CONTAINER)
    for type_ in (HOST_KEY, SSH_KEY, PRIMARY_IP, FIREWALL, SERVER, BOOTSTRAP, DOCKER):
        assert order.index(type_) < first_container, type_
    docker = only(managed, DOCKER)
    assert docker.inputs["host"] == "ssh://deploy@203.0.113.10"
    assert json.loads(docker.inputs["sshOpts"]) == json.loads(
        only(managed, BOOTSTRAP).inputs["environment"]["INVESTMENT_SSH_OPTIONS"]
    )
    # The Docker endpoint comes from the bootstrap wait, so Docker connects only after it.
    wait = only(managed, BOOTSTRAP)
    assert wait.urn in docker.property_dependencies["host"]
    server = only(managed, SERVER)
    for dependency in (FIREWALL, SSH_KEY, PRIMARY_IP):
        for resource in managed.of_type(dependency):
            assert resource.urn in server.dependencies, dependency
    containers = managed.of_type(CONTAINER)
    assert containers
    for container in containers:
        assert container.provider.startswith(docker.urn + "::"), container.name


def test_stack_outputs_say_where_the_host_is(managed):
    assert managed.outputs["dockerHost"] == "ssh://deploy@203.0.113.10"
    assert managed.outputs["host"] == {
        "serverType": "cx33",
        "location": "nbg1",
        "ipv4": "203.0.113.10",
        "ipv6": "2001:db8:10::/64",
        "knownHosts": KNOWN_HOSTS,
        "dockerVersion": "docker 20.10.24+dfsg1",
    }
    cost = managed.outputs["cost"]
    assert cost["fixed"] == {"host-ipv4": 0.58, "host-backups": 1.51, "domain": 1.25, "tls": 0.0}


def test_the_database_and_grafana_are_reached_through_the_tunnel_after_the_host(managed):
    postgres = only(managed, "pulumi:providers:postgresql")
    grafana = only(managed, "pulumi:providers:grafana")
    # Provider config travels as strings.
    assert (postgres.inputs["host"], postgres.inputs["port"]) == ("127.0.0.1", "15432")
    assert grafana.inputs["url"] == "http://127.0.0.1:13000/grafana"
    # Both wait for the tunnel, which opens once the host has booted.
    wait = only(managed, BOOTSTRAP)
    assert wait.urn in postgres.property_dependencies["host"]
    assert wait.urn in grafana.property_dependencies["url"]


def test_an_existing_host_registers_no_cloud_resource(existing):
    types = {r.type for r in existing.resources}
    assert not {SERVER, FIREWALL, PRIMARY_IP, SSH_KEY, HOST_KEY, BOOTSTRAP} & types
    docker = only(existing, DOCKER)
    assert docker.inputs["host"] == "ssh://deploy@vps.investment-platform.example"
    assert "sshOpts" not in docker.inputs
    assert "host" not in existing.outputs
    assert "host-ipv4" not in existing.outputs["cost"]["fixed"]
