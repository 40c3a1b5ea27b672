"""Run the CrossGuard policy pack offline, over the analyzer's real gRPC protocol.

The pack in `policy/` is started exactly as `pulumi preview --policy-pack policy/` starts it:
`python -m pulumi.policy <engine> .` from the pack's directory, with the stack's project, name and
config in PULUMI_PROJECT / PULUMI_STACK / PULUMI_CONFIG and PULUMI_DRY_RUN=true. It prints its
port; the runner then speaks the engine's side of the protocol: `ConfigureStack`,
`GetAnalyzerInfo`, `Configure` (every policy's enforcement level plus the caller's settings),
`Analyze` once per resource with its inputs and options, and `AnalyzeStack` once with every
resource (its dependencies, and its property dependencies when the recording has them), including
the root `pulumi:pulumi:Stack` resource whose properties are the stack outputs, as the engine sends
them. Calling the validators directly is for unit tests only.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pydantic import computed_field

from commands.offline import PlanResult, RecordedResource, struct_from_bytes
from model.base import Frozen
from program.processes import stop

PACK_DIR = Path(__file__).resolve().parent.parent / "policy"
STACK_TYPE = "pulumi:pulumi:Stack"
_GRPC_OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024)]
_LEVELS: dict[int, Literal["advisory", "mandatory", "disabled", "remediate"]] = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.DISABLED: "disabled",
    analyzer_pb2.REMEDIATE: "remediate",
}
_LEVEL_VALUES = {name: value for value, name in _LEVELS.items()}

EnforcementLevel = Literal["advisory", "mandatory", "disabled", "remediate"]


class PolicyRunError(RuntimeError):
    """The pack could not be started, configured or run."""


class Violation(Frozen):
    """One policy violation the pack reported."""

    policy: str
    """The policy's kebab-case name."""
    enforcement_level: EnforcementLevel
    """`mandatory` fails the plan; `advisory` only warns."""
    message: str
    """What is wrong and how to fix it (without the policy's description)."""
    description: str
    """The policy's one-sentence description."""
    urn: str
    """The resource in violation; empty when the stack as a whole is."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def resource(self) -> str:
        """The resource's name, or `stack` for a stack-wide violation."""
        return self.urn.rsplit("::", 1)[-1] if self.urn else "stack"

    @property
    def mandatory(self) -> bool:
        """Whether this violation blocks a deployment."""
        return self.enforcement_level == "mandatory"

    def line(self) -> str:
        """One line for a terminal: level, policy, resource, message."""
        message = " ".join(self.message.split())
        return f"{self.enforcement_level}: {self.policy}: {self.resource}: {message}"


def stack_urn(result: PlanResult) -> str:
    """The URN of the root stack resource, as the engine names it."""
    name = f"{result.project}-{result.stack}"
    return f"urn:pulumi:{result.stack}::{result.project}::{STACK_TYPE}::{name}"


def _options(resource: RecordedResource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        deleteBeforeReplace=resource.delete_before_replace,
        deleteBeforeReplaceDefined=resource.delete_before_replace,
        parent=resource.parent,
    )


def _provider(
    resource: RecordedResource, by_urn: Mapping[str, RecordedResource]
) -> analyzer_pb2.AnalyzerProviderResource | None:
    # A provider reference is "<provider urn>::<provider id>"; default providers are not recorded.
    provider = by_urn.get(resource.provider.rsplit("::", 1)[0]) if resource.provider else None
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type,
        urn=provider.urn,
        name=provider.name,
        properties=struct_from_bytes(provider.raw_inputs),
    )


def _stack_outputs(result: PlanResult) -> struct_pb2.Struct:
    outputs = struct_pb2.Struct()
    outputs.update(json.loads(json.dumps(result.outputs)))
    return outputs


M = TypeVar("M", analyzer_pb2.AnalyzeRequest, analyzer_pb2.AnalyzerResource)


def _per_resource(
    result: PlanResult, message: type[M], **extra: Callable[[RecordedResource], Any]
) -> list[M]:
    """One `message` per recorded resource, with what both analyzer requests carry (type, name,
    URN, inputs, options, provider) and the `extra` fields computed from the resource."""
    by_urn = {r.urn: r for r in result.resources}
    messages = []
    for r in result.resources:
        entry = message(
            type=r.type,
            name=r.name,
            urn=r.urn,
            properties=struct_from_bytes(r.raw_inputs),
            options=_options(r),
            **{key: compute(r) for key, compute in extra.items()},
        )
        provider = _provider(r, by_urn)
        if provider is not None:
            entry.provider.CopyFrom(provider)
        messages.append(entry)
    return messages


def analyze_requests(result: PlanResult) -> list[analyzer_pb2.AnalyzeRequest]:
    """One `Analyze` request per resource (inputs and options), the root stack resource first."""
    stack = analyzer_pb2.AnalyzeRequest(
        type=STACK_TYPE,
        name=f"{result.project}-{result.stack}",
        urn=stack_urn(result),
        properties=struct_pb2.Struct(),
    )
    return [stack, *_per_resource(result, analyzer_pb2.AnalyzeRequest)]


def analyze_stack_request(result: PlanResult) -> analyzer_pb2.AnalyzeStackRequest:
    """The `AnalyzeStack` request: every resource (offline, outputs equal inputs) and the stack."""
    stack = analyzer_pb2.AnalyzerResource(
        type=STACK_TYPE,
        name=f"{result.project}-{result.stack}",
        urn=stack_urn(result),
        properties=_stack_outputs(result),
    )
    resources = _per_resource(
        result,
        analyzer_pb2.AnalyzerResource,
        parent=lambda r: r.parent,
        dependencies=lambda r: r.dependencies,
    )
    # Which resources each input came from, as RegisterResource's propertyDependencies say: the
    # engine sends them, and the pack identifies a container's image by them
    # (policy/policies/workloads.py).
    for resource, recorded in zip(resources, result.resources, strict=True):
        for key, urns in recorded.property_dependencies.items():
            if urns:
                resource.propertyDependencies[key].urns.extend(urns)
    return analyzer_pb2.AnalyzeStackRequest(resources=[stack, *resources])


def _read_port(process: subprocess.Popen[bytes], stderr: IO[bytes], timeout_s: float) -> int:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    line = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise PolicyRunError(f"the policy pack printed no port within {timeout_s:g}s")
            chunk = os.read(process.stdout.fileno(), 64)
            if not chunk:
                process.wait(timeout=5)
                stderr.seek(0)
                output = stderr.read().decode(errors="replace").strip()
                raise PolicyRunError(
                    f"the policy pack exited with code {process.returncode} before serving:\n"
                    f"{output}"
                )
            line += chunk
    try:
        return int(line.strip())
    except ValueError:
        raise PolicyRunError(f"the policy pack printed {line!r} instead of its port") from None


def _configure_request(
    info: analyzer_pb2.AnalyzerInfo, config: Mapping[str, Mapping[str, Any]]
) -> analyzer_pb2.ConfigureAnalyzerRequest:
    names = [p.name for p in info.policies]
    unknown = sorted(set(config) - set(names))
    if unknown:
        raise PolicyRunError(
            f"policy config names unknown policies {', '.join(unknown)} "
            f"(the pack has: {', '.join(sorted(names))})"
        )
    request = analyzer_pb2.ConfigureAnalyzerRequest()
    # Like the engine, configure every policy: one left out would drop to the SDK's default level.
    for policy in info.policies:
        settings = dict(config.get(policy.name, {}))
        level = settings.pop("enforcementLevel", None)
        if level is not None and level not in _LEVEL_VALUES:
            raise PolicyRunError(
                f"policy config for '{policy.name}': enforcementLevel '{level}' is not one of "
                f"{', '.join(_LEVEL_VALUES)}"
            )
        entry = request.policyConfig[policy.name]
        entry.enforcementLevel = (
            _LEVEL_VALUES[level] if level is not None else policy.enforcementLevel  # type: ignore[assignment]
        )
        if settings:
            entry.properties.update(settings)
    return request


def _violations(response: analyzer_pb2.AnalyzeResponse, default_urn: str) -> list[Violation]:
    found = []
    for d in response.diagnostics:
        message = d.message
        if d.description and message.startswith(d.description):
            message = message[len(d.description) :].lstrip("\n")
        found.append(
            Violation(
                policy=d.policyName,
                enforcement_level=_LEVELS[d.enforcementLevel],
                message=message,
                description=d.description,
                urn=d.urn or default_urn,
            )
        )
    return found


def run_policy_pack(
    result: PlanResult,
    *,
    pack_dir: Path = PACK_DIR,
    config: Mapping[str, Mapping[str, Any]] | None = None,
    python: str = sys.executable,
    timeout_s: float = 60.0,
) -> list[Violation]:
    """Evaluate the pack in `pack_dir` against a planned stack; return every violation.

    `config` is the policy config as in a `--policy-pack-config` file: policy name to settings,
    each optionally with `enforcementLevel`. One server serves the whole run and is always stopped.
    Raises PolicyRunError when the pack cannot start or rejects a request.
    """
    env = {
        **os.environ,
        "PULUMI_PROJECT": result.project,
        "PULUMI_STACK": result.stack,
        "PULUMI_DRY_RUN": "true",
        "PULUMI_CONFIG": json.dumps(result.config),
        "PYTHONUNBUFFERED": "1",
    }
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            [python, "-u", "-m", "pulumi.policy", "127.0.0.1:0", "."],
            cwd=pack_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        try:
            port = _read_port(process, stderr, timeout_s)
            with grpc.insecure_channel(f"127.0.0.1:{port}", options=_GRPC_OPTIONS) as channel:
                grpc.channel_ready_future(channel).result(timeout=timeout_s)
                return _evaluate(analyzer_pb2_grpc.AnalyzerStub(channel), result, config or {})
        except grpc.RpcError as exc:
            raise PolicyRunError(f"the policy pack failed: {exc.details()}") from None
        except grpc.FutureTimeoutError:
            raise PolicyRunError(f"could not connect to the policy pack on port {port}") from None
        finally:
            stop(process, grace_s=5)
            if process.stdout is not None:
                process.stdout.close()


def _evaluate(
    stub: analyzer_pb2_grpc.AnalyzerStub,
    result: PlanResult,
    config: Mapping[str, Mapping[str, Any]],
) -> list[Violation]:
    stub.ConfigureStack(
        analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=result.stack, project=result.project, dry_run=True, config=result.config
        )
    )
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    stub.Configure(_configure_request(info, config))
    violations: list[Violation] = []
    for request in analyze_requests(result):
        violations += _violations(stub.Analyze(request), request.urn)
    violations += _violations(stub.AnalyzeStack(analyze_stack_request(result)), "")
    return violations


def mandatory(violations: Sequence[Violation]) -> list[Violation]:
    """The violations that block a deployment."""
    return [v for v in violations if v.mandatory]
