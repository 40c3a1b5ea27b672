"""Migrations 0005 and 0006: name resolution pinned in every function (0007 and 0009 keep it so),
a limit on query length."""

from __future__ import annotations

import psycopg
import pytest

from search import migrator

pytestmark = pytest.mark.postgres

SEARCH_PATH = ["search_path=public, pg_temp"]
# 0005: SET search_path, or a SQL-standard body (bound when created) for the SQL functions
# evaluated per row, where a SET clause would cost inlining or a configuration switch per call.
PINNED = {
    "fuzzy_search_stocks": ("plpgsql", "set"),
    "immutable_unaccent": ("sql", "sql-standard body"),
    "search_stocks": ("plpgsql", "set"),
    "stocks_name_document": ("sql", "sql-standard body"),
    "stocks_search_completions": ("plpgsql", "set"),
    "stocks_search_corrections": ("plpgsql", "set"),
    "stocks_search_deletions": ("sql", "sql-standard body"),
    "stocks_search_document": ("sql", "sql-standard body"),
    "stocks_search_near_keys": ("sql", "sql-standard body"),
    "stocks_search_query": ("plpgsql", "set"),
    "stocks_search_terms": ("sql", "sql-standard body"),
    "stocks_search_tokens": ("plpgsql", "set"),
    "stocks_search_vector_refresh": ("plpgsql", "set"),
    "stocks_search_vocabulary_refresh": ("plpgsql", "set"),
}
# Before 0007: the functions of 0001-0006 only.
PINNED_0006 = {
    k: v
    for k, v in PINNED.items()
    if k
    not in {
        "stocks_search_completions",
        "stocks_search_corrections",
        "stocks_search_deletions",
        "stocks_search_near_keys",
        "stocks_search_terms",
        "stocks_search_vocabulary_refresh",
    }
}


def _functions(dsn: str) -> dict[str, tuple[str, str]]:
    """How each function of the search schema resolves names: "set" (search_path pinned to
    public, pg_temp and nothing else set on it differently), "sql-standard body", or "caller"."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT p.proname, l.lanname, "
            "  array(SELECT c FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%'), "
            "  p.prosqlbody IS NOT NULL "
            "FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang "
            "WHERE p.pronamespace = 'public'::regnamespace AND NOT EXISTS ("
            "  SELECT FROM pg_depend AS d WHERE d.objid = p.oid AND d.deptype = 'e') "
            "ORDER BY 1"
        ).fetchall()
    result: dict[str, tuple[str, str]] = {}
    for name, language, search_path, standard in rows:
        how = "caller"
        if search_path == SEARCH_PATH:
            how = "set"
        elif standard:
            how = "sql-standard body"
        result[name] = (language, how)
    return result


def test_every_function_resolves_names_without_the_callers_search_path(search_dsn):
    assert _functions(search_dsn) == PINNED


def test_rolling_back_0005_and_0006_restores_the_old_definitions(search_dsn):
    assert migrator.rollback(search_dsn, to_version=6) == (11, 10, 9, 8, 7)
    assert _functions(search_dsn) == PINNED_0006
    assert migrator.rollback(search_dsn, to_version=4) == (6, 5)
    assert set(_functions(search_dsn).values()) == {("sql", "caller"), ("plpgsql", "caller")}
    assert migrator.apply(search_dsn).applied == (5, 6, 7, 8, 9, 10, 11)
    assert _functions(search_dsn) == PINNED


# A schema placed before pg_catalog in the caller's search_path, holding functions of the names
# the search functions use unqualified: without a pinned path, they would run instead.
HOSTILE = """
CREATE SCHEMA hostile;
CREATE FUNCTION hostile.lower(text) RETURNS text LANGUAGE sql IMMUTABLE RETURN 'hijacked';
CREATE FUNCTION hostile.to_tsvector(regconfig, text) RETURNS tsvector LANGUAGE sql IMMUTABLE
    RETURN 'hijacked'::tsvector;
CREATE FUNCTION hostile.btrim(text) RETURNS text LANGUAGE sql IMMUTABLE RETURN 'hijacked';
"""


def _hostile_results(dsn: str) -> tuple[list[tuple[str]], list[tuple[str]], str]:
    with psycopg.connect(dsn) as conn:
        conn.execute(HOSTILE)
        conn.execute("SET search_path = hostile, pg_catalog, public")
        found = conn.execute("SELECT ticker FROM public.search_stocks('apple')").fetchall()
        fuzzy = conn.execute(
            "SELECT ticker FROM public.fuzzy_search_stocks('mircosoft')"
        ).fetchall()
        conn.execute(
            "INSERT INTO public.stocks (ticker, name, sector, industry, description) "
            "VALUES ('HJK', 'Hijack Test Corp', 'Energy', 'Oil', 'drilling')"
        )
        vector = conn.execute(
            "SELECT search_vector::text FROM public.stocks WHERE ticker = 'HJK'"
        ).fetchone()
        conn.rollback()
    assert vector is not None
    return found, fuzzy, vector[0]


def test_a_hostile_search_path_changes_nothing(search_dsn):
    found, fuzzy, vector = _hostile_results(search_dsn)
    assert found == [("AAPL",), ("APLE",)]
    assert fuzzy == [("MSFT",)]
    assert vector == (
        "'corp':4A,7A 'drill':10C 'energi':8B 'hijack':2A,5A 'hjk':1A 'oil':9B 'test':3A,6A"
    )


def test_without_0005_a_hostile_search_path_takes_over(search_dsn):
    # What 0005 prevents, shown on the functions as 0004 left them.
    migrator.rollback(search_dsn, to_version=4)
    found, _, vector = _hostile_results(search_dsn)
    with psycopg.connect(search_dsn) as conn:
        every = conn.execute("SELECT ticker FROM stocks").fetchall()
    # Every stock "matches" the hijacked query, and new rows get a hijacked vector.
    assert (sorted(found), vector) == (sorted(every), "'hijacked'")


LIMIT = 256
TOO_LONG = "search query too long: {} characters, at most 256"


@pytest.mark.parametrize(
    "query",
    [
        "a" * LIMIT,
        "a " * 128,  # the most words a query at the limit can hold
        "ab " * 85 + "a",
        "é" * LIMIT,  # characters, not bytes: 512 bytes in UTF-8
        ("apple " * 43)[:LIMIT],
        ("-apple " * 37)[:LIMIT],
        ('"apple inc" or ' * 18)[:LIMIT],
    ],
    ids=["one-word", "128-words", "85-words", "multibyte", "repeated", "negations", "phrases"],
)
@pytest.mark.parametrize("function", ["search_stocks", "fuzzy_search_stocks"])
def test_a_query_at_the_limit_works(search_dsn, query, function):
    assert len(query) == LIMIT
    with psycopg.connect(search_dsn) as conn:
        rows = conn.execute(f"SELECT ticker FROM {function}(%s)", (query,)).fetchall()
    assert len(rows) <= 20


@pytest.mark.parametrize("length", [LIMIT + 1, 60_000])
@pytest.mark.parametrize(
    "call",
    [
        "SELECT * FROM search_stocks(%s)",
        "SELECT * FROM fuzzy_search_stocks(%s)",
        "SELECT stocks_search_query(%s)",
    ],
)
@pytest.mark.parametrize("unit", ["a ", "é"])
def test_a_longer_query_is_refused_with_a_clear_message(search_dsn, call, length, unit):
    query = (unit * length)[:length]
    with psycopg.connect(search_dsn) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute(call, (query,))
    assert caught.value.sqlstate == "22023"  # invalid_parameter_value
    assert caught.value.diag.message_primary == TOO_LONG.format(length)


def test_without_0006_a_huge_query_exhausts_the_stack(search_dsn):
    # What 0006 prevents: 20,000 words make a tsquery deep enough to overflow the stack.
    migrator.rollback(search_dsn, to_version=5)
    with psycopg.connect(search_dsn) as conn, pytest.raises(psycopg.Error) as caught:
        conn.execute("SELECT * FROM search_stocks(%s)", (" ".join(["ab"] * 20_000),))
    assert caught.value.diag.message_primary == "stack depth limit exceeded"
