"""The host config (existing or managed), the managed host's billed options, and the SSH options
that pin its host key."""

import json

import pytest

from model.config import ConfigError, load_config, resolve_specs
from model.costdiff import diff_reports
from model.host import (
    Host,
    dns_problem,
    host_options,
    known_hosts_line,
    pinned_host_key_options,
)
from model.hostplans import HOST_PLANS
from model.rightsize import cost_report, current_limits
from model.stackcost import stack_cost

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPtiOFLvacenBdggwQOU1kK+1u7gtmyhZqZg8l/NIKA ops@laptop"
IMAGES = json.dumps({"backend": "ghcr.io/acme/backend:1.2.3", "frontend": "ghcr.io/acme/fe:1.2.3"})
MANAGED = {
    "mode": "hetzner",
    "location": "fsn1",
    "adminNetworks": ["198.51.100.0/24"],
    "sshKeys": [KEY],
}


def prod(host=None, **extra):
    raw = {
        "hostPlan": "hetzner-cx33",
        "images": IMAGES,
        "tls": json.dumps({"mode": "letsencrypt", "email": "ops@example.com"}),
        "domain": "invest.example.com",
    }
    if host is not None:
        raw["host"] = host if isinstance(host, str) else json.dumps(host)
    raw.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()})
    return raw


def test_existing_is_the_default_and_may_be_written_bare():
    assert load_config("prod", prod()).host == Host(mode="existing")
    config = load_config("prod", prod("existing", dockerHost="ssh://deploy@vps.example.com"))
    assert not config.host.managed
    assert config.docker_host == "ssh://deploy@vps.example.com"


def test_a_managed_host_reaches_docker_over_ssh_and_opens_the_tunnel():
    config = load_config("prod", prod(MANAGED))
    assert config.host.managed
    assert config.over_ssh
    assert config.tunnel_enabled
    assert config.server_name == "investment-prod"
    assert [str(n) for n in config.host.admin_networks] == ["198.51.100.0/24"]
    assert config.host.user == "deploy"


def test_pulumi_yamls_default_endpoint_is_not_a_stacks_choice():
    # The engine passes Pulumi.yaml's declared default like any set value.
    raw = prod(MANAGED, dockerHost="unix:///var/run/docker.sock")
    assert load_config("prod", raw).host.managed


def with_host(**changes):
    return {**MANAGED, **changes}


WHERE = "Pulumi.prod.yaml: investment-platform:"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            prod(with_host(location="ash")),
            "host.location: Hetzner sells cx33 in fsn1, nbg1, hel1, not in 'ash'",
        ),
        (
            prod(with_host(adminNetworks=["office"])),
            "host.adminNetworks[0]: 'office' is not a network in CIDR notation "
            "('office' does not appear to be an IPv4 or IPv6 network)",
        ),
        (
            prod(with_host(adminNetworks=["198.51.100.7/24"])),
            "host.adminNetworks[0]: '198.51.100.7/24' is not a network in CIDR "
            "notation (198.51.100.7/24 has host bits set)",
        ),
        (
            prod(with_host(adminNetworks=["198.51.100.0/24", "0.0.0.0/0"])),
            "host.adminNetworks: 0.0.0.0/0 admits SSH from the whole internet; stack 'prod' gets "
            "prod rules: list the admins' (or a VPN's) networks",
        ),
        (
            prod(with_host(adminNetworks=["::/0"])),
            "host.adminNetworks: ::/0 admits SSH from the whole internet; stack 'prod' gets prod "
            "rules: list the admins' (or a VPN's) networks",
        ),
        (
            prod(with_host(sshKeys=[])),
            "host: sshKeys: the managed host (mode: hetzner) needs it",
        ),
        (
            prod(with_host(sshKeys=["ssh-dss AAAAB3NzaC1kc3MAAACBAP"])),
            "host.sshKeys[0]: 'ssh-dss AAAAB3NzaC1kc3MAAACBAP' is not an OpenSSH "
            "public key (`<type> <base64> [comment]`, type one of ssh-ed25519, "
            "ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521, ssh-rsa, "
            "sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com)",
        ),
        (
            prod(with_host(sshKeys=["ssh-rsa " + KEY.split()[1]])),
            "host.sshKeys[0]: 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIPPt...': the key says "
            "ssh-rsa but its data is 'ssh-ed25519'",
        ),
        (
            prod(with_host(sshKeys=["ssh-ed25519 not-base64!"])),
            "host.sshKeys[0]: 'ssh-ed25519 not-base64!': the key's base64 does not decode",
        ),
        (
            prod(with_host(mode="aws")),
            "host.mode: Input should be 'existing' or 'hetzner' (got 'aws')",
        ),
        (
            prod(with_host(size="cx53")),
            "host.size: unknown key",
        ),
        (
            prod({"mode": "existing", "location": "fsn1"}),
            "host: location: only a managed host (mode: hetzner) takes it; an existing host is "
            "reached at dockerHost",
        ),
        (
            prod(MANAGED, dockerHost="ssh://deploy@vps.example.com"),
            "dockerHost: the managed host (host.mode: hetzner) is reached at ssh://deploy@<the "
            "address the program gives it>; remove dockerHost",
        ),
        (
            prod(MANAGED, hostPlan="digitalocean-s-4vcpu-8gb"),
            "hostPlan: 'digitalocean-s-4vcpu-8gb' is a plan the program can price but not create; "
            "the managed host (host.mode: hetzner) needs one of hetzner-cx23, hetzner-cx33",
        ),
        (
            prod(MANAGED, hostPlan="hetzner-cx53"),
            "hostPlan: unknown host plan 'hetzner-cx53'; presets: local, hetzner-cx23, "
            "hetzner-cx33, digitalocean-s-2vcpu-4gb, digitalocean-s-4vcpu-8gb, "
            "linode-g6-standard-2, linode-g6-standard-4",
        ),
    ],
)
def test_bad_host_config_names_the_key(raw, message):
    with pytest.raises(ConfigError) as excinfo:
        load_config("prod", raw)
    assert str(excinfo.value) == WHERE + message


def test_the_server_name_must_be_a_host_name():
    with pytest.raises(ConfigError) as excinfo:
        load_config("Prod_EU", prod(MANAGED))
    assert str(excinfo.value) == (
        "Pulumi.Prod_EU.yaml: investment-platform:host.mode: the managed host is named after "
        "namePrefix and the stack, 'investment-Prod_EU', which must be a host name label "
        "(lower-case letters, digits and inner hyphens, at most 63); rename the stack"
    )


def test_a_dev_stack_may_admit_ssh_from_anywhere():
    raw = prod(with_host(adminNetworks=["0.0.0.0/0"]), tls=json.dumps({"mode": "none"}))
    assert str(load_config("dev-cloud", raw).host.admin_networks[0]) == "0.0.0.0/0"


def test_a_plan_too_small_for_the_limits_is_refused_for_the_managed_host_too():
    with pytest.raises(ConfigError) as excinfo:
        load_config("prod", prod(MANAGED, hostPlan="hetzner-cx23"))
    assert str(excinfo.value).startswith(f"{WHERE}services: ")
    assert "hetzner-cx23" in str(excinfo.value)


def test_the_managed_host_bills_its_ipv4_and_optional_backups():
    plan = HOST_PLANS["hetzner-cx33"]
    assert host_options(Host(), plan) == ()
    managed = Host.model_validate(MANAGED)
    assert [(o.name, o.monthly_usd) for o in host_options(managed, plan)] == [("host-ipv4", 0.58)]
    backed_up = Host.model_validate(with_host(backups=True))
    # 20% of EUR 6.49 at 1.16 USD/EUR: 7.53 * 0.2.
    assert [(o.name, o.monthly_usd) for o in host_options(backed_up, plan)] == [
        ("host-ipv4", 0.58),
        ("host-backups", 1.51),
    ]


def test_the_cost_report_adds_the_managed_hosts_lines_to_the_bill():
    existing = stack_cost(load_config("prod", prod()))
    managed = stack_cost(load_config("prod", prod(with_host(backups=True))))
    assert existing.billed_usd == 7.53
    assert [f.name for f in managed.fixed] == ["host-ipv4", "host-backups"]
    assert managed.billed_usd == round(7.53 + 0.58 + 1.51, 2)
    assert managed.as_output()["plan"]["serverType"] == "cx33"  # type: ignore[index]
    assert managed.as_output()["fixed"] == {"host-ipv4": 0.58, "host-backups": 1.51}


def test_known_hosts_line_names_the_port_off_22():
    public = "ssh-ed25519 AAAAC3Nza ops\n"
    assert known_hosts_line("203.0.113.10", public) == "203.0.113.10 ssh-ed25519 AAAAC3Nza"
    assert known_hosts_line("127.0.0.1", public, 2222) == "[127.0.0.1]:2222 ssh-ed25519 AAAAC3Nza"


def test_pinned_options_accept_exactly_the_key_and_never_trust_on_first_use():
    options = pinned_host_key_options("203.0.113.10 ssh-ed25519 AAAAC3Nza")
    pairs = dict(options[i + 1].split("=", 1) for i in range(0, len(options), 2))
    assert options[::2] == ["-o"] * 6
    assert pairs == {
        "StrictHostKeyChecking": "yes",
        "UserKnownHostsFile": "/dev/null",
        "GlobalKnownHostsFile": "/dev/null",
        "UpdateHostKeys": "no",
        "HostKeyAlgorithms": "ssh-ed25519",
        "KnownHostsCommand": "/bin/echo 203.0.113.10 ssh-ed25519 AAAAC3Nza",
    }


def test_the_cost_diff_of_moving_onto_the_managed_host_is_its_lines():
    existing = stack_cost(load_config("prod", prod())).as_output()
    managed = stack_cost(load_config("prod", prod(with_host(backups=True)))).as_output()
    diff = diff_reports(existing, managed, previous_label="existing", new_label="managed")
    assert [(line.name, line.delta_usd, line.reason) for line in diff.lines] == [
        ("host-ipv4", 0.58, "added"),
        ("host-backups", 1.51, "added"),
    ]
    assert diff.delta_billed_usd == 2.09


def test_dns_problem_until_the_name_leads_to_the_host():
    assert dns_problem("invest.example.com", "203.0.113.10", ["203.0.113.10"]) is None
    assert dns_problem("invest.example.com", "203.0.113.10", []) == (
        "domain invest.example.com resolves to no IPv4 address, not to the managed host's "
        "203.0.113.10: point its A record there (stack output host.ipv4); certbot retries every "
        "5 minutes until it does"
    )
    assert dns_problem("invest.example.com", "203.0.113.10", ["192.0.2.1"]) == (
        "domain invest.example.com resolves to 192.0.2.1, not to the managed host's "
        "203.0.113.10: point its A record there (stack output host.ipv4); certbot retries every "
        "5 minutes until it does"
    )


def test_right_sizing_costs_the_managed_hosts_lines_like_the_stack():
    config = load_config("prod", prod(MANAGED))
    limits = current_limits(resolve_specs(config))
    report = cost_report(config, limits, HOST_PLANS["hetzner-cx33"])
    assert report["fixed"] == {"host-ipv4": 0.58}
    assert report["billedUsd"] == stack_cost(config).billed_usd == 8.11
