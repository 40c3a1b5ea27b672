"""Migrations on a real server: idempotence, rollback, status, drift, prerequisites, bad indexes."""

from __future__ import annotations

import dataclasses
import itertools
import os
import re

import psycopg
import pytest

from search import migrator
from search.migrator import Migration, MigrationError, UnknownVersionError
from tests.search.dataset import create_stocks_table, insert_real_stocks

pytestmark = pytest.mark.postgres

_unique = (f"{os.getpid()}_{n}" for n in itertools.count())

SEARCH_INDEXES = [
    "stocks_name_prefix_idx",
    "stocks_name_trgm_idx",
    "stocks_name_vector_idx",
    "stocks_search_vector_idx",
    "stocks_terms_idx",
    "stocks_ticker_lower_idx",
    "stocks_ticker_trgm_idx",
]


def _indexes(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'stocks' "
            "AND indexname LIKE 'stocks\\_%\\_idx' ORDER BY indexname"
        ).fetchall()
    return [r[0] for r in rows]


def _has_column(dsn: str) -> bool:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'stocks' AND column_name = 'search_vector'"
        ).fetchone()
    return row == (1,)


def test_load_migrations_pairs_every_up_with_a_down():
    migrations = migrator.load_migrations()
    assert [(m.version, m.name) for m in migrations] == [
        (1, "search_vector"),
        (2, "backfill_search_vector"),
        (3, "search_indexes"),
        (4, "search_functions"),
        (5, "pin_search_path"),
        (6, "search_query_limit"),
        (7, "typo_vocabulary"),
        (8, "typo_vocabulary_backfill"),
        (9, "typo_search"),
        (10, "full_text_fastupdate_off"),
        (11, "typo_ranking"),
    ]
    assert [(m.up_transactional, m.down_transactional) for m in migrations] == [
        (True, True),
        (False, True),
        (False, False),
        (True, True),
        (True, True),
        (True, True),
        (True, True),
        (False, False),
        (True, True),
        (False, False),
        (True, True),
    ]
    assert all(re.fullmatch(r"[0-9a-f]{64}", m.checksum) for m in migrations)


def test_split_statements_keeps_dollar_quotes_and_drops_comment_only_parts():
    text = (
        "-- migrate: no-transaction\n"
        "CREATE INDEX CONCURRENTLY a ON t (x);\n"
        "DO $$ BEGIN PERFORM 1; COMMIT; END $$;\n"
        "SELECT 'a;b', $tag$;$tag$; -- trailing; comment\n"
        "-- only a comment;\n"
    )
    assert migrator.split_statements(text) == [
        "-- migrate: no-transaction\nCREATE INDEX CONCURRENTLY a ON t (x)",
        "DO $$ BEGIN PERFORM 1; COMMIT; END $$",
        "SELECT 'a;b', $tag$;$tag$",
    ]


def test_split_statements_of_a_comment_only_file_is_empty():
    assert migrator.split_statements("-- nothing to undo;\n-- at all\n") == []


def test_migrate_applies_everything_then_twice_is_a_no_op(make_database):
    dsn = make_database()
    first = migrator.apply(dsn)
    assert first == migrator.ApplyResult(
        applied=(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), rolled_back=(), version=11
    )
    assert _indexes(dsn) == SEARCH_INDEXES
    second = migrator.apply(dsn)
    assert second == migrator.ApplyResult(applied=(), rolled_back=(), version=11)


def test_rollback_one_then_all_then_migrate_again(make_database):
    dsn = make_database()
    migrator.apply(dsn)
    assert migrator.rollback(dsn) == (11,)
    assert migrator.rollback(dsn, to_version=0) == (10, 9, 8, 7, 6, 5, 4, 3, 2, 1)
    assert _indexes(dsn) == []
    assert not _has_column(dsn)
    assert migrator.rollback(dsn, to_version=0) == ()
    assert migrator.apply(dsn).applied == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT ticker FROM search_stocks('apple')").fetchall()
    assert rows == [("AAPL",), ("APLE",)]


def test_rollback_to_an_intermediate_version(make_database):
    dsn = make_database()
    migrator.apply(dsn)
    assert migrator.rollback(dsn, to_version=2) == (11, 10, 9, 8, 7, 6, 5, 4, 3)
    assert _indexes(dsn) == []
    assert _has_column(dsn)
    assert migrator.apply(dsn).applied == (3, 4, 5, 6, 7, 8, 9, 10, 11)


def test_rollback_to_an_unknown_version_is_refused(make_database):
    dsn = make_database()
    migrator.apply(dsn)
    with pytest.raises(UnknownVersionError) as excinfo:
        migrator.rollback(dsn, to_version=12)
    assert (
        str(excinfo.value)
        == "unknown migration version 12: known versions are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"
    )


def test_status_lists_pending_then_applied(make_database):
    dsn = make_database()
    rows, bad = migrator.status(dsn)
    assert [(r.version, r.state, r.applied_at) for r in rows] == [
        (1, "pending", None),
        (2, "pending", None),
        (3, "pending", None),
        (4, "pending", None),
        (5, "pending", None),
        (6, "pending", None),
        (7, "pending", None),
        (8, "pending", None),
        (9, "pending", None),
        (10, "pending", None),
        (11, "pending", None),
    ]
    assert bad == []
    migrator.apply(dsn)
    rows, bad = migrator.status(dsn)
    text = migrator.format_status(rows, bad)
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
    assert re.fullmatch(
        r"version  state    applied_at            name\n"
        rf"0001     applied  {stamp}  search_vector\n"
        rf"0002     applied  {stamp}  backfill_search_vector\n"
        rf"0003     applied  {stamp}  search_indexes\n"
        rf"0004     applied  {stamp}  search_functions\n"
        rf"0005     applied  {stamp}  pin_search_path\n"
        rf"0006     applied  {stamp}  search_query_limit\n"
        rf"0007     applied  {stamp}  typo_vocabulary\n"
        rf"0008     applied  {stamp}  typo_vocabulary_backfill\n"
        rf"0009     applied  {stamp}  typo_search\n"
        rf"0010     applied  {stamp}  full_text_fastupdate_off\n"
        rf"0011     applied  {stamp}  typo_ranking",
        text,
    ), text


def test_missing_stocks_table_is_named_and_nothing_changes(make_database):
    dsn = make_database(stocks=False)
    with pytest.raises(MigrationError) as excinfo:
        migrator.apply(dsn)
    database = re.search(r"dbname=(\S+)", dsn)
    assert database is not None
    assert str(excinfo.value) == (
        f"table public.stocks does not exist in database '{database.group(1)}': the search schema "
        "extends the application's stocks table, so run the application's own migrations first "
        "(nothing was changed)"
    )
    with psycopg.connect(dsn) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind = 'r'"
        ).fetchone()
        functions = conn.execute(
            "SELECT count(*) FROM pg_proc WHERE proname IN "
            "('immutable_unaccent', 'search_stocks', 'fuzzy_search_stocks')"
        ).fetchone()
    assert tables == (0,)
    assert functions == (0,)


def test_missing_extension_is_named(make_database):
    dsn = make_database(extensions=False)
    with pytest.raises(MigrationError) as excinfo:
        migrator.apply(dsn)
    assert str(excinfo.value).startswith("extension pg_trgm, unaccent is not installed in database")
    assert not _has_column(dsn)


def _edited(migration: Migration) -> Migration:
    return dataclasses.replace(migration, down=migration.down + "\n-- edited after release\n")


def test_changed_migration_is_reported_and_refused_then_redone_on_request(make_database):
    dsn = make_database()
    migrator.apply(dsn)
    changed = list(migrator.load_migrations())
    changed[3] = _edited(changed[3])
    rows, _ = migrator.status(dsn, migrations=changed)
    assert [(r.version, r.state) for r in rows] == [
        (1, "applied"),
        (2, "applied"),
        (3, "applied"),
        (4, "changed"),
        (5, "applied"),
        (6, "applied"),
        (7, "applied"),
        (8, "applied"),
        (9, "applied"),
        (10, "applied"),
        (11, "applied"),
    ]
    with pytest.raises(MigrationError) as excinfo:
        migrator.apply(dsn, migrations=changed)
    assert str(excinfo.value) == (
        "applied migration 0004 changed since it was applied (checksum differs): roll back to "
        "before it (`db rollback --to 3`) and migrate again"
    )
    result = migrator.apply(dsn, migrations=changed, redo_changed=True)
    assert result == migrator.ApplyResult(
        applied=(4, 5, 6, 7, 8, 9, 10, 11), rolled_back=(11, 10, 9, 8, 7, 6, 5, 4), version=11
    )
    rows, _ = migrator.status(dsn, migrations=changed)
    assert {r.state for r in rows} == {"applied"}


def test_invalid_index_is_reported_and_rebuilt(make_database):
    dsn = make_database()
    migrator.apply(dsn)
    # What a failed CREATE INDEX CONCURRENTLY leaves behind: the index exists but is INVALID.
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE pg_index SET indisvalid = false "
            "WHERE indexrelid = 'public.stocks_name_trgm_idx'::regclass"
        )
        conn.execute("DELETE FROM public.search_schema_migrations WHERE version >= 3")
    rows, bad = migrator.status(dsn)
    assert bad == ["stocks_name_trgm_idx"]
    assert migrator.format_status(rows, bad).splitlines()[-1] == (
        "INVALID index stocks_name_trgm_idx: run `db migrate` to rebuild it"
    )
    assert migrator.apply(dsn).applied == (3, 4, 5, 6, 7, 8, 9, 10, 11)
    assert migrator.status(dsn)[1] == []
    with psycopg.connect(dsn) as conn:
        valid = conn.execute(
            "SELECT indisvalid FROM pg_index "
            "WHERE indexrelid = 'public.stocks_name_trgm_idx'::regclass"
        ).fetchone()
    assert valid == (True,)


def test_backfill_fills_rows_inserted_before_the_migration(search_dsn):
    with psycopg.connect(search_dsn) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE search_vector IS NOT NULL "
            "AND search_vector = stocks_search_document(ticker, name, sector, industry, "
            "description)) FROM stocks"
        ).fetchone()
    assert row is not None
    assert row[0] == row[1] == 28


def test_backfill_rewrites_a_stale_vector_from_the_old_manual_setup(make_database):
    dsn = make_database()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ALTER TABLE stocks ADD COLUMN search_vector tsvector")
        conn.execute("UPDATE stocks SET search_vector = to_tsvector('english', name)")
    migrator.apply(dsn)
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT search_vector = stocks_search_document(ticker, name, sector, industry, "
            "description) FROM stocks WHERE ticker = 'NESN'"
        ).fetchone()
    assert row == (True,)


def test_insert_and_update_keep_the_vector_in_sync(search_dsn):
    with psycopg.connect(search_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO stocks (ticker, name, sector, industry, description) VALUES "
            "('ADYEN', 'Adyen N.V.', 'Financials', 'Transaction & Payment Processing', "
            "'Payments platform for merchants.')"
        )
        inserted = conn.execute(
            "SELECT search_vector FROM stocks WHERE ticker = 'ADYEN'"
        ).fetchone()
        assert inserted is not None
        assert str(inserted[0]) == (
            "'adyen':1A,2A,4A 'financi':6B 'merchant':13C 'n.v':3A,5A 'payment':8B,10C "
            "'platform':11C 'process':9B 'transact':7B"
        )
        conn.execute("UPDATE stocks SET name = 'Adyen Überweisung N.V.' WHERE ticker = 'ADYEN'")
        found = conn.execute("SELECT ticker FROM search_stocks('uberweisung')").fetchall()
        assert found == [("ADYEN",)]
        conn.execute("UPDATE stocks SET description = 'Card acquiring.' WHERE ticker = 'ADYEN'")
        assert conn.execute("SELECT ticker FROM search_stocks('merchants')").fetchall() == []
        assert conn.execute("SELECT ticker FROM search_stocks('acquiring')").fetchall() == [
            ("ADYEN",)
        ]


def test_lock_timeout_stops_a_migration_stuck_behind_a_lock_and_records_nothing(make_database):
    dsn = make_database()
    with psycopg.connect(dsn) as blocker:
        # An open transaction holding the table, as a long report query would.
        blocker.execute("LOCK TABLE stocks IN ACCESS SHARE MODE")
        with pytest.raises(MigrationError) as excinfo:
            migrator.apply(dsn, timeouts=migrator.Timeouts(lock_timeout="200ms"))
        blocker.rollback()
    assert str(excinfo.value) == (
        "migration 0001_search_vector (up) failed: canceling statement due to lock timeout"
    )
    assert not _has_column(dsn)
    assert {r.state for r in migrator.status(dsn)[0]} == {"pending"}
    assert migrator.apply(dsn).applied == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)


def test_migrations_run_as_the_owner_role_and_the_app_role_uses_the_result(platform):
    # The privilege model of the Database component (model/dbprivileges.py): the owner role
    # creates `stocks` (the application's own migrations) and runs the search migrations; the
    # runtime role may only call the functions.
    owner_dsn = platform.dsn("investment_db", "owner")
    with psycopg.connect(owner_dsn, autocommit=True) as owner:
        create_stocks_table(owner)
        insert_real_stocks(owner)
    assert migrator.apply(owner_dsn).applied == (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
    with psycopg.connect(platform.dsn("investment_db", "app")) as app:
        assert app.execute("SELECT ticker FROM fuzzy_search_stocks('nestle', 1)").fetchall() == [
            ("NESN",)
        ]
        # The application's own writes go through the vocabulary triggers with its privileges.
        app.execute("INSERT INTO stocks (ticker, name) VALUES ('QZRA', 'Quorzana Labs')")
        assert app.execute("SELECT ticker FROM fuzzy_search_stocks('quorzaan')").fetchall() == [
            ("QZRA",)
        ]
        app.execute("DELETE FROM stocks WHERE ticker = 'QZRA'")
        assert app.execute("SELECT ticker FROM fuzzy_search_stocks('quorzaan')").fetchall() == []
    assert migrator.rollback(owner_dsn, to_version=0) == (11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)


def test_migrations_as_the_runtime_role_are_refused_in_one_line(platform):
    owner_dsn = platform.dsn("investment_db", "owner")
    with psycopg.connect(owner_dsn, autocommit=True) as owner:
        create_stocks_table(owner)
    with pytest.raises(MigrationError) as excinfo:
        migrator.apply(platform.dsn("investment_db", "app"))
    assert str(excinfo.value) == (
        "PostgreSQL refused as role 'investment_app' in database 'investment_db': permission "
        "denied for schema public (the search migrations run as the owner role: CREATE on "
        "schema public, owner of stocks)"
    )


def _gin_options(dsn: str) -> dict[str, list[str] | None]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN "
            "('stocks_search_vector_idx', 'stocks_name_vector_idx') ORDER BY relname"
        ).fetchall()
    return {str(name): options for name, options in rows}


def test_0010_turns_the_full_text_pending_lists_off_and_back_on(make_database):
    dsn = make_database()
    migrator.apply(dsn)
    assert _gin_options(dsn) == {
        "stocks_name_vector_idx": ["fastupdate=off"],
        "stocks_search_vector_idx": ["fastupdate=off"],
    }
    assert migrator.rollback(dsn, to_version=9) == (11, 10)
    assert _gin_options(dsn) == {"stocks_name_vector_idx": None, "stocks_search_vector_idx": None}
