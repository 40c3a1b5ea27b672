"""The managed host's cloud-config, handed to the programs that consume it: Debian's cloud-init
(its schema), OpenSSH's sshd (the hardening drop-in) and apt (the Docker pin)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from model.host import Host
from render.cloudinit import HostKey, cloud_config
from tests.support.tools import require_binary

OPS_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPtiOFLvacenBdggwQOU1kK+1u7gtmyhZqZg8l/NIKA ops"


@pytest.fixture(scope="module")
def host_key(tmp_path_factory: pytest.TempPathFactory) -> HostKey:
    path = tmp_path_factory.mktemp("hostkey") / "ssh_host_ed25519_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)], check=True
    )
    return HostKey(path.read_text(), path.with_suffix(".pub").read_text())


def host(**changes: object) -> Host:
    return Host.model_validate(
        {
            "mode": "hetzner",
            "location": "fsn1",
            "adminNetworks": ["198.51.100.0/24"],
            "sshKeys": [OPS_KEY],
            **changes,
        }
    )


def schema(path: Path) -> subprocess.CompletedProcess[str]:
    binary = require_binary("cloud-init")
    return subprocess.run(
        [binary, "schema", "--config-file", str(path)], capture_output=True, text=True
    )


def test_cloud_init_accepts_the_cloud_config(host_key, tmp_path):
    path = tmp_path / "user-data"
    path.write_text(cloud_config(host(backups=True, swapMib=2048), host_key))
    result = schema(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Valid cloud-config: {path}"


def test_cloud_init_rejects_what_it_would_ignore(host_key, tmp_path):
    # The check is not a formality: the same document with a wrong type is refused.
    data = yaml.safe_load(cloud_config(host(), host_key))
    data["ssh_genkeytypes"] = []
    data["disable_root"] = "yes please"
    path = tmp_path / "user-data"
    path.write_text("#cloud-config\n" + yaml.safe_dump(data))
    result = schema(path)
    assert result.returncode == 1
    assert "disable_root: 'yes please' is not of type 'boolean'" in result.stderr
    assert "ssh_genkeytypes: [] is too short" in result.stderr


def test_the_host_key_login_and_hardening(host_key):
    data = yaml.safe_load(cloud_config(host(), host_key))
    assert cloud_config(host(), host_key).startswith("#cloud-config\n")
    assert data["ssh_keys"] == {
        "ed25519_private": host_key.private_openssh,
        "ed25519_public": host_key.public_openssh.strip(),
    }
    assert (data["ssh_deletekeys"], data["ssh_genkeytypes"]) == (True, ["ed25519"])
    assert (data["disable_root"], data["ssh_pwauth"]) == (True, False)
    assert data["users"] == [
        {
            "name": "deploy",
            "shell": "/bin/bash",
            "lock_passwd": True,
            "ssh_authorized_keys": [OPS_KEY],
        }
    ]
    assert data["runcmd"][0] == ["usermod", "--append", "--groups", "docker", "deploy"]
    assert data["packages"] == ["docker.io", "unattended-upgrades", "apt-listchanges"]
    assert data["swap"] == {"filename": "/swapfile", "size": 1024 * 1024 * 1024}
    assert "swap" not in yaml.safe_load(cloud_config(host(swapMib=0), host_key))


def test_a_key_comment_stays_data(host_key):
    # A comment full of YAML syntax is one list item, not new keys.
    sneaky = OPS_KEY + " x: y # - runcmd: [rm]"
    data = yaml.safe_load(cloud_config(host(sshKeys=[sneaky]), host_key))
    assert data["users"][0]["ssh_authorized_keys"] == [sneaky]
    assert "x" not in data


def _file(data: dict[str, Any], path: str) -> str:
    return str(next(f["content"] for f in data["write_files"] if f["path"] == path))


@pytest.mark.sshd
def test_sshd_accepts_the_hardening_and_applies_it(host_key, tmp_path):
    sshd = require_binary("sshd", "/usr/sbin")
    data = yaml.safe_load(cloud_config(host(), host_key))
    key = tmp_path / "ssh_host_ed25519_key"
    key.write_text(host_key.private_openssh)
    key.chmod(0o600)
    dropin = _file(data, "/etc/ssh/sshd_config.d/10-investment.conf").replace(
        "/etc/ssh/ssh_host_ed25519_key", str(key)
    )
    config = tmp_path / "sshd_config"
    config.write_text(dropin)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    result = subprocess.run(
        [sshd, "-T", "-f", str(config), "-C", "user=deploy,host=h,addr=198.51.100.7"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    effective = dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)
    assert effective["passwordauthentication"] == "no"
    assert effective["kbdinteractiveauthentication"] == "no"
    assert effective["permitrootlogin"] == "no"
    assert effective["allowusers"] == "deploy"
    assert effective["allowtcpforwarding"] == "local"
    assert effective["allowagentforwarding"] == "no"
    assert effective["hostkey"] == str(key)


def test_apt_pins_docker_to_its_upstream_version(host_key, tmp_path):
    apt_cache = require_binary("apt-cache")
    data = yaml.safe_load(cloud_config(host(), host_key))
    parts = tmp_path / "preferences.d"
    parts.mkdir()
    (parts / "investment-docker").write_text(
        _file(data, "/etc/apt/preferences.d/investment-docker")
    )
    result = subprocess.run(
        [apt_cache, "-o", f"Dir::Etc::PreferencesParts={parts}", "policy", "docker.io"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "E:" not in result.stderr
    # Debian 12's own build of 20.10.24 gets the pin's priority (scripts/setup.sh ran apt-get
    # update, so the package lists are there).
    version = re.search(r"^\s+(20\.10\.24\+dfsg1-\S+) (\d+)$", result.stdout, re.MULTILINE)
    assert version is not None, result.stdout
    assert version.group(2) == "1001"
