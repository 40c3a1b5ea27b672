"""model.topology: where the platform is reachable, what it publishes and what the tunnel forwards,
from the stack config and the catalogue alone."""

from __future__ import annotations

import pytest

from model.catalogue import CATALOGUE, ConfigMount, HostMount, provider
from model.config import resolve_specs
from model.topology import (
    Forward,
    PortBinding,
    config_mounts,
    grafana_api_url,
    host_ports,
    public_bindings,
    public_url,
    tunnel_forwards,
)
from tests.support.specs import app_spec
from tests.support.stacks import stack_config


def test_dev_serves_plain_http_on_loopback_and_prod_https_on_every_address() -> None:
    dev, prod = stack_config("dev"), stack_config("prod")
    assert public_bindings(dev) == [PortBinding(80, 8088, "127.0.0.1")]
    assert public_url(dev) == "http://localhost:8088"
    assert public_bindings(prod) == [
        PortBinding(80, 80, "0.0.0.0"),
        PortBinding(443, 443, "0.0.0.0"),
    ]
    assert public_url(prod) == "https://invest.example.com"


def test_grafanas_api_is_the_given_url_else_the_tunnel_else_nginx() -> None:
    assert grafana_api_url(stack_config("prod")) == "http://127.0.0.1:13000/grafana"
    assert grafana_api_url(stack_config("dev")) == "http://localhost:8088/grafana"
    given = stack_config("prod", grafanaUrl="https://grafana.example.com/grafana")
    assert grafana_api_url(given) == "https://grafana.example.com/grafana"


def test_prod_publishes_only_nginx_and_dev_moves_a_clashing_port_up_by_10000() -> None:
    prod = stack_config("prod")
    assert host_ports(prod, resolve_specs(prod)) == {
        "nginx": [PortBinding(80, 80, "0.0.0.0"), PortBinding(443, 443, "0.0.0.0")]
    }
    dev = stack_config("dev")
    specs = [*resolve_specs(dev), app_spec("feed", port=8088), app_spec("feed2", port=8088)]
    ports = host_ports(dev, specs)
    assert ports["nginx"] == [PortBinding(80, 8088, "127.0.0.1")]
    assert ports["feed"] == [PortBinding(8088, 18088, "127.0.0.1")]
    assert ports["feed2"] == [PortBinding(8088, 28088, "127.0.0.1")]
    assert ports["postgres"] == [PortBinding(5432, 5432, "127.0.0.1")]


def test_a_config_mount_binds_the_directory_the_stack_names_and_nothing_when_unset() -> None:
    spec = app_spec(
        "feed", config_mounts=(ConfigMount(setting="backup.offhostDir", path="/mnt/offhost"),)
    )
    assert config_mounts(stack_config("prod"), spec) == []
    with_dir = stack_config("prod", backup={"offhostDir": "/mnt/storagebox"})
    assert config_mounts(with_dir, spec) == [
        HostMount(host_path="/mnt/storagebox", path="/mnt/offhost", read_only=True)
    ]


def test_the_tunnel_forwards_the_database_and_dashboards_to_their_fixed_addresses() -> None:
    prod = stack_config("prod")
    assert tunnel_forwards(prod, resolve_specs(prod)) == [
        Forward(15432, "172.30.0.10", 5432),
        Forward(13000, "172.30.0.11", 3000),
    ]
    database = provider(CATALOGUE, "database")
    moved = [
        spec.model_copy(update={"fixed_address": None}) if spec.name == database.name else spec
        for spec in resolve_specs(prod)
    ]
    with pytest.raises(
        ValueError, match=r"^postgres needs a fixed address and a port to be tunnelled to$"
    ):
        tunnel_forwards(prod, moved)
