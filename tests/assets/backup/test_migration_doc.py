"""docs/MIGRATION.md step 5, run as written: the old compose database comes into the new platform
with exactly the owners and grants the platform gives its own objects.

The old database is made on a second server as the compose platform had it: the tables created and
owned by the superuser, no search schema, rows in them. Step 5's restore and ownership blocks run
through the drills' Docker stand-in (tests/assets/backup/test_dr_drills.py says what it
substitutes), with the host directory /root/migration mapped to a test directory. Step 5's last
block (the one-off SSH tunnel, then `db migrate`) cannot open a tunnel here: its `db migrate`
line runs with the same DSN against the test server directly. The result is compared, privilege
by privilege, with a platform whose objects the services created themselves.
"""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from search import migrator
from tests.assets.backup.test_dr_drills import Host, drill_blocks
from tests.assets.backup.test_restore_privileges import privilege_state
from tests.search.dataset import create_stocks_table, insert_real_stocks
from tests.support.postgres import (
    PASSWORD,
    PlatformCluster,
    PostgresServer,
    seed_platform,
    start_platform_cluster,
    start_server,
)
from tests.support.tools import ROOT

pytestmark = pytest.mark.postgres

DOC = ROOT / "docs" / "MIGRATION.md"
STAMP = "20261129T030000Z"


def step_blocks() -> list[str]:
    """Step 5's ```bash blocks, as typed."""
    import tests.assets.backup.test_dr_drills as drills

    original = drills.DOC
    drills.DOC = DOC
    try:
        return drill_blocks("## 5.")
    finally:
        drills.DOC = original


@pytest.fixture(scope="module")
def old_server() -> Iterator[PostgresServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="module")
def reference() -> Iterator[PlatformCluster]:
    """A platform whose tables and search schema its own services created."""
    cluster = start_platform_cluster()
    try:
        seed_platform(cluster)
        yield cluster
    finally:
        cluster.server.destroy()


def old_dump(server: PostgresServer, directory: Path) -> Path:
    """The compose database as step 1 dumps it: everything owned by the superuser."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS investment_db")
        conn.execute("CREATE DATABASE investment_db")
    with psycopg.connect(server.dsn("investment_db"), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_trgm")
        conn.execute("CREATE EXTENSION unaccent")
        create_stocks_table(conn)
        insert_real_stocks(conn)
        conn.execute(
            "CREATE TABLE public.watchlists (id serial PRIMARY KEY, owner text NOT NULL,"
            " tickers text[] NOT NULL DEFAULT '{}')"
        )
        conn.execute(
            "INSERT INTO public.watchlists (owner, tickers) "
            "VALUES ('ada', '{AAPL,MSFT}'), ('bob', '{NESN}')"
        )
    dump = directory / f"investment-before-migration-{STAMP}.dump"
    subprocess.run(
        [
            str(server.bindir / "pg_dump"),
            "--format=custom",
            "--compress=6",
            f"--file={dump}",
            server.dsn("investment_db"),
        ],
        check=True,
    )
    digest = hashlib.sha256(dump.read_bytes()).hexdigest()
    dump.with_name(dump.name + ".sha256").write_text(f"{digest}  {dump.name}\n")
    return dump


def test_step_5_brings_the_old_database_in_with_the_platforms_privileges(
    old_server, platform_cluster, reference, tmp_path, image_bin
):
    blocks = step_blocks()
    assert len(blocks) == 4
    pulumi_up, restore, ownership, migrate = blocks
    assert pulumi_up.startswith("pulumi up")
    migration_dir = tmp_path / "root-migration"
    migration_dir.mkdir()
    old_dump(old_server, migration_dir)

    (tmp_path / "host").mkdir()
    host = Host(tmp_path / "host", platform_cluster, image_bin)
    paths = host.config["paths"]
    assert isinstance(paths, dict)
    paths["/root/migration"] = str(migration_dir)
    done = host.run([f"STAMP={STAMP}", restore, ownership])
    assert done.returncode == 0, done.stderr
    counts = (host.root / "counts-after.txt").read_text()
    assert "public.watchlists 2" in counts, counts

    # The last block's `db migrate`, with the document's DSN pointed at the test server.
    (dsn,) = re.findall(r'--dsn "([^"]+)"', migrate)
    assert dsn == (
        "host=127.0.0.1 port=15432 user=postgres dbname=investment_db "
        "options='-c role=investment_owner'"
    )
    local = (
        dsn.replace("port=15432", f"port={platform_cluster.server.port}") + f" password={PASSWORD}"
    )
    result = migrator.apply(local)
    assert result.version >= 6

    got = privilege_state(platform_cluster, "investment_db")
    want = privilege_state(reference, "investment_db")
    for part in ("database", "schemas", "relations", "functions", "extensions", "default_acls"):
        assert got[part] == want[part], part

    # And the runtime role does its job on the old rows.
    with psycopg.connect(platform_cluster.dsn("investment_db", "app")) as app:
        (count,) = app.execute("SELECT count(*) FROM search_stocks('apple')").fetchone() or (0,)
        assert count >= 1
        app.execute("INSERT INTO watchlists (owner) VALUES ('cy')")
    assert shlex.split(restore.splitlines()[-2])[:6] == [
        "docker",
        "exec",
        "-e",
        "PGUSER=postgres",
        "-e",
        "PGPASSWORD",
    ]
