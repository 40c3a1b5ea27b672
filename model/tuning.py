"""Server settings derived from container limits, so a right-sized container is not OOM-killed.

Each function takes the service's limits and returns the command-line flags or environment that
size the program to them. The formulas follow each project's own sizing guidance, scaled down.
"""

from __future__ import annotations

import math

from model.catalogue import ServiceSpec

PG_HBA_FILE = "/etc/postgresql/platform/pg_hba.conf"
"""The client authentication file the catalogue ships to postgres (assets/postgres/pg_hba.conf):
the image's own allows no replication connections from the network."""


def postgres_flags(memory_mib: int, cpus: float) -> tuple[str, ...]:
    """PostgreSQL memory settings that fit the limit with room for connections and the OS cache.

    shared_buffers 25% of the limit; work_mem sized so every connection sorting at once still fits
    in the remaining half; effective_cache_size tells the planner what the page cache may hold.
    """
    max_connections = 40
    shared_buffers = memory_mib // 4
    maintenance = max(16, memory_mib // 16)
    work_mem = max(1, (memory_mib // 2 - maintenance) // (max_connections * 2))
    workers = max(1, math.ceil(cpus))
    return (
        "-c",
        f"max_connections={max_connections}",
        "-c",
        f"shared_buffers={shared_buffers}MB",
        "-c",
        f"effective_cache_size={memory_mib // 2}MB",
        "-c",
        f"work_mem={work_mem}MB",
        "-c",
        f"maintenance_work_mem={maintenance}MB",
        "-c",
        f"max_worker_processes={workers + 2}",
        "-c",
        f"max_parallel_workers={workers}",
        "-c",
        "max_parallel_workers_per_gather=0",
        "-c",
        "shared_preload_libraries=pg_stat_statements",
        "-c",
        "log_min_duration_statement=500",
        # Point-in-time recovery: the backup container's pg_receivewal streams through a slot;
        # if it stops for long, the server drops the slot rather than fill its disk with WAL
        # (the WalReceiverDown alert fires long before).
        "-c",
        "max_slot_wal_keep_size=2GB",
        "-c",
        f"hba_file={PG_HBA_FILE}",
    )


def redis_maxmemory_mib(memory_mib: int) -> int:
    """Redis data may use 75% of the limit; the rest covers fragmentation, buffers and fork."""
    return memory_mib * 3 // 4


def redis_command(memory_mib: int) -> tuple[str, ...]:
    """Redis with a password, append-only persistence and maxmemory below its container limit.

    volatile-lru evicts only keys with a TTL (cache entries) and never the Celery broker's queues,
    which carry no TTL: a full Redis then refuses writes instead of silently dropping tasks. The
    password is expanded by the shell from the environment, so it is not in the container's argv.
    """
    flags = (
        f"--maxmemory {redis_maxmemory_mib(memory_mib)}mb --maxmemory-policy volatile-lru "
        '--appendonly yes --save ""'
    )
    return ("sh", "-c", f'exec redis-server --requirepass "$REDIS_PASSWORD" {flags}')


def web_workers(cpus: float, memory_mib: int, per_worker_mib: int = 160) -> int:
    """Uvicorn/gunicorn workers: 2 per core plus one, capped by what the memory limit holds."""
    by_cpu = round(2 * cpus) + 1
    by_memory = max(1, (memory_mib - 64) // per_worker_mib)
    return max(1, min(by_cpu, by_memory))


def celery_concurrency(cpus: float, memory_mib: int, per_child_mib: int = 160) -> int:
    """Prefork children: one per half core, capped by memory (the parent takes ~100 MiB)."""
    by_cpu = max(1, math.ceil(cpus * 2))
    by_memory = max(1, (memory_mib - 100) // per_child_mib)
    return min(by_cpu, by_memory)


def airflow_parallelism(cpus: float) -> int:
    """LocalExecutor task slots: two per core, at least two."""
    return max(2, round(cpus * 4))


def tuned_command(spec: ServiceSpec) -> tuple[str, ...]:
    """The service's command with limit-derived flags appended, where its tuning asks for it."""
    match spec.tuning:
        case "postgres":
            return ("postgres", *postgres_flags(spec.memory_mib, spec.cpus))
        case "redis":
            return redis_command(spec.memory_mib)
        case "celery":
            conc = celery_concurrency(spec.cpus, spec.memory_mib)
            return (*spec.command, f"--concurrency={conc}", "--max-memory-per-child=200000")
        case _:
            return spec.command


def tuned_env(spec: ServiceSpec) -> dict[str, str]:
    """Environment derived from limits (worker counts), merged over the catalogue's env."""
    match spec.tuning:
        case "web":
            return {"WEB_CONCURRENCY": str(web_workers(spec.cpus, spec.memory_mib))}
        case "airflow":
            par = airflow_parallelism(spec.cpus)
            return {
                "AIRFLOW__CORE__PARALLELISM": str(par),
                "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(par),
                "AIRFLOW__SCHEDULER__PARSING_PROCESSES": "1",
            }
        case _:
            return {}
