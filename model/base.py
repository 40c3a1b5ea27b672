"""The base of every model, and the checked types of values that reach generated files.

Kept in a module of its own, importing only pydantic and the standard library, so every model
(catalogue, config, cost, the settings of each concern) can share it without import cycles.

Every value in a stack file may be wrong or hostile. A value that reaches a generated file
(nginx.conf, prometheus.yml, a workflow) or a command line must not be able to change its structure,
so each such field has a type here that admits only what the consumer expects: RFC 1123 host names,
e-mail addresses, http(s) URLs, absolute host paths outside the system directories, Docker names.
No string anywhere in the config may hold a control character (a newline would end a line of
nginx.conf or of an error message).
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Network, ip_address
from pathlib import PurePosixPath
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, AliasGenerator, BaseModel, ConfigDict, field_validator
from pydantic.alias_generators import to_camel

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_DOCKER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")
_SSH_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")

SYSTEM_DIRECTORIES = (
    *("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root"),
    *("/run", "/sbin", "/sys", "/usr", "/var/lib/docker", "/var/run", "/home"),
)
"""Host paths (and everything below them) that no container may mount for writing: the Docker
socket lives under /run and /var/run, the daemon's state under /var/lib/docker."""


def _no_control_characters(value: Any, where: str = "") -> None:
    """Raise naming the path inside `value` (e.g. `[0].name: `) of a string with a control
    character."""
    if isinstance(value, str):
        if _CONTROL.search(value):
            raise ValueError(f"{where}must not contain control characters (newlines, tabs, NUL)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_control_characters(key, where)
            _no_control_characters(item, f"{where.removesuffix(': ')}.{key}: ".lstrip("."))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _no_control_characters(item, f"{where.removesuffix(': ')}[{index}]: ")


class Frozen(BaseModel):
    """The base of every model of the program: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ConfigModel(Frozen):
    """Stack-config models: frozen, no unknown keys, camelCase keys in the stack file, finite
    numbers only, no control characters in any string."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=AliasGenerator(validation_alias=to_camel),
        # Also accept field names, so code can build models directly (and the pydantic mypy
        # plugin knows it can).
        populate_by_name=True,
        # `budgetUsd: .inf` would pass every comparison and then break JSON serialisation.
        allow_inf_nan=False,
    )

    @field_validator("*", mode="before")
    @classmethod
    def _printable(cls, value: Any) -> Any:
        _no_control_characters(value)
        return value


def check_hostname(value: str) -> str:
    """An RFC 1123 host name in lower case (letters, digits, hyphens; dot-separated labels of at
    most 63 characters, 253 in all), or an IPv4 address."""
    try:
        if isinstance(ip_address(value), IPv4Address):
            return value
    except ValueError:
        pass
    labels = value.split(".")
    if len(value) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError(
            f"{value!r} is not a host name (RFC 1123: lower-case letters, digits and hyphens in "
            "dot-separated labels)"
        )
    return value


def check_email(value: str) -> str:
    """A plain e-mail address `local@host`, the host an RFC 1123 name."""
    local, at, host = value.rpartition("@")
    if not at or not _EMAIL_LOCAL.match(local) or local.startswith(".") or ".." in local:
        raise ValueError(f"{value!r} is not an e-mail address (local@host)")
    try:
        check_hostname(host)
    except ValueError:
        raise ValueError(f"{value!r} is not an e-mail address (local@host)") from None
    return value


def check_http_url(value: str) -> str:
    """An absolute http(s) URL with a valid host, no credentials, no spaces."""
    parts = urlsplit(value)
    problem = None
    if parts.scheme not in ("http", "https"):
        problem = "it must start with http:// or https://"
    elif parts.username or parts.password:
        problem = "it must not carry credentials"
    elif " " in value or "\\" in value:
        problem = "it must not contain spaces or backslashes"
    else:
        try:
            check_hostname(parts.hostname or "")
            _ = parts.port
        except ValueError:
            problem = "its host or port is not valid"
    if problem:
        raise ValueError(f"{value!r} is not a usable URL: {problem}")
    return value


def check_host_path(value: str) -> str:
    """An absolute, normalised host directory outside the system directories (and not `/`)."""
    path = PurePosixPath(value)
    if not path.is_absolute() or str(path) != value or ".." in path.parts:
        raise ValueError(f"{value!r} must be an absolute, normalised path (no '..', no trailing /)")
    if value == "/" or any(
        value == d or value.startswith(d + "/") or d.startswith(value + "/")
        for d in SYSTEM_DIRECTORIES
    ):
        raise ValueError(
            f"{value!r} is or contains a system directory ({', '.join(SYSTEM_DIRECTORIES)}); "
            "use a directory of its own, e.g. /mnt/backups"
        )
    if any(ch in value for ch in ":,"):
        raise ValueError(f"{value!r} must not contain ':' or ',' (Docker mount separators)")
    return value


def check_docker_name(value: str) -> str:
    """A Docker object name (volume, container): `[a-zA-Z0-9][a-zA-Z0-9_.-]*`."""
    if not _DOCKER_NAME.match(value):
        raise ValueError(f"{value!r} is not a Docker name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)")
    return value


def check_private_subnet(value: IPv4Network) -> IPv4Network:
    """A private (RFC 1918) network that is not loopback, link-local or the whole space."""
    if not value.is_private or value.is_loopback or value.is_link_local or value.prefixlen < 8:
        raise ValueError(f"{value} is not a private network (10/8, 172.16/12 or 192.168/16)")
    if value.overlaps(IPv4Network("172.17.0.0/16")):
        raise ValueError(f"{value} overlaps Docker's default bridge 172.17.0.0/16")
    return value


def check_ssh_user(value: str) -> str:
    """A POSIX user name, as an SSH login."""
    if not _SSH_USER.match(value):
        raise ValueError(f"{value!r} is not a user name ([a-z_][a-z0-9_-]*)")
    return value


HostName = Annotated[str, AfterValidator(check_hostname)]
EmailAddress = Annotated[str, AfterValidator(check_email)]
HttpUrl = Annotated[str, AfterValidator(check_http_url)]
HostPath = Annotated[str, AfterValidator(check_host_path)]
DockerName = Annotated[str, AfterValidator(check_docker_name)]
PrivateSubnet = Annotated[IPv4Network, AfterValidator(check_private_subnet)]
