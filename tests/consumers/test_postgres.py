"""PostgreSQL started with the limit-derived settings of the postgres container, its health check
as Docker runs it, and postgres-exporter pointed at it the way its container is.

All in a network namespace of their own (tests/support/netns.py), so PostgreSQL has its real port
5432 (the health check names no port) and the exporter its real DATA_SOURCE_NAME with host
`postgres`, resolved by a DNS responder at 127.0.0.11 (tests/support/dns.py). The server's
arguments are model/tuning.py's `tuned_command` for the catalogue's postgres spec, as
components/platform.py gives them to the container.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from model.catalogue import AssetFile
from model.tuning import PG_HBA_FILE, tuned_command
from render.alerts import alert_rules
from tests.consumers.conftest import PROBES, container_env, healthcheck_argv, sample, spec
from tests.support.netns import Namespace, namespace
from tests.support.pgnetns import NamespacedPostgres, ServerStartError, start_in_namespace
from tests.support.tools import ROOT, require_binary

pytestmark = [pytest.mark.consumer, pytest.mark.netns, pytest.mark.postgres]

SUITE = "postgres"
MONITORING = {"monitoring_db_role": "postgres_exporter", "monitoring_db_password": "monitor-pw"}


def container_args() -> tuple[str, ...]:
    """The container's command after `postgres` (the image's entrypoint runs `postgres ARGS`)."""
    command = tuned_command(spec("postgres"))
    assert command[0] == "postgres"
    return command[1:]


def server_args() -> tuple[str, ...]:
    """The container's arguments with its hba_file, which the config writer puts in the
    container, read from the asset the catalogue ships there: PostgreSQL parses the real file."""
    asset = ROOT / "assets" / "postgres" / "pg_hba.conf"
    return tuple(
        f"hba_file={asset}" if arg == f"hba_file={PG_HBA_FILE}" else arg for arg in container_args()
    )


def settings(args: tuple[str, ...]) -> dict[str, str]:
    """name -> value of every `-c name=value` pair."""
    assert args[::2] == ("-c",) * (len(args) // 2), args
    return dict(pair.split("=", 1) for pair in args[1::2])


@dataclass
class Platform:
    ns: Namespace
    postgres: NamespacedPostgres
    resolv_conf: Path


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    tmp = tmp_path_factory.mktemp("postgres")
    resolv_conf = tmp / "resolv.conf"
    resolv_conf.write_text("nameserver 127.0.0.11\noptions ndots:0\n")
    with namespace(tmp) as ns:
        ns.start_dns({"postgres": "127.0.0.1"})
        postgres = start_in_namespace(ns, server_args())
        try:
            yield Platform(ns=ns, postgres=postgres, resolv_conf=resolv_conf)
        finally:
            postgres.stop()


def test_the_command_carries_the_limit_derived_settings() -> None:
    assert settings(container_args()) == {
        "max_connections": "40",
        "shared_buffers": "96MB",
        "effective_cache_size": "192MB",
        "work_mem": "2MB",
        "maintenance_work_mem": "24MB",
        "max_worker_processes": "3",
        "max_parallel_workers": "1",
        "max_parallel_workers_per_gather": "0",
        "shared_preload_libraries": "pg_stat_statements",
        "log_min_duration_statement": "500",
        "max_slot_wal_keep_size": "2GB",
        "hba_file": "/etc/postgresql/platform/pg_hba.conf",
    }
    # The config writer ships that file to the postgres container, from this asset.
    files = {f.path: f for f in spec("postgres").files if isinstance(f, AssetFile)}
    assert spec("postgres").config_dir == "/etc/postgresql/platform"
    assert files["pg_hba.conf"].asset == "postgres/pg_hba.conf"


def test_the_shipped_pg_hba_conf_admits_replication_only_for_replication_roles(
    platform: Platform,
) -> None:
    PROBES[SUITE] += 1
    rules = platform.postgres.psql(
        "SELECT type, database, user_name, coalesce(address, ''), auth_method, "
        "coalesce(error, '') FROM pg_hba_file_rules ORDER BY line_number"
    ).splitlines()
    assert rules == [
        "local|{all}|{all}||trust|",
        "host|{replication}|{all}|all|scram-sha-256|",
        "host|{all}|{all}|all|scram-sha-256|",
    ]


def test_every_setting_is_in_force_as_given_on_the_command_line(platform: Platform) -> None:
    for name, value in settings(server_args()).items():
        PROBES[SUITE] += 1
        shown, unit, source = platform.postgres.psql(
            f"SELECT current_setting('{name}'), coalesce(unit, ''), source "
            f"FROM pg_settings WHERE name = '{name}'"
        ).split("|")
        # SHOW prints a plain number with its unit (500 -> 500ms) and sizes as given (96MB).
        assert shown == (value + unit if value.isdigit() and unit in ("ms", "s") else value), name
        # PostgreSQL reports a configuration file's location given on the command line as an
        # "override": it is read before any configuration file.
        assert source == ("override" if name == "hba_file" else "command line"), name


def test_pg_stat_statements_is_loaded(platform: Platform) -> None:
    PROBES[SUITE] += 1
    platform.postgres.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    assert platform.postgres.psql("SELECT count(*) >= 0 FROM pg_stat_statements") == "t"


def test_the_health_check_passes_as_docker_runs_it(platform: Platform) -> None:
    argv = healthcheck_argv(spec("postgres"))
    assert argv == ["pg_isready", "-U", "postgres", "-h", "127.0.0.1"]
    PROBES[SUITE] += 1
    # The container's environment only (no PGPORT), with the server's binaries on PATH.
    env = container_env(spec("postgres"), {"postgres_password": "unused-by-pg-isready"})
    env["PATH"] = f"{platform.postgres.bin}:{env['PATH']}"
    result = platform.ns.run(*argv, env=env)
    assert (result.returncode, result.stdout) == (0, "127.0.0.1:5432 - accepting connections\n")


def test_postgres_refuses_a_planted_bad_value(platform: Platform) -> None:
    """The harness can fail: the same arguments with one value PostgreSQL rejects do not start
    (in a namespace of its own, as 5432 is taken here)."""
    planted = tuple(
        "shared_buffers=96 megabytes" if a.startswith("shared_buffers=") else a
        for a in server_args()
    )
    with namespace(platform.ns.workdir) as other, pytest.raises(ServerStartError) as failure:
        start_in_namespace(other, planted).stop()
    assert 'invalid value for parameter "shared_buffers"' in str(failure.value)


@pytest.fixture(scope="module")
def exporter_metrics(platform: Platform) -> str:
    """postgres-exporter's metrics, run with its container's environment and a login role that is
    a member of pg_monitor, as the Database component creates it."""
    role, password = MONITORING["monitoring_db_role"], MONITORING["monitoring_db_password"]
    platform.postgres.psql(
        f"CREATE ROLE {role} LOGIN PASSWORD '{password}' CONNECTION LIMIT 5; "
        f"GRANT pg_monitor TO {role}"
    )
    exporter = spec("postgres_exporter")
    env = container_env(exporter, MONITORING)
    assert env["DATA_SOURCE_NAME"] == (
        f"postgresql://{role}:{password}@postgres:5432/postgres?sslmode=disable"
    )
    process = platform.ns.start(
        "postgres-exporter",
        require_binary("prometheus-postgres-exporter"),
        *exporter.command,
        env=env,
        binds={"/etc/resolv.conf": platform.resolv_conf},
    )
    platform.ns.wait_for_port("127.0.0.1", exporter.port or 0, process)
    PROBES[SUITE] += 1
    result = platform.ns.run(
        require_binary("curl"), "-sS", f"http://127.0.0.1:{exporter.port}/metrics"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_exporter_reaches_postgres_with_the_containers_environment(
    platform: Platform, exporter_metrics: str
) -> None:
    assert sample(exporter_metrics, "pg_up") == 1
    assert sample(exporter_metrics, "pg_settings_max_connections") == float(
        settings(server_args())["max_connections"]
    )
    PROBES[SUITE] += 1
    check = platform.ns.run(*healthcheck_argv(spec("postgres_exporter")))
    assert check.returncode == 0, check.stderr


def test_every_pg_series_the_alerts_query_is_exported(exporter_metrics: str) -> None:
    wanted = {m for r in alert_rules() for m in re.findall(r"\bpg_[a-z_]+", r.query)}
    assert wanted == {
        "pg_up",
        "pg_stat_database_numbackends",
        "pg_settings_max_connections",
        "pg_stat_activity_max_tx_duration",
    }
    for metric in sorted(wanted):
        assert re.search(rf"^{metric}[ {{]", exporter_metrics, re.MULTILINE), metric
