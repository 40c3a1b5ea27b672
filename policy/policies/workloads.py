"""Which service and image each container is, and the allow-lists that grant exceptions to both.

An exception (privileged, a host path, a capability, a public port, a scratch volume) is granted to
a service label AND an image repository together: a container cannot claim one by relabelling
itself, it must also run that image. The container's `image` input is the RemoteImage's image ID
(`sha256:...`), not a name, so the repository is found through the resource that produced it,
which only `AnalyzeStack` sees: the policies that grant exceptions are stack policies.

How the image is found, in order (each the first that gives exactly one answer):
1. the container's `image` is itself a named reference;
2. the engine's property dependencies of `image` name the RemoteImage (pulumi
   pkg/resource/plugin/analyzer_plugin.go AnalyzeStack sends `propertyDependencies`);
3. a RemoteImage's output `imageId` equals the container's `image`;
4. only when no property dependencies were sent at all (offline, while the recording keeps none):
   the one RemoteImage among the container's dependencies.
Anything else (a literal ID no RemoteImage produced, two candidate images) is "unidentified" and
matches no allow-list entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import PolicyResource

from .core import CONTAINER, REMOTE_IMAGE, is_job, lookup, service_of
from .references import repository

UNIDENTIFIED: Final = "an unidentified image"


@dataclass(frozen=True)
class Workload:
    """A container as the allow-lists see it."""

    resource: PolicyResource
    """The container resource (its props are its outputs, during a preview its planned state)."""
    service: str
    """Its service label (or name)."""
    repository: str | None
    """The normalized repository of the image it runs, None when it cannot be identified."""
    job: bool
    """Whether it is a one-shot job (attach, mustRun false)."""

    @property
    def image(self) -> str:
        """The repository for messages."""
        return self.repository or UNIDENTIFIED


def _named(ref: Any) -> str | None:
    return repository(ref) if isinstance(ref, str) else None


def _only(repositories: Sequence[str | None]) -> str | None:
    distinct = set(repositories)
    return distinct.pop() if len(distinct) == 1 else None


def image_repository(container: PolicyResource, images: Sequence[PolicyResource]) -> str | None:
    """The repository of the image a container runs (see the module docstring for how)."""
    ref = lookup(container.props, "image")
    direct = _named(ref)
    if direct:
        return direct
    by_property = [
        d
        for d in container.property_dependencies.get("image", [])
        if d.resource_type == REMOTE_IMAGE
    ]
    if by_property:
        return _only([_named(lookup(d.props, "name")) for d in by_property])
    if isinstance(ref, str):
        producers = [i for i in images if lookup(i.props, "imageId") == ref]
        if producers:
            return _only([_named(lookup(i.props, "name")) for i in producers])
    if container.property_dependencies:
        return None
    depended = [d for d in container.dependencies if d.resource_type == REMOTE_IMAGE]
    return _only([_named(lookup(d.props, "name")) for d in depended])


def workloads(resources: Sequence[PolicyResource]) -> list[Workload]:
    """Every container of the stack with its service, image and kind."""
    images = [r for r in resources if r.resource_type == REMOTE_IMAGE]
    return [
        Workload(
            resource=r,
            service=service_of(r.props, r.name),
            repository=image_repository(r, images),
            job=is_job(r.props),
        )
        for r in resources
        if r.resource_type == CONTAINER
    ]


@dataclass(frozen=True)
class Grant:
    """One allow-list entry: a service running an image, and what the entry grants it."""

    service: str
    repository: str
    details: Mapping[str, Any]
    """The entry's other keys (capabilities, hostPaths, path)."""

    def strings(self, key: str) -> list[str]:
        """A list-of-strings detail (empty when absent or malformed)."""
        value = self.details.get(key)
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    def __str__(self) -> str:
        return f"{self.service} running {self.repository}"


def grants(raw: Any) -> list[Grant]:
    """The well-formed entries of an allow-list setting; an entry without both a service and a
    valid image reference grants nothing (a malformed config can only make the pack stricter)."""
    found = []
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, Mapping):
            continue
        service, image = entry.get("service"), entry.get("image")
        repo = repository(image) if isinstance(image, str) else None
        if isinstance(service, str) and service and repo:
            details = {k: v for k, v in entry.items() if k not in ("service", "image")}
            found.append(Grant(service=service, repository=repo, details=details))
    return found


def granted(workload: Workload, entries: Sequence[Grant]) -> Grant | None:
    """The entry for this container's service and image, if there is one."""
    for entry in entries:
        if entry.service == workload.service and entry.repository == workload.repository:
            return entry
    return None


def listing(entries: Sequence[Grant]) -> str:
    """The entries for a message: `cadvisor running gcr.io/cadvisor/cadvisor`, or `none`."""
    return "; ".join(str(e) for e in entries) or "none"


def allow_list_schema(**details: Mapping[str, Any]) -> dict[str, Any]:
    """JSON schema of an allow-list: entries of service, image and the given details."""
    return {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "service": {"type": "string"},
                "image": {"type": "string", "description": "repository, e.g. nginx or ghcr.io/a/b"},
                **details,
            },
            "required": ["service", "image", *details],
        },
    }
