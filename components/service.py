"""One platform service as a Docker container, its pinned image and its named volumes.

A single component driven by typed specs, rather than a class per service kind: every service needs
the same hardening (limits, health check, restart policy, log rotation, dropped capabilities,
no-new-privileges, read-only root where the image allows), and what differs between kinds is data
in the catalogue. A class per kind would repeat that hardening seventeen times and let it drift.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_docker as docker

from model.catalogue import (
    HostMount,
    InitJob,
    ServiceSpec,
    container_name,
    dns_name,
    docker_cpus,
    volume_name,
    wait_timeout_s,
)
from model.labels import (
    DATA_LABEL,
    JOB_LABEL,
    SERVICE_LABEL,
    STACK_LABEL,
    TIER_LABEL,
    job_gate_label,
    metrics_label,
)
from model.topology import PortBinding

LOG_OPTS = {"max-size": "10m", "max-file": "3"}
TMPFS_OPTS = "rw,nosuid,nodev,size=64m"

STAGING_DIR = "/staging"
"""Where the config writer receives the uploads, in its own writable root filesystem."""
TARGET_DIR = "/config"
"""Where the config writer mounts the service's config volume."""
# Replaces the volume's whole content, so a file the program stops generating disappears too; the
# three globs match every entry, dot files included (POSIX sh, no `find -delete`, which some busybox
# builds lack). `cp -a` keeps the modes the uploads carry (0755 scripts, a 0600 key).
WRITER_SCRIPT = (
    'set -eu; staging="$1"; target="$2"; '
    'rm -rf "$target"/* "$target"/.[!.]* "$target"/..?*; '
    'cp -a "$staging/." "$target/"; '
    'echo "config-writer: $(find "$target" -type f | wc -l) files written to $target"'
)
WRITER_MEMORY_MIB = 32
WRITER_CPUS = 0.25


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


class JobFailedError(pulumi.RunError):
    """A one-shot job exited non-zero; the service that needs it is not started."""


def job_gate(container: str, role: str) -> Callable[[Sequence[Any]], str]:
    """The value of the service's `<label prefix>.job.<role>` label: the job's fingerprint once
    the job has exited 0.

    The service's container takes this value as an input, so the provider creates it only after
    the job succeeded (the provider itself records a failed one-shot's exit code and moves on), and
    a new fingerprint (changed generated files) replaces it, so the service reads the new files.
    The exit code is unknown during a preview and under the SDK's mocks: then the fingerprint alone.
    """

    def gate(values: Sequence[Any]) -> str:
        exit_code, fingerprint = values
        if exit_code is not None and int(exit_code) != 0:
            raise JobFailedError(
                f"{container} ({role}) exited with code {int(exit_code)}, so the service that "
                f"needs it was not started; read `docker logs {container}`, fix the cause, then "
                f"run `pulumi up --replace` with the URN of {container}"
            )
        return str(fingerprint)

    return gate


def files_fingerprint(files: Sequence[tuple[str, str, str]]) -> str:
    """sha256 over (path, mode, content) of every generated file, in path order."""
    digest = hashlib.sha256()
    for path, mode, content in sorted(files):
        for part in (path, mode, content):
            digest.update(part.encode())
            digest.update(b"\0")
    return f"sha256:{digest.hexdigest()}"


def staging_path(spec: ServiceSpec, upload_path: str) -> str:
    """Where the config writer receives an upload bound for `upload_path` in the service."""
    relative = upload_path.removeprefix((spec.config_dir or "").rstrip("/") + "/")
    return f"{STAGING_DIR}/{relative}"


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
    writer_image: docker.RemoteImage | None = None
    """The config writer's image (CONFIG_WRITER_IMAGE), shared by every service with uploads."""
    init_env: Mapping[str, str] = field(default_factory=dict)
    """Plain environment of the init job, over the service's own."""
    init_secret_env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Secret environment of the init job, over the service's own (its login, for one)."""


class UploadOutsideConfigDir(ValueError):
    """A generated file is not bound for the service's config directory."""


def check_uploads(spec: ServiceSpec, uploads: Sequence[Upload]) -> None:
    """Every generated file must go under the service's config_dir: the config writer fills that
    directory's volume, which the service mounts read-only there."""
    for upload in uploads:
        if spec.config_dir is None or not upload.path.startswith(spec.config_dir.rstrip("/") + "/"):
            raise UploadOutsideConfigDir(
                f"{spec.name}: upload {upload.path} must be under its config_dir "
                f"({spec.config_dir or 'none declared'})"
            )


def _volume_labels(args: ServiceArgs, *, data: bool) -> list[docker.VolumeLabelArgs]:
    # The data label tells the policy pack which volumes must be protected: generated config and
    # scratch volumes are rewritten on every replace and need no protection.
    return [
        docker.VolumeLabelArgs(label=SERVICE_LABEL, value=args.spec.name),
        docker.VolumeLabelArgs(label=STACK_LABEL, value=args.stack),
        docker.VolumeLabelArgs(label=DATA_LABEL, value=str(data).lower()),
    ]


def go_duration(seconds: int) -> str:
    """Seconds as Go's time.Duration.String() writes them ("30s", "1m0s", "5m0s", "1h0m0s").

    The docker provider reads a container's health check back as Interval.String() and has no
    diff suppression for it, so "300s" in the program against "5m0s" in the state would show a
    change on every preview; written this way, what the program sends is what the state holds.
    """
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def job_container_name(args: ServiceArgs, role: str) -> str:
    """Host name of one of the service's job containers."""
    return f"{container_name(args.name_prefix, args.spec.name)}-{role}"


def _envs(
    env: Mapping[str, str], secret_env: Mapping[str, pulumi.Input[str]]
) -> list[pulumi.Input[str]]:
    envs: list[pulumi.Input[str]] = [f"{k}={v}" for k, v in sorted(env.items())]
    envs += [
        pulumi.Output.secret(pulumi.Output.concat(k, "=", v)) for k, v in sorted(secret_env.items())
    ]
    return envs


def _job_labels(args: ServiceArgs, role: str) -> list[docker.ContainerLabelArgs]:
    return [
        docker.ContainerLabelArgs(label=SERVICE_LABEL, value=args.spec.name),
        docker.ContainerLabelArgs(label=TIER_LABEL, value=args.spec.tier),
        docker.ContainerLabelArgs(label=STACK_LABEL, value=args.stack),
        docker.ContainerLabelArgs(label=JOB_LABEL, value=role),
    ]


def _one_shot_options(cpus: float, memory_mib: int) -> dict[str, Any]:
    """What every one-shot job shares: limits and hardening like a service, but run to completion.

    `attach` makes the provider wait for the container to exit and record its exit code;
    `must_run=False` keeps an exited job from reading as drift (with must_run the provider's Read
    flags a stopped container and recreates it); `restart="no"` so it runs once; kept after it
    exits (no `rm`), or the next refresh would find it gone and create it again.
    """
    return {
        "attach": True,
        "must_run": False,
        "restart": "no",
        "cpus": docker_cpus(cpus),
        "memory": memory_mib,
        "memory_swap": memory_mib,
        "log_driver": "json-file",
        "log_opts": LOG_OPTS,
        "security_opts": ["no-new-privileges:true"],
        "capabilities": docker.ContainerCapabilitiesArgs(drops=["ALL"]),
        "stop_timeout": 10,
        "destroy_grace_seconds": 10,
    }


class Service(pulumi.ComponentResource):
    """A hardened container for one catalogue service, with its image, its volumes and the
    one-shot jobs that must succeed before it starts.

    Generated files do not go into the service's container: Docker refuses any upload into a
    container whose root filesystem is read-only (the provider extracts each upload at `/`), so a
    one-shot config writer receives them and copies them into the service's config volume, which
    the service mounts read-only. The files' fingerprint is a label of the service's container, so
    a changed file replaces the container, which then reads the new files.
    """

    container: docker.Container
    image: docker.RemoteImage
    volumes: dict[str, docker.Volume]
    """Volumes this service owns, by role (shared and config volumes excluded)."""
    config_volume: docker.Volume | None
    jobs: dict[str, docker.Container]
    """One-shot job containers by role: `config` (the config writer) and the spec's init job."""
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
        self.jobs = {}
        gates: dict[str, pulumi.Output[str]] = {}
        if args.uploads:
            writer, fingerprint = self._create_config_writer(name, args)
            self.jobs["config"] = writer
            gates["config"] = fingerprint
        if args.spec.init is not None:
            job = self._create_init_job(name, args, args.spec.init)
            self.jobs[args.spec.init.role] = job
            gates[args.spec.init.role] = pulumi.Output.all(
                job.exit_code, " ".join(args.spec.init.command)
            ).apply(job_gate(job_container_name(args, args.spec.init.role), args.spec.init.role))
        self.container = self._create_container(name, args, gates)
        self.container_name = self.container.name
        self.register_outputs(
            {
                "containerName": self.container.name,
                "image": args.spec.image,
                "cpus": args.spec.cpus,
                "memoryMib": args.spec.memory_mib,
                "volumes": {role: v.name for role, v in self.volumes.items()},
                "jobs": {role: job.name for role, job in self.jobs.items()},
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

    def _create_config_writer(
        self, name: str, args: ServiceArgs
    ) -> tuple[docker.Container, pulumi.Output[str]]:
        """The one-shot container that fills the config volume, and the gated fingerprint."""
        if args.writer_image is None or self.config_volume is None:
            raise ValueError(f"{args.spec.name}: uploads need a writer image and a config_dir")
        spec = args.spec
        container = job_container_name(args, "config-writer")
        writer = docker.Container(
            f"{name}-config-writer",
            name=container,
            image=args.writer_image.image_id,
            command=["sh", "-c", WRITER_SCRIPT, "config-writer", STAGING_DIR, TARGET_DIR],
            uploads=[
                docker.ContainerUploadArgs(
                    file=staging_path(spec, u.path), content=u.content, permissions=u.mode
                )
                for u in args.uploads
            ],
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=self.config_volume.name, container_path=TARGET_DIR
                )
            ],
            # It needs no network at all.
            network_mode="none",
            # Uploads need a writable root filesystem (the daemon's checkWritablePath); the writer
            # runs for a second and holds nothing but the files it copies.
            read_only=False,
            labels=_job_labels(args, "config"),
            **_one_shot_options(WRITER_CPUS, WRITER_MEMORY_MIB),
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        contents = pulumi.Output.all(*(u.content for u in args.uploads))
        fingerprint = contents.apply(
            lambda texts: files_fingerprint(
                [(u.path, u.mode, text) for u, text in zip(args.uploads, texts, strict=True)]
            )
        )
        gated = pulumi.Output.all(writer.exit_code, fingerprint).apply(
            job_gate(container, "config")
        )
        return writer, gated

    def _create_init_job(self, name: str, args: ServiceArgs, job: InitJob) -> docker.Container:
        """The spec's init job: the service's image, environment, user and network."""
        spec = args.spec
        return docker.Container(
            f"{name}-{job.role}",
            name=job_container_name(args, job.role),
            image=self.image.image_id,
            command=list(job.command),
            envs=_envs({**args.env, **args.init_env}, {**args.secret_env, **args.init_secret_env})
            or None,
            user=spec.user,
            read_only=spec.read_only_rootfs,
            tmpfs={path: TMPFS_OPTS for path in spec.tmpfs} or None,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=args.network.name)],
            labels=_job_labels(args, job.role),
            **_one_shot_options(spec.cpus, spec.memory_mib),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    *(d.container for d in args.depends_on),
                    *args.extra_depends_on,
                ],
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(create=f"{job.timeout_s}s"),
            ),
        )

    def _create_container(
        self, name: str, args: ServiceArgs, gates: Mapping[str, pulumi.Output[str]]
    ) -> docker.Container:
        spec = args.spec
        hc = spec.healthcheck
        envs = _envs(args.env, args.secret_env)
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
            # Only the config writer writes here.
            mounts.append(
                docker.ContainerVolumeArgs(
                    volume_name=self.config_volume.name,
                    container_path=spec.config_dir,
                    read_only=True,
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
        depends += list(self.jobs.values())
        return docker.Container(
            f"{name}-container",
            name=container_name(args.name_prefix, spec.name),
            image=self.image.image_id,
            command=list(args.command) or None,
            entrypoints=list(spec.entrypoint) or None,
            envs=envs or None,
            cpus=docker_cpus(spec.cpus),
            memory=spec.memory_mib,
            # Equal to memory: no swap, so the limit is the limit and OOM shows as OOM.
            memory_swap=spec.memory_mib,
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=list(hc.test),
                interval=go_duration(hc.interval_s),
                timeout=go_duration(hc.timeout_s),
                retries=hc.retries,
                start_period=go_duration(hc.start_period_s),
            ),
            restart="unless-stopped",
            must_run=True,
            wait=True,
            wait_timeout=wait_timeout_s(spec),
            stop_timeout=spec.stop_grace_s,
            destroy_grace_seconds=spec.stop_grace_s,
            log_driver="json-file",
            log_opts=LOG_OPTS,
            labels=[
                docker.ContainerLabelArgs(label=SERVICE_LABEL, value=spec.name),
                docker.ContainerLabelArgs(label=TIER_LABEL, value=spec.tier),
                docker.ContainerLabelArgs(label=STACK_LABEL, value=args.stack),
                # One label per metrics endpoint, so the policy pack can check that each has a
                # scrape job in the uploaded prometheus.yml.
                *(
                    docker.ContainerLabelArgs(
                        label=metrics_label(m.job), value=f"{m.port}:{m.path}"
                    )
                    for m in spec.metrics
                ),
                *(
                    docker.ContainerLabelArgs(label=job_gate_label(role), value=value)
                    for role, value in sorted(gates.items())
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
