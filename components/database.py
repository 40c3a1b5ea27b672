"""`Database`: what lives inside the PostgreSQL server, declared with pulumi-postgresql.

The application's database and role, Airflow's own database and role, a `pg_monitor` role for
postgres-exporter, the `pg_trgm` and `unaccent` extensions, and the stock search schema
(`SearchSchema`, applied by components.search.migrator). Everything goes through one explicit
`postgresql.Provider`, which depends on the healthy postgres container the caller names in `opts`,
so nothing tries to connect before the server accepts connections.

Least privilege: each login role owns its own database and nothing else (no superuser, no
CREATEDB, no CREATEROLE, no replication), and CONNECT/TEMP are revoked from PUBLIC on both
databases, so the Airflow role cannot open the application's database and vice versa. The
monitoring role gets `pg_monitor` (read-only statistics) and no database of its own.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_random as random

with warnings.catch_warnings():
    # The SDK warns at import about a deprecated alias (DefaultPrivileg) that we never use; the
    # test suite turns warnings into errors, so only that one message is silenced, only here.
    warnings.filterwarnings(
        "ignore",
        message=r"postgresql\.DefaultPrivileg has been deprecated",
        category=DeprecationWarning,
    )
    import pulumi_postgresql as postgresql

from components.search.provider import SearchSchema, SearchSchemaArgs

TYPE_TOKEN = "investment:platform:Database"
EXTENSIONS: tuple[str, ...] = ("pg_trgm", "unaccent")


@dataclass
class DatabaseArgs:
    """How Pulumi reaches the server, and the names of what it creates there."""

    host: pulumi.Input[str]
    """Address the machine running `pulumi up` connects to. In prod: 127.0.0.1, the local end of
    the SSH tunnel to postgres published on the VPS's loopback (docs/SEARCH.md)."""
    port: pulumi.Input[int]
    """Port at that address (the tunnel's local port in prod)."""
    admin_username: pulumi.Input[str]
    """The server's bootstrap superuser (POSTGRES_USER of the container)."""
    admin_password: pulumi.Input[str]
    """Its password, a secret Output or secret config value."""
    sslmode: pulumi.Input[str] = "disable"
    """libpq sslmode for Pulumi's connections. `disable` fits a loopback SSH tunnel (the tunnel
    encrypts); use `require` when connecting over a network without one."""
    app_database: str = "investment_db"
    """The application's database (the name the old compose file used)."""
    app_role: str = "investment_app"
    """The application's login role, owner of `app_database`."""
    airflow_database: str = "airflow"
    """Airflow's metadata database on the same server."""
    airflow_role: str = "airflow"
    """Airflow's login role, owner of `airflow_database`."""
    monitoring_role: str = "postgres_exporter"
    """postgres-exporter's login role, a member of pg_monitor."""
    app_password: pulumi.Input[str] | None = None
    """The application role's password; None generates one with pulumi-random."""
    airflow_password: pulumi.Input[str] | None = None
    """Airflow's password; None generates one."""
    monitoring_password: pulumi.Input[str] | None = None
    """The monitoring role's password; None generates one."""
    search_schema: bool = True
    """Apply the search migrations during `pulumi up` (False: leave it to `db migrate`)."""
    search_schema_after: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Resources that must exist before the search migrations run: whatever creates the
    application's `stocks` table (the backend container, whose own migrations run at start-up).
    Consumers of this component must depend on its outputs, not on the component itself, or a
    backend that needs `app_password` and must precede the search schema makes a cycle."""
    protect: bool = True
    """Protect both databases from `pulumi destroy` and accidental replacement."""


def _password(
    parent: pulumi.Resource, name: str, given: pulumi.Input[str] | None
) -> pulumi.Output[str]:
    if given is not None:
        return pulumi.Output.secret(given)
    generated = random.RandomPassword(
        name,
        length=32,
        # Letters and digits only: the password ends up in connection URLs and env files.
        special=False,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return generated.result


class Database(pulumi.ComponentResource):
    """Databases, roles, extensions and the search schema on the platform's PostgreSQL server."""

    app_database: pulumi.Output[str]
    """Name of the application's database."""
    app_role: pulumi.Output[str]
    """The application's login role."""
    app_password: pulumi.Output[str]
    """Its password (secret)."""
    airflow_database: pulumi.Output[str]
    """Name of Airflow's database."""
    airflow_role: pulumi.Output[str]
    """Airflow's login role."""
    airflow_password: pulumi.Output[str]
    """Its password (secret)."""
    monitoring_role: pulumi.Output[str]
    """postgres-exporter's login role."""
    monitoring_password: pulumi.Output[str]
    """Its password (secret)."""
    search_schema_version: pulumi.Output[int]
    """Newest applied search migration (0 when the schema is left to the CLI)."""

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        # Children do not inherit the component's depends_on; the provider must wait for the
        # healthy container itself, and every resource below uses the provider.
        ready = opts.depends_on if opts is not None and opts.depends_on is not None else []
        self._provider = postgresql.Provider(
            f"{name}-provider",
            host=args.host,
            port=args.port,
            username=args.admin_username,
            password=args.admin_password,
            sslmode=args.sslmode,
            superuser=True,
            connect_timeout=15,
            opts=pulumi.ResourceOptions(parent=self, depends_on=ready),
        )

        app_password = _password(self, f"{name}-app-password", args.app_password)
        airflow_password = _password(self, f"{name}-airflow-password", args.airflow_password)
        monitoring_password = _password(
            self, f"{name}-monitoring-password", args.monitoring_password
        )

        app_role = self._login_role(f"{name}-app-role", args.app_role, app_password)
        app_db = self._owned_database(f"{name}-app-db", args.app_database, app_role, args.protect)
        airflow_role = self._login_role(f"{name}-airflow-role", args.airflow_role, airflow_password)
        airflow_db = self._owned_database(
            f"{name}-airflow-db", args.airflow_database, airflow_role, args.protect
        )
        monitoring_role = self._login_role(
            f"{name}-monitoring-role",
            args.monitoring_role,
            monitoring_password,
            roles=["pg_monitor"],
            connection_limit=5,
        )
        extensions = [
            postgresql.Extension(
                f"{name}-{extension.replace('_', '-')}",
                name=extension,
                database=app_db.name,
                schema="public",
                opts=self._opts(depends_on=[app_db]),
            )
            for extension in EXTENSIONS
        ]

        self.objects: list[pulumi.Resource] = [
            app_role,
            app_db,
            airflow_role,
            airflow_db,
            monitoring_role,
            *extensions,
        ]
        """The roles, databases and extensions, for containers that must start after them (not the
        component itself: its search schema waits for the backend)."""
        self._name, self._args = name, args
        self._app_db, self._app_role, self._extensions = app_db, app_role, extensions
        self._app_password_input = app_password
        version: pulumi.Output[int] = pulumi.Output.from_input(0)
        if args.search_schema:
            version = self.add_search_schema(args.search_schema_after).version

        self.app_database = app_db.name
        self.app_role = app_role.name
        self.app_password = pulumi.Output.secret(app_password)
        self.airflow_database = airflow_db.name
        self.airflow_role = airflow_role.name
        self.airflow_password = pulumi.Output.secret(airflow_password)
        self.monitoring_role = monitoring_role.name
        self.monitoring_password = pulumi.Output.secret(monitoring_password)
        self.search_schema_version = version
        self.register_outputs(
            {
                "app_database": self.app_database,
                "app_role": self.app_role,
                "app_password": self.app_password,
                "airflow_database": self.airflow_database,
                "airflow_role": self.airflow_role,
                "airflow_password": self.airflow_password,
                "monitoring_role": self.monitoring_role,
                "monitoring_password": self.monitoring_password,
                "search_schema_version": self.search_schema_version,
            }
        )

    def add_search_schema(self, after: Sequence[pulumi.Resource]) -> SearchSchema:
        """Apply the search migrations once `after` (whatever creates `stocks`) exists.

        Callable after construction, so the platform can order it after the backend, whose
        connection string needs this component's roles first.
        """
        args = self._args
        return SearchSchema(
            f"{self._name}-search-schema",
            SearchSchemaArgs(
                host=args.host,
                port=args.port,
                database=self._app_db.name,
                username=self._app_role.name,
                password=self._app_password_input,
                sslmode=args.sslmode,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*self._extensions, self._app_db, *after]
            ),
        )

    def _login_role(
        self,
        resource_name: str,
        role: str,
        password: pulumi.Output[str],
        roles: Sequence[str] = (),
        connection_limit: int = -1,
    ) -> postgresql.Role:
        return postgresql.Role(
            resource_name,
            name=role,
            login=True,
            password=password,
            superuser=False,
            create_database=False,
            create_role=False,
            replication=False,
            bypass_row_level_security=False,
            inherit=True,
            roles=list(roles),
            connection_limit=connection_limit,
            opts=self._opts(),
        )

    def _owned_database(
        self, resource_name: str, database: str, owner: postgresql.Role, protect: bool
    ) -> postgresql.Database:
        created = postgresql.Database(
            resource_name,
            name=database,
            owner=owner.name,
            encoding="UTF8",
            template="template0",
            opts=self._opts(protect=protect, depends_on=[owner]),
        )
        # No privileges for PUBLIC: only the owner (and superusers) may connect.
        postgresql.Grant(
            f"{resource_name}-revoke-public",
            database=created.name,
            role="public",
            object_type="database",
            privileges=[],
            opts=self._opts(),
        )
        return created

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a resource inside the server: a child of this component, via its provider."""
        return pulumi.ResourceOptions(parent=self, provider=self._provider, **kwargs)
