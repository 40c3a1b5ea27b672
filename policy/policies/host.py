"""Policies on what a container may take from the host: privileges, capabilities, host paths,
host ports. Each exception is granted to a service AND the image it runs (workloads.py)."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from pulumi_policy import ReportViolation, StackValidationArgs, StackValidationPolicy

from .core import (
    STRING,
    STRINGS,
    UNKNOWN,
    VOLUME,
    Setting,
    items,
    lookup,
    number,
    stack_policy,
)
from .workloads import Grant, Workload, allow_list_schema, granted, grants, listing, workloads


def validate_privileged(
    args: StackValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Only allow-listed services, each running its allow-listed image, are privileged."""
    entries = grants(settings["allowed"])
    for workload in workloads(args.resources):
        if lookup(workload.resource.props, "privileged") is not True:
            continue
        if granted(workload, entries):
            continue
        report(
            f"container '{workload.service}' runs {workload.image} privileged, which gives it the "
            f"whole host; only {listing(entries)} may. Drop privileged and add the single "
            "capability it needs (cap_add in its ServiceSpec, model/catalogue.py) instead.",
            workload.resource.urn,
        )


def capability(name: str) -> str:
    """A capability as the daemon normalizes it, without its CAP_ prefix (moby
    daemon/pkg/oci/caps/utils.go NormalizeLegacyCapabilities: case-insensitive, CAP_ optional)."""
    return name.upper().removeprefix("CAP_")


def validate_capabilities(
    args: StackValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Every container drops ALL capabilities and adds back only what its allow-list entry (its
    service and image) grants. Privileged containers are privileged-allow-list's to judge."""
    entries = grants(settings["allowed"])
    for workload in workloads(args.resources):
        props = workload.resource.props
        if lookup(props, "privileged") is True:
            continue
        caps = lookup(props, "capabilities")
        drops_raw, adds_raw = lookup(caps, "drops"), lookup(caps, "adds")
        if UNKNOWN in (caps, drops_raw, adds_raw):
            continue
        drops = {capability(d) for d in items(drops_raw) if isinstance(d, str)}
        where = f"container '{workload.service}' running {workload.image}"
        if "ALL" not in drops:
            report(
                f"{where} does not drop ALL capabilities, so it keeps Docker's default set "
                "(CHOWN, DAC_OVERRIDE, FOWNER, NET_RAW, SETUID, SETGID and more). Set "
                "capabilities drops to ['ALL'] (the Service component does, "
                "components/service.py) and add back only what it needs.",
                workload.resource.urn,
            )
        entry = granted(workload, entries)
        allowed = [capability(c) for c in entry.strings("capabilities")] if entry else []
        extra = list(
            dict.fromkeys(
                capability(a)
                for a in items(adds_raw)
                if isinstance(a, str) and capability(a) not in allowed
            )
        )
        if extra:
            grant = (
                f"its entry grants {', '.join(allowed) or 'nothing'}"
                if entry
                else f"it has no entry for {workload.service} running {workload.image}"
            )
            report(
                f"{where} adds {', '.join(extra)}, which this policy's allow-list does not grant "
                f"({grant}). Remove them from cap_add in its ServiceSpec "
                "(model/catalogue.py); SYS_ADMIN, NET_ADMIN or SYS_PTRACE reach into the "
                "host.",
                workload.resource.urn,
            )


SENSITIVE_HOST_PATHS: Final = (
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/",
    "/etc",
    "/root",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/var/lib/docker",
    "/home",
)
"""Host paths no container may mount unless allow-listed: the Docker socket (root on the host),
the root, system and home directories. Their parents count too (/var/run holds the socket)."""


def host_path(path: str) -> str | None:
    """An absolute host path in canonical form (`//etc/./x/` is /etc/x); None when it is not
    absolute (Docker reads such a `host_path` as a volume name, not a path)."""
    if not path.startswith("/"):
        return None
    return posixpath.normpath(re.sub(r"/+", "/", path))


def is_sensitive(path: str, sensitive: Sequence[str]) -> bool:
    """Whether mounting host `path` exposes a sensitive path: it is one, lies inside one (other
    than /), or contains one (mounting /var/run mounts the Docker socket)."""
    for raw in sensitive:
        other = host_path(raw)
        if other is None:
            continue
        if path == other or path == "/":
            return True
        if other != "/" and (path.startswith(other + "/") or other.startswith(path + "/")):
            return True
    return False


def _binds(props: Any) -> Iterator[tuple[str, str, bool]]:
    """(host path, container path, read-only) of every bind mount and device of a container."""
    for volume in items(lookup(props, "volumes")):
        source = lookup(volume, "hostPath")
        if isinstance(source, str) and source:
            yield source, str(lookup(volume, "containerPath")), lookup(volume, "readOnly") is True
    for mount in items(lookup(props, "mounts")):
        source = lookup(mount, "source")
        if lookup(mount, "type") == "bind" and isinstance(source, str):
            yield source, str(lookup(mount, "target")), lookup(mount, "readOnly") is True
    for device in items(lookup(props, "devices")):
        source = lookup(device, "hostPath")
        if isinstance(source, str):
            permissions = lookup(device, "permissions")
            writable = not isinstance(permissions, str) or "w" in permissions
            target = lookup(device, "containerPath") or source
            yield source, str(target), not writable


_MOUNT_FIX: Final = (
    "the Docker socket and the host's root, system and home directories give a container the "
    "host. Mount a directory of its own instead (for the backup job's off-host copy, set "
    "backup.offhostDir in Pulumi.<stack>.yaml to one, e.g. /srv/investment-backups); a path "
    "this policy's allow-list grants a service and image may only be mounted read-only "
    "(HostMount in model/catalogue.py)."
)


def _mount_problems(workload: Workload, entry: Grant | None, sensitive: Sequence[str]) -> list[str]:
    allowed = {host_path(p) for p in entry.strings("hostPaths")} if entry else set()
    problems = []
    for source, target, read_only in _binds(workload.resource.props):
        path = host_path(source)
        if path is None or not is_sensitive(path, sensitive):
            continue
        if path in allowed and read_only:
            continue
        mode = "read-only" if read_only else "read-write"
        granted_note = " (allowed read-only only)" if path in allowed else ""
        problems.append(f"{path} at {target} {mode}{granted_note}")
    return problems


def validate_host_mounts(
    args: StackValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """No container mounts the Docker socket or a sensitive host path, except the paths an
    allow-list entry grants its service and image, read-only; no volume binds one either."""
    entries = grants(settings["allowed"])
    extra = [p for p in items(settings["extraSensitivePaths"]) if isinstance(p, str) and p]
    sensitive = [*SENSITIVE_HOST_PATHS, *extra]
    for workload in workloads(args.resources):
        problems = _mount_problems(workload, granted(workload, entries), sensitive)
        if problems:
            report(
                f"container '{workload.service}' running {workload.image} mounts the host's "
                f"{', '.join(problems)}; {_MOUNT_FIX}",
                workload.resource.urn,
            )
    for volume in args.resources:
        if volume.resource_type != VOLUME:
            continue
        options = lookup(volume.props, "driverOpts")
        device, binding = lookup(options, "device"), lookup(options, "o")
        if not isinstance(device, str) or not isinstance(binding, str):
            continue
        path = host_path(device)
        if "bind" in binding.split(",") and path and is_sensitive(path, sensitive):
            name = lookup(volume.props, "name")
            report(
                f"volume '{name if isinstance(name, str) else volume.name}' binds the host's "
                f"{path} (driver_opts o={binding}), so every container that mounts it gets that "
                f"host path; {_MOUNT_FIX}",
                volume.urn,
            )


def environment(forced: Any) -> str:
    """`dev` for the stack named dev and stacks named dev-*, `prod` for every other, from the
    stack name the CLI hands the pack (PULUMI_STACK, pulumi pkg/resource/plugin/analyzer_plugin.go
    constructEnv). The policy's `environment` setting can only force prod, never relax it."""
    if forced == "prod":
        return "prod"
    stack = os.environ.get("PULUMI_STACK", "")
    return "dev" if stack == "dev" or stack.startswith("dev-") else "prod"


def validate_published_ports(
    args: StackValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """In prod only the public edge (its service and image) publishes host ports; in dev the
    others publish on loopback only."""
    entries = grants(settings["publicServices"])
    env = environment(settings.get("environment"))
    stack = os.environ.get("PULUMI_STACK", "")
    for workload in workloads(args.resources):
        if granted(workload, entries):
            continue
        bad = []
        for port in items(lookup(workload.resource.props, "ports")):
            ip = lookup(port, "ip")
            host_ip = ip if isinstance(ip, str) and ip else "0.0.0.0"
            if env == "dev" and host_ip in ("127.0.0.1", "::1"):
                continue
            external, internal = lookup(port, "external"), lookup(port, "internal")
            bad.append(f"{host_ip}:{number(external)}->{number(internal)}")
        if not bad:
            continue
        where = (
            "ports must bind 127.0.0.1"
            if env == "dev"
            else f"stack '{stack}' is prod (every stack but dev and dev-* is), where no internal "
            "port may be"
        )
        report(
            f"container '{workload.service}' running {workload.image} publishes "
            f"{', '.join(bad)} on the host, but {where}; services talk over the internal network "
            f"and users come in through {listing(entries)}. Remove the port (prod sets "
            "publishPorts: false).",
            workload.resource.urn,
        )


_STRINGS_DETAIL: Final = {"type": "array", "items": {"type": "string"}}


def policies() -> list[StackValidationPolicy]:
    """The host-access policies, in report order."""
    return [
        stack_policy(
            "privileged-allow-list",
            "Only allow-listed services running their allow-listed image are privileged.",
            validate_privileged,
            settings={
                "allowed": Setting(
                    allow_list_schema(),
                    [{"service": "cadvisor", "image": "gcr.io/cadvisor/cadvisor"}],
                )
            },
        ),
        stack_policy(
            "capabilities-allow-list",
            "Containers drop ALL capabilities and add back only what their allow-list grants.",
            validate_capabilities,
            settings={
                "allowed": Setting(
                    allow_list_schema(capabilities=_STRINGS_DETAIL),
                    [
                        {
                            "service": "postgres",
                            "image": "postgres",
                            "capabilities": ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETUID", "SETGID"],
                        },
                        {
                            "service": "nginx",
                            "image": "nginx",
                            "capabilities": ["NET_BIND_SERVICE", "SETUID", "SETGID", "CHOWN"],
                        },
                    ],
                )
            },
        ),
        stack_policy(
            "no-sensitive-host-mounts",
            "No container mounts the Docker socket or a sensitive host path unless allow-listed.",
            validate_host_mounts,
            settings={
                "allowed": Setting(
                    allow_list_schema(hostPaths=_STRINGS_DETAIL),
                    [
                        {
                            "service": "cadvisor",
                            "image": "gcr.io/cadvisor/cadvisor",
                            "hostPaths": ["/", "/var/run", "/sys", "/var/lib/docker"],
                        }
                    ],
                ),
                "extraSensitivePaths": Setting(STRINGS, []),
            },
        ),
        stack_policy(
            "no-internal-ports-published",
            "In prod only the public edge proxy publishes ports on the host.",
            validate_published_ports,
            settings={
                "environment": Setting({**STRING, "enum": ["prod"]}),
                "publicServices": Setting(
                    allow_list_schema(), [{"service": "nginx", "image": "nginx"}]
                ),
            },
        ),
    ]
