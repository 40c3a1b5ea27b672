"""`Database`: what lives inside the PostgreSQL server, declared with pulumi-postgresql.

The roles, databases, extensions, grants and default privileges of `model.dbprivileges`
(the one source of truth, pure data: read its docstring for who may do what), and the stock
search schema (`SearchSchema`, applied by search.migrator as the owner role).
Everything goes through one explicit `postgresql.Provider`, which depends on the healthy postgres
container the caller names in `opts`, so nothing tries to connect before the server accepts
connections.

In short: the application database and its schema belong to the superuser; an owner role runs
migrations and owns the tables; the runtime role only reads and writes rows; a backup role reads
everything (`pg_read_all_data`) and writes nothing; the monitoring role has `pg_monitor`; Airflow
owns its own database; PUBLIC can connect nowhere.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

with warnings.catch_warnings():
    # The SDK warns at import about a deprecated alias (DefaultPrivileg) that we never use; the
    # test suite turns warnings into errors, so only that one message is silenced, only here.
    warnings.filterwarnings(
        "ignore",
        message=r"postgresql\.DefaultPrivileg has been deprecated",
        category=DeprecationWarning,
    )
    import pulumi_postgresql as postgresql

from components.search_schema import SearchSchema, SearchSchemaArgs
from model.dbprivileges import (
    DefaultPrivileges,
    Grant,
    Names,
    PrivilegeModel,
    grant_ordering_key,
    privilege_model,
)

TYPE_TOKEN = "investment:platform:Database"


@dataclass
class DatabaseArgs:
    """How Pulumi reaches the server, and the names of what it creates there."""

    host: pulumi.Input[str]
    """Address the machine running `pulumi up` connects to. In prod: 127.0.0.1, the local end of
    the SSH tunnel to postgres published on the VPS's loopback (docs/SEARCH.md)."""
    port: pulumi.Input[int]
    """Port at that address (the tunnel's local port in prod)."""
    admin_password: pulumi.Input[str]
    """Its password, a secret Output or secret config value."""
    owner_password: pulumi.Input[str]
    """The owner role's password (the Secrets component's, given or generated)."""
    app_password: pulumi.Input[str]
    """The application role's password."""
    backup_password: pulumi.Input[str]
    """The backup role's password."""
    airflow_password: pulumi.Input[str]
    """Airflow's password."""
    monitoring_password: pulumi.Input[str]
    """The monitoring role's password."""
    sslmode: pulumi.Input[str] = "disable"
    """libpq sslmode for Pulumi's connections. `disable` fits a loopback SSH tunnel (the tunnel
    encrypts); use `require` when connecting over a network without one."""
    names: Names = field(default_factory=Names)
    """The names of the roles and databases it creates (the privilege model's defaults: the
    application database `investment_db`, the owner, app, backup, Airflow and monitoring roles).
    `names.admin_role` is the server's bootstrap superuser, POSTGRES_USER of the container."""
    protect: bool = True
    """Protect both databases from `pulumi destroy` and accidental replacement."""


class Database(pulumi.ComponentResource):
    """Roles, databases, extensions, privileges and the search schema on the platform's server."""

    app_database: pulumi.Output[str]
    """Name of the application's database."""
    owner_role: pulumi.Output[str]
    """The migrations' login role (owner of the application's tables)."""
    owner_password: pulumi.Output[str]
    """Its password (secret)."""
    app_role: pulumi.Output[str]
    """The application's runtime login role."""
    app_password: pulumi.Output[str]
    """Its password (secret)."""
    backup_role: pulumi.Output[str]
    """pg_dump's read-only login role."""
    backup_password: pulumi.Output[str]
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

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        self._name, self._args = name, args
        self.model: PrivilegeModel = privilege_model(args.names)
        """The privilege model these resources implement."""
        # Children do not inherit the component's depends_on; the provider must wait for the
        # healthy container itself, and every resource below uses the provider.
        ready = opts.depends_on if opts is not None and opts.depends_on is not None else []
        self._provider = postgresql.Provider(
            f"{name}-provider",
            host=args.host,
            port=args.port,
            username=args.names.admin_role,
            password=args.admin_password,
            sslmode=args.sslmode,
            superuser=True,
            connect_timeout=15,
            opts=pulumi.ResourceOptions(parent=self, depends_on=ready),
        )

        given = {
            "owner": args.owner_password,
            "app": args.app_password,
            "backup": args.backup_password,
            "airflow": args.airflow_password,
            "monitoring": args.monitoring_password,
        }
        self._passwords = {key: pulumi.Output.secret(value) for key, value in given.items()}
        self._roles = {
            role.name: postgresql.Role(
                f"{name}-{role.key}-role",
                name=role.name,
                login=True,
                password=self._passwords[role.key],
                superuser=False,
                create_database=False,
                create_role=False,
                replication=role.replication,
                bypass_row_level_security=False,
                inherit=True,
                roles=list(role.member_of),
                connection_limit=role.connection_limit,
                opts=self._opts(),
            )
            for role in self.model.roles
        }
        self._databases = {
            db.name: postgresql.Database(
                f"{name}-{db.key}-db",
                name=db.name,
                owner=self._role_name(db.owner),
                encoding="UTF8",
                template="template0",
                opts=self._opts(protect=args.protect),
            )
            for db in self.model.databases
        }
        app_db = self._databases[args.names.app_database]
        self._extensions = [
            postgresql.Extension(
                f"{name}-{extension.replace('_', '-')}",
                name=extension,
                database=app_db.name,
                schema="public",
                opts=self._opts(),
            )
            for extension in self.model.extensions
        ]
        self._privileges = self._create_privileges()

        self.objects: list[pulumi.Resource] = [
            *self._roles.values(),
            *self._databases.values(),
            *self._extensions,
            *self._privileges,
        ]
        """Roles, databases, extensions and privileges, for containers that must start after them
        (not the component itself: its search schema waits for the backend)."""
        role = self._roles
        self.app_database = app_db.name
        self.owner_role = role[args.names.owner_role].name
        self.owner_password = pulumi.Output.secret(self._passwords["owner"])
        self.app_role = role[args.names.app_role].name
        self.app_password = pulumi.Output.secret(self._passwords["app"])
        self.backup_role = role[args.names.backup_role].name
        self.backup_password = pulumi.Output.secret(self._passwords["backup"])
        self.airflow_database = self._databases[args.names.airflow_database].name
        self.airflow_role = role[args.names.airflow_role].name
        self.airflow_password = pulumi.Output.secret(self._passwords["airflow"])
        self.monitoring_role = role[args.names.monitoring_role].name
        self.monitoring_password = pulumi.Output.secret(self._passwords["monitoring"])
        self.register_outputs({key: getattr(self, key) for key in OUTPUTS})

    def add_search_schema(self, after: Sequence[pulumi.Resource]) -> SearchSchema:
        """Apply the search migrations, as the owner role, once `after` (whatever creates
        `stocks`) exists and the privileges are in place.

        Callable after construction, so the platform can order it after the backend, whose
        connection string needs this component's roles first.
        """
        args = self._args
        return SearchSchema(
            f"{self._name}-search-schema",
            SearchSchemaArgs(
                host=args.host,
                port=args.port,
                database=self._databases[args.names.app_database].name,
                username=self._roles[args.names.owner_role].name,
                password=self._passwords["owner"],
                sslmode=args.sslmode,
            ),
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*self._extensions, *self._privileges, *after]
            ),
        )

    def _create_privileges(self) -> list[pulumi.CustomResource]:
        """Grants, then default privileges, each after the previous one on the same catalogue
        row (see `grant_ordering_key`)."""
        created: list[pulumi.CustomResource] = []
        previous: dict[tuple[str, str, str], pulumi.Resource] = {}
        entries: list[Grant | DefaultPrivileges] = [
            *self.model.grants,
            *self.model.default_privileges,
        ]
        for entry in entries:
            key = grant_ordering_key(entry)
            after = [previous[key]] if key in previous else []
            resource: pulumi.CustomResource
            common: dict[str, Any] = {
                "database": self._database_name(entry.database),
                "role": self._role_name(entry.role),
                "object_type": entry.object_type,
                "privileges": list(entry.privileges),
                "schema": entry.schema,
                "opts": self._opts(depends_on=after),
            }
            if isinstance(entry, Grant):
                resource = postgresql.Grant(f"{self._name}-{entry.key}", **common)
            else:
                resource = postgresql.DefaultPrivileges(
                    f"{self._name}-{entry.key}", owner=self._role_name(entry.owner), **common
                )
            previous[key] = resource
            created.append(resource)
        return created

    def _role_name(self, role: str) -> pulumi.Input[str]:
        """A role this component creates as its Output (so users wait for it), others by name."""
        return self._roles[role].name if role in self._roles else role

    def _database_name(self, database: str) -> pulumi.Input[str]:
        return self._databases[database].name if database in self._databases else database

    def _opts(self, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a resource inside the server: a child of this component, via its provider."""
        return pulumi.ResourceOptions(parent=self, provider=self._provider, **kwargs)


OUTPUTS: tuple[str, ...] = (
    "app_database",
    "owner_role",
    "owner_password",
    "app_role",
    "app_password",
    "backup_role",
    "backup_password",
    "airflow_database",
    "airflow_role",
    "airflow_password",
    "monitoring_role",
    "monitoring_password",
)
"""The component's outputs, as registered."""
