"""Limit-derived server settings."""

import pytest

from model.tuning import (
    airflow_parallelism,
    celery_concurrency,
    postgres_flags,
    redis_command,
    redis_maxmemory_mib,
    web_workers,
)


def flags(memory, cpus=0.75):
    args = postgres_flags(memory, cpus)
    return dict(a.split("=", 1) for a in args[1::2])


def test_postgres_fits_384_mib():
    f = flags(384)
    assert f["shared_buffers"] == "96MB"
    assert f["effective_cache_size"] == "192MB"
    assert f["maintenance_work_mem"] == "24MB"
    assert f["work_mem"] == "2MB"
    # Worst case: shared buffers + maintenance + every connection sorting twice stays under limit.
    worst = 96 + 24 + int(f["max_connections"]) * 2 * 2
    assert worst < 384


def test_redis_maxmemory_below_limit():
    assert redis_maxmemory_mib(128) == 96
    cmd = redis_command(128)
    assert cmd[:2] == ("sh", "-c")
    assert "--maxmemory 96mb --maxmemory-policy volatile-lru" in cmd[2]
    assert cmd[2].startswith('exec redis-server --requirepass "$REDIS_PASSWORD"')


@pytest.mark.parametrize(
    ("cpus", "memory", "expected"),
    [(0.5, 512, 2), (1.0, 1024, 3), (0.25, 256, 1), (2.0, 400, 2)],
)
def test_web_workers_follow_cpu_and_memory(cpus, memory, expected):
    assert web_workers(cpus, memory) == expected


@pytest.mark.parametrize(
    ("cpus", "memory", "expected"),
    [(0.75, 512, 2), (0.5, 384, 1), (2.0, 2048, 4)],
)
def test_celery_concurrency(cpus, memory, expected):
    assert celery_concurrency(cpus, memory) == expected


def test_airflow_parallelism():
    assert airflow_parallelism(0.5) == 2
    assert airflow_parallelism(1.0) == 4
