"""Dependabot configuration (version 2) as a model, for this repository and for the application's.

What Dependabot can see, it updates: GitHub Actions in workflow YAML, pip requirement files, npm
lock files, `FROM` lines of Dockerfiles. What it cannot see: the container images this Pulumi
program pins as Python strings (model/catalogue.py). Those are covered by the Renovate regex
manager in `renovate.py`, the one thing Renovate is asked to do here.

Two generated files are in Dependabot's reach, and both come from code: this repository's workflows
(from pins.py) and the application's ci.yml (committed by Pulumi, which would undo a bot's edit). A
github-actions update PR here is therefore a prompt: make the same bump in
render/workflows/pins.py and regenerate (the test that compares generated and committed files
fails until that is done). The application's Dependabot config leaves github-actions out for that
reason.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from model.github import AppCiSettings
from render.workflows.models import OutputModel
from render.workflows.render import model_data, render_yaml

DEPENDABOT_PATH = ".github/dependabot.yml"

Ecosystem = Literal["github-actions", "pip", "npm", "docker"]


class UpdateSchedule(OutputModel):
    """When Dependabot looks for updates."""

    interval: Literal["daily", "weekly", "monthly"]
    """How often."""
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday"] | None = None
    """Weekday for weekly checks."""


class Group(OutputModel):
    """Several dependencies updated in one pull request."""

    patterns: tuple[str, ...] = Field(min_length=1)
    """Dependency name patterns in the group."""
    update_types: tuple[Literal["major", "minor", "patch"], ...] | None = Field(
        default=None, alias="update-types"
    )
    """Only these kinds of update join the group."""


class CommitMessage(OutputModel):
    """Commit message prefix for update pull requests."""

    prefix: str
    """E.g. `deps`."""


class Update(OutputModel):
    """One `updates` entry: an ecosystem in a directory."""

    package_ecosystem: Ecosystem = Field(alias="package-ecosystem")
    """Which package manager."""
    directory: str
    """Where its manifest lives (`/` is the repository root)."""
    schedule: UpdateSchedule
    """When to check."""
    open_pull_requests_limit: int | None = Field(
        default=None, alias="open-pull-requests-limit", ge=0
    )
    """Cap on open update pull requests for this entry."""
    labels: tuple[str, ...] | None = None
    """Labels on the update pull requests."""
    groups: dict[str, Group] | None = None
    """Grouped updates."""
    commit_message: CommitMessage | None = Field(default=None, alias="commit-message")
    """Commit message settings."""


class DependabotConfig(OutputModel):
    """The whole `.github/dependabot.yml`."""

    version: Literal[2] = 2
    """Config format version."""
    updates: tuple[Update, ...] = Field(min_length=1)
    """One entry per ecosystem and directory."""


_WEEKLY = UpdateSchedule(interval="weekly", day="monday")


def _update(ecosystem: Ecosystem, directory: str, group: str | None = None) -> Update:
    return Update(
        package_ecosystem=ecosystem,
        directory=directory,
        schedule=_WEEKLY,
        open_pull_requests_limit=5,
        labels=("dependencies",),
        # Minor and patch bumps of one ecosystem arrive as one PR; majors stay separate for review.
        groups=(
            {group: Group(patterns=("*",), update_types=("minor", "patch"))} if group else None
        ),
        commit_message=CommitMessage(prefix="deps"),
    )


def infra_dependabot() -> DependabotConfig:
    """This repository: its actions pins, its Python requirements, its npm tools."""
    return DependabotConfig(
        updates=(
            _update("github-actions", "/", "actions"),
            _update("pip", "/", "python"),
            _update("npm", "/", "npm-tools"),
        )
    )


def app_dependabot(settings: AppCiSettings) -> DependabotConfig:
    """The application repository: backend requirements, frontend packages, Dockerfile bases."""
    dockerfile_dirs: list[str] = []
    for image in settings.images:
        directory = (
            "/" + image.dockerfile_path.rsplit("/", 1)[0] if "/" in image.dockerfile_path else "/"
        )
        if directory not in dockerfile_dirs:
            dockerfile_dirs.append(directory)
    return DependabotConfig(
        updates=(
            _update("pip", f"/{settings.backend_dir}", "python"),
            _update("npm", f"/{settings.frontend_dir}", "npm"),
            *(_update("docker", directory) for directory in dockerfile_dirs),
        )
    )


def render_dependabot(config: DependabotConfig) -> str:
    """The text of `.github/dependabot.yml`."""
    return render_yaml(model_data(config))
