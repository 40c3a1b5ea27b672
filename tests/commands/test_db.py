"""`python -m commands db ...` as a user runs it: a subprocess against a real server."""

from __future__ import annotations

import re
import subprocess

import psycopg
import pytest

from search import migrator
from tests.search.dataset import create_stocks_table
from tests.support.tools import run_command

pytestmark = pytest.mark.postgres


def _db(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_command("db", *args, env=env)


def test_migrate_status_rollback_with_dsn(make_database):
    dsn = make_database()
    first = _db("migrate", "--dsn", dsn)
    assert (first.returncode, first.stdout, first.stderr) == (
        0,
        "applied: 0001, 0002, 0003, 0004, 0005, 0006, 0007, 0008, 0009, 0010, 0011\n"
        "version: 0011\n",
        "",
    )
    again = _db("migrate", "--dsn", dsn)
    assert (again.returncode, again.stdout) == (0, "already up to date\nversion: 0011\n")
    status = _db("status", "--dsn", dsn)
    assert status.returncode == 0
    assert [line.split()[:2] for line in status.stdout.splitlines()] == [
        ["version", "state"],
        ["0001", "applied"],
        ["0002", "applied"],
        ["0003", "applied"],
        ["0004", "applied"],
        ["0005", "applied"],
        ["0006", "applied"],
        ["0007", "applied"],
        ["0008", "applied"],
        ["0009", "applied"],
        ["0010", "applied"],
        ["0011", "applied"],
    ]
    back = _db("rollback", "--dsn", dsn, "--to", "1")
    assert (back.returncode, back.stdout) == (
        0,
        "rolled back: 0011, 0010, 0009, 0008, 0007, 0006, 0005, 0004, 0003, 0002\n",
    )
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
        "applied: 0001, 0002, 0003, 0004, 0005, 0006, 0007, 0008, 0009, 0010, 0011\n"
        "version: 0011\n",
    )
    # --dsn may name only the database; the rest still comes from the environment.
    partial = _db("status", "--dsn", f"dbname={name.group(1)}", env=env)
    assert partial.returncode == 0
    assert partial.stdout.count(" applied ") == 11


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
        "rolled back changed migrations: "
        "0011, 0010, 0009, 0008, 0007, 0006, 0005, 0004, 0003, 0002\n"
        "applied: 0002, 0003, 0004, 0005, 0006, 0007, 0008, 0009, 0010, 0011\nversion: 0011\n",
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
            ("rollback", "--dsn", "host=127.0.0.1", "--to", "12"),
            "error: unknown migration version 12: known versions are 0, 1, 2, 3, 4, 5, 6, 7, 8, "
            "9, 10, 11\n",
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
        "python -m commands db rollback: error: argument --to: VERSION must be a non-negative "
        "integer, got 'latest'"
    )
    assert "Traceback" not in result.stderr


def test_unreachable_server_exits_1():
    result = _db("status", "--dsn", "host=127.0.0.1 port=1 dbname=x user=x connect_timeout=2")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot connect to PostgreSQL: ")
    assert len(result.stderr.splitlines()) == 1


def _one_clean_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command that wrote nothing else and no traceback."""
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    return result.stderr


def test_every_action_as_the_runtime_role_is_one_line_of_the_refusal(platform):
    # Before: `migrate` as a role without CREATE on the schema died with a traceback.
    owner = platform.dsn("investment_db", "owner")
    with psycopg.connect(owner, autocommit=True) as conn:
        create_stocks_table(conn)
    app = platform.dsn("investment_db", "app")
    assert _one_clean_line(_db("migrate", "--dsn", app)) == (
        "error: PostgreSQL refused as role 'investment_app' in database 'investment_db': "
        "permission denied for schema public (the search migrations run as the owner role: "
        "CREATE on schema public, owner of stocks)\n"
    )
    assert _db("migrate", "--dsn", owner).returncode == 0
    assert _one_clean_line(_db("rollback", "--dsn", app)) == (
        "error: migration 0011_typo_ranking (down) failed: permission denied for schema public\n"
    )


def test_a_role_without_usage_on_the_schema_gets_one_line(platform):
    with psycopg.connect(platform.dsn("postgres"), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS cli_connect_only")
        conn.execute("CREATE ROLE cli_connect_only LOGIN PASSWORD 'c-pw'")
        conn.execute("GRANT CONNECT ON DATABASE investment_db TO cli_connect_only")
    try:
        dsn = (
            f"host=127.0.0.1 port={platform.server.port} user=cli_connect_only password=c-pw "
            "dbname=investment_db"
        )
        assert _one_clean_line(_db("status", "--dsn", dsn)) == (
            "error: PostgreSQL refused as role 'cli_connect_only' in database 'investment_db': "
            "permission denied for schema public (the search migrations run as the owner role: "
            "CREATE on schema public, owner of stocks)\n"
        )
    finally:
        with psycopg.connect(platform.dsn("postgres"), autocommit=True) as conn:
            conn.execute("REVOKE ALL ON DATABASE investment_db FROM cli_connect_only")
            conn.execute("DROP ROLE cli_connect_only")


@pytest.mark.parametrize("action", ["migrate", "rollback", "status"])
def test_wrong_password_and_refused_connect_are_one_line(platform, action):
    port = platform.server.port
    wrong = f"host=127.0.0.1 port={port} user=investment_owner password=nope dbname=investment_db"
    assert _one_clean_line(_db(action, "--dsn", wrong)) == (
        f"error: cannot connect to PostgreSQL: connection failed: connection to server at "
        f'"127.0.0.1", port {port} failed: FATAL:  password authentication failed for user '
        f'"investment_owner"\n'
    )
    no_connect = platform.dsn("investment_db", "monitoring")
    assert _one_clean_line(_db(action, "--dsn", no_connect)) == (
        f"error: cannot connect to PostgreSQL: connection failed: connection to server at "
        f'"127.0.0.1", port {port} failed: FATAL:  permission denied for database '
        f'"investment_db"\n'
    )
