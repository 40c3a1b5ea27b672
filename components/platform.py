"""The whole platform on one Docker host: network, secrets and every catalogue service in order."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

from components.catalogue import HostMount, ServiceSpec, catalogue_by_name
from components.config import StackConfig, resolve_specs
from components.database import Database, DatabaseArgs
from components.monitoring.grafana import Monitoring, MonitoringArgs
from components.monitoring.prometheus import prometheus_uploads
from components.nginx import CERT_DIR, CONFIG_PATH, certificate_paths, render_nginx_conf
from components.secrets import Secrets, SecretsArgs
from components.service import (
    CONFIG_WRITER_IMAGE,
    PortBinding,
    Service,
    ServiceArgs,
    Upload,
    container_name,
)
from components.stackcost import stack_cost
from components.tuning import tuned_command, tuned_env
from components.tunnel import Forward


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


SCRIPTS_DIR = Path(__file__).resolve().parent.parent / "scripts"
OFFHOST_PATH = "/offhost"
BACKUP_SCRIPTS = ("entrypoint.sh", "backup.sh", "restore.sh", "healthcheck.sh", "metrics-http.sh")


def read_script(group: str, name: str) -> str:
    """A shell script shipped in scripts/, uploaded into a container."""
    return (SCRIPTS_DIR / group / name).read_text()


def template_context(config: StackConfig) -> dict[str, str]:
    """Stack values the catalogue's plain env may reference as `{name}`."""
    return {
        "public_url": public_url(config),
        "domain": config.domain,
        "letsencrypt_email": config.tls.email or "",
        "tls_cert_file": certificate_paths(config.tls.mode, config.domain)[0]
        if config.tls.mode != "none"
        else "",
        "backup_schedule": config.backup.schedule,
        "backup_keep_daily": str(config.backup.keep_daily),
        "backup_keep_weekly": str(config.backup.keep_weekly),
        "backup_offhost_dir": OFFHOST_PATH if config.backup.offhost_dir else "",
        "smtp_enabled": str(config.alerting.smtp_host is not None).lower(),
        "smtp_host": config.alerting.smtp_host or "",
        "smtp_user": config.alerting.smtp_user or "",
        "smtp_from": config.alerting.smtp_from or "",
    }


def extra_host_mounts(config: StackConfig) -> dict[str, list[HostMount]]:
    """Host directories a stack adds: the off-host backup copy's target, when configured."""
    if not config.backup.offhost_dir:
        return {}
    return {
        "backup": [
            HostMount(host_path=config.backup.offhost_dir, path=OFFHOST_PATH, read_only=False)
        ]
    }


DATABASE_VALUES = (
    "owner_db_role",
    "app_db_role",
    "app_db_name",
    "backup_db_role",
    "airflow_db_role",
    "airflow_db_name",
    "monitoring_db_role",
)
"""Names the catalogue's secret_env templates may use besides the secrets, from the Database."""


def database_values(database: Database) -> dict[str, pulumi.Output[str]]:
    """The Database's role and database names, as template values. Using its outputs (rather
    than literal names) makes each container wait for the roles it logs in with."""
    return dict(
        zip(
            DATABASE_VALUES,
            (
                database.owner_role,
                database.app_role,
                database.app_database,
                database.backup_role,
                database.airflow_role,
                database.airflow_database,
                database.monitoring_role,
            ),
            strict=True,
        )
    )


PLAIN_HTTP_PORT = 8088
"""Where a plain-HTTP (dev) stack's nginx listens on the host's loopback."""


def public_bindings(config: StackConfig) -> list[PortBinding]:
    """The public edge's host ports: 80 and 443 on every address with TLS; plain HTTP on
    loopback's PLAIN_HTTP_PORT without."""
    if config.tls.mode == "none":
        return [PortBinding(80, PLAIN_HTTP_PORT, "127.0.0.1")]
    return [PortBinding(80, 80, "0.0.0.0"), PortBinding(443, 443, "0.0.0.0")]


def public_url(config: StackConfig) -> str:
    """The URL users reach the platform at: the scheme and port nginx actually publishes."""
    served = public_bindings(config)[-1]
    scheme, default_port = ("https", 443) if served.internal == 443 else ("http", 80)
    port = "" if served.external == default_port else f":{served.external}"
    return f"{scheme}://{config.domain}{port}"


def grafana_api_url(config: StackConfig) -> str:
    """Where `pulumi up` reaches Grafana's API: `grafanaUrl` when set; through the SSH tunnel
    when it is open (no dependency on DNS or the certificate); else through nginx."""
    if config.grafana_url is not None:
        return config.grafana_url
    if config.tunnel_enabled:
        return f"http://127.0.0.1:{config.tunnel.grafana_port}/grafana"
    return f"{public_url(config)}/grafana"


def tunnel_forwards(config: StackConfig) -> list[Forward]:
    """What the SSH tunnel forwards: PostgreSQL to database.port, Grafana to tunnel.grafanaPort,
    each to the service's fixed address on the internal network."""
    specs = catalogue_by_name()
    forwards = []
    for service, local_port in (
        ("postgres", config.database.port),
        ("grafana", config.tunnel.grafana_port),
    ):
        spec = specs[service]
        address = config.fixed_address(spec)
        if address is None or spec.port is None:
            raise ValueError(f"{service} needs a fixed address and a port to be tunnelled to")
        forwards.append(Forward(local_port, str(address), spec.port))
    return forwards


def host_ports(config: StackConfig, specs: Sequence[ServiceSpec]) -> dict[str, list[PortBinding]]:
    """Host port bindings per service: nginx publicly; in dev, other services on loopback only.

    Host ports equal container ports unless two services share one, in which case the later one
    moves up by 10000 (deterministic, so the same stack always gets the same ports).
    """
    bindings: dict[str, list[PortBinding]] = {}
    used: set[int] = set()
    for spec in specs:
        if spec.public:
            bindings[spec.name] = public_bindings(config)
            used.update(b.external for b in bindings[spec.name])
    if config.publish_ports:
        for spec in specs:
            if spec.public or spec.port is None or spec.name in bindings:
                continue
            port = spec.port
            while port in used:
                port += 10000
            used.add(port)
            bindings[spec.name] = [PortBinding(spec.port, port, "127.0.0.1")]
    return bindings


def _secret_env(
    templates: Mapping[str, str], secrets: Mapping[str, pulumi.Output[str]]
) -> dict[str, pulumi.Input[str]]:
    env: dict[str, pulumi.Input[str]] = {}
    for key, template in templates.items():
        env[key] = pulumi.Output.all(**secrets).apply(_formatter(template))
    return env


def _formatter(template: str) -> Callable[[dict[str, str]], str]:
    def fill(values: dict[str, str]) -> str:
        return template.format(**values)

    return fill


@dataclass
class PlatformArgs:
    """Inputs of the platform: the validated stack config and the secrets the stack gives."""

    config: StackConfig
    """The validated stack config."""
    secrets: Mapping[str, pulumi.Output[str]]
    """`pulumi config set --secret` values by config key (components.config.SECRET_KEYS)."""


class Platform(pulumi.ComponentResource):
    """Every service of the platform on one Docker host, started in dependency order."""

    services: dict[str, Service]
    network: docker.Network
    secrets: Secrets

    def __init__(
        self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("investment:platform:Platform", name, None, opts)
        config = args.config
        self.provider = docker.Provider(
            f"{name}-docker",
            host=config.docker_host,
            cert_path=config.docker_cert_path,
            registry_auth=[
                docker.ProviderRegistryAuthArgs(
                    address=config.registry.address,
                    username=config.registry.username,
                    password=args.secrets["registryPassword"],
                )
            ]
            if config.registry
            else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.network = docker.Network(
            f"{name}-network",
            name=f"{config.name_prefix}-internal",
            driver="bridge",
            labels=[
                docker.NetworkLabelArgs(label="com.investment-platform.stack", value=config.stack)
            ],
            # A fixed subnet, so postgres can have a fixed address outside the dynamic range.
            ipam_configs=[
                docker.NetworkIpamConfigArgs(
                    subnet=str(config.subnet),
                    ip_range=str(config.dynamic_range),
                    gateway=str(config.subnet[1]),
                )
            ],
            opts=child,
        )
        self.secrets = Secrets(
            f"{name}-secrets",
            SecretsArgs(given=args.secrets),
            opts=pulumi.ResourceOptions(parent=self),
        )
        specs = resolve_specs(config)
        ports = host_ports(config, specs)
        uploads = self._uploads(config, specs, args.secrets)
        # One image for every service's config writer (components/service.py).
        writer_image = docker.RemoteImage(
            f"{name}-config-writer-image",
            name=CONFIG_WRITER_IMAGE,
            keep_locally=True,
            opts=child,
        )
        context = template_context(config)
        self.services = {}
        self.database: Database | None = None
        values: dict[str, pulumi.Output[str]] = dict(self.secrets.values)
        for spec in start_order(specs):
            needs_db = "postgres" in spec.depends_on and self.database is not None
            self.services[spec.name] = Service(
                f"{name}-{spec.name.replace('_', '-')}",
                ServiceArgs(
                    spec=spec,
                    stack=config.stack,
                    name_prefix=config.name_prefix,
                    network=self.network,
                    command=tuned_command(spec),
                    env={
                        **{k: v.format(**context) for k, v in spec.env.items()},
                        **tuned_env(spec),
                    },
                    secret_env=_secret_env(spec.secret_env, values),
                    init_secret_env=_secret_env(spec.init.secret_env, values) if spec.init else {},
                    depends_on=[self.services[d] for d in spec.depends_on],
                    extra_depends_on=self.database.objects if needs_db and self.database else [],
                    uploads=uploads.get(spec.name, []),
                    ports=ports.get(spec.name, []),
                    adopt_volumes=config.adopt_volumes,
                    # The far ends of the SSH tunnel `pulumi up` reaches PostgreSQL and Grafana
                    # through: routable from the Docker host, published nowhere.
                    ipv4_address=_str_or_none(config.fixed_address(spec)),
                    writer_image=writer_image if uploads.get(spec.name) else None,
                    host_mounts=extra_host_mounts(config).get(spec.name, []),
                    shared_volumes={
                        f"{svc.spec.name}-{role}": vol
                        for svc in self.services.values()
                        for role, vol in svc.volumes.items()
                    },
                ),
                opts=pulumi.ResourceOptions(parent=self, providers={"docker": self.provider}),
            )
            if spec.name == "postgres":
                self.database = self._create_database(name, config, self.services["postgres"])
                values.update(database_values(self.database))
        if self.database is not None and config.database.search_schema:
            # The backend's own migrations create `stocks`; the search schema builds on it.
            self.search_schema = self.database.add_search_schema(
                after=[self.services["backend"].container]
            )
        self.cost = stack_cost(config)
        self.monitoring = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                services=self.services,
                cost=self.cost,
                grafana_url=grafana_api_url(config),
                admin_password=self.secrets.values["grafana_admin_password"],
                alerting=config.alerting,
                webhook_url=args.secrets.get("alertingWebhookUrl"),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs(
            {
                "network": self.network.name,
                "containers": {n: s.container_name for n, s in self.services.items()},
                "cost": self.cost.as_output(),
            }
        )

    def _create_database(self, name: str, config: StackConfig, postgres: Service) -> Database:
        access = config.database
        secrets = self.secrets.values
        return Database(
            f"{name}-database",
            DatabaseArgs(
                host=access.host,
                port=access.port,
                admin_username="postgres",
                admin_password=secrets["postgres_password"],
                sslmode=access.ssl_mode,
                owner_password=secrets["owner_db_password"],
                app_password=secrets["app_db_password"],
                backup_password=secrets["backup_db_password"],
                airflow_password=secrets["airflow_db_password"],
                monitoring_password=secrets["monitoring_db_password"],
                search_schema=False,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[postgres.container]),
        )

    def _uploads(
        self,
        config: StackConfig,
        specs: Sequence[ServiceSpec],
        secrets: Mapping[str, pulumi.Output[str]],
    ) -> dict[str, list[Upload]]:
        nginx = nginx_conf(config, specs)
        uploads: dict[str, list[Upload]] = {
            "nginx": [Upload(CONFIG_PATH, nginx)],
            "prometheus": prometheus_uploads(specs, config),
            "backup": [
                Upload(f"/opt/backup/{script}", read_script("backup", script), mode="0755")
                for script in BACKUP_SCRIPTS
            ],
            "certbot": [
                Upload(
                    "/opt/platform/certbot-loop.sh",
                    read_script("certbot", "certbot-loop.sh"),
                    mode="0755",
                )
            ],
        }
        if config.tls.mode == "provided":
            uploads["nginx"] += [
                Upload(f"{CERT_DIR}/tls.crt", secrets["tlsCertificate"]),
                Upload(f"{CERT_DIR}/tls.key", secrets["tlsPrivateKey"], mode="0600"),
            ]
        present = {s.name for s in specs}
        return {name: files for name, files in uploads.items() if name in present}


def nginx_conf(config: StackConfig, specs: Sequence[ServiceSpec]) -> str:
    """The stack's nginx.conf: metrics and stub_status served only to nginx's own loopback and
    the stack's internal network."""
    return render_nginx_conf(
        specs,
        domain=config.domain,
        tls_mode=config.tls.mode,
        internal_networks=("127.0.0.1/32", str(config.subnet)),
    )


def _str_or_none(value: object | None) -> str | None:
    return None if value is None else str(value)


def summary(platform: Platform, config: StackConfig) -> dict[str, object]:
    """The stack outputs: where the platform is, what runs, and what it costs."""
    return {
        "url": public_url(config),
        "dockerHost": config.docker_host,
        "postgresAddress": str(config.postgres_address),
        "services": {
            name: {
                "image": svc.spec.image,
                "cpus": svc.spec.cpus,
                "memoryMib": svc.spec.memory_mib,
                "container": container_name(config.name_prefix, name),
            }
            for name, svc in platform.services.items()
        },
        "cost": platform.cost.as_output(),
    }
