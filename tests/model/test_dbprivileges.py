"""The privilege model: its data, the SQL the provider runs for it, and every privilege on a real
server, from both sides (what each role may do, and what it is refused with which message)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from model.dbprivileges import (
    DefaultPrivileges,
    Grant,
    LoginRole,
    Names,
    OwnedDatabase,
    PrivilegeModelError,
    grant_ordering_key,
    privilege_model,
)
from search import migrator
from tests.search.dataset import create_stocks_table, insert_real_stocks
from tests.support import pgprovider
from tests.support.postgres import (
    PLATFORM_PASSWORDS,
    PlatformCluster,
    seed_platform,
    start_platform_cluster,
    start_server,
)

MODEL = privilege_model()


def test_roles_and_databases():
    assert MODEL.roles == (
        LoginRole("owner", "investment_owner"),
        LoginRole("app", "investment_app"),
        LoginRole("backup", "investment_backup", ("pg_read_all_data",), 6, replication=True),
        LoginRole("airflow", "airflow"),
        LoginRole("monitoring", "postgres_exporter", ("pg_monitor",), 5),
    )
    assert MODEL.databases == (
        OwnedDatabase("app", "investment_db", "postgres"),
        OwnedDatabase("airflow", "airflow", "airflow"),
    )
    assert MODEL.extensions == ("pg_trgm", "unaccent")


def test_grants_as_data():
    rows = [
        (g.key, g.database, g.role, g.object_type, g.privileges, g.schema) for g in MODEL.grants
    ]
    assert rows == [
        ("app-db-revoke-public", "investment_db", "public", "database", (), None),
        (
            "app-db-connect-owner",
            "investment_db",
            "investment_owner",
            "database",
            ("CONNECT",),
            None,
        ),
        ("app-db-connect-app", "investment_db", "investment_app", "database", ("CONNECT",), None),
        (
            "app-db-connect-backup",
            "investment_db",
            "investment_backup",
            "database",
            ("CONNECT",),
            None,
        ),
        ("airflow-db-revoke-public", "airflow", "public", "database", (), None),
        (
            "airflow-db-connect-backup",
            "airflow",
            "investment_backup",
            "database",
            ("CONNECT",),
            None,
        ),
        ("postgres-db-revoke-public", "postgres", "public", "database", (), None),
        ("template1-db-revoke-public", "template1", "public", "database", (), None),
        (
            "postgres-db-connect-monitoring",
            "postgres",
            "postgres_exporter",
            "database",
            ("CONNECT",),
            None,
        ),
        ("schema-revoke-public", "investment_db", "public", "schema", (), "public"),
        (
            "schema-owner",
            "investment_db",
            "investment_owner",
            "schema",
            ("CREATE", "USAGE"),
            "public",
        ),
        ("schema-app", "investment_db", "investment_app", "schema", ("USAGE",), "public"),
        (
            "tables-app",
            "investment_db",
            "investment_app",
            "table",
            ("DELETE", "INSERT", "SELECT", "UPDATE"),
            "public",
        ),
        (
            "sequences-app",
            "investment_db",
            "investment_app",
            "sequence",
            ("SELECT", "USAGE"),
            "public",
        ),
    ]


def test_default_privileges_as_data():
    rows = [
        (d.key, d.owner, d.role, d.object_type, d.privileges, d.schema)
        for d in MODEL.default_privileges
    ]
    assert rows == [
        (
            "default-tables-app",
            "investment_owner",
            "investment_app",
            "table",
            ("DELETE", "INSERT", "SELECT", "UPDATE"),
            "public",
        ),
        (
            "default-sequences-app",
            "investment_owner",
            "investment_app",
            "sequence",
            ("SELECT", "USAGE"),
            "public",
        ),
        (
            "default-functions-app",
            "investment_owner",
            "investment_app",
            "function",
            ("EXECUTE",),
            "public",
        ),
        ("default-functions-revoke-public", "investment_owner", "public", "function", (), None),
    ]
    assert {d.database for d in MODEL.default_privileges} == {"investment_db"}


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (
            Names(app_role="investment_owner"),
            "every role needs its own name, got ['postgres', 'investment_owner', "
            "'investment_owner', 'investment_backup', 'airflow', 'postgres_exporter']",
        ),
        (Names(backup_role="public"), "no role may be named 'public' (PostgreSQL's PUBLIC)"),
        (
            Names(airflow_database="investment_db"),
            "every database needs its own name, got ['investment_db', 'investment_db', "
            "'postgres', 'template1']",
        ),
        (
            Names(app_database="template1"),
            "every database needs its own name, got "
            "['template1', 'airflow', 'postgres', 'template1']",
        ),
        (
            Names(owner_role="o" * 64),
            f"name {'o' * 64!r} must be 1 to 63 bytes (PostgreSQL's limit)",
        ),
        (Names(app_role=""), "name '' must be 1 to 63 bytes (PostgreSQL's limit)"),
    ],
)
def test_impossible_names_are_refused(names, message):
    with pytest.raises(PrivilegeModelError) as caught:
        privilege_model(names)
    assert str(caught.value) == message


def test_entries_on_one_catalogue_row_share_an_ordering_key():
    entries: list[Grant | DefaultPrivileges] = [*MODEL.grants, *MODEL.default_privileges]
    keys = {entry.key: grant_ordering_key(entry) for entry in entries}
    assert (
        keys["app-db-revoke-public"]
        == keys["app-db-connect-app"]
        == (
            "investment_db",
            "database",
            "",
        )
    )
    assert (
        keys["schema-revoke-public"] == keys["schema-app"] == ("investment_db", "schema", "public")
    )
    assert keys["tables-app"] != keys["sequences-app"]
    assert len({keys[d.key] for d in MODEL.default_privileges}) == 1


def test_provider_sql_for_an_empty_grant_is_a_revocation_only():
    # resource_postgresql_grant.go: revokeRolePrivileges, then grantRolePrivileges returns early.
    assert pgprovider.grant_statements(
        Grant("x", "investment_db", "public", "database", ())
    ) == pgprovider.Statement(
        "investment_db", ('REVOKE ALL PRIVILEGES ON DATABASE "investment_db" FROM "public"',)
    )


def test_provider_sql_for_a_table_grant_without_objects_covers_all_tables_in_the_schema():
    # createRevokeQuery / createGrantQuery, object_type table and no `objects`.
    assert pgprovider.grant_statements(
        Grant("x", "investment_db", "investment_app", "table", ("SELECT", "DELETE"), "public")
    ) == pgprovider.Statement(
        "investment_db",
        (
            'REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA "public" FROM "investment_app"',
            'GRANT DELETE,SELECT ON ALL TABLES IN SCHEMA "public" TO "investment_app"',
        ),
    )


def test_provider_sql_for_default_privileges_with_and_without_a_schema():
    # resource_postgresql_default_privileges.go: revokeRoleDefaultPrivileges, then grant.
    assert pgprovider.default_privileges_statements(
        DefaultPrivileges("x", "db", "o", "a", "sequence", ("USAGE", "SELECT"), "public")
    ) == pgprovider.Statement(
        "db",
        (
            'ALTER DEFAULT PRIVILEGES FOR ROLE "o" IN SCHEMA "public" REVOKE ALL ON SEQUENCES '
            'FROM "a"',
            'ALTER DEFAULT PRIVILEGES FOR ROLE "o" IN SCHEMA "public" GRANT SELECT,USAGE ON '
            'SEQUENCES TO "a"',
        ),
    )
    assert pgprovider.default_privileges_statements(
        DefaultPrivileges("x", "db", "o", "public", "function", ())
    ) == pgprovider.Statement(
        "db", ('ALTER DEFAULT PRIVILEGES FOR ROLE "o"  REVOKE ALL ON FUNCTIONS FROM "public"',)
    )


def test_provider_sql_for_a_role():
    assert pgprovider.role_statements(MODEL.role("backup"), "pw'1") == pgprovider.Statement(
        "postgres",
        (
            "CREATE ROLE \"investment_backup\" WITH ENCRYPTED PASSWORD 'pw''1' VALID UNTIL "
            "'infinity' CONNECTION LIMIT 6 NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT LOGIN "
            "NOBYPASSRLS REPLICATION",
            'GRANT "pg_read_all_data" TO "investment_backup"',
        ),
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[PlatformCluster]:
    """A cluster of its own (the model changes cluster-wide ACLs of postgres and template1),
    provisioned as `pulumi up` would, then seeded as the services would."""
    cluster = start_platform_cluster()
    try:
        seed_platform(cluster)
        with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as conn:
            conn.execute("CREATE ROLE nobody_in_particular LOGIN PASSWORD 'nobody-pw'")
        yield cluster
    finally:
        cluster.server.destroy()


OK = "ok"


def _attempt(cluster: PlatformCluster, role: str, database: str, sql: str) -> str:
    """Run `sql` as the role with key `role` (or `nobody`: a login role granted nothing) in a
    transaction that is rolled back; "ok" or the server's primary message."""
    if role == "nobody":
        dsn = cluster.dsn(database).replace(
            "user=postgres password=test-only-password",
            "user=nobody_in_particular password=nobody-pw",
        )
    else:
        dsn = cluster.dsn(database, role)
    try:
        with psycopg.connect(dsn) as conn:
            try:
                if sql:
                    conn.execute(sql)
            finally:
                conn.rollback()
    except psycopg.Error as exc:
        if exc.diag.message_primary is not None:
            return exc.diag.message_primary
        # A refused connection carries libpq's text: "... failed: FATAL:  <message>\nDETAIL: ...".
        fatal = re.search(r"FATAL:  (.*)", str(exc))
        return fatal.group(1) if fatal else str(exc)
    return OK


NO_CONNECT = 'permission denied for database "{}"'
CHECKS: list[tuple[str, str, str, str]] = [
    # The runtime role: rows and search, nothing else.
    ("app", "investment_db", "SELECT count(*) FROM stocks", OK),
    (
        "app",
        "investment_db",
        "INSERT INTO stocks (ticker, name) VALUES ('ZZZZ', 'Zeta Zinc')",
        OK,
    ),
    ("app", "investment_db", "UPDATE stocks SET name = name WHERE ticker = 'AAPL'", OK),
    ("app", "investment_db", "DELETE FROM watchlists WHERE owner = 'bob'", OK),
    ("app", "investment_db", "INSERT INTO watchlists (owner) VALUES ('cy')", OK),
    ("app", "investment_db", "SELECT nextval('stocks_id_seq'), currval('stocks_id_seq')", OK),
    ("app", "investment_db", "SELECT * FROM search_stocks('apple')", OK),
    ("app", "investment_db", "SELECT * FROM fuzzy_search_stocks('mircosoft')", OK),
    ("app", "investment_db", "TRUNCATE stocks", "permission denied for table stocks"),
    ("app", "investment_db", "CREATE TABLE t (x int)", "permission denied for schema public"),
    (
        "app",
        "investment_db",
        "CREATE TEMP TABLE t (x int)",
        'permission denied to create temporary tables in database "investment_db"',
    ),
    (
        "app",
        "investment_db",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN 1",
        "permission denied for schema public",
    ),
    ("app", "investment_db", "CREATE SCHEMA s", "permission denied for database investment_db"),
    ("app", "investment_db", "DROP SCHEMA public CASCADE", "must be owner of schema public"),
    ("app", "investment_db", "DROP TABLE stocks", "must be owner of table stocks"),
    (
        "app",
        "investment_db",
        "ALTER TABLE stocks ADD COLUMN x int",
        "must be owner of table stocks",
    ),
    (
        "app",
        "investment_db",
        "CREATE EXTENSION pgcrypto",
        'permission denied to create extension "pgcrypto"',
    ),
    ("app", "investment_db", "DROP EXTENSION pg_trgm", "must be owner of extension pg_trgm"),
    ("app", "postgres", "", NO_CONNECT.format("postgres")),
    ("app", "template1", "", NO_CONNECT.format("template1")),
    ("app", "airflow", "", NO_CONNECT.format("airflow")),
    # The owner role: migrations, but not the schema, extensions or other databases.
    ("owner", "investment_db", "CREATE TABLE t (x int)", OK),
    ("owner", "investment_db", "ALTER TABLE stocks ADD COLUMN x int", OK),
    ("owner", "investment_db", "DROP SCHEMA public CASCADE", "must be owner of schema public"),
    (
        "owner",
        "investment_db",
        "CREATE EXTENSION pgcrypto",
        'permission denied to create extension "pgcrypto"',
    ),
    ("owner", "investment_db", "CREATE SCHEMA s", "permission denied for database investment_db"),
    (
        "owner",
        "investment_db",
        "CREATE TEMP TABLE t (x int)",
        'permission denied to create temporary tables in database "investment_db"',
    ),
    ("owner", "postgres", "", NO_CONNECT.format("postgres")),
    ("owner", "template1", "", NO_CONNECT.format("template1")),
    ("owner", "airflow", "", NO_CONNECT.format("airflow")),
    # The backup role: reads everything it dumps, writes nothing, runs nothing.
    ("backup", "investment_db", "SELECT count(*) FROM stocks", OK),
    ("backup", "investment_db", "SELECT count(*) FROM search_schema_migrations", OK),
    ("backup", "investment_db", "SELECT last_value FROM stocks_id_seq", OK),
    ("backup", "airflow", "SELECT count(*) FROM dag_run", OK),
    (
        "backup",
        "investment_db",
        "INSERT INTO stocks (ticker, name) VALUES ('ZZZZ', 'Zeta Zinc')",
        "permission denied for table stocks",
    ),
    (
        "backup",
        "investment_db",
        "UPDATE stocks SET name = ''",
        "permission denied for table stocks",
    ),
    ("backup", "investment_db", "DELETE FROM stocks", "permission denied for table stocks"),
    ("backup", "investment_db", "TRUNCATE stocks", "permission denied for table stocks"),
    ("backup", "airflow", "DELETE FROM dag_run", "permission denied for table dag_run"),
    ("backup", "investment_db", "CREATE TABLE t (x int)", "permission denied for schema public"),
    (
        "backup",
        "investment_db",
        "SELECT nextval('stocks_id_seq')",
        "permission denied for sequence stocks_id_seq",
    ),
    (
        "backup",
        "investment_db",
        "SELECT * FROM search_stocks('apple')",
        "permission denied for function search_stocks",
    ),
    ("backup", "postgres", "", NO_CONNECT.format("postgres")),
    ("backup", "template1", "", NO_CONNECT.format("template1")),
    # Airflow: its own database, nothing else.
    ("airflow", "airflow", "CREATE TABLE task_instance (id int)", OK),
    ("airflow", "investment_db", "", NO_CONNECT.format("investment_db")),
    ("airflow", "postgres", "", NO_CONNECT.format("postgres")),
    ("airflow", "template1", "", NO_CONNECT.format("template1")),
    # Monitoring: statistics through postgres only.
    (
        "monitoring",
        "postgres",
        "SELECT 1/count(*) FROM pg_stat_activity WHERE query <> '<insufficient privilege>' "
        "AND usename <> current_user",
        OK,
    ),
    ("monitoring", "postgres", "SELECT count(*) FROM pg_ls_waldir()", OK),
    ("monitoring", "postgres", "CREATE TABLE t (x int)", "permission denied for schema public"),
    (
        "monitoring",
        "postgres",
        "CREATE TEMP TABLE t (x int)",
        'permission denied to create temporary tables in database "postgres"',
    ),
    ("monitoring", "investment_db", "", NO_CONNECT.format("investment_db")),
    ("monitoring", "airflow", "", NO_CONNECT.format("airflow")),
    ("monitoring", "template1", "", NO_CONNECT.format("template1")),
    # PUBLIC: a login role granted nothing connects nowhere.
    ("nobody", "investment_db", "", NO_CONNECT.format("investment_db")),
    ("nobody", "airflow", "", NO_CONNECT.format("airflow")),
    ("nobody", "postgres", "", NO_CONNECT.format("postgres")),
    ("nobody", "template1", "", NO_CONNECT.format("template1")),
]


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("role", "database", "sql", "expected"),
    CHECKS,
    ids=[f"{r}-{d}-{s.split(' (')[0][:40] or 'connect'}" for r, d, s, _ in CHECKS],
)
def test_privilege(cluster, role, database, sql, expected):
    assert _attempt(cluster, role, database, sql) == expected


@pytest.mark.postgres
def test_objects_the_owner_creates_later_are_usable_by_the_app_and_by_nobody_else(cluster):
    owner = cluster.dsn("investment_db", "owner")
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute("CREATE TABLE later (id bigserial PRIMARY KEY, note text)")
        conn.execute("CREATE FUNCTION later_count() RETURNS bigint LANGUAGE sql RETURN 42")
    try:
        with psycopg.connect(cluster.dsn("investment_db", "app")) as app:
            app.execute("INSERT INTO later (note) VALUES ('x')")
            assert app.execute("SELECT later_count(), count(*) FROM later").fetchone() == (42, 1)
            app.rollback()
        assert _attempt(cluster, "backup", "investment_db", "SELECT later_count()") == (
            "permission denied for function later_count"
        )
        assert _attempt(cluster, "app", "investment_db", "DROP TABLE later") == (
            "must be owner of table later"
        )
    finally:
        with psycopg.connect(owner, autocommit=True) as conn:
            conn.execute("DROP TABLE later; DROP FUNCTION later_count()")


@pytest.mark.postgres
def test_ownership_and_acls_are_exactly_the_model(cluster):
    with psycopg.connect(cluster.dsn("postgres")) as conn:
        databases = conn.execute(
            "SELECT datname, pg_get_userbyid(datdba), "
            "ARRAY(SELECT x::text FROM unnest(datacl) AS x ORDER BY 1) FROM pg_database "
            "WHERE datname <> 'template0' ORDER BY 1"
        ).fetchall()
        roles = conn.execute(
            "SELECT rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
            "rolconnlimit, ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b "
            "ON b.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) "
            "FROM pg_roles AS r WHERE rolname LIKE 'investment%' OR rolname IN "
            "('airflow', 'postgres_exporter') ORDER BY 1"
        ).fetchall()
    assert databases == [
        ("airflow", "airflow", ["airflow=CTc/airflow", "investment_backup=c/airflow"]),
        (
            "investment_db",
            "postgres",
            [
                "investment_app=c/postgres",
                "investment_backup=c/postgres",
                "investment_owner=c/postgres",
                "postgres=CTc/postgres",
            ],
        ),
        ("postgres", "postgres", ["postgres=CTc/postgres", "postgres_exporter=c/postgres"]),
        ("template1", "postgres", ["postgres=CTc/postgres"]),
    ]
    assert roles == [
        ("airflow", False, False, False, False, False, -1, []),
        ("investment_app", False, False, False, False, False, -1, []),
        ("investment_backup", False, False, False, True, False, 6, ["pg_read_all_data"]),
        ("investment_owner", False, False, False, False, False, -1, []),
        ("postgres_exporter", False, False, False, False, False, 5, ["pg_monitor"]),
    ]
    with psycopg.connect(cluster.dsn("investment_db")) as conn:
        schema = conn.execute(
            "SELECT pg_get_userbyid(nspowner), nspacl::text[] FROM pg_namespace "
            "WHERE nspname = 'public'"
        ).fetchone()
        tables = conn.execute(
            "SELECT relname, pg_get_userbyid(relowner), relacl::text[] FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S') ORDER BY 1"
        ).fetchall()
        functions = conn.execute(
            "SELECT proname, pg_get_userbyid(proowner), proacl::text[] FROM pg_proc "
            "WHERE pronamespace = 'public'::regnamespace "
            "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = pg_proc.oid "
            "AND d.deptype = 'e') ORDER BY 1"
        ).fetchall()
    assert schema == (
        "pg_database_owner",
        [
            "pg_database_owner=UC/pg_database_owner",
            "investment_owner=UC/pg_database_owner",
            "investment_app=U/pg_database_owner",
        ],
    )
    app_rows = ["investment_owner=arwdDxt/investment_owner", "investment_app=arwd/investment_owner"]
    app_sequence = ["investment_owner=rwU/investment_owner", "investment_app=rU/investment_owner"]
    assert tables == [
        ("search_schema_migrations", "investment_owner", app_rows),
        ("stocks", "investment_owner", app_rows),
        ("stocks_id_seq", "investment_owner", app_sequence),
        ("stocks_search_vocabulary", "investment_owner", app_rows),
        ("watchlists", "investment_owner", app_rows),
        ("watchlists_id_seq", "investment_owner", app_sequence),
    ]
    execute = ["investment_owner=X/investment_owner", "investment_app=X/investment_owner"]
    assert functions == [
        (name, "investment_owner", execute)
        for name in (
            "fuzzy_search_stocks",
            "immutable_unaccent",
            "search_stocks",
            "stocks_name_document",
            "stocks_search_completions",
            "stocks_search_corrections",
            "stocks_search_deletions",
            "stocks_search_document",
            "stocks_search_near_keys",
            "stocks_search_query",
            "stocks_search_terms",
            "stocks_search_tokens",
            "stocks_search_vector_refresh",
            "stocks_search_vocabulary_refresh",
        )
    ]


@pytest.mark.postgres
def test_backup_role_can_dump_both_databases(cluster, tmp_path):
    for database in ("investment_db", "airflow"):
        result = subprocess.run(
            [
                str(cluster.server.bindir / "pg_dump"),
                "--format=custom",
                f"--file={tmp_path / database}",
            ],
            env=cluster.env(database, "backup"),
            capture_output=True,
            text=True,
            check=False,
        )
        assert (result.returncode, result.stderr) == (0, ""), database


@pytest.mark.postgres
def test_upgrade_from_the_first_version_as_docs_search_describes():
    # The first version: the runtime role owned the database and everything in it.
    server = start_server()
    try:
        cluster = PlatformCluster(server, MODEL)
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            for key in ("app", "airflow", "monitoring"):
                pgprovider.run(server.dsn, [pgprovider.role_statements(MODEL.role(key), "x")])
                conn.execute(
                    f"ALTER ROLE {MODEL.role(key).name} PASSWORD '{PLATFORM_PASSWORDS[key]}'"
                )
            conn.execute("CREATE DATABASE investment_db OWNER investment_app TEMPLATE template0")
            conn.execute("REVOKE ALL ON DATABASE investment_db FROM PUBLIC")
            conn.execute("CREATE DATABASE airflow OWNER airflow TEMPLATE template0")
        with psycopg.connect(server.dsn("investment_db"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_trgm SCHEMA public")
            conn.execute("CREATE EXTENSION unaccent SCHEMA public")
        app = cluster.dsn("investment_db", "app")
        with psycopg.connect(app, autocommit=True) as conn:
            create_stocks_table(conn)
            insert_real_stocks(conn)
        migrator.apply(app, migrations=migrator.load_migrations()[:4])

        # The first `pulumi up` of this version: new roles, the database to postgres, the grants.
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute('ALTER DATABASE "investment_db" OWNER TO "postgres"')
        new_roles = [
            pgprovider.role_statements(MODEL.role(k), PLATFORM_PASSWORDS[k])
            for k in ("owner", "backup")
        ]
        in_place = [
            s
            for s in pgprovider.model_statements(MODEL, PLATFORM_PASSWORDS)
            if not s.sql[0].startswith(("CREATE ROLE", "CREATE DATABASE", "CREATE EXTENSION"))
        ]
        pgprovider.run(server.dsn, [*new_roles, *in_place])
        owner = cluster.dsn("investment_db", "owner")
        with pytest.raises(migrator.MigrationError):
            migrator.apply(owner)

        # The documented commands, then the refresh: the drifted grants are applied again.
        with psycopg.connect(server.dsn("investment_db"), autocommit=True) as conn:
            conn.execute("REASSIGN OWNED BY investment_app TO investment_owner")
            conn.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO investment_owner")
            conn.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO investment_owner")
        pgprovider.run(
            server.dsn,
            [
                pgprovider.grant_statements(g)
                for g in MODEL.grants
                if g.key in ("tables-app", "sequences-app")
            ],
        )
        assert migrator.apply(owner).applied == (5, 6, 7, 8, 9, 10, 11)

        with psycopg.connect(server.dsn("investment_db")) as conn:
            tables = conn.execute(
                "SELECT relname, pg_get_userbyid(relowner), relacl::text[] FROM pg_class "
                "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S') ORDER BY 1"
            ).fetchall()
        rows = ["investment_owner=arwdDxt/investment_owner", "investment_app=arwd/investment_owner"]
        sequence = ["investment_owner=rwU/investment_owner", "investment_app=rU/investment_owner"]
        assert tables == [
            ("search_schema_migrations", "investment_owner", rows),
            ("stocks", "investment_owner", rows),
            ("stocks_id_seq", "investment_owner", sequence),
            # Created by the owner after the upgrade: the default privileges list the grant to
            # the runtime role first.
            ("stocks_search_vocabulary", "investment_owner", rows[::-1]),
        ]
        assert _attempt(cluster, "app", "investment_db", "SELECT * FROM search_stocks('x')") == OK
        assert _attempt(cluster, "app", "investment_db", "CREATE TABLE t (x int)") == (
            "permission denied for schema public"
        )
        assert _attempt(cluster, "app", "investment_db", "DROP SCHEMA public CASCADE") == (
            "must be owner of schema public"
        )
    finally:
        server.destroy()
