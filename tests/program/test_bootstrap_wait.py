"""The wait between the managed host's creation and the Docker provider's first connection, run
exactly as `pulumi up` runs it (`python3 -c <source>` with its values in the environment) against
a real sshd that the client trusts only through the pinned host key.

The host's `cloud-init` and `docker` are stand-ins on the server's PATH (this machine runs neither
a first boot nor a Docker engine); ssh, sshd, the pinning and the retry logic are real.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from model.host import known_hosts_line, pinned_host_key_options
from program.main import BOOTSTRAP_WAIT
from tests.support.sshd import SshServer, ssh_server, write_client

CLOUD_INIT = """#!/bin/sh
# Stand-in for cloud-init on the host: `status --wait` exits as the real one does.
if [ -e "$(dirname "$0")/boot-failed" ]; then
  [ "$2" = "--wait" ] && exit 1
  echo "status: error"; exit 1
fi
[ "$2" = "--wait" ] && exit 0
echo "status: done"
"""
DOCKER = """#!/bin/sh
echo "docker 20.10.24+dfsg1"
"""


@pytest.fixture(scope="module")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("host-bin")
    for name, text in (("cloud-init", CLOUD_INIT), ("docker", DOCKER)):
        path = directory / name
        path.write_text(text)
        path.chmod(0o755)
    return directory


@pytest.fixture(scope="module")
def host(stubs: Path) -> Iterator[SshServer]:
    with ssh_server([f"SetEnv PATH={stubs}:/usr/bin:/bin"]) as server:
        yield server


@pytest.fixture
def untrusting_ssh(host: SshServer, tmp_path: Path) -> Path:
    """A client with the admitted key and an empty known_hosts: only the pin can vouch."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    client = tmp_path / "client"
    client.mkdir()
    return write_client(client, host.client_key, empty)


def run_wait(
    client_bin: Path, port: int, public_key: str, timeout_s: float = 20
) -> subprocess.CompletedProcess[str]:
    options = pinned_host_key_options(known_hosts_line("127.0.0.1", public_key, port))
    env = {
        "PATH": f"{client_bin}:/usr/bin:/bin",
        "INVESTMENT_HOST": "127.0.0.1",
        "INVESTMENT_SSH_USER": "root",
        "INVESTMENT_SSH_PORT": str(port),
        "INVESTMENT_SSH_OPTIONS": json.dumps(options),
        "INVESTMENT_TIMEOUT_S": str(timeout_s),
    }
    return subprocess.run(
        ["python3", "-c", BOOTSTRAP_WAIT.read_text()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.sshd
def test_the_pinned_key_alone_lets_the_wait_through(host, untrusting_ssh):
    result = run_wait(untrusting_ssh, host.port, host.host_public_key)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "docker 20.10.24+dfsg1\n"


@pytest.mark.sshd
def test_without_the_pin_the_same_client_refuses_the_host(host, untrusting_ssh):
    # The control: the client's own known_hosts is empty, so plain strict checking fails.
    strict = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
    result = subprocess.run(
        [
            str(untrusting_ssh / "ssh"),
            *strict,
            "-p",
            str(host.port),
            "-l",
            "root",
            "--",
            "127.0.0.1",
            "true",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 255
    assert "Host key verification failed." in result.stderr


@pytest.mark.sshd
def test_another_host_key_fails_at_once_with_one_line(host, untrusting_ssh, tmp_path):
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    started = time.monotonic()
    result = run_wait(untrusting_ssh, host.port, other.with_suffix(".pub").read_text())
    assert time.monotonic() - started < 15, "a wrong host key is not worth waiting for"
    assert result.returncode == 1
    assert result.stderr == (
        "bootstrap wait: 127.0.0.1 presents another SSH host key than the pinned one: "
        "Host key verification failed.\n"
    )


@pytest.mark.sshd
def test_a_failed_first_boot_is_reported_not_waited_out(host, untrusting_ssh, stubs):
    flag = stubs / "boot-failed"
    flag.write_text("")
    try:
        result = run_wait(untrusting_ssh, host.port, host.host_public_key)
    finally:
        flag.unlink()
    assert result.returncode == 1
    assert result.stderr == (
        "bootstrap wait: 127.0.0.1's first boot failed (cloud-init: status: error); see "
        "/var/log/cloud-init-output.log\n"
    )


@pytest.mark.sshd
def test_a_host_that_never_answers_times_out_with_ssh_s_reason(host, untrusting_ssh):
    with ssh_server() as gone:
        port = gone.port
    result = run_wait(untrusting_ssh, port, host.host_public_key, timeout_s=1)
    assert result.returncode == 1
    assert result.stderr.startswith("bootstrap wait: 127.0.0.1 was not ready within 1 s: ")
    assert "Connection refused" in result.stderr


def test_bad_environment_is_a_usage_error():
    result = subprocess.run(
        [sys.executable, "-c", BOOTSTRAP_WAIT.read_text()],
        env={"PATH": os.environ["PATH"], "INVESTMENT_HOST": "127.0.0.1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr == "bootstrap wait: bad environment: 'INVESTMENT_SSH_USER'\n"
