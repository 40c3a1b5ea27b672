"""Airflow's start-up path with the pinned Airflow (.venv-airflow) on real PostgreSQL.

The command lines and environment come from the program's recorded containers (the
`airflow-migrate` job and the scheduler), never re-typed. Only the network addresses change:
`postgres:5432` becomes the test server's loopback port and the StatsD host becomes 127.0.0.1,
because the container names resolve only on the platform's Docker network. The image's entrypoint
runs `airflow "$@"` for an Airflow sub-command, so the job's `db migrate` is `airflow db migrate`
here. The health check is the catalogue's own command (curl), run as Docker runs a CMD check.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from commands.offline import PlanResult, run_program
from model.catalogue import catalogue_by_name, wait_timeout_s
from tests.support.postgres import PostgresServer
from tests.support.tools import ROOT, require_binary, unavailable

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.consumer]

AIRFLOW = ROOT / ".venv-airflow" / "bin" / "airflow"
CONTAINER = "docker:index/container:Container"


@pytest.fixture(scope="module")
def airflow_bin() -> Path:
    if not AIRFLOW.exists():
        unavailable("the pinned Airflow is not installed in .venv-airflow (scripts/setup.sh)")
    return AIRFLOW


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    return run_program("prod")


def container(plan: PlanResult, name: str) -> tuple[list[str], dict[str, str]]:
    """(command, environment) of a recorded container, secrets revealed (offline values)."""
    (found,) = [r for r in plan.of_type(CONTAINER) if r.inputs["name"] == name]
    inputs = found.unmasked_inputs()
    env = dict(entry.split("=", 1) for entry in inputs["envs"])
    return list(inputs["command"]), env


@pytest.fixture(scope="module")
def airflow_db(postgres_server: PostgresServer, plan: PlanResult) -> Iterator[str]:
    """An empty `airflow` database owned by the `airflow` role, as the Database component makes
    it, with the password the program gave the container."""
    _, env = container(plan, "investment-airflow-migrate")
    url = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    match = re.fullmatch(r"postgresql\+psycopg2://(\w+):([^@]+)@postgres:5432/(\w+)", url)
    assert match, url
    role, password, database = match.groups()
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {role}")
        conn.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        conn.execute(f"CREATE DATABASE {database} OWNER {role} TEMPLATE template0")
        conn.execute(f"REVOKE CONNECT, TEMP ON DATABASE {database} FROM PUBLIC")
    yield database
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {role}")


def local_env(env: dict[str, str], server: PostgresServer, home: Path) -> dict[str, str]:
    """The container's environment with the network addresses of this machine."""
    local = dict(env)
    local["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = env[
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
    ].replace("@postgres:5432/", f"@127.0.0.1:{server.port}/")
    local["AIRFLOW__METRICS__STATSD_HOST"] = "127.0.0.1"
    # The image's AIRFLOW_HOME is /opt/airflow, its PATH its own.
    local["AIRFLOW_HOME"] = str(home)
    local["PATH"] = os.environ["PATH"]
    return local


def run_airflow(
    airflow: Path, args: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(airflow), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_the_scheduler_needs_the_migration_then_turns_healthy_and_stops_in_its_grace(
    airflow_bin, plan, postgres_server, airflow_db, tmp_path
):
    spec = catalogue_by_name()["airflow"]
    job_command, job_env = container(plan, "investment-airflow-migrate")
    scheduler_command, scheduler_env = container(plan, "investment-airflow")
    assert job_command == ["db", "migrate"]
    assert scheduler_command == ["scheduler"]

    # Without the job, the scheduler refuses the empty database: the defect the job fixes.
    bare = run_airflow(
        airflow_bin, scheduler_command, local_env(scheduler_env, postgres_server, tmp_path / "a")
    )
    assert bare.returncode == 1
    assert "You need to initialize the database" in bare.stdout + bare.stderr

    migrated = run_airflow(
        airflow_bin, job_command, local_env(job_env, postgres_server, tmp_path / "b")
    )
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    assert "Database migrating done!" in migrated.stdout + migrated.stderr

    # The job runs again on every new image or environment: a second run must be harmless.
    again = run_airflow(
        airflow_bin, job_command, local_env(job_env, postgres_server, tmp_path / "b")
    )
    assert again.returncode == 0, again.stderr[-2000:]

    curl = require_binary("curl")
    kind, binary, *check_args = spec.healthcheck.test
    assert (kind, binary) == ("CMD", "curl")
    scheduler = subprocess.Popen(
        [str(airflow_bin), *scheduler_command],
        env=local_env(scheduler_env, postgres_server, tmp_path / "c"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        started = time.monotonic()
        healthy = False
        # `pulumi up` waits this long for the container to turn healthy (wait_timeout).
        while time.monotonic() - started < wait_timeout_s(spec):
            if subprocess.run([curl, *check_args], capture_output=True).returncode == 0:
                healthy = True
                break
            assert scheduler.poll() is None, "the scheduler exited before it turned healthy"
            time.sleep(1)
        assert healthy, f"the health check did not pass within {wait_timeout_s(spec)} s"

        # Docker stops it with SIGTERM and kills it after the catalogue's stop grace.
        stopping = time.monotonic()
        os.killpg(scheduler.pid, signal.SIGTERM)
        scheduler.wait(timeout=spec.stop_grace_s)
        assert time.monotonic() - stopping < spec.stop_grace_s
    finally:
        if scheduler.poll() is None:
            os.killpg(scheduler.pid, signal.SIGKILL)
            scheduler.wait()
