"""A throwaway OpenSSH server on loopback, and an ssh client configured to trust only it.

Debian's sshd runs with its own config, host key and authorized key in a temporary directory; the
client side is a wrapper `ssh` first on PATH that adds `-F` with a config naming the client key
and a known_hosts file holding exactly the server's host key: the same strict host-key checking
the program relies on, without touching the real ~/.ssh.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.tools import free_port, require_binary, require_root


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return (path.with_suffix(".pub")).read_text().strip()


@dataclass
class SshServer:
    """A running sshd and the directory of a client `ssh` that trusts it."""

    port: int
    user: str
    host_public_key: str
    client_bin: Path
    """Put first on PATH: its `ssh` trusts only this server's host key."""
    known_hosts: Path
    client_key: Path
    """The key the server admits (for clients that trust the server some other way)."""

    @property
    def docker_host(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"


def write_client(directory: Path, key: Path, known_hosts: Path) -> Path:
    """A directory holding an `ssh` wrapper that uses `key` and trusts only `known_hosts`."""
    real_ssh = require_binary("ssh")
    config = directory / "ssh_config"
    config.write_text(
        f"Host *\n  IdentityFile {key}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {known_hosts}\n  GlobalKnownHostsFile /dev/null\n"
    )
    bindir = directory / "bin"
    bindir.mkdir()
    wrapper = bindir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec {real_ssh} -F {config} "$@"\n')
    wrapper.chmod(0o755)
    return bindir


@contextmanager
def ssh_server(extra_config: Sequence[str] = ()) -> Iterator[SshServer]:
    """Start sshd on a free loopback port (root only: it logs in as root with a key);
    `extra_config` lines are added to its sshd_config."""
    require_root("sshd switches to the logged-in user")
    sshd = require_binary("sshd", "/usr/sbin")
    require_binary("ssh-keygen")
    root = Path(tempfile.mkdtemp(prefix="sshd-"))
    root.chmod(0o700)
    host_key = root / "host_ed25519"
    host_public = _keygen(host_key)
    client_key = root / "client_ed25519"
    (root / "authorized_keys").write_text(_keygen(client_key) + "\n")
    port = free_port()
    (root / "sshd_config").write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"PidFile {root / 'sshd.pid'}",
                f"AuthorizedKeysFile {root / 'authorized_keys'}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "UsePAM no",
                "StrictModes no",
                "AllowTcpForwarding yes",
                "LogLevel ERROR",
                *extra_config,
                "",
            ]
        )
    )
    # sshd refuses to start without its privilege separation directory.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = subprocess.Popen(
        [sshd, "-D", "-e", "-f", str(root / "sshd_config")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    err = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"sshd did not start: {err}") from None
                time.sleep(0.1)
        known_hosts = root / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {host_public}\n")
        client = root / "client"
        client.mkdir()
        yield SshServer(
            port=port,
            user="root",
            host_public_key=host_public,
            client_bin=write_client(client, client_key, known_hosts),
            known_hosts=known_hosts,
            client_key=client_key,
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stderr:
            process.stderr.close()
        shutil.rmtree(root, ignore_errors=True)
