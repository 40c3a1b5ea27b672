"""`SearchSchema`: a Pulumi dynamic resource that applies the search migrations during `pulumi up`.

The same code as `python -m commands db ...` (search.migrator), so the two front doors
cannot drift. Preview diffs the migrations' checksums (version -> sha256 of up and down SQL) against
the ones recorded in state, so adding or editing a migration shows as an update in `pulumi preview`;
update applies what is pending and re-runs edited ones (their down steps, then up); delete runs
every down step.

Credentials. A dynamic provider is pickled (with dill) into the state, so it must not capture
anything secret: `SearchSchemaProvider` holds no fields at all, and every connection detail arrives
as a resource input at run time. The password is the application role's RandomPassword, generated
in the same program, so an environment variable could not carry it; it is passed as a secret
Output instead. Pulumi encrypts secret inputs in the state with the stack's secrets provider, and
`additional_secret_outputs=["password"]` keeps the copy in the outputs secret too (dynamic
providers would otherwise return it in plain text). When `password` is None, libpq reads
PGPASSWORD or ~/.pgpass of the machine running `pulumi up` at run time, which suits an operator
who keeps the password outside Pulumi altogether.

How `pulumi up` reaches the database in prod: see docs/SEARCH.md (an SSH tunnel from the machine
running Pulumi to postgres published on 127.0.0.1 of the VPS); `host` and `port` are the tunnel's
local end.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

CONNECTION_KEYS = ("host", "port", "database", "username", "password", "sslmode")
# A different database is a different schema: create there, then delete from the old one.
REPLACE_KEYS = ("database",)


def migration_checksums() -> dict[str, str]:
    """Version (zero-padded, as a string key: state keys must be strings) -> checksum."""
    from search.migrator import load_migrations

    return {f"{m.version:04d}": m.checksum for m in load_migrations()}


def build_dsn(props: Mapping[str, Any]) -> str:
    """A libpq connection string from the resource's inputs; unset parts fall back to PG* vars."""
    from psycopg import conninfo

    params: dict[str, Any] = {
        "host": props.get("host"),
        "port": int(props["port"]) if props.get("port") is not None else None,
        "dbname": props.get("database"),
        "user": props.get("username"),
        "password": props.get("password"),
        "sslmode": props.get("sslmode"),
        "connect_timeout": 15,
        "application_name": "pulumi-search-schema",
    }
    return conninfo.make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def diff_props(olds: Mapping[str, Any], news: Mapping[str, Any]) -> pulumi.dynamic.DiffResult:
    """Pure diff: which inputs changed, and whether that needs a replacement."""
    keys = (*CONNECTION_KEYS, "migrations")
    changed = [k for k in keys if olds.get(k) != news.get(k)]
    replaces = [k for k in changed if k in REPLACE_KEYS]
    return pulumi.dynamic.DiffResult(
        changes=bool(changed),
        replaces=replaces,
        stables=[k for k in keys if k not in changed],
        delete_before_replace=False,
    )


class SearchSchemaProvider(pulumi.dynamic.ResourceProvider):
    """Applies and rolls back the search migrations; stateless, so safe to pickle."""

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        outs = _apply(props)
        return pulumi.dynamic.CreateResult(id_=f"search-schema-{props['database']}", outs=outs)

    def diff(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> pulumi.dynamic.DiffResult:
        return diff_props(_olds, _news)

    def update(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(outs=_apply(_news))

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        from search import migrator

        migrator.rollback(build_dsn(_props), to_version=0)


def _apply(props: Mapping[str, Any]) -> dict[str, Any]:
    from search import migrator

    # An edited migration is what the diff showed; `pulumi up` applies the code's version of it.
    result = migrator.apply(build_dsn(props), redo_changed=True)
    return {**props, "version": result.version, "applied": [f"{v:04d}" for v in result.applied]}


@dataclass
class SearchSchemaArgs:
    """Where the migrations run, as the application role (the owner of `stocks`)."""

    host: pulumi.Input[str]
    """Address `pulumi up` connects to: in prod the local end of the SSH tunnel (127.0.0.1)."""
    port: pulumi.Input[int]
    """Port `pulumi up` connects to (the tunnel's local port in prod)."""
    database: pulumi.Input[str]
    """The application's database, which holds the `stocks` table."""
    username: pulumi.Input[str]
    """The application role, which owns `stocks` (ALTER TABLE and CREATE TRIGGER need that)."""
    password: pulumi.Input[str] | None = None
    """Its password, as a secret Output; None: libpq reads PGPASSWORD/~/.pgpass at run time."""
    sslmode: pulumi.Input[str] = "prefer"
    """libpq sslmode; over an SSH tunnel the transport is already encrypted."""


class SearchSchema(pulumi.dynamic.Resource):
    """The search schema (vector, trigger, indexes, functions) on the application's database."""

    version: pulumi.Output[int]
    """The newest applied migration version."""
    migrations: pulumi.Output[dict[str, str]]
    """Version -> checksum of every migration in this code."""

    def __init__(
        self,
        name: str,
        args: SearchSchemaArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "host": args.host,
            "port": args.port,
            "database": args.database,
            "username": args.username,
            "password": pulumi.Output.secret(args.password) if args.password is not None else None,
            "sslmode": args.sslmode,
            "migrations": migration_checksums(),
            "version": None,
            "applied": None,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["password"])
        super().__init__(
            SearchSchemaProvider(),
            name,
            props,
            pulumi.ResourceOptions.merge(opts, secret_opts),
        )
