"""Search quality and latency: recall@1/@5 per typo kind and query class, p50/p95/p99 latency.

    .venv/bin/python scripts/bench_search_quality.py                  # own cluster, 100,000 rows
    .venv/bin/python scripts/bench_search_quality.py --rows 1000000 --clients 0
    .venv/bin/python scripts/bench_search_quality.py --migrate-to 6   # the schema before 0007
    .venv/bin/python scripts/bench_search_quality.py --dsn "host=... dbname=..."  # empty database

Loads the real stocks (tests/search/dataset.py: REAL_STOCKS and MORE_REAL_STOCKS) plus N synthetic
ones, applies the search migrations (all, or up to --migrate-to), builds the queries with
search/quality.py from the loaded names and tickers (single edits of each kind in distinctive
name words and in tickers, multi-word names with and without a typo, exact and prefix queries),
runs each through `fuzzy_search_stocks`, `search_stocks` and the backend's endpoint (full-text,
then fuzzy only when full-text finds nothing), and prints recall tables and latency percentiles
from one client, then fuzzy latency with --clients concurrent clients. Timings are round trips
over loopback from psycopg; on a shared machine they are noisy, so run it several times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search import migrator, quality  # noqa: E402
from tests.search.dataset import (  # noqa: E402
    MORE_REAL_STOCKS,
    PHRASES,
    REAL_STOCKS,
    create_stocks_table,
    insert_listings,
    insert_more_real_stocks,
    insert_real_stocks,
    synthetic_stocks_sql,
)

Conn = psycopg.Connection[tuple[object, ...]]
FUNCTIONS = ("fuzzy", "full-text", "endpoint")


Rows = list[tuple[str, float]]


def _fuzzy(conn: Conn, q: str) -> Rows:
    rows = conn.execute("SELECT ticker, score FROM fuzzy_search_stocks(%s, 20)", (q,)).fetchall()
    return [(str(t), float(str(s))) for t, s in rows]


def _full_text(conn: Conn, q: str) -> Rows:
    rows = conn.execute("SELECT ticker, score FROM search_stocks(%s, 20)", (q,)).fetchall()
    return [(str(t), float(str(s))) for t, s in rows]


def _endpoint(conn: Conn, q: str) -> Rows:
    return _full_text(conn, q) or _fuzzy(conn, q)


RUNNERS: dict[str, Callable[[Conn, str], Rows]] = {
    "fuzzy": _fuzzy,
    "full-text": _full_text,
    "endpoint": _endpoint,
}


def load(dsn: str, rows: int, dataset: str, migrate_to: int | None) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        create_stocks_table(conn)
        insert_real_stocks(conn)
        insert_more_real_stocks(conn)
        started = time.perf_counter()
        listed = insert_listings(conn, rows) if dataset == "listings" else 0
        if rows > listed:
            conn.execute(synthetic_stocks_sql(rows - listed))
        loaded = time.perf_counter() - started
    migrations = migrator.load_migrations()
    if migrate_to is not None:
        migrations = tuple(m for m in migrations if m.version <= migrate_to)
    started = time.perf_counter()
    migrator.apply(dsn, migrations=migrations)
    migrated = time.perf_counter() - started
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE public.stocks")
    return (
        f"load {loaded:.1f} s, migrate to {migrations[-1].version:04d} {migrated:.1f} s "
        "(backfill + indexes, concurrently)"
    )


def stocks(conn: Conn) -> list[quality.Stock]:
    rows = conn.execute(
        "SELECT ticker, lower(public.immutable_unaccent(name)) FROM public.stocks"
    ).fetchall()
    return [quality.Stock(str(t), str(n)) for t, n in rows]


def percentiles(timings: Sequence[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def run(
    conn: Conn, runner: Callable[[Conn, str], Rows], queries: Sequence[quality.Query]
) -> tuple[list[Rows], list[float]]:
    for query in queries[:50]:  # warm caches
        runner(conn, query.text)
    results: list[Rows] = []
    timings: list[float] = []
    for query in queries:
        started = time.perf_counter()
        results.append(runner(conn, query.text))
        timings.append((time.perf_counter() - started) * 1000)
    return results, timings


def concurrent(dsn: str, queries: Sequence[quality.Query], clients: int) -> list[float]:
    """Fuzzy latency with `clients` connections each running all the queries (rotated)."""
    timings: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(offset: int) -> None:
        mine = list(queries[offset:]) + list(queries[:offset])
        own: list[float] = []
        with psycopg.connect(dsn, autocommit=True) as conn:
            for query in mine[:20]:
                _fuzzy(conn, query.text)
            start.wait()
            for query in mine:
                began = time.perf_counter()
                _fuzzy(conn, query.text)
                own.append((time.perf_counter() - began) * 1000)
        with lock:
            timings.extend(own)

    threads = [
        threading.Thread(target=client, args=(i * len(queries) // clients,)) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return timings


def write_overhead(dsn: str, rows: int) -> str:
    """Per-statement latency of the writes the application makes, one row each (INSERT, a
    rename, DELETE, autocommit), and the time of one bulk INSERT ... SELECT of `rows` rows.
    Run it on a database at 0006 and at 0011: the difference is what the triggers cost."""
    timings: dict[str, list[float]] = {"insert": [], "rename": [], "delete": []}
    statements = {
        "insert": "INSERT INTO public.stocks (ticker, name) VALUES (%s, %s)",
        "rename": "UPDATE public.stocks SET name = %s WHERE ticker = %s",
        "delete": "DELETE FROM public.stocks WHERE ticker = %s",
    }
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(rows):
            ticker = f"WT{i}"
            for kind, params in (
                ("insert", (ticker, f"Writetest{i} Quorvane Holdings")),
                ("rename", (f"Writetest{i} Pelmariq Group", ticker)),
                ("delete", (ticker,)),
            ):
                started = time.perf_counter()
                conn.execute(statements[kind], params)
                timings[kind].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        conn.execute(
            "INSERT INTO public.stocks (ticker, name) SELECT 'WB' || g, "
            "'Bulkwrite' || g || ' Torvane Group' FROM generate_series(1, %s) AS g",
            (rows,),
        )
        bulk = time.perf_counter() - started
        conn.execute("DELETE FROM public.stocks WHERE ticker ~ '^WB[0-9]+$'")
    lines = ["| write, 1 row, autocommit | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|"]
    for kind, values in timings.items():
        p50, p95, p99 = percentiles(values)
        lines.append(f"| {kind} | {p50:.2f} | {p95:.2f} | {p99:.2f} |")
    lines.append(f"| bulk INSERT of {rows:,} rows | {1000 * bulk / rows:.3f} per row | | |")
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def benchmark(args: argparse.Namespace, dsn: str) -> str:
    lines: list[str] = []
    if not args.no_load:
        lines.append(load(dsn, args.rows, args.dataset, args.migrate_to))
    with psycopg.connect(dsn, autocommit=True) as conn:
        data = stocks(conn)
        version = conn.execute("SHOW server_version").fetchone()
        schema = conn.execute("SELECT max(version) FROM public.search_schema_migrations").fetchone()
        queries = quality.build_queries(
            data,
            per_kind=args.per_kind,
            seed=args.seed,
            phrases=PHRASES,
            # In the listings every stock is real: no separate classes for the hand-picked ones.
            real=frozenset()
            if args.dataset == "listings"
            else frozenset(s[0] for s in REAL_STOCKS + MORE_REAL_STOCKS),
        )
        assert version is not None
        assert schema is not None
        lines.insert(
            0,
            f"PostgreSQL {version[0]}, {len(data):,} stocks, schema {int(str(schema[0])):04d}, "
            f"{len(queries):,} queries, seed {args.seed}",
        )
        recalls: dict[str, list[quality.Recall]] = {}
        latency: dict[str, tuple[float, float, float]] = {}
        for name in args.functions:
            results, timings = run(conn, RUNNERS[name], queries)
            recalls[name] = quality.recall(
                queries,
                [[t for t, _ in rows] for rows in results],
                [[s for _, s in rows] for rows in results] if name == "fuzzy" else None,
            )
            latency[name] = percentiles(timings)
    columns = [(f"{name} @1", name, "at_1") for name in recalls] + [
        (f"{name} @5", name, "at_5") for name in recalls
    ]
    columns.sort(key=lambda c: list(recalls).index(c[1]))
    if "fuzzy" in recalls:
        after = columns.index(("fuzzy @5", "fuzzy", "at_5")) + 1
        columns[after:after] = [
            ("fuzzy @5 with ties", "fuzzy", "at_5_ties"),
            # Typos that spell another stock's word, and fuzzy @5 over the other queries.
            ("spells another", "fuzzy", "elsewhere"),
            ("fuzzy @5 of the others", "fuzzy", "at_5_rest"),
        ]
    lines += [
        "",
        "| class | kind | queries |" + "".join(f" {title} |" for title, _, _ in columns),
        "|---|---|---:|" + "---:|" * len(columns),
    ]
    first = next(iter(recalls.values()))
    for i, row in enumerate(first):
        cells = "".join(
            f" {_percent(getattr(recalls[name][i], field))} |" for _, name, field in columns
        )
        lines.append(f"| {row.query_class} | {row.kind} | {row.queries} |{cells}")
    lines += ["", "| function, 1 client | p50 ms | p95 ms | p99 ms |", "|---|---:|---:|---:|"]
    for name, (p50, p95, p99) in latency.items():
        lines.append(f"| {name} | {p50:.2f} | {p95:.2f} | {p99:.2f} |")
    if args.clients > 0:
        p50, p95, p99 = percentiles(concurrent(dsn, queries, args.clients))
        lines.append(f"| fuzzy, {args.clients} clients | {p50:.2f} | {p95:.2f} | {p99:.2f} |")
    if args.write_overhead:
        lines += ["", write_overhead(dsn, args.write_overhead)]
        # Again right after the writes, before any vacuum: a GIN index with a pending list
        # (fastupdate on) makes every search read it, which 0010 removed for full-text.
        lines += ["", "| function, 1 client, after the writes | p50 ms | p95 ms | p99 ms |"]
        lines.append("|---|---:|---:|---:|")
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name in args.functions:
                p50, p95, p99 = percentiles(run(conn, RUNNERS[name], queries)[1])
                lines.append(f"| {name} | {p50:.2f} | {p95:.2f} | {p99:.2f} |")
    lines.append("")
    lines.append(f"host load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", help="an empty database to load (default: start a cluster)")
    parser.add_argument("--no-load", action="store_true", help="--dsn is already loaded")
    parser.add_argument(
        "--dataset",
        choices=("listings", "synthetic"),
        default="listings",
        help="listings: real listings first (106,143), synthetic stocks beyond; synthetic: only "
        "syllable-built stocks with 4-letter tickers (denser than any exchange: a stress case)",
    )
    parser.add_argument("--rows", type=int, default=100_000, help="stocks to add")
    parser.add_argument("--per-kind", type=int, default=300, help="queries per class and kind")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--migrate-to", type=int, help="apply migrations up to this version")
    parser.add_argument("--clients", type=int, default=8, help="concurrent fuzzy clients (0: no)")
    parser.add_argument(
        "--write-overhead",
        type=int,
        default=0,
        metavar="ROWS",
        help="also time ROWS single-row inserts, renames and deletes, and a bulk insert",
    )
    parser.add_argument(
        "--functions", nargs="+", choices=FUNCTIONS, default=list(FUNCTIONS), metavar="FUNCTION"
    )
    args = parser.parse_args(argv)
    if args.no_load and not args.dsn:
        parser.error("--no-load needs --dsn")
    if args.dsn:
        print(benchmark(args, args.dsn))
        return 0
    from tests.support.postgres import start_server

    server = start_server()
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench_search_quality")
        print(benchmark(args, server.dsn("bench_search_quality")))
    finally:
        server.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
