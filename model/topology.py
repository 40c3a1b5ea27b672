"""Where things are on the host: published ports, public and API URLs, fixed addresses, the
tunnel's forwards and the host directories a stack mounts. Pure functions of the config and the
catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from model.catalogue import Capability, HostMount, ServiceSpec, provider
from model.config import StackConfig

PLAIN_HTTP_PORT = 8088
"""Where a plain-HTTP (dev) stack's nginx listens on the host's loopback."""


@dataclass(frozen=True)
class PortBinding:
    """A port published on the host."""

    internal: int
    """Port inside the container."""
    external: int
    """Port on the host."""
    ip: str = "127.0.0.1"
    """Host address to bind: loopback unless the port is meant to be public."""


@dataclass(frozen=True)
class Forward:
    """One forwarded port: 127.0.0.1:local_port -> remote_host:remote_port, seen from the host."""

    local_port: int
    remote_host: str
    remote_port: int


def public_bindings(config: StackConfig) -> list[PortBinding]:
    """The public edge's host ports: 80 and 443 on every address with TLS; plain HTTP on
    loopback's PLAIN_HTTP_PORT without."""
    if config.tls.mode == "none":
        return [PortBinding(80, PLAIN_HTTP_PORT, "127.0.0.1")]
    return [PortBinding(80, 80, "0.0.0.0"), PortBinding(443, 443, "0.0.0.0")]


def public_url(config: StackConfig) -> str:
    """The URL users reach the platform at: the scheme and port nginx actually publishes."""
    served = public_bindings(config)[-1]
    scheme, default_port = ("https", 443) if served.internal == 443 else ("http", 80)
    port = "" if served.external == default_port else f":{served.external}"
    return f"{scheme}://{config.domain}{port}"


def grafana_api_url(config: StackConfig) -> str:
    """Where `pulumi up` reaches Grafana's API: `grafanaUrl` when set; through the SSH tunnel
    when it is open (no dependency on DNS or the certificate); else through nginx."""
    if config.grafana_url is not None:
        return config.grafana_url
    if config.tunnel_enabled:
        return f"http://127.0.0.1:{config.tunnel.grafana_port}/grafana"
    return f"{public_url(config)}/grafana"


def tunnel_forwards(config: StackConfig, specs: Sequence[ServiceSpec]) -> list[Forward]:
    """What the SSH tunnel forwards: the database to database.port and the dashboards' API to
    tunnel.grafanaPort, each to its service's fixed address on the internal network."""
    local_ports: dict[Capability, int] = {
        "database": config.database.port,
        "dashboards": config.tunnel.grafana_port,
    }
    forwards = []
    for capability, local_port in local_ports.items():
        spec = provider(specs, capability)
        address = config.fixed_address(spec)
        if address is None or spec.port is None:
            raise ValueError(f"{spec.name} needs a fixed address and a port to be tunnelled to")
        forwards.append(Forward(local_port, str(address), spec.port))
    return forwards


def host_ports(config: StackConfig, specs: Sequence[ServiceSpec]) -> dict[str, list[PortBinding]]:
    """Host port bindings per service: nginx publicly; in dev, other services on loopback only.

    Host ports equal container ports unless two services share one, in which case the later one
    moves up by 10000 (deterministic, so the same stack always gets the same ports).
    """
    bindings: dict[str, list[PortBinding]] = {}
    used: set[int] = set()
    for spec in specs:
        if spec.public:
            bindings[spec.name] = public_bindings(config)
            used.update(b.external for b in bindings[spec.name])
    if config.publish_ports:
        for spec in specs:
            if spec.public or spec.port is None or spec.name in bindings:
                continue
            port = spec.port
            while port in used:
                port += 10000
            used.add(port)
            bindings[spec.name] = [PortBinding(spec.port, port, "127.0.0.1")]
    return bindings


def host_path_settings(config: StackConfig) -> dict[str, str | None]:
    """The stack keys that name host directories, by the name a `ConfigMount` uses."""
    return {"backup.offhostDir": config.backup.offhost_dir}


def config_mounts(config: StackConfig, spec: ServiceSpec) -> list[HostMount]:
    """The host directories the stack names for this service's `config_mounts`."""
    settings = host_path_settings(config)
    return [
        HostMount(host_path=host_path, path=mount.path, read_only=mount.read_only)
        for mount in spec.config_mounts
        if (host_path := settings[mount.setting])
    ]
