"""backup.sh and restore.sh on a real PostgreSQL server, with only the image's tools on PATH."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from tests.assets.backup.conftest import (
    SCRIPTS,
    TABLES,
    database_exists,
    drop_database,
    table_fingerprints,
    unique_db,
)
from tests.support.postgres import PostgresServer
from tests.support.tools import require_binary

pytestmark = pytest.mark.postgres


def occupy(server: PostgresServer, name: str, value: int) -> dict[str, tuple[int, str]]:
    """Create database `name` holding one table of one row; return its table fingerprints."""
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(server.dsn(name)) as conn:
        conn.execute(f"CREATE TABLE keep_me (x int); INSERT INTO keep_me VALUES ({value:d})")
    return {"keep_me": (1, hashlib.md5(f"({value:d})".encode()).hexdigest())}


def the_dump(backup_dir: Path) -> Path:
    dumps = sorted(backup_dir.glob("*.dump"))
    assert len(dumps) == 1, dumps
    return dumps[0]


@pytest.fixture
def restore_target(postgres_server):
    """A unique name for the restore target, dropped afterwards with its staging database."""
    name = unique_db("test_restore")
    yield name
    drop_database(postgres_server, name)
    drop_database(postgres_server, f"{name}_restoring")


@pytest.fixture
def restore_copy(run_script, seeded_db, restore_target, backup_dir):
    """`restore.sh [options] --from-database <seeded db> <restore target>`: the seeded database's
    newest backup restored under the target's name."""

    def run(*options: str, **env: str) -> subprocess.CompletedProcess[str]:
        result: subprocess.CompletedProcess[str] = run_script(
            "restore.sh",
            *options,
            "--from-database",
            seeded_db,
            restore_target,
            db=seeded_db,
            BACKUP_DIR=str(backup_dir),
            **env,
        )
        return result

    return run


def test_round_trip_restores_every_table_with_equal_counts_and_content(
    run_script, seeded_db, backup_dir, restore_target, postgres_server, restore_copy
):
    backup = run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir))
    assert backup.returncode == 0, backup.stderr

    restore = restore_copy()

    assert restore.returncode == 0, restore.stderr
    source = table_fingerprints(postgres_server, seeded_db)
    restored = table_fingerprints(postgres_server, restore_target)
    assert sorted(source) == list(TABLES)
    assert restored == source
    assert restore.stdout == (
        "table rows\n"
        "public.prices 5000\n"
        "public.sectors 4\n"
        "public.stocks 500\n"
        "public.watchlist_items 100\n"
        "public.watchlists 20\n"
    )
    # Search works on the restored copy exactly as on the source: vectors, GIN index, unaccent.
    query = (
        "SELECT count(*), sum(id) FROM stocks "
        "WHERE search_vector @@ websearch_to_tsquery('english', 'societe generale')"
    )
    with (
        psycopg.connect(postgres_server.dsn(seeded_db)) as src,
        psycopg.connect(postgres_server.dsn(restore_target)) as dst,
    ):
        expected = src.execute(query).fetchone()
        assert expected is not None
        assert expected[0] == 125
        assert dst.execute(query).fetchone() == expected
    assert not database_exists(postgres_server, f"{restore_target}_restoring")


def test_restore_takes_the_newest_backup_unless_one_is_named(
    run_script, seeded_db, backup_dir, restore_target, postgres_server
):
    common = {"db": seeded_db, "BACKUP_DIR": str(backup_dir)}
    assert run_script("backup.sh", BACKUP_NOW="1795140000", **common).returncode == 0
    with psycopg.connect(postgres_server.dsn(seeded_db)) as conn:
        conn.execute("DELETE FROM watchlist_items WHERE note IS NULL")
    assert run_script("backup.sh", BACKUP_NOW="1795226400", **common).returncode == 0

    newest = run_script("restore.sh", "--from-database", seeded_db, restore_target, **common)
    older = backup_dir / f"{seeded_db}-20261120T020000Z.dump"
    named = run_script(
        "restore.sh", "--force", "--from-database", seeded_db, restore_target, str(older), **common
    )

    assert "public.watchlist_items 20\n" in newest.stdout
    assert "public.watchlist_items 100\n" in named.stdout
    assert f"restore: verifying {older}\n" in named.stderr


def test_corrupted_backup_is_refused_and_target_never_created(
    run_script, seeded_db, backup_dir, restore_target, postgres_server, restore_copy
):
    assert run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir)).returncode == 0
    dump = the_dump(backup_dir)
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    dump.write_bytes(bytes(data))

    result = restore_copy()

    assert result.returncode == 3
    actual = hashlib.sha256(bytes(data)).hexdigest()
    expected = (dump.parent / (dump.name + ".sha256")).read_text().split()[0]
    assert result.stderr.endswith(
        f"restore: REFUSED: {dump} is corrupted or truncated: "
        f"sha256 is {actual}, {dump}.sha256 says {expected}\n"
    )
    assert result.stdout == ""
    assert not database_exists(postgres_server, restore_target)
    assert not database_exists(postgres_server, f"{restore_target}_restoring")


def test_truncated_backup_is_refused_by_its_checksum(
    run_script, seeded_db, backup_dir, restore_target, postgres_server, restore_copy
):
    assert run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir)).returncode == 0
    dump = the_dump(backup_dir)
    dump.write_bytes(dump.read_bytes()[: dump.stat().st_size // 2])

    result = restore_copy()

    assert result.returncode == 3
    assert f"restore: REFUSED: {dump} is corrupted or truncated: sha256 is " in result.stderr
    assert not database_exists(postgres_server, restore_target)


def test_truncated_backup_with_a_matching_checksum_is_refused_by_reading_the_archive(
    run_script, seeded_db, backup_dir, restore_target, postgres_server, restore_copy
):
    # A copy cut short whose checksum was (wrongly) recomputed: only reading the archive can tell.
    assert run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir)).returncode == 0
    dump = the_dump(backup_dir)
    short = dump.read_bytes()[: dump.stat().st_size * 2 // 3]
    dump.write_bytes(short)
    Path(f"{dump}.sha256").write_text(f"{hashlib.sha256(short).hexdigest()}  {dump.name}\n")

    result = restore_copy()

    assert result.returncode == 3
    assert result.stderr.endswith(
        f"restore: REFUSED: {dump} is truncated or damaged: "
        "pg_restore cannot read all of its data\n"
    )
    assert not database_exists(postgres_server, restore_target)
    assert not database_exists(postgres_server, f"{restore_target}_restoring")


def test_backup_without_its_checksum_file_is_refused(
    run_script, seeded_db, backup_dir, restore_target, postgres_server, restore_copy
):
    assert run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir)).returncode == 0
    dump = the_dump(backup_dir)
    Path(f"{dump}.sha256").unlink()

    result = restore_copy()

    assert result.returncode == 3
    assert result.stderr.endswith(
        f"restore: REFUSED: checksum file {dump}.sha256 is missing; cannot prove {dump} is intact\n"
    )
    assert not database_exists(postgres_server, restore_target)


def test_existing_target_is_refused_without_force_and_replaced_with_it(
    run_script, seeded_db, backup_dir, restore_target, postgres_server, restore_copy
):
    assert run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir)).returncode == 0
    kept = occupy(postgres_server, restore_target, 42)

    refused = restore_copy()

    assert refused.returncode == 4
    assert refused.stderr.endswith(
        f"restore: REFUSED: database '{restore_target}' already exists; "
        "pass --force (or RESTORE_FORCE=1) to replace it\n"
    )
    assert table_fingerprints(postgres_server, restore_target) == kept

    forced = restore_copy(RESTORE_FORCE="1")

    assert forced.returncode == 0, forced.stderr
    assert table_fingerprints(postgres_server, restore_target) == table_fingerprints(
        postgres_server, seeded_db
    )


@pytest.fixture
def dump_granting_to_a_dropped_role(run_script, seeded_db, backup_dir, postgres_server):
    """A backup whose ACL names a role that no longer exists, as on a rebuilt server."""
    with psycopg.connect(postgres_server.dsn(seeded_db), autocommit=True) as conn:
        conn.execute("CREATE ROLE bk_reader_gone")
        conn.execute("GRANT SELECT ON stocks TO bk_reader_gone")
    assert run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir)).returncode == 0
    with psycopg.connect(postgres_server.dsn(seeded_db), autocommit=True) as conn:
        conn.execute("REVOKE SELECT ON stocks FROM bk_reader_gone")
        conn.execute("DROP ROLE bk_reader_gone")
    return the_dump(backup_dir)


def test_failed_restore_leaves_an_existing_target_untouched(
    run_script,
    seeded_db,
    backup_dir,
    restore_target,
    postgres_server,
    dump_granting_to_a_dropped_role,
    restore_copy,
):
    kept = occupy(postgres_server, restore_target, 7)

    result = restore_copy("--force")

    assert result.returncode == 1
    assert 'role "bk_reader_gone" does not exist' in result.stderr
    assert result.stderr.endswith(
        f"restore: restore failed; dropping {restore_target}_restoring, "
        f"{restore_target} is untouched\n"
    )
    assert table_fingerprints(postgres_server, restore_target) == kept
    assert not database_exists(postgres_server, f"{restore_target}_restoring")


def test_restore_without_acl_succeeds_when_granted_roles_are_missing(
    run_script,
    seeded_db,
    backup_dir,
    restore_target,
    postgres_server,
    dump_granting_to_a_dropped_role,
    restore_copy,
):
    result = restore_copy(RESTORE_NO_ACL="1")

    assert result.returncode == 0, result.stderr
    assert table_fingerprints(postgres_server, restore_target) == table_fingerprints(
        postgres_server, seeded_db
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (),
            "restore: usage: restore.sh [--force] [--from-database NAME] TARGET_DB [BACKUP_FILE]\n",
        ),
        (
            ("a", "b", "c"),
            "restore: usage: restore.sh [--force] [--from-database NAME] TARGET_DB [BACKUP_FILE]\n",
        ),
        (
            ("--yes", "x"),
            "restore: unknown option '--yes'; "
            "usage: restore.sh [--force] [--from-database NAME] TARGET_DB [BACKUP_FILE]\n",
        ),
        (("x" * 54,), f"restore: TARGET_DB '{'x' * 54}' is too long (at most 53 characters)\n"),
        (("postgres",), "restore: TARGET_DB must not be the maintenance database 'postgres'\n"),
        (
            ("x", "--from-database"),
            "restore: --from-database needs a database name; "
            "usage: restore.sh [--force] [--from-database NAME] TARGET_DB [BACKUP_FILE]\n",
        ),
        (
            ("--from-database=", "x"),
            "restore: --from-database needs a database name; "
            "usage: restore.sh [--force] [--from-database NAME] TARGET_DB [BACKUP_FILE]\n",
        ),
    ],
)
def test_restore_rejects_bad_arguments(run_script, backup_dir, args, message):
    result = run_script("restore.sh", *args, BACKUP_DIR=str(backup_dir))

    assert result.returncode == 2
    assert result.stderr.endswith(message)


def test_restore_with_no_backup_in_the_directory_is_refused(run_script, backup_dir):
    result = run_script("restore.sh", "nothing_here", db="investment", BACKUP_DIR=str(backup_dir))

    assert result.returncode == 3
    assert result.stderr.endswith(
        f"restore: no backup named investment-YYYYmmddTHHMMSSZ.dump in {backup_dir}\n"
    )


def test_restore_of_another_databases_archive_is_refused_and_changes_nothing(
    run_script, seeded_db, backup_dir, restore_target, postgres_server
):
    # Before: `restore.sh --force TARGET FILE` replaced TARGET with a dump of another database.
    assert run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir)).returncode == 0
    dump = the_dump(backup_dir)
    kept = occupy(postgres_server, restore_target, 3)

    result = run_script(
        "restore.sh", "--force", restore_target, str(dump), db=seeded_db, BACKUP_DIR=str(backup_dir)
    )

    assert result.returncode == 3
    assert result.stderr.endswith(
        f"restore: REFUSED: {dump} is a backup of database '{seeded_db}', not of "
        f"'{restore_target}'; to restore a copy of '{seeded_db}' under the name "
        f"'{restore_target}', pass --from-database '{seeded_db}'\n"
    )
    assert result.stdout == ""
    assert table_fingerprints(postgres_server, restore_target) == kept
    assert not database_exists(postgres_server, f"{restore_target}_restoring")


def test_restore_checks_the_database_named_by_from_database(
    run_script, seeded_db, backup_dir, restore_target, postgres_server
):
    assert run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir)).returncode == 0
    dump = the_dump(backup_dir)

    result = run_script(
        "restore.sh",
        "--from-database=investment_db",
        restore_target,
        db=seeded_db,
        BACKUP_DIR=str(backup_dir),
    )

    assert result.returncode == 3
    assert result.stderr.endswith(
        f"restore: REFUSED: {dump} is a backup of database '{seeded_db}', not of "
        "'investment_db' (--from-database)\n"
    )
    assert not database_exists(postgres_server, restore_target)


CONNECTION_FAILURES = [
    (
        {"PGPORT": "1"},
        'connection to server at "127.0.0.1", port 1 failed: Connection refused',
    ),
    (
        {"PGPASSWORD": "wrong"},
        'connection to server at "127.0.0.1", port {port} failed: FATAL:  password '
        'authentication failed for user "postgres"',
    ),
    (
        {"PGDATABASE": "no_such_database"},
        'connection to server at "127.0.0.1", port {port} failed: FATAL:  database '
        '"no_such_database" does not exist',
    ),
]
"""Environments that keep a script from connecting, and libpq's reason ({port}: the server's)."""
FAILURE_IDS = ["unreachable", "wrong-password", "no-database"]


# Not the missing database: restore connects to the maintenance database, whatever PGDATABASE says.
@pytest.mark.parametrize(("env", "reason"), CONNECTION_FAILURES[:2], ids=FAILURE_IDS[:2])
def test_restore_that_cannot_reach_the_server_is_one_line_and_changes_nothing(
    run_script, seeded_db, backup_dir, restore_target, postgres_server, env, reason, restore_copy
):
    # Before: exit 2 (documented as usage) and libpq's error three times over.
    assert run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir)).returncode == 0
    files = sorted(p.name for p in backup_dir.iterdir())

    result = restore_copy(**env)

    assert _only_line(result, "restore") == (
        "cannot connect to PostgreSQL as 'postgres': "
        f"{reason.format(port=postgres_server.port)}; "
        "nothing was changed"
    )
    assert not database_exists(postgres_server, restore_target)
    assert not database_exists(postgres_server, f"{restore_target}_restoring")
    assert sorted(p.name for p in backup_dir.iterdir()) == files


def test_restore_as_a_role_that_is_not_superuser_is_one_line_and_changes_nothing(
    run_script, seeded_db, backup_dir, restore_target, postgres_server
):
    assert run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir)).returncode == 0
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE ROLE bk_not_super LOGIN CREATEDB PASSWORD 'not-super'")
    try:
        result = run_script(
            "restore.sh",
            "--from-database",
            seeded_db,
            restore_target,
            db=seeded_db,
            BACKUP_DIR=str(backup_dir),
            PGUSER="bk_not_super",
            PGPASSWORD="not-super",
        )
    finally:
        with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
            conn.execute("DROP ROLE bk_not_super")

    assert _only_line(result, "restore") == (
        "role 'bk_not_super' is not a superuser: a restore creates a database and gives every "
        "object back to its owner; run it with the superuser's credentials "
        "(docs/DISASTER_RECOVERY.md); nothing was changed"
    )
    assert not database_exists(postgres_server, restore_target)


def test_a_new_database_from_a_restore_is_closed_to_everyone_but_superusers(
    run_script, seeded_db, backup_dir, restore_target, postgres_server
):
    assert run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir)).returncode == 0

    result = run_script(
        "restore.sh",
        "--from-database",
        seeded_db,
        restore_target,
        BACKUP_DIR=str(backup_dir),
        db=seeded_db,
    )

    assert result.returncode == 0, result.stderr
    assert (
        f"restore: new database '{restore_target}': owned by postgres, no one else may connect\n"
        in result.stderr
    )
    with psycopg.connect(postgres_server.dsn()) as conn:
        row = conn.execute(
            "SELECT pg_get_userbyid(datdba), datacl::text[] FROM pg_database WHERE datname = %s",
            (restore_target,),
        ).fetchone()
    assert row == ("postgres", ["postgres=CTc/postgres"])


def fake_backup(directory: Path, name: str) -> None:
    (directory / name).write_bytes(b"not a real dump: retention only reads names")
    (directory / f"{name}.sha256").write_text(f"{'0' * 64}  {name}\n")


def test_retention_deletes_exactly_the_expired_backups(run_script, seeded_db, backup_dir):
    # NOW is Saturday 2026-11-28 10:00 UTC (ISO week 48). Keep 3 days and 3 weeks.
    stamps = {
        "20261128T020000Z": "deleted: same day as the new backup, older",
        "20261127T030000Z": "kept: newest of Fri 27th (2nd day)",
        "20261127T010000Z": "deleted: older on Fri 27th",
        "20261125T020000Z": "kept: newest of Wed 25th (3rd day)",
        "20261123T020000Z": "deleted: 4th day, week 48 already kept by the new backup",
        "20261122T020000Z": "kept: newest of week 47 (Sunday)",
        "20261116T020000Z": "deleted: older in week 47",
        "20261115T230000Z": "kept: newest of week 46",
        "20261108T020000Z": "deleted: week 45 is the 4th week",
    }
    for stamp in stamps:
        fake_backup(backup_dir, f"{seeded_db}-{stamp}.dump")
    fake_backup(backup_dir, "otherdb-20200101T000000Z.dump")
    (backup_dir / f"{seeded_db}-manual-before-migration.dump").write_bytes(b"x")

    result = run_script(
        "backup.sh",
        db=seeded_db,
        BACKUP_DIR=str(backup_dir),
        BACKUP_NOW="1795860000",
        BACKUP_KEEP_DAILY="3",
        BACKUP_KEEP_WEEKLY="3",
    )

    assert result.returncode == 0, result.stderr
    kept = [s for s, why in stamps.items() if why.startswith("kept")]
    expected = {f"{seeded_db}-{s}.dump" for s in [*kept, "20261128T100000Z"]}
    expected |= {f"{name}.sha256" for name in expected}
    expected |= {"otherdb-20200101T000000Z.dump", "otherdb-20200101T000000Z.dump.sha256"}
    expected |= {f"{seeded_db}-manual-before-migration.dump", "backup.prom", ".backup.lock"}
    assert {p.name for p in backup_dir.iterdir()} == expected
    deleted = sorted(
        re.findall(r"retention: deleted .*/(\S+)\n", result.stderr),
    )
    assert deleted == sorted(
        f"{seeded_db}-{s}.dump" for s, why in stamps.items() if why.startswith("deleted")
    )


def test_metric_file_after_a_backup(run_script, seeded_db, backup_dir):
    before = int(time.time())
    result = run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir))
    after = int(time.time())

    assert result.returncode == 0, result.stderr
    dump = the_dump(backup_dir)
    text = (backup_dir / "backup.prom").read_text()
    label = f'{{database="{seeded_db}"}}'
    match = re.fullmatch(
        "# HELP backup_last_success_timestamp_seconds "
        "Unix time the last successful backup finished.\n"
        "# TYPE backup_last_success_timestamp_seconds gauge\n"
        rf"backup_last_success_timestamp_seconds{re.escape(label)} (\d+)\n"
        "# HELP backup_last_size_bytes Size of the last successful backup file.\n"
        "# TYPE backup_last_size_bytes gauge\n"
        rf"backup_last_size_bytes{re.escape(label)} (\d+)\n"
        "# HELP backup_last_duration_seconds Wall time of the last successful backup run.\n"
        "# TYPE backup_last_duration_seconds gauge\n"
        rf"backup_last_duration_seconds{re.escape(label)} (\d+\.\d{{3}})\n",
        text,
    )
    assert match, text
    assert before <= int(match[1]) <= after
    assert int(match[2]) == dump.stat().st_size
    assert 0 < float(match[3]) <= after - before + 1
    assert Path(f"{dump}.sha256").read_text() == (
        f"{hashlib.sha256(dump.read_bytes()).hexdigest()}  {dump.name}\n"
    )


def test_failed_backup_exits_non_zero_and_leaves_the_metric_and_directory_alone(
    run_script, seeded_db, backup_dir, postgres_server
):
    # pg_dump itself fails: a role that may connect but not read one of the tables.
    first = run_script(
        "backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir), BACKUP_NOW="1795140000"
    )
    assert first.returncode == 0
    metric = (backup_dir / "backup.prom").read_text()
    before = {p.name for p in backup_dir.iterdir()}
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE ROLE bk_cannot_read LOGIN PASSWORD 'cannot-read'")
    try:
        result = run_script(
            "backup.sh",
            db=seeded_db,
            BACKUP_DIR=str(backup_dir),
            PGUSER="bk_cannot_read",
            PGPASSWORD="cannot-read",
        )
    finally:
        with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
            conn.execute("DROP ROLE bk_cannot_read")

    assert result.returncode == 1
    assert "permission denied for table " in result.stderr
    assert result.stderr.endswith("backup: FAILED: pg_dump exited with 1\n")
    assert (backup_dir / "backup.prom").read_text() == metric
    assert {p.name for p in backup_dir.iterdir()} == before


def _only_line(result: subprocess.CompletedProcess[str], script: str) -> str:
    """The one stderr line of a failed run, without its timestamp."""
    assert result.returncode == 1, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    stamp, _, rest = lines[0].partition(f" {script}: ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp), lines[0]
    return rest


@pytest.mark.parametrize(("env", "reason"), CONNECTION_FAILURES, ids=FAILURE_IDS)
def test_backup_that_cannot_reach_the_server_is_one_line_and_writes_nothing(
    run_script, seeded_db, backup_dir, postgres_server, env, reason
):
    result = run_script("backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir), **env)

    assert _only_line(result, "backup") == (
        "FAILED: cannot connect to PostgreSQL as 'postgres': "
        f"{reason.format(port=postgres_server.port)}; "
        "nothing was written"
    )
    # The lock file is all that exists: no dump, no partial file, no metric.
    assert [p.name for p in backup_dir.iterdir()] == [".backup.lock"]


def test_backup_into_an_unwritable_directory_is_one_line_and_writes_nothing(
    seeded_db, postgres_server, image_bin
):
    # As the container runs it: a non-root uid that may not write to the directory. Root may
    # write anywhere, so the script runs as `nobody` in a world-readable copy of the image PATH.
    root = Path(tempfile.mkdtemp(prefix="bk-unwritable-"))
    try:
        root.chmod(0o755)
        tools = root / "bin"
        tools.mkdir()
        for link in image_bin.iterdir():
            (tools / link.name).symlink_to(link.resolve())
        scripts = root / "scripts"
        shutil.copytree(SCRIPTS, scripts)
        backups = root / "backups"
        backups.mkdir(mode=0o555)
        backups.chmod(0o555)
        (backups / "keep.txt").write_text("x")
        env = {
            "PATH": str(tools),
            "LANG": "C.UTF-8",
            **postgres_server.env(seeded_db),
            "BACKUP_DIR": str(backups),
        }
        command = [str(tools / "bash"), str(scripts / "backup.sh")]
        if os.geteuid() == 0:
            setpriv = require_binary("setpriv")
            command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
        result = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=120, check=False
        )

        assert _only_line(result, "backup") == (
            f"FAILED: BACKUP_DIR '{backups}' is not writable by uid "
            f"{65534 if os.geteuid() == 0 else os.geteuid()}; nothing was written"
        )
        assert [p.name for p in backups.iterdir()] == ["keep.txt"]
    finally:
        shutil.rmtree(root)


def test_offhost_copy_is_verified_and_kept_under_the_same_retention(
    run_script, seeded_db, backup_dir, tmp_path
):
    offhost = tmp_path / "offhost"
    offhost.mkdir()
    fake_backup(offhost, f"{seeded_db}-20261101T020000Z.dump")

    result = run_script(
        "backup.sh",
        db=seeded_db,
        BACKUP_DIR=str(backup_dir),
        BACKUP_OFFHOST_DIR=str(offhost),
        BACKUP_NOW="1795860000",
        BACKUP_KEEP_DAILY="1",
        BACKUP_KEEP_WEEKLY="0",
    )

    assert result.returncode == 0, result.stderr
    name = f"{seeded_db}-20261128T100000Z.dump"
    assert {p.name for p in offhost.iterdir()} == {name, f"{name}.sha256"}
    assert (offhost / name).read_bytes() == (backup_dir / name).read_bytes()
    assert (offhost / f"{name}.sha256").read_text() == (backup_dir / f"{name}.sha256").read_text()


def test_unreachable_offhost_dir_fails_the_backup_without_a_metric(
    run_script, seeded_db, backup_dir, tmp_path
):
    missing = tmp_path / "not-mounted"

    result = run_script(
        "backup.sh", db=seeded_db, BACKUP_DIR=str(backup_dir), BACKUP_OFFHOST_DIR=str(missing)
    )

    assert result.returncode == 1
    dump = the_dump(backup_dir)
    assert result.stderr.endswith(
        f"backup: FAILED: local backup {dump} is fine, "
        f"but BACKUP_OFFHOST_DIR '{missing}' is not a directory\n"
    )
    assert not (backup_dir / "backup.prom").exists()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"BACKUP_KEEP_DAILY": "seven"},
            "BACKUP_KEEP_DAILY must be a non-negative integer, got 'seven'",
        ),
        ({"BACKUP_COMPRESS": "12"}, "BACKUP_COMPRESS must be 0-9, got '12'"),
        (
            {"BACKUP_KEEP_DAILY": "0", "BACKUP_KEEP_WEEKLY": "0"},
            "BACKUP_KEEP_DAILY + BACKUP_KEEP_WEEKLY must keep at least one backup",
        ),
        (
            {"BACKUP_PREFIX": "a/b"},
            "BACKUP_PREFIX 'a/b' may only hold letters, digits, '_', '.', '-'",
        ),
    ],
)
def test_backup_rejects_bad_settings(run_script, backup_dir, env, message):
    result = run_script("backup.sh", db="investment", BACKUP_DIR=str(backup_dir), **env)

    assert result.returncode == 1
    assert result.stderr.endswith(f"backup: FAILED: {message}\n")
    assert list(backup_dir.iterdir()) == []
