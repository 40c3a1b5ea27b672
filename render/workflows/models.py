"""The subset of the GitHub Actions workflow schema that our workflows use, as frozen models.

Field names are Python identifiers; the serialisation aliases are GitHub's keys (`runs-on`, `if`,
`timeout-minutes`, `cancel-in-progress`). Optional keys default to None and are left out of the
rendered YAML. The models refuse what GitHub would accept but we never want: a job without a
timeout, an action not pinned to an exact version, a `needs` naming a job that does not exist, a
cycle.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PermissionScope = Literal[
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
]
PermissionLevel = Literal["read", "write", "none"]
Permissions = dict[PermissionScope, PermissionLevel]
"""Token permissions; `{}` grants nothing, which is what a workflow's top level should say."""

WithValue = str | int | bool

# An exact release (v1.2.3 or 1.2.3) or a full commit SHA; a major tag like v4 moves under us.
_PINNED_USES = re.compile(
    r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@(?:v?\d+\.\d+\.\d+|[0-9a-f]{40})$",
)
_JOB_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_CRON = re.compile(r"^\S+ \S+ \S+ \S+ \S+$")


class OutputModel(BaseModel):
    """Base of the models of generated files: frozen, no unknown keys, the file's own key names."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class Step(OutputModel):
    """One step: either an action (`uses`) or a shell script (`run`)."""

    name: str
    """Shown in the run log; every step has one so logs and failures are readable."""
    id: str | None = None
    """Lets later steps and job outputs read this step's outputs and outcome."""
    if_: str | None = Field(default=None, alias="if")
    """Condition; without one the step runs only while every earlier step succeeded."""
    uses: str | None = None
    """An action pinned to an exact version tag or commit SHA, e.g. actions/checkout@v4.2.2."""
    with_: dict[str, WithValue] | None = Field(default=None, alias="with")
    """The action's inputs."""
    run: str | None = None
    """A shell script. Untrusted `github.event.*` values reach it only through `env`."""
    working_directory: str | None = Field(default=None, alias="working-directory")
    """Directory the script runs in, relative to the checkout."""
    env: dict[str, str] | None = None
    """Environment variables for this step."""
    continue_on_error: bool | None = Field(default=None, alias="continue-on-error")
    """Let the job go on when this step fails (its outcome stays `failure`)."""

    @field_validator("uses")
    @classmethod
    def _pinned(cls, value: str | None) -> str | None:
        if value is not None and not _PINNED_USES.match(value):
            raise ValueError(
                f"action '{value}' is not pinned: use owner/repo@vX.Y.Z or a full commit SHA"
            )
        return value

    @model_validator(mode="after")
    def _uses_or_run(self) -> Step:
        if (self.uses is None) == (self.run is None):
            raise ValueError(f"step '{self.name}' needs exactly one of 'uses' and 'run'")
        if self.uses is not None and self.working_directory is not None:
            raise ValueError(f"step '{self.name}': 'working-directory' applies to 'run' steps only")
        if self.run is not None and self.with_ is not None:
            raise ValueError(f"step '{self.name}': 'with' applies to 'uses' steps only")
        return self


class ServiceContainer(OutputModel):
    """A container started beside the job (e.g. PostgreSQL for the tests)."""

    image: str
    """Image with an exact tag."""
    env: dict[str, str] | None = None
    """The container's environment."""
    ports: tuple[str, ...] | None = None
    """`host:container` port mappings, reachable from the job on localhost."""
    options: str | None = None
    """Extra `docker create` options; health options make the job wait until the service is up."""


class Concurrency(OutputModel):
    """At most one run per group; `cancel-in-progress` decides whether a new run stops the old."""

    group: str
    """Group key, usually built from the workflow and the ref."""
    cancel_in_progress: bool | str = Field(alias="cancel-in-progress")
    """True, False, or an expression such as `${{ github.event_name == 'pull_request' }}`."""


class Environment(OutputModel):
    """A GitHub deployment environment (protection rules, approvals, its own secrets)."""

    name: str
    """Environment name as configured in the repository settings."""
    url: str | None = None
    """Link shown on the deployment."""


class Strategy(OutputModel):
    """A matrix: one job per combination."""

    matrix: dict[str, tuple[str, ...] | tuple[dict[str, str], ...]]
    """Axis name to its values (strings, or objects whose fields the steps read)."""
    fail_fast: bool = Field(default=False, alias="fail-fast")
    """False so that one failing image does not cancel the others' builds."""


class Job(OutputModel):
    """One job; `timeout-minutes` is required so a hung job cannot burn six hours of minutes."""

    name: str | None = None
    """Display name (and required-check name); defaults to the job id."""
    runs_on: str = Field(alias="runs-on")
    """Runner label; an exact image (ubuntu-24.04) so a label move does not change the tools."""
    needs: tuple[str, ...] | None = None
    """Jobs that must finish first."""
    if_: str | None = Field(default=None, alias="if")
    """Job condition."""
    permissions: Permissions
    """The job's token permissions: only what its steps need."""
    environment: Environment | None = None
    """Deployment environment whose protection rules gate this job."""
    concurrency: Concurrency | None = None
    """Job-level concurrency (e.g. one deploy at a time, never cancelled)."""
    timeout_minutes: int = Field(alias="timeout-minutes", gt=0, le=360)
    """Hard limit for the job."""
    outputs: dict[str, str] | None = None
    """Values later jobs read through `needs.<job>.outputs`."""
    strategy: Strategy | None = None
    """Matrix of variants."""
    services: dict[str, ServiceContainer] | None = None
    """Containers started beside the job."""
    env: dict[str, str] | None = None
    """Environment for every step of the job."""
    steps: tuple[Step, ...] = Field(min_length=1)
    """What the job does."""


class PushTrigger(OutputModel):
    """`on.push`."""

    branches: tuple[str, ...] | None = None
    """Branches whose pushes start the workflow."""


class PullRequestTrigger(OutputModel):
    """`on.pull_request` (never `pull_request_target`: it runs fork code with secrets)."""

    branches: tuple[str, ...] | None = None
    """Base branches whose pull requests start the workflow."""


class Schedule(OutputModel):
    """One cron entry (UTC)."""

    cron: str
    """Five cron fields."""

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if not _CRON.match(value):
            raise ValueError(f"cron '{value}' must have five space-separated fields")
        return value


class WorkflowDispatch(OutputModel):
    """`on.workflow_dispatch`: a manual "Run workflow" button, no inputs."""


class On(OutputModel):
    """The events that start the workflow."""

    push: PushTrigger | None = None
    """Pushes."""
    pull_request: PullRequestTrigger | None = None
    """Pull requests."""
    schedule: tuple[Schedule, ...] | None = None
    """Cron schedules."""
    workflow_dispatch: WorkflowDispatch | None = None
    """Manual runs."""


class Workflow(OutputModel):
    """A whole workflow file."""

    name: str
    """Workflow name shown in the Actions tab."""
    on: On = Field(alias="on")
    """Triggers."""
    permissions: Permissions
    """Default token permissions; `{}` so each job must ask for what it needs."""
    concurrency: Concurrency | None = None
    """Workflow-level concurrency."""
    env: dict[str, str] | None = None
    """Environment for every job."""
    jobs: dict[str, Job] = Field(min_length=1)
    """Job id to job."""

    @model_validator(mode="after")
    def _job_graph(self) -> Workflow:
        for job_id, job in self.jobs.items():
            if not _JOB_ID.match(job_id):
                raise ValueError(f"job id '{job_id}' must match {_JOB_ID.pattern}")
            for need in job.needs or ():
                if need not in self.jobs:
                    raise ValueError(f"job '{job_id}' needs '{need}', which is not a job here")
        visiting: set[str] = set()
        done: set[str] = set()

        def visit(job_id: str) -> None:
            if job_id in done:
                return
            if job_id in visiting:
                raise ValueError(f"jobs form a cycle through '{job_id}'")
            visiting.add(job_id)
            for need in self.jobs[job_id].needs or ():
                visit(need)
            visiting.discard(job_id)
            done.add(job_id)

        for job_id in self.jobs:
            visit(job_id)
        return self


def pr_and_main_triggers(prefix: str) -> tuple[On, Concurrency]:
    """Run on pull requests to main and pushes to main; a newer push cancels a pull request's
    run in progress, never a run on main (a deploy must finish)."""
    return (
        On(
            push=PushTrigger(branches=("main",)),
            pull_request=PullRequestTrigger(branches=("main",)),
        ),
        Concurrency(
            group=f"{prefix}-${{{{ github.event.pull_request.number || github.ref }}}}",
            cancel_in_progress="${{ github.event_name == 'pull_request' }}",
        ),
    )
