"""Redis with the redis container's exact command, its health check as Docker runs it, and the
redis exporter pointed at it the way its container is.

All in a network namespace of their own (tests/support/netns.py), so Redis has its real port 6379
and the exporter its real address `redis://redis:6379`, resolved by a DNS responder at
127.0.0.11 (tests/support/dns.py) through the resolv.conf Docker writes. Command, user and
environment come from the catalogue and model/tuning.py, as components/platform.py gives them
to the container, so a change there is tested here.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from model.tuning import redis_maxmemory_mib, tuned_command
from render.alerts import alert_rules
from tests.consumers.conftest import PROBES, container_env, healthcheck_argv, sample, spec
from tests.support.netns import Namespace, Process, namespace
from tests.support.tools import require_binary

pytestmark = [pytest.mark.consumer, pytest.mark.netns]

VALUES = {"redis_password": "test-only-redis-password"}
SUITE = "redis"


def as_container_user(*args: str) -> list[str]:
    """`args` as the container's user (the catalogue's `user`), as Docker runs the command and
    the health check."""
    user = spec("redis").user
    assert user is not None
    setpriv = require_binary("setpriv")
    return [setpriv, f"--reuid={user}", f"--regid={user}", "--init-groups", *args]


@dataclass
class RedisRun:
    ns: Namespace
    redis: Process
    env: dict[str, str]
    data: Path
    resolv_conf: Path

    def config(self, name: str) -> str:
        """A setting as the running server reports it (CONFIG GET)."""
        PROBES[SUITE] += 1
        result = self.ns.run(require_binary("redis-cli"), "config", "get", name, env=self.env)
        assert result.returncode == 0, result.stderr
        key, value = result.stdout.split("\n")[:2]
        assert key == name, result.stdout
        return value


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisRun]:
    require_binary("redis-server")
    tmp = tmp_path_factory.mktemp("redis")
    service = spec("redis")
    env = container_env(service, VALUES)
    # The image's WORKDIR is the data volume, owned by the user the container runs as.
    data = tmp / "data"
    data.mkdir()
    resolv_conf = tmp / "resolv.conf"
    resolv_conf.write_text("nameserver 127.0.0.11\noptions ndots:0\n")
    with namespace(tmp) as ns:
        assert service.user is not None
        shutil.chown(data, service.user, service.user)
        ns.start_dns({"redis": "127.0.0.1"})
        server = ns.start("redis", *as_container_user(*tuned_command(service)), env=env, cwd=data)
        ns.wait_for_port("127.0.0.1", service.port or 0, server)
        yield RedisRun(ns=ns, redis=server, env=env, data=data, resolv_conf=resolv_conf)


def test_the_command_is_the_tuned_one() -> None:
    command = tuned_command(spec("redis"))
    assert command[:2] == ("sh", "-c")
    assert command[2] == (
        'exec redis-server --requirepass "$REDIS_PASSWORD" --maxmemory 96mb '
        '--maxmemory-policy volatile-lru --appendonly yes --save ""'
    )


def test_redis_runs_with_the_settings_the_program_intended(redis: RedisRun) -> None:
    memory = spec("redis").memory_mib
    assert redis.config("maxmemory") == str(redis_maxmemory_mib(memory) * 1024 * 1024)
    assert redis.config("maxmemory-policy") == "volatile-lru"
    assert redis.config("appendonly") == "yes"
    assert redis.config("save") == ""
    assert redis.config("requirepass") == VALUES["redis_password"]
    # Append-only persistence writes into the working directory, the data volume.
    assert (redis.data / "appendonlydir").is_dir()


def test_the_password_is_required_and_not_in_the_process_arguments(redis: RedisRun) -> None:
    PROBES[SUITE] += 1
    anonymous = redis.ns.run(require_binary("redis-cli"), "ping")
    assert "NOAUTH" in anonymous.stdout + anonymous.stderr
    cmdline = Path(f"/proc/{redis.redis.popen.pid}/cmdline").read_bytes()
    assert VALUES["redis_password"].encode() not in cmdline
    assert cmdline.startswith(b"redis-server")


def test_the_health_check_passes_as_docker_runs_it(redis: RedisRun) -> None:
    argv = healthcheck_argv(spec("redis"))
    assert argv == ["/bin/sh", "-c", "redis-cli ping | grep -q PONG"]
    PROBES[SUITE] += 1
    result = redis.ns.run(*as_container_user(*argv), env=redis.env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("auth", [{"REDISCLI_AUTH": "wrong"}, {}])
def test_the_health_check_fails_without_the_right_password(
    redis: RedisRun, auth: dict[str, str]
) -> None:
    env = {k: v for k, v in redis.env.items() if k != "REDISCLI_AUTH"} | auth
    PROBES[SUITE] += 1
    result = redis.ns.run(*as_container_user(*healthcheck_argv(spec("redis"))), env=env)
    assert result.returncode == 1


def test_redis_refuses_a_planted_bad_value(redis: RedisRun) -> None:
    """The harness can fail: the same command with one setting misspelt does not start."""
    sh, flag, line = tuned_command(spec("redis"))
    planted = line.replace("volatile-lru", "volatile-lru-typo")
    PROBES[SUITE] += 1
    result = redis.ns.run(*as_container_user(sh, flag, planted), env=redis.env, cwd=redis.data)
    assert result.returncode == 1
    assert "maxmemory-policy" in result.stdout + result.stderr


def _metrics(redis: RedisRun, port: int) -> str:
    PROBES[SUITE] += 1
    result = redis.ns.run(require_binary("curl"), "-sS", f"http://127.0.0.1:{port}/metrics")
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_exporter_reaches_redis_with_the_containers_environment(redis: RedisRun) -> None:
    exporter = spec("redis_exporter")
    env = container_env(exporter, VALUES)
    assert env["REDIS_ADDR"] == "redis://redis:6379"
    process = redis.ns.start(
        "redis-exporter",
        require_binary("prometheus-redis-exporter"),
        *exporter.command,
        env=env,
        binds={"/etc/resolv.conf": redis.resolv_conf},
    )
    port = exporter.port or 0
    redis.ns.wait_for_port("127.0.0.1", port, process)
    text = _metrics(redis, port)
    assert sample(text, "redis_up") == 1
    maxmemory = redis_maxmemory_mib(spec("redis").memory_mib) * 1024 * 1024
    assert sample(text, "redis_memory_max_bytes") == maxmemory
    # Every redis_* series the alert rules query exists, so no alert is silently empty.
    wanted = {m for r in alert_rules() for m in re.findall(r"\bredis_[a-z_]+", r.query)}
    assert wanted == {"redis_up", "redis_memory_used_bytes", "redis_memory_max_bytes"}
    for metric in wanted:
        assert re.search(rf"^{metric}[ {{]", text, re.MULTILINE), metric
    # The container's health check.
    PROBES[SUITE] += 1
    check = redis.ns.run(*healthcheck_argv(exporter))
    assert check.returncode == 0, check.stderr


def test_the_exporter_reports_redis_down_with_a_wrong_password(redis: RedisRun) -> None:
    exporter = spec("redis_exporter")
    env = container_env(exporter, {"redis_password": "wrong"})
    process = redis.ns.start(
        "redis-exporter-wrong",
        require_binary("prometheus-redis-exporter"),
        "--web.listen-address=:9122",
        env=env,
        binds={"/etc/resolv.conf": redis.resolv_conf},
    )
    redis.ns.wait_for_port("127.0.0.1", 9122, process)
    assert sample(_metrics(redis, 9122), "redis_up") == 0
