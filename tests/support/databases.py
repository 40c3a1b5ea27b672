"""Database fixtures on real PostgreSQL servers: fresh search databases on the session's server,
and a cluster provisioned with the privilege model (empty, or seeded for the backup tests)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator

import psycopg
import pytest

from search import migrator
from tests.search.dataset import create_stocks_table, insert_real_stocks, synthetic_stocks_sql
from tests.support.postgres import (
    PlatformCluster,
    PostgresServer,
    seed_platform,
    start_platform_cluster,
)

_counter = itertools.count()


def _new_database(server: PostgresServer, prefix: str) -> str:
    name = f"{prefix}_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(server: PostgresServer, name: str) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def make_database(postgres_server: PostgresServer) -> Iterator[Callable[..., str]]:
    """Create a database; `extensions` and `stocks` say how much of the app's setup to do first.

    Returns its DSN. Every database made here is dropped at the end of the test.
    """
    made: list[str] = []

    def make(*, extensions: bool = True, stocks: bool = True, real_rows: bool = True) -> str:
        name = _new_database(postgres_server, "search")
        made.append(name)
        with psycopg.connect(postgres_server.dsn(name), autocommit=True) as conn:
            if extensions:
                conn.execute("CREATE EXTENSION pg_trgm")
                conn.execute("CREATE EXTENSION unaccent")
            if stocks:
                create_stocks_table(conn)
                if real_rows:
                    insert_real_stocks(conn)
        return postgres_server.dsn(name)

    yield make
    for name in made:
        _drop_database(postgres_server, name)


@pytest.fixture
def search_dsn(make_database: Callable[..., str]) -> str:
    """A database holding the real stocks, inserted before the search schema (so backfilled)."""
    dsn = make_database()
    migrator.apply(dsn)
    return dsn


@pytest.fixture(scope="module")
def large_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """100,000 synthetic stocks plus the real ones, migrated and analysed."""
    name = _new_database(postgres_server, "search_large")
    dsn = postgres_server.dsn(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_trgm")
        conn.execute("CREATE EXTENSION unaccent")
        create_stocks_table(conn)
        insert_real_stocks(conn)
        conn.execute(synthetic_stocks_sql(100_000))
    migrator.apply(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE public.stocks")
    try:
        yield dsn
    finally:
        _drop_database(postgres_server, name)


@pytest.fixture(scope="module")
def platform_cluster() -> Iterator[PlatformCluster]:
    """A cluster of its own, provisioned with the Database component's privilege model."""
    cluster = start_platform_cluster()
    try:
        yield cluster
    finally:
        cluster.server.destroy()


@pytest.fixture
def platform(platform_cluster: PlatformCluster) -> PlatformCluster:
    """That cluster with its databases freshly provisioned (empty) for this test."""
    platform_cluster.reset()
    return platform_cluster


@pytest.fixture
def seeded(platform: PlatformCluster) -> PlatformCluster:
    """That cluster with the seed data of tests.support.postgres (what backups dump and restore)."""
    seed_platform(platform)
    return platform
