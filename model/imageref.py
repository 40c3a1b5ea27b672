"""Docker image references: the grammar Docker parses, and the repository an image comes from.

The grammar is distribution/reference's (reference.go, regexp.go), which the Docker CLI and
daemon use: `[domain/]path[:tag][@digest]`, path components lowercase, a tag of at most 128
characters, and a digest whose hex part go-digest validates by algorithm (sha256: exactly 64
lowercase hex digits). A bare `sha256:<64 hex>` (or 64 hex digits alone) is an image ID, which is
what the program passes to a container: the RemoteImage's `imageId`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_ALNUM: Final = r"[a-z0-9]+"
_SEPARATOR: Final = r"(?:[._]|__|-+)"
_PATH_COMPONENT: Final = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT: Final = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN: Final = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_NAME: Final = re.compile(rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG: Final = re.compile(r"[\w][\w.-]{0,127}")
_NAME_TOTAL_LENGTH_MAX: Final = 255
# go-digest's registered algorithms and the length of their lowercase hex encoding.
_DIGEST_HEX: Final = {"sha256": 64, "sha384": 96, "sha512": 128}
_IMAGE_ID: Final = re.compile(r"(?:sha256:)?[a-f0-9]{64}")


@dataclass(frozen=True)
class Reference:
    """A parsed image reference (or an image ID, when `repository` is empty)."""

    repository: str
    """The normalized repository, as Docker resolves it: `docker.io/library/nginx` for `nginx`;
    empty for an image ID."""
    tag: str | None
    """The tag, if any."""
    digest: str | None
    """The digest (`sha256:...`), or the ID itself for an image ID."""


class InvalidReference(ValueError):
    """Not a reference Docker would accept; the message says why, naming the reference."""


def _digest_problem(ref: str, digest: str) -> str | None:
    algorithm, sep, hex_part = digest.partition(":")
    length = _DIGEST_HEX.get(algorithm)
    if not sep or length is None:
        return f"'{ref}' has a digest with an unknown algorithm '{algorithm}' (use sha256)"
    if not re.fullmatch(rf"[a-f0-9]{{{length}}}", hex_part):
        return (
            f"'{ref}' has a malformed digest: {algorithm} takes exactly {length} lowercase hex "
            "digits"
        )
    return None


def normalize_name(name: str) -> str:
    """The repository Docker pulls for a name (distribution/reference normalize.go
    splitDockerDomain): no domain means Docker Hub, and a one-part Hub name is `library/`'s."""
    first, slash, rest = name.partition("/")
    if not slash or (
        "." not in first and ":" not in first and first != "localhost" and first == first.lower()
    ):
        domain, remainder = "docker.io", name
    else:
        domain, remainder = first, rest
    if domain == "index.docker.io":
        domain = "docker.io"
    if domain == "docker.io" and "/" not in remainder:
        remainder = f"library/{remainder}"
    return f"{domain}/{remainder}"


def parse_reference(ref: str) -> Reference:
    """Parse an image reference or ID as Docker would; InvalidReference says why it cannot."""
    if _IMAGE_ID.fullmatch(ref):
        return Reference(repository="", tag=None, digest=ref)
    if ref.startswith("sha256:"):
        raise InvalidReference(
            f"'{ref}' is a malformed image ID: sha256 takes exactly 64 lowercase hex digits"
        )
    name_tag, at, digest = ref.partition("@")
    if at:
        problem = _digest_problem(ref, digest)
        if problem:
            raise InvalidReference(problem)
    # The tag follows the last colon, unless that colon is a registry's port (a path follows it).
    head, colon, tail = name_tag.rpartition(":")
    name, tag = (head, tail) if colon and "/" not in tail else (name_tag, None)
    if not _NAME.fullmatch(name) or (tag is not None and not _TAG.fullmatch(tag)):
        raise InvalidReference(f"'{ref}' is not a valid image reference")
    if len(name) > _NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"'{ref}' is not a valid image reference (names are at most 255 characters)"
        )
    return Reference(repository=normalize_name(name), tag=tag, digest=digest if at else None)


def repository(ref: str) -> str | None:
    """The normalized repository of a reference; None for an image ID or an invalid reference."""
    try:
        return parse_reference(ref).repository or None
    except InvalidReference:
        return None


def image_problem(ref: str) -> str | None:
    """Why an image reference is invalid or not pinned, or None when it is pinned (a version tag
    or a well-formed digest, or an image ID)."""
    try:
        parsed = parse_reference(ref)
    except InvalidReference as error:
        return str(error)
    if parsed.digest:
        return None
    if parsed.tag is None:
        return f"'{ref}' has no tag, so Docker pulls :latest"
    if parsed.tag == "latest":
        return f"'{ref}' uses :latest"
    if not any(c.isdigit() for c in parsed.tag):
        return f"'{ref}' uses the floating tag :{parsed.tag}"
    return None
