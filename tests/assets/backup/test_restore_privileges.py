"""A restore gives the application back exactly the privileges the Database component set up.

On a cluster provisioned with the privilege model (the SQL the provider runs for the Database
component's resources) and seeded as the services would (tables created by the owner role, the
search migrations run by it, Airflow's table by Airflow's role): back up with backup.sh as the
backup role, lose some data, restore with `restore.sh --force` as the superuser, and compare the
whole privilege state before and after. Then the roles do their jobs again.
"""

from __future__ import annotations

import subprocess
from typing import Any

import psycopg
import pytest

from tests.support.postgres import PlatformCluster
from tests.support.tools import run_command

pytestmark = pytest.mark.postgres


# Every privilege-bearing fact of one database: the database itself (owner, ACL, connection
# limit), its schemas, every relation, function and extension, and its default ACLs.
STATE_QUERIES = {
    "database": """
        SELECT pg_get_userbyid(datdba), datacl::text[], datconnlimit, datallowconn, datistemplate
        FROM pg_database WHERE datname = current_database()""",
    "schemas": """
        SELECT nspname, pg_get_userbyid(nspowner), nspacl::text[] FROM pg_namespace
        WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1""",
    "relations": """
        SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl::text[],
               c.relrowsecurity
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
        ORDER BY 1, 2""",
    "columns": """
        SELECT c.relname, a.attname, a.attacl::text[]
        FROM pg_attribute AS a JOIN pg_class AS c ON c.oid = a.attrelid
        WHERE a.attacl IS NOT NULL ORDER BY 1, 2""",
    "functions": """
        SELECT p.oid::regprocedure::text, pg_get_userbyid(p.proowner), p.proacl::text[],
               p.proconfig, p.prosecdef, p.provolatile, p.prosqlbody IS NOT NULL
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1""",
    "extensions": """
        SELECT extname, pg_get_userbyid(extowner), extnamespace::regnamespace::text, extversion
        FROM pg_extension ORDER BY 1""",
    "default_acls": """
        SELECT pg_get_userbyid(defaclrole), defaclnamespace::regnamespace::text, defaclobjtype,
               defaclacl::text[]
        FROM pg_default_acl ORDER BY 1, 2, 3""",
}


def privilege_state(cluster: PlatformCluster, database: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(cluster.dsn(database)) as conn:
        return {name: conn.execute(sql).fetchall() for name, sql in STATE_QUERIES.items()}


def _db(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_command("db", *args, env=env)


def _attempt(dsn: str, sql: str) -> str:
    try:
        with psycopg.connect(dsn) as conn:
            conn.execute(sql)
            conn.rollback()
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return "ok"


def test_restore_force_of_the_application_database_keeps_owners_grants_and_revocations(
    seeded, run_script, backup_dir
):
    before = privilege_state(seeded, "investment_db")
    backup = run_script(
        "backup.sh", **seeded.env("investment_db", "backup"), BACKUP_DIR=str(backup_dir)
    )
    assert backup.returncode == 0, backup.stderr
    # The loss the restore repairs: the application deleted rows it should not have.
    with psycopg.connect(seeded.dsn("investment_db", "app")) as app:
        app.execute("DELETE FROM watchlists")

    restore = run_script(
        "restore.sh",
        "--force",
        "investment_db",
        **seeded.env("investment_db"),
        BACKUP_DIR=str(backup_dir),
    )

    assert restore.returncode == 0, restore.stderr
    after = privilege_state(seeded, "investment_db")
    assert after == before
    assert (
        "restore: replacing existing database 'investment_db' (--force), keeping its owner and "
        "grants\n" in restore.stderr
    )
    # What the comparison covers, so that an empty state cannot pass: the superuser's database
    # closed to PUBLIC, the owner's tables and functions, the app's grants, default ACLs.
    (owner, acl, connection_limit, allow_connections, is_template) = before["database"][0]
    assert (owner, connection_limit, allow_connections, is_template) == (
        "postgres",
        -1,
        True,
        False,
    )
    assert sorted(acl) == [
        "investment_app=c/postgres",
        "investment_backup=c/postgres",
        "investment_owner=c/postgres",
        "postgres=CTc/postgres",
    ]
    assert {(r[1], r[3]) for r in before["relations"] if r[2] in ("r", "S")} == {
        ("search_schema_migrations", "investment_owner"),
        ("stocks", "investment_owner"),
        ("stocks_id_seq", "investment_owner"),
        ("stocks_search_vocabulary", "investment_owner"),
        ("watchlists", "investment_owner"),
        ("watchlists_id_seq", "investment_owner"),
    }
    assert len(before["functions"]) > 8
    assert len(before["default_acls"]) == 4

    app = seeded.dsn("investment_db", "app")
    with psycopg.connect(app) as conn:
        assert conn.execute("SELECT count(*) FROM stocks").fetchone() == (28,)
        assert conn.execute("SELECT ticker FROM search_stocks('apple')").fetchall() == [
            ("AAPL",),
            ("APLE",),
        ]
        assert conn.execute("SELECT ticker FROM fuzzy_search_stocks('mircosoft')").fetchall() == [
            ("MSFT",)
        ]
        assert conn.execute("SELECT owner FROM watchlists ORDER BY 1").fetchall() == [
            ("ada",),
            ("bob",),
        ]
        conn.execute("INSERT INTO watchlists (owner) VALUES ('cy')")
    assert _attempt(app, "CREATE TABLE t (x int)") == "permission denied for schema public"
    assert _attempt(app, "DROP SCHEMA public CASCADE") == "must be owner of schema public"
    assert _attempt(seeded.dsn("investment_db", "airflow"), "SELECT 1") == (
        f'connection failed: connection to server at "127.0.0.1", port {seeded.server.port} '
        'failed: FATAL:  permission denied for database "investment_db"'
    )

    owner_env = seeded.env("investment_db", "owner")
    migrate = _db("migrate", env=owner_env)
    assert (migrate.returncode, migrate.stdout, migrate.stderr) == (
        0,
        "already up to date\nversion: 0011\n",
        "",
    )
    status = _db("status", env=owner_env)
    assert status.returncode == 0
    assert status.stdout.count(" applied ") == 11


def test_restore_force_of_airflows_database_keeps_airflow_its_owner(seeded, run_script, backup_dir):
    before = privilege_state(seeded, "airflow")
    backup = run_script(
        "backup.sh",
        **seeded.env("airflow", "backup"),
        BACKUP_DIR=str(backup_dir),
        BACKUP_METRICS_FILE=str(backup_dir / "airflow.prom"),
    )
    assert backup.returncode == 0, backup.stderr

    restore = run_script(
        "restore.sh", "--force", "airflow", **seeded.env("airflow"), BACKUP_DIR=str(backup_dir)
    )

    assert restore.returncode == 0, restore.stderr
    assert privilege_state(seeded, "airflow") == before
    assert before["database"][0][:1] == ("airflow",)
    with psycopg.connect(seeded.dsn("airflow", "airflow"), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM dag_run").fetchone() == (2,)
        conn.execute("CREATE TABLE task_instance (id int)")
