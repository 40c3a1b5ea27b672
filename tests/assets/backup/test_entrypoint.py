"""The backup container's scheduler, metrics endpoint and health check, run as in the container."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.assets.backup.conftest import SCRIPTS
from tests.support.tools import free_port

METRIC = (
    "# TYPE backup_last_success_timestamp_seconds gauge\n"
    'backup_last_success_timestamp_seconds{database="investment"} 1795860000\n'
)


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        ("02:30", "2026-11-28T01:00:00Z", "2026-11-28T02:30:00Z"),
        ("02:30", "2026-11-28T02:30:00Z", "2026-11-29T02:30:00Z"),
        ("02:30", "2026-11-28T23:59:59Z", "2026-11-29T02:30:00Z"),
        ("00:00", "2026-12-31T12:00:00Z", "2027-01-01T00:00:00Z"),
        ("21600", "2026-11-28T01:00:00Z", "2026-11-28T07:00:00Z"),
    ],
)
def test_next_run_follows_the_schedule(run_script, schedule, now, expected):
    def epoch(stamp: str) -> int:
        return int(time.mktime(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone)

    result = run_script("entrypoint.sh", "--next-run", str(epoch(now)), BACKUP_SCHEDULE=schedule)

    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == epoch(expected)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"BACKUP_SCHEDULE": "24:00"},
            "BACKUP_SCHEDULE must be HH:MM (daily, UTC) or a whole number of seconds, got '24:00'",
        ),
        (
            {"BACKUP_SCHEDULE": "daily"},
            "BACKUP_SCHEDULE must be HH:MM (daily, UTC) or a whole number of seconds, got 'daily'",
        ),
        ({"BACKUP_METRICS_PORT": "http"}, "BACKUP_METRICS_PORT must be a whole number, got 'http'"),
        ({"PITR_ENABLED": "yes"}, "PITR_ENABLED must be 0 or 1, got 'yes'"),
    ],
)
def test_entrypoint_rejects_bad_settings(run_script, env, message):
    result = run_script("entrypoint.sh", "--next-run", "0", **env)

    assert result.returncode == 2
    assert result.stderr.endswith(f"scheduler: {message}\n")


def http_exchange(script_env, request: bytes, metrics_file: Path) -> bytes:
    env = script_env(BACKUP_METRICS_FILE=str(metrics_file))
    done = subprocess.run(
        [env["PATH"] + "/bash", str(SCRIPTS / "metrics-http.sh")],
        input=request,
        env=env,
        capture_output=True,
        timeout=30,
        check=True,
    )
    return done.stdout


def test_metrics_handler_serves_the_metrics_file(script_env, tmp_path):
    metrics = tmp_path / "backup.prom"
    metrics.write_text(METRIC)

    response = http_exchange(
        script_env, b"GET /metrics HTTP/1.1\r\nHost: backup:9188\r\nAccept: */*\r\n\r\n", metrics
    )

    assert response == (
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
        + f"Content-Length: {len(METRIC)}\r\nConnection: close\r\n\r\n{METRIC}".encode()
    )


def test_metrics_handler_appends_the_extra_files_that_exist(script_env, tmp_path):
    """backup.prom, then pitr.sh's and the off-site container's files (BACKUP_METRICS_EXTRA); a
    file not written yet (no off-site copy configured) is left out."""
    metrics = tmp_path / "backup.prom"
    metrics.write_text(METRIC)
    pitr = tmp_path / "pitr.prom"
    pitr.write_text("backup_wal_receiver_active 1\n")
    env = script_env(
        BACKUP_METRICS_FILE=str(metrics),
        BACKUP_METRICS_EXTRA=f"{pitr} {tmp_path / 'offsite.prom'}",
    )
    done = subprocess.run(
        [env["PATH"] + "/bash", str(SCRIPTS / "metrics-http.sh")],
        input=b"GET /metrics HTTP/1.0\r\n\r\n",
        env=env,
        capture_output=True,
        timeout=30,
        check=True,
    )
    body = METRIC + "backup_wal_receiver_active 1\n"
    assert done.stdout.endswith(
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}".encode()
    )


def test_metrics_handler_before_any_backup_serves_an_empty_page(script_env, tmp_path):
    response = http_exchange(script_env, b"GET /metrics HTTP/1.1\r\n\r\n", tmp_path / "none.prom")

    assert response == (
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("request_line", "status", "body"),
    [
        (b"GET /backups/ HTTP/1.1", b"404 Not Found", b"only /metrics is served here\n"),
        (b"POST /metrics HTTP/1.1", b"405 Method Not Allowed", b"only GET and HEAD\n"),
    ],
)
def test_metrics_handler_serves_nothing_else(script_env, tmp_path, request_line, status, body):
    metrics = tmp_path / "backup.prom"
    metrics.write_text(METRIC)

    response = http_exchange(script_env, request_line + b"\r\n\r\n", metrics)

    assert response == (
        b"HTTP/1.0 " + status + b"\r\nContent-Type: text/plain\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
    )


def write_metric(path: Path, timestamp: int) -> None:
    path.write_text(
        f'backup_last_success_timestamp_seconds{{database="investment"}} {timestamp}\n'
        f'backup_last_size_bytes{{database="investment"}} 100\n'
    )


def test_healthcheck_is_healthy_after_a_fresh_backup(run_script, backup_dir):
    write_metric(backup_dir / "backup.prom", int(time.time()) - 60)

    result = run_script("healthcheck.sh", BACKUP_DIR=str(backup_dir))

    assert result.returncode == 0
    assert result.stdout.startswith("healthy: last successful backup ")


def test_healthcheck_is_unhealthy_when_the_backup_is_too_old(run_script, backup_dir):
    write_metric(backup_dir / "backup.prom", int(time.time()) - 3700)

    result = run_script("healthcheck.sh", BACKUP_DIR=str(backup_dir), BACKUP_MAX_AGE_SECONDS="3600")

    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy: last successful backup is 37")
    assert result.stdout.endswith("s old, more than 3600s\n")


def test_healthcheck_is_unhealthy_before_any_backup(run_script, backup_dir):
    result = run_script("healthcheck.sh", BACKUP_DIR=str(backup_dir))

    assert result.returncode == 1
    assert result.stdout == (
        f"unhealthy: no successful backup recorded in {backup_dir}/backup.prom\n"
    )


def fetch(url: str, deadline: float) -> bytes:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body: bytes = response.read()
                return body
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_for(predicate, deadline: float, what: str) -> None:
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_entrypoint_backs_up_on_schedule_and_serves_the_metric(
    script_env, image_bin, seeded_db, backup_dir, run_script
):
    port = free_port()
    env = script_env(
        seeded_db,
        BACKUP_DIR=str(backup_dir),
        BACKUP_SCHEDULE="2",
        BACKUP_METRICS_PORT=str(port),
    )
    metrics = backup_dir / "backup.prom"
    proc = subprocess.Popen(
        [str(image_bin / "bash"), str(SCRIPTS / "entrypoint.sh")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        # No backup yet, so one runs at start-up; the scheduled ones follow every 2 seconds.
        wait_for(metrics.exists, deadline, "the start-up backup")
        first = metrics.read_text()
        assert run_script("healthcheck.sh", BACKUP_DIR=str(backup_dir)).returncode == 0
        served = fetch(f"http://127.0.0.1:{port}/metrics", deadline)
        assert served.decode() in (first, metrics.read_text())
        wait_for(lambda: metrics.read_text() != first, deadline, "the scheduled backup")
        assert fetch(f"http://127.0.0.1:{port}/metrics", deadline).decode() == metrics.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 0, stderr
    assert f"scheduler: serving {metrics} at :{port}/metrics\n" in stderr
    assert "scheduler: no backup within 93600s; running one now\n" in stderr
    assert stderr.endswith("scheduler: stopping\n")
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))


@pytest.mark.parametrize(
    ("script", "args"),
    [("entrypoint.sh", ("--next-run", "0")), ("healthcheck.sh", ()), ("backup.sh", ())],
)
def test_scripts_started_with_sh_rerun_themselves_under_bash(script_env, image_bin, script, args):
    # The container may start them as `sh script`; busybox ash lacks the bash features they use.
    env = script_env(BACKUP_DIR="/nonexistent-backups", BACKUP_SCHEDULE="60")
    done = subprocess.run(
        [str(image_bin / "sh"), str(SCRIPTS / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    expected = {
        "entrypoint.sh": (0, "60\n", ""),
        "healthcheck.sh": (1, "unhealthy: no successful backup recorded in ", ""),
        "backup.sh": (
            1,
            "",
            "backup: FAILED: BACKUP_DIR '/nonexistent-backups' is not a directory\n",
        ),
    }[script]
    assert done.returncode == expected[0]
    assert done.stdout.startswith(expected[1])
    assert done.stderr.endswith(expected[2])


def test_entrypoint_refuses_a_backup_dir_it_cannot_write(run_script, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")

    result = run_script("entrypoint.sh", BACKUP_DIR=str(not_a_dir))

    assert result.returncode == 2
    assert result.stderr.endswith(
        f"scheduler: BACKUP_DIR {not_a_dir} is not a directory writable by uid {os.getuid()}; "
        "mount the backup volume where this user may write\n"
    )


def test_entrypoint_refuses_a_metrics_handler_without_its_executable_bit(
    image_bin, script_env, backup_dir, tmp_path
):
    # A copy of the scripts as an upload without modes would leave them.
    copy = tmp_path / "opt-backup"
    copy.mkdir()
    for script in SCRIPTS.glob("*.sh"):
        (copy / script.name).write_text(script.read_text())
        (copy / script.name).chmod(0o644)

    done = subprocess.run(
        [str(image_bin / "bash"), str(copy / "entrypoint.sh")],
        env=script_env(BACKUP_DIR=str(backup_dir), BACKUP_METRICS_PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 2
    assert done.stderr.endswith(
        f"scheduler: {copy}/metrics-http.sh is not executable; upload the scripts with mode 0755\n"
    )
