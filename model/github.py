"""`GitHubSettings`: which generated files go to which application repository and branch.

Stack config key `investment-platform:github`, a structured object with camelCase keys:

    investment-platform:github:
      repository: acme/investment-platform
      branch: main
      workflows: [ci, dependabot]
      ci:
        imagePrefix: ghcr.io/acme/investment-platform

Every invalid value is reported before anything is registered, with the key it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, cast, get_args

from pydantic import Field, ValidationError, field_validator, model_validator

from model.base import ConfigModel
from render.workflows.app_ci import AppCiSettings

CONFIG_KEY = "investment-platform:github"

WorkflowName = Literal["ci", "dependabot"]
KNOWN_WORKFLOWS: tuple[WorkflowName, ...] = get_args(WorkflowName)

# GitHub owners: letters, digits, single hyphens; repository names add '.' and '_'.
_REPOSITORY = re.compile(
    r"^(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)/(?P<name>[A-Za-z0-9._-]+)$"
)


def _default_prefix(repository: str) -> str:
    return f"ghcr.io/{repository.lower()}"


class GitHubConfigError(ValueError):
    """Invalid `investment-platform:github`; the message names each offending key."""


class GitHubSettings(ConfigModel):
    """Where the application's generated CI files are committed."""

    repository: str
    """The application repository, `owner/name`."""
    branch: str = "main"
    """Branch the files are committed to (see docs/CI_CD.md for protected branches)."""
    workflows: tuple[str, ...] = Field(default=KNOWN_WORKFLOWS)
    """Which generated files to publish: `ci` (.github/workflows/ci.yml), `dependabot`."""
    commit_message: str = "ci: update generated CI files (from the infrastructure repository)"
    """Message of the commits Pulumi makes."""
    autocreate_branch: bool = False
    """Create `branch` from the default branch when it does not exist (for a PR-based flow)."""
    ci: AppCiSettings | None = None
    """The application CI's settings; imagePrefix defaults to ghcr.io/<repository, lowercased>."""

    @model_validator(mode="before")
    @classmethod
    def _default_image_prefix(cls, data: Any) -> Any:
        # The image prefix follows from the repository unless the stack says otherwise.
        if not isinstance(data, Mapping):
            return data
        repository, ci = data.get("repository"), data.get("ci")
        if (
            isinstance(repository, str)
            and _REPOSITORY.match(repository)
            and isinstance(ci, Mapping)
            and not {"imagePrefix", "image_prefix"} & set(ci)
        ):
            return {**data, "ci": {**ci, "imagePrefix": _default_prefix(repository)}}
        return data

    @field_validator("repository")
    @classmethod
    def _owner_name(cls, value: str) -> str:
        if not _REPOSITORY.match(value):
            raise ValueError(f"'{value}' is not in owner/name form (e.g. acme/investment-platform)")
        return value

    @field_validator("branch")
    @classmethod
    def _branch(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if value != value.strip() or " " in value:
            raise ValueError(f"'{value}' is not a branch name (no spaces)")
        return value

    @field_validator("workflows")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(f"name at least one of {', '.join(KNOWN_WORKFLOWS)}")
        for name in value:
            if name not in KNOWN_WORKFLOWS:
                raise ValueError(
                    f"unknown workflow '{name}'; known workflows are {', '.join(KNOWN_WORKFLOWS)}"
                )
        if len(set(value)) != len(value):
            raise ValueError("each workflow may be named once")
        return value

    @property
    def owner(self) -> str:
        """The repository's owner (user or organisation): the GitHub provider's `owner`."""
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        """The repository's name without the owner, as pulumi-github's RepositoryFile wants it."""
        return self.repository.split("/", 1)[1]

    @property
    def app_ci(self) -> AppCiSettings:
        """The application CI's settings, defaults filled in."""
        return self.ci or AppCiSettings(image_prefix=_default_prefix(self.repository))

    @property
    def selected(self) -> tuple[WorkflowName, ...]:
        """The selected workflows, typed."""
        return cast(tuple[WorkflowName, ...], self.workflows)


def parse_github_settings(raw: Mapping[str, Any], key: str = CONFIG_KEY) -> GitHubSettings:
    """Validate the stack's `github` object; errors name `<key>.<field>` and say what is wrong."""
    try:
        return GitHubSettings.model_validate(raw)
    except ValidationError as error:
        lines = []
        for item in error.errors(include_url=False):
            where = ".".join(str(part) for part in (key, *item["loc"]))
            message = item["msg"].removeprefix("Value error, ")
            lines.append(f"{where}: {message}")
        raise GitHubConfigError("\n".join(lines)) from None
