"""scripts/bench_search_quality.py as docs/SEARCH.md runs it, on a few thousand rows: each
dataset loads, the tables come out whole, bad arguments are refused."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.tools import ROOT

pytestmark = pytest.mark.postgres

SCRIPT = ROOT / "scripts" / "bench_search_quality.py"


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_the_listings_at_the_latest_schema_with_clients_and_writes():
    done = _bench("--rows", "3000", "--per-kind", "4", "--clients", "2", "--write-overhead", "5")
    assert (done.returncode, done.stderr) == (0, "")
    out = done.stdout
    assert re.match(r"PostgreSQL 15\.\d+ .*, 3,100 stocks, schema 0011, [\d,]+ queries", out)
    assert (
        "| class | kind | queries | fuzzy @1 | fuzzy @5 | fuzzy @5 with ties | spells another |"
        " fuzzy @5 of the others | full-text @1 | full-text @5 | endpoint @1 | endpoint @5 |"
    ) in out
    assert re.search(r"^\| ticker \| deletion \| 4 \|( [\d.]+% \|| - \|){9}$", out, re.M)
    for row in ("fuzzy", "full-text", "endpoint", "fuzzy, 2 clients", "insert", "rename"):
        assert re.search(rf"^\| {re.escape(row)} \| [\d.]+ \| [\d.]+ \| [\d.]+ \|$", out, re.M), row
    assert "| function, 1 client, after the writes | p50 ms | p95 ms | p99 ms |" in out


def test_the_synthetic_stress_case_before_the_typo_pass():
    done = _bench(
        "--dataset", "synthetic", "--rows", "2000", "--per-kind", "3", "--migrate-to", "6",
        "--clients", "0", "--functions", "fuzzy",
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert ", 2,100 stocks, schema 0006, " in done.stdout
    # The hand-picked real companies have classes of their own among synthetic stocks.
    assert "| name word (real) | exact |" in done.stdout
    assert "fuzzy, 0 clients" not in done.stdout


def test_no_load_needs_a_dsn():
    done = _bench("--no-load")
    assert done.returncode == 2
    assert done.stderr.endswith("error: --no-load needs --dsn\n")
