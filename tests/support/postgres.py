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
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from model.dbprivileges import Names, PrivilegeModel, privilege_model
from tests.support import pgprovider
from tests.support.tools import free_port

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

    def destroy(self) -> None:
        """Stop the cluster and delete its directory (the temporary one `start_server` made)."""
        self.stop()
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


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
    port = free_port()
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


PLATFORM_PASSWORDS: dict[str, str] = {
    "owner": "owner-test-pw",
    "app": "app-test-pw",
    "backup": "backup-test-pw",
    "airflow": "airflow-test-pw",
    "monitoring": "monitoring-test-pw",
}
"""Each login role's password on a platform cluster, by the privilege model's role key."""


@dataclass
class PlatformCluster:
    """A cluster set up as the Database component sets up the platform's server: the SQL the
    provider runs for `model.dbprivileges.privilege_model`, applied as the superuser."""

    server: PostgresServer
    model: PrivilegeModel

    def dsn(self, dbname: str, role: str | None = None) -> str:
        """A DSN for `dbname` as the superuser, or as the login role with key `role`."""
        if role is None:
            return self.server.dsn(dbname)
        return (
            f"host=127.0.0.1 port={self.server.port} user={self.model.role(role).name} "
            f"password={PLATFORM_PASSWORDS[role]} dbname={dbname}"
        )

    def env(self, dbname: str, role: str | None = None) -> dict[str, str]:
        """The PG* variables for `dbname` as the superuser or as the role with key `role`."""
        env = self.server.env(dbname)
        if role is not None:
            env["PGUSER"] = self.model.role(role).name
            env["PGPASSWORD"] = PLATFORM_PASSWORDS[role]
        return env

    def provision(self, *, roles: bool = True) -> None:
        """Apply the model; `roles=False` re-creates only what lives in the databases."""
        statements = pgprovider.model_statements(self.model, PLATFORM_PASSWORDS)
        if not roles:
            statements = [s for s in statements if not s.sql[0].startswith("CREATE ROLE")]
        pgprovider.run(self.server.dsn, statements)

    def reset(self) -> None:
        """Drop the model's databases (and any left by restores) and provision them again."""
        import psycopg

        keep = {"postgres", "template0", "template1"}
        with psycopg.connect(self.server.dsn(), autocommit=True) as conn:
            names = [r[0] for r in conn.execute("SELECT datname FROM pg_database")]
            for name in names:
                if name not in keep:
                    conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        self.provision(roles=False)


def start_platform_cluster(names: Names | None = None, *, durable: bool = False) -> PlatformCluster:
    """A new cluster provisioned with the privilege model (callers stop `.server`); `durable` as
    for `start_server`."""
    cluster = PlatformCluster(start_server(durable=durable), privilege_model(names or Names()))
    try:
        cluster.provision()
    except BaseException:
        cluster.server.destroy()
        raise
    return cluster


def seed_platform(cluster: PlatformCluster) -> None:
    """What a fresh platform holds once its services ran: the application's tables created by its
    own migrations as the owner role (stocks with real rows, a table with a serial key), the
    search migrations applied as the owner role, and an Airflow table created by Airflow's role."""
    import psycopg

    from search import migrator
    from tests.search.dataset import create_stocks_table, insert_real_stocks

    app_db = cluster.model.app_database
    with psycopg.connect(cluster.dsn(app_db, "owner"), autocommit=True) as owner:
        create_stocks_table(owner)
        insert_real_stocks(owner)
        owner.execute(
            "CREATE TABLE public.watchlists (id serial PRIMARY KEY, owner text NOT NULL,"
            " tickers text[] NOT NULL DEFAULT '{}')"
        )
        owner.execute(
            "INSERT INTO public.watchlists (owner, tickers) "
            "VALUES ('ada', '{AAPL,MSFT}'), ('bob', '{NESN}')"
        )
    migrator.apply(cluster.dsn(app_db, "owner"))
    airflow_db = next(d.name for d in cluster.model.databases if d.key == "airflow")
    with psycopg.connect(cluster.dsn(airflow_db, "airflow"), autocommit=True) as airflow:
        airflow.execute("CREATE TABLE public.dag_run (id serial PRIMARY KEY, dag_id text NOT NULL)")
        airflow.execute("INSERT INTO public.dag_run (dag_id) VALUES ('prices'), ('fundamentals')")
