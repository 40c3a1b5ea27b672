"""Policies on images: valid, pinned references, and no Elasticsearch or fork of it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from .core import CONTAINER, REMOTE_IMAGE, lookup, resource_policy, strings
from .references import image_problem


def validate_images_pinned(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """Images are valid references pinned to a version tag or a well-formed digest."""
    if args.resource_type == REMOTE_IMAGE:
        ref = lookup(args.props, "name")
    elif args.resource_type == CONTAINER:
        ref = lookup(args.props, "image")
    else:
        return
    if not isinstance(ref, str):
        return
    problem = image_problem(ref)
    if problem:
        report(
            f"image {problem}; pin a version tag (e.g. redis:7.4.2-alpine) or a digest in the "
            "catalogue or the stack's images config, so every deploy runs what was tested.",
            None,
        )


SEARCH_ENGINES: Final = ("elasticsearch", "opensearch", "opendistro")
"""Elasticsearch and its forks: OpenSearch (opensearchproject/opensearch, its dashboards and
exporters) and its predecessor Open Distro."""
_ENV_PREFIXES: Final = ("ELASTICSEARCH_", "OPENSEARCH_")
_ENGINE_REF: Final = re.compile(
    r"(?<![\w.-])(?:[a-z0-9.-]+(?::\d+)?/)?(?:[a-z0-9._-]+/)*"
    rf"[a-z0-9._-]*(?:{'|'.join(SEARCH_ENGINES)})[a-z0-9._-]*"
    r"(?::\w[\w.-]*|@sha256:[0-9a-f]{64})"
)
"""A host:port, image:tag or image@digest naming one of them; prose ("replaces Elasticsearch")
does not match."""


def validate_no_elasticsearch(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """No resource runs, references or configures Elasticsearch or a fork of it."""
    image_keys = {REMOTE_IMAGE: "name", CONTAINER: "image"}
    found: list[str] = []
    for path, text in strings(args.props):
        reference = _ENGINE_REF.search(text)
        if path == image_keys.get(args.resource_type) and any(
            engine in text.lower() for engine in SEARCH_ENGINES
        ):
            found.append(f"image '{text}'")
        elif path.startswith("envs[") and text.upper().startswith(_ENV_PREFIXES):
            found.append(f"variable {text.split('=', 1)[0]}")
        elif reference:
            found.append(f"reference '{reference.group(0)}' in {path}")
    if found:
        report(
            f"Elasticsearch (or a fork such as OpenSearch) is still referenced: "
            f"{', '.join(found)}. It was replaced by PostgreSQL full-text search; remove the "
            "service, its exporter, its variables and scrape jobs.",
            None,
        )


def policies() -> list[ResourceValidationPolicy]:
    """The image policies, in report order."""
    return [
        resource_policy(
            "images-pinned",
            "Images are valid references pinned to a version tag or a digest, never latest.",
            validate_images_pinned,
        ),
        resource_policy(
            "no-elasticsearch",
            "Nothing runs or references Elasticsearch or a fork of it; search lives in PostgreSQL.",
            validate_no_elasticsearch,
        ),
    ]
