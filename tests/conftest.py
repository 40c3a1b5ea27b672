"""Shared fixtures: real servers the tests start and stop themselves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer, start_server

# Shared fixtures: databases for the search schema (search, db command, SearchSchema), the
# stacks as the program loads them and the real promtool (renderers, render command).
pytest_plugins = ["tests.support.databases", "tests.support.stacks"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL cluster for the whole session; tests create their own databases on it."""
    server = start_server()
    try:
        yield server
    finally:
        server.destroy()
