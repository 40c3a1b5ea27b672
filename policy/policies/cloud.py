"""Policies on the managed host (Hetzner Cloud): what its firewall admits, how SSH trusts it, and
that the server is the plan the cost report prices."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from ipaddress import ip_network
from typing import Any, Final

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .budget import stack_outputs
from .core import UNKNOWN, items, lookup, resource_policy, stack_policy

SERVER: Final = "hcloud:index/server:Server"
FIREWALL: Final = "hcloud:index/firewall:Firewall"
HOST_KEY: Final = "tls:index/privateKey:PrivateKey"
DOCKER_PROVIDER: Final = "pulumi:providers:docker"
COMMAND: Final = "command:local:Command"
WEB_PORTS: Final = ("80", "443")
UNSAFE_CHECKING: Final = ("no", "off", "accept-new", "ask")
"""StrictHostKeyChecking values that let an unknown key through (or would prompt in CI)."""


def _open_to_all(source: str) -> bool:
    try:
        return ip_network(source, strict=False).prefixlen == 0
    except ValueError:
        return True  # what cannot be read cannot be vouched for


def validate_firewall(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Inbound rules admit TCP 80 and 443, and SSH (22) from admin networks, nothing else."""
    if args.resource_type != FIREWALL:
        return
    for rule in items(lookup(args.props, "rules")):
        if lookup(rule, "direction") != "in":
            continue
        protocol, port = lookup(rule, "protocol"), lookup(rule, "port")
        if UNKNOWN in (protocol, port):
            continue
        sources = [s for s in items(lookup(rule, "sourceIps")) if isinstance(s, str)]
        if protocol == "tcp" and port in WEB_PORTS:
            continue
        if protocol == "tcp" and port == "22":
            world = [s for s in sources if _open_to_all(s)]
            if world:
                report(
                    f"firewall '{args.name}' admits SSH from {', '.join(world)}, the whole "
                    "internet; list the admins' networks in host.adminNetworks instead.",
                    args.urn,
                )
            continue
        report(
            f"firewall '{args.name}' admits {protocol} port {port or 'any'} from "
            f"{', '.join(sources) or 'nowhere'}; only 80 and 443 (public) and 22 (admin networks) "
            "may be open. Remove the rule (components/host.py firewall_rules).",
            args.urn,
        )


def _options(value: Any) -> list[str]:
    """ssh options as a list: provider config arrives JSON-encoded, resource inputs as lists."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return [o for o in items(value) if isinstance(o, str)]


def _option(options: list[str], name: str) -> Iterator[str]:
    for option in options:
        key, sep, value = option.partition("=")
        if sep and key.strip().lower() == name.lower():
            yield value.strip()


def _trust_problems(options: list[str], pinned_key: str | None) -> list[str]:
    problems = [
        f"StrictHostKeyChecking={value}"
        for value in _option(options, "StrictHostKeyChecking")
        if value.lower() in UNSAFE_CHECKING
    ]
    if not any(v.lower() == "yes" for v in _option(options, "StrictHostKeyChecking")):
        problems.append("no StrictHostKeyChecking=yes")
    pinned = [v.split()[-2:] for v in _option(options, "KnownHostsCommand")]
    if not pinned:
        problems.append("no pinned host key (KnownHostsCommand)")
    elif pinned_key is not None and pinned[0] != pinned_key.split()[:2]:
        problems.append("the pinned key is not the host key the program generated")
    return problems


def validate_host_key_pinned(
    args: StackValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """With a managed server, Docker's SSH and the bootstrap wait accept only the generated host
    key; no SSH client anywhere trusts an unknown key."""
    resources: list[PolicyResource] = list(args.resources)
    managed = any(r.resource_type == SERVER for r in resources)
    keys = [lookup(r.props, "publicKeyOpenssh") for r in resources if r.resource_type == HOST_KEY]
    pinned_key = keys[0] if keys and isinstance(keys[0], str) else None
    for resource in resources:
        if resource.resource_type == DOCKER_PROVIDER:
            options = _options(lookup(resource.props, "sshOpts"))
            host = lookup(resource.props, "host")
        elif resource.resource_type == COMMAND:
            options = _options(
                lookup(lookup(resource.props, "environment"), "INVESTMENT_SSH_OPTIONS")
            )
            host = "ssh://" if options else None
        else:
            continue
        if not isinstance(host, str) or not host.startswith("ssh://"):
            continue
        if managed:
            problems = _trust_problems(options, pinned_key)
        else:
            problems = [
                f"StrictHostKeyChecking={v}"
                for v in _option(options, "StrictHostKeyChecking")
                if v.lower() in UNSAFE_CHECKING
            ]
        if problems:
            report(
                f"'{resource.name}' reaches its host over SSH with {'; '.join(problems)}: a "
                "man in the middle would get the Docker socket. Pass the managed host's "
                "ssh_options (model/host.py pinned_host_key_options).",
                resource.urn,
            )


def validate_server_is_priced(
    args: StackValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Each managed server is the plan the cost report prices, firewalled, and its backups are
    on the bill when they are on."""
    cost = lookup(stack_outputs(args.resources), "cost")
    priced = lookup(lookup(cost, "plan"), "serverType")
    fixed = lookup(cost, "fixed")
    for resource in args.resources:
        if resource.resource_type != SERVER:
            continue
        server_type = lookup(resource.props, "serverType")
        if server_type is not UNKNOWN and server_type != priced:
            report(
                f"server '{resource.name}' is a {server_type} but the cost report prices "
                f"{priced or 'no Hetzner server'}; create the server from the stack's hostPlan "
                "(components/host.py) so the bill is the one the preview shows.",
                resource.urn,
            )
        firewalls = lookup(resource.props, "firewallIds")
        if firewalls is not UNKNOWN and not list(items(firewalls)):
            report(
                f"server '{resource.name}' has no firewall, so every port it listens on is "
                "public; attach the host's firewall (firewallIds).",
                resource.urn,
            )
        if lookup(resource.props, "backups") is True and lookup(fixed, "host-backups") is None:
            report(
                f"server '{resource.name}' has Hetzner backups on (20% of its price) but the "
                "cost report has no host-backups line; set host.backups so both agree.",
                resource.urn,
            )


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """The managed host's policies, in report order."""
    return [
        resource_policy(
            "firewall-admits-only-web-and-admin-ssh",
            "The host's firewall admits HTTP and HTTPS from anywhere and SSH from admin networks.",
            validate_firewall,
        ),
        stack_policy(
            "host-key-pinned",
            "SSH to the managed host accepts only the host key the program generated.",
            validate_host_key_pinned,
        ),
        stack_policy(
            "server-is-the-priced-plan",
            "Each managed server is the priced plan, firewalled, with its backups on the bill.",
            validate_server_is_priced,
        ),
    ]
