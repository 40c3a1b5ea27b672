"""search_stocks() and fuzzy_search_stocks() on real names: accents, punctuation, tickers."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

pytestmark = pytest.mark.postgres


def _search(dsn: str, query: str | None, limit: int | None = 20, fuzzy: bool = False):
    function = "fuzzy_search_stocks" if fuzzy else "search_stocks"
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            f"SELECT ticker, name, score FROM {function}(%s, %s)", (query, limit)
        ).fetchall()


def _tickers(dsn: str, query: str | None, fuzzy: bool = False) -> list[str]:
    return [row[0] for row in _search(dsn, query, fuzzy=fuzzy)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("appl", ["AAPL", "APLE"]),
        ("Apple", ["AAPL", "APLE"]),
        ("micro", ["MSFT"]),
        ("alphab", ["GOOGL"]),
        ("nestle", ["NESN"]),
        ("Nestlé", ["NESN"]),
        ("NESTLE", ["NESN"]),
        ("oreal", ["OR"]),
        ("l'oreal", ["OR"]),
        ("L'Oréal", ["OR"]),
        ("societe generale", ["GLE"]),
        ("Société Générale", ["GLE"]),
        ("soc gen", ["GLE"]),
        ("hermes", ["RMS"]),
        ("Hermès International", ["RMS"]),
        ("munchener", ["MUV2"]),
        ("moët", ["MC"]),
        ("continental", ["CON"]),
        ("coca-cola", ["KO"]),
    ],
)
def test_names_prefixes_and_accents_both_ways(search_dsn, query, expected):
    assert _tickers(search_dsn, query) == expected


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("on", "ON"),
        ("ON", "ON"),
        ("or", "OR"),
        ("mc", "MC"),
        ("all", "ALL"),
        ("SAN", "SAN"),
        ("con", "CON"),
        ("brk.b", "BRK.B"),
        ("msft", "MSFT"),
    ],
)
def test_exact_ticker_comes_first(search_dsn, query, first):
    rows = _search(search_dsn, query)
    assert rows[0][0] == first
    assert rows[0][2] >= 1
    assert all(row[2] < 1 for row in rows[1:])


def test_exact_ticker_beats_a_name_prefix(search_dsn):
    # `con` is Continental's ticker and also a prefix of "Consumer" sectors and of descriptions.
    assert _tickers(search_dsn, "con")[0] == "CON"


def test_ranking_puts_name_matches_before_description_matches(search_dsn):
    # "cloud" is in Microsoft's, Amazon's and Alphabet's descriptions only; "semiconductor" is in
    # ON Semiconductor's name, in NVIDIA's industry and in ASML's description.
    assert _tickers(search_dsn, "cloud") == ["AMZN", "GOOGL", "MSFT", "NOKIA"]
    assert _tickers(search_dsn, "semiconductor")[0] == "ON"


def test_sector_and_description_words_are_stemmed(search_dsn):
    assert _tickers(search_dsn, "banking") == ["GLE", "JPM", "SAN"]
    # "insurer" and "insurance" share the stem insur; "reinsurers" (Munich Re) does not.
    assert set(_tickers(search_dsn, "insurer")) == {"ALL", "BRK.B"}


def test_web_search_syntax(search_dsn):
    assert _tickers(search_dsn, "bank -investment") == ["SAN"]
    assert _tickers(search_dsn, '"cloud computing"') == ["AMZN", "MSFT"]
    assert set(_tickers(search_dsn, "tyres or cosmetics")) == {"CON", "OR"}


def test_scores_are_numeric_and_best_first(search_dsn):
    rows = _search(search_dsn, "bank")
    assert rows
    assert all(isinstance(row[2], Decimal) for row in rows)
    assert [row[2] for row in rows] == sorted((row[2] for row in rows), reverse=True)


def test_max_results(search_dsn):
    assert len(_search(search_dsn, "inc", limit=2)) == 2
    assert _search(search_dsn, "inc", limit=0) == []
    # Every "Inc." of the data set; NULL means the default (20).
    assert len(_search(search_dsn, "inc", limit=None)) == 6


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("Microsfot", "MSFT"),
        ("mircosoft", "MSFT"),
        ("microsoft", "MSFT"),
        ("nestle", "NESN"),
        ("nestlé", "NESN"),
        ("Nestle SA", "NESN"),
        ("loreal", "OR"),
        ("hermes", "RMS"),
        ("Societe Generale", "GLE"),
        ("sociate generale", "GLE"),
        ("contintental", "CON"),
        ("nvidea", "NVDA"),
        ("alphabe", "GOOGL"),
        ("berkshire hathway", "BRK.B"),
        ("tesl", "TSLA"),
        ("aapl", "AAPL"),
        ("msft", "MSFT"),
        ("brk.b", "BRK.B"),
        ("BRK-B", "BRK.B"),
    ],
)
def test_fuzzy_finds_typos(search_dsn, query, first):
    rows = _search(search_dsn, query, fuzzy=True)
    assert rows, query
    assert rows[0][0] == first


def test_fuzzy_thresholds_are_deliberate(search_dsn):
    with psycopg.connect(search_dsn) as conn:
        row = conn.execute(
            "SELECT word_similarity('mircosoft', 'microsoft corporation'), "
            "similarity('mircosoft', 'microsoft corporation'), "
            "current_setting('pg_trgm.word_similarity_threshold')"
        ).fetchone()
        # The defaults would miss it; the function's own setting does not leak into the session.
        assert row == (pytest.approx(0.428571, abs=1e-5), pytest.approx(0.230769, abs=1e-5), "0.6")
        conn.execute("SELECT * FROM fuzzy_search_stocks('mircosoft')").fetchall()
        setting = conn.execute("SELECT current_setting('pg_trgm.word_similarity_threshold')")
        assert setting.fetchone() == ("0.6",)
    # 0009 finds one transposition through the vocabulary first (score 0.99 * (1 - 0.6 / 2));
    # what has no term within one edit reaches the trigram passes, where 0.4 is the floor.
    rows = _search(search_dsn, "mircosoft", fuzzy=True)
    assert rows == [("MSFT", "Microsoft Corporation", Decimal("0.6930"))]
    rows = _search(search_dsn, "microsoftcorporation", fuzzy=True)
    assert rows == [("MSFT", "Microsoft Corporation", Decimal("0.7917"))]
    # Below 0.4: not a typo of anything.
    assert _search(search_dsn, "zzyzx", fuzzy=True) == []


def test_fuzzy_scores_are_best_first(search_dsn):
    rows = _search(search_dsn, "apple", fuzzy=True)
    assert [r[0] for r in rows[:2]] == ["AAPL", "APLE"]
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)


BAD_QUERIES = [
    None,
    "",
    "   ",
    "!!!",
    "%",
    "_",
    "&|!():*<->",
    '"',
    "-",
    "''",
    "\\",
    "'; DROP TABLE stocks; --",
    "1' AND '1'='1",
    "$$; SELECT pg_sleep(10); $$",
    "\u2026\u2014\u2013\u00b7",  # ellipsis, em and en dashes, middle dot
]


@pytest.mark.parametrize("query", BAD_QUERIES)
@pytest.mark.parametrize("fuzzy", [False, True])
def test_bad_queries_return_no_rows_and_no_error(search_dsn, query, fuzzy):
    assert _search(search_dsn, query, fuzzy=fuzzy) == []
    with psycopg.connect(search_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM stocks").fetchone() == (28,)


def test_stop_words_only_query_returns_no_rows_and_no_notice(search_dsn):
    notices: list[str] = []
    with psycopg.connect(search_dsn) as conn:
        conn.add_notice_handler(lambda diag: notices.append(str(diag.message_primary)))
        rows = conn.execute("SELECT * FROM search_stocks('the and of')").fetchall()
    assert rows == []
    assert notices == []
