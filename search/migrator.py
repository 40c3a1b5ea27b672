"""Versioned, checksummed migrations for the stock search schema: apply, roll back, report status.

One code path for both front doors: the `db` CLI and the `SearchSchema` dynamic resource call these
functions. Migrations live in `migrations/` as `NNNN_name.up.sql` / `NNNN_name.down.sql`; a file
whose first line is `-- migrate: no-transaction` runs statement by statement in autocommit (what
`CREATE INDEX CONCURRENTLY` and batched backfills need), any other file runs in one transaction.
Applied versions and their checksums are recorded in `public.search_schema_migrations`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Literal

import psycopg
from psycopg import sql

MIGRATIONS_PACKAGE = "search.migrations"
# Not `schema_migrations`: the application has its own migration tool, and a table that generic
# names would invite a clash; this one only tracks the search schema.
HISTORY_TABLE = "search_schema_migrations"
REQUIRED_TABLE = "stocks"
REQUIRED_EXTENSIONS: tuple[str, ...] = ("pg_trgm", "unaccent")
NO_TRANSACTION_DIRECTIVE = "-- migrate: no-transaction"
# Fixed key for pg_advisory_lock: two migrators on one database wait for each other.
ADVISORY_LOCK_KEY = 7_311_202_603

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.(?P<direction>up|down)\.sql$")
_CONCURRENT_INDEX = re.compile(
    r"^\s*CREATE\s+INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(?P<name>\w+)\s+ON\s+(?P<schema>\w+)\.",
    re.IGNORECASE,
)


class MigrationError(Exception):
    """A migration cannot run: missing prerequisite, changed migration, or failed statement."""


class UnknownVersionError(MigrationError):
    """A rollback target that is not a version of this code (bad input rather than a DB state)."""


@dataclass(frozen=True)
class Timeouts:
    """Server-side limits for every migration statement (PostgreSQL interval syntax)."""

    lock_timeout: str = "5s"
    """How long a DDL statement may wait for a lock before failing, instead of queueing the
    application's queries behind it."""
    statement_timeout: str = "30min"
    """Upper bound for one statement; the batched backfill is one statement."""


@dataclass(frozen=True)
class Migration:
    """One versioned step with its up and down SQL."""

    version: int
    """Ordering key, from the file name's four-digit prefix."""
    name: str
    """Human name, from the file name after the prefix."""
    up: str
    """SQL that applies the step."""
    down: str
    """SQL that undoes the step."""

    @property
    def checksum(self) -> str:
        """sha256 over both directions: editing either one after it was applied is a change."""
        digest = hashlib.sha256()
        digest.update(self.up.encode())
        digest.update(b"\0")
        digest.update(self.down.encode())
        return digest.hexdigest()

    @property
    def up_transactional(self) -> bool:
        return not _is_no_transaction(self.up)

    @property
    def down_transactional(self) -> bool:
        return not _is_no_transaction(self.down)


@dataclass(frozen=True)
class MigrationStatus:
    """One line of `db status`."""

    version: int
    name: str
    state: Literal["applied", "pending", "changed", "unknown"]
    """`changed`: applied, but its file's checksum differs from the recorded one; `unknown`:
    recorded in the database but absent from this code."""
    applied_at: str | None


@dataclass(frozen=True)
class ApplyResult:
    """What `apply` did."""

    applied: tuple[int, ...]
    """Versions applied by this call, in order (empty when already up to date)."""
    rolled_back: tuple[int, ...]
    """Versions rolled back first because their checksum changed (only with `redo_changed`)."""
    version: int
    """The newest applied version afterwards (0 when none)."""


def _is_no_transaction(text: str) -> bool:
    return text.lstrip().startswith(NO_TRANSACTION_DIRECTIVE)


def load_migrations() -> tuple[Migration, ...]:
    """Read every migration from the package directory, checking that each up has a down."""
    files: dict[tuple[int, str], dict[str, str]] = {}
    for entry in resources.files(MIGRATIONS_PACKAGE).iterdir():
        match = _FILE_NAME.match(entry.name)
        if not match:
            continue
        key = (int(match["version"]), match["name"])
        files.setdefault(key, {})[match["direction"]] = entry.read_text(encoding="utf-8")
    migrations: list[Migration] = []
    seen: set[int] = set()
    for (version, name), texts in sorted(files.items()):
        if version in seen:
            raise MigrationError(f"migration version {version:04d} is used by more than one name")
        seen.add(version)
        for direction in ("up", "down"):
            if direction not in texts:
                raise MigrationError(f"migration {version:04d}_{name} has no {direction} file")
        migrations.append(Migration(version, name, texts["up"], texts["down"]))
    return tuple(migrations)


def split_statements(text: str) -> list[str]:
    """Split SQL into statements on top-level semicolons, respecting quotes, dollar quotes and
    comments (for no-transaction files, which must send one statement at a time)."""
    statements: list[str] = []
    current: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            current.append(text[i:end])
            i = end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end == -1 else end + 2
            current.append(text[i:end])
            i = end
            continue
        if ch == "'":
            end = i + 1
            while end < n:
                if text[end] == "'" and text.startswith("''", end):
                    end += 2
                    continue
                if text[end] == "'":
                    break
                end += 1
            current.append(text[i : end + 1])
            i = end + 1
            continue
        dollar = re.match(r"\$[A-Za-z_]*\$", text[i:]) if ch == "$" else None
        if dollar:
            tag = dollar.group(0)
            end = text.find(tag, i + len(tag))
            end = n if end == -1 else end + len(tag)
            current.append(text[i:end])
            i = end
            continue
        if ch == ";":
            statements.append("".join(current))
            current = []
            i += 1
            continue
        current.append(ch)
        i += 1
    statements.append("".join(current))
    return [s.strip() for s in statements if _has_code(s)]


def _has_code(statement: str) -> bool:
    without_comments = re.sub(r"--[^\n]*", "", statement)
    return bool(without_comments.strip())


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (libpq's own text), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def connect(dsn: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """An autocommit connection (transactions are explicit) that reads PG* variables for any part
    the DSN leaves out. Every database error inside the block becomes one MigrationError line."""
    try:
        conn = psycopg.connect(dsn, autocommit=True, application_name="search-migrator")
    except psycopg.Error as exc:
        raise MigrationError(f"cannot connect to PostgreSQL: {first_line(exc)}") from exc
    who = f"as role {conn.info.user!r} in database {conn.info.dbname!r}"
    try:
        yield conn
    except psycopg.Error as exc:
        # Anything refused outside a migration's own statements (which `_run` reports with the
        # migration's name): a missing privilege, a lost connection, a cancelled statement.
        hint = ""
        if exc.sqlstate == "42501":  # insufficient_privilege
            hint = (
                " (the search migrations run as the owner role: CREATE on schema public, "
                "owner of stocks)"
            )
        raise MigrationError(f"PostgreSQL refused {who}: {first_line(exc)}{hint}") from exc
    finally:
        conn.close()


def check_prerequisites(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Fail before changing anything when the application's table or an extension is missing."""
    row = conn.execute(
        "SELECT current_database(), to_regclass(%s) IS NOT NULL", (f"public.{REQUIRED_TABLE}",)
    ).fetchone()
    assert row is not None
    database, has_table = row
    if not has_table:
        raise MigrationError(
            f"table public.{REQUIRED_TABLE} does not exist in database {database!r}: the search "
            "schema extends the application's stocks table, so run the application's own "
            "migrations first (nothing was changed)"
        )
    installed = {
        str(r[0])
        for r in conn.execute(
            "SELECT extname FROM pg_extension WHERE extname = ANY(%s)", (list(REQUIRED_EXTENSIONS),)
        ).fetchall()
    }
    missing = [ext for ext in REQUIRED_EXTENSIONS if ext not in installed]
    if missing:
        raise MigrationError(
            f"extension {', '.join(missing)} is not installed in database {database!r}: the "
            "Database component creates it (or run CREATE EXTENSION as the database owner; "
            "nothing was changed)"
        )


def _ensure_history(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS public.{} ("
            " version integer PRIMARY KEY,"
            " name text NOT NULL,"
            " checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        ).format(sql.Identifier(HISTORY_TABLE))
    )


def _recorded(conn: psycopg.Connection[tuple[object, ...]]) -> dict[int, tuple[str, str, str]]:
    """version -> (name, checksum, applied_at) for every applied migration; empty if no history."""
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{HISTORY_TABLE}",))
    row = exists.fetchone()
    if row is None or not row[0]:
        return {}
    rows = conn.execute(
        sql.SQL(
            "SELECT version, name, checksum, to_char(applied_at AT TIME ZONE 'UTC', "
            '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\') FROM public.{} ORDER BY version'
        ).format(sql.Identifier(HISTORY_TABLE))
    ).fetchall()
    return {int(str(v)): (str(n), str(c), str(a)) for v, n, c, a in rows}


@contextmanager
def _locked(conn: psycopg.Connection[tuple[object, ...]]) -> Iterator[None]:
    conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def _set_timeouts(
    conn: psycopg.Connection[tuple[object, ...]], timeouts: Timeouts, local: bool
) -> None:
    scope = "LOCAL " if local else ""
    for setting, value in (
        ("lock_timeout", timeouts.lock_timeout),
        ("statement_timeout", timeouts.statement_timeout),
    ):
        conn.execute(
            sql.SQL("SET {}{} = {}").format(
                sql.SQL(scope), sql.Identifier(setting), sql.Literal(value)
            )
        )


def _rebuild_if_invalid(conn: psycopg.Connection[tuple[object, ...]], statement: str) -> None:
    """A failed CREATE INDEX CONCURRENTLY leaves an INVALID index that IF NOT EXISTS would then
    skip for good: drop it so that the statement builds it again."""
    match = _CONCURRENT_INDEX.match(re.sub(r"^(\s*--[^\n]*\n)+", "", statement))
    if not match:
        return
    row = conn.execute(
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (match["schema"], match["name"]),
    ).fetchone()
    if row is not None and not row[0]:
        conn.execute(
            sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}.{}").format(
                sql.Identifier(match["schema"]), sql.Identifier(match["name"])
            )
        )


def invalid_indexes(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """Names of INVALID indexes on public.stocks (left behind by a failed concurrent build)."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = to_regclass(%s) AND NOT i.indisvalid ORDER BY c.relname",
        (f"public.{REQUIRED_TABLE}",),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _run(
    conn: psycopg.Connection[tuple[object, ...]],
    migration: Migration,
    direction: Literal["up", "down"],
    timeouts: Timeouts,
) -> None:
    text = migration.up if direction == "up" else migration.down
    transactional = (
        migration.up_transactional if direction == "up" else migration.down_transactional
    )
    label = f"{migration.version:04d}_{migration.name} ({direction})"
    history = sql.Identifier(HISTORY_TABLE)
    try:
        if transactional:
            with conn.transaction():
                _set_timeouts(conn, timeouts, local=True)
                if _has_code(text):
                    conn.execute(text.encode())
                _record(conn, migration, direction, history)
            return
        _set_timeouts(conn, timeouts, local=False)
        try:
            for statement in split_statements(text):
                _rebuild_if_invalid(conn, statement)
                conn.execute(statement.encode())
        finally:
            conn.execute("RESET lock_timeout")
            conn.execute("RESET statement_timeout")
        if direction == "up":
            remaining = invalid_indexes(conn)
            if remaining:
                raise MigrationError(f"index {', '.join(remaining)} is INVALID after {label}")
        with conn.transaction():
            _record(conn, migration, direction, history)
    except psycopg.Error as exc:
        raise MigrationError(f"migration {label} failed: {first_line(exc)}") from exc


def _record(
    conn: psycopg.Connection[tuple[object, ...]],
    migration: Migration,
    direction: Literal["up", "down"],
    history: sql.Identifier,
) -> None:
    if direction == "up":
        conn.execute(
            sql.SQL(
                "INSERT INTO public.{} (version, name, checksum) VALUES (%s, %s, %s) "
                "ON CONFLICT (version) DO UPDATE SET name = EXCLUDED.name, "
                "checksum = EXCLUDED.checksum, applied_at = now()"
            ).format(history),
            (migration.version, migration.name, migration.checksum),
        )
    else:
        conn.execute(
            sql.SQL("DELETE FROM public.{} WHERE version = %s").format(history),
            (migration.version,),
        )


def changed_versions(
    migrations: Sequence[Migration], recorded: dict[int, tuple[str, str, str]]
) -> list[int]:
    """Applied versions whose recorded checksum differs from the migration file's."""
    return [
        m.version
        for m in migrations
        if m.version in recorded and recorded[m.version][1] != m.checksum
    ]


def apply(
    dsn: str,
    *,
    migrations: Sequence[Migration] | None = None,
    redo_changed: bool = False,
    timeouts: Timeouts = Timeouts(),
) -> ApplyResult:
    """Apply every pending migration in order; a no-op when the database is up to date.

    A changed checksum of an applied migration is an error, unless `redo_changed`, which first rolls
    back every applied migration from the oldest changed one (their down steps) and applies them
    again (what `pulumi up` does after a migration was edited).
    """
    todo = tuple(migrations) if migrations is not None else load_migrations()
    rolled_back: list[int] = []
    applied: list[int] = []
    with connect(dsn) as conn:
        check_prerequisites(conn)
        with _locked(conn):
            _ensure_history(conn)
            recorded = _recorded(conn)
            changed = changed_versions(todo, recorded)
            if changed and not redo_changed:
                names = ", ".join(f"{v:04d}" for v in changed)
                raise MigrationError(
                    f"applied migration {names} changed since it was applied (checksum "
                    f"differs): roll back to before it (`db rollback --to {changed[0] - 1}`) "
                    "and migrate again"
                )
            if changed:
                for migration in sorted(todo, key=lambda m: -m.version):
                    if migration.version >= changed[0] and migration.version in recorded:
                        _run(conn, migration, "down", timeouts)
                        rolled_back.append(migration.version)
                recorded = _recorded(conn)
            for migration in todo:
                if migration.version not in recorded:
                    _run(conn, migration, "up", timeouts)
                    applied.append(migration.version)
            version = max(_recorded(conn), default=0)
    return ApplyResult(applied=tuple(applied), rolled_back=tuple(rolled_back), version=version)


def rollback(
    dsn: str,
    *,
    to_version: int | None = None,
    migrations: Sequence[Migration] | None = None,
    timeouts: Timeouts = Timeouts(),
) -> tuple[int, ...]:
    """Run the down steps of applied migrations newer than `to_version`, newest first.

    Without `to_version`, only the newest applied migration is rolled back; `to_version=0` rolls
    everything back. Returns the versions rolled back.
    """
    todo = tuple(migrations) if migrations is not None else load_migrations()
    known = {m.version: m for m in todo}
    if to_version is not None and to_version != 0 and to_version not in known:
        versions = ", ".join(str(v) for v in sorted(known))
        raise UnknownVersionError(
            f"unknown migration version {to_version}: known versions are 0, {versions}"
        )
    done: list[int] = []
    with connect(dsn) as conn, _locked(conn):
        recorded = _recorded(conn)
        if not recorded:
            return ()
        target = to_version if to_version is not None else max(recorded) - 1
        unknown = [v for v in recorded if v > target and v not in known]
        if unknown:
            raise MigrationError(
                f"applied migration {unknown[0]:04d} is not in this code: cannot run its down step"
            )
        for version in sorted(recorded, reverse=True):
            if version > target:
                _run(conn, known[version], "down", timeouts)
                done.append(version)
    return tuple(done)


def status(
    dsn: str, *, migrations: Sequence[Migration] | None = None
) -> tuple[list[MigrationStatus], list[str]]:
    """Every known and recorded migration with its state, and any INVALID index on stocks."""
    todo = tuple(migrations) if migrations is not None else load_migrations()
    with connect(dsn) as conn:
        recorded = _recorded(conn)
        bad_indexes = invalid_indexes(conn)
    rows: list[MigrationStatus] = []
    for m in todo:
        if m.version not in recorded:
            rows.append(MigrationStatus(m.version, m.name, "pending", None))
            continue
        _, checksum, applied_at = recorded[m.version]
        state: Literal["applied", "changed"] = "applied" if checksum == m.checksum else "changed"
        rows.append(MigrationStatus(m.version, m.name, state, applied_at))
    known = {m.version for m in todo}
    for version, (name, _, applied_at) in sorted(recorded.items()):
        if version not in known:
            rows.append(MigrationStatus(version, name, "unknown", applied_at))
    rows.sort(key=lambda r: r.version)
    return rows, bad_indexes


def format_status(rows: Sequence[MigrationStatus], bad_indexes: Sequence[str]) -> str:
    """The text `db status` prints: one line per migration, then any INVALID index."""
    lines = [f"{'version':<8} {'state':<8} {'applied_at':<21} name"]
    for r in rows:
        lines.append(f"{r.version:04d}     {r.state:<8} {r.applied_at or '-':<21} {r.name}")
    lines.extend(f"INVALID index {name}: run `db migrate` to rebuild it" for name in bad_indexes)
    return "\n".join(lines)
