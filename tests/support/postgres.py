"""A throwaway PostgreSQL cluster: initdb in a temp directory, a free loopback port, pg_ctl.

No mocks: tests that need a database get a real server built from the installed binaries. As root
(CI runs as root and initdb refuses to), the cluster is owned by and run as the `postgres`
system user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"
PASSWORD = "test-only-password"


def find_bindir() -> Path:
    """Return the directory holding initdb/pg_ctl, preferring the newest installed major version."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if candidates:
        return Path(candidates[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError(
        "PostgreSQL server binaries not found: install Debian's postgresql (scripts/setup.sh does)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running cluster; `dsn(db)` gives a libpq connection string for a database on it."""

    bindir: Path
    datadir: Path
    port: int
    run_as: str | None

    @property
    def version(self) -> int:
        return int(self.bindir.parent.name) if self.bindir.parent.name.isdigit() else 0

    def dsn(self, dbname: str = "postgres") -> str:
        return (
            f"host=127.0.0.1 port={self.port} user={SUPERUSER} password={PASSWORD} dbname={dbname}"
        )

    def env(self, dbname: str = "postgres") -> dict[str, str]:
        """The standard libpq variables for this server, for scripts that read PG* variables."""
        return {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": SUPERUSER,
            "PGPASSWORD": PASSWORD,
            "PGDATABASE": dbname,
        }

    def _cmd(self, *args: str) -> list[str]:
        prefix = ["runuser", "-u", self.run_as, "--"] if self.run_as else []
        return [*prefix, *args]

    def stop(self) -> None:
        subprocess.run(
            self._cmd(
                str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"
            ),
            check=False,
            capture_output=True,
        )


def start_server(base: Path | None = None, *, durable: bool = False) -> PostgresServer:
    """initdb a new cluster under `base` (a new temporary directory by default) and start it.

    Tests run with fsync and full-page writes off (the cluster is thrown away); `durable` keeps
    them on, for benchmarks whose timings must include real disk flushes.
    """
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="pgtest-", dir=base))
    run_as: str | None = None
    if os.geteuid() == 0:
        run_as = "postgres"
        pw = pwd.getpwnam(run_as)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    datadir = root / "data"
    pwfile = root / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if run_as:
        pw = pwd.getpwnam(run_as)
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    server = PostgresServer(bindir=bindir, datadir=datadir, port=port, run_as=run_as)
    subprocess.run(
        server._cmd(
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ),
        check=True,
        capture_output=True,
    )
    # Loopback only, socket in the cluster's own directory.
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -k {root}"
    if not durable:
        opts += " -c fsync=off -c full_page_writes=off"
    subprocess.run(
        server._cmd(
            str(bindir / "pg_ctl"),
            "-D",
            str(datadir),
            "-l",
            str(root / "log"),
            "-o",
            opts,
            "-w",
            "start",
        ),
        check=True,
        capture_output=True,
    )
    return server
