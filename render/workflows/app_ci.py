"""The application repository's `ci.yml`, built from typed settings.

Job graph: `changes` decides which parts of the repository changed; quality, tests, the security
scan and the image builds run in parallel, each gated on its own path filter (job-level gating, so a
skipped job still reports and required checks never wait forever); `ci-ok` always runs and is the
one required check; `deploy` runs only on a push to main, after the builds, behind a GitHub
environment.
"""

from __future__ import annotations

from typing import Literal

import yaml

from model.github import AppCiSettings
from render.workflows import pins
from render.workflows.models import (
    Concurrency,
    Environment,
    Job,
    ServiceContainer,
    Step,
    Strategy,
    Workflow,
    pr_and_main_triggers,
)
from render.workflows.steps import checkout, setup_python

CI_WORKFLOW_PATH = ".github/workflows/ci.yml"
ON_MAIN_PUSH = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
"""The deploy condition: never for pull requests, never for other branches."""

Filter = Literal["backend", "frontend", "docker", "infra"]
FILTERS: tuple[Filter, ...] = ("backend", "frontend", "docker", "infra")


def _changed(*filters: Filter) -> str:
    return " || ".join(f"needs.changes.outputs.{name} == 'true'" for name in filters)


def _setup_python(settings: AppCiSettings) -> Step:
    return setup_python(settings.python_version, f"{settings.backend_dir}/requirements*.txt")


def _setup_node(settings: AppCiSettings) -> Step:
    return Step(
        name="Set up Node.js (npm cache)",
        uses=pins.SETUP_NODE,
        with_={
            "node-version": settings.node_version,
            "cache": "npm",
            "cache-dependency-path": f"{settings.frontend_dir}/package-lock.json",
        },
    )


def _backend_install(settings: AppCiSettings) -> Step:
    files = " ".join(f"-r {name}" for name in settings.backend_requirements)
    return Step(
        name="Install backend dependencies",
        run=f"python -m pip install {files}",
        working_directory=settings.backend_dir,
    )


def _frontend_install(settings: AppCiSettings) -> Step:
    return Step(
        name="Install frontend dependencies", run="npm ci", working_directory=settings.frontend_dir
    )


def _filters(settings: AppCiSettings) -> dict[Filter, list[str]]:
    docker: list[str] = []
    for image in settings.images:
        paths = [f"{image.context}/**"]
        if not image.dockerfile_path.startswith(f"{image.context}/"):
            paths.append(image.dockerfile_path)
        docker.extend(path for path in paths if path not in docker)
    return {
        "backend": [f"{settings.backend_dir}/**", CI_WORKFLOW_PATH],
        "frontend": [f"{settings.frontend_dir}/**", CI_WORKFLOW_PATH],
        "docker": [*docker, CI_WORKFLOW_PATH],
        "infra": list(settings.infra_paths),
    }


def _changes_job(settings: AppCiSettings) -> Job:
    # The filter definitions are YAML inside an input; dump them with the library too.
    filters = yaml.safe_dump(_filters(settings), sort_keys=False, default_flow_style=False)
    return Job(
        name="Detect changes",
        runs_on=pins.RUNNER,
        # pull-requests: read lets paths-filter list a pull request's files through the API.
        permissions={"contents": "read", "pull-requests": "read"},
        timeout_minutes=5,
        outputs={name: f"${{{{ steps.filter.outputs.{name} }}}}" for name in FILTERS},
        steps=(
            # On pushes paths-filter runs `git fetch` for the previous commit, which needs the
            # checkout's credentials in a private repository; this job runs no other code.
            Step(name="Check out", uses=pins.CHECKOUT),
            Step(
                name="Filter paths", id="filter", uses=pins.PATHS_FILTER, with_={"filters": filters}
            ),
        ),
    )


def _commands_job(
    *, name: str, part: Filter, setup: tuple[Step, ...], commands: tuple[str, ...], directory: str
) -> Job:
    """A job that runs when `part` changed: set-up steps, then one step per command."""
    return Job(
        name=name,
        runs_on=pins.RUNNER,
        needs=("changes",),
        if_=_changed(part),
        permissions={"contents": "read"},
        timeout_minutes=10,
        steps=(
            checkout(),
            *setup,
            *(
                Step(name=f"Run {command}", run=command, working_directory=directory)
                for command in commands
            ),
        ),
    )


def _backend_quality_job(settings: AppCiSettings) -> Job:
    return _commands_job(
        name="Backend quality",
        part="backend",
        setup=(_setup_python(settings), _backend_install(settings)),
        commands=settings.backend_quality_commands,
        directory=settings.backend_dir,
    )


def _backend_tests_job(settings: AppCiSettings) -> Job:
    return Job(
        name="Backend tests",
        runs_on=pins.RUNNER,
        needs=("changes",),
        if_=_changed("backend"),
        permissions={"contents": "read"},
        timeout_minutes=15,
        services={
            # Throwaway containers on the runner: the credentials guard nothing.
            "postgres": ServiceContainer(
                image=settings.postgres_image,
                env={"POSTGRES_USER": "ci", "POSTGRES_PASSWORD": "ci", "POSTGRES_DB": "ci"},
                ports=("5432:5432",),
                options=(
                    "--health-cmd pg_isready --health-interval 5s "
                    "--health-timeout 5s --health-retries 10"
                ),
            ),
            "redis": ServiceContainer(
                image=settings.redis_image,
                ports=("6379:6379",),
                options=(
                    '--health-cmd "redis-cli ping" --health-interval 5s '
                    "--health-timeout 3s --health-retries 10"
                ),
            ),
        },
        env={
            "DATABASE_URL": "postgresql://ci:ci@localhost:5432/ci",
            "REDIS_URL": "redis://localhost:6379/0",
        },
        steps=(
            checkout(),
            _setup_python(settings),
            _backend_install(settings),
            Step(
                name="Run backend tests",
                run=settings.backend_test_command,
                working_directory=settings.backend_dir,
            ),
        ),
    )


def _frontend_job(settings: AppCiSettings, *, name: str, commands: tuple[str, ...]) -> Job:
    return _commands_job(
        name=name,
        part="frontend",
        setup=(_setup_node(settings), _frontend_install(settings)),
        commands=commands,
        directory=settings.frontend_dir,
    )


def _security_job(settings: AppCiSettings) -> Job:
    requirements = " ".join(f"-r {name}" for name in settings.backend_requirements)
    return Job(
        name="Security scan",
        runs_on=pins.RUNNER,
        needs=("changes",),
        if_=_changed("backend", "frontend"),
        permissions={"contents": "read"},
        timeout_minutes=10,
        steps=(
            checkout(),
            _setup_python(settings),
            Step(name="Install pip-audit", run=f"python -m pip install {pins.PIP_AUDIT}"),
            Step(
                name="Audit Python dependencies",
                run=f"pip-audit {requirements}",
                working_directory=settings.backend_dir,
            ),
            _setup_node(settings),
            Step(
                name="Audit npm dependencies",
                run="npm audit --omit=dev --audit-level=high",
                working_directory=settings.frontend_dir,
            ),
        ),
    )


def _docker_job(settings: AppCiSettings) -> Job:
    image = settings.image_prefix
    matrix = tuple(
        {"name": image.name, "context": image.context, "dockerfile": image.dockerfile_path}
        for image in settings.images
    )
    return Job(
        name="Build image ${{ matrix.image.name }}",
        runs_on=pins.RUNNER,
        needs=("changes",),
        if_=_changed("docker", "infra"),
        # packages: write pushes to GHCR; the push and the login happen on main only.
        permissions={"contents": "read", "packages": "write"},
        timeout_minutes=20,
        strategy=Strategy(matrix={"image": matrix}, fail_fast=False),
        steps=(
            checkout(),
            Step(name="Set up Docker Buildx", uses=pins.SETUP_BUILDX),
            Step(
                name="Log in to the registry",
                if_=ON_MAIN_PUSH,
                uses=pins.DOCKER_LOGIN,
                with_={
                    "registry": settings.image_prefix.split("/", 1)[0],
                    "username": "${{ github.actor }}",
                    "password": "${{ secrets.GITHUB_TOKEN }}",
                },
            ),
            Step(
                name="Build (and push on main)",
                uses=pins.BUILD_PUSH,
                with_={
                    "context": "${{ matrix.image.context }}",
                    "file": "${{ matrix.image.dockerfile }}",
                    "push": f"${{{{ {ON_MAIN_PUSH} }}}}",
                    "tags": f"{image}/${{{{ matrix.image.name }}}}:${{{{ github.sha }}}}",
                    # One scope per image: with a shared scope each build evicts the others' layers.
                    "cache-from": "type=gha,scope=${{ matrix.image.name }}",
                    "cache-to": "type=gha,mode=max,scope=${{ matrix.image.name }}",
                },
            ),
        ),
    )


def _ci_ok_job(needs: tuple[str, ...]) -> Job:
    return Job(
        name="CI OK",
        runs_on=pins.RUNNER,
        needs=needs,
        # always(): a skipped aggregate would count as passing; this one fails for real.
        if_="always()",
        permissions={},
        timeout_minutes=5,
        steps=(
            Step(
                name="Fail when a needed job failed or was cancelled",
                if_="contains(needs.*.result, 'failure') || contains(needs.*.result, 'cancelled')",
                run='echo "::error::a required job failed or was cancelled"\nexit 1\n',
            ),
            Step(name="Report success", run='echo "all required jobs passed or were skipped"'),
        ),
    )


def _deploy_job(settings: AppCiSettings) -> Job:
    env = {
        "IMAGE_PREFIX": settings.image_prefix,
        "IMAGE_TAG": "${{ github.sha }}",
        **{name: f"${{{{ secrets.{name} }}}}" for name in settings.deploy_secrets},
    }
    return Job(
        name="Deploy",
        runs_on=pins.RUNNER,
        needs=("ci-ok", "docker-build"),
        if_=ON_MAIN_PUSH,
        permissions={"contents": "read"},
        environment=Environment(name=settings.deploy_environment, url=settings.deploy_url),
        # Deploys queue behind each other and are never cancelled half-way.
        concurrency=Concurrency(group="deploy-${{ github.repository }}", cancel_in_progress=False),
        timeout_minutes=15,
        steps=(checkout(), Step(name="Deploy", run=settings.deploy_command, env=env)),
    )


def app_ci_workflow(settings: AppCiSettings) -> Workflow:
    """The application's CI workflow."""
    jobs: dict[str, Job] = {
        "changes": _changes_job(settings),
        "backend-quality": _backend_quality_job(settings),
        "backend-tests": _backend_tests_job(settings),
        "frontend-quality": _frontend_job(
            settings, name="Frontend quality", commands=settings.frontend_quality_commands
        ),
        "frontend-tests": _frontend_job(
            settings, name="Frontend tests", commands=(settings.frontend_test_command,)
        ),
        "security-scan": _security_job(settings),
        "docker-build": _docker_job(settings),
    }
    jobs["ci-ok"] = _ci_ok_job(tuple(jobs))
    jobs["deploy"] = _deploy_job(settings)
    on, concurrency = pr_and_main_triggers("ci")
    return Workflow(name="CI", on=on, permissions={}, concurrency=concurrency, jobs=jobs)
