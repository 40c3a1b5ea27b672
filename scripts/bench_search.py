"""Benchmark the stock search at 100,000 rows: full-text, fuzzy and a naive ILIKE baseline.

    .venv/bin/python scripts/bench_search.py                 # starts its own throwaway cluster
    .venv/bin/python scripts/bench_search.py --dsn "host=... dbname=..."   # an empty database

Loads the real stocks plus N synthetic ones (tests/search/dataset.py) into a new `stocks` table,
applies the search migrations, then times each query kind from a client over loopback (so the
figures include the round trip) and prints p50/p95/p99 in milliseconds with the speed-up over the
baseline at p95, each kind against the baseline running the same query strings. The baseline is
`ticker/name/description ILIKE '%q%' LIMIT 20` without ordering, which lets a sequential scan stop
early: generous to the baseline, so the ratio is conservative.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from search import migrator  # noqa: E402
from tests.search.dataset import (  # noqa: E402
    REAL_STOCKS,
    create_stocks_table,
    insert_real_stocks,
    synthetic_stocks_sql,
)

BASELINE_SQL = (
    "SELECT ticker, name FROM public.stocks WHERE ticker ILIKE %(p)s OR name ILIKE %(p)s "
    "OR description ILIKE %(p)s LIMIT 20"
)
DESCRIPTION_TERMS = (
    "software",
    "cloud computing",
    "semiconductors",
    "banking",
    "insurance",
    "oil gas",
    "hotels",
    "pharmaceuticals",
    "renewables wind",
    "luxury",
    "telecommunications",
    "payments",
    "technology",
    "energy",
    "retail",
)


def _typo(word: str, rng: random.Random) -> str:
    """One realistic typo: swapped neighbours, a dropped, doubled or wrong letter."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("swap", "drop", "double", "replace"))
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiourstnl") + word[i + 1 :]


def build_queries(
    conn: psycopg.Connection[tuple[object, ...]], count: int, seed: int
) -> tuple[list[str], list[str]]:
    """Full-text and fuzzy query lists drawn from the loaded data (what users would type)."""
    rng = random.Random(seed)
    rows = conn.execute("SELECT ticker, name FROM public.stocks ORDER BY ticker").fetchall()
    stocks = [(str(t), str(n)) for t, n in rows]
    real_names = [name for _, name, *_ in REAL_STOCKS]
    full_text: list[str] = []
    fuzzy: list[str] = []
    while len(full_text) < count:
        ticker, name = rng.choice(stocks)
        brand = name.split()[0].strip(",.")
        roll = rng.random()
        if roll < 0.30:
            full_text.append(brand[: rng.randint(3, 6)].lower())  # type-ahead prefix
        elif roll < 0.50:
            full_text.append(brand)
        elif roll < 0.65:
            full_text.append(ticker)
        elif roll < 0.75:
            full_text.append(" ".join(name.split()[:2]))
        elif roll < 0.90:
            full_text.append(rng.choice(DESCRIPTION_TERMS))
        else:
            full_text.append(ticker[: rng.randint(1, 2)].lower())  # first keystrokes
    while len(fuzzy) < count:
        ticker, name = rng.choice(stocks)
        words = name.split()
        roll = rng.random()
        if roll < 0.70:
            fuzzy.append(_typo(words[0].strip(",.").lower(), rng))
        elif roll < 0.85:
            fuzzy.append(" ".join(_typo(w.lower(), rng) for w in words[:2]))
        else:
            real = rng.choice(real_names).split()[0].strip(",.")
            fuzzy.append(_typo(real.lower(), rng))
    return full_text, fuzzy


def _time(run: Callable[[str], object], queries: Sequence[str]) -> list[float]:
    for query in queries[:50]:  # warm caches and psycopg's prepared statements
        run(query)
    timings: list[float] = []
    for query in queries:
        start = time.perf_counter()
        run(query)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def _percentiles(timings: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def benchmark(dsn: str, rows: int, queries: int, seed: int) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        create_stocks_table(conn)
        insert_real_stocks(conn)
        started = time.perf_counter()
        conn.execute(synthetic_stocks_sql(rows))
        loaded = time.perf_counter() - started
    started = time.perf_counter()
    migrator.apply(dsn)
    migrated = time.perf_counter() - started
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE public.stocks")
        total = conn.execute("SELECT count(*) FROM public.stocks").fetchone()
        version = conn.execute("SHOW server_version").fetchone()
        full_text, fuzzy = build_queries(conn, queries, seed)

        def search(q: str) -> object:
            return conn.execute("SELECT * FROM search_stocks(%s)", (q,)).fetchall()

        def fuzzy_search(q: str) -> object:
            return conn.execute("SELECT * FROM fuzzy_search_stocks(%s)", (q,)).fetchall()

        def baseline(q: str) -> object:
            return conn.execute(BASELINE_SQL, {"p": f"%{q}%"}).fetchall()

        results = {
            "full-text search_stocks()": _percentiles(_time(search, full_text)),
            "baseline ILIKE, same queries": _percentiles(_time(baseline, full_text)),
            "fuzzy fuzzy_search_stocks()": _percentiles(_time(fuzzy_search, fuzzy)),
            "baseline ILIKE, same typos": _percentiles(_time(baseline, fuzzy)),
        }
    assert total is not None
    assert version is not None
    load = os.getloadavg()[0]
    lines = [
        f"PostgreSQL {version[0]}, {total[0]:,} stocks, {queries:,} queries per kind, seed {seed}",
        f"load {loaded:.1f} s, migrate (backfill + 6 indexes, concurrently) {migrated:.1f} s, "
        f"host load average {load:.1f} on {os.cpu_count()} CPUs",
        "",
        "| query kind | p50 ms | p95 ms | p99 ms | speed-up at p95 |",
        "|---|---:|---:|---:|---:|",
    ]
    kinds = list(results.items())
    for (kind, (p50, p95, p99)), (_, (_, base_p95, _)) in zip(
        kinds[0::2], kinds[1::2], strict=True
    ):
        lines.append(f"| {kind} | {p50:.2f} | {p95:.2f} | {p99:.2f} | {base_p95 / p95:.0f}x |")
    for kind, (p50, p95, p99) in kinds[1::2]:
        lines.append(f"| {kind} | {p50:.2f} | {p95:.2f} | {p99:.2f} | 1x |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--dsn", help="an empty database to load (default: start a cluster)")
    parser.add_argument("--rows", type=int, default=100_000, help="synthetic stocks to add")
    parser.add_argument("--queries", type=int, default=1_000, help="queries per kind (>= 1000)")
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args(argv)
    if args.dsn:
        print(benchmark(args.dsn, args.rows, args.queries, args.seed))
        return 0
    from tests.support.postgres import start_server

    server = start_server()
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench_search")
        print(benchmark(server.dsn("bench_search"), args.rows, args.queries, args.seed))
    finally:
        server.destroy()
    return 0


if __name__ == "__main__":
    sys.exit(main())
