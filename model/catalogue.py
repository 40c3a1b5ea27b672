"""The service catalogue: the one place that says what the platform runs.

Every other part is derived from it: the containers (components/service.py), their start-up order,
the cost allocation (model/cost.py), the Prometheus scrape jobs, dashboards and alerts, the files
generated into each container and the policy pack's expectations. A service declares everything
that makes it special (generated files, host mounts from the stack config, what it provides to the
rest of the platform), so adding a service means adding one `ServiceSpec` to `CATALOGUE`, plus its
files under assets/ if it ships any.

The limits here are the production values. The owner's checklist fixed five of them (postgres
0.75/384 MiB, redis 0.2/128 MiB, backend 0.5/512 MiB, celery_worker 0.75/512 MiB, airflow
0.5/512 MiB, down from 1.0/512, 0.25/150, 1.0/768, 1.0/768 and 1.0/1024); the rest are sized from
each program's idle footprint plus headroom, justified in docs/COST_OPTIMIZATION.md. A stack may
lower a limit (dev does) but never raise it above these.

Health checks name the binary they rely on, because a check whose command is missing from the image
leaves the container unhealthy forever and, with `wait=True`, fails `pulumi up`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from model.base import Frozen as _Frozen
from model.labels import SERVICE_LABEL

Tier = Literal["data", "app", "edge", "monitoring", "exporter", "job"]
AppImage = Literal["backend", "frontend"]
Tuning = Literal["postgres", "redis", "web", "celery", "airflow"]
TlsMode = Literal["letsencrypt", "provided", "none"]
Capability = Literal["database", "app-schema", "metrics-store", "dashboards"]
"""What a service provides to the rest of the platform, so nothing looks a service up by name:
`database` (the Database component manages roles and databases on it, and services depending on
it wait for them), `app-schema` (its init job creates the application's tables, which the search
schema builds on), `metrics-store` (Grafana's data source), `dashboards` (Grafana, provisioned
through its API)."""
RelativePath = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")]
FileMode = Annotated[str, Field(pattern=r"^0[0-7]{3}$")]


class AssetFile(_Frozen):
    """A file shipped as it is, from assets/ (scripts, static config)."""

    kind: Literal["asset"] = "asset"
    path: RelativePath
    """Where it goes, relative to the service's config_dir."""
    asset: RelativePath
    """Its source, relative to assets/."""
    mode: FileMode = "0644"
    """Permission bits: 0755 for scripts run by a non-root user (uploads are owned by root)."""


class TemplateFile(_Frozen):
    """A file from assets/ whose `$name` placeholders are filled from the stack's values (the same
    values as the catalogue's env templates, all validated where they entered)."""

    kind: Literal["template"] = "template"
    path: RelativePath
    """Where it goes, relative to the service's config_dir."""
    template: RelativePath
    """Its source, relative to assets/ (Python string.Template syntax)."""
    mode: FileMode = "0644"
    """Permission bits."""


class RenderedFiles(_Frozen):
    """Files a named renderer of the program builds from the model (nginx.conf, Prometheus' config
    and rules): render/files.py says which names exist."""

    kind: Literal["rendered"] = "rendered"
    renderer: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    """The renderer's name."""


class SecretFile(_Frozen):
    """A file whose content is a secret of the stack (a provided TLS key), written only when the
    stack's TLS mode is `when_tls`."""

    kind: Literal["secret"] = "secret"
    path: RelativePath
    """Where it goes, relative to the service's config_dir."""
    secret: str = Field(pattern=r"^[a-z][A-Za-z0-9]*$")
    """The secret's config key (model.config.SECRET_KEYS)."""
    mode: FileMode = "0600"
    """Permission bits; secrets are readable by their owner only by default."""
    when_tls: TlsMode
    """The TLS mode that needs it."""


GeneratedFile = Annotated[
    AssetFile | TemplateFile | RenderedFiles | SecretFile, Field(discriminator="kind")
]


class ConfigMount(_Frozen):
    """A host directory the stack config names (the off-host backup target), bind-mounted into the
    service when the stack sets it."""

    setting: Literal["backup.offhostDir"]
    """The stack key holding the host path (model/topology.py reads it)."""
    path: str = Field(pattern=r"^/[A-Za-z0-9_./-]+$")
    """Mount point inside the container."""
    read_only: bool = True
    """Read-only unless the service writes there."""


class HealthCheck(_Frozen):
    """A Docker health check and the binary inside the image it depends on."""

    test: tuple[str, ...]
    """Docker's form: ("CMD", binary, args...) or ("CMD-SHELL", "shell line")."""
    relies_on: str
    """The executable the check runs inside the image (documented in docs/DEPLOYMENT.md)."""
    interval_s: int = 30
    """Seconds between checks."""
    timeout_s: int = 5
    """Seconds before one check counts as failed."""
    retries: int = 3
    """Consecutive failures before the container is marked unhealthy."""
    start_period_s: int = 20
    """Grace period after start during which failures do not count."""


class Volume(_Frozen):
    """A named Docker volume mounted into the service."""

    role: str
    """Short name, unique within the service; the volume is named `<prefix>-<service>-<role>`."""
    path: str
    """Mount point inside the container."""
    data: bool = True
    """Data volumes are protected and retained on delete so a replace never loses them."""
    shared_from: str | None = None
    """Mount another service's volume (by that service's name and this role) instead of owning one;
    dropped when that service is not part of the stack."""
    read_only: bool = False
    """Mount read-only."""


class HostMount(_Frozen):
    """A read-only bind mount from the host (only the container metrics exporter needs these)."""

    host_path: str
    """Path on the Docker host."""
    path: str
    """Mount point inside the container."""
    read_only: bool = True
    """Read-only unless the service writes there (the off-host backup copy)."""


class MetricsEndpoint(_Frozen):
    """An HTTP endpoint Prometheus scrapes; each becomes one scrape job."""

    job: str
    """Scrape job name (unique across the catalogue)."""
    port: int
    """Port inside the internal network."""
    path: str = "/metrics"
    """HTTP path of the metrics."""
    interval_s: int | None = None
    """Scrape interval when it differs from the global one (e.g. slow cost metrics)."""


class InitJob(_Frozen):
    """A command run to completion in the service's own image, with its environment, before the
    service starts; `pulumi up` fails when it exits non-zero. It runs again whenever its container
    is replaced (a new image or environment), so an upgrade migrates before the service starts."""

    role: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    """Short name; the container is `<prefix>-<service>-<role>`."""
    command: tuple[str, ...] = Field(min_length=1)
    """Command passed to the image's entrypoint."""
    description: str
    """What it does, shown by `plan` and the docs."""
    timeout_s: int = Field(default=600, gt=0)
    """How long `pulumi up` waits for it to finish."""
    secret_env: dict[str, str] = Field(default_factory=dict)
    """Environment templates (like the service's `secret_env`) that replace the service's own for
    the job: the migrations log in as the owner role, the service as the runtime role."""


class ServiceSpec(_Frozen):
    """One container of the platform, with its production limits and everything derived from it."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """Service name; also its DNS alias on the internal network (with `_` as `-`)."""
    description: str
    """What it does, shown by `plan`."""
    tier: Tier
    """Grouping for dashboards, cost reports and policies."""
    image: str | None = None
    """Pinned image `repo:tag`; None for application images, which each stack sets."""
    app_image: AppImage | None = None
    """Which per-stack application image this service runs, when `image` is None."""
    cpus: Annotated[float, Field(gt=0), AfterValidator(check_cpus)]
    """CPU limit (cores) in production; one that reads back unchanged from Docker."""
    memory_mib: int = Field(gt=0)
    """Memory limit (MiB) in production."""
    min_memory_mib: int = Field(gt=0)
    """Floor below which the program cannot run; a stack may not set less."""
    port: int | None = None
    """Main port inside the network, if it serves one."""
    command: tuple[str, ...] = ()
    """Command override; empty keeps the image's default."""
    entrypoint: tuple[str, ...] = ()
    """Entrypoint override; empty keeps the image's default."""
    config_dir: str | None = None
    """Where the service reads its generated `files`: a small volume of its own, mounted
    read-only, which a one-shot config writer fills (components/service.py)."""
    files: tuple[GeneratedFile, ...] = ()
    """The files generated into config_dir for this service."""
    env: dict[str, str] = Field(default_factory=dict)
    """Plain, non-secret environment."""
    secret_env: dict[str, str] = Field(default_factory=dict)
    """Environment built from secrets: values are `str.format` templates over secret names."""
    healthcheck: HealthCheck
    """How Docker knows it is healthy; dependants wait for it."""
    depends_on: tuple[str, ...] = ()
    """Services that must be healthy before this one starts."""
    volumes: tuple[Volume, ...] = ()
    """Named volumes."""
    host_mounts: tuple[HostMount, ...] = ()
    """Read-only host bind mounts."""
    config_mounts: tuple[ConfigMount, ...] = ()
    """Host directories the stack config may name, mounted when it does."""
    provides: tuple[Capability, ...] = ()
    """What the service provides to the rest of the platform (see `Capability`)."""
    metrics: tuple[MetricsEndpoint, ...] = ()
    """Prometheus endpoints this service exposes."""
    read_only_rootfs: bool = True
    """Read-only root filesystem; writable paths come from volumes and tmpfs."""
    writable_rootfs_reason: str | None = None
    """Why the root filesystem must stay writable, when it must."""
    tmpfs: tuple[str, ...] = ()
    """Paths mounted as tmpfs (needed with a read-only root filesystem)."""
    cap_add: tuple[Annotated[str, Field(pattern=r"^CAP_[A-Z_]+$")], ...] = ()
    """Capabilities added back after dropping ALL, as Docker stores them (`CAP_CHOWN`): the Docker
    client upper-cases and prefixes them before it sends them, and the provider's `capabilities`
    forces a replacement, so any other spelling would replace the container on every up."""
    privileged: bool = False
    """Only the container metrics exporter may be privileged (policy allow-list)."""
    user: str | None = None
    """User to run as, when the image's default is root and need not be."""
    tuning: Tuning | None = None
    """Which limit-derived server settings apply (model/tuning.py)."""
    public: bool = False
    """Publishes ports on the host (only the edge proxy)."""
    route: str | None = None
    """URL path prefix nginx proxies to this service's `port` (None: not routed)."""
    login_paths: tuple[str, ...] = ()
    """Public URL paths (under `route`) that take passwords: nginx rate-limits them harder than
    the rest of the service, against password guessing."""
    requires_tls: Literal["letsencrypt"] | None = None
    """Part of the stack only when its TLS mode is this one."""
    requires_setting: Literal["backup.offsite"] | None = None
    """Part of the stack only when the stack config sets this key."""
    stop_grace_s: int = Field(gt=0, le=300)
    """Seconds between SIGTERM (or the image's STOPSIGNAL) and SIGKILL when the container is
    stopped: by a replace or destroy (the provider's destroy_grace_seconds, which is 0 when unset)
    and by `docker stop` or a host reboot (the container's StopTimeout). Long enough for a clean
    shutdown: PostgreSQL's checkpoint, Redis's final AOF fsync, Celery's running tasks."""
    init: InitJob | None = None
    """A one-shot command that must succeed before the service starts (schema migrations)."""
    fixed_address: int | None = Field(default=None, ge=2, le=63)
    """Index of a fixed address in the internal subnet's lower half, for services that `pulumi
    up` reaches directly through its SSH tunnel (PostgreSQL, Grafana's API); others get an
    address from the upper half."""

    @model_validator(mode="after")
    def _files_need_a_config_dir(self) -> ServiceSpec:
        if bool(self.files) != bool(self.config_dir):
            raise ValueError(
                f"{self.name}: generated files and config_dir go together (files: "
                f"{len(self.files)}, config_dir: {self.config_dir or 'none'})"
            )
        return self


def docker_cpus(cpus: float) -> str:
    """A CPU limit as the docker provider writes it back into the state after reading the
    container (nanoInt64ToDecimalString in kreuzwerker/terraform-provider-docker
    internal/provider/helpers.go): 9 decimals, trailing zeros trimmed, except that a value whose
    text has exactly nine zeros is printed with one decimal, rounded (0.05 -> "0.1", 1 -> "1.0").

    The program sends this very string, and refuses limits it would change: `cpus` forces a
    replacement, so a limit that reads back differently would replace the container on every up.
    """
    nanos = round(cpus * 1_000_000_000)
    if nanos == 0:
        return "0"
    whole, fraction = divmod(nanos, 1_000_000_000)
    text = f"{whole}.{fraction:09d}"
    if text.count("0") == 9:
        # big.Rat.FloatString(1): to the nearest tenth, halves away from zero.
        tenths = (nanos * 10 + 500_000_000) // 1_000_000_000
        return f"{tenths // 10}.{tenths % 10}"
    return text.rstrip("0")


def check_cpus(cpus: float) -> float:
    """`cpus` if Docker's read-back keeps it, else ValueError naming the value it would become."""
    text = docker_cpus(cpus)
    if float(text) != cpus:
        raise ValueError(
            f"{cpus:g} CPUs would read back from Docker as {text} and replace the container on "
            "every `pulumi up`; use a multiple of 0.1, or two decimals from 0.11 up"
        )
    return cpus


def _http_wget(url: str, **kwargs: int) -> HealthCheck:
    """Busybox/GNU wget check: present in Alpine and busybox-based images."""
    return HealthCheck(
        test=("CMD", "wget", "-q", "--spider", "-T", "4", url), relies_on="wget", **kwargs
    )


def _http_python(url: str, **kwargs: int) -> HealthCheck:
    """HTTP check via the image's own Python (app images are Python; they need not ship curl)."""
    code = f"import urllib.request; urllib.request.urlopen({url!r}, timeout=4)"
    return HealthCheck(test=("CMD", "python", "-c", code), relies_on="python", **kwargs)


_PG_IMAGE = "postgres:15.13-alpine"
CONFIG_WRITER_IMAGE = "busybox:1.37.0"
"""The one-shot config writers' image (components/service.py): only sh, rm, cp, find are needed."""

CATALOGUE: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        name="postgres",
        description="Main database, also the stock search engine (replaces Elasticsearch)",
        tier="data",
        image=_PG_IMAGE,
        cpus=0.75,
        memory_mib=384,
        min_memory_mib=256,
        port=5432,
        env={"POSTGRES_USER": "postgres", "POSTGRES_DB": "postgres", "PGDATA": "/data/pgdata"},
        # model/tuning.py points hba_file here: the image's pg_hba.conf plus replication
        # connections, which the backup role's pg_receivewal and pg_basebackup need.
        config_dir="/etc/postgresql/platform",
        files=(AssetFile(path="pg_hba.conf", asset="postgres/pg_hba.conf"),),
        secret_env={"POSTGRES_PASSWORD": "{postgres_password}"},
        healthcheck=HealthCheck(
            test=("CMD", "pg_isready", "-U", "postgres", "-h", "127.0.0.1"),
            relies_on="pg_isready",
            interval_s=10,
            start_period_s=30,
        ),
        volumes=(Volume(role="data", path="/data"),),
        read_only_rootfs=True,
        tmpfs=("/var/run/postgresql", "/tmp"),
        tuning="postgres",
        fixed_address=10,
        provides=("database",),
        # The entrypoint chowns PGDATA and drops to the postgres user with su-exec.
        cap_add=("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_SETGID", "CAP_SETUID"),
        # SIGINT (the image's STOPSIGNAL) is a fast shutdown: it aborts sessions and writes a
        # checkpoint, which at this size takes seconds; a minute covers a slow disk.
        stop_grace_s=60,
    ),
    ServiceSpec(
        name="redis",
        description="Cache and Celery broker",
        tier="data",
        image="redis:7.4.2-alpine",
        cpus=0.2,
        memory_mib=128,
        min_memory_mib=64,
        port=6379,
        secret_env={"REDISCLI_AUTH": "{redis_password}", "REDIS_PASSWORD": "{redis_password}"},
        healthcheck=HealthCheck(
            test=("CMD-SHELL", "redis-cli ping | grep -q PONG"),
            relies_on="redis-cli",
            interval_s=10,
        ),
        volumes=(Volume(role="data", path="/data"),),
        tuning="redis",
        # The command runs through sh (to keep the password out of argv), which skips the image
        # entrypoint's switch to the redis user, so name the user here.
        user="redis",
        # On SIGTERM Redis fsyncs the append-only file before it exits.
        stop_grace_s=30,
    ),
    ServiceSpec(
        name="backend",
        description="FastAPI API behind nginx at /api",
        tier="app",
        app_image="backend",
        cpus=0.5,
        memory_mib=512,
        min_memory_mib=256,
        port=8000,
        env={"PORT": "8000", "REDIS_HOST": "redis", "POSTGRES_HOST": "postgres"},
        secret_env={
            "DATABASE_URL": (
                "postgresql://{app_db_role}:{app_db_password}@postgres:5432/{app_db_name}"
            ),
            "REDIS_URL": "redis://:{redis_password}@redis:6379/0",
            "CELERY_BROKER_URL": "redis://:{redis_password}@redis:6379/1",
            "SECRET_KEY": "{app_secret_key}",
        },
        healthcheck=_http_python("http://127.0.0.1:8000/api/health", start_period_s=40),
        # The application's migrations create and alter its tables, so they run as the owner role;
        # the backend itself logs in as the runtime role, which may only read and write rows. The
        # image provides Alembic with its migrations (docs/DEPLOYMENT.md, "Application images").
        init=InitJob(
            role="migrate",
            command=("alembic", "upgrade", "head"),
            description="Creates or upgrades the application's tables as the owner role",
            secret_env={
                "DATABASE_URL": (
                    "postgresql://{owner_db_role}:{owner_db_password}@postgres:5432/{app_db_name}"
                ),
            },
        ),
        depends_on=("postgres", "redis"),
        provides=("app-schema",),
        metrics=(
            MetricsEndpoint(job="backend", port=8000, path="/api/metrics"),
            MetricsEndpoint(job="cost", port=8000, path="/api/metrics/cost", interval_s=300),
        ),
        tmpfs=("/tmp",),
        tuning="web",
        route="/api/",
        # Only the password endpoint: session checks and token refreshes under /api/auth/ must
        # not share its 6-per-minute budget.
        login_paths=("/api/auth/login",),
        # Uvicorn/gunicorn finish in-flight requests on SIGTERM (gunicorn's graceful timeout: 30 s).
        stop_grace_s=30,
    ),
    ServiceSpec(
        name="celery_worker",
        description="Celery background jobs (sends task events for the exporter)",
        tier="app",
        app_image="backend",
        cpus=0.75,
        memory_mib=512,
        min_memory_mib=256,
        command=("celery", "-A", "app.worker", "worker", "--task-events", "--loglevel=INFO"),
        secret_env={
            "DATABASE_URL": (
                "postgresql://{app_db_role}:{app_db_password}@postgres:5432/{app_db_name}"
            ),
            "CELERY_BROKER_URL": "redis://:{redis_password}@redis:6379/1",
            "SECRET_KEY": "{app_secret_key}",
        },
        healthcheck=HealthCheck(
            test=(
                "CMD-SHELL",
                'celery -A app.worker inspect ping --timeout 10 -d "celery@$HOSTNAME"',
            ),
            relies_on="celery",
            interval_s=60,
            timeout_s=20,
            start_period_s=60,
        ),
        depends_on=("postgres", "redis"),
        tmpfs=("/tmp",),
        tuning="celery",
        # A warm shutdown waits for running tasks to finish before the worker exits.
        stop_grace_s=120,
    ),
    ServiceSpec(
        name="celery_beat",
        description="Celery scheduler",
        tier="app",
        app_image="backend",
        cpus=0.1,
        memory_mib=160,
        min_memory_mib=96,
        command=(
            "celery",
            "-A",
            "app.worker",
            "beat",
            "--schedule=/var/lib/celery/beat-schedule",
            "--loglevel=INFO",
        ),
        secret_env={"CELERY_BROKER_URL": "redis://:{redis_password}@redis:6379/1"},
        # Beat's persistent scheduler syncs its schedule file at least every 3 minutes while it
        # ticks; a file older than 10 minutes means the loop is stuck, which a PID check misses.
        healthcheck=HealthCheck(
            test=(
                "CMD",
                "python",
                "-c",
                "import glob,os,sys,time; f=glob.glob('/var/lib/celery/beat-schedule*'); "
                "sys.exit(0 if f and time.time()-max(map(os.path.getmtime,f))<600 else 1)",
            ),
            relies_on="python",
            interval_s=60,
            start_period_s=60,
        ),
        depends_on=("redis",),
        volumes=(Volume(role="schedule", path="/var/lib/celery", data=False),),
        tmpfs=("/tmp",),
        stop_grace_s=15,
    ),
    ServiceSpec(
        name="airflow",
        description="Airflow scheduler (LocalExecutor) for the data pipelines",
        tier="app",
        image="apache/airflow:2.10.5-python3.11",
        cpus=0.5,
        memory_mib=512,
        min_memory_mib=384,
        port=8974,
        command=("scheduler",),
        # The scheduler refuses an empty metadata database ("You need to initialize the
        # database"); the image's entrypoint runs `airflow db migrate` for this command, which is
        # idempotent and upgrades the schema after a new image.
        init=InitJob(
            role="migrate",
            command=("db", "migrate"),
            description="Creates or upgrades Airflow's metadata database",
        ),
        env={
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": "8974",
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "statsd-exporter",
            "AIRFLOW__METRICS__STATSD_PORT": "9125",
        },
        secret_env={
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
                "postgresql+psycopg2://{airflow_db_role}:{airflow_db_password}"
                "@postgres:5432/{airflow_db_name}"
            ),
        },
        healthcheck=HealthCheck(
            test=("CMD", "curl", "--fail", "--silent", "http://127.0.0.1:8974/health"),
            relies_on="curl",
            interval_s=30,
            start_period_s=90,
        ),
        depends_on=("postgres",),
        volumes=(Volume(role="logs", path="/opt/airflow/logs"),),
        read_only_rootfs=False,
        writable_rootfs_reason=(
            "Airflow writes pid files, compiled DAG caches and its airflow.cfg under $AIRFLOW_HOME"
        ),
        tuning="airflow",
        # dumb-init passes SIGTERM to the process group; the scheduler stopped in 3.1-3.4 s in
        # tests/consumers/test_airflow.py's setting; a minute leaves room for running tasks.
        stop_grace_s=60,
    ),
    ServiceSpec(
        name="prometheus",
        description="Metrics store and alert evaluation",
        tier="monitoring",
        image="prom/prometheus:v2.53.4",
        cpus=0.25,
        memory_mib=320,
        min_memory_mib=192,
        port=9090,
        config_dir="/etc/prometheus",
        files=(RenderedFiles(renderer="prometheus"),),
        provides=("metrics-store",),
        command=(
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=15d",
            "--storage.tsdb.retention.size=2GB",
            "--web.enable-lifecycle",
        ),
        healthcheck=_http_wget("http://127.0.0.1:9090/-/healthy"),
        volumes=(Volume(role="data", path="/prometheus"),),
        metrics=(MetricsEndpoint(job="prometheus", port=9090),),
        # Prometheus closes the TSDB head on SIGTERM; cut short, it replays the WAL at start.
        stop_grace_s=60,
    ),
    ServiceSpec(
        name="grafana",
        description="Dashboards and alerting",
        tier="monitoring",
        image="grafana/grafana:11.6.0",
        cpus=0.25,
        memory_mib=256,
        min_memory_mib=160,
        port=3000,
        env={
            "GF_SERVER_ROOT_URL": "{public_url}/grafana/",
            "GF_SERVER_SERVE_FROM_SUB_PATH": "true",
            "GF_ANALYTICS_REPORTING_ENABLED": "false",
            "GF_USERS_ALLOW_SIGN_UP": "false",
            "GF_SMTP_ENABLED": "{smtp_enabled}",
            "GF_SMTP_HOST": "{smtp_host}",
            "GF_SMTP_USER": "{smtp_user}",
            "GF_SMTP_FROM_ADDRESS": "{smtp_from}",
        },
        secret_env={
            "GF_SECURITY_ADMIN_PASSWORD": "{grafana_admin_password}",
            "GF_SMTP_PASSWORD": "{smtp_password}",
        },
        healthcheck=_http_wget("http://127.0.0.1:3000/api/health"),
        depends_on=("prometheus",),
        volumes=(Volume(role="data", path="/var/lib/grafana"),),
        metrics=(MetricsEndpoint(job="grafana", port=3000),),
        tmpfs=("/tmp",),
        route="/grafana/",
        login_paths=("/grafana/login",),
        fixed_address=11,
        provides=("dashboards",),
        stop_grace_s=30,
    ),
    ServiceSpec(
        name="frontend",
        description="Web UI (static build served by nginx-unprivileged on 8080)",
        tier="app",
        app_image="frontend",
        cpus=0.1,
        memory_mib=64,
        min_memory_mib=32,
        port=8080,
        healthcheck=_http_wget("http://127.0.0.1:8080/"),
        tmpfs=("/tmp", "/var/cache/nginx"),
        route="/",
        stop_grace_s=15,
    ),
    ServiceSpec(
        name="certbot",
        description="Obtains and renews the Let's Encrypt certificate through nginx's webroot",
        tier="edge",
        image="certbot/certbot:v3.3.0",
        cpus=0.1,
        memory_mib=96,
        min_memory_mib=64,
        entrypoint=("/bin/sh", "/opt/platform/certbot-loop.sh"),
        config_dir="/opt/platform",
        files=(AssetFile(path="certbot-loop.sh", asset="certbot/certbot-loop.sh", mode="0755"),),
        env={"DOMAIN": "{domain}", "LETSENCRYPT_EMAIL": "{letsencrypt_email}"},
        # Healthy while a certificate (placeholder or real) is valid for another 7 days: a renewal
        # that keeps failing turns the container unhealthy a week before browsers would complain.
        healthcheck=HealthCheck(
            test=(
                "CMD-SHELL",
                "openssl x509 -checkend 604800 -noout "
                '-in "/etc/letsencrypt/live/$DOMAIN/fullchain.pem"',
            ),
            relies_on="openssl",
            interval_s=300,
            start_period_s=30,
        ),
        volumes=(
            Volume(role="certs", path="/etc/letsencrypt"),
            Volume(role="webroot", path="/var/www/certbot", data=False),
        ),
        tmpfs=("/tmp", "/var/lib/letsencrypt", "/var/log/letsencrypt"),
        requires_tls="letsencrypt",
        stop_grace_s=15,
    ),
    ServiceSpec(
        name="nginx",
        description="The only public entry: TLS, / to frontend, /api to backend, /grafana/",
        tier="edge",
        image="nginx:1.27.4-alpine",
        cpus=0.25,
        memory_mib=64,
        min_memory_mib=32,
        port=443,
        # Reloads itself when the certificate file changes (certbot renews it in another
        # container); the config comes from the generated file in config_dir.
        command=(
            "sh",
            "-c",
            'cert="$TLS_CERT_FILE"; (last=""; while sleep 60; do '
            'now=$(stat -L -c %Y "$cert" 2>/dev/null || echo 0); '
            '[ -n "$last" ] && [ "$now" != "$last" ] && nginx -c /etc/nginx/generated/nginx.conf '
            "-s reload; last=$now; done) & "
            'exec nginx -c /etc/nginx/generated/nginx.conf -g "daemon off;"',
        ),
        env={"TLS_CERT_FILE": "{tls_cert_file}"},
        config_dir="/etc/nginx/generated",
        files=(
            RenderedFiles(renderer="nginx"),
            SecretFile(
                path="tls/tls.crt", secret="tlsCertificate", mode="0644", when_tls="provided"
            ),
            SecretFile(path="tls/tls.key", secret="tlsPrivateKey", when_tls="provided"),
        ),
        healthcheck=_http_wget("http://127.0.0.1:8081/healthz", interval_s=15),
        depends_on=("backend", "frontend", "grafana", "certbot"),
        volumes=(
            Volume(role="certs", path="/etc/letsencrypt", shared_from="certbot", read_only=True),
            Volume(role="webroot", path="/var/www/certbot", shared_from="certbot", read_only=True),
        ),
        tmpfs=("/var/cache/nginx", "/var/run", "/tmp"),
        # The master process binds 80/443 and switches workers to the nginx user.
        cap_add=("CAP_CHOWN", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"),
        public=True,
        # The image's STOPSIGNAL is SIGQUIT: a graceful stop that lets open requests finish.
        stop_grace_s=30,
    ),
    ServiceSpec(
        name="backup",
        description=(
            "Scheduled pg_dump with retention, continuous WAL streaming and daily base backups "
            "for point-in-time recovery; serves their metrics"
        ),
        tier="job",
        image=_PG_IMAGE,
        cpus=0.25,
        memory_mib=128,
        min_memory_mib=64,
        port=9188,
        command=("/bin/sh", "/opt/backup/entrypoint.sh"),
        config_dir="/opt/backup",
        # 0755: the job runs as uid 70 and the uploads belong to root.
        files=tuple(
            AssetFile(path=script, asset=f"backup/{script}", mode="0755")
            for script in (
                "entrypoint.sh",
                "backup.sh",
                "restore.sh",
                "healthcheck.sh",
                "metrics-http.sh",
                "pitr.sh",
            )
        ),
        config_mounts=(ConfigMount(setting="backup.offhostDir", path="/offhost", read_only=False),),
        env={
            "PGHOST": "postgres",
            "PGPORT": "5432",
            # The application's database (components/database.py), the name compose used.
            "PGDATABASE": "investment_db",
            # The image owns this path as uid 70 (and declares it a VOLUME): a new named volume
            # mounted here inherits that owner, so the non-root job can write its dumps.
            "BACKUP_DIR": "/var/lib/postgresql/data",
            "BACKUP_SCHEDULE": "{backup_schedule}",
            "BACKUP_KEEP_DAILY": "{backup_keep_daily}",
            "BACKUP_KEEP_WEEKLY": "{backup_keep_weekly}",
            "BACKUP_OFFHOST_DIR": "{backup_offhost_dir}",
            # Same 26 h as the BackupTooOld alert: one missed daily run plus slack.
            "BACKUP_MAX_AGE_SECONDS": "93600",
            "BACKUP_METRICS_PORT": "9188",
            # Point-in-time recovery (assets/backup/pitr.sh): pg_receivewal streams into
            # BACKUP_DIR/pitr/wal, a base backup follows each scheduled pg_dump.
            "PITR_ENABLED": "1",
            "PITR_KEEP_BASE": "{backup_keep_base}",
            # Served beside backup.prom: pitr.sh's file and the off-site container's.
            "BACKUP_METRICS_EXTRA": (
                "/var/lib/postgresql/data/pitr.prom /var/lib/postgresql/data/offsite.prom"
            ),
        },
        # pg_dump logs in as the read-only backup role (pg_read_all_data); a restore needs the
        # superuser's credentials, which the operator passes in (docs/DISASTER_RECOVERY.md).
        secret_env={"PGUSER": "{backup_db_role}", "PGPASSWORD": "{backup_db_password}"},
        healthcheck=HealthCheck(
            test=("CMD", "/bin/sh", "/opt/backup/healthcheck.sh"),
            relies_on="bash (the postgres alpine image ships it) and busybox awk/date",
            interval_s=300,
            start_period_s=120,
        ),
        depends_on=("postgres",),
        volumes=(Volume(role="data", path="/var/lib/postgresql/data"),),
        metrics=(MetricsEndpoint(job="backup", port=9188, interval_s=300),),
        tmpfs=("/tmp",),
        user="70:70",
        # A dump that is cut short leaves only a .partial file, but let a running one finish.
        stop_grace_s=60,
    ),
    ServiceSpec(
        name="offsite",
        description="Encrypted off-site copy of the PITR repository (restic to S3)",
        tier="job",
        # The tag the tests run (Debian's restic 0.14.0 reads and writes the same repository
        # format, version 2); digest-pin it with the tag, as docs/DISASTER_RECOVERY.md shows.
        image="restic/restic:0.14.0",
        cpus=0.25,
        memory_mib=256,
        min_memory_mib=128,
        entrypoint=("/bin/sh", "/opt/offsite/offsite.sh"),
        command=("loop",),
        config_dir="/opt/offsite",
        files=(AssetFile(path="offsite.sh", asset="backup/offsite.sh", mode="0755"),),
        env={
            "RESTIC_REPOSITORY": "{offsite_repository}",
            "PITR_DIR": "/backup/pitr",
            "OFFSITE_INTERVAL_SECONDS": "{offsite_interval_seconds}",
            "OFFSITE_KEEP_DAYS": "{offsite_keep_days}",
            "OFFSITE_METRICS_FILE": "/backup/offsite.prom",
            "RESTIC_CACHE_DIR": "/tmp/restic-cache",
        },
        secret_env={
            "RESTIC_PASSWORD": "{offsite_encryption_key}",
            "AWS_ACCESS_KEY_ID": "{offsite_access_key_id}",
            "AWS_SECRET_ACCESS_KEY": "{offsite_secret_access_key}",
        },
        # Healthy while the last sync is younger than 20 minutes (the OffsiteSyncTooOld alert's
        # threshold): busybox find prints the file only when it was modified since then.
        healthcheck=HealthCheck(
            test=("CMD-SHELL", "find /backup/offsite.prom -mmin -20 | grep -q ."),
            relies_on="busybox find and grep (the restic image is alpine)",
            interval_s=300,
            start_period_s=600,
        ),
        depends_on=("backup",),
        # The backup volume, where pitr.sh keeps its repository and the backup container serves
        # the metrics file this writes.
        volumes=(Volume(role="data", path="/backup", shared_from="backup"),),
        tmpfs=("/tmp",),
        user="70:70",
        requires_setting="backup.offsite",
        # A sync cut short leaves an unreferenced pack that the next prune removes.
        stop_grace_s=30,
    ),
    ServiceSpec(
        name="postgres_exporter",
        description="PostgreSQL metrics (monitoring role in pg_monitor)",
        tier="exporter",
        image="quay.io/prometheuscommunity/postgres-exporter:v0.17.1",
        cpus=0.1,
        memory_mib=48,
        min_memory_mib=24,
        port=9187,
        secret_env={
            "DATA_SOURCE_NAME": (
                "postgresql://{monitoring_db_role}:{monitoring_db_password}@postgres:5432/postgres"
                "?sslmode=disable"
            ),
        },
        healthcheck=_http_wget("http://127.0.0.1:9187/metrics"),
        depends_on=("postgres",),
        metrics=(MetricsEndpoint(job="postgres", port=9187),),
        stop_grace_s=10,
    ),
    ServiceSpec(
        name="redis_exporter",
        description="Redis metrics (the -alpine variant: the default image is FROM scratch)",
        tier="exporter",
        image="oliver006/redis_exporter:v1.67.0-alpine",
        # 0.05 would read back from Docker as "0.1" (docker_cpus), replacing it on every up.
        cpus=0.1,
        memory_mib=32,
        min_memory_mib=16,
        port=9121,
        env={"REDIS_ADDR": "redis://redis:6379"},
        secret_env={"REDIS_PASSWORD": "{redis_password}"},
        healthcheck=_http_wget("http://127.0.0.1:9121/health"),
        depends_on=("redis",),
        metrics=(MetricsEndpoint(job="redis", port=9121),),
        stop_grace_s=10,
    ),
    ServiceSpec(
        name="celery_exporter",
        description="Celery queue and task metrics (replaces scraping celery_worker:9540)",
        tier="exporter",
        image="danihodovic/celery-exporter:0.10.14",
        cpus=0.1,
        memory_mib=96,
        min_memory_mib=64,
        port=9808,
        secret_env={"CE_BROKER_URL": "redis://:{redis_password}@redis:6379/1"},
        healthcheck=_http_python("http://127.0.0.1:9808/health"),
        depends_on=("redis",),
        metrics=(MetricsEndpoint(job="celery", port=9808),),
        stop_grace_s=10,
    ),
    ServiceSpec(
        name="nginx_exporter",
        description="nginx stub_status metrics",
        tier="exporter",
        image="nginx/nginx-prometheus-exporter:1.4.1",
        # 0.05 would read back from Docker as "0.1" (docker_cpus), replacing it on every up.
        cpus=0.1,
        memory_mib=24,
        min_memory_mib=16,
        port=9113,
        command=("--nginx.scrape-uri=http://nginx:8081/stub_status",),
        healthcheck=HealthCheck(
            # The image is FROM scratch: no shell, no wget. The exporter binary is the only
            # executable, and `--version` proves it can start; liveness of the HTTP side is
            # covered by Prometheus' `up` for this job and its TargetDown alert.
            test=("CMD", "/usr/bin/nginx-prometheus-exporter", "--version"),
            relies_on="nginx-prometheus-exporter",
        ),
        depends_on=("nginx",),
        metrics=(MetricsEndpoint(job="nginx", port=9113),),
        stop_grace_s=10,
    ),
    ServiceSpec(
        name="cadvisor",
        description="Container metrics: memory vs limit, CPU throttling, OOM kills",
        tier="exporter",
        image="gcr.io/cadvisor/cadvisor:v0.49.1",
        cpus=0.2,
        memory_mib=160,
        min_memory_mib=96,
        port=8080,
        command=(
            "--docker_only=true",
            "--housekeeping_interval=30s",
            "--store_container_labels=false",
            f"--whitelisted_container_labels={SERVICE_LABEL}",
            # Setting the flag replaces cAdvisor's default list, so name everything left off.
            "--disable_metrics=percpu,sched,tcp,udp,disk,diskIO,hugetlb,referenced_memory,advtcp,"
            "cpu_topology,cpuset,memory_numa,process,resctrl",
        ),
        healthcheck=_http_wget("http://127.0.0.1:8080/healthz"),
        host_mounts=(
            HostMount(host_path="/", path="/rootfs"),
            HostMount(host_path="/var/run", path="/var/run"),
            HostMount(host_path="/sys", path="/sys"),
            HostMount(host_path="/var/lib/docker", path="/var/lib/docker"),
        ),
        metrics=(MetricsEndpoint(job="cadvisor", port=8080),),
        privileged=True,
        read_only_rootfs=False,
        writable_rootfs_reason="cAdvisor needs privileged access to read every container's cgroups",
        stop_grace_s=10,
    ),
    ServiceSpec(
        name="statsd_exporter",
        description="Turns Airflow's StatsD metrics into Prometheus metrics",
        tier="exporter",
        image="prom/statsd-exporter:v0.28.0",
        # 0.05 would read back from Docker as "0.1" (docker_cpus), replacing it on every up.
        cpus=0.1,
        memory_mib=32,
        min_memory_mib=16,
        port=9102,
        healthcheck=_http_wget("http://127.0.0.1:9102/metrics"),
        metrics=(MetricsEndpoint(job="airflow", port=9102),),
        stop_grace_s=10,
    ),
)


def catalogue_by_name(catalogue: tuple[ServiceSpec, ...] | None = None) -> dict[str, ServiceSpec]:
    """Index the catalogue (CATALOGUE unless given) by service name."""
    return {spec.name: spec for spec in (CATALOGUE if catalogue is None else catalogue)}


def dns_name(service: str) -> str:
    """The service's host name on the internal network (Docker aliases allow no underscores in TLS
    names, and nginx upstreams read better with dashes)."""
    return service.replace("_", "-")


def container_name(prefix: str, service: str) -> str:
    """Host name of a service's container."""
    return f"{prefix}-{dns_name(service)}"


def volume_name(prefix: str, service: str, role: str) -> str:
    """Host name of a service's volume."""
    return f"{prefix}-{dns_name(service)}-{role}"


def wait_timeout_s(spec: ServiceSpec) -> int:
    """How long `pulumi up` waits for the container to turn healthy before failing: the start
    period, then every retry's interval and timeout, plus 30 s."""
    hc = spec.healthcheck
    return hc.start_period_s + hc.retries * (hc.interval_s + hc.timeout_s) + 30


class CatalogueError(ValueError):
    """The catalogue itself is inconsistent (unknown dependency, cycle)."""


def start_order(specs: Sequence[ServiceSpec]) -> list[ServiceSpec]:
    """Services sorted so each comes after everything it depends on (stable, catalogue order)."""
    by_name = {s.name: s for s in specs}
    ordered: list[ServiceSpec] = []
    state: dict[str, str] = {}

    def visit(spec: ServiceSpec, path: tuple[str, ...]) -> None:
        if state.get(spec.name) == "done":
            return
        if state.get(spec.name) == "visiting":
            raise CatalogueError(f"dependency cycle: {' -> '.join((*path, spec.name))}")
        state[spec.name] = "visiting"
        for dep in spec.depends_on:
            if dep not in by_name:
                raise CatalogueError(f"{spec.name} depends on unknown service '{dep}'")
            visit(by_name[dep], (*path, spec.name))
        state[spec.name] = "done"
        ordered.append(spec)

    for spec in specs:
        visit(spec, ())
    return ordered


def providers(specs: Sequence[ServiceSpec], capability: Capability) -> list[ServiceSpec]:
    """The services that provide `capability`, in the given order."""
    return [s for s in specs if capability in s.provides]


def provider(specs: Sequence[ServiceSpec], capability: Capability) -> ServiceSpec:
    """The one service that provides `capability`; CatalogueError when none or several do."""
    found = providers(specs, capability)
    if len(found) != 1:
        names = ", ".join(s.name for s in found) or "none"
        raise CatalogueError(f"exactly one service must provide {capability} (found: {names})")
    return found[0]
