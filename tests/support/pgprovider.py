"""The SQL cyrilgdn/terraform-provider-postgresql runs for the Database component's resources.

pulumi-postgresql 3.18.x bridges terraform-provider-postgresql v1.27.0 (pulumi-postgresql's
`upstream` submodule at ff936b9, "Upgrade terraform-provider-postgresql to v1.27.0", #974). Each
function below follows the Go code it names, so that the tests can apply exactly what `pulumi up`
would, as the same superuser, to a real server (no Pulumi CLI or Docker here), and then check every
privilege. Rules relied on, with their source in that repository:

- postgresql/resource_postgresql_role.go, resourcePostgreSQLRoleCreate: `CREATE ROLE "name" WITH
  ENCRYPTED PASSWORD '...' VALID UNTIL 'infinity' CONNECTION LIMIT n NOSUPERUSER NOCREATEDB
  NOCREATEROLE INHERIT LOGIN NOBYPASSRLS NOREPLICATION`, then grantRoles: `GRANT "r" TO "name"`
  for each of `roles`; search_path and timeouts only when set.
- postgresql/resource_postgresql_database.go, createDatabase: `CREATE DATABASE "name" OWNER "o"
  TEMPLATE "template0" ENCODING 'UTF8'  ALLOW_CONNECTIONS true CONNECTION LIMIT -1 IS_TEMPLATE
  false`, on the provider's own connection (database `postgres`).
- postgresql/resource_postgresql_extension.go, resourcePostgreSQLExtensionCreate: `CREATE EXTENSION
  IF NOT EXISTS "ext" SCHEMA "s"`, in the extension's database.
- postgresql/resource_postgresql_grant.go, resourcePostgreSQLGrantCreateOrUpdate: in one
  transaction on the grant's database, revokeRolePrivileges then grantRolePrivileges.
  createRevokeQuery: `REVOKE ALL PRIVILEGES ON DATABASE|SCHEMA ...`, and for table, sequence and
  function without `objects`: `REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA "s" FROM "role"`.
  createGrantQuery: `GRANT p1,p2 ON DATABASE "d" TO "role"`, `... ON SCHEMA "s" ...`, and without
  `objects` `GRANT p ON ALL TABLES IN SCHEMA "s" TO "role"`: only the objects that exist then.
  grantRolePrivileges returns without running anything when `privileges` is empty, so an empty
  Grant is a pure revocation (the Python SDK's docs say as much for DefaultPrivileges).
- postgresql/resource_postgresql_default_privileges.go: revokeRoleDefaultPrivileges `ALTER DEFAULT
  PRIVILEGES FOR ROLE "owner" [IN SCHEMA "s"] REVOKE ALL ON TABLES FROM "role"`, then
  grantRoleDefaultPrivileges `... GRANT p ON TABLES TO "role"` unless `privileges` is empty.
- Roles are quoted with pq.QuoteIdentifier, so PUBLIC is written `"public"`, which PostgreSQL's
  grammar (RoleSpec) reads as PUBLIC: the provider special-cases the name only to skip the role's
  existence check (helpers.go, publicRole).
- The superuser the provider connects as needs no temporary memberships (helpers.go,
  withRolesGranted returns early for a superuser).

Privileges are a set in the provider's schema (schema.TypeSet), joined in the set's order; they
are sorted here, which PostgreSQL does not distinguish.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import psycopg

from model.dbprivileges import (
    DefaultPrivileges,
    Grant,
    LoginRole,
    OwnedDatabase,
    PrivilegeModel,
)

PROVIDER_DATABASE = "postgres"
"""The provider's own connection database (its `database` setting defaults to postgres)."""


@dataclass(frozen=True)
class Statement:
    """One transaction the provider runs: its statements, on one database."""

    database: str
    sql: tuple[str, ...]


def quote_identifier(name: str) -> str:
    """lib/pq's QuoteIdentifier."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """The provider's pqQuoteLiteral (helpers.go), inside quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def role_statements(role: LoginRole, password: str) -> Statement:
    options = [
        "ENCRYPTED",
        f"PASSWORD {quote_literal(password)}",
        "VALID UNTIL 'infinity'",
        f"CONNECTION LIMIT {role.connection_limit}",
        "NOSUPERUSER",
        "NOCREATEDB",
        "NOCREATEROLE",
        "INHERIT",
        "LOGIN",
        "NOBYPASSRLS",
        "REPLICATION" if role.replication else "NOREPLICATION",
    ]
    name = quote_identifier(role.name)
    create = f"CREATE ROLE {name} WITH {' '.join(options)}"
    memberships = [f"GRANT {quote_identifier(r)} TO {name}" for r in role.member_of]
    return Statement(PROVIDER_DATABASE, (create, *memberships))


def database_statements(database: OwnedDatabase) -> Statement:
    return Statement(
        PROVIDER_DATABASE,
        (
            f"CREATE DATABASE {quote_identifier(database.name)} "
            f"OWNER {quote_identifier(database.owner)} TEMPLATE {quote_identifier('template0')} "
            "ENCODING 'UTF8'  ALLOW_CONNECTIONS true CONNECTION LIMIT -1 IS_TEMPLATE false",
        ),
    )


def extension_statements(extension: str, database: str, schema: str = "public") -> Statement:
    return Statement(
        database,
        (
            f"CREATE EXTENSION IF NOT EXISTS {quote_identifier(extension)} "
            f"SCHEMA {quote_identifier(schema)}",
        ),
    )


def _on(grant: Grant) -> str:
    if grant.object_type == "database":
        return f"DATABASE {quote_identifier(grant.database)}"
    assert grant.schema is not None
    if grant.object_type == "schema":
        return f"SCHEMA {quote_identifier(grant.schema)}"
    return f"ALL {grant.object_type.upper()}S IN SCHEMA {quote_identifier(grant.schema)}"


def grant_statements(grant: Grant) -> Statement:
    role = quote_identifier(grant.role)
    statements = [f"REVOKE ALL PRIVILEGES ON {_on(grant)} FROM {role}"]
    if grant.privileges:
        statements.append(f"GRANT {','.join(sorted(grant.privileges))} ON {_on(grant)} TO {role}")
    return Statement(grant.database, tuple(statements))


def default_privileges_statements(entry: DefaultPrivileges) -> Statement:
    in_schema = f"IN SCHEMA {quote_identifier(entry.schema)}" if entry.schema else ""
    head = f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote_identifier(entry.owner)} {in_schema}"
    kind = f"{entry.object_type.upper()}S"
    role = quote_identifier(entry.role)
    statements = [f"{head} REVOKE ALL ON {kind} FROM {role}"]
    if entry.privileges:
        statements.append(f"{head} GRANT {','.join(sorted(entry.privileges))} ON {kind} TO {role}")
    return Statement(entry.database, tuple(statements))


def model_statements(model: PrivilegeModel, passwords: Mapping[str, str]) -> list[Statement]:
    """Every transaction for the model, in an order `pulumi up` may run them (roles, databases,
    extensions, grants, default privileges); `passwords` by role key."""
    return [
        *(role_statements(role, passwords[role.key]) for role in model.roles),
        *(database_statements(db) for db in model.databases),
        *(extension_statements(ext, model.app_database) for ext in model.extensions),
        *(grant_statements(grant) for grant in model.grants),
        *(default_privileges_statements(entry) for entry in model.default_privileges),
    ]


def run(dsn_for: Callable[[str], str], statements: Sequence[Statement]) -> None:
    """Run each transaction on its database as the superuser (`dsn_for(database)` gives the DSN),
    as the provider does: CREATE DATABASE outside a transaction block, the rest in one."""
    for statement in statements:
        autocommit = any(s.startswith("CREATE DATABASE") for s in statement.sql)
        with psycopg.connect(dsn_for(statement.database), autocommit=autocommit) as conn:
            for sql in statement.sql:
                conn.execute(sql.encode())
