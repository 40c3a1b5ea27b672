"""Benchmark: RPO and RTO of point-in-time recovery (assets/backup/pitr.sh) and of its encrypted
off-site copy (assets/backup/offsite.sh), the measured basis of docs/DISASTER_RECOVERY.md.

Starts its own durable PostgreSQL cluster (fsync and full-page writes on), loads the stocks of
scripts/bench_backup.py, streams its WAL with `pitr.sh receive` (which takes the first base
backup by itself) and times another base backup. Then,
for each run: a writer commits one row per transaction, the postmaster and the receiver are
SIGKILLed mid-write (a dead container or host), `pitr.sh restore --to latest` rebuilds the data
directory and the server starts on it:

- on-host RPO: the time between the last acknowledged commit and the last one recovered;
- RTO: the restore (unpack, verify, WAL replay, swap) plus the server's start-up.

Off-site (with --offsite): restic syncs the repository to moto's S3 server while the writer runs;
the off-site RPO is the sync interval plus one sync, so the sync time is measured; the off-site
RTO is fetching the repository from the bucket plus the restore.

    .venv/bin/python scripts/bench_pitr.py [--stocks 100000] [--runs 3] [--offsite] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.pitr import (  # noqa: E402
    OFFSITE,
    PitrCluster,
    Writer,
    owned_dir,
    s3_server,
    start_pitr_cluster,
)
from tests.support.tools import load_script  # noqa: E402

bench_backup = load_script("bench_backup")

WRITE_SECONDS = 3.0
"""How long the writer commits before each crash."""


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median": round(statistics.median(values), 3),
        "p95": round(p95, 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def timed(c: PitrCluster, *args: str, **kw: object) -> float:
    started = time.perf_counter()
    done = c.run(*args, **kw)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def load(c: PitrCluster, stocks: int) -> float:
    started = time.perf_counter()
    c.sql("CREATE EXTENSION pg_trgm")
    c.sql("CREATE EXTENSION unaccent")
    bench_backup.psql(c.server, "postgres", bench_backup.SCHEMA)
    bench_backup.psql(c.server, "postgres", bench_backup.LOAD.replace("%(stocks)s", str(stocks)))
    c.sql("CREATE TABLE trades (id int PRIMARY KEY, note text NOT NULL)")
    c.sql("CHECKPOINT")
    return time.perf_counter() - started


def crash_and_restore(c: PitrCluster, stocks: int, first: int) -> dict[str, float]:
    """One run: write, kill everything, restore to latest, start; the run's RPO and RTO."""
    writer = Writer(c, first=first)
    writer.start()
    time.sleep(WRITE_SECONDS)
    c.crash()
    writer.join(timeout=30)
    c.stop_receiver(signal.SIGKILL)
    restore = timed(c, "restore", "--to", "latest", "--pgdata", str(c.server.datadir))
    started = time.perf_counter()
    c.start_server()
    start = time.perf_counter() - started
    recovered = int(str(c.sql("SELECT coalesce(max(id), 0) FROM trades")[0][0]))
    count = c.sql("SELECT count(*) FROM stocks")[0][0]
    if count != stocks or recovered < first - 1:
        raise SystemExit(f"restored {count} stocks and trades up to {recovered}")
    lost = writer.acknowledged - recovered
    rpo = 0.0
    if lost > 0:
        last_kept = writer.ack_time(recovered) if recovered >= first else writer.acked_at[0]
        rpo = writer.acked_at[-1] - last_kept
    for aside in c.server.datadir.parent.glob("data.replaced-*"):
        shutil.rmtree(aside)
    return {
        "restore_seconds": restore,
        "start_seconds": start,
        "rto_seconds": restore + start,
        "acknowledged": writer.acknowledged - first + 1,
        "lost_rows": lost,
        "rpo_seconds": rpo,
        "next_id": max(writer.acknowledged, recovered) + 1,
    }


def offsite(c: PitrCluster, stocks: int, runs: int, first: int) -> dict[str, object]:
    with s3_server() as endpoint:
        state = owned_dir(c.server, f"offsite-{uuid.uuid4().hex[:6]}")
        c.extra_env = {
            **c.extra_env,
            "RESTIC_REPOSITORY": f"s3:{endpoint}/bench-{uuid.uuid4().hex[:8]}/pitr",
            "RESTIC_PASSWORD": "bench-key",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "RESTIC_CACHE_DIR": str(state / "cache"),
            "OFFSITE_METRICS_FILE": str(state / "offsite.prom"),
        }
        first_sync = timed(c, "sync", script=OFFSITE)
        syncs: list[float] = []
        for _ in range(runs):
            writer = Writer(c, first=first)
            writer.start()
            time.sleep(WRITE_SECONDS)
            syncs.append(timed(c, "sync", script=OFFSITE))
            writer.stop()
            first = writer.acknowledged + 1
        c.wait_caught_up()
        synced_rows = first - 1
        assert timed(c, "sync", script=OFFSITE) >= 0
        c.crash()
        c.stop_receiver(signal.SIGKILL)
        repo_bytes = sum(p.stat().st_size for p in c.repo.rglob("*") if p.is_file())
        shutil.rmtree(c.repo)
        shutil.rmtree(c.server.datadir)
        fetched = owned_dir(c.server, f"new-host-{uuid.uuid4().hex[:6]}") / "pitr"
        fetch = timed(c, "fetch", str(fetched), script=OFFSITE)
        restore = timed(
            c,
            "restore",
            "--from",
            str(fetched),
            "--to",
            "latest",
            "--pgdata",
            str(c.server.datadir),
        )
        started = time.perf_counter()
        c.start_server()
        start = time.perf_counter() - started
        recovered = int(str(c.sql("SELECT coalesce(max(id), 0) FROM trades")[0][0]))
        if recovered != synced_rows or c.sql("SELECT count(*) FROM stocks")[0][0] != stocks:
            raise SystemExit(f"off-site restore has trades up to {recovered}, synced {synced_rows}")
        return {
            "first_sync_seconds": round(first_sync, 3),
            "sync_seconds": summary(syncs),
            "repository_bytes": repo_bytes,
            "fetch_seconds": round(fetch, 3),
            "restore_seconds": round(restore, 3),
            "start_seconds": round(start, 3),
            "rto_seconds": round(fetch + restore + start, 3),
            "rpo_bound_seconds": round(300 + summary(syncs)["p95"], 1),
        }


def bench(stocks: int, runs: int, with_offsite: bool) -> dict[str, object]:
    c = start_pitr_cluster(durable=True)
    try:
        load_seconds = load(c, stocks)
        db_bytes = int(str(c.sql("SELECT pg_database_size('postgres')")[0][0]))
        c.start_receiver()
        c.wait_for_base()  # the receiver's automatic first one
        base_times = [timed(c, "base")]
        base_dir = max((c.repo / "base").iterdir())
        base_bytes = (base_dir / "base.tar.gz").stat().st_size
        results = []
        first = 1
        for _ in range(runs):
            result = crash_and_restore(c, stocks, first)
            first = int(result["next_id"])
            results.append(result)
            print(json.dumps(result), file=sys.stderr, flush=True)
            c.start_receiver()
            c.wait_for_base()  # a restore starts a fresh repository; the receiver fills it
            base_times.append(timed(c, "base"))
        report: dict[str, object] = {
            "stocks": stocks,
            "runs": runs,
            "postgres": c.server.version,
            "cpus": os.cpu_count(),
            "load_seconds": round(load_seconds, 1),
            "database_bytes": db_bytes,
            "base_backup_bytes": base_bytes,
            "base_backup_seconds": summary(base_times),
            "restore_seconds": summary([r["restore_seconds"] for r in results]),
            "start_seconds": summary([r["start_seconds"] for r in results]),
            "rto_seconds": summary([r["rto_seconds"] for r in results]),
            "rows_acknowledged_per_run": summary([r["acknowledged"] for r in results]),
            "rows_lost": summary([r["lost_rows"] for r in results]),
            "rpo_seconds": summary([r["rpo_seconds"] for r in results]),
        }
        if with_offsite:
            report["offsite"] = offsite(c, stocks, runs, first)
        return report
    finally:
        c.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stocks", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--offsite", action="store_true", help="also measure the off-site copy")
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args(argv)
    if args.stocks < 1 or args.runs < 1:
        parser.error("--stocks and --runs must be at least 1")
    result = bench(args.stocks, args.runs, args.offsite)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
