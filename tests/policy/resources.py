"""Synthetic resources for driving the policy pack: the shapes the program registers."""

from __future__ import annotations

import dataclasses
from typing import Any

from google.protobuf import json_format, struct_pb2

from commands.offline import PlanResult, RecordedResource, struct_from_bytes

PROJECT = "investment-platform"
SECRET_SIG = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
CONTAINER = "docker:index/container:Container"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
VOLUME = "docker:index/volume:Volume"


def secret(value: Any) -> dict[str, Any]:
    """A value marked secret, as the engine sends it."""
    return {**SECRET_SIG, "value": value}


def urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


def resource(
    type_: str,
    name: str,
    inputs: dict[str, Any],
    *,
    stack: str = "prod",
    protect: bool = False,
    dependencies: list[str] | None = None,
) -> RecordedResource:
    """A recorded resource with `inputs` serialized as the SDK would (secrets marked)."""
    struct = struct_pb2.Struct()
    struct.update(inputs)
    return RecordedResource(
        type=type_,
        name=name,
        urn=urn(stack, type_, name),
        parent=f"urn:pulumi:{stack}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{stack}",
        custom=True,
        inputs=inputs,
        raw_inputs=struct.SerializeToString(),
        secret_paths=[],
        protect=protect,
        retain_on_delete=protect,
        delete_before_replace=False,
        dependencies=list(dependencies or []),
        import_id="",
        provider="",
    )


def container_inputs(service: str, **overrides: Any) -> dict[str, Any]:
    """A container as the Service component builds it: limited, checked, restarted, labelled,
    no-new-privileges, every capability dropped."""
    inputs: dict[str, Any] = {
        "name": f"investment-{service}",
        "image": "sha256:" + "0" * 64,
        "cpus": "0.25",
        "memory": 128.0,
        "healthcheck": {"tests": ["CMD", "true"], "interval": "30s", "retries": 3.0},
        "restart": "unless-stopped",
        "labels": [{"label": "com.investment-platform.service", "value": service}],
        "networksAdvanced": [{"name": "investment-internal", "aliases": [service]}],
        "securityOpts": ["no-new-privileges:true"],
        "capabilities": {"drops": ["ALL"]},
    }
    inputs.update(overrides)
    return {k: v for k, v in inputs.items() if v is not None}


def container(
    service: str,
    *,
    stack: str = "prod",
    resource_name: str | None = None,
    dependencies: list[str] | None = None,
    **overrides: Any,
) -> RecordedResource:
    return resource(
        CONTAINER,
        resource_name or f"investment-{service}-container",
        container_inputs(service, **overrides),
        stack=stack,
        dependencies=dependencies,
    )


def image(service: str, ref: str, *, stack: str = "prod") -> RecordedResource:
    """The RemoteImage a service's container runs."""
    return resource(
        REMOTE_IMAGE, f"investment-{service}-image", {"name": ref, "keepLocally": True}, stack=stack
    )


def deployed(
    service: str, ref: str, *, stack: str = "prod", **overrides: Any
) -> tuple[RecordedResource, RecordedResource]:
    """A service's image and its container, which runs it (the container depends on the image,
    as the Service component's container does through `image=image.image_id`)."""
    pulled = image(service, ref, stack=stack)
    return pulled, container(service, stack=stack, dependencies=[pulled.urn], **overrides)


def job(
    service: str, role: str, ref: str, *, stack: str = "prod", **overrides: Any
) -> tuple[RecordedResource, RecordedResource]:
    """A one-shot job container as the Service component builds it (attach, mustRun false,
    restart no, no health check), with its image."""
    pulled = resource(
        REMOTE_IMAGE,
        f"investment-{service}-{role}-image",
        {"name": ref, "keepLocally": True},
        stack=stack,
    )
    inputs: dict[str, Any] = {
        "name": f"investment-{service}-{role}",
        "attach": True,
        "mustRun": False,
        "restart": "no",
        "healthcheck": None,
        "labels": [
            {"label": "com.investment-platform.service", "value": service},
            {"label": "com.investment-platform.job", "value": role},
            {"label": "com.investment-platform.stack", "value": stack},
        ],
        **overrides,
    }
    made = container(
        service,
        stack=stack,
        resource_name=f"investment-{service}-{role}",
        dependencies=[pulled.urn],
        **inputs,
    )
    return pulled, made


def cost(billed: float, *, memory_mib: int = 8192, reserve_mib: int = 512) -> dict[str, Any]:
    """The part of the program's `cost` output the stack policies read."""
    return {
        "billedUsd": billed,
        "budgetUsd": 50.0,
        "plan": {"name": "hetzner-cx33", "memoryMib": memory_mib, "vcpus": 4},
        "capacity": {"osReserveMib": reserve_mib},
    }


def plan(
    *resources: RecordedResource,
    stack: str = "prod",
    outputs: dict[str, Any] | None = None,
    environment: str | None = None,
) -> PlanResult:
    """A planned stack holding `resources`, with a cost output well within budget by default."""
    config = {f"{PROJECT}:environment": environment or stack}
    return PlanResult(
        project=PROJECT,
        stack=stack,
        config=config,
        resources=list(resources),
        outputs={"cost": cost(10.0)} if outputs is None else outputs,
    )


def inputs_of(recorded: RecordedResource) -> dict[str, Any]:
    """A recorded resource's inputs with secrets still marked (the analyzer's view)."""
    return json_format.MessageToDict(struct_from_bytes(recorded.raw_inputs))


def with_inputs(recorded: RecordedResource, inputs: dict[str, Any]) -> RecordedResource:
    """A copy of `recorded` with different inputs."""
    struct = struct_pb2.Struct()
    struct.update(inputs)
    return dataclasses.replace(recorded, inputs=inputs, raw_inputs=struct.SerializeToString())
