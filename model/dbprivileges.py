"""Who may do what inside PostgreSQL, as data: the one source of truth for the Database component.

No Pulumi import. `components.database` turns `privilege_model(...)` into pulumi-postgresql
resources (Role, Database, Extension, Grant, DefaultPrivileges); the tests turn the same model
into the SQL that cyrilgdn/terraform-provider-postgresql (v1.27.0, which pulumi-postgresql 3.18
bridges) runs for those resources, apply it to a real server and check every privilege from both
sides (tests/support/pgprovider.py, tests/model/test_dbprivileges.py).

The design (least privilege):

- The application database and its schema `public` belong to the superuser: the database is
  owned by `admin_role`, and `public` keeps PostgreSQL 15's owner `pg_database_owner`, which is
  whoever owns the database. So no login role can drop the schema (and the superuser's
  extensions with it), create extensions, or change the database.
- `owner_role` runs migrations (the application's own, and the search schema's): CONNECT, USAGE
  and CREATE on `public`; it owns the tables and functions it creates.
- `app_role` is the runtime role of the backend and Celery: CONNECT, USAGE on `public`, DML on
  tables, USAGE/SELECT on sequences, EXECUTE on functions, also for everything `owner_role`
  creates later (ALTER DEFAULT PRIVILEGES FOR ROLE owner); CREATE nowhere, not even TEMP.
- `backup_role` logs in for pg_dump: a member of `pg_read_all_data` (SELECT on every table and
  sequence, USAGE on every schema, nothing else) with CONNECT on the databases it dumps.
- `monitoring_role` (postgres-exporter) is a member of `pg_monitor` with CONNECT on `postgres`
  only, the database the exporter connects to.
- Airflow's role owns Airflow's own database: `airflow db migrate` creates and alters its tables,
  nothing else lives there (no extensions, no other role's objects), and it cannot connect to any
  other database.
- PUBLIC loses CONNECT and TEMP on both databases and on the maintenance databases `postgres` and
  `template1`, USAGE on the application's schema `public`, and the EXECUTE that PostgreSQL grants
  it by default on every new function of `owner_role`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PUBLIC = "public"
"""The PUBLIC pseudo-role as the provider spells it (`pq.QuoteIdentifier("public")`, which
PostgreSQL's grammar reads as PUBLIC, not as a role named public)."""
SCHEMA = "public"
"""The application's schema."""
EXTENSIONS: tuple[str, ...] = ("pg_trgm", "unaccent")
"""Created by the superuser in the application database's schema `public` (search needs both)."""

GrantObject = Literal["database", "schema", "table", "sequence", "function"]
DefaultObject = Literal["table", "sequence", "function"]

# The privileges the provider accepts per object type (allowedPrivileges in
# postgresql/helpers.go); anything else fails `pulumi up`, so the model refuses it up front.
ALLOWED_PRIVILEGES: dict[str, frozenset[str]] = {
    "database": frozenset({"CREATE", "CONNECT", "TEMPORARY"}),
    "schema": frozenset({"CREATE", "USAGE"}),
    "table": frozenset(
        {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
    ),
    "sequence": frozenset({"USAGE", "SELECT", "UPDATE"}),
    "function": frozenset({"EXECUTE"}),
}

APP_TABLE_PRIVILEGES = ("DELETE", "INSERT", "SELECT", "UPDATE")
APP_SEQUENCE_PRIVILEGES = ("SELECT", "USAGE")


@dataclass(frozen=True)
class Names:
    """The names of everything the model mentions."""

    admin_role: str = "postgres"
    """The server's bootstrap superuser; owns the application database."""
    app_database: str = "investment_db"
    """The application's database."""
    owner_role: str = "investment_owner"
    """Login role for migrations; owns the application's tables and functions."""
    app_role: str = "investment_app"
    """Login role of the running application (backend, Celery)."""
    backup_role: str = "investment_backup"
    """Login role of pg_dump, read-only."""
    airflow_database: str = "airflow"
    """Airflow's metadata database."""
    airflow_role: str = "airflow"
    """Airflow's login role, owner of its database."""
    monitoring_role: str = "postgres_exporter"
    """postgres-exporter's login role."""
    monitoring_database: str = "postgres"
    """The database postgres-exporter connects to."""
    maintenance_databases: tuple[str, ...] = ("postgres", "template1")
    """Databases every cluster has, closed to PUBLIC."""


@dataclass(frozen=True)
class LoginRole:
    """A login role: no superuser, CREATEDB, CREATEROLE or BYPASSRLS; REPLICATION only when
    `replication` says so."""

    key: str
    """Stable short name; the Pulumi resource is `<component>-<key>-role`."""
    name: str
    member_of: tuple[str, ...] = ()
    """Predefined roles it is a member of (pg_monitor, pg_read_all_data)."""
    connection_limit: int = -1
    """-1: no limit."""
    replication: bool = False
    """REPLICATION: only the backup role, which streams WAL (pg_receivewal) and takes base backups
    (pg_basebackup) for point-in-time recovery."""


@dataclass(frozen=True)
class OwnedDatabase:
    """A database this model creates (template0, UTF8) and who owns it."""

    key: str
    """The Pulumi resource is `<component>-<key>-db`."""
    name: str
    owner: str


@dataclass(frozen=True)
class Grant:
    """One postgresql.Grant: `privileges` of `role` on objects of one type.

    As the provider applies it (createRevokeQuery, createGrantQuery in
    postgresql/resource_postgresql_grant.go): first REVOKE ALL of that role on those objects,
    then GRANT `privileges` (nothing when empty: an empty Grant is a revocation). Without
    `objects`, table, sequence and function grants cover ALL such objects IN SCHEMA that exist
    when the grant is applied, which is why default privileges exist for later ones.
    """

    key: str
    """The Pulumi resource is `<component>-<key>`."""
    database: str
    role: str
    object_type: GrantObject
    privileges: tuple[str, ...]
    schema: str | None = None
    """Required for every object type but database."""


@dataclass(frozen=True)
class DefaultPrivileges:
    """One postgresql.DefaultPrivileges: what `role` gets on objects `owner` creates later.

    The provider runs ALTER DEFAULT PRIVILEGES FOR ROLE owner [IN SCHEMA s] REVOKE ALL ..., then
    GRANT `privileges` unless empty (postgresql/resource_postgresql_default_privileges.go).
    Without a schema the entry is global, which is the only way to take away a built-in default
    such as PUBLIC's EXECUTE on new functions (a per-schema entry can only add).
    """

    key: str
    database: str
    owner: str
    role: str
    object_type: DefaultObject
    privileges: tuple[str, ...]
    schema: str | None = None


@dataclass(frozen=True)
class PrivilegeModel:
    """Everything the Database component creates inside the server, in dependency order."""

    app_database: str
    """The application's database, which holds the extensions and the application's schema."""
    roles: tuple[LoginRole, ...]
    databases: tuple[OwnedDatabase, ...]
    extensions: tuple[str, ...]
    grants: tuple[Grant, ...]
    default_privileges: tuple[DefaultPrivileges, ...]

    def role(self, key: str) -> LoginRole:
        """The login role with this key."""
        return next(r for r in self.roles if r.key == key)


class PrivilegeModelError(ValueError):
    """The names make an impossible or unsafe model (for instance two roles with one name)."""


def privilege_model(names: Names = Names()) -> PrivilegeModel:
    """The roles, databases, extensions, grants and default privileges for these names."""
    _check_names(names)
    app_db, schema = names.app_database, SCHEMA
    roles = (
        LoginRole("owner", names.owner_role),
        LoginRole("app", names.app_role),
        # Six connections: pg_dump, pg_receivewal, pg_basebackup and its WAL stream, the metrics
        # query, and one spare for a manual run.
        LoginRole(
            "backup",
            names.backup_role,
            member_of=("pg_read_all_data",),
            connection_limit=6,
            replication=True,
        ),
        LoginRole("airflow", names.airflow_role),
        LoginRole(
            "monitoring", names.monitoring_role, member_of=("pg_monitor",), connection_limit=5
        ),
    )
    databases = (
        OwnedDatabase("app", app_db, names.admin_role),
        OwnedDatabase("airflow", names.airflow_database, names.airflow_role),
    )
    grants: list[Grant] = [
        # The existing resource names (`<db>-revoke-public`) are kept so that state carries over.
        Grant("app-db-revoke-public", app_db, PUBLIC, "database", ()),
        Grant("app-db-connect-owner", app_db, names.owner_role, "database", ("CONNECT",)),
        Grant("app-db-connect-app", app_db, names.app_role, "database", ("CONNECT",)),
        Grant("app-db-connect-backup", app_db, names.backup_role, "database", ("CONNECT",)),
        Grant("airflow-db-revoke-public", names.airflow_database, PUBLIC, "database", ()),
        Grant(
            "airflow-db-connect-backup",
            names.airflow_database,
            names.backup_role,
            "database",
            ("CONNECT",),
        ),
    ]
    grants += [
        Grant(f"{db}-db-revoke-public", db, PUBLIC, "database", ())
        for db in names.maintenance_databases
    ]
    grants += [
        Grant(
            f"{names.monitoring_database}-db-connect-monitoring",
            names.monitoring_database,
            names.monitoring_role,
            "database",
            ("CONNECT",),
        ),
        Grant("schema-revoke-public", app_db, PUBLIC, "schema", (), schema),
        Grant("schema-owner", app_db, names.owner_role, "schema", ("CREATE", "USAGE"), schema),
        Grant("schema-app", app_db, names.app_role, "schema", ("USAGE",), schema),
        Grant("tables-app", app_db, names.app_role, "table", APP_TABLE_PRIVILEGES, schema),
        Grant("sequences-app", app_db, names.app_role, "sequence", APP_SEQUENCE_PRIVILEGES, schema),
    ]
    defaults = (
        DefaultPrivileges(
            "default-tables-app",
            app_db,
            names.owner_role,
            names.app_role,
            "table",
            APP_TABLE_PRIVILEGES,
            schema,
        ),
        DefaultPrivileges(
            "default-sequences-app",
            app_db,
            names.owner_role,
            names.app_role,
            "sequence",
            APP_SEQUENCE_PRIVILEGES,
            schema,
        ),
        DefaultPrivileges(
            "default-functions-app",
            app_db,
            names.owner_role,
            names.app_role,
            "function",
            ("EXECUTE",),
            schema,
        ),
        DefaultPrivileges(
            "default-functions-revoke-public",
            app_db,
            names.owner_role,
            PUBLIC,
            "function",
            (),
        ),
    )
    model = PrivilegeModel(
        app_database=app_db,
        roles=roles,
        databases=databases,
        extensions=EXTENSIONS,
        grants=tuple(grants),
        default_privileges=defaults,
    )
    _check_privileges(model)
    return model


def _check_names(names: Names) -> None:
    roles = [
        names.admin_role,
        names.owner_role,
        names.app_role,
        names.backup_role,
        names.airflow_role,
        names.monitoring_role,
    ]
    if len(set(roles)) != len(roles):
        raise PrivilegeModelError(f"every role needs its own name, got {roles}")
    if PUBLIC in roles[1:]:
        raise PrivilegeModelError("no role may be named 'public' (PostgreSQL's PUBLIC)")
    databases = [names.app_database, names.airflow_database, *names.maintenance_databases]
    if len(set(databases)) != len(databases):
        raise PrivilegeModelError(f"every database needs its own name, got {databases}")
    if names.monitoring_database in (names.app_database, names.airflow_database):
        raise PrivilegeModelError("the monitoring role connects to a maintenance database only")
    for name in [*roles, *databases]:
        if not name or len(name.encode()) > 63:
            raise PrivilegeModelError(f"name {name!r} must be 1 to 63 bytes (PostgreSQL's limit)")


def _check_privileges(model: PrivilegeModel) -> None:
    entries: list[Grant | DefaultPrivileges] = [*model.grants, *model.default_privileges]
    for entry in entries:
        unknown = set(entry.privileges) - ALLOWED_PRIVILEGES[entry.object_type]
        if unknown:
            raise PrivilegeModelError(
                f"{entry.key}: {sorted(unknown)} not allowed on {entry.object_type}"
            )
        if entry.object_type != "database" and isinstance(entry, Grant) and not entry.schema:
            raise PrivilegeModelError(f"{entry.key}: a {entry.object_type} grant needs a schema")
    keys = [e.key for e in entries]
    if len(set(keys)) != len(keys):
        raise PrivilegeModelError(f"duplicate resource keys in {keys}")


def grant_ordering_key(entry: Grant | DefaultPrivileges) -> tuple[str, str, str]:
    """Entries with the same key change the same catalogue row (one database's ACL, one schema's,
    one role's default ACL): the component applies them one after the other, because the provider
    only serialises grants on a database (pgLockDatabase) and per role (pgLockRole), and two
    concurrent GRANTs on one row fail with "tuple concurrently updated"."""
    if isinstance(entry, DefaultPrivileges):
        return (entry.database, "default", entry.owner)
    return (entry.database, entry.object_type, entry.schema or "")
