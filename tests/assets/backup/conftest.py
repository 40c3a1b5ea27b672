"""Fixtures for the backup scripts: an image-like PATH and a seeded database on the real server."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.postgres import PostgresServer
from tests.support.tools import ROOT

SCRIPTS = ROOT / "assets" / "backup"

# The tools the scripts may use, as the postgres:15-alpine image provides them: busybox applets
# (plus util-linux flock here: Debian's busybox lacks the flock applet that Alpine's has).
BUSYBOX_APPLETS = (
    *("awk", "basename", "cat", "cp", "cut", "date", "dirname", "env", "grep", "head", "id", "ls"),
    *("mkdir", "mktemp", "mv", "nc", "printf", "rm", "sed", "sh", "sha256sum", "sleep", "sort"),
    *("stat", "sync", "tail", "timeout", "touch", "tr", "wc"),
)


@pytest.fixture(scope="session")
def image_bin(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer) -> Path:
    """The scripts' whole PATH: busybox applets, bash, flock and the pg client tools."""
    busybox = shutil.which("busybox")
    assert busybox, (
        "busybox runs the backup scripts as the alpine image would: apt-get install busybox"
    )
    bindir = tmp_path_factory.mktemp("image-bin")
    for applet in BUSYBOX_APPLETS:
        (bindir / applet).symlink_to(busybox)
    for tool in ("bash", "flock"):
        found = shutil.which(tool)
        assert found, f"{tool} not found"
        (bindir / tool).symlink_to(found)
    for tool in ("pg_dump", "pg_restore", "psql"):
        (bindir / tool).symlink_to(postgres_server.bindir / tool)
    return bindir


@pytest.fixture
def script_env(image_bin: Path, postgres_server: PostgresServer):
    """The scripts' environment: only the image's tools on PATH, the server's PG* vars."""

    def build(db: str = "postgres", **env: str) -> dict[str, str]:
        return {"PATH": str(image_bin), "LANG": "C.UTF-8", **postgres_server.env(db), **env}

    return build


@pytest.fixture
def run_script(image_bin: Path, script_env):
    """Run a assets/backup script to completion with `script_env`."""

    def run(
        script: str, *args: str, db: str = "postgres", stdin: str | None = None, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(image_bin / "bash"), str(SCRIPTS / script), *args],
            env=script_env(db, **env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    return run


def unique_db(stem: str) -> str:
    return f"{stem}_{uuid.uuid4().hex[:8]}"


def drop_database(server: PostgresServer, name: str) -> None:
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_exists(server: PostgresServer, name: str) -> bool:
    with psycopg.connect(server.dsn("postgres")) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        assert row is not None
        return bool(row[0])


SEED_SQL = """
CREATE EXTENSION pg_trgm;
CREATE EXTENSION unaccent;
CREATE TABLE sectors (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE stocks (
    id bigserial PRIMARY KEY,
    ticker text NOT NULL UNIQUE,
    name text NOT NULL,
    sector_id integer REFERENCES sectors (id),
    description text,
    market_cap numeric(20, 2),
    listed_on date,
    search_vector tsvector
);
CREATE FUNCTION stocks_search_vector_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('simple', coalesce(NEW.ticker, '')), 'A')
        || setweight(to_tsvector('english', unaccent(coalesce(NEW.name, ''))), 'B')
        || setweight(to_tsvector('english', unaccent(coalesce(NEW.description, ''))), 'C');
    RETURN NEW;
END $$;
CREATE TRIGGER stocks_search_vector BEFORE INSERT OR UPDATE ON stocks
    FOR EACH ROW EXECUTE FUNCTION stocks_search_vector_update();
CREATE INDEX stocks_search_idx ON stocks USING gin (search_vector);
CREATE INDEX stocks_name_trgm_idx ON stocks USING gin (name gin_trgm_ops);
CREATE TABLE prices (
    stock_id bigint NOT NULL REFERENCES stocks (id) ON DELETE CASCADE,
    day date NOT NULL,
    close numeric(12, 4) NOT NULL,
    volume bigint,
    PRIMARY KEY (stock_id, day)
);
CREATE TABLE watchlists (
    id serial PRIMARY KEY, owner text NOT NULL, created_at timestamptz NOT NULL
);
CREATE TABLE watchlist_items (
    watchlist_id integer NOT NULL REFERENCES watchlists (id) ON DELETE CASCADE,
    stock_id bigint NOT NULL REFERENCES stocks (id),
    note text,
    PRIMARY KEY (watchlist_id, stock_id)
);
INSERT INTO sectors (name) VALUES ('Banks'), ('Energy'), ('Software'), ('Café & Restaurants');
INSERT INTO stocks (ticker, name, sector_id, description, market_cap, listed_on)
SELECT 'T' || g,
       CASE g % 4 WHEN 0 THEN 'Société Générale ' || g WHEN 1 THEN 'Northern Bank ' || g
                  WHEN 2 THEN 'Solar "Energy" Co ' || g ELSE E'O''Reilly\\nSoftware ' || g END,
       1 + g % 4,
       CASE WHEN g % 7 = 0 THEN NULL
            ELSE 'Long description of company ' || g || ' with banking, energy' END,
       (g * 1234567.89)::numeric(20, 2),
       DATE '2000-01-01' + g
FROM generate_series(1, 500) AS g;
INSERT INTO prices (stock_id, day, close, volume)
SELECT s, DATE '2026-01-01' + d, (s * 1.5 + d * 0.25)::numeric(12, 4),
       CASE WHEN d % 5 = 0 THEN NULL ELSE s * d END
FROM generate_series(1, 500) AS s, generate_series(0, 9) AS d;
INSERT INTO watchlists (owner, created_at)
SELECT 'user' || g, TIMESTAMPTZ '2026-03-01 12:00:00+00' + g * INTERVAL '1 hour'
FROM generate_series(1, 20) AS g;
INSERT INTO watchlist_items (watchlist_id, stock_id, note)
SELECT w, (w * 17 + i) % 500 + 1, CASE WHEN i = 0 THEN 'first' END
FROM generate_series(1, 20) AS w, generate_series(0, 4) AS i;
"""

TABLES = ("prices", "sectors", "stocks", "watchlist_items", "watchlists")


def table_fingerprints(server: PostgresServer, db: str) -> dict[str, tuple[int, str]]:
    """Row count and md5 of every row's text form (sorted) for each table in the public schema."""
    result: dict[str, tuple[int, str]] = {}
    with psycopg.connect(server.dsn(db)) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
            )
        ]
        for name in names:
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                f'FROM public."{name}" AS t'
            ).fetchone()
            assert row is not None
            result[name] = (row[0], row[1])
    return result


@pytest.fixture
def seeded_db(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh database: stocks (search vectors filled by a trigger) and tables referencing it."""
    name = unique_db("bk_src")
    with psycopg.connect(postgres_server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(postgres_server.dsn(name)) as conn:
        conn.execute(SEED_SQL)
    try:
        yield name
    finally:
        drop_database(postgres_server, name)


@pytest.fixture
def backup_dir(tmp_path: Path) -> Path:
    path = tmp_path / "backups"
    path.mkdir()
    return path
