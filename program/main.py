"""The Pulumi program's body, kept out of `__main__.py` so that file only wires things together.

Config and secrets are read here, once, and passed down as typed args: no component reads config.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi.runtime import mocks, settings
from pulumi.runtime.config import (
    CONFIG,
    get_config_env,
    get_config_secret_keys_env,
    is_config_secret,
)

from components.host import ManagedHost, ManagedHostArgs
from components.platform import HostAccess, Platform, PlatformArgs, summary
from components.workflow_files import WorkflowFiles
from model.base import check_http_url
from model.catalogue import ServiceSpec
from model.config import (
    PROJECT,
    SECRET_KEYS,
    ConfigError,
    StackConfig,
    load_config,
    resolve_specs,
)
from model.host import dns_problem
from model.hostplans import HOST_PLANS
from model.topology import tunnel_forwards
from program.tunnel import TunnelError, open_tunnel, parse_ssh_target

BOOTSTRAP_WAIT = Path(__file__).with_name("bootstrap_wait.py")


@dataclass(frozen=True)
class StackInput:
    """What the engine handed the program: the stack's config and which keys are secrets."""

    stack: str
    raw: dict[str, str]
    """Every `investment-platform:*` key without the namespace, as the engine passes it."""
    secret_keys: frozenset[str]
    """The keys (without namespace) given with `pulumi config set --secret`."""


def stack_input() -> StackInput:
    """The whole `investment-platform:*` config of the stack, and which keys are secrets.

    pulumi.Config only answers for keys asked by name, and a mistyped key in a stack file must be
    an error, not silently ignored; so read the whole map the engine handed to the program. The
    Python language host hands it over in the PULUMI_CONFIG environment variable (secret keys in
    PULUMI_CONFIG_SECRET_KEYS); the SDK's mocks and `set_all_config` put it in the runtime's map,
    which wins where both have a key.
    """
    prefix = f"{PROJECT}:"
    merged = {**get_config_env(), **CONFIG.get()}
    env_secrets = set(get_config_secret_keys_env())
    raw = {k.removeprefix(prefix): str(v) for k, v in merged.items() if k.startswith(prefix)}
    secret = {key for key in raw if is_config_secret(prefix + key) or prefix + key in env_secrets}
    return StackInput(pulumi.get_stack(), raw, frozenset(secret))


def stack_secrets(config: StackConfig, given: Mapping[str, str]) -> dict[str, str]:
    """The secrets the stack gives, by key (empty ones dropped); refuses a missing required one
    or a malformed one, with a message naming the key and never the value."""
    where = f"Pulumi.{config.stack}.yaml: {PROJECT}"
    required = []
    if config.tls.mode == "provided":
        required += [
            ("tlsCertificate", "tls.mode is provided", "< fullchain.pem"),
            ("tlsPrivateKey", "tls.mode is provided", "< privkey.pem"),
        ]
    if config.registry is not None:
        required.append(("registryPassword", "registry is set", "<token>"))
    if config.backup.offsite is not None:
        required += [
            ("offsiteEncryptionKey", "backup.offsite is set", "< key-file"),
            ("offsiteAccessKeyId", "backup.offsite is set", "<access key>"),
            ("offsiteSecretAccessKey", "backup.offsite is set", "<secret key>"),
        ]
    for key, because, value in required:
        if not given.get(key):
            raise ConfigError(
                f"{where}:{key}: {because}, so this secret is required: "
                f"`pulumi config set --secret {key} {value}`"
            )
    webhook = given.get("alertingWebhookUrl")
    if webhook is not None:
        try:
            check_http_url(webhook)
        except ValueError:
            raise ConfigError(
                f"{where}:alertingWebhookUrl: is not a usable http(s) URL (the value is a secret "
                "and is not shown)"
            ) from None
    return {key: value for key, value in given.items() if value}


def under_mocks() -> bool:
    """Whether the program runs under the SDK's mocks (offline plan, tests), where nothing real
    can be reached and no tunnel is opened."""
    return isinstance(settings.get_monitor(), mocks.MockMonitor)


def load_stack() -> tuple[StackConfig, dict[str, pulumi.Output[str]]]:
    """The validated config and secrets, or stop the program with one line naming the key."""
    given = stack_input()
    try:
        config = load_config(given.stack, given.raw, given.secret_keys)
        secrets = stack_secrets(config, {k: v for k, v in given.raw.items() if k in SECRET_KEYS})
    except ConfigError as exc:
        # RunError makes the CLI print the message without a Python traceback.
        raise pulumi.RunError(str(exc)) from None
    return config, {key: pulumi.Output.secret(value) for key, value in secrets.items()}


def open_management_tunnel(
    config: StackConfig,
    specs: Sequence[ServiceSpec],
    docker_host: str | None = None,
    ssh_options: Sequence[str] = (),
) -> str:
    """Open the SSH tunnel to PostgreSQL and Grafana for this operation, when the stack uses it,
    through `docker_host` (default: the stack's dockerHost); returns the tunnel's local address."""
    if not config.tunnel_enabled or under_mocks():
        return config.database.host
    try:
        # The language host is this process's parent; the engine stops it last, after deletes.
        open_tunnel(
            parse_ssh_target(docker_host or config.docker_host),
            tunnel_forwards(config, specs),
            watch_pid=os.getppid(),
            ssh_options=ssh_options,
        )
    except TunnelError as exc:
        raise pulumi.RunError(f"tunnel: {exc}") from None
    return config.database.host


def warn_if_domain_elsewhere(domain: str, ipv4: str) -> None:
    """Warn (in preview and up) while `domain` does not resolve to the managed host's address,
    since certbot cannot get the certificate until it does."""
    if under_mocks():
        return
    try:
        resolved = sorted({info[4][0] for info in socket.getaddrinfo(domain, 443, socket.AF_INET)})
    except OSError:
        resolved = []
    problem = dns_problem(domain, ipv4, [str(address) for address in resolved])
    if problem is not None:
        pulumi.log.warn(problem)


def reach_host(config: StackConfig, specs: Sequence[ServiceSpec]) -> HostAccess | None:
    """Make the Docker host reachable: create the managed host (host.mode: hetzner) and say how
    the platform reaches it, or, for an existing host, open its tunnel now, before any resource
    (None: the platform uses dockerHost)."""
    if not config.host.managed:
        open_management_tunnel(config, specs)
        return None
    host = ManagedHost(
        "investment-host",
        ManagedHostArgs(
            host=config.host,
            plan=HOST_PLANS[config.host_plan],
            name=config.server_name,
            stack=config.stack,
            wait_script=BOOTSTRAP_WAIT.read_text(),
        ),
    )
    # The tunnel can open only once the host has booted: in an apply on its endpoint, which the
    # engine resolves after the bootstrap wait (and not at all in a first preview).
    ready = pulumi.Output.all(host.docker_host, host.ssh_options).apply(
        lambda values: open_management_tunnel(config, specs, values[0], values[1])
    )
    host.ipv4.apply(lambda ipv4: warn_if_domain_elsewhere(config.domain, ipv4))
    pulumi.export(
        "host",
        {
            "serverType": HOST_PLANS[config.host_plan].server_type,
            "location": config.host.location,
            "ipv4": host.ipv4,
            "ipv6": host.ipv6,
            "knownHosts": host.known_hosts,
            "dockerVersion": host.docker_version,
        },
    )
    return HostAccess(
        docker_host=host.docker_host, ssh_options=host.ssh_options, management_ready=ready
    )


def main() -> None:
    """Build the platform for the current stack and export what it is and costs."""
    config, secrets = load_stack()
    specs = resolve_specs(config)
    access = reach_host(config, specs)
    platform = Platform(
        "investment", PlatformArgs(config=config, specs=specs, secrets=secrets, access=access)
    )
    if config.github is not None:
        WorkflowFiles("investment-app-ci", config.github)
    for key, value in summary(platform, config).items():
        pulumi.export(key, value)
