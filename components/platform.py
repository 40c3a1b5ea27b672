"""The whole platform on one Docker host: network, secrets and every catalogue service in order.

Driven by the catalogue alone: what makes a service special (its generated files, host mounts
from the stack config, the capabilities it provides, its fixed address) is declared in its
`ServiceSpec`, so nothing here depends on a service's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_docker as docker

from components.database import Database, DatabaseArgs
from components.monitoring import Monitoring, MonitoringArgs
from components.secrets import Secrets, SecretsArgs
from components.service import Service, ServiceArgs, Upload
from model.catalogue import (
    CONFIG_WRITER_IMAGE,
    ServiceSpec,
    container_name,
    providers,
    start_order,
)
from model.config import StackConfig
from model.labels import STACK_LABEL
from model.stackcost import stack_cost
from model.topology import config_mounts, grafana_api_url, host_ports, public_url
from model.tuning import tuned_command, tuned_env
from render.files import ASSETS, SecretRef, generated_files, template_context

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
class HostAccess:
    """How the platform reaches the managed host, known only once the host has booted."""

    docker_host: pulumi.Input[str]
    """The Docker endpoint, `ssh://deploy@<address>`."""
    ssh_options: pulumi.Input[Sequence[str]]
    """ssh options the Docker provider adds: the host's pinned key."""
    management_ready: pulumi.Output[str]
    """Resolves once the tunnel to PostgreSQL and Grafana is open; the providers that go through
    it wait for it."""


@dataclass
class PlatformArgs:
    """Inputs of the platform: the stack's config, its services and the secrets it gives."""

    config: StackConfig
    """The validated stack config."""
    specs: Sequence[ServiceSpec]
    """The services the stack runs: the catalogue with the stack's overrides (resolve_specs)."""
    secrets: Mapping[str, pulumi.Output[str]]
    """`pulumi config set --secret` values by config key (model.config.SECRET_KEYS)."""
    assets: Path = field(default=ASSETS)
    """Where the files the catalogue ships into containers live."""
    access: HostAccess | None = None
    """How to reach a host the program creates itself; None: the stack's dockerHost, whose
    tunnel (if any) is open before the platform is declared."""


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
        access = args.access
        self._ready = None if access is None else access.management_ready
        self.docker_host: pulumi.Input[str] = (
            config.docker_host if access is None else access.docker_host
        )
        self.provider = docker.Provider(
            f"{name}-docker",
            host=self.docker_host,
            ssh_opts=None if access is None else access.ssh_options,
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
            labels=[docker.NetworkLabelArgs(label=STACK_LABEL, value=config.stack)],
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
        specs = list(args.specs)
        ports = host_ports(config, specs)
        context = template_context(config, specs)
        # One image for every service's config writer (components/service.py).
        writer_image = docker.RemoteImage(
            f"{name}-config-writer-image",
            name=CONFIG_WRITER_IMAGE,
            keep_locally=True,
            opts=child,
        )
        self.services = {}
        self.database: Database | None = None
        databases = {s.name for s in providers(specs, "database")}
        values: dict[str, pulumi.Output[str]] = dict(self.secrets.values)
        for spec in start_order(specs):
            uploads = [
                Upload(
                    f.path,
                    args.secrets[f.content.key] if isinstance(f.content, SecretRef) else f.content,
                    mode=f.mode,
                )
                for f in generated_files(spec, config, specs, assets=args.assets, context=context)
            ]
            waits_for_roles = self.database is not None and databases & set(spec.depends_on)
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
                    extra_depends_on=self.database.objects
                    if waits_for_roles and self.database
                    else [],
                    uploads=uploads,
                    ports=ports.get(spec.name, []),
                    adopt_volumes=config.adopt_volumes,
                    # The far ends of the SSH tunnel `pulumi up` reaches PostgreSQL and Grafana
                    # through: routable from the Docker host, published nowhere.
                    ipv4_address=_str_or_none(config.fixed_address(spec)),
                    writer_image=writer_image if uploads else None,
                    host_mounts=config_mounts(config, spec),
                    shared_volumes={
                        f"{svc.spec.name}-{role}": vol
                        for svc in self.services.values()
                        for role, vol in svc.volumes.items()
                    },
                ),
                opts=pulumi.ResourceOptions(parent=self, providers={"docker": self.provider}),
            )
            if spec.name in databases:
                self.database = self._create_database(name, config, self.services[spec.name])
                values.update(database_values(self.database))
        if self.database is not None and config.database.search_schema:
            # The application's own migrations create `stocks`; the search schema builds on it.
            self.search_schema = self.database.add_search_schema(
                after=[self.services[s.name].container for s in providers(specs, "app-schema")]
            )
        self.cost = stack_cost(config, specs)
        self.monitoring = Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                services=self.services,
                cost=self.cost,
                grafana_url=self._after_tunnel(grafana_api_url(config)),
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

    def _after_tunnel(self, value: str) -> pulumi.Input[str]:
        """`value`, available only once the management tunnel is open (when it opens late)."""
        if self._ready is None:
            return value
        return pulumi.Output.all(self._ready, value).apply(lambda values: str(values[1]))

    def _create_database(self, name: str, config: StackConfig, server: Service) -> Database:
        access = config.database
        secrets = self.secrets.values
        return Database(
            f"{name}-database",
            DatabaseArgs(
                host=self._after_tunnel(access.host),
                port=access.port,
                admin_password=secrets["postgres_password"],
                sslmode=access.ssl_mode,
                owner_password=secrets["owner_db_password"],
                app_password=secrets["app_db_password"],
                backup_password=secrets["backup_db_password"],
                airflow_password=secrets["airflow_db_password"],
                monitoring_password=secrets["monitoring_db_password"],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[server.container]),
        )


def _str_or_none(value: object | None) -> str | None:
    return None if value is None else str(value)


def summary(platform: Platform, config: StackConfig) -> dict[str, object]:
    """The stack outputs: where the platform is, what runs, and what it costs."""
    return {
        "url": public_url(config),
        "dockerHost": platform.docker_host,
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
