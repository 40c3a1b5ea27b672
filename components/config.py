"""The stack configuration: one typed model, validated once when the program starts.

`Pulumi.<stack>.yaml` overrides only what differs from the catalogue and from the defaults here.
Every invalid value stops the program before any resource is registered, with a message that names
the stack file and the key (`Pulumi.prod.yaml: investment-platform:services.backend.cpus: ...`).
Secrets are not part of this model: they come from `pulumi config set --secret` or pulumi-random
(components/secrets.py), so they never pass through plain-text validation or error messages.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from components.catalogue import CATALOGUE, ServiceSpec, catalogue_by_name
from components.configmodel import ConfigModel
from components.cost import CapacityError, ServiceLimits, check_capacity
from components.hostplans import HOST_PLANS
from components.monitoring.settings import AlertingSettings
from components.workflows.settings import GitHubSettings

PROJECT = "investment-platform"

# A tag must be an exact version (it has a digit and is not a moving alias); a digest also pins.
_IMAGE_RE = re.compile(
    r"^(?P<repo>[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::\d+/[a-z0-9._/-]+)?)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
_MOVING_TAGS = {"latest", "stable", "edge", "main", "master", "nightly", "alpine", "slim"}


class ConfigError(ValueError):
    """Invalid stack configuration; the message names the stack file and the key."""


def check_image_pinned(image: str) -> str:
    """Return `image` if it names an exact version or digest, else raise ValueError saying why."""
    match = _IMAGE_RE.match(image)
    if not match:
        raise ValueError(f"'{image}' is not a valid image reference (expected repo:tag)")
    tag, digest = match.group("tag"), match.group("digest")
    if digest:
        return image
    if tag is None:
        raise ValueError(f"image '{image}' has no tag: pin an exact version, e.g. '{image}:1.2.3'")
    if tag in _MOVING_TAGS or not any(ch.isdigit() for ch in tag):
        raise ValueError(f"image '{image}' uses the moving tag '{tag}': pin an exact version")
    return image


class ServiceOverride(ConfigModel):
    """What a stack may change about one catalogue service."""

    cpus: float | None = Field(default=None, gt=0, le=16)
    """CPU limit in cores; at most the catalogue's production value."""
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
    email: str | None = None
    """Let's Encrypt account e-mail (required for letsencrypt)."""

    @model_validator(mode="after")
    def _email_for_letsencrypt(self) -> Tls:
        if self.mode == "letsencrypt" and not self.email:
            raise ValueError("email is required when mode is letsencrypt")
        return self


class Backup(ConfigModel):
    """Schedule and retention of the pg_dump backups."""

    schedule: str = Field(default="03:15", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    """Daily run time, HH:MM in UTC."""
    keep_daily: int = Field(default=7, ge=1, le=90)
    """Newest daily backups kept."""
    keep_weekly: int = Field(default=4, ge=0, le=52)
    """Newest weekly backups kept beyond the daily ones."""
    offhost_dir: str | None = None
    """Host path (e.g. a mounted storage box) that receives a copy of each backup."""


class Registry(ConfigModel):
    """A private registry the Docker host pulls the application images from."""

    address: str = Field(pattern=r"^[a-z0-9.-]+(:\d+)?$")
    """Registry host, e.g. ghcr.io."""
    username: str = Field(min_length=1)
    """User or bot account; its token is the secret `registryPassword`."""


class DatabaseAccess(ConfigModel):
    """How `pulumi up` reaches PostgreSQL to manage its databases, roles and search schema."""

    host: str = "127.0.0.1"
    """Address the machine running Pulumi connects to (prod: the local end of an SSH tunnel to
    postgres's fixed address on the internal network)."""
    port: int = Field(default=5432, ge=1, le=65535)
    """Port at that address (prod: the tunnel's local port, e.g. 15432)."""
    ssl_mode: Literal["disable", "require", "verify-ca", "verify-full"] = "disable"
    """libpq sslmode; `disable` fits a loopback tunnel, which already encrypts."""
    search_schema: bool = True
    """Apply the search migrations during `pulumi up` (false: run `db migrate` by hand)."""


class StackConfig(ConfigModel):
    """Everything a stack may set, with the defaults that apply when it does not."""

    stack: str
    """Stack name (dev or prod); set by the loader, not by the stack file."""
    environment: Literal["dev", "prod"]
    """Which kind of environment: prod forbids published internal ports and plain HTTP."""
    docker_host: str = "unix:///var/run/docker.sock"
    """Docker endpoint: the local socket for dev, `ssh://user@host` for prod."""
    domain: str = "localhost"
    """Public host name served by nginx."""
    name_prefix: str = Field(default="investment", pattern=r"^[a-z][a-z0-9-]{1,20}$")
    """Prefix of container, volume and network names on the host."""
    subnet: IPv4Network = IPv4Network("172.30.0.0/24")
    """The internal network's subnet: postgres gets a fixed address in its lower half (the SSH
    tunnel's far end), the other containers addresses from its upper half."""
    budget_usd: float = Field(default=50.0, gt=0)
    """Monthly budget; the billed total must stay within it."""
    host_plan: str = "hetzner-cx33"
    """Host plan preset (components/hostplans.py) whose price is allocated to the services."""
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
    adopt_volumes: dict[str, str] = Field(default_factory=dict)
    """Existing Docker volumes to adopt instead of creating empty ones: `service-role` to name."""
    github: GitHubSettings | None = None
    """Where the application's generated CI files are committed (none: not managed)."""
    registry: Registry | None = None
    """Credentials for pulling private application images (none: public images)."""
    grafana_url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    """Where `pulumi up` reaches Grafana's API; default `<public URL>/grafana`. An SSH tunnel
    (http://127.0.0.1:13000) avoids depending on DNS and the certificate on a first deploy."""
    database: DatabaseAccess = DatabaseAccess()
    """How Pulumi reaches PostgreSQL (docs/SEARCH.md)."""
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
    def postgres_address(self) -> IPv4Address:
        """postgres's fixed address on the internal network."""
        return self.subnet[10]

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
                    "publishPorts: prod must not publish internal ports; only nginx is public"
                )
            if self.tls.mode == "none":
                raise ValueError("tls.mode: prod needs TLS (letsencrypt or provided)")
            if not self.docker_host.startswith(("ssh://", "tcp://", "unix://")):
                raise ValueError("dockerHost: expected ssh://, tcp:// or unix://")
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
        s.name for s in CATALOGUE if s.requires_tls is None or s.requires_tls == config.tls.mode
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
    """Structured config values arrive as JSON text; plain strings stay strings."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def load_config(stack: str, raw: Mapping[str, str]) -> StackConfig:
    """Validate the stack's raw config (key without namespace to string value) into a StackConfig.

    Raises ConfigError naming `Pulumi.<stack>.yaml` and the first offending key.
    """
    data: dict[str, Any] = {key: _parse(value) for key, value in raw.items()}
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
            msg = f"{msg} (got {first['input']!r})"
        # Cross-field validators put the key at the start of their message themselves.
        key = f"{PROJECT}:{loc}: " if loc else f"{PROJECT}:"
        raise ConfigError(f"Pulumi.{stack}.yaml: {key}{msg}") from None
