"""Renovate configuration for what Dependabot cannot see: container images pinned in Python code.

The catalogue pins each image as a string literal (`image="redis:7.4.2-alpine"`, or a constant
such as `_PG_IMAGE = "..."`). Dependabot's docker ecosystem reads Dockerfiles, Compose and
Kubernetes files only, so it would never propose a newer image. Renovate's regex manager reads
those literals with the docker datasource; `enabledManagers` restricts Renovate to that, leaving
actions, pip and npm to Dependabot so that no update is proposed twice. Major image updates are
left out of automatic PRs: for PostgreSQL they need a dump and restore, and for the others they
deserve a planned change.
"""

from __future__ import annotations

import json
from typing import Any

RENOVATE_PATH = "renovate.json"
IMAGE_FILE_PATTERN = "/^model/catalogue\\.py$/"
# A pinned image literal after `image=` or an `_IMAGE = ` constant: name, then an exact tag.
IMAGE_MATCH = (
    '(?:image=|_IMAGE = )"(?<depName>[a-z0-9][a-z0-9./_-]*)'
    ':(?<currentValue>[A-Za-z0-9][A-Za-z0-9._-]*)"'
)


def renovate_config() -> dict[str, Any]:
    """The content of `renovate.json`."""
    return {
        "$schema": "https://docs.renovatebot.com/renovate-schema.json",
        "extends": ["config:recommended"],
        "enabledManagers": ["custom.regex"],
        "customManagers": [
            {
                "customType": "regex",
                "description": "Container images pinned as Python string literals",
                "managerFilePatterns": [IMAGE_FILE_PATTERN],
                "matchStrings": [IMAGE_MATCH],
                "datasourceTemplate": "docker",
            }
        ],
        "packageRules": [
            {
                "description": "Major image upgrades are planned changes, not bot PRs",
                "matchDatasources": ["docker"],
                "matchUpdateTypes": ["major"],
                "enabled": False,
            },
            {
                "description": "One PR for all minor and patch image updates",
                "matchDatasources": ["docker"],
                "matchUpdateTypes": ["minor", "patch"],
                "groupName": "container images",
            },
        ],
        "labels": ["dependencies"],
    }


def render_renovate() -> str:
    """`renovate.json` text (JSON has no comments: the description fields explain each part)."""
    return json.dumps(renovate_config(), indent=2) + "\n"
