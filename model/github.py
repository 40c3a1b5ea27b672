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

CONFIG_KEY = "investment-platform:github"

WorkflowName = Literal["ci", "dependabot"]
KNOWN_WORKFLOWS: tuple[WorkflowName, ...] = get_args(WorkflowName)

# GitHub owners: letters, digits, single hyphens; repository names add '.' and '_'.
_REPOSITORY = re.compile(
    r"^(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)/(?P<name>[A-Za-z0-9._-]+)$"
)


_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_IMAGE_PREFIX = re.compile(r"^[a-z0-9.-]+(?::\d+)?(?:/[a-z0-9._-]+)+$")


def check_relative_path(value: str) -> str:
    """Return `value` if it is a path inside the repository, else raise ValueError."""
    parts = value.split("/")
    if not value or value.startswith("/") or ".." in parts or "" in parts:
        raise ValueError(f"'{value}' must be a relative path inside the repository")
    return value


class ImageBuild(ConfigModel):
    """One image the application's CI builds."""

    name: str
    """Image name (lowercase) and its Buildx cache scope, so images never share a cache."""
    context: str
    """Build context directory, relative to the repository root."""
    dockerfile: str | None = None
    """Dockerfile path relative to the repository root; defaults to `<context>/Dockerfile`."""

    @field_validator("name")
    @classmethod
    def _lowercase(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"image name '{value}' must match {_NAME.pattern}")
        return value

    @field_validator("context", "dockerfile")
    @classmethod
    def _relative(cls, value: str | None) -> str | None:
        return None if value is None else check_relative_path(value)

    @property
    def dockerfile_path(self) -> str:
        """The Dockerfile the build uses."""
        return self.dockerfile or f"{self.context}/Dockerfile"


class AppCiSettings(ConfigModel):
    """What the application's CI needs to know about the application repository."""

    image_prefix: str
    """Registry path the images are pushed to on main, e.g. `ghcr.io/acme/investment-platform`."""
    python_version: str = "3.11"
    """Backend Python version (matches the backend image)."""
    node_version: str = "20"
    """Frontend Node.js version."""
    backend_dir: str = "backend"
    """Backend source directory."""
    frontend_dir: str = "frontend"
    """Frontend source directory (holds package.json and package-lock.json)."""
    backend_requirements: tuple[str, ...] = ("requirements.txt", "requirements-dev.txt")
    """Requirement files installed for quality and tests, relative to backend_dir."""
    backend_quality_commands: tuple[str, ...] = ("ruff check .", "ruff format --check .", "mypy .")
    """Lint and type checks, run in backend_dir."""
    backend_test_command: str = "pytest -q"
    """Backend tests, run in backend_dir with DATABASE_URL and REDIS_URL set."""
    frontend_quality_commands: tuple[str, ...] = ("npm run lint", "npm run typecheck")
    """Lint and type checks, run in frontend_dir."""
    frontend_test_command: str = "npm test"
    """Frontend tests, run in frontend_dir."""
    postgres_image: str = "postgres:15.13-alpine"
    """Service container for the backend tests: the same PostgreSQL as production."""
    redis_image: str = "redis:7.4.2-alpine"
    """Service container for the backend tests: the same Redis as production."""
    images: tuple[ImageBuild, ...] = Field(
        default=(
            ImageBuild(name="backend", context="backend"),
            ImageBuild(name="frontend", context="frontend"),
        ),
        min_length=1,
    )
    """Images to build, one matrix entry (and one cache scope) each."""
    infra_paths: tuple[str, ...] = ("docker-compose*.yml", "deploy/**")
    """Deployment files: a change here rebuilds (from cache) and redeploys."""
    deploy_environment: str = "production"
    """GitHub environment of the deploy job; give it required reviewers to gate deploys."""
    deploy_url: str | None = None
    """Public URL shown on the deployment."""
    deploy_command: str = './deploy/deploy.sh "$IMAGE_TAG"'
    """Script the deploy job runs on main, with IMAGE_PREFIX and IMAGE_TAG (the commit SHA) set."""
    deploy_secrets: tuple[str, ...] = ("DEPLOY_SSH_KEY", "DEPLOY_HOST")
    """Environment secrets passed to the deploy command as variables of the same name."""

    @field_validator("image_prefix")
    @classmethod
    def _registry_path(cls, value: str) -> str:
        if not _IMAGE_PREFIX.match(value):
            raise ValueError(
                f"'{value}' must be a lowercase registry path such as ghcr.io/owner/name"
            )
        return value

    @field_validator("backend_dir", "frontend_dir")
    @classmethod
    def _relative(cls, value: str) -> str:
        return check_relative_path(value)

    @field_validator("deploy_secrets")
    @classmethod
    def _env_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _ENV_NAME.match(name):
                raise ValueError(f"secret name '{name}' must match {_ENV_NAME.pattern}")
        return value

    @model_validator(mode="after")
    def _unique_images(self) -> AppCiSettings:
        names = [image.name for image in self.images]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"image names must be unique (cache scopes): {', '.join(duplicates)}")
        return self


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
