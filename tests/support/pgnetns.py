"""A throwaway PostgreSQL cluster running inside a test's network namespace, on the container's
port 5432, with extra server settings on its command line.

The cluster is made by tests/support/postgres.py's `start_server` (initdb, the superuser and its
password, run as the `postgres` user when root), then restarted inside the namespace with
`pg_ctl -o`, so its settings arrive exactly as `postgres -c name=value` arguments do in the
container.
"""

from __future__ import annotations

import shlex
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tests.support.netns import Namespace
from tests.support.postgres import PASSWORD, SUPERUSER, PostgresServer, start_server

PORT = 5432


class ServerStartError(RuntimeError):
    """pg_ctl could not start the server; the message carries the server's log."""


@dataclass
class NamespacedPostgres:
    """The cluster, its namespace and the arguments it was started with."""

    ns: Namespace
    server: PostgresServer
    server_args: tuple[str, ...]

    @property
    def bin(self) -> str:
        return str(self.server.bindir)

    def env(self, user: str = SUPERUSER, password: str = PASSWORD) -> dict[str, str]:
        """libpq's variables for a TCP connection to the cluster as `user`."""
        return {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "PGHOST": "127.0.0.1",
            "PGPORT": str(PORT),
            "PGUSER": user,
            "PGPASSWORD": password,
            "PGDATABASE": "postgres",
        }

    def psql(self, sql: str, **login: str) -> str:
        """Run SQL with psql inside the namespace; its unaligned, tuples-only output."""
        result = self.ns.run(
            f"{self.bin}/psql", "-X", "-v", "ON_ERROR_STOP=1", "-Atc", sql, env=self.env(**login)
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql failed: {result.stderr}")
        return result.stdout.rstrip("\n")

    def stop(self) -> None:
        self.ns.run(*self._pg_ctl("-m", "fast", "stop"))
        shutil.rmtree(self.server.datadir.parent, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> list[str]:
        runas = ["runuser", "-u", self.server.run_as, "--"] if self.server.run_as else []
        return [*runas, f"{self.bin}/pg_ctl", "-D", str(self.server.datadir), *args]


def start_in_namespace(
    ns: Namespace, server_args: Sequence[str], env: Mapping[str, str] | None = None
) -> NamespacedPostgres:
    """A new cluster listening on 127.0.0.1:5432 inside `ns`, started with `server_args` (as the
    container's command passes them after `postgres`). Raises ServerStartError with the server's
    log when PostgreSQL refuses them; the caller stops the cluster otherwise."""
    server = start_server()
    server.stop()
    cluster = NamespacedPostgres(ns=ns, server=server, server_args=tuple(server_args))
    root = server.datadir.parent
    options = " ".join(
        [
            f"-c listen_addresses=127.0.0.1 -c port={PORT} -k {shlex.quote(str(root))}",
            # Thrown away after the test: no need to flush.
            "-c fsync=off -c full_page_writes=off",
            shlex.join(server_args),
        ]
    )
    log = root / "log"
    log.write_text("")
    started = ns.run(
        *cluster._pg_ctl("-l", str(log), "-o", options, "-w", "-t", "60", "start"), env=env
    )
    if started.returncode != 0:
        output = log.read_text(errors="replace")
        shutil.rmtree(root, ignore_errors=True)
        raise ServerStartError(f"pg_ctl start exited {started.returncode}:\n{output}")
    return cluster
