"""The managed Docker host on Hetzner Cloud: server, addresses, firewall, SSH trust and bootstrap.

`pulumi up` on a new stack with `host.mode: hetzner` creates, in this order: the server's SSH host
key (pulumi-tls), the deploy key as Hetzner's project key, a primary IPv4 and IPv6 that outlive the
server, a firewall admitting HTTP/HTTPS from anywhere and SSH from the admin networks only, the
server of the stack's host plan with its cloud-config, and a wait until that first boot has
finished and Docker answers. Everything that deploys onto the host depends on that wait.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_hcloud as hcloud
import pulumi_tls as tls

from model.host import DEBIAN_IMAGE, Host, known_hosts_line, pinned_host_key_options
from model.hostplans import HostPlan
from model.labels import STACK_LABEL
from render.cloudinit import HostKey, cloud_config

TYPE_TOKEN = "investment:platform:Host"
BOOTSTRAP_TIMEOUT_S = 900
"""First boot: package upgrade plus Docker install take 2-4 minutes on a CX plan; allow 15."""
WEB_PORTS = ("80", "443")
ANYWHERE = ("0.0.0.0/0", "::/0")


@dataclass
class ManagedHostArgs:
    """What the managed host is made of."""

    host: Host
    """The stack's `host` config (mode hetzner)."""
    plan: HostPlan
    """The stack's host plan: its server type is the server's, so the priced plan is the server."""
    name: str
    """The server's name in the Hetzner project (and the prefix of its addresses and firewall)."""
    stack: str
    """The stack, as a label on every resource."""
    wait_script: str
    """Source of the bootstrap wait (program/bootstrap_wait.py), run with `python3 -c`."""


def firewall_rules(host: Host) -> list[hcloud.FirewallRuleArgs]:
    """Inbound: 80 and 443 from anywhere, 22 from the admin networks; nothing else."""
    web = [
        hcloud.FirewallRuleArgs(
            direction="in",
            protocol="tcp",
            port=port,
            source_ips=list(ANYWHERE),
            description=f"public web ({port})",
        )
        for port in WEB_PORTS
    ]
    ssh = hcloud.FirewallRuleArgs(
        direction="in",
        protocol="tcp",
        port="22",
        source_ips=[str(network) for network in host.admin_networks],
        description="SSH from the admin networks",
    )
    return [*web, ssh]


class ManagedHost(pulumi.ComponentResource):
    """One Hetzner Cloud server the platform runs on, reachable only as the firewall allows."""

    ipv4: pulumi.Output[str]
    """The server's public IPv4 (a primary IP that survives a server replace)."""
    ipv6: pulumi.Output[str]
    """Its public IPv6 network."""
    known_hosts: pulumi.Output[str]
    """The known_hosts line of its host key at its IPv4."""
    ssh_options: pulumi.Output[Sequence[str]]
    """ssh options that accept exactly that key (for Docker, the tunnel, the bootstrap wait)."""
    docker_host: pulumi.Output[str]
    """`ssh://deploy@<ipv4>`, resolved only once the bootstrap has finished."""
    docker_version: pulumi.Output[str]
    """What Docker reported at the end of the bootstrap."""

    def __init__(
        self, name: str, args: ManagedHostArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        host, plan = args.host, args.plan
        assert plan.server_type is not None, "config validation admits only creatable plans"
        labels = {STACK_LABEL: args.stack}
        child = pulumi.ResourceOptions(parent=self)
        self.host_key = tls.PrivateKey(f"{name}-host-key", algorithm="ED25519", opts=child)
        self.ssh_key = hcloud.SshKey(
            f"{name}-ssh-key",
            name=f"{args.name}-deploy",
            public_key=host.ssh_keys[0],
            labels=labels,
            opts=child,
        )
        # Primary IPs of their own, not the server's automatic ones: a replaced server gets the
        # same addresses back, so DNS and every admin's firewall rule keep working.
        self.primary_ipv4, self.primary_ipv6 = (
            hcloud.PrimaryIp(
                f"{name}-{kind}",
                name=f"{args.name}-{kind}",
                type=kind,
                location=host.location,
                assignee_type="server",
                auto_delete=False,
                labels=labels,
                opts=child,
            )
            for kind in ("ipv4", "ipv6")
        )
        self.firewall = hcloud.Firewall(
            f"{name}-firewall",
            name=f"{args.name}-firewall",
            rules=firewall_rules(host),
            labels=labels,
            opts=child,
        )
        # Secret: it carries the host's private key.
        user_data: pulumi.Output[str] = pulumi.Output.all(
            self.host_key.private_key_openssh, self.host_key.public_key_openssh
        ).apply(lambda keys: cloud_config(host, HostKey(keys[0], keys[1])))
        user_data = pulumi.Output.secret(user_data)
        self.server = hcloud.Server(
            f"{name}-server",
            name=args.name,
            server_type=plan.server_type,
            location=host.location,
            image=DEBIAN_IMAGE,
            user_data=user_data,
            ssh_keys=[self.ssh_key.id],
            public_nets=[
                hcloud.ServerPublicNetArgs(
                    ipv4_enabled=True,
                    ipv4=self.primary_ipv4.id.apply(int),
                    ipv6_enabled=True,
                    ipv6=self.primary_ipv6.id.apply(int),
                )
            ],
            firewall_ids=[self.firewall.id.apply(int)],
            backups=host.backups,
            # A smaller plan stays possible: resizing keeps the disk at the smaller size.
            keep_disk=True,
            labels=labels,
            opts=pulumi.ResourceOptions(
                parent=self,
                # The primary IPs and the name can belong to one server at a time.
                delete_before_replace=True,
                # cloud-config and the project key apply at the first boot only, and the provider
                # replaces the server when either changes: a new admin key must not wipe the
                # host. A deliberate rebuild is `pulumi up --replace` (docs/DEPLOYMENT.md).
                ignore_changes=["userData", "sshKeys"],
            ),
        )
        self.ipv4 = self.primary_ipv4.ip_address
        self.ipv6 = self.primary_ipv6.ip_network
        self.known_hosts = pulumi.Output.all(self.ipv4, self.host_key.public_key_openssh).apply(
            lambda values: known_hosts_line(values[0], values[1])
        )
        self.ssh_options = self.known_hosts.apply(pinned_host_key_options)
        self.bootstrap = command.local.Command(
            f"{name}-bootstrap",
            create=args.wait_script,
            interpreter=["python3", "-c"],
            environment={
                "INVESTMENT_HOST": self.ipv4,
                "INVESTMENT_SSH_USER": host.user,
                "INVESTMENT_SSH_PORT": "22",
                "INVESTMENT_SSH_OPTIONS": self.ssh_options.apply(json.dumps),
                "INVESTMENT_TIMEOUT_S": str(BOOTSTRAP_TIMEOUT_S),
            },
            # Wait again whenever the server is a new one.
            triggers=[self.server.id],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.server]),
        )
        self.docker_version = self.bootstrap.stdout
        self.docker_host = pulumi.Output.all(self.ipv4, self.bootstrap.stdout).apply(
            lambda values: f"ssh://{host.user}@{values[0]}"
        )
        self.register_outputs(
            {
                "ipv4": self.ipv4,
                "ipv6": self.ipv6,
                "knownHosts": self.known_hosts,
                "dockerHost": self.docker_host,
                "dockerVersion": self.docker_version,
            }
        )
