"""What every policy shares: type tokens, labels, property access, secret marks, the builders.

A policy is built by one call (`resource_policy` or `stack_policy`) that holds its name,
description, enforcement level, settings (each with its schema and default) and validator
together, so a name is written once. The policy SDK hands a validator only the settings the user
configured; the builders overlay them on the coded defaults before the validator runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

PACK_NAME: Final = "investment-platform-checklist"
# The program's model/labels.py names these; tests/policy/test_shared_rules.py keeps them equal.
LABEL_PREFIX: Final = "com.investment-platform"
SERVICE_LABEL: Final = f"{LABEL_PREFIX}.service"
METRICS_LABEL_PREFIX: Final = f"{LABEL_PREFIX}.metrics."

CONTAINER: Final = "docker:index/container:Container"
REMOTE_IMAGE: Final = "docker:index/remoteImage:RemoteImage"
VOLUME: Final = "docker:index/volume:Volume"
STACK: Final = "pulumi:pulumi:Stack"
PROVIDER_PREFIX: Final = "pulumi:providers:"
REPOSITORY_FILE: Final = "github:index/repositoryFile:RepositoryFile"
POSTGRES_ROLE: Final = "postgresql:index/role:Role"
DASHBOARDS: Final = ("grafana:oss/dashboard:Dashboard", "grafana:index/dashboard:Dashboard")

MANDATORY: Final = EnforcementLevel.MANDATORY
ADVISORY: Final = EnforcementLevel.ADVISORY


class SecretStr(str):
    """A string the engine sent as a secret; its repr never shows the value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SecretStr('[secret]')"


# Pulumi's signature keys for typed values inside property maps (sdk/go/common/resource).
_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
_SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"


def _mark(value: Any, secret: bool, plain: Callable[[Any], Any]) -> Any:
    if isinstance(value, str):
        return SecretStr(value) if secret else value
    if isinstance(value, list):
        return [_mark(v, secret, plain) for v in value]
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return _mark(value.get("value"), True, plain)
        if sig is not None:
            return plain(value)
        return {k: _mark(v, secret, plain) for k, v in value.items()}
    return value


def mark_secrets(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
    """Deserialize a property map like pulumi-policy does, but keep secrets visible as SecretStr.

    Remediation (`proxy_secrets=True`) keeps the SDK's own handling.
    """
    from pulumi_policy import deserialize

    if proxy_secrets:
        result: dict[str, Any] = deserialize.deserialize_properties(props, True)
        return result
    return {k: _mark(v, False, deserialize._deserialize_property) for k, v in props.items()}


def install_secret_marking() -> None:
    """Make the analyzer deserialize with `mark_secrets` (pulumi-policy 1.21's servicer)."""
    from pulumi_policy import policy as sdk_policy

    # A renamed hook in another SDK version must fail loudly, not let plain text pass as secret.
    if not callable(getattr(sdk_policy, "deserialize_properties", None)):
        raise RuntimeError(
            "pulumi_policy.policy.deserialize_properties is gone; pin pulumi-policy==1.21.0 or "
            "port install_secret_marking to this version"
        )
    sdk_policy.deserialize_properties = mark_secrets  # type: ignore[attr-defined]


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Final = _Unknown()
"""A value the engine cannot know during preview (computed by another resource)."""


def lookup(mapping: Any, key: str) -> Any:
    """`mapping[key]`, None when absent, UNKNOWN when it is not known yet."""
    if not isinstance(mapping, Mapping):
        return None
    try:
        return mapping.get(key)
    except UnknownValueError:
        return UNKNOWN


def items(sequence: Any) -> Iterator[Any]:
    """The known elements of a list property (unknown ones skipped; none if it is not a list)."""
    if not isinstance(sequence, Sequence) or isinstance(sequence, str):
        return
    for i in range(len(sequence)):
        try:
            yield sequence[i]
        except UnknownValueError:
            continue


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every known string inside a property value, with its path (`envs[0]`, `a.b`)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key in list(value):
            yield from strings(lookup(value, key), f"{path}.{key}" if path else str(key))
    elif isinstance(value, Sequence):
        for i, element in enumerate(items(value)):
            yield from strings(element, f"{path}[{i}]")


def labels(props: Any) -> dict[str, str]:
    """A Docker resource's labels (a list of {label, value}) as a dict."""
    result: dict[str, str] = {}
    for entry in items(lookup(props, "labels")):
        key, value = lookup(entry, "label"), lookup(entry, "value")
        if isinstance(key, str) and isinstance(value, str):
            result[key] = value
    return result


def service_of(props: Any, fallback: str) -> str:
    """The platform service a container says it belongs to: its service label, else its name.

    Only for naming things in messages and for matching allow-list entries together with the
    image the container runs: a label alone grants nothing.
    """
    name = labels(props).get(SERVICE_LABEL) or lookup(props, "name")
    return name if isinstance(name, str) else fallback


def is_job(props: Any) -> bool:
    """Whether a container is a one-shot job: `pulumi up` waits for it to exit (`attach`) and does
    not expect it to keep running (`mustRun: false`). Judged by behaviour, never by a label."""
    return lookup(props, "attach") is True and lookup(props, "mustRun") is False


def number(value: Any) -> str:
    """A property number as written (the engine sends every number as a float)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Setting:
    """One setting of a policy's config: its JSON schema and its value when the user sets none."""

    schema: Mapping[str, Any]
    """JSON schema of the value (shown by `pulumi policy` and in docs/POLICIES.md)."""
    default: Any = None
    """The value a validator sees when the setting is not configured."""


ResourceValidator = Callable[[ResourceValidationArgs, ReportViolation, Mapping[str, Any]], None]
StackValidator = Callable[[StackValidationArgs, ReportViolation, Mapping[str, Any]], None]


def settings_of(configured: Mapping[str, Any], declared: Mapping[str, Setting]) -> dict[str, Any]:
    """The declared settings' defaults overlaid with what the user configured (unknown keys and
    nulls dropped)."""
    merged = {key: setting.default for key, setting in declared.items()}
    merged.update({k: v for k, v in configured.items() if k in declared and v is not None})
    return merged


def _schema(declared: Mapping[str, Setting]) -> PolicyConfigSchema | None:
    if not declared:
        return None
    return PolicyConfigSchema(
        properties={
            key: {
                **setting.schema,
                **({"default": setting.default} if setting.default is not None else {}),
            }
            for key, setting in declared.items()
        }
    )


def resource_policy(
    name: str,
    description: str,
    validate: ResourceValidator,
    *,
    level: EnforcementLevel = MANDATORY,
    settings: Mapping[str, Setting] | None = None,
) -> ResourceValidationPolicy:
    """A policy run on each resource's inputs (`Analyze`), before the resource is changed."""
    declared = dict(settings or {})

    def run(args: ResourceValidationArgs, report: ReportViolation) -> None:
        validate(args, report, settings_of(dict(args.get_config() or {}), declared))

    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=run,
        enforcement_level=level,
        config_schema=_schema(declared),
    )


def stack_policy(
    name: str,
    description: str,
    validate: StackValidator,
    *,
    level: EnforcementLevel = MANDATORY,
    settings: Mapping[str, Setting] | None = None,
) -> StackValidationPolicy:
    """A policy run once over every resource and the stack outputs (`AnalyzeStack`)."""
    declared = dict(settings or {})

    def run(args: StackValidationArgs, report: ReportViolation) -> None:
        validate(args, report, settings_of(dict(args.get_config() or {}), declared))

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=run,
        enforcement_level=level,
        config_schema=_schema(declared),
    )


STRINGS: Final[Mapping[str, Any]] = {"type": "array", "items": {"type": "string"}}
NUMBER: Final[Mapping[str, Any]] = {"type": "number"}
STRING: Final[Mapping[str, Any]] = {"type": "string"}
