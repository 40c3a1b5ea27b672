"""Policies on each container's own inputs: limits, health, restarts, privileges, namespaces."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from .core import CONTAINER, UNKNOWN, is_job, items, lookup, resource_policy, service_of


def _positive(value: Any) -> bool:
    try:
        return float(value) > 0
    except (TypeError, ValueError):
        return False


def validate_limits(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Every container, one-shot jobs included, sets a CPU limit and a memory limit."""
    if args.resource_type != CONTAINER:
        return
    missing = [
        key
        for key in ("cpus", "memory")
        if (value := lookup(args.props, key)) is not UNKNOWN and not _positive(value)
    ]
    if missing:
        service = service_of(args.props, args.name)
        report(
            f"container '{service}' has no {' and no '.join(missing)} limit; an unlimited "
            "container can starve or OOM the whole host. Set cpus and memory_mib in its "
            "ServiceSpec (model/catalogue.py) or the stack's services override.",
            None,
        )


def validate_healthcheck(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Every long-running container has a health check that runs a command (a one-shot job's
    success is its exit code, which `pulumi up` waits for)."""
    if args.resource_type != CONTAINER or is_job(args.props):
        return
    healthcheck = lookup(args.props, "healthcheck")
    if healthcheck is UNKNOWN:
        return
    tests = [t for t in items(lookup(healthcheck, "tests")) if isinstance(t, str)]
    if not tests or tests[0] == "NONE":
        service = service_of(args.props, args.name)
        report(
            f"container '{service}' has no health check, so nothing waits for it to be ready and "
            "a hung process stays 'running'. Give its ServiceSpec a HealthCheck whose command "
            "exists in the image.",
            None,
        )


RESTART_POLICIES: Final = ("unless-stopped", "always", "on-failure")


def validate_restart(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """A long-running container restarts after a crash or a reboot; a container `pulumi up`
    attaches to (a one-shot job) never restarts.

    With `attach` the provider waits only until the container first stops
    (kreuzwerker/terraform-provider-docker resource_docker_container_funcs.go: ContainerWait
    with WaitConditionNotRunning), and dockerd wakes that wait on a restart too (moby
    daemon/container/state.go SetRestarting notifies stopWaiters), so any restart policy would
    run the job again and again behind `pulumi up`'s back.
    """
    if args.resource_type != CONTAINER:
        return
    restart = lookup(args.props, "restart")
    if restart is UNKNOWN:
        return
    service = service_of(args.props, args.name)
    # The provider's default restart policy is "no".
    policy = restart if isinstance(restart, str) and restart else "no"
    if lookup(args.props, "attach") is True:
        if policy != "no":
            report(
                f"container '{service}' is a one-shot job (attach: true) with restart policy "
                f"'{policy}', so Docker runs it again after it exits; set restart to 'no' (the "
                "Service component's one-shot jobs do, components/service.py).",
                None,
            )
        return
    if not policy.startswith(RESTART_POLICIES):
        report(
            f"container '{service}' has restart policy '{policy}'; set restart to "
            "'unless-stopped' (the Service component does) so it survives crashes and reboots.",
            None,
        )


def no_new_privileges(security_opts: Any) -> bool:
    """Whether Docker runs the container with no-new-privileges, reading `security_opts` as the
    daemon does (moby daemon/daemon_unix.go parseSecurityOpt: the bare option, or `=`/`:` and a
    Go boolean; the last one wins; an invalid value makes the daemon refuse the container)."""
    enabled = False
    for opt in items(security_opts):
        if not isinstance(opt, str):
            continue
        if opt == "no-new-privileges":
            enabled = True
            continue
        key, _, value = opt.partition("=" if "=" in opt else ":")
        if key == "no-new-privileges":
            enabled = value in ("1", "t", "T", "TRUE", "true", "True")
    return enabled


def validate_no_new_privileges(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Every container runs with no-new-privileges, so no setuid binary can raise its privileges."""
    if args.resource_type != CONTAINER:
        return
    security_opts = lookup(args.props, "securityOpts")
    if security_opts is UNKNOWN or no_new_privileges(security_opts):
        return
    service = service_of(args.props, args.name)
    report(
        f"container '{service}' runs without no-new-privileges, so a setuid binary in its image "
        'can gain privileges its process never had; add "no-new-privileges:true" to its '
        "security_opts (the Service component sets it on every container, "
        "components/service.py).",
        None,
    )


_NAMESPACES: Final = {
    "networkMode": "network",
    "pidMode": "process",
    "ipcMode": "IPC",
    "usernsMode": "user",
}


def validate_no_host_namespaces(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """No container joins the host's network, process, IPC or user namespace."""
    if args.resource_type != CONTAINER:
        return
    shared = [
        key
        for key in _NAMESPACES
        if isinstance(mode := lookup(args.props, key), str) and mode.lower() == "host"
    ]
    if shared:
        service = service_of(args.props, args.name)
        names = " and ".join(_NAMESPACES[key] for key in shared)
        plural = "s" if len(shared) > 1 else ""
        settings_text = ", ".join(f"{key}: host" for key in shared)
        report(
            f"container '{service}' shares the host's {names} namespace{plural} "
            f"({settings_text}), which takes away Docker's isolation from the host's network, "
            f"processes and memory; remove {' and '.join(shared)} so it gets namespaces of its own "
            "and talks over the internal network (networks_advanced, components/service.py).",
            None,
        )


def validate_uploads_writable_root(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """A container that receives uploads has a writable root filesystem.

    The provider sends every upload as a tar whose entry carries the file's full path and extracts
    it at `/` (kreuzwerker/terraform-provider-docker internal/provider/
    resource_docker_container_funcs.go: CopyToContainer with dstPath "/"), and dockerd refuses an
    extraction point outside a writable volume when the root filesystem is read-only (moby
    daemon/archive_unix.go checkWritablePath: "container rootfs is marked read-only"), whatever
    volume the file would end in.
    """
    if args.resource_type != CONTAINER or lookup(args.props, "readOnly") is not True:
        return
    uploads = [u for u in items(lookup(args.props, "uploads")) if u is not None]
    if not uploads:
        return
    service = service_of(args.props, args.name)
    report(
        f"container '{service}' has {len(uploads)} upload(s) but a read-only root filesystem; "
        "the provider extracts every upload at / and the Docker daemon refuses that when the "
        "root filesystem is read-only, so `pulumi up` fails. Give the files to a one-shot config "
        "writer (readOnly: false) that copies them into a config volume, and mount that volume "
        "read-only in the service (components/service.py).",
        None,
    )


def policies() -> list[ResourceValidationPolicy]:
    """The container policies, in report order."""
    return [
        resource_policy(
            "container-resource-limits",
            "Every container, one-shot jobs included, sets a CPU limit and a memory limit.",
            validate_limits,
        ),
        resource_policy(
            "container-health-check",
            "Every long-running container has a health check that runs a command.",
            validate_healthcheck,
        ),
        resource_policy(
            "container-restart-policy",
            "Services restart after a crash or a reboot, and one-shot jobs never restart.",
            validate_restart,
        ),
        resource_policy(
            "no-new-privileges",
            "Every container runs with no-new-privileges.",
            validate_no_new_privileges,
        ),
        resource_policy(
            "no-host-namespaces",
            "No container shares the host's network, process, IPC or user namespace.",
            validate_no_host_namespaces,
        ),
        resource_policy(
            "uploads-need-writable-root",
            "A container that receives uploads does not have a read-only root filesystem.",
            validate_uploads_writable_root,
        ),
    ]
