"""The stack configuration: one typed model, validated once when the program starts.

`Pulumi.<stack>.yaml` overrides only what differs from the catalogue and from the defaults here.
Every invalid value stops the program before any resource is registered, with one line that names
the stack file and the key (`Pulumi.prod.yaml: investment-platform:services.backend.cpus: ...`).

Secrets are not part of this model: they have keys of their own (`SECRET_KEYS`), set with
`pulumi config set --secret`, and a stack file that holds one in plain text is refused. Their values
never pass through this model or its error messages.

The rules a stack gets follow its name, never a value in its file: `dev` and `dev-*` stacks are dev
stacks (published debug ports, plain HTTP, the $0 `local` host plan); every other stack is prod.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from model.alerting import AlertingSettings
from model.base import (
    ConfigModel,
    DockerName,
    EmailAddress,
    HostName,
    HostPath,
    HttpUrl,
    PrivateSubnet,
    check_hostname,
    check_ssh_user,
)
from model.catalogue import CATALOGUE, ServiceSpec, catalogue_by_name, check_cpus, provider
from model.cost import CapacityError, OffsitePlanName, ServiceLimits, check_capacity
from model.github import GitHubSettings
from model.host import Host
from model.hostplans import HOST_PLANS
from model.imageref import InvalidReference, image_problem, parse_reference

PROJECT = "investment-platform"

Environment = Literal["dev", "prod"]

SECRET_KEYS: dict[str, str] = {
    "postgresPassword": "the PostgreSQL superuser's password (generated when unset)",
    "redisPassword": "Redis's password (generated when unset)",
    "ownerDbPassword": "the migrations' owner role's password (generated when unset)",
    "appDbPassword": "the application role's password (generated when unset)",
    "backupDbPassword": "the read-only backup role's password (generated when unset)",
    "airflowDbPassword": "Airflow's database password (generated when unset)",
    "monitoringDbPassword": "postgres-exporter's password (generated when unset)",
    "grafanaAdminPassword": "Grafana's admin password (generated when unset)",
    "appSecretKey": "the backend's SECRET_KEY (generated when unset)",
    "smtpPassword": "the alert e-mail relay's password",
    "registryPassword": "the private registry's token (with `registry`)",
    "tlsCertificate": "nginx's certificate chain (with tls.mode: provided)",
    "tlsPrivateKey": "nginx's private key (with tls.mode: provided)",
    "alertingWebhookUrl": "a webhook that receives every alert (its URL carries its token)",
    "offsiteEncryptionKey": "the off-site backups' encryption key (with `backup.offsite`)",
    "offsiteAccessKeyId": "the off-site bucket's access key (with `backup.offsite`)",
    "offsiteSecretAccessKey": "the off-site bucket's secret key (with `backup.offsite`)",
}
"""Every config key whose value is a secret, and what it is. Each must be set with
`pulumi config set --secret KEY`: a plain-text value in a stack file is refused."""


def environment_of(stack: str) -> Environment:
    """The rules a stack gets, from its name alone: `dev` and `dev-*` are dev, the rest prod."""
    return "dev" if stack == "dev" or stack.startswith("dev-") else "prod"


class ConfigError(ValueError):
    """Invalid stack configuration; the message names the stack file and the key."""


def check_image_pinned(image: str) -> str:
    """Return `image` if it is a reference Docker can pull, pinned to a version tag (one with a
    digit: not latest, alpine, stable...) or a digest; else raise ValueError saying why.

    The same rule as the policy pack's images-pinned policy, from the same grammar
    (model/imageref.py, which the pack carries a copy of).
    """
    try:
        reference = parse_reference(image)
    except InvalidReference as error:
        raise ValueError(f"image {error}") from None
    if not reference.repository:
        raise ValueError(f"image '{image}' is an image ID, which names no repository to pull from")
    problem = image_problem(image)
    if problem:
        raise ValueError(f"image {problem}: pin a version tag (e.g. :1.2.3) or a sha256 digest")
    return image


class ServiceOverride(ConfigModel):
    """What a stack may change about one catalogue service."""

    cpus: Annotated[float, Field(gt=0, le=16), AfterValidator(check_cpus)] | None = None
    """CPU limit in cores; at most the catalogue's production value, and one that reads back
    unchanged from Docker."""
    memory_mib: int | None = Field(default=None, gt=0)
    """Memory limit in MiB; between the service's floor and its production value."""
    image: str | None = None
    """A different pinned image (e.g. a patched minor version)."""

    @field_validator("image")
    @classmethod
    def _pinned(cls, value: str | None) -> str | None:
        return None if value is None else check_image_pinned(value)


class AppImages(ConfigModel):
    """The application's own images, built by its CI and pinned per stack."""

    backend: str
    """Image of the FastAPI backend, also run by the Celery worker and beat."""
    frontend: str
    """Image of the web UI."""

    @field_validator("backend", "frontend")
    @classmethod
    def _pinned(cls, value: str) -> str:
        return check_image_pinned(value)


class FixedCost(ConfigModel):
    """A monthly cost that does not depend on the containers (domain, off-host storage)."""

    name: str = Field(min_length=1)
    """What it is."""
    monthly_usd: float = Field(ge=0)
    """USD per month (annual prices divided by 12)."""
    source: str = Field(min_length=1)
    """Where the price comes from and when it was read."""


class Tls(ConfigModel):
    """How nginx gets its certificate."""

    mode: Literal["letsencrypt", "provided", "none"] = "letsencrypt"
    """letsencrypt: certbot webroot challenge; provided: tlsCertificate/tlsPrivateKey secrets;
    none: plain HTTP (dev only)."""
    email: EmailAddress | None = None
    """Let's Encrypt account e-mail (required for letsencrypt)."""

    @model_validator(mode="after")
    def _email_for_letsencrypt(self) -> Tls:
        if self.mode == "letsencrypt" and not self.email:
            raise ValueError("email is required when mode is letsencrypt")
        return self


class Offsite(ConfigModel):
    """The encrypted off-site copy of the point-in-time-recovery repository: restic, to any S3
    API. Its key and credentials are the secrets `offsiteEncryptionKey`, `offsiteAccessKeyId` and
    `offsiteSecretAccessKey` (docs/DISASTER_RECOVERY.md)."""

    endpoint: HttpUrl
    """The S3 endpoint, e.g. https://fsn1.your-objectstorage.com (Hetzner, Falkenstein)."""
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    """The bucket (S3 naming: 3-63 lower-case letters, digits, '.', '-')."""
    prefix: str = Field(default="pitr", pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
    """Path of the restic repository inside the bucket."""
    plan: OffsitePlanName = "hetzner-object-storage"
    """Whose price the cost report adds as a fixed line (model/cost.py OFFSITE_PLANS)."""
    interval_minutes: int = Field(default=5, ge=1, le=14)
    """Minutes between syncs: the off-site RPO is about this plus one sync's duration."""
    keep_days: int = Field(default=14, ge=1, le=365)
    """Days of snapshots kept in the bucket."""


class Backup(ConfigModel):
    """Schedule and retention of the pg_dump backups, the base backups and WAL archive of
    point-in-time recovery, and their off-site copy."""

    schedule: str = Field(default="03:15", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """Daily run time, HH:MM in UTC."""
    keep_daily: int = Field(default=7, ge=1, le=90)
    """Newest daily backups kept."""
    keep_weekly: int = Field(default=4, ge=0, le=52)
    """Newest weekly backups kept beyond the daily ones."""
    offhost_dir: HostPath | None = None
    """Host directory (e.g. a mounted storage box) that receives a copy of each backup; never `/`
    or a system directory, since the backup container mounts it writable."""
    keep_base: int = Field(default=7, ge=1, le=60)
    """Base backups (one a day, at `schedule`) kept for point-in-time recovery; WAL is kept back
    to the oldest, so any second of the last `keep_base` days can be restored."""
    offsite: Offsite | None = None
    """The encrypted off-site copy (none: base backups and WAL stay on the host)."""


class Registry(ConfigModel):
    """A private registry the Docker host pulls the application images from."""

    address: str = Field(pattern=r"^[a-z0-9.-]+(:\d+)?$")
    """Registry host, e.g. ghcr.io."""
    username: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    """User or bot account; its token is the secret `registryPassword`."""


class DatabaseAccess(ConfigModel):
    """How `pulumi up` reaches PostgreSQL to manage its databases, roles and search schema."""

    host: HostName = "127.0.0.1"
    """Address the machine running Pulumi connects to. With the SSH tunnel (prod) it is always
    127.0.0.1, the tunnel's local end."""
    port: int = Field(default=5432, ge=1024, le=65535)
    """Port at that address; with the tunnel, the local port it listens on (prod: 15432)."""
    ssl_mode: Literal["disable", "require", "verify-ca", "verify-full"] = "disable"
    """libpq sslmode; `disable` fits a loopback tunnel, which already encrypts."""
    search_schema: bool = True
    """Apply the search migrations during `pulumi up` (false: run `db migrate` by hand)."""


class Tunnel(ConfigModel):
    """The SSH tunnel the program opens for the length of each deployment, through which Pulumi
    reaches PostgreSQL (roles, extensions, search migrations) and Grafana's API (dashboards,
    alerts) on the host's internal network: no manual tunnel step, in CI or on a laptop."""

    enabled: bool | None = None
    """Open it; default: when dockerHost is ssh://."""
    grafana_port: int = Field(default=13000, ge=1024, le=65535)
    """Local port forwarded to Grafana's fixed address (database.port is PostgreSQL's)."""


def _docker_endpoint(value: str) -> str:
    """unix:///absolute/socket, ssh://[user@]host[:port] or tcp://host:port (TLS only, see
    dockerCertPath): nothing a shell or the Docker CLI could read as an option or a second value."""
    scheme, sep, rest = value.partition("://")
    if not sep:
        raise ValueError(f"{value!r} is not a Docker endpoint (unix://, ssh:// or tcp://)")
    if scheme == "unix":
        if not re.fullmatch(r"/[A-Za-z0-9._/-]+", rest) or ".." in rest.split("/"):
            raise ValueError(f"{value!r}: a unix:// endpoint needs an absolute socket path")
        return value
    if scheme not in ("ssh", "tcp"):
        raise ValueError(f"{value!r}: the scheme must be unix://, ssh:// or tcp://")
    user, at, hostport = rest.rpartition("@")
    host, colon, port = hostport.partition(":")
    if at and scheme == "tcp":
        raise ValueError(f"{value!r}: only ssh:// endpoints name a user")
    if at and not user:
        raise ValueError(f"{value!r}: the user before '@' is empty")
    if user:
        check_ssh_user(user)
    check_hostname(host)
    if colon and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"{value!r}: the port must be a number from 1 to 65535")
    if scheme == "tcp" and not colon:
        raise ValueError(f"{value!r}: a tcp:// endpoint needs its TLS port, e.g. tcp://host:2376")
    return value


DockerEndpoint = Annotated[str, AfterValidator(_docker_endpoint)]
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


class StackConfig(ConfigModel):
    """Everything a stack may set, with the defaults that apply when it does not."""

    stack: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    """Stack name; set by the loader, not by the stack file. It decides the stack's rules."""
    docker_host: DockerEndpoint = DEFAULT_DOCKER_HOST
    """Docker endpoint: the local socket for dev, `ssh://user@host` for prod."""
    docker_cert_path: HostPath | None = None
    """Directory with ca.pem, cert.pem and key.pem for a tcp:// endpoint, which is TLS only."""
    domain: HostName = "localhost"
    """Public host name served by nginx (RFC 1123)."""
    name_prefix: str = Field(default="investment", pattern=r"^[a-z][a-z0-9-]{1,20}$")
    """Prefix of container, volume and network names on the host."""
    subnet: PrivateSubnet = IPv4Network("172.30.0.0/24")
    """The internal network's subnet: services with a `fixed_address` (PostgreSQL, Grafana: the
    SSH tunnel's far ends) get one in its lower half, the other containers addresses from its
    upper half."""
    budget_usd: float = Field(default=50.0, gt=0)
    """Monthly budget; the billed total must stay within it."""
    host_plan: str = "hetzner-cx33"
    """Host plan preset (model/hostplans.py) whose price is allocated to the services."""
    os_reserve_mib: int = Field(default=512, ge=256)
    """Memory kept for the OS and Docker; limits plus this must fit the host."""
    fixed_costs: tuple[FixedCost, ...] = ()
    """Costs beyond the host (domain, off-host storage)."""
    images: AppImages
    """Application images for this stack."""
    services: dict[str, ServiceOverride] = Field(default_factory=dict)
    """Per-service overrides of the catalogue (limits, image)."""
    publish_ports: bool = False
    """Publish data and monitoring ports on 127.0.0.1 of the host (dev convenience only)."""
    tls: Tls = Tls(mode="none")
    """Certificate source for nginx."""
    backup: Backup = Backup()
    """Backup schedule and retention."""
    adopt_volumes: dict[str, DockerName] = Field(default_factory=dict)
    """Existing Docker volumes to adopt instead of creating empty ones: `service-role` to name."""
    github: GitHubSettings | None = None
    """Where the application's generated CI files are committed (none: not managed)."""
    registry: Registry | None = None
    """Credentials for pulling private application images (none: public images)."""
    grafana_url: HttpUrl | None = None
    """Where `pulumi up` reaches Grafana's API; default: through the tunnel when it is open,
    else `<public URL>/grafana`."""
    database: DatabaseAccess = DatabaseAccess()
    """How Pulumi reaches PostgreSQL (docs/SEARCH.md)."""
    tunnel: Tunnel = Tunnel()
    """The SSH tunnel to the host's internal network (docs/DEPLOYMENT.md)."""
    host: Host = Host()
    """The Docker host: `existing` (reached at dockerHost) or one the program creates (hetzner)."""
    alerting: AlertingSettings = AlertingSettings()
    """Who is notified of alerts, and the budget alert thresholds."""

    @model_validator(mode="after")
    def _images_match_ci_registry(self) -> StackConfig:
        # The app CI pushes to imagePrefix; a stack pulling from elsewhere would never get them.
        if self.github is None:
            return self
        prefix = self.github.app_ci.image_prefix.rstrip("/") + "/"
        for role in ("backend", "frontend"):
            image = getattr(self.images, role)
            if not image.startswith(prefix):
                raise ValueError(
                    f"images.{role}: '{image}' is not under github.ci.imagePrefix '{prefix}', "
                    "where the application's CI pushes its images"
                )
        return self

    @field_validator("services")
    @classmethod
    def _known_services(cls, value: dict[str, ServiceOverride]) -> dict[str, ServiceOverride]:
        known = catalogue_by_name()
        for name in value:
            if name not in known:
                raise ValueError(
                    f"unknown service '{name}'; known services: {', '.join(sorted(known))}"
                )
        return value

    @field_validator("subnet")
    @classmethod
    def _subnet_size(cls, value: IPv4Network) -> IPv4Network:
        if value.prefixlen > 26:
            raise ValueError(f"{value} is too small; use a /26 or larger")
        return value

    @property
    def environment(self) -> Environment:
        """The stack's rules, from its name (never from the stack file)."""
        return environment_of(self.stack)

    @property
    def server_name(self) -> str:
        """The managed host's name at Hetzner (and the prefix of its addresses and firewall)."""
        return f"{self.name_prefix}-{self.stack}"

    @property
    def over_ssh(self) -> bool:
        """Whether Docker is reached over SSH: an ssh:// dockerHost, or the managed host."""
        return self.host.managed or self.docker_host.startswith("ssh://")

    @property
    def tunnel_enabled(self) -> bool:
        """Whether the program opens the SSH tunnel: as configured, else when Docker is reached
        over SSH."""
        if self.tunnel.enabled is not None:
            return self.tunnel.enabled
        return self.over_ssh

    def fixed_address(self, spec: ServiceSpec) -> IPv4Address | None:
        """The service's fixed address on the internal network, if it has one."""
        return None if spec.fixed_address is None else self.subnet[spec.fixed_address]

    @property
    def postgres_address(self) -> IPv4Address:
        """The database service's fixed address on the internal network."""
        address = self.fixed_address(provider(CATALOGUE, "database"))
        assert address is not None, "the catalogue gives the database service a fixed address"
        return address

    @property
    def dynamic_range(self) -> IPv4Network:
        """The part of the subnet Docker assigns other containers from (its upper half)."""
        return list(self.subnet.subnets(prefixlen_diff=1))[1]

    @field_validator("host_plan")
    @classmethod
    def _known_plan(cls, value: str) -> str:
        if value not in HOST_PLANS:
            raise ValueError(f"unknown host plan '{value}'; presets: {', '.join(HOST_PLANS)}")
        return value

    @field_validator("adopt_volumes")
    @classmethod
    def _known_volumes(cls, value: dict[str, str]) -> dict[str, str]:
        known = {f"{s.name}-{v.role}" for s in CATALOGUE for v in s.volumes if not v.shared_from}
        for key in value:
            if key not in known:
                raise ValueError(f"unknown volume '{key}'; volumes: {', '.join(sorted(known))}")
        return value

    @model_validator(mode="after")
    def _limits_within_catalogue(self) -> StackConfig:
        specs = catalogue_by_name()
        for name, override in self.services.items():
            spec = specs[name]
            if override.cpus is not None and override.cpus > spec.cpus:
                raise ValueError(
                    f"services.{name}.cpus: {override.cpus:g} exceeds the production limit "
                    f"{spec.cpus:g}; stacks may lower limits, never raise them"
                )
            if override.memory_mib is not None:
                if override.memory_mib < spec.min_memory_mib:
                    raise ValueError(
                        f"services.{name}.memoryMib: {override.memory_mib} MiB is below the "
                        f"floor of {spec.min_memory_mib} MiB for {name}"
                    )
                if override.memory_mib > spec.memory_mib:
                    raise ValueError(
                        f"services.{name}.memoryMib: {override.memory_mib} MiB exceeds the "
                        f"production limit {spec.memory_mib} MiB; stacks may lower limits, "
                        "never raise them"
                    )
        return self

    @model_validator(mode="after")
    def _prod_rules(self) -> StackConfig:
        if self.environment == "prod":
            if self.publish_ports:
                raise ValueError(
                    f"publishPorts: stack '{self.stack}' gets prod rules (only dev and dev-* "
                    "stacks are dev), which publish no internal port; only nginx is public"
                )
            if self.tls.mode == "none":
                raise ValueError(
                    f"tls.mode: stack '{self.stack}' gets prod rules (only dev and dev-* stacks "
                    "are dev), which need TLS: letsencrypt or provided"
                )
            if HOST_PLANS[self.host_plan].monthly_price == 0:
                raise ValueError(
                    f"hostPlan: '{self.host_plan}' costs nothing, which only a dev stack's own "
                    f"machine does; stack '{self.stack}' needs a priced plan"
                )
        return self

    @model_validator(mode="after")
    def _docker_tls(self) -> StackConfig:
        if self.docker_host.startswith("tcp://") and self.docker_cert_path is None:
            raise ValueError(
                "dockerHost: a tcp:// endpoint without TLS gives root on the host to anyone who "
                "reaches the port; set dockerCertPath (ca.pem, cert.pem, key.pem) or use ssh://"
            )
        if self.docker_cert_path is not None and not self.docker_host.startswith("tcp://"):
            raise ValueError("dockerCertPath: only a tcp:// dockerHost uses certificates")
        return self

    @model_validator(mode="after")
    def _tunnel_needs_ssh(self) -> StackConfig:
        if self.tunnel.enabled and not self.over_ssh:
            raise ValueError(
                "tunnel.enabled: the tunnel goes through the Docker host's SSH server; it needs "
                "an ssh:// dockerHost"
            )
        if self.tunnel_enabled:
            if self.database.host != "127.0.0.1":
                raise ValueError(
                    f"database.host: with the SSH tunnel Pulumi connects to its local end, "
                    f"127.0.0.1, not {self.database.host}"
                )
            if self.database.port == self.tunnel.grafana_port:
                raise ValueError(
                    f"tunnel.grafanaPort: {self.tunnel.grafana_port} is database.port already"
                )
        return self

    @model_validator(mode="after")
    def _managed_host(self) -> StackConfig:
        if not self.host.managed:
            return self
        # Pulumi.yaml declares dockerHost's default, which the engine passes like a set value;
        # so any other value is a stack's own choice.
        if self.docker_host != DEFAULT_DOCKER_HOST:
            raise ValueError(
                "dockerHost: the managed host (host.mode: hetzner) is reached at "
                f"ssh://{self.host.user}@<the address the program gives it>; remove dockerHost"
            )
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", self.server_name):
            raise ValueError(
                f"host.mode: the managed host is named after namePrefix and the stack, "
                f"'{self.server_name}', which must be a host name label (lower-case letters, "
                "digits and inner hyphens, at most 63); rename the stack"
            )
        plan = HOST_PLANS[self.host_plan]
        if plan.server_type is None:
            creatable = [p.name for p in HOST_PLANS.values() if p.server_type is not None]
            raise ValueError(
                f"hostPlan: '{self.host_plan}' is a plan the program can price but not create; "
                f"the managed host (host.mode: hetzner) needs one of {', '.join(creatable)}"
            )
        if self.host.location not in plan.locations:
            raise ValueError(
                f"host.location: Hetzner sells {plan.server_type} in {', '.join(plan.locations)}, "
                f"not in '{self.host.location}'"
            )
        if self.environment == "prod":
            for network in self.host.admin_networks:
                if network.prefixlen == 0:
                    raise ValueError(
                        f"host.adminNetworks: {network} admits SSH from the whole internet; stack "
                        f"'{self.stack}' gets prod rules: list the admins' (or a VPN's) networks"
                    )
        return self

    @model_validator(mode="after")
    def _fits_host(self) -> StackConfig:
        limits = [
            ServiceLimits(name=s.name, cpus=s.cpus, memory_mib=s.memory_mib)
            for s in resolve_specs(self)
        ]
        try:
            check_capacity(HOST_PLANS[self.host_plan], limits, self.os_reserve_mib)
        except CapacityError as exc:
            raise ValueError(f"services: {exc}") from None
        return self


def resolve_specs(config: StackConfig) -> tuple[ServiceSpec, ...]:
    """The catalogue with this stack's overrides applied: the services the stack actually runs.

    Services tied to another TLS mode are left out, and so are the dependencies on them and the
    volumes shared from them.
    """
    present = {
        s.name
        for s in CATALOGUE
        if (s.requires_tls is None or s.requires_tls == config.tls.mode)
        and (s.requires_setting is None or config.backup.offsite is not None)
    }
    resolved = []
    for spec in CATALOGUE:
        if spec.name not in present:
            continue
        override = config.services.get(spec.name, ServiceOverride())
        changes: dict[str, Any] = {
            "depends_on": tuple(d for d in spec.depends_on if d in present),
            "volumes": tuple(
                v for v in spec.volumes if v.shared_from is None or v.shared_from in present
            ),
        }
        if override.cpus is not None:
            changes["cpus"] = override.cpus
        if override.memory_mib is not None:
            changes["memory_mib"] = override.memory_mib
        if override.image is not None:
            changes["image"] = override.image
        elif spec.app_image is not None:
            changes["image"] = getattr(config.images, spec.app_image)
        resolved.append(spec.model_copy(update=changes))
    return tuple(resolved)


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(item)
    return ".".join(parts)


def _parse(value: str) -> Any:
    """Structured config values arrive as JSON text; plain strings stay strings. JSON's
    non-standard Infinity and NaN stay text, so the model refuses them as numbers."""
    try:
        parsed = json.loads(value, parse_constant=lambda _: value)
    except (json.JSONDecodeError, RecursionError):
        return value
    if isinstance(parsed, float) and not math.isfinite(parsed):
        return value
    return parsed


REMOVED_KEYS: dict[str, str] = {
    "environment": "a stack's rules follow its name (dev and dev-* stacks are dev, every other "
    "stack is prod), never a value in its file; remove this key",
}


def check_secret_keys(stack: str, keys: Collection[str], secret_keys: Collection[str]) -> None:
    """Refuse a secret given in plain text, and a secret hidden inside a structured key.

    `keys` are the stack's config keys without namespace, `secret_keys` those given as secrets.
    """
    for key in sorted(keys):
        if key in SECRET_KEYS and key not in secret_keys:
            raise ConfigError(
                f"Pulumi.{stack}.yaml: {PROJECT}:{key}: is {SECRET_KEYS[key]}, a secret, but the "
                f"stack file holds it in plain text; remove it and run "
                f"`pulumi config set --secret {key}`"
            )
        if key not in SECRET_KEYS and key in secret_keys:
            raise ConfigError(
                f"Pulumi.{stack}.yaml: {PROJECT}:{key}: holds a secret value, but only these keys "
                f"take secrets: {', '.join(SECRET_KEYS)}; keep {key} in plain text"
            )


def load_config(
    stack: str, raw: Mapping[str, str], secret_keys: Collection[str] = ()
) -> StackConfig:
    """Validate the stack's raw config (key without namespace to string value) into a StackConfig.

    `raw` may hold the secret keys too (`secret_keys` says which keys were given as secrets): they
    are checked to be secrets and left out of the model. Raises ConfigError naming
    `Pulumi.<stack>.yaml` and the first offending key, in one line that never shows a secret.
    """
    check_secret_keys(stack, raw.keys(), secret_keys)
    data: dict[str, Any] = {
        key: _parse(value) for key, value in raw.items() if key not in SECRET_KEYS
    }
    for key, why in REMOVED_KEYS.items():
        if key in data:
            raise ConfigError(f"Pulumi.{stack}.yaml: {PROJECT}:{key}: {why}")
    data["stack"] = stack
    try:
        return StackConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = _location(tuple(first["loc"]))
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            msg = "missing required value"
        elif first["type"] == "extra_forbidden":
            msg = "unknown key"
        elif "input" in first and first["type"] not in {"value_error", "assertion_error"}:
            msg = f"{msg} (got {_shown(first['input'])})"
        # Cross-field validators put the key at the start of their message themselves.
        key = f"{PROJECT}:{loc}: " if loc else f"{PROJECT}:"
        # One line, whatever the input held.
        raise ConfigError(" ".join(f"Pulumi.{stack}.yaml: {key}{msg}".split())) from None


def _shown(value: Any) -> str:
    """The offending input as the message shows it: short and on one line."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
