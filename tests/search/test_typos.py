"""Migrations 0007-0011: one typo of any kind found, the vocabulary exact after every write, the
new functions on empty, punctuation-only and very long input, and the way back down."""

from __future__ import annotations

import threading
from decimal import Decimal

import psycopg
import pytest

from search import migrator

pytestmark = pytest.mark.postgres


def _fuzzy(dsn: str, query: str, limit: int = 20) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT ticker FROM fuzzy_search_stocks(%s, %s)", (query, limit)
        ).fetchall()
    return [str(r[0]) for r in rows]


@pytest.mark.parametrize(
    ("query", "first"),
    [
        # One edit of each kind, at the start, inside and at the end of a name word.
        ("icrosoft", "MSFT"),
        ("micosoft", "MSFT"),
        ("microsof", "MSFT"),
        ("nmicrosoft", "MSFT"),
        ("micrrosoft", "MSFT"),
        ("microsofty", "MSFT"),
        ("nicrosoft", "MSFT"),
        ("microdoft", "MSFT"),
        ("microsofr", "MSFT"),
        ("imcrosoft", "MSFT"),
        ("mircosoft", "MSFT"),
        ("microsoft", "MSFT"),
        ("micorsoft", "MSFT"),
        ("nestel", "NESN"),
        ("alphabte", "GOOGL"),
        ("nvidai", "NVDA"),
        ("contniental", "CON"),
        ("siemsn", "SIE"),
        # Tickers of four letters: swapped, missing, extra, wrong.
        ("mfst", "MSFT"),
        ("aapk", "AAPL"),
        ("nvd", "NVDA"),
        ("tslaa", "TSLA"),
        ("asml", "ASML"),
        ("amsl", "ASML"),
        # Several words, one with a typo; accents and case as typed.
        ("societe generlae", "GLE"),
        ("Sociéte Génerale", "GLE"),
        ("berkshire hathwaay", "BRK.B"),
        ("coca clola", "KO"),
        ("munchener ruckversicherngs", "MUV2"),
    ],
)
def test_one_typo_of_any_kind_finds_the_company_first(search_dsn, query, first):
    assert _fuzzy(search_dsn, query)[:1] == [first]


def test_a_transposition_costs_less_than_a_distant_substitution(search_dsn):
    with psycopg.connect(search_dsn) as conn:
        rows = conn.execute(
            "SELECT term, cost FROM stocks_search_corrections('mfst') ORDER BY cost, term"
        ).fetchall()
        assert rows == [("msft", Decimal("0.6"))]
        rows = conn.execute(
            "SELECT term, cost FROM stocks_search_corrections(%s)", ("aapk",)
        ).fetchall()
        assert rows == [("aapl", Decimal("0.7"))]  # l is next to k
        rows = conn.execute(
            "SELECT term, cost FROM stocks_search_corrections(%s)", ("aapq",)
        ).fetchall()
        assert rows == [("aapl", Decimal("1.0"))]
        rows = conn.execute(
            "SELECT term, cost FROM stocks_search_corrections(%s)", ("tesla",)
        ).fetchall()
        assert rows == [("tesla", Decimal("0.0")), ("tsla", Decimal("0.8"))]
        # Words under three letters match only themselves.
        assert conn.execute("SELECT * FROM stocks_search_corrections('mx')").fetchall() == []
        assert conn.execute("SELECT * FROM stocks_search_corrections('mc')").fetchall() == [
            ("mc", Decimal("0.0"))
        ]


def test_the_exact_ticker_is_always_first(search_dsn):
    with psycopg.connect(search_dsn, autocommit=True) as conn:
        # A name whose word is the ticker of another stock, and a one-edit neighbour.
        conn.execute(
            "INSERT INTO stocks (ticker, name) VALUES ('ZZON', 'Msft Fan Club'), "
            "('MSFU', 'Msfu Holdings')"
        )
    assert _fuzzy(search_dsn, "msft")[:1] == ["MSFT"]
    assert _fuzzy(search_dsn, "MSFT")[:1] == ["MSFT"]
    assert _fuzzy(search_dsn, "brk.b")[:1] == ["BRK.B"]
    assert _fuzzy(search_dsn, "on")[:1] == ["ON"]
    with psycopg.connect(search_dsn) as conn:
        assert conn.execute("SELECT score FROM fuzzy_search_stocks('msft', 1)").fetchone() == (
            Decimal("1.0"),
        )


def test_scores_are_best_first_and_below_the_exact_ticker(search_dsn):
    with psycopg.connect(search_dsn) as conn:
        rows = conn.execute("SELECT ticker, score FROM fuzzy_search_stocks('mircosoft')").fetchall()
    # 0.99 * (1 - 0.6 / 2): one transposition in the only word.
    assert rows == [("MSFT", Decimal("0.6930"))]


def test_an_unfinished_last_word_completes(search_dsn):
    assert _fuzzy(search_dsn, "berkshire hath") == ["BRK.B"]
    assert _fuzzy(search_dsn, "contin")[:1] == ["CON"]
    with psycopg.connect(search_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO stocks (ticker, name) VALUES ('SCFG', 'Supercalifragilisticexpi Ltd')"
        )
        # 20 letters missing: cost 2.45 for one word, a score that stays at 0, not below.
        rows = conn.execute("SELECT ticker, score FROM fuzzy_search_stocks('supe')").fetchall()
    assert rows == [("SCFG", Decimal("0"))]


def test_two_edits_in_a_long_word_and_run_together_words(search_dsn):
    # Two edits that each delete a letter on one side: found through the vocabulary (cost 1.6).
    assert _fuzzy(search_dsn, "microsfto") == ["MSFT"]
    # No term within reach: 0004's trigram passes answer.
    assert _fuzzy(search_dsn, "microsoftcorporation")[:1] == ["MSFT"]
    assert _fuzzy(search_dsn, "berkshirehathaway")[:1] == ["BRK.B"]
    assert _fuzzy(search_dsn, "zzyzx") == []


NEW_FUNCTIONS = [
    "SELECT count(*) FROM stocks_search_corrections(%s)",
    "SELECT count(*) FROM stocks_search_completions(%s)",
    "SELECT count(*) FROM stocks_search_deletions(%s)",
    "SELECT stocks_search_terms(%s, %s)::text",
    "SELECT stocks_search_near_keys(%s, %s)",
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # corrections, completions, deletions (the word itself at least), terms, near keys
        (None, [(0,), (0,), (1,), ("",), (False,)]),
        ("", [(0,), (0,), (1,), ("",), (False,)]),
        ("!!!", [(0,), (0,), (4,), ("",), (False,)]),
        (
            "'; DROP TABLE stocks; --",
            [(0,), (0,), (25,), ("'drop' 'droptablestocks' 'stocks' 'table'",), (False,)],
        ),
        # Words over 2,047 characters are not indexed by to_tsvector: no term at all.
        ("x" * 10_000, [(0,), (0,), (10_001,), ("",), (False,)]),
    ],
    ids=["null", "empty", "punctuation", "injection", "very-long"],
)
def test_new_functions_on_empty_punctuation_and_very_long_input(search_dsn, value, expected):
    results = []
    with psycopg.connect(search_dsn) as conn:
        for sql in NEW_FUNCTIONS:
            args = (value, value) if sql.count("%s") == 2 else (value,)
            results.append(conn.execute(sql, args).fetchone())
        assert conn.execute("SELECT count(*) FROM stocks").fetchone() == (28,)
    assert results == expected


@pytest.mark.parametrize("query", [None, "", "   ", "!!!", "&|!():*<->", "'; DROP TABLE x; --"])
def test_fuzzy_on_nothing_to_search_returns_no_rows(search_dsn, query):
    assert _fuzzy(search_dsn, query) == []


def test_fuzzy_refuses_very_long_input_with_the_same_error(search_dsn):
    with (
        psycopg.connect(search_dsn) as conn,
        pytest.raises(psycopg.errors.InvalidParameterValue) as excinfo,
    ):
        conn.execute("SELECT * FROM fuzzy_search_stocks(%s)", ("mircosoft " * 30,)).fetchall()
    assert excinfo.value.diag.message_primary == (
        "search query too long: 300 characters, at most 256"
    )


def _vocabulary(conn: psycopg.Connection) -> set[tuple[str, str, int]]:
    rows = conn.execute("SELECT key, term, deleted FROM stocks_search_vocabulary").fetchall()
    return {(str(k), str(t), int(d)) for k, t, d in rows}


def _expected_vocabulary(conn: psycopg.Connection) -> set[tuple[str, str, int]]:
    """What the backfill would build from the rows as they are now (the oracle)."""
    rows = conn.execute(
        "SELECT DISTINCT d.key, t.term, d.deleted FROM ("
        "  SELECT DISTINCT term FROM stocks AS s,"
        "  unnest(tsvector_to_array(stocks_search_terms(s.ticker, s.name))) AS term"
        ") AS t CROSS JOIN LATERAL stocks_search_deletions(t.term) AS d"
    ).fetchall()
    return {(str(k), str(t), int(d)) for k, t, d in rows}


def test_backfill_builds_the_vocabulary_of_existing_rows(search_dsn):
    with psycopg.connect(search_dsn) as conn:
        vocabulary = _vocabulary(conn)
        assert vocabulary == _expected_vocabulary(conn)
    assert ("msft", "msft", 0) in vocabulary
    assert ("mft", "msft", 2) in vocabulary
    assert ("brkb", "brkb", 0) in vocabulary  # BRK.B without its punctuation
    assert ("oreal", "oreal", 0) in vocabulary  # L'Oréal, unaccented


def test_inserts_renames_and_deletes_are_visible_at_once_and_leave_no_stale_term(search_dsn):
    with psycopg.connect(search_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO stocks (ticker, name) VALUES ('QXZV', 'Quixzova Holdings AG')")
        assert _fuzzy(search_dsn, "quixzvoa") == ["QXZV"]
        assert _fuzzy(search_dsn, "qxvz") == ["QXZV"]
        assert conn.execute("SELECT ticker FROM search_stocks('quixzova')").fetchall() == [
            ("QXZV",)
        ]
        assert _vocabulary(conn) == _expected_vocabulary(conn)

        conn.execute("UPDATE stocks SET name = 'Plovantis Holdings AG' WHERE ticker = 'QXZV'")
        assert _fuzzy(search_dsn, "plovnatis") == ["QXZV"]
        assert _fuzzy(search_dsn, "quixzvoa") == []
        terms = {t for _, t, _ in _vocabulary(conn)}
        assert "quixzova" not in terms
        assert {"plovantis", "holdings", "ag"} <= terms  # shared terms stay
        assert _vocabulary(conn) == _expected_vocabulary(conn)

        conn.execute("UPDATE stocks SET ticker = 'PLVN' WHERE ticker = 'QXZV'")
        assert _fuzzy(search_dsn, "plvn")[:1] == ["PLVN"]
        assert "qxzv" not in {t for _, t, _ in _vocabulary(conn)}
        # Other columns do not touch the vocabulary (the trigger's WHEN clause).
        before = _vocabulary(conn)
        conn.execute("UPDATE stocks SET sector = 'Energy', name = name WHERE ticker = 'PLVN'")
        assert _vocabulary(conn) == before

        conn.execute("DELETE FROM stocks WHERE ticker = 'PLVN'")
        assert _fuzzy(search_dsn, "plovnatis") == []
        terms = {t for _, t, _ in _vocabulary(conn)}
        assert "plovantis" not in terms
        assert "plvn" not in terms
        assert "holdings" not in terms  # no other stock had it
        assert "ag" in terms  # Continental AG and others still have it
        assert _vocabulary(conn) == _expected_vocabulary(conn)


def test_a_concurrent_insert_keeps_a_term_another_session_removes(search_dsn):
    # Session A adds a second stock with a rare term and has not committed; session B deletes
    # the only committed stock with it. B's removal must wait for A and then see A's row.
    with psycopg.connect(search_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO stocks (ticker, name) VALUES ('RRA1', 'Rarevokal One')")
    a = psycopg.connect(search_dsn)
    try:
        a.execute("INSERT INTO stocks (ticker, name) VALUES ('RRA2', 'Rarevokal Two')")
        done = threading.Event()

        def delete() -> None:
            with psycopg.connect(search_dsn, autocommit=True) as b:
                b.execute("DELETE FROM stocks WHERE ticker = 'RRA1'")
            done.set()

        worker = threading.Thread(target=delete)
        worker.start()
        # B blocks on the advisory lock while A holds its shared one.
        assert not done.wait(1.0)
        a.commit()
        worker.join(timeout=30)
        assert done.is_set()
    finally:
        a.close()
    with psycopg.connect(search_dsn) as conn:
        assert "rarevokal" in {t for _, t, _ in _vocabulary(conn)}
        assert _vocabulary(conn) == _expected_vocabulary(conn)
    assert _fuzzy(search_dsn, "rarevoakl") == ["RRA2"]


def test_bulk_insert_and_delete_keep_the_vocabulary_exact(search_dsn):
    with psycopg.connect(search_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO stocks (ticker, name) "
            "SELECT 'B' || g, 'Bulkname' || g || ' Group' FROM generate_series(1, 200) AS g"
        )
        assert _vocabulary(conn) == _expected_vocabulary(conn)
        conn.execute("DELETE FROM stocks WHERE ticker LIKE 'B%' AND ticker <> 'BRK.B'")
        assert _vocabulary(conn) == _expected_vocabulary(conn)


def test_rolling_back_0007_to_0009_restores_0006_and_migrating_again_rebuilds(search_dsn):
    assert migrator.rollback(search_dsn, to_version=6) == (11, 10, 9, 8, 7)
    with psycopg.connect(search_dsn) as conn:
        leftovers = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relname IN "
            "('stocks_search_vocabulary', 'stocks_terms_idx')"
        ).fetchone()
        triggers = conn.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'stocks'::regclass "
            "AND NOT tgisinternal ORDER BY 1"
        ).fetchall()
    assert leftovers == (0,)
    assert triggers == [("stocks_search_vector_refresh",)]
    # 0004's trigram passes: a swapped pair in a four-letter ticker is invisible to trigrams.
    assert "MSFT" not in _fuzzy(search_dsn, "mfst")
    assert _fuzzy(search_dsn, "mircosoft") == ["MSFT"]
    with psycopg.connect(search_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO stocks (ticker, name) VALUES ('LATE', 'Latecomer Inc.')")
    assert migrator.apply(search_dsn).applied == (7, 8, 9, 10, 11)
    assert _fuzzy(search_dsn, "mfst") == ["MSFT"]
    assert _fuzzy(search_dsn, "latecmoer") == ["LATE"]


def test_the_typo_pass_uses_its_indexes_at_100000_rows(large_dsn):
    from tests.search.test_explain import _plans

    plans, rows = _plans(large_dsn, "SELECT ticker FROM fuzzy_search_stocks('mfst')")
    # Among 100,000 four-letter tickers FMST is one transposition away too.
    assert ("MSFT",) in rows[:2]
    assert "stocks_search_vocabulary_pkey" in plans
    assert "Bitmap Index Scan on stocks_terms_idx" in plans
    assert "Seq Scan on stocks" not in plans
    assert "Seq Scan on stocks_search_vocabulary" not in plans
    plans, rows = _plans(large_dsn, "SELECT ticker FROM fuzzy_search_stocks('societe generlae')")
    assert rows[0] == ("GLE",)
    assert "Bitmap Index Scan on stocks_terms_idx" in plans
    assert "Seq Scan on stocks" not in plans


def test_a_left_out_letter_costs_as_little_as_a_swap(search_dsn):
    with psycopg.connect(search_dsn) as conn:
        rows = conn.execute("SELECT term, cost FROM stocks_search_corrections('micosoft')")
        assert rows.fetchall() == [("microsoft", Decimal("0.6"))]


def _listings(dsn: str) -> None:
    """One company listed four times (as on regional exchanges), another one letter away."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO stocks (ticker, name) VALUES ('O8M.BE', 'ORLA MINING'), "
            "('O8M.DU', 'ORLA MINING'), ('OLA.TO', 'Orla Mining Ltd.'), "
            "('ORLA', 'Orla Mining Ltd.'), ('CRL.V', 'Coral Gold Resources Ltd.'), "
            "('GLB.BE', 'GLOBE METALS'), ('GLB.MU', 'GLOBE METALS'), "
            "('GTC.WA', 'Globe Trade Centre S.A.'), ('GLBL', 'Globes Holdings')"
        )


def test_a_typo_shows_each_likely_correction_before_more_listings_of_one(search_dsn):
    _listings(search_dsn)
    with psycopg.connect(search_dsn) as conn:
        rows = conn.execute("SELECT ticker, score FROM fuzzy_search_stocks('oral')").fetchall()
    # "oral" is Coral or L'Oréal with a letter left out, or Orla with two letters swapped, all
    # cost 0.6: one stock of each correction first, ORLA before the others because its whole
    # ticker is the term, then ticker order; then Orla's other listings at 1/2, 1/3 and 1/4 of
    # its score.
    assert rows == [
        ("ORLA", Decimal("0.6930")),
        ("CRL.V", Decimal("0.6930")),
        ("OR", Decimal("0.6930")),
        ("O8M.BE", Decimal("0.3465")),
        ("O8M.DU", Decimal("0.2310")),
        ("OLA.TO", Decimal("0.1733")),
    ]


def test_every_company_with_the_word_as_typed_keeps_its_score(search_dsn):
    _listings(search_dsn)
    with psycopg.connect(search_dsn) as conn:
        rows = conn.execute("SELECT ticker, score FROM fuzzy_search_stocks('globe')").fetchall()
    # Both companies named Globe at full score; the second listing of the same name after the
    # completion Globes (0.45 + 0.1 for one letter more).
    assert rows == [
        ("GLB.BE", Decimal("0.9900")),
        ("GTC.WA", Decimal("0.9900")),
        ("GLBL", Decimal("0.7178")),
        ("GLB.MU", Decimal("0.4950")),
    ]
