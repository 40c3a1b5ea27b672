"""`python -m components db ...` as a user runs it: a subprocess against a real server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from components.search import migrator

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
PG_VARS = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE", "PGSSLMODE")


def _db(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in PG_VARS}
    return subprocess.run(
        [sys.executable, "-m", "components", "db", *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_migrate_status_rollback_with_dsn(make_database):
    dsn = make_database()
    first = _db("migrate", "--dsn", dsn)
    assert (first.returncode, first.stdout, first.stderr) == (
        0,
        "applied: 0001, 0002, 0003, 0004\nversion: 0004\n",
        "",
    )
    again = _db("migrate", "--dsn", dsn)
    assert (again.returncode, again.stdout) == (0, "already up to date\nversion: 0004\n")
    status = _db("status", "--dsn", dsn)
    assert status.returncode == 0
    assert [line.split()[:2] for line in status.stdout.splitlines()] == [
        ["version", "state"],
        ["0001", "applied"],
        ["0002", "applied"],
        ["0003", "applied"],
        ["0004", "applied"],
    ]
    back = _db("rollback", "--dsn", dsn, "--to", "1")
    assert (back.returncode, back.stdout) == (0, "rolled back: 0004, 0003, 0002\n")
    last = _db("rollback", "--dsn", dsn)
    assert (last.returncode, last.stdout) == (0, "rolled back: 0001\n")
    nothing = _db("rollback", "--dsn", dsn)
    assert (nothing.returncode, nothing.stdout) == (0, "nothing to roll back\n")


def test_dsn_from_pg_variables(make_database, postgres_server):
    dsn = make_database()
    name = re.search(r"dbname=(\S+)", dsn)
    assert name is not None
    env = postgres_server.env(name.group(1))
    result = _db("migrate", env=env)
    assert (result.returncode, result.stdout) == (
        0,
        "applied: 0001, 0002, 0003, 0004\nversion: 0004\n",
    )
    # --dsn may name only the database; the rest still comes from the environment.
    partial = _db("status", "--dsn", f"dbname={name.group(1)}", env=env)
    assert partial.returncode == 0
    assert partial.stdout.count(" applied ") == 4


def test_missing_stocks_table_exits_1_with_one_line(make_database):
    dsn = make_database(stocks=False)
    result = _db("migrate", "--dsn", dsn)
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("error: table public.stocks does not exist in database ")
    assert "Traceback" not in result.stderr


def test_changed_migration_exits_1(make_database):
    dsn = make_database()
    migrator.apply(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("UPDATE search_schema_migrations SET checksum = 'old' WHERE version = 2")
    result = _db("migrate", "--dsn", dsn)
    assert (result.returncode, result.stderr) == (
        1,
        "error: applied migration 0002 changed since it was applied (checksum differs): roll "
        "back to before it (`db rollback --to 1`) and migrate again\n",
    )
    status = _db("status", "--dsn", dsn)
    assert "0002     changed" in status.stdout
    redo = _db("migrate", "--dsn", dsn, "--redo-changed")
    assert (redo.returncode, redo.stdout) == (
        0,
        "rolled back changed migrations: 0004, 0003, 0002\napplied: 0002, 0003, 0004\n"
        "version: 0004\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("status",),
            "error: no database given: pass --dsn 'host=... dbname=...' or set PGHOST/PGDATABASE\n",
        ),
        (
            ("migrate", "--dsn", "nonsense=1"),
            'error: invalid --dsn: invalid connection option "nonsense"\n',
        ),
        (
            ("rollback", "--dsn", "host=127.0.0.1", "--to", "9"),
            "error: unknown migration version 9: known versions are 0, 1, 2, 3, 4\n",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message):
    result = _db(*args)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message)


def test_bad_version_syntax_is_an_argparse_error():
    result = _db("rollback", "--dsn", "host=127.0.0.1", "--to", "latest")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "python -m components db rollback: error: argument --to: VERSION must be a non-negative "
        "integer, got 'latest'"
    )
    assert "Traceback" not in result.stderr


def test_unreachable_server_exits_1():
    result = _db("status", "--dsn", "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot connect to PostgreSQL: ")
    assert len(result.stderr.splitlines()) == 1
