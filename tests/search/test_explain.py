"""At 100,000 stocks the functions' own queries use the GIN indexes (plans captured with
auto_explain's nested-statement logging, sent to the client as NOTICEs)."""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.postgres


def _plans(dsn: str, call: str) -> tuple[str, list[tuple[object, ...]]]:
    notices: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.add_notice_handler(lambda diag: notices.append(str(diag.message_primary)))
        conn.execute("LOAD 'auto_explain'")
        for setting in (
            "SET auto_explain.log_min_duration = 0",
            "SET auto_explain.log_nested_statements = on",
            "SET auto_explain.log_level = notice",
        ):
            conn.execute(setting)
        rows = conn.execute(call).fetchall()
    return "\n".join(notices), rows


def test_full_text_uses_the_gin_indexes(large_dsn):
    plans, rows = _plans(large_dsn, "SELECT * FROM search_stocks('software cloud')")
    assert len(rows) == 20
    assert "Bitmap Index Scan on stocks_name_vector_idx" in plans
    assert "Bitmap Index Scan on stocks_search_vector_idx" in plans
    assert "Seq Scan on stocks" not in plans


def test_exact_ticker_and_short_prefix_use_btree_indexes(large_dsn):
    plans, rows = _plans(large_dsn, "SELECT * FROM search_stocks('ms')")
    assert len(rows) == 20
    assert "stocks_ticker_lower_idx" in plans
    assert "Seq Scan on stocks" not in plans
    plans, rows = _plans(large_dsn, "SELECT ticker FROM search_stocks('aapl')")
    assert rows[0] == ("AAPL",)
    assert "stocks_ticker_lower_idx" in plans


def test_fuzzy_fallback_uses_the_trigram_gin_indexes(large_dsn):
    # No term within one edit (0009's typo pass finds nothing): the trigram passes of 0004.
    plans, rows = _plans(
        large_dsn, "SELECT ticker FROM fuzzy_search_stocks('microsoftcorporation')"
    )
    assert rows[0] == ("MSFT",)
    assert "Bitmap Index Scan on stocks_name_trgm_idx" in plans
    assert "Seq Scan on stocks" not in plans
    # One short word is compared with tickers too.
    plans, rows = _plans(large_dsn, "SELECT ticker FROM fuzzy_search_stocks('qxqxjzj')")
    assert "Bitmap Index Scan on stocks_ticker_trgm_idx" in plans
    assert "Bitmap Index Scan on stocks_name_trgm_idx" in plans
    assert "Seq Scan on stocks" not in plans


def test_default_max_results_is_20_and_real_names_still_win(large_dsn):
    with psycopg.connect(large_dsn) as conn:
        assert len(conn.execute("SELECT * FROM search_stocks('a')").fetchall()) == 20
        top = conn.execute("SELECT ticker FROM search_stocks('nestle', 1)").fetchall()
        assert top == [("NESN",)]
        fuzzy = conn.execute("SELECT ticker FROM fuzzy_search_stocks('Microsfot', 1)").fetchall()
        assert fuzzy == [("MSFT",)]
