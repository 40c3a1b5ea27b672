"""A real cluster with assets/backup/pitr.sh streaming its WAL: what the PITR tests and
scripts/bench_pitr.py drive. Everything runs as the data directory's owner (the `postgres` system
user when the tests run as root), as the backup container runs as uid 70 in production."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.support.postgres import PostgresServer, start_server
from tests.support.tools import ROOT, free_port

PITR = ROOT / "assets" / "backup" / "pitr.sh"
OFFSITE = ROOT / "assets" / "backup" / "offsite.sh"

# The image's tools: busybox applets, bash, flock, and PostgreSQL's client and server binaries.
_APPLETS = [
    "awk",
    "basename",
    "cat",
    "chmod",
    "cp",
    "cut",
    "date",
    "dirname",
    "du",
    "env",
    "find",
    "grep",
    "gzip",
    "head",
    "id",
    "ls",
    "mkdir",
    "mktemp",
    "mv",
    "printf",
    "rm",
    "sed",
    "sh",
    "sha256sum",
    "sleep",
    "sort",
    "stat",
    "sync",
    "tail",
    "tar",
    "timeout",
    "touch",
    "tr",
    "truncate",
    "wc",
]
_PG_TOOLS = (
    *("psql", "pg_ctl", "postgres", "pg_controldata", "pg_verifybackup", "pg_waldump"),
    *("pg_receivewal", "pg_basebackup", "pg_archivecleanup", "pg_isready"),
)


def image_path(server: PostgresServer, *extra: str) -> Path:
    """A PATH directory (readable by every user) holding only what the image provides, plus the
    named `extra` programs when installed (restic, for the off-site container)."""
    busybox = shutil.which("busybox")
    assert busybox, (
        "busybox runs the backup scripts as the alpine image would: apt-get install busybox"
    )
    bindir = Path(tempfile.mkdtemp(prefix="pitr-bin-"))
    bindir.chmod(0o755)
    for applet in _APPLETS:
        (bindir / applet).symlink_to(busybox)
    for tool in ("bash", "flock"):
        found = shutil.which(tool)
        assert found, f"{tool} not found"
        (bindir / tool).symlink_to(found)
    for tool in extra:
        found = shutil.which(tool)
        if found:
            (bindir / tool).symlink_to(found)
    for tool in _PG_TOOLS:
        (bindir / tool).symlink_to(server.bindir / tool)
    return bindir


def owned_dir(server: PostgresServer, name: str) -> Path:
    """A new directory beside the server's data directory, owned by the server's user."""
    path = server.datadir.parent / name
    path.mkdir()
    if server.run_as:
        pw = pwd.getpwnam(server.run_as)
        os.chown(path, pw.pw_uid, pw.pw_gid)
    return path


@dataclass
class PitrCluster:
    """A running server, its repository and (once started) its WAL receiver."""

    server: PostgresServer
    repo: Path
    bindir: Path
    receiver: subprocess.Popen[bytes] | None = None
    receiver_log: Path | None = None
    stopped: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": str(self.bindir),
            "LANG": "C.UTF-8",
            "HOME": str(self.repo.parent),
            **self.server.env("postgres"),
            "PITR_DIR": str(self.repo),
            **self.extra_env,
            **extra,
        }

    def command(self, script: Path, *args: str) -> list[str]:
        prefix = ["/usr/sbin/runuser", "-u", self.server.run_as, "--"] if self.server.run_as else []
        shell = "sh" if script == OFFSITE else "bash"  # the restic image has no bash
        return [*prefix, str(self.bindir / shell), str(script), *args]

    def run(
        self,
        *args: str,
        script: Path = PITR,
        timeout: float = 900,
        env: dict[str, str] | None = None,
        **extra: str,
    ) -> subprocess.CompletedProcess[str]:
        """Run `script` (pitr.sh by default) with ARGS as the data directory's owner; `env` and
        `extra` override the environment."""
        return subprocess.run(
            self.command(script, *args),
            env=self.env(**(env or {}), **extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def sql(self, query: str, *params: object) -> list[tuple[object, ...]]:
        with psycopg.connect(self.server.dsn("postgres"), autocommit=True) as conn:
            cur = conn.execute(query, params or None)
            return cur.fetchall() if cur.description else []

    def start_receiver(self) -> None:
        """Start `pitr.sh receive` and wait until its slot is active."""
        self.receiver_log = self.repo.parent / "receiver.log"
        with self.receiver_log.open("ab") as out:
            self.receiver = subprocess.Popen(
                self.command(PITR, "receive"),
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for(
            lambda: self.sql("SELECT active FROM pg_replication_slots") == [(True,)],
            "the receiver's slot to become active",
        )

    def wait_for_base(self, count: int = 1) -> None:
        """Wait until the repository holds `count` base backups (the receiver takes the first by
        itself once it streams)."""
        self.wait_for(
            lambda: len(list((self.repo / "base").glob("*/meta"))) >= count,
            f"{count} base backup(s) in {self.repo}",
            600,
        )

    def stop_receiver(self, sig: int = signal.SIGTERM) -> None:
        """Stop the receiver's whole process group (SIGKILL: as a dead host would)."""
        if self.receiver is not None and self.receiver.poll() is None:
            os.killpg(self.receiver.pid, sig)
            self.receiver.wait(timeout=30)
        self.receiver = None

    def caught_up(self) -> bool:
        """True once the receiver has flushed all WAL the server wrote."""
        rows = self.sql(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots"
        )
        return bool(rows) and rows[0][0] == 0

    def wait_caught_up(self) -> None:
        self.wait_for(self.caught_up, "the receiver to flush all WAL")

    @staticmethod
    def wait_for(check: object, what: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if callable(check) and check():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def crash(self) -> None:
        """Kill the postmaster with SIGKILL, as an OOM kill or a dead container would."""
        pid = int(self.server.datadir.joinpath("postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
        self.wait_for(lambda: not _alive(pid), "the postmaster to die", 30)
        # Its children notice the dead postmaster and exit; wait so the port is free again.
        time.sleep(1)
        self.stopped = True

    def stop_server(self) -> None:
        self.server.stop()
        self.stopped = True

    def start_server(self) -> None:
        """Start the server again on its data directory (after a restore)."""
        opts = f"-c listen_addresses=127.0.0.1 -c port={self.server.port} -k {self.repo.parent}"
        subprocess.run(
            self.server._cmd(
                str(self.server.bindir / "pg_ctl"),
                "-D",
                str(self.server.datadir),
                "-l",
                str(self.repo.parent / "log-restarted"),
                "-o",
                opts,
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )
        self.stopped = False

    def close(self) -> None:
        self.stop_receiver()
        self.server.destroy()


class Writer(threading.Thread):
    """Commits one row at a time until the server goes away or `stop()`; counts acknowledged
    commits and when each was acknowledged (time.monotonic)."""

    def __init__(
        self,
        cluster: PitrCluster,
        first: int,
        statement: str = "INSERT INTO trades VALUES (%s, 'trade')",
    ) -> None:
        super().__init__(daemon=True)
        self.statement = statement
        self.cluster = cluster
        self.first = first
        self.next_id = first
        self.acknowledged = first - 1
        self.acked_at: list[float] = []
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=30)

    def run(self) -> None:
        try:
            with psycopg.connect(self.cluster.server.dsn("postgres"), autocommit=True) as conn:
                while not self._stopping.is_set():
                    conn.execute(self.statement, (self.next_id,))
                    self.acked_at.append(time.monotonic())
                    self.acknowledged = self.next_id
                    self.next_id += 1
        except psycopg.Error:
            return

    def ack_time(self, row_id: int) -> float:
        """When row `row_id` (one this writer committed) was acknowledged."""
        return self.acked_at[row_id - self.first]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_pitr_cluster(*, durable: bool = False) -> PitrCluster:
    """A new server with an empty repository beside it (receiver not started)."""
    server = start_server(durable=durable)
    repo = owned_dir(server, "pitr")
    # The receiver's loop checks every second, so its automatic first base backup comes at once.
    return PitrCluster(
        server=server,
        repo=repo,
        bindir=image_path(server, "restic"),
        extra_env={"PITR_LOOP_SECONDS": "1"},
    )


@contextmanager
def s3_server(timeout_s: float = 60) -> Iterator[str]:
    """moto's S3 API (server mode) on a free loopback port, as its own process; yields its
    endpoint URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
