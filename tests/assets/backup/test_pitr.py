"""Continuous archiving and point-in-time recovery (assets/backup/pitr.sh) on a real PostgreSQL:
WAL streamed by pg_receivewal through a slot, verified base backups, restores to a second."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pitr import PitrCluster, Writer, owned_dir, start_pitr_cluster

pytestmark = pytest.mark.postgres


@pytest.fixture
def cluster() -> Iterator[PitrCluster]:
    """A fresh server with its receiver streaming and one base backup taken."""
    c = start_pitr_cluster()
    try:
        c.start_receiver()
        c.wait_for_base()  # the receiver's own, as on a new platform
        c.sql("CREATE ROLE reader LOGIN PASSWORD 'reader-pw'")
        c.sql("CREATE TABLE trades (id int PRIMARY KEY, note text NOT NULL)")
        c.sql("GRANT SELECT ON trades TO reader")
        yield c
    finally:
        c.close()


def utc_text(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def note_time() -> str:
    """A whole second strictly after every commit so far and before any later one."""
    mark = int(time.time()) + 1
    time.sleep(mark - time.time() + 0.2)
    text = utc_text(mark)
    time.sleep(1)
    return text


def ticking_clock(c: PitrCluster) -> str:
    """A PATH for `c.run` on which each reading of the clock (`date -u +%s`) is one second later
    than the last, from now on: a restore that read the clock twice for what must carry one
    stamp then fails every time, not only when it happens to straddle a second."""
    clock = owned_dir(c.server, "clock")
    date = clock / "date"
    date.write_text(
        "#!/bin/sh\n"
        'if [ "$*" = "-u +%s" ]; then\n'
        f'    n=$(cat "{clock}/reads" 2>/dev/null || echo 0)\n'
        f'    echo $((n + 1)) >"{clock}/reads"\n'
        f"    echo $(({int(time.time())} + n))\n"
        "else\n"
        f'    exec "{c.bindir}/date" "$@"\n'
        "fi\n"
    )
    date.chmod(0o755)
    return f"{clock}:{c.bindir}"


def insert(c: PitrCluster, first: int, last: int) -> None:
    c.sql(
        "INSERT INTO trades SELECT g, 'trade ' || g FROM generate_series(%s::int, %s::int) AS g",
        first,
        last,
    )


def trade_ids(c: PitrCluster) -> list[int]:
    return [int(str(r[0])) for r in c.sql("SELECT id FROM trades ORDER BY id")]


def snapshot(path: Path) -> dict[str, tuple[int, int]]:
    """Every file under `path` with its size and mtime: 'nothing changed' made checkable."""
    return {
        str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_restore_to_a_noted_time_brings_back_exactly_the_rows_written_before_it(
    cluster: PitrCluster,
) -> None:
    insert(cluster, 1, 100)
    noted = note_time()
    insert(cluster, 101, 250)
    cluster.sql("DELETE FROM trades WHERE id <= 50")  # the "bad migration" after the noted time
    cluster.wait_caught_up()
    cluster.stop_server()
    cluster.stop_receiver()
    clock = ticking_clock(cluster)

    result = cluster.run(
        "restore", "--to", noted, "--pgdata", str(cluster.server.datadir), PATH=clock
    )

    assert result.returncode == 0, result.stderr
    assert f"restored {cluster.server.datadir} to {noted} UTC from base backup" in result.stderr
    cluster.start_server()
    assert trade_ids(cluster) == list(range(1, 101))
    # Roles, grants and file ownership are the cluster's own, as they were.
    assert cluster.sql("SELECT has_table_privilege('reader', 'trades', 'SELECT')") == [(True,)]
    assert cluster.sql("SELECT has_table_privilege('reader', 'trades', 'INSERT')") == [(False,)]
    owner = cluster.server.datadir.parent.stat().st_uid
    assert {p.stat().st_uid for p in cluster.server.datadir.rglob("*")} == {owner}
    assert oct(cluster.server.datadir.stat().st_mode & 0o777) == "0o700"
    aside = [p.name for p in cluster.server.datadir.parent.iterdir() if ".replaced-" in p.name]
    assert len(aside) == 1
    assert [p.name for p in (cluster.repo / "history").iterdir()] == [
        aside[0].split(".replaced-")[1]
    ]


def test_restore_to_latest_after_a_crash_mid_write_loses_only_what_was_in_flight(
    cluster: PitrCluster,
) -> None:
    """The server is killed while a writer commits row after row; the restore brings back an
    unbroken prefix of the acknowledged rows, including everything the receiver had confirmed
    (the loss, acknowledged minus recovered, is the on-host RPO that bench_pitr.py measures)."""
    insert(cluster, 1, 1000)
    cluster.wait_caught_up()
    writer = Writer(cluster, first=1001)
    writer.start()
    cluster.wait_for(lambda: writer.acknowledged > 1500, "the writer to commit 500 more rows")
    partial = sorted(p.name for p in (cluster.repo / "wal").glob("*.partial"))
    cluster.crash()
    writer.join(timeout=30)
    cluster.stop_receiver(signal.SIGKILL)  # the container or host died with it

    result = cluster.run("restore", "--to", "latest", "--pgdata", str(cluster.server.datadir))

    assert result.returncode == 0, result.stderr
    cluster.start_server()
    recovered = trade_ids(cluster)
    # The open segment existed only as a .partial: the rows after the base backup came from it.
    assert len(partial) == 1
    assert recovered == list(range(1, len(recovered) + 1))
    assert 1000 <= len(recovered) <= writer.acknowledged


def test_after_a_restore_to_a_time_the_new_timeline_streams_and_restores_again(
    cluster: PitrCluster,
) -> None:
    """Scenario 1 twice: the restored cluster forks a new timeline at the noted time; the
    repository as it was moves to history/, the receiver streams the new timeline into a fresh
    one and takes its base backup by itself, and a later restore finds every new row."""
    insert(cluster, 1, 10)
    noted = note_time()
    insert(cluster, 11, 500)  # beyond the fork: WAL the new timeline never had
    cluster.sql("SELECT pg_switch_wal()")
    insert(cluster, 501, 510)
    cluster.wait_caught_up()
    cluster.stop_server()
    cluster.stop_receiver()
    first = cluster.run("restore", "--to", noted, "--pgdata", str(cluster.server.datadir))
    assert first.returncode == 0, first.stderr
    (kept,) = (cluster.repo / "history").iterdir()
    assert f"the repository as it was is kept at {kept} (restore from it with --from {kept})" in (
        first.stderr
    )
    assert sorted(p.name for p in kept.iterdir()) == ["base", "system_identifier", "wal"]
    assert list((cluster.repo / "wal").iterdir()) == []
    cluster.start_server()
    cluster.start_receiver()  # the slot is not in a base backup: the receiver creates it again
    cluster.wait_for_base()
    insert(cluster, 1001, 1020)
    cluster.wait_caught_up()
    cluster.stop_server()
    cluster.stop_receiver()

    result = cluster.run("restore", "--to", "latest", "--pgdata", str(cluster.server.datadir))

    assert result.returncode == 0, result.stderr
    cluster.start_server()
    assert trade_ids(cluster) == [*range(1, 11), *range(1001, 1021)]


def test_a_time_before_the_oldest_base_backup_is_refused_and_nothing_changes(
    cluster: PitrCluster,
) -> None:
    cluster.stop_server()
    before = snapshot(cluster.server.datadir)
    meta = next((cluster.repo / "base").glob("*/meta")).read_text()
    end = int(next(line for line in meta.splitlines() if line.startswith("end="))[4:])

    result = cluster.run(
        "restore", "--to", utc_text(end - 3600), "--pgdata", str(cluster.server.datadir)
    )

    assert result.returncode == 3
    assert result.stderr.strip().endswith(
        f"pitr: --to {utc_text(end - 3600)} UTC is before the oldest restorable time "
        f"{utc_text(end)} UTC (the end of the oldest base backup); nothing was changed"
    )
    assert snapshot(cluster.server.datadir) == before
    assert not cluster.server.datadir.with_name("data.restoring").exists()


def test_a_time_in_the_future_is_refused(cluster: PitrCluster) -> None:
    cluster.stop_server()
    result = cluster.run(
        "restore", "--to", "2999-01-01 00:00:00", "--pgdata", str(cluster.server.datadir)
    )
    assert result.returncode == 3
    assert "--to 2999-01-01 00:00:00 UTC is in the future; nothing was changed" in result.stderr


def test_a_time_after_the_end_of_the_archive_is_refused_and_nothing_changes(
    cluster: PitrCluster,
) -> None:
    insert(cluster, 1, 10)
    cluster.wait_caught_up()
    cluster.stop_receiver()
    noted = note_time()  # no commit reaches the archive after this: the receiver is stopped
    cluster.stop_server()
    before = snapshot(cluster.server.datadir)

    result = cluster.run("restore", "--to", noted, "--pgdata", str(cluster.server.datadir))

    assert result.returncode == 3, result.stderr
    assert (
        "recovery failed: recovery ended before configured recovery target was reached; "
        "nothing was changed"
    ) in result.stderr
    assert snapshot(cluster.server.datadir) == before
    assert not cluster.server.datadir.with_name("data.restoring").exists()


def test_a_running_server_is_never_restored_over(cluster: PitrCluster) -> None:
    result = cluster.run("restore", "--to", "latest", "--pgdata", str(cluster.server.datadir))
    assert result.returncode == 4
    assert "a PostgreSQL server is running on" in result.stderr
    assert trade_ids(cluster) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--to needs a time 'YYYY-MM-DD HH:MM:SS' (UTC) or 'latest'"),
        (
            ("--to", "yesterday"),
            "--to must be 'YYYY-MM-DD HH:MM:SS' (UTC) or 'latest', got 'yesterday'",
        ),
        (
            ("--to", "2026-13-45 10:00:00"),
            "--to '2026-13-45 10:00:00' is not a valid date and time",
        ),
        (("--to", "latest", "--bogus"), "unknown argument '--bogus'"),
    ],
)
def test_bad_arguments_are_usage_errors(
    cluster: PitrCluster, args: tuple[str, ...], message: str
) -> None:
    result = cluster.run("restore", *args, "--pgdata", str(cluster.server.datadir))
    assert result.returncode == 2
    assert message in result.stderr


def test_a_repository_of_another_cluster_is_refused_and_nothing_changes(
    cluster: PitrCluster,
) -> None:
    other = start_pitr_cluster()
    try:
        other.stop_server()
        before = snapshot(other.server.datadir)
        theirs = cluster.sql("SELECT system_identifier FROM pg_control_system()")[0][0]

        result = other.run(
            "restore",
            "--to",
            "latest",
            "--from",
            str(cluster.repo),
            "--pgdata",
            str(other.server.datadir),
        )

        assert result.returncode == 3
        assert (
            f"{cluster.repo} holds backups of cluster {theirs}, but {other.server.datadir} is "
            "cluster "
        ) in result.stderr
        assert "refusing to mix clusters, nothing was changed" in result.stderr
        assert snapshot(other.server.datadir) == before
    finally:
        other.close()


def test_a_base_backup_of_another_cluster_is_never_added_to_a_repository(
    cluster: PitrCluster,
) -> None:
    other = start_pitr_cluster()
    try:
        result = other.run("base", PITR_DIR=str(cluster.repo))
        assert result.returncode == 3
        assert f"but {cluster.repo} belongs to cluster " in result.stderr
        assert len(list((cluster.repo / "base").iterdir())) == 1
    finally:
        other.close()


def test_a_damaged_base_backup_is_refused_and_nothing_changes(cluster: PitrCluster) -> None:
    cluster.stop_server()
    tarball = next((cluster.repo / "base").glob("*/base.tar.gz"))
    data = bytearray(tarball.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tarball.write_bytes(bytes(data))
    before = snapshot(cluster.server.datadir)

    result = cluster.run("restore", "--to", "latest", "--pgdata", str(cluster.server.datadir))

    assert result.returncode == 3
    assert "base.tar.gz does not match its sha256: damaged; nothing was changed" in result.stderr
    assert snapshot(cluster.server.datadir) == before


def test_retention_keeps_the_newest_base_backups_and_the_wal_they_need(
    cluster: PitrCluster,
) -> None:
    for i in range(3):
        insert(cluster, i * 10 + 1, i * 10 + 10)
        cluster.sql("SELECT pg_switch_wal()")
        cluster.wait_caught_up()
        result = cluster.run("base", PITR_KEEP_BASE="2", PITR_NOW=str(2_000_000_000 + i * 60))
        assert result.returncode == 0, result.stderr
    kept = sorted(p.name for p in (cluster.repo / "base").iterdir())
    assert kept == ["20330518T033420Z", "20330518T033520Z"]
    oldest_start = (
        (cluster.repo / "base" / kept[0] / "meta").read_text().split("start_wal=")[1][:24]
    )
    segments = sorted(
        p.name[:24] for p in (cluster.repo / "wal").iterdir() if ".partial" not in p.name
    )
    assert segments
    assert segments[0] == oldest_start
    assert "retention: deleted base backup" in result.stderr


def test_metrics_report_lag_receiver_base_age_and_size(cluster: PitrCluster) -> None:
    # A file of its own: the receiver's loop rewrites pitr.prom every second.
    metrics = cluster.repo.parent / "explicit.prom"
    insert(cluster, 1, 10)
    cluster.wait_caught_up()
    assert cluster.run("metrics", PITR_METRICS_FILE=str(metrics)).returncode == 0
    lines = dict(
        line.rsplit(" ", 1) for line in metrics.read_text().splitlines() if not line.startswith("#")
    )
    end = (next((cluster.repo / "base").glob("*/meta")).read_text().split("end=")[1]).split()[0]
    assert lines["backup_wal_lag_bytes"] == "0"
    assert lines["backup_wal_receiver_active"] == "1"
    assert lines["backup_base_last_success_timestamp_seconds"] == end
    assert int(lines["backup_repository_size_bytes"]) > 1024 * 1024

    cluster.stop_receiver()
    cluster.wait_for(
        lambda: cluster.sql("SELECT active FROM pg_replication_slots") == [(False,)], "slot idle"
    )
    insert(cluster, 11, 20)
    assert cluster.run("metrics", PITR_METRICS_FILE=str(metrics)).returncode == 0
    text = metrics.read_text()
    assert "backup_wal_receiver_active 0\n" in text
    lag = int(text.split("\nbackup_wal_lag_bytes ")[1].split()[0])
    assert lag > 0
    assert os.stat(metrics).st_size > 0
