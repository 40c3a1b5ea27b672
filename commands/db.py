"""`python -m commands db migrate|rollback|status`: the search schema's command-line front door.

The same functions as the `SearchSchema` dynamic resource (search.migrator). The DSN
comes from `--dsn` or, for any part it leaves out, from the standard PG* variables (PGHOST, PGPORT,
PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE), so a password need not appear on the command line.
Exit codes: 0 done, 1 the database refused (missing table or extension, changed migration, failed
statement, unreachable server, wrong password, missing privilege: any database error), 2 bad
input; errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

PG_ENV = ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "db",
        help="apply, roll back or list the stock search migrations",
        description="Stock search schema migrations (same code as the SearchSchema resource).",
    )
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dsn_help = "libpq connection string; PG* environment variables fill in what it leaves out"

    migrate = actions.add_parser("migrate", help="apply every pending migration")
    migrate.add_argument("--dsn", default="", help=dsn_help)
    migrate.add_argument(
        "--redo-changed",
        action="store_true",
        help="roll back and re-apply migrations whose checksum changed since they were applied",
    )

    rollback = actions.add_parser("rollback", help="run down steps, newest first")
    rollback.add_argument("--dsn", default="", help=dsn_help)
    rollback.add_argument(
        "--to",
        dest="to_version",
        type=_version,
        default=None,
        metavar="VERSION",
        help="roll back every migration newer than VERSION (0: all); default: only the newest",
    )

    status = actions.add_parser("status", help="list migrations and their state")
    status.add_argument("--dsn", default="", help=dsn_help)

    parser.set_defaults(handler=run)


def _version(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"VERSION must be a non-negative integer, got {text!r}")
    return int(text)


def _fail(code: int, message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _check_dsn(dsn: str) -> str | None:
    """A message when the DSN is unusable as input; None when it is fine."""
    from psycopg import conninfo

    if not dsn and not any(os.environ.get(name) for name in PG_ENV):
        return "no database given: pass --dsn 'host=... dbname=...' or set PGHOST/PGDATABASE"
    try:
        conninfo.conninfo_to_dict(dsn)
    except Exception as exc:  # psycopg raises ProgrammingError with libpq's own message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"invalid --dsn: {first}"
    return None


def run(args: argparse.Namespace) -> int:
    import psycopg

    from search import migrator

    problem = _check_dsn(args.dsn)
    if problem:
        return _fail(2, problem)
    try:
        if args.db_command == "migrate":
            result = migrator.apply(args.dsn, redo_changed=args.redo_changed)
            if result.rolled_back:
                rolled = ", ".join(f"{v:04d}" for v in result.rolled_back)
                print(f"rolled back changed migrations: {rolled}")
            if result.applied:
                print(f"applied: {', '.join(f'{v:04d}' for v in result.applied)}")
            else:
                print("already up to date")
            print(f"version: {result.version:04d}")
        elif args.db_command == "rollback":
            done = migrator.rollback(args.dsn, to_version=args.to_version)
            print(
                f"rolled back: {', '.join(f'{v:04d}' for v in done)}"
                if done
                else "nothing to roll back"
            )
        else:
            rows, bad_indexes = migrator.status(args.dsn)
            print(migrator.format_status(rows, bad_indexes))
    except migrator.UnknownVersionError as exc:
        return _fail(2, str(exc))
    except migrator.MigrationError as exc:
        return _fail(1, str(exc))
    except psycopg.Error as exc:
        # The migrator turns database errors into MigrationError; this is the last line of
        # defence, so that no path can end in a traceback.
        return _fail(1, f"PostgreSQL refused: {migrator.first_line(exc)}")
    return 0
