"""Data volumes survive a replace or a destroy: judged by what the containers do with them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .core import UNKNOWN, VOLUME, Setting, items, lookup, stack_policy
from .workloads import Workload, allow_list_schema, granted, grants, workloads


def _volume_mounts(workload: Workload) -> Iterator[tuple[Any, str, bool, str]]:
    """(volume name or UNKNOWN, container path, read-only, property) of each named-volume mount."""
    props = workload.resource.props
    for volume in items(lookup(props, "volumes")):
        name = lookup(volume, "volumeName")
        if name is not None and not lookup(volume, "hostPath"):
            yield (
                name,
                str(lookup(volume, "containerPath")),
                lookup(volume, "readOnly") is True,
                ("volumes"),
            )
    for mount in items(lookup(props, "mounts")):
        if lookup(mount, "type") == "volume":
            read_only = lookup(mount, "readOnly") is True
            yield lookup(mount, "source"), str(lookup(mount, "target")), read_only, "mounts"


def _volume_name(volume: PolicyResource) -> str:
    name = lookup(volume.props, "name")
    return name if isinstance(name, str) else volume.name


def validate_data_volumes_protected(
    args: StackValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Every volume a long-running container mounts read-write is protected, unless each such
    mount is one the scratch allow-list grants (its service, image and path). What a volume says
    about itself (its labels) exempts nothing."""
    volumes = [r for r in args.resources if r.resource_type == VOLUME]
    by_name: dict[str, list[PolicyResource]] = {}
    for volume in volumes:
        by_name.setdefault(_volume_name(volume), []).append(volume)
    scratch = grants(settings["scratch"])
    writers: dict[str, list[str]] = {}
    for workload in workloads(args.resources):
        if workload.job:
            continue
        entry = granted(workload, scratch)
        scratch_path = entry.details.get("path") if entry else None
        for name, target, read_only, prop in _volume_mounts(workload):
            if read_only or target == scratch_path:
                continue
            if name is UNKNOWN:
                # Not named yet during a preview: the volumes this property depends on.
                candidates = [
                    d
                    for d in workload.resource.property_dependencies.get(prop, [])
                    if d.resource_type == VOLUME
                ]
            else:
                candidates = by_name.get(str(name), [])
            for volume in candidates:
                writers.setdefault(volume.urn, []).append(f"{workload.service} at {target}")
    for volume in volumes:
        if volume.urn in writers and not volume.opts.protect:
            report(
                f"volume '{_volume_name(volume)}' is mounted read-write by "
                f"{', '.join(writers[volume.urn])} but is not protected, so a replace or "
                "`pulumi destroy` deletes its data. Set protect=True and retain_on_delete=True "
                "on it (the Service component does for a Volume with data=True, "
                "model/catalogue.py); a label does not exempt it. Only protect can be "
                "checked: the analyzer protocol does not carry retainOnDelete.",
                volume.urn,
            )


def policies() -> list[StackValidationPolicy]:
    """The volume policies."""
    return [
        stack_policy(
            "data-volumes-protected",
            "Volumes that long-running containers write to are protected against deletion.",
            validate_data_volumes_protected,
            settings={
                "scratch": Setting(
                    allow_list_schema(path={"type": "string"}),
                    [
                        {
                            "service": "celery_beat",
                            "image": "ghcr.io/investment-platform/backend",
                            "path": "/var/lib/celery",
                        },
                        {
                            "service": "certbot",
                            "image": "certbot/certbot",
                            "path": "/var/www/certbot",
                        },
                    ],
                )
            },
        )
    ]
