"""A network namespace of its own for the servers a test starts (root only; CI runs as root).

Inside it every port is free (80, 443, 5432, 6379, 9090 and Docker's DNS address 127.0.0.11:53),
so servers run with their containers' real ports and host names, and nothing on the host sees
them. Addresses are added to the namespace's loopback as /32s, so one namespace can play the
internal network (172.30.0.x), the VPS's public address and clients on the internet at once.

Commands can also run in a private mount namespace: a directory bound over a path the consumer
insists on (/etc/letsencrypt/live/..., /etc/prometheus) or a tmpfs over one (/run), seen by that
process only. A missing mount point is created for the test and removed afterwards.

Every process is started through `Namespace.start` and stopped by its id when the namespace
closes; anything still running inside the namespace after that (a daemon's children) is killed
by the ids `ip netns pids` reports, before the namespace is deleted.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.tools import require_binary, require_root

_COUNTER = itertools.count()
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class Process:
    """A process started in the namespace, with its combined output in `log`."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def running(self) -> bool:
        return self.popen.poll() is None


@dataclass
class Namespace:
    """One network namespace with its loopback up; see the module docstring."""

    name: str
    workdir: Path
    processes: list[Process] = field(default_factory=list)
    created_mount_points: list[Path] = field(default_factory=list)

    def argv(
        self,
        *args: str,
        binds: Mapping[str, Path] | None = None,
        tmpfs: Sequence[str] = (),
    ) -> list[str]:
        """The command line that runs `args` inside the namespace (and its own mounts)."""
        prefix = ["ip", "netns", "exec", self.name]
        if not binds and not tmpfs:
            return [*prefix, *args]
        script = ["set -e"]
        script += [f"mount -t tmpfs tmpfs {shlex.quote(t)}" for t in tmpfs]
        for target, source in (binds or {}).items():
            self._mount_point(Path(target), is_dir=Path(source).is_dir())
            script.append(f"mount --bind {shlex.quote(str(source))} {shlex.quote(target)}")
        script.append('exec "$@"')
        return [
            *prefix,
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            "; ".join(script),
            "sh",
            *args,
        ]

    def _mount_point(self, path: Path, *, is_dir: bool) -> None:
        if path.exists():
            return
        missing = [p for p in [path, *path.parents] if not p.exists()]
        if is_dir:
            path.mkdir(parents=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        # Deepest first, so removal can go in list order.
        self.created_mount_points.extend(missing)

    def run(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        timeout: float = 60,
        binds: Mapping[str, Path] | None = None,
        tmpfs: Sequence[str] = (),
        cwd: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command to completion inside the namespace; never raises on its exit status."""
        return subprocess.run(
            self.argv(*args, binds=binds, tmpfs=tmpfs),
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=cwd,
        )

    def start(
        self,
        name: str,
        *args: str,
        env: Mapping[str, str] | None = None,
        binds: Mapping[str, Path] | None = None,
        tmpfs: Sequence[str] = (),
        cwd: Path | None = None,
    ) -> Process:
        """Start a long-running server inside the namespace; its output goes to a log file."""
        log = self.workdir / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                self.argv(*args, binds=binds, tmpfs=tmpfs),
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
            )
        process = Process(name=name, popen=popen, log=log)
        self.processes.append(process)
        return process

    def start_dns(self, records: Mapping[str, str]) -> Process:
        """tests/support/dns.py on 127.0.0.11 (Docker's embedded DNS address), answering `records`
        (host name -> IPv4 address); returns once it answers."""
        ready = self.workdir / "dns.ready"
        dns = self.start(
            "dns",
            sys.executable,
            str(Path(__file__).with_name("dns.py")),
            str(ready),
            "127.0.0.11",
            *(f"{name}={address}" for name, address in records.items()),
        )
        wait_until(ready.exists, "DNS responder ready", dns)
        return dns

    def add_address(self, address: str) -> None:
        """Give the namespace's loopback one more address (a /32)."""
        subprocess.run(
            ["ip", "-n", self.name, "addr", "add", f"{address}/32", "dev", "lo"],
            check=True,
            capture_output=True,
        )

    def wait_for_port(self, host: str, port: int, process: Process, timeout: float = 30) -> None:
        """Wait until something accepts TCP connections on host:port inside the namespace."""
        probe = (
            "import socket,sys; s=socket.socket(); s.settimeout(1); "
            f"sys.exit(s.connect_ex(({host!r}, {port})))"
        )
        python = require_binary("python3")
        wait_until(
            lambda: self.run(python, "-c", probe, timeout=10).returncode == 0,
            f"{process.name} listening on {host}:{port}",
            process,
            timeout,
        )

    def close(self) -> None:
        for process in reversed(self.processes):
            _stop(process.popen)
        # Daemons (pg_ctl's postmaster) and children of the servers started above.
        pids = subprocess.run(
            ["ip", "netns", "pids", self.name], capture_output=True, text=True, check=False
        ).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, check=False)
        for path in self.created_mount_points:
            with contextlib.suppress(OSError):
                path.rmdir() if path.is_dir() else path.unlink()


def _stop(popen: subprocess.Popen[bytes]) -> None:
    if popen.poll() is not None:
        return
    popen.terminate()
    try:
        popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        popen.kill()
        popen.wait(timeout=10)


def wait_until(
    ready: Callable[[], bool], what: str, process: Process | None = None, timeout: float = 30
) -> None:
    """Poll `ready` until it holds; fail with the process's output if it dies or time runs out."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and not process.running():
            raise RuntimeError(
                f"{process.name} exited with {process.popen.returncode} before {what}:\n"
                f"{process.output()}"
            )
        if time.monotonic() > deadline:
            output = process.output() if process is not None else ""
            raise TimeoutError(f"no {what} after {timeout} s:\n{output}")
        time.sleep(0.1)


@contextlib.contextmanager
def namespace(workdir: Path, addresses: Sequence[str] = ()) -> Iterator[Namespace]:
    """A fresh network namespace with loopback up and `addresses` on it, deleted on exit along
    with everything started in it."""
    require_root("network namespaces (ip netns add)")
    require_binary("ip", "/usr/sbin", "/sbin")
    require_binary("unshare", "/usr/bin")
    name = f"invtest-{os.getpid()}-{next(_COUNTER)}"
    subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True)
    ns = Namespace(name=name, workdir=workdir)
    try:
        subprocess.run(
            ["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True
        )
        for address in addresses:
            ns.add_address(address)
        yield ns
    finally:
        ns.close()
