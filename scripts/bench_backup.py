"""Benchmark: backup.sh and restore.sh on 100,000 stocks, the measured basis of the DR doc's RTO.

Starts its own throwaway PostgreSQL cluster (tests/support/postgres.py) set up as the Database
component sets up the platform's server (roles, grants, default privileges), loads realistic stocks
as the owner role (names, descriptions, weighted search vectors, GIN and trigram indexes), then
times several backup runs (as the backup role) and restore runs (`restore.sh --force investment_db`
as the superuser, procedure B's swap). Restore time is end to end: checksum, full archive read,
restore in one transaction with owners and grants, ANALYZE, the database's grants, drop, rename,
row counts.

    .venv/bin/python scripts/bench_backup.py [--stocks 100000] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.postgres import (  # noqa: E402
    PlatformCluster,
    PostgresServer,
    start_platform_cluster,
)

SCRIPTS = ROOT / "assets" / "backup"

# The extensions exist already: the Database component creates them as the superuser.
SCHEMA = """
CREATE TABLE sectors (id serial PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE stocks (
    id bigserial PRIMARY KEY,
    ticker varchar(12) NOT NULL UNIQUE,
    name text NOT NULL,
    sector_id integer NOT NULL REFERENCES sectors (id),
    exchange text NOT NULL,
    country char(2) NOT NULL,
    description text,
    market_cap numeric(20, 2),
    pe_ratio numeric(10, 2),
    listed_on date,
    updated_at timestamptz NOT NULL DEFAULT now(),
    search_vector tsvector
);
"""

LOAD = """
INSERT INTO sectors (name)
SELECT unnest(ARRAY['Banks', 'Energy', 'Software', 'Semiconductors', 'Pharmaceuticals', 'Retail',
                    'Utilities', 'Telecom', 'Insurance', 'Real Estate', 'Mining', 'Automotive']);
WITH words AS (
    SELECT ARRAY['Global', 'Northern', 'Pacific', 'United', 'First', 'Atlantic', 'Société',
                 'Nordic', 'Alpine', 'Continental', 'Royal', 'Digital', 'Green', 'Quantum',
                 'Bright', 'Union']
               AS adj,
           ARRAY['Holdings', 'Systems', 'Energy', 'Bank', 'Pharma', 'Networks', 'Motors', 'Foods',
                 'Capital', 'Minerals', 'Therapeutics', 'Logistics', 'Semiconductor', 'Retail']
               AS noun
)
INSERT INTO stocks (ticker, name, sector_id, exchange, country, description, market_cap, pe_ratio,
                    listed_on)
SELECT 'S' || lpad(g::text, 6, '0'),
       adj[1 + g % 16] || ' ' || noun[1 + (g / 16) % 14] || ' ' || g,
       1 + g % 12,
       (ARRAY['NYSE', 'NASDAQ', 'LSE', 'XETRA', 'EURONEXT', 'TSE'])[1 + g % 6],
       (ARRAY['US', 'US', 'GB', 'DE', 'FR', 'JP'])[1 + g % 6],
       CASE WHEN g % 10 = 0 THEN NULL ELSE
           adj[1 + (g * 7) % 16] || ' ' || noun[1 + (g * 3) % 14] || ' company ' || g
           || ' operates in ' || noun[1 + (g * 5) % 14] || ' and ' || noun[1 + (g * 11) % 14]
           || ' across ' || (ARRAY['Europe', 'North America', 'Asia', 'Latin America'])[1 + g % 4]
           || ', with a focus on long-term growth, dividends and sustainable operations.' END,
       round((random() * 1e12)::numeric, 2),
       round((random() * 60)::numeric, 2),
       DATE '1980-01-01' + (g % 15000)
FROM generate_series(1, %(stocks)s) AS g, words;
UPDATE stocks SET search_vector =
    setweight(to_tsvector('simple', ticker), 'A')
    || setweight(to_tsvector('english', unaccent(name)), 'B')
    || setweight(to_tsvector('english', unaccent(coalesce(description, ''))), 'C');
CREATE INDEX stocks_search_idx ON stocks USING gin (search_vector);
CREATE INDEX stocks_ticker_trgm_idx ON stocks USING gin (ticker gin_trgm_ops);
CREATE INDEX stocks_name_trgm_idx ON stocks USING gin (name gin_trgm_ops);
CREATE INDEX stocks_sector_idx ON stocks (sector_id);
ANALYZE;
"""


def psql(server: PostgresServer, db: str, sql: str, env: dict[str, str] | None = None) -> str:
    """Run `sql` with psql, as the superuser unless `env` names another login."""
    done = subprocess.run(
        [str(server.bindir / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db],
        input=sql,
        env={**os.environ, **server.env(db), **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


# Runs the script as the only child of a fresh interpreter, so RUSAGE_CHILDREN's maxrss is the peak
# resident size of the largest process the script started (pg_dump or pg_restore), nothing else.
PEAK_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def run_script(
    server: PostgresServer, script: str, *args: str, env: dict[str, str]
) -> tuple[float, int]:
    """Run one of the backup scripts; return its wall time in seconds and its peak RSS in KiB."""
    full_env = {
        **os.environ,
        **env,
        "PATH": f"{server.bindir}:/usr/local/bin:/usr/bin:/bin",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK_WRAPPER, str(SCRIPTS / script), *args],
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{script} {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed, int(done.stderr.strip().splitlines()[-1])


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def bench(stocks: int, runs: int) -> dict[str, object]:
    # fsync and full-page writes on: a restore's RTO must include real disk flushes.
    cluster: PlatformCluster = start_platform_cluster(durable=True)
    server = cluster.server
    try:
        db = cluster.model.app_database
        owner = cluster.env(db, "owner")
        started = time.perf_counter()
        psql(server, db, SCHEMA, owner)
        psql(server, db, LOAD.replace("%(stocks)s", str(stocks)), owner)
        load_seconds = time.perf_counter() - started
        db_bytes = int(psql(server, "postgres", f"SELECT pg_database_size('{db}')"))
        with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
            backup_dir = Path(tmp)
            backup_env = {**cluster.env(db, "backup"), "BACKUP_DIR": str(backup_dir)}
            restore_env = {**cluster.env(db), "BACKUP_DIR": str(backup_dir)}
            backup_times: list[float] = []
            restore_times: list[float] = []
            backup_peaks: list[int] = []
            restore_peaks: list[int] = []
            for run in range(runs):
                # Distinct days, so retention keeps every file the runs make.
                backup_env["BACKUP_NOW"] = str(1795860000 + run * 86400)
                seconds, peak = run_script(server, "backup.sh", env=backup_env)
                backup_times.append(seconds)
                backup_peaks.append(peak)
            dumps = sorted(backup_dir.glob(f"{db}-*.dump"))
            for run in range(runs):
                dump = str(dumps[run % len(dumps)])
                seconds, peak = run_script(
                    server, "restore.sh", "--force", db, dump, env=restore_env
                )
                restore_times.append(seconds)
                restore_peaks.append(peak)
                counts = psql(server, db, "SELECT count(*) FROM stocks", cluster.env(db, "app"))
                if counts != str(stocks):
                    raise SystemExit(f"restored {counts} stocks into {db}, expected {stocks}")
            return {
                "stocks": stocks,
                "runs": runs,
                "postgres": server.version,
                "load_seconds": round(load_seconds, 1),
                "database_bytes": db_bytes,
                "dump_bytes": dumps[-1].stat().st_size,
                "backup_seconds": summary(backup_times),
                "restore_seconds": summary(restore_times),
                "backup_peak_rss_kib": max(backup_peaks),
                "restore_peak_rss_kib": max(restore_peaks),
                "fsync": psql(server, "postgres", "SHOW fsync"),
                "cpus": os.cpu_count(),
            }
    finally:
        server.destroy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stocks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    if args.stocks < 1 or args.runs < 1:
        parser.error("--stocks and --runs must be at least 1")
    result = bench(args.stocks, args.runs)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"backup/restore of {args.stocks:,} stocks, {args.runs} runs each")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in result.items():
        if isinstance(value, dict):
            value = f"median {value['median']} s (min {value['min']}, max {value['max']})"
        elif isinstance(value, int) and key.endswith("bytes"):
            value = f"{value / 1_048_576:.1f} MiB ({value:,} bytes)"
        table.add_row(key, str(value))
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
