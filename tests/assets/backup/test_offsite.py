"""The encrypted off-site copy (assets/backup/offsite.sh): the real restic against a real S3 API
(moto's server mode), and a point-in-time restore from it after every local copy is gone."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest

from tests.assets.backup.test_pitr import insert, note_time, trade_ids
from tests.support.pitr import OFFSITE, PitrCluster, owned_dir, s3_server, start_pitr_cluster
from tests.support.tools import free_port, require_binary

pytestmark = pytest.mark.postgres

KEY = "off-site-test-key"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 API on a loopback port, as its own process."""
    with s3_server(timeout_s=30) as endpoint:
        yield endpoint


@pytest.fixture
def offsite(s3_endpoint: str) -> Iterator[PitrCluster]:
    """A streaming cluster with one base backup, whose off-site repository is a new bucket."""
    require_binary("restic")
    c = start_pitr_cluster()
    bucket = f"pitr-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    state = owned_dir(c.server, "offsite-state")
    c.extra_env = {
        **c.extra_env,
        "RESTIC_REPOSITORY": f"s3:{s3_endpoint}/{bucket}/pitr",
        "RESTIC_PASSWORD": KEY,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "RESTIC_CACHE_DIR": str(state / "cache"),
        "OFFSITE_METRICS_FILE": str(state / "offsite.prom"),
        "BUCKET": bucket,
    }
    try:
        c.start_receiver()
        c.wait_for_base()
        c.sql("CREATE TABLE trades (id int PRIMARY KEY, note text NOT NULL)")
        yield c
    finally:
        c.close()


def sync(c: PitrCluster, **env: str) -> subprocess.CompletedProcess[str]:
    return c.run("sync", script=OFFSITE, env=env)


def fetch(c: PitrCluster, dest: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return c.run("fetch", str(dest), script=OFFSITE, env=env)


def s3(c: PitrCluster) -> Any:
    endpoint = c.extra_env["RESTIC_REPOSITORY"].removeprefix("s3:").rsplit("/", 2)[0]
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )


def test_a_host_lost_after_a_sync_is_restored_to_a_noted_time_from_the_bucket_alone(
    offsite: PitrCluster,
) -> None:
    insert(offsite, 1, 100)
    noted = note_time()
    insert(offsite, 101, 200)
    offsite.wait_caught_up()
    synced = sync(offsite)
    assert synced.returncode == 0, synced.stderr
    # The host is gone: server, data directory, repository and metrics all deleted.
    offsite.crash()
    offsite.stop_receiver()
    shutil.rmtree(offsite.repo)
    shutil.rmtree(offsite.server.datadir)
    fetched = owned_dir(offsite.server, "new-host") / "pitr"

    result = fetch(offsite, fetched)

    assert result.returncode == 0, result.stderr
    assert (fetched / "system_identifier").is_file()
    restored = offsite.run(
        "restore", "--from", str(fetched), "--to", noted, "--pgdata", str(offsite.server.datadir)
    )
    assert restored.returncode == 0, restored.stderr
    offsite.start_server()
    assert trade_ids(offsite) == list(range(1, 101))


def test_the_open_wal_segment_goes_off_site_so_latest_has_every_synced_row(
    offsite: PitrCluster,
) -> None:
    insert(offsite, 1, 300)
    offsite.wait_caught_up()
    assert sync(offsite).returncode == 0
    offsite.crash()
    offsite.stop_receiver()
    shutil.rmtree(offsite.repo)
    fetched = owned_dir(offsite.server, "new-host") / "pitr"
    assert fetch(offsite, fetched).returncode == 0

    restored = offsite.run(
        "restore", "--from", str(fetched), "--to", "latest", "--pgdata", str(offsite.server.datadir)
    )

    assert restored.returncode == 0, restored.stderr
    offsite.start_server()
    assert trade_ids(offsite) == list(range(1, 301))


def test_after_a_restore_on_the_host_the_fetch_takes_the_live_repository_not_history(
    offsite: PitrCluster,
) -> None:
    """A restore keeps the repository as it was under history/ (with its own system_identifier)
    and the receiver fills a fresh one: the bucket holds both, and the fetch must take the live
    one, whose WAL has the rows written since."""
    insert(offsite, 1, 10)
    offsite.wait_caught_up()
    offsite.crash()
    offsite.stop_receiver(signal.SIGKILL)
    assert (
        offsite.run("restore", "--to", "latest", "--pgdata", str(offsite.server.datadir)).returncode
        == 0
    )
    offsite.start_server()
    offsite.start_receiver()
    offsite.wait_for_base()
    insert(offsite, 11, 20)
    offsite.wait_caught_up()
    assert sync(offsite).returncode == 0
    offsite.crash()
    offsite.stop_receiver(signal.SIGKILL)
    shutil.rmtree(offsite.repo)
    fetched = owned_dir(offsite.server, "new-host") / "pitr"

    assert fetch(offsite, fetched).returncode == 0

    assert [p.name for p in (fetched / "history").iterdir()] != []
    restored = offsite.run(
        "restore", "--from", str(fetched), "--to", "latest", "--pgdata", str(offsite.server.datadir)
    )
    assert restored.returncode == 0, restored.stderr
    offsite.start_server()
    assert trade_ids(offsite) == list(range(1, 21))


def test_sync_writes_its_metrics(offsite: PitrCluster) -> None:
    before = int(time.time())
    assert sync(offsite).returncode == 0
    text = Path(offsite.extra_env["OFFSITE_METRICS_FILE"]).read_text()
    stamp = int(text.split("\nbackup_offsite_last_success_timestamp_seconds ")[1].split()[0])
    assert before <= stamp <= int(time.time())
    assert "# TYPE backup_offsite_last_duration_seconds gauge\n" in text


def test_a_corrupted_object_is_detected_not_restored(offsite: PitrCluster) -> None:
    assert sync(offsite).returncode == 0
    client = s3(offsite)
    bucket = offsite.extra_env["BUCKET"]
    packs = [
        o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="pitr/data/")["Contents"]
    ]
    biggest = max(packs, key=lambda k: client.head_object(Bucket=bucket, Key=k)["ContentLength"])
    body = bytearray(client.get_object(Bucket=bucket, Key=biggest)["Body"].read())
    body[len(body) // 2] ^= 0xFF
    client.put_object(Bucket=bucket, Key=biggest, Body=bytes(body))
    dest = owned_dir(offsite.server, "new-host") / "pitr"

    result = fetch(offsite, dest)

    assert result.returncode == 1
    assert "restoring from " in result.stderr
    assert "failed: " in result.stderr
    assert result.stderr.strip().endswith("; nothing was kept")
    assert not dest.exists()
    assert not dest.with_name("pitr.fetching").exists()


def test_a_wrong_key_is_refused_and_nothing_changes(offsite: PitrCluster) -> None:
    assert sync(offsite).returncode == 0
    dest = owned_dir(offsite.server, "new-host") / "pitr"
    repository = offsite.extra_env["RESTIC_REPOSITORY"]
    objects = s3(offsite).list_objects_v2(Bucket=offsite.extra_env["BUCKET"])["KeyCount"]

    fetched = fetch(offsite, dest, RESTIC_PASSWORD="not-the-key")
    synced = sync(offsite, RESTIC_PASSWORD="not-the-key")

    for result in (fetched, synced):
        assert result.returncode == 1
        assert result.stderr.strip().endswith(
            f"offsite: wrong encryption key for {repository} (RESTIC_PASSWORD); nothing was changed"
        )
    assert not dest.exists()
    after = s3(offsite).list_objects_v2(Bucket=offsite.extra_env["BUCKET"])["KeyCount"]
    assert after == objects


def test_an_unreachable_bucket_is_one_clear_line(offsite: PitrCluster) -> None:
    repository = f"s3:http://127.0.0.1:{free_port()}/nowhere/pitr"
    dest = owned_dir(offsite.server, "new-host") / "pitr"

    for result in (
        sync(offsite, RESTIC_REPOSITORY=repository),
        fetch(offsite, dest, RESTIC_REPOSITORY=repository),
    ):
        assert result.returncode == 1
        assert f"offsite: cannot reach {repository}: " in result.stderr
        assert "connection refused" in result.stderr
        assert result.stderr.strip().endswith("; nothing was changed")
    assert not dest.exists()
    assert not Path(offsite.extra_env["OFFSITE_METRICS_FILE"]).exists()


def test_fetch_refuses_an_existing_or_relative_destination(offsite: PitrCluster) -> None:
    existing = owned_dir(offsite.server, "occupied")
    relative = offsite.run("fetch", "pitr", script=OFFSITE)
    occupied = fetch(offsite, existing)
    assert (relative.returncode, occupied.returncode) == (2, 2)
    assert "fetch needs an absolute DEST directory, got 'pitr'" in relative.stderr
    assert f"{existing} already exists; fetch into a new directory" in occupied.stderr


def test_a_missing_key_is_a_usage_error(offsite: PitrCluster) -> None:
    result = sync(offsite, RESTIC_PASSWORD="")
    assert result.returncode == 2
    assert "RESTIC_PASSWORD must hold the off-site encryption key" in result.stderr
