"""The SearchSchema dynamic provider's operations, run directly against a real server."""

from __future__ import annotations

import re

import dill  # type: ignore[import-untyped]
import psycopg
import pytest

from components.search_schema import (
    SearchSchemaProvider,
    build_dsn,
    diff_props,
    migration_checksums,
)
from search import migrator

pytestmark = pytest.mark.postgres


def _props(dsn: str) -> dict[str, object]:
    parts = dict(re.findall(r"(\w+)=(\S+)", dsn))
    return {
        "host": parts["host"],
        "port": float(parts["port"]),  # numbers reach dynamic providers as floats
        "database": parts["dbname"],
        "username": parts["user"],
        "password": parts["password"],
        "sslmode": "disable",
        "migrations": migration_checksums(),
    }


def test_build_dsn_drops_unset_parts_so_libpq_reads_pg_variables():
    assert build_dsn(
        {"host": "127.0.0.1", "port": 15432.0, "database": "app", "username": "u"}
    ) == (
        "host=127.0.0.1 port=15432 dbname=app user=u connect_timeout=15 "
        "application_name=pulumi-search-schema"
    )


def test_migration_checksums_are_keyed_by_version():
    checksums = migration_checksums()
    assert list(checksums) == [
        "0001",
        "0002",
        "0003",
        "0004",
        "0005",
        "0006",
        "0007",
        "0008",
        "0009",
        "0010",
        "0011",
    ]
    assert checksums["0011"] == migrator.load_migrations()[10].checksum


def test_diff_shows_a_changed_migration_as_an_update_and_a_new_database_as_a_replace():
    olds = {"host": "h", "port": 1.0, "database": "app", "migrations": {"0001": "a"}}
    same = diff_props(olds, dict(olds))
    assert (same.changes, same.replaces) == (False, [])
    edited = diff_props(olds, {**olds, "migrations": {"0001": "b"}})
    assert (edited.changes, edited.replaces) == (True, [])
    moved = diff_props(olds, {**olds, "database": "other"})
    assert (moved.changes, moved.replaces) == (True, ["database"])


def test_provider_holds_nothing_to_pickle_but_its_class():
    provider = SearchSchemaProvider()
    assert vars(provider) == {}
    assert b"password" not in dill.dumps(provider, recurse=True)


def test_create_update_delete_on_a_real_database(make_database):
    dsn = make_database()
    provider = SearchSchemaProvider()
    props = _props(dsn)
    created = provider.create(props)
    assert created.id == f"search-schema-{props['database']}"
    assert created.outs is not None
    assert (created.outs["version"], created.outs["applied"]) == (
        11,
        ["0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009", "0010", "0011"],
    )
    updated = provider.update(created.id, created.outs, props)
    assert updated.outs is not None
    assert (updated.outs["version"], updated.outs["applied"]) == (11, [])
    provider.delete(created.id, props)
    rows, _ = migrator.status(dsn)
    assert {r.state for r in rows} == {"pending"}
    with psycopg.connect(dsn) as conn:
        column = conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'search_vector'"
        ).fetchone()
    assert column == (0,)


def test_create_without_stocks_fails_and_names_the_table(make_database):
    dsn = make_database(stocks=False)
    with pytest.raises(migrator.MigrationError, match=r"^table public\.stocks does not exist"):
        SearchSchemaProvider().create(_props(dsn))
