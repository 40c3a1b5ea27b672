"""Every third-party action the generated workflows use, pinned to an exact release tag.

Exact tags, not commit SHAs: the machine that wrote this could not reach GitHub to resolve a tag to
its SHA, and a SHA copied from memory that is off by one character breaks every run. A tag can in
principle be moved by the action's owner; Dependabot (github-actions ecosystem) proposes updates to
these pins, and a 40-hex SHA is accepted by Step.uses, so moving to SHAs is one line per action.
"""

from __future__ import annotations

RUNNER = "ubuntu-24.04"
"""An exact runner image rather than ubuntu-latest, so a label move cannot change the tools."""

CHECKOUT = "actions/checkout@v4.2.2"
SETUP_PYTHON = "actions/setup-python@v5.6.0"
SETUP_NODE = "actions/setup-node@v4.4.0"
GITHUB_SCRIPT = "actions/github-script@v7.0.1"
PATHS_FILTER = "dorny/paths-filter@v3.0.2"
SETUP_BUILDX = "docker/setup-buildx-action@v3.10.0"
DOCKER_LOGIN = "docker/login-action@v3.4.0"
BUILD_PUSH = "docker/build-push-action@v6.18.0"
PULUMI = "pulumi/actions@v6.6.1"

PIP_AUDIT = "pip-audit==2.10.1"
"""Installed with pip in the security scan; pinned like everything else."""
