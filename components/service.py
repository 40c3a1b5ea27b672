"""One platform service as a Docker container, its pinned image and its named volumes.

A single component driven by typed specs, rather than a class per service kind: every service needs
the same hardening (limits, health check, restart policy, log rotation, dropped capabilities,
no-new-privileges, read-only root where the image allows), and what differs between kinds is data
in the catalogue. A class per kind would repeat that hardening seventeen times and let it drift.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_docker as docker

from components.catalogue import HostMount, ServiceSpec, dns_name

LABEL_PREFIX = "com.investment-platform"
LOG_OPTS = {"max-size": "10m", "max-file": "3"}
TMPFS_OPTS = "rw,nosuid,nodev,size=64m"


@dataclass(frozen=True)
class PortBinding:
    """A port published on the host."""

    internal: int
    """Port inside the container."""
    external: int
    """Port on the host."""
    ip: str = "127.0.0.1"
    """Host address to bind: loopback unless the port is meant to be public."""


@dataclass(frozen=True)
class Upload:
    """A file written into the container before it starts (generated config, scripts)."""

    path: str
    """Absolute path inside the container."""
    content: pulumi.Input[str]
    """File content."""
    mode: str = "0644"
    """Permission bits. Scripts run by a non-root user need 0755: the provider's `executable`
    flag sets the owner's bit only, and uploads are owned by root."""


@dataclass
class ServiceArgs:
    """Everything a Service needs beyond its spec."""

    spec: ServiceSpec
    """The resolved spec: catalogue defaults with the stack's overrides applied."""
    stack: str
    """Stack name, recorded in labels."""
    name_prefix: str
    """Prefix of the Docker object names on the host."""
    network: docker.Network
    """The platform's internal network."""
    command: Sequence[str] = ()
    """The command (already tuned to the limits); empty keeps the image's default."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Plain environment."""
    secret_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment whose values are secrets; each entry is passed as a secret."""
    depends_on: Sequence[Service] = ()
    """Services that must be healthy first."""
    extra_depends_on: Sequence[pulumi.Resource] = ()
    """Other resources that must exist first (e.g. database roles)."""
    uploads: Sequence[Upload] = ()
    """Files to write into the container."""
    ports: Sequence[PortBinding] = ()
    """Host port bindings."""
    adopt_volumes: Mapping[str, str] = field(default_factory=dict)
    """Existing Docker volumes to import instead of creating, by `service-role`."""
    host_mounts: Sequence[HostMount] = ()
    """Host directories the stack adds to the catalogue's own host mounts."""
    ipv4_address: str | None = None
    """A fixed address on the internal network (None: Docker assigns one)."""
    shared_volumes: Mapping[str, docker.Volume] = field(default_factory=dict)
    """Volumes of services started earlier, by `service-role`, for volumes this one shares."""


class UploadOutsideConfigDir(ValueError):
    """A generated file would land on the read-only root filesystem."""


def check_uploads(spec: ServiceSpec, uploads: Sequence[Upload]) -> None:
    """Every upload must go under the service's config_dir (a volume): Docker refuses to copy into
    a read-only root filesystem, and with a writable one the file would bypass the volume."""
    for upload in uploads:
        if spec.config_dir is None or not upload.path.startswith(spec.config_dir.rstrip("/") + "/"):
            raise UploadOutsideConfigDir(
                f"{spec.name}: upload {upload.path} must be under its config_dir "
                f"({spec.config_dir or 'none declared'})"
            )


def volume_name(prefix: str, service: str, role: str) -> str:
    """Host name of a service's volume."""
    return f"{prefix}-{dns_name(service)}-{role}"


def container_name(prefix: str, service: str) -> str:
    """Host name of a service's container."""
    return f"{prefix}-{dns_name(service)}"


def wait_timeout_s(spec: ServiceSpec) -> int:
    """How long `pulumi up` waits for the container to turn healthy before failing."""
    hc = spec.healthcheck
    return hc.start_period_s + hc.retries * (hc.interval_s + hc.timeout_s) + 30


def _volume_labels(args: ServiceArgs, *, data: bool) -> list[docker.VolumeLabelArgs]:
    # The data label tells the policy pack which volumes must be protected: generated config and
    # scratch volumes are rewritten on every replace and need no protection.
    return [
        docker.VolumeLabelArgs(label=f"{LABEL_PREFIX}.service", value=args.spec.name),
        docker.VolumeLabelArgs(label=f"{LABEL_PREFIX}.stack", value=args.stack),
        docker.VolumeLabelArgs(label=f"{LABEL_PREFIX}.data", value=str(data).lower()),
    ]


def _duration(seconds: int) -> str:
    return f"{seconds}s"


class Service(pulumi.ComponentResource):
    """A hardened container for one catalogue service, with its image and volumes."""

    container: docker.Container
    image: docker.RemoteImage
    volumes: dict[str, docker.Volume]
    """Volumes this service owns, by role (shared and config volumes excluded)."""
    config_volume: docker.Volume | None
    container_name: pulumi.Output[str]
    spec: ServiceSpec

    def __init__(
        self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("investment:platform:Service", name, None, opts)
        check_uploads(args.spec, args.uploads)
        self.spec = args.spec
        self.image = docker.RemoteImage(
            f"{name}-image",
            name=args.spec.image or "",
            keep_locally=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.volumes = self._create_volumes(name, args)
        self.config_volume = (
            docker.Volume(
                f"{name}-config",
                name=volume_name(args.name_prefix, args.spec.name, "config"),
                driver="local",
                labels=_volume_labels(args, data=False),
                opts=pulumi.ResourceOptions(parent=self),
            )
            if args.spec.config_dir
            else None
        )
        self.container = self._create_container(name, args)
        self.container_name = self.container.name
        self.register_outputs(
            {
                "containerName": self.container.name,
                "image": args.spec.image,
                "cpus": args.spec.cpus,
                "memoryMib": args.spec.memory_mib,
                "volumes": {role: v.name for role, v in self.volumes.items()},
            }
        )

    def _create_volumes(self, name: str, args: ServiceArgs) -> dict[str, docker.Volume]:
        volumes = {}
        for vol in args.spec.volumes:
            if vol.shared_from:
                continue
            key = f"{args.spec.name}-{vol.role}"
            adopted = args.adopt_volumes.get(key)
            host_name = adopted or volume_name(args.name_prefix, args.spec.name, vol.role)
            # Imported volumes keep exactly their existing inputs (name, driver): any extra input,
            # such as our labels, would make the import fail as a mismatch.
            labels = [] if adopted else _volume_labels(args, data=vol.data)
            volumes[vol.role] = docker.Volume(
                f"{name}-{vol.role}",
                name=host_name,
                driver="local",
                labels=labels or None,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    # Data outlives the container and the stack: a replace or a `pulumi destroy`
                    # must never take the database with it.
                    protect=vol.data,
                    retain_on_delete=vol.data,
                    import_=adopted,
                    # An adopted compose volume keeps its com.docker.compose.* labels; Docker can
                    # only change volume labels by replacing the volume, which protect forbids.
                    ignore_changes=["labels", "driverOpts"] if adopted else None,
                ),
            )
        return volumes

    def _create_container(self, name: str, args: ServiceArgs) -> docker.Container:
        spec = args.spec
        hc = spec.healthcheck
        envs: list[pulumi.Input[str]] = [f"{k}={v}" for k, v in sorted(args.env.items())]
        envs += [
            pulumi.Output.secret(pulumi.Output.concat(k, "=", v))
            for k, v in sorted(args.secret_env.items())
        ]
        mounts = []
        for vol in spec.volumes:
            source = (
                args.shared_volumes[f"{vol.shared_from}-{vol.role}"]
                if vol.shared_from
                else self.volumes[vol.role]
            )
            mounts.append(
                docker.ContainerVolumeArgs(
                    volume_name=source.name,
                    container_path=vol.path,
                    read_only=vol.read_only or None,
                )
            )
        if self.config_volume is not None and spec.config_dir:
            mounts.append(
                docker.ContainerVolumeArgs(
                    volume_name=self.config_volume.name, container_path=spec.config_dir
                )
            )
        mounts += [
            docker.ContainerVolumeArgs(
                host_path=m.host_path, container_path=m.path, read_only=m.read_only
            )
            for m in (*spec.host_mounts, *args.host_mounts)
        ]
        depends: list[pulumi.Resource] = [d.container for d in args.depends_on]
        depends += list(args.extra_depends_on)
        return docker.Container(
            f"{name}-container",
            name=container_name(args.name_prefix, spec.name),
            image=self.image.image_id,
            command=list(args.command) or None,
            entrypoints=list(spec.entrypoint) or None,
            envs=envs or None,
            cpus=f"{spec.cpus:g}",
            memory=spec.memory_mib,
            # Equal to memory: no swap, so the limit is the limit and OOM shows as OOM.
            memory_swap=spec.memory_mib,
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=list(hc.test),
                interval=_duration(hc.interval_s),
                timeout=_duration(hc.timeout_s),
                retries=hc.retries,
                start_period=_duration(hc.start_period_s),
            ),
            restart="unless-stopped",
            must_run=True,
            wait=True,
            wait_timeout=wait_timeout_s(spec),
            log_driver="json-file",
            log_opts=LOG_OPTS,
            labels=[
                docker.ContainerLabelArgs(label=f"{LABEL_PREFIX}.service", value=spec.name),
                docker.ContainerLabelArgs(label=f"{LABEL_PREFIX}.tier", value=spec.tier),
                docker.ContainerLabelArgs(label=f"{LABEL_PREFIX}.stack", value=args.stack),
                # One label per metrics endpoint, so the policy pack can check that each has a
                # scrape job in the uploaded prometheus.yml.
                *(
                    docker.ContainerLabelArgs(
                        label=f"{LABEL_PREFIX}.metrics.{m.job}", value=f"{m.port}:{m.path}"
                    )
                    for m in spec.metrics
                ),
            ],
            security_opts=["no-new-privileges:true"],
            privileged=spec.privileged or None,
            capabilities=None
            if spec.privileged
            else docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=list(spec.cap_add) or None),
            read_only=spec.read_only_rootfs,
            tmpfs={path: TMPFS_OPTS for path in spec.tmpfs} or None,
            user=spec.user,
            volumes=mounts or None,
            uploads=[
                docker.ContainerUploadArgs(file=u.path, content=u.content, permissions=u.mode)
                for u in args.uploads
            ]
            or None,
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(
                    name=args.network.name,
                    aliases=sorted({spec.name, dns_name(spec.name)}),
                    ipv4_address=args.ipv4_address,
                )
            ],
            ports=[
                docker.ContainerPortArgs(internal=p.internal, external=p.external, ip=p.ip)
                for p in args.ports
            ]
            or None,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends,
                # Container names and host ports are fixed, so the old container must go first.
                delete_before_replace=True,
            ),
        )
