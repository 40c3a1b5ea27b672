"""The SSH tunnel `pulumi up` reaches the host's internal network through, opened by the program.

PostgreSQL and Grafana publish no port on the VPS; Pulumi's postgresql provider (roles, extensions),
the search-schema resource and the Grafana provider reach them at their fixed addresses on the
internal Docker network, which only the host can route to. Instead of a manual `ssh -L` before each
operation, the program opens the tunnel itself, for the length of the deployment, in CI and on a
laptop alike, using the same SSH access the Docker provider already needs (`dockerHost: ssh://...`).

The tunnel must outlive the program: the engine deletes resources the program no longer declares
after the program has exited, and the postgresql provider needs the tunnel for that too. So the
program starts a small watchdog process (`python -m program.tunnel`) in a session of its own; it
runs `ssh -N -L ...` and stops it when the process it watches exits (the Pulumi language host, which
the engine stops at the very end of the operation) or after a hard limit.

Host keys are verified (`StrictHostKeyChecking=yes`, `BatchMode=yes`): the machine running Pulumi
must already trust the host's key, as it must for the Docker provider.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from model.topology import Forward
from program.processes import stop

ROOT = Path(__file__).resolve().parent.parent
MAX_LIFETIME_S = 3 * 3600
"""A tunnel never outlives this, whatever happens to the process it watches."""
POLL_S = 0.5


class TunnelError(RuntimeError):
    """The tunnel could not be opened; the message says why in one line."""


@dataclass(frozen=True)
class SshTarget:
    """Where ssh logs in: `ssh://[user@]host[:port]` from dockerHost."""

    host: str
    user: str | None = None
    port: int | None = None


def parse_ssh_target(docker_host: str) -> SshTarget:
    """The SSH login of an `ssh://[user@]host[:port]` Docker endpoint (already validated)."""
    if not docker_host.startswith("ssh://"):
        raise ValueError(f"{docker_host!r} is not an ssh:// endpoint")
    user, _, hostport = docker_host.removeprefix("ssh://").rpartition("@")
    host, _, port = hostport.partition(":")
    return SshTarget(host=host, user=user or None, port=int(port) if port else None)


def ssh_command(
    target: SshTarget, forwards: Sequence[Forward], ssh: str = "ssh", options: Sequence[str] = ()
) -> list[str]:
    """The ssh command line: every value is its own argument, and `--` ends the options, so no
    host name or user can turn into an option. `options` come first, so they win over the
    defaults (ssh keeps an option's first value): the managed host's pinned key."""
    command = [
        ssh,
        "-N",
        "-T",
        *options,
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ExitOnForwardFailure=yes",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=3",
        "-o",
        "ConnectTimeout=15",
    ]
    for forward in forwards:
        command += [
            "-L",
            f"127.0.0.1:{forward.local_port}:{forward.remote_host}:{forward.remote_port}",
        ]
    if target.port is not None:
        command += ["-p", str(target.port)]
    if target.user is not None:
        command += ["-l", target.user]
    return [*command, "--", target.host]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Tunnel:
    """A running tunnel: its watchdog process and where it logs ssh's messages."""

    process: subprocess.Popen[bytes]
    log: Path

    def close(self) -> None:
        """Stop the watchdog and with it ssh (tests; under Pulumi the watchdog stops itself)."""
        stop(self.process, grace_s=10)


def _first_line(log: Path) -> str:
    lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "ssh exited without a message"


def open_tunnel(
    target: SshTarget,
    forwards: Sequence[Forward],
    *,
    watch_pid: int,
    timeout_s: float = 30.0,
    max_lifetime_s: int = MAX_LIFETIME_S,
    ssh_options: Sequence[str] = (),
) -> Tunnel:
    """Open the tunnel and return once every local port accepts connections.

    Raises TunnelError when a local port is taken, ssh is missing, or ssh exits first (unknown host
    key, refused login, unreachable host): the message is ssh's own last line.
    """
    ssh = shutil.which("ssh")
    if ssh is None:
        raise TunnelError("ssh is not installed on this machine (the tunnel runs ssh -L)")
    # A tunnel of the previous operation stops within POLL_S of its engine: give it that long.
    deadline = time.monotonic() + 3
    busy = [f.local_port for f in forwards if port_open(f.local_port)]
    while busy and time.monotonic() < deadline:
        time.sleep(POLL_S)
        busy = [f.local_port for f in forwards if port_open(f.local_port)]
    if busy:
        ports = ", ".join(f"127.0.0.1:{p}" for p in busy)
        raise TunnelError(
            f"{ports} is already in use; stop whatever listens there (a manual tunnel?) or choose "
            "other ports (database.port, tunnel.grafanaPort)"
        )
    fd, log_name = tempfile.mkstemp(prefix="investment-tunnel-", suffix=".log")
    os.close(fd)
    log = Path(log_name)
    command = [
        sys.executable,
        "-m",
        "program.tunnel",
        "--watch-pid",
        str(watch_pid),
        "--max-seconds",
        str(max_lifetime_s),
        "--log",
        str(log),
        "--",
        *ssh_command(target, forwards, ssh, ssh_options),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own session: Ctrl-C in the terminal or the end of the program does not stop it; the
        # watchdog decides when the tunnel ends.
        start_new_session=True,
    )
    tunnel = Tunnel(process=process, log=log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise TunnelError(f"ssh to {target.host} failed: {_first_line(log)}")
        if all(port_open(f.local_port) for f in forwards):
            return tunnel
        time.sleep(0.2)
    tunnel.close()
    raise TunnelError(
        f"ssh to {target.host} did not open 127.0.0.1:"
        f"{', '.join(str(f.local_port) for f in forwards)} within {timeout_s:g} s: "
        f"{_first_line(log)}"
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def watch(command: Sequence[str], watch_pid: int, max_seconds: float, log: Path) -> int:
    """Run `command` (ssh) until it exits, `watch_pid` exits, or `max_seconds` pass."""
    with log.open("ab") as sink:
        child = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=sink, stderr=sink)
    started = time.monotonic()
    try:
        while child.poll() is None:
            if not _alive(watch_pid) or time.monotonic() - started > max_seconds:
                break
            time.sleep(POLL_S)
    finally:
        stop(child, grace_s=5)
    return child.returncode if child.returncode and child.returncode > 0 else 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m program.tunnel --watch-pid PID --max-seconds N --log FILE -- ssh ...`."""
    import signal

    parser = argparse.ArgumentParser(prog="python -m program.tunnel")
    parser.add_argument("--watch-pid", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=MAX_LIFETIME_S)
    parser.add_argument("--log", type=Path, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    # TERM (Tunnel.close) ends the watch loop like the watched process ending does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    return watch(command, args.watch_pid, args.max_seconds, args.log)


if __name__ == "__main__":
    sys.exit(main())
