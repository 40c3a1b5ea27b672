"""Run the real Pulumi program offline, under the SDK's own mocks, and record what it registers.

This is how the program is planned on a machine without the Pulumi CLI or a Docker engine: the
stack's config is read from `Pulumi.yaml` (project defaults) and `Pulumi.<stack>.yaml`, handed to
the runtime with `set_all_config`, and `__main__.py` runs exactly as under `pulumi preview`, with a
mock monitor recording every resource, its inputs and its options (parent, dependencies, protect,
retainOnDelete, deleteBeforeReplace, import id). `secure:` values cannot be decrypted without the
CLI, so a placeholder stands in for them, still marked secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pmocks
from pulumi.runtime import rpc, settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_pulumi_func

from model.config import StackConfig, load_config

ROOT = Path(__file__).resolve().parent.parent
SECRET_PLACEHOLDER = "offline-placeholder-secret"
SECRET_PLACEHOLDERS: dict[str, str] = {
    "alertingWebhookUrl": "https://placeholder.invalid/offline-secret",
}
"""Placeholders of the shape the program checks, for secrets it validates (by key)."""
MASK = "[secret]"


class StackFileError(ValueError):
    """The stack file is missing or not valid YAML."""


class ProgramError(RuntimeError):
    """The program stopped with an error; `resources` is what it had registered by then."""

    def __init__(self, message: str, resources: list[RecordedResource]) -> None:
        super().__init__(message)
        self.resources = resources


@dataclass
class RecordedResource:
    """One resource the program registered, as the engine would have seen it."""

    type: str
    name: str
    urn: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    """Inputs with secret values replaced by "[secret]"."""
    raw_inputs: bytes
    """The serialized property struct, secrets still marked (for the policy analyzer)."""
    secret_paths: list[str]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    dependencies: list[str]
    import_id: str
    provider: str
    ignore_changes: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Which resources each input came from (the engine sends these to the policy pack)."""

    def unmasked_inputs(self) -> dict[str, Any]:
        """The inputs with secret values revealed (offline placeholders; for tests only)."""
        values, _ = rpc.deserialize_properties_unwrap_secrets(struct_from_bytes(self.raw_inputs))
        return dict(values)


@dataclass
class PlanResult:
    """Everything a run of the program produced."""

    project: str
    stack: str
    config: dict[str, str]
    resources: list[RecordedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> RecordedResource:
        for r in self.resources:
            if r.name == name:
                return r
        raise KeyError(name)


def _stringify(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def read_stack_config(
    stack: str, root: Path = ROOT, overrides: dict[str, Any] | None = None
) -> tuple[str, dict[str, str], list[str]]:
    """(project, config as `project:key` -> string, secret keys) from the project and stack files.

    Project-level defaults from Pulumi.yaml apply first; the stack file overrides them; then
    `overrides` (for tests and benchmarks), keyed without namespace, with None deleting a key.
    """
    project_file = _load_yaml(root / "Pulumi.yaml")
    project = project_file.get("name")
    if not isinstance(project, str) or not project:
        raise StackFileError("Pulumi.yaml: name: missing or not a string")
    if not STACK_NAME.match(stack):
        raise StackFileError(f"'{stack}' is not a stack name (letters, digits, '-', '_', '.')")
    stack_path = root / f"Pulumi.{stack}.yaml"
    if not stack_path.exists():
        raise StackFileError(f"{stack_path.name}: no such stack file (stacks: {_stacks(root)})")
    stack_file = _load_yaml(stack_path)
    for what, section in (
        ("Pulumi.yaml: config", project_file.get("config")),
        (f"{stack_path.name}: config", stack_file.get("config")),
    ):
        if section is not None and not isinstance(section, dict):
            raise StackFileError(
                f"{what}: must be a mapping of keys to values, not a {type(section).__name__}"
            )
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, decl in (project_file.get("config") or {}).items():
        full = key if ":" in key else f"{project}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            config[full] = _stringify(decl["default"])
        elif isinstance(decl, dict) and "value" in decl:
            config[full] = _stringify(decl["value"])
        elif not isinstance(decl, dict):
            config[full] = _stringify(decl)
    for key, value in (stack_file.get("config") or {}).items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            short = key.removeprefix(f"{project}:")
            config[key] = SECRET_PLACEHOLDERS.get(short, SECRET_PLACEHOLDER)
            secret_keys.append(key)
        elif _holds_secure(value):
            # `pulumi config set --secret --path a.b`: the engine marks the whole key secret.
            config[key] = _stringify(_placeholders(value))
            secret_keys.append(key)
        else:
            config[key] = _stringify(value)
    for key, value in (overrides or {}).items():
        full = f"{project}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = _stringify(value)
    return project, config, secret_keys


STACK_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _load_yaml(path: Path) -> dict[str, Any]:
    """A project or stack file's top level, which must be a mapping."""
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())
        raise StackFileError(f"{path.name}: not valid YAML: {first}") from None
    if not isinstance(loaded, dict):
        raise StackFileError(f"{path.name}: must be a mapping, not a {type(loaded).__name__}")
    return loaded


def _holds_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_holds_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_secure(v) for v in value)
    return False


def _placeholders(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER
        return {k: _placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v) for v in value]
    return value


def _stacks(root: Path) -> str:
    names = sorted(
        p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in root.glob("Pulumi.*.yaml")
    )
    return ", ".join(names)


def _mask(value: Any, path: str, secret_paths: list[str]) -> Any:
    if rpc.is_rpc_secret(value):
        secret_paths.append(path)
        return MASK
    if isinstance(value, dict):
        return {k: _mask(v, f"{path}.{k}" if path else k, secret_paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, f"{path}[{i}]", secret_paths) for i, v in enumerate(value)]
    return value


MOCK_HOST_PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPPtiOFLvacenBdggwQOU1kK+1u7gtmyhZqZg8l/NIKA\n"
)
MANAGED_HOST_OUTPUTS: dict[str, dict[str, Any]] = {
    "tls:index/privateKey:PrivateKey": {
        "privateKeyOpenssh": "-----BEGIN OPENSSH PRIVATE KEY-----\n(generated by pulumi-tls at "
        "`pulumi up`)\n-----END OPENSSH PRIVATE KEY-----\n",
        "publicKeyOpenssh": MOCK_HOST_PUBLIC_KEY,
    },
    "hcloud:index/primaryIp:PrimaryIp": {"ipAddress": "203.0.113.10"},
    "command:local:Command": {"stdout": "docker 20.10.24+dfsg1"},
}
"""What the managed host's resources return after a create, for an offline plan: a host key
(its private half a placeholder), documentation addresses (RFC 5737, RFC 3849), and the bootstrap
wait's answer."""


class _Mocks(pmocks.Mocks):
    """Resource outputs echo the inputs, plus the few computed values the program reads, as the
    providers return them after a successful create: a random password's result, an image's id,
    and exit code 0 of a one-shot container (`attach`). `extra_outputs`, by resource name, adds or
    replaces outputs (tests: a failed job)."""

    def __init__(self, extra_outputs: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.extra_outputs = extra_outputs or {}

    def new_resource(self, args: pmocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = f"generated-{args.name}"
        if args.typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = f"sha256:{abs(hash(args.inputs.get('name'))):064x}"[:71]
        if args.typ == "docker:index/container:Container" and args.inputs.get("attach"):
            outputs["exitCode"] = 0
        outputs.update(MANAGED_HOST_OUTPUTS.get(args.typ, {}))
        if args.typ == "hcloud:index/primaryIp:PrimaryIp" and args.inputs.get("type") == "ipv6":
            outputs.update(ipAddress="2001:db8:10::1", ipNetwork="2001:db8:10::/64")
        if args.typ.startswith("hcloud:") and not args.resource_id:
            # Hetzner's ids are numbers, and the program passes them on as numbers.
            digest = hashlib.sha256(args.name.encode()).hexdigest()
            outputs.update(self.extra_outputs.get(args.name, {}))
            return (str(int(digest[:8], 16)), outputs)
        outputs.update(self.extra_outputs.get(args.name, {}))
        return (args.resource_id or f"{args.name}-id", outputs)

    def call(
        self, args: pmocks.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return ({}, None)


class _RecordingMonitor(pmocks.MockMonitor):
    """The SDK's mock monitor, also recording the options the plain one drops."""

    def __init__(self, mocks: pmocks.Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        secret_paths: list[str] = []
        masked = _mask(inputs, "", secret_paths)
        self.recorded.append(
            RecordedResource(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent=request.parent,
                custom=request.custom,
                inputs=masked,
                raw_inputs=request.object.SerializeToString(),
                secret_paths=secret_paths,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                dependencies=list(request.dependencies),
                import_id=request.importId,
                provider=request.provider,
                ignore_changes=list(request.ignoreChanges),
                property_dependencies={
                    key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                },
            )
        )
        return response


async def _resolve(value: Any) -> Any:
    """Resolve the Outputs inside an exported value into plain data, masking secrets."""
    from pulumi import Output

    if isinstance(value, Output):
        resolved = await value.future()
        secret = await value.is_secret()
        return MASK if secret else await _resolve(resolved)
    if isinstance(value, dict):
        return {k: await _resolve(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [await _resolve(v) for v in value]
    return value


def run_program(
    stack: str,
    *,
    root: Path = ROOT,
    overrides: dict[str, Any] | None = None,
    secrets: dict[str, str] | None = None,
    program: Path | Callable[[], None] | None = None,
    extra_outputs: Mapping[str, Mapping[str, Any]] | None = None,
) -> PlanResult:
    """Run `__main__.py` (or `program`: a file, or a function that declares resources, for a
    component's own tests) for `stack` under mocks; return what it registered.

    An error the program raises (e.g. an invalid config) becomes a ProgramError carrying its
    message and whatever had been registered before it.
    """
    project, config, secret_keys = read_stack_config(stack, root, overrides)
    # Secret values as `pulumi config set --secret` would give them (tests only).
    for key, value in (secrets or {}).items():
        config[f"{project}:{key}"] = value
        secret_keys.append(f"{project}:{key}")
    settings.reset_options(project=project, stack=stack, preview=True)
    set_all_config(config, secret_keys)
    # The root stack resource that set_mocks registers must live on the loop the program runs on.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    monitor = _RecordingMonitor(_Mocks(extra_outputs))
    pmocks.set_mocks(monitor.mocks, project=project, stack=stack, preview=True, monitor=monitor)
    result = PlanResult(project=project, stack=stack, config=config)
    entry = program or root / "__main__.py"

    async def run() -> None:
        def program_body() -> None:
            if callable(entry):
                entry()
            else:
                runpy.run_path(str(entry), run_name="__main__")

        await run_pulumi_func(program_body)
        root_resource = settings.get_root_resource()
        outputs = getattr(root_resource, "outputs", {}) or {}
        result.outputs = {k: await _resolve(v) for k, v in outputs.items()}

    try:
        loop.run_until_complete(run())
    except Exception as exc:
        raise ProgramError(str(exc), monitor.recorded) from exc
    finally:
        _cancel_pending(loop)
        loop.close()
        # Leave a usable loop behind for code that calls asyncio.get_event_loop() afterwards (the
        # SDK's own mock helpers do).
        asyncio.set_event_loop(asyncio.new_event_loop())
        settings.reset_options()
    result.resources = monitor.recorded
    return result


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and settle the tasks the program left pending, as `asyncio.run` does before it
    closes its loop.

    Left pending on a closed loop, they are only destroyed when the garbage collector gets to
    them, at a random point of a later test: each logs "Task was destroyed but it is pending!",
    and pytest fails whatever test happened to be running on the unraisable exceptions that come
    with it.
    """
    pending = asyncio.all_tasks(loop)
    if not pending:
        return
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def struct_from_bytes(data: bytes) -> struct_pb2.Struct:
    """Rebuild a recorded property struct (for the policy analyzer)."""
    struct = struct_pb2.Struct()
    struct.ParseFromString(data)
    return struct


def load_offline_config(
    stack: str, root: Path = ROOT, overrides: dict[str, Any] | None = None
) -> StackConfig:
    """The validated StackConfig of `stack`, read from the files as `run_program` reads them.

    For tools that need the config but not the resources (cost, render). Raises ConfigError or
    StackFileError with the message to show.
    """
    project, config, secret_keys = read_stack_config(stack, root, overrides)
    prefix = f"{project}:"
    raw = {
        key.removeprefix(prefix): value for key, value in config.items() if key.startswith(prefix)
    }
    secret = {key.removeprefix(prefix) for key in secret_keys if key.startswith(prefix)}
    return load_config(stack, raw, secret)
