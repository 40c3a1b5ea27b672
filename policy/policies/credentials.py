"""Credentials reach resources only as Pulumi secrets: environment, command lines, providers.

A value the program marks secret arrives as `SecretStr` (core.mark_secrets); everything else is
plain text that the state file and the preview show. Messages name variables and options, never
values.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator, Mapping
from typing import Any, Final

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from .core import (
    CONTAINER,
    POSTGRES_ROLE,
    PROVIDER_PREFIX,
    SecretStr,
    items,
    lookup,
    resource_policy,
    service_of,
)

_SENSITIVE_NAME: Final = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_KEY|FERNET_KEY|CREDENTIAL", re.IGNORECASE
)
_URL_CREDENTIALS: Final = re.compile(
    r"[a-z][a-z0-9+.-]*://[^/\s:@]*:(?P<password>[^/\s@]+)@", re.IGNORECASE
)
_SECRET_WORDS: Final = frozenset(
    {
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "apikey",
        "credential",
        "credentials",
        "requirepass",
        "masterauth",
        "auth",
    }
)
_SECRET_PAIRS: Final = frozenset({("api", "key"), ("private", "key"), ("access", "key")})
# A name ending like this holds where the secret is, or something about it, not the secret.
_NOT_A_VALUE: Final = frozenset({"file", "path", "dir", "env", "type", "method", "mode", "enabled"})


def sensitive_env(entry: str) -> str | None:
    """The variable's name when a `NAME=value` entry carries a credential, else None."""
    name, _, value = entry.partition("=")
    if not value or name.upper().endswith(("_FILE", "_PATH")):
        return None
    if _SENSITIVE_NAME.search(name) or _has_url_password(value):
        return name
    return None


def _has_url_password(text: str) -> bool:
    return any(not m.group("password").startswith("$") for m in _URL_CREDENTIALS.finditer(text))


def _words(name: str) -> list[str]:
    """`--db-password` -> [db, password]; `registryAuth` -> [registry, auth]; `API_KEY` -> [api,
    key]."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def secret_name(name: str) -> bool:
    """Whether an option or key name says its value is a credential (`--requirepass`,
    `password`, `auth`, `smAccessToken`), but not where one is kept (`--password-file`)."""
    words = _words(name)
    if not words or words[-1] in _NOT_A_VALUE:
        return False
    return words[-1] in _SECRET_WORDS or tuple(words[-2:]) in _SECRET_PAIRS


def _literal(value: str) -> bool:
    """A value written out, not read from a variable (`$REDIS_PASSWORD`, `${PW}`)."""
    return bool(value) and "$" not in value


def _tokens(entries: list[Any]) -> list[str]:
    tokens: list[str] = []
    for entry in entries:
        if isinstance(entry, SecretStr):
            # A secret argument is fine; keep its place so the option before it is not misread.
            tokens.append("$SECRET")
            continue
        if not isinstance(entry, str):
            continue
        # A shell line (`sh -c "redis-server --requirepass x"`) is one entry: split it as sh does.
        try:
            tokens += shlex.split(entry)
        except ValueError:
            tokens += entry.split()
    return tokens


def command_line_secrets(entries: list[Any]) -> list[str]:
    """What in a command line carries a literal credential: `--password=x`, `--requirepass x`,
    `-p x` (a password for mysql and friends; a port when numeric), a URL with a password."""
    tokens = _tokens(entries)
    found: list[str] = []
    for i, token in enumerate(tokens):
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token == "-p":
            if _literal(following) and not re.fullmatch(r"[0-9.:/-]+(?:/(?:tcp|udp))?", following):
                found.append("-p")
        elif token.startswith("-") and len(token) > 2:
            option, eq, value = token.partition("=")
            if not eq:
                value = "" if following.startswith("-") else following
            if secret_name(option.lstrip("-")) and _literal(value):
                found.append(option)
        if _has_url_password(token):
            found.append("a URL with a password")
    return list(dict.fromkeys(found))


def _plain(value: Any) -> bool:
    return isinstance(value, str) and not isinstance(value, SecretStr)


def _container_findings(props: Any) -> tuple[list[str], list[str]]:
    env = sorted(
        {
            name
            for entry in items(lookup(props, "envs"))
            if _plain(entry) and (name := sensitive_env(entry))
        }
    )
    lines = []
    for label, entries in (
        ("entrypoint", lookup(props, "entrypoints")),
        ("command", lookup(props, "command")),
        ("health check", lookup(lookup(props, "healthcheck"), "tests")),
    ):
        found = command_line_secrets(list(items(entries)))
        if found:
            lines.append(f"{label}: {', '.join(found)}")
    return env, lines


def provider_secrets(value: Any, path: str = "") -> Iterator[str]:
    """Paths of plain-text credentials in a provider's arguments. Structured arguments arrive as
    JSON text (the SDKs serialize a provider's nested inputs), so JSON is read into."""
    if isinstance(value, SecretStr):
        return
    if isinstance(value, str):
        key = path.rsplit(".", 1)[-1].split("[", 1)[0]
        if value.lstrip().startswith(("{", "[")):
            try:
                yield from provider_secrets(json.loads(value), path)
                return
            except json.JSONDecodeError:
                pass
        if value and (
            secret_name(key)
            or _has_url_password(value)
            or ("-----BEGIN" in value and "PRIVATE KEY" in value)
        ):
            yield path
    elif isinstance(value, Mapping):
        for k in list(value):
            yield from provider_secrets(lookup(value, k), f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, element in enumerate(items(value)):
            yield from provider_secrets(element, f"{path}[{i}]")


_SECRET_FIX: Final = (
    "Pass it as a secret: the Service's secret_env (built from pulumi-random or `pulumi config "
    "set --secret`), or pulumi.Output.secret(...)."
)


def validate_no_plaintext_secrets(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Passwords, keys and credential URLs reach resources only as Pulumi secrets: container
    environment and command lines, PostgreSQL role passwords, provider arguments."""
    if args.resource_type == CONTAINER:
        what = service_of(args.props, args.name)
        env, lines = _container_findings(args.props)
        if env:
            report(
                f"'{what}' gets {', '.join(env)} in plain text, so it lands unencrypted in the "
                f"state and the preview. {_SECRET_FIX}",
                None,
            )
        if lines:
            report(
                f"'{what}' has a credential in plain text on its command line "
                f"({'; '.join(lines)}), so it lands unencrypted in the state and the preview, and "
                "`docker inspect` and `ps` show it. Put the value in "
                "the Service's secret_env and have the command read the variable (e.g. `sh -c "
                "'exec redis-server --requirepass \"$REDIS_PASSWORD\"'`).",
                None,
            )
    elif args.resource_type == POSTGRES_ROLE:
        password = lookup(args.props, "password")
        if _plain(password) and password:
            what = service_of(args.props, args.name)
            report(
                f"'{what}' gets password in plain text, so it lands unencrypted in the state and "
                f"the preview. {_SECRET_FIX}",
                None,
            )
    elif args.resource_type.startswith(PROVIDER_PREFIX):
        found = list(dict.fromkeys(provider_secrets(args.props)))
        if found:
            package = args.resource_type.removeprefix(PROVIDER_PREFIX)
            report(
                f"provider '{args.name}' ({args.resource_type}) gets {', '.join(found)} in plain "
                "text, so it lands unencrypted in the state and the preview. Pass it as a "
                "secret: pulumi.Output.secret(...) or a secret config value in the program, or "
                f"`pulumi config set --secret {package}:<key>` for the default provider.",
                None,
            )


def policies() -> list[ResourceValidationPolicy]:
    """The credentials policy."""
    return [
        resource_policy(
            "no-plaintext-secrets",
            "Passwords, keys and credential URLs reach resources only as secrets.",
            validate_no_plaintext_secrets,
        )
    ]
