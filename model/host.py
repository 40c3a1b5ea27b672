"""The Docker host: either one the owners already run (`host: existing`) or one the program creates
and owns (`host.mode: hetzner`), and how every SSH client trusts it without trust-on-first-use.

Pure: the config model, the prices of the managed host's options, and the SSH options that pin its
host key. The resources are components/host.py's; the cloud-config is render/cloudinit.py's.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from model.base import ConfigModel, Frozen, check_ssh_user
from model.hostplans import EUR_USD, HostPlan

SSH_KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
"""Public key types OpenSSH 9 accepts for login (DSA is gone since 9.8)."""
_COMMENT = re.compile(r"^[\x20-\x7e]{0,200}$")

DEBIAN_IMAGE = "debian-12"
"""The managed host's operating system: the Hetzner image name."""
DOCKER_PACKAGE_VERSION = "20.10.24+dfsg1-*"
"""Debian 12's docker.io, pinned to its upstream version: Debian's own revisions (security fixes,
binary rebuilds) still install, a new upstream version never arrives unannounced."""

IPV4_MONTHLY_EUR = 0.50
IPV4_SOURCE = (
    "docs.hetzner.com/cloud/servers/primary-ips/overview: Primary IPv4 EUR 0.50/month net, IPv6 "
    "free (read 2025-11)"
)
BACKUPS_SHARE = 0.20
BACKUPS_SOURCE = (
    "docs.hetzner.com/cloud/servers/backups-snapshots/overview: backups cost 20% of the server's "
    "price (read 2025-11)"
)


def check_public_key(value: str) -> str:
    """An OpenSSH public key line, `type base64 [comment]`, whose blob names the same type; the
    key goes into the host's authorized_keys, so nothing else may ride along (no options, no
    second line)."""
    parts = value.strip().split(" ", 2)
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        raise ValueError(
            f"{_short(value)} is not an OpenSSH public key (`<type> <base64> [comment]`, type one "
            f"of {', '.join(SSH_KEY_TYPES)})"
        )
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        inner = blob[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError):
        raise ValueError(f"{_short(value)}: the key's base64 does not decode") from None
    if inner != parts[0]:
        raise ValueError(f"{_short(value)}: the key says {parts[0]} but its data is {inner!r}")
    if len(parts) == 3 and not _COMMENT.match(parts[2]):
        raise ValueError(f"{_short(value)}: the comment may hold printable ASCII only")
    return value.strip()


def _short(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "...'"


def check_admin_network(value: object) -> IPv4Network | IPv6Network:
    """A network in CIDR notation without host bits (what Hetzner's firewall API accepts)."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a network in CIDR notation")
    try:
        return ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a network in CIDR notation ({exc})") from None


PublicKey = Annotated[str, AfterValidator(check_public_key)]
AdminNetwork = Annotated[IPv4Network | IPv6Network, BeforeValidator(check_admin_network)]


class Host(ConfigModel):
    """Which Docker host the stack deploys onto.

    `existing`: a host the owners set up themselves, reached at `dockerHost` (docs/MIGRATION.md).
    `hetzner`: the program creates the server of the stack's host plan, its addresses, firewall,
    SSH trust and bootstrap, then deploys onto it (docs/DEPLOYMENT.md).
    """

    mode: Literal["existing", "hetzner"] = "existing"
    """existing: deploy onto `dockerHost`; hetzner: create and own the host."""
    location: str | None = None
    """Hetzner location of the server and its addresses (fsn1, nbg1, hel1 for the CX plans)."""
    admin_networks: tuple[AdminNetwork, ...] = ()
    """Networks SSH (deploys, the tunnel, CI) is admitted from; HTTP and HTTPS are open to all."""
    ssh_keys: tuple[PublicKey, ...] = ()
    """Public keys of the `user` login (operators, CI); the first is also Hetzner's project key,
    so Hetzner never e-mails a root password."""
    user: Annotated[str, AfterValidator(check_ssh_user)] = "deploy"
    """The login of Docker, the tunnel and the bootstrap wait: in the docker group, no password."""
    backups: bool = False
    """Hetzner's daily server backups (7 kept), priced at 20% of the server."""
    swap_mib: int = Field(default=1024, ge=0, le=8192)
    """Swap file for the host's own processes; containers get none (memory_swap equals memory)."""

    @model_validator(mode="before")
    @classmethod
    def _bare_mode(cls, value: Any) -> Any:
        # `host: existing` reads better in a stack file than `host: {mode: existing}`.
        return {"mode": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _fields_of_the_mode(self) -> Host:
        managed = ("location", "admin_networks", "ssh_keys")
        if self.mode == "existing":
            given = [name for name in managed if name in self.model_fields_set]
            if given:
                raise ValueError(
                    f"{_camel(given[0])}: only a managed host (mode: hetzner) takes it; an "
                    "existing host is reached at dockerHost"
                )
            return self
        for name in managed:
            if not getattr(self, name):
                raise ValueError(f"{_camel(name)}: the managed host (mode: hetzner) needs it")
        return self

    @property
    def managed(self) -> bool:
        """Whether the program creates and owns the host."""
        return self.mode != "existing"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class HostOption(Frozen):
    """A billed extra of the managed host, beside the plan's price."""

    name: str
    monthly_usd: float
    source: str


def host_options(host: Host, plan: HostPlan) -> tuple[HostOption, ...]:
    """What the managed host bills beyond its plan: its primary IPv4 and, if chosen, backups."""
    if not host.managed:
        return ()
    options = [
        HostOption(
            name="host-ipv4", monthly_usd=round(IPV4_MONTHLY_EUR * EUR_USD, 2), source=IPV4_SOURCE
        )
    ]
    if host.backups:
        options.append(
            HostOption(
                name="host-backups",
                monthly_usd=round(plan.monthly_usd * BACKUPS_SHARE, 2),
                source=BACKUPS_SOURCE,
            )
        )
    return tuple(options)


def known_hosts_line(address: str, public_key: str, port: int = 22) -> str:
    """The known_hosts entry of a host key at an address (`[addr]:port` off port 22)."""
    key_type, blob, *_ = public_key.split()
    where = address if port == 22 else f"[{address}]:{port}"
    return f"{where} {key_type} {blob}"


def pinned_host_key_options(known_hosts: str) -> list[str]:
    """`ssh` options that accept exactly the host key in `known_hosts` (one known_hosts line).

    The line reaches ssh through KnownHostsCommand (OpenSSH 8.5+), so no file has to exist on the
    machine running Pulumi, and the options mean the same to the Docker provider, the tunnel and the
    bootstrap check. The user's own known_hosts files are not consulted: an old entry for a
    recycled address can neither vouch for nor block the new host.
    """
    key_type = known_hosts.split()[1]
    return [
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "UpdateHostKeys=no",
        "-o",
        f"HostKeyAlgorithms={key_type}",
        "-o",
        f"KnownHostsCommand=/bin/echo {known_hosts}",
    ]


def dns_problem(domain: str, ipv4: str, resolved: Sequence[str]) -> str | None:
    """Why Let's Encrypt cannot issue `domain`'s certificate yet (its name does not lead to the
    managed host), or None when it does."""
    if ipv4 in resolved:
        return None
    found = ", ".join(resolved) if resolved else "no IPv4 address"
    return (
        f"domain {domain} resolves to {found}, not to the managed host's {ipv4}: point its A "
        "record there (stack output host.ipv4); certbot retries every 5 minutes until it does"
    )
