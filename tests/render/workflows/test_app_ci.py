"""The application's ci.yml: the structure that matters, then the real validators."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from model.github import AppCiSettings, ImageBuild
from render.workflows.app_ci import app_ci_workflow
from render.workflows.render import render_workflow
from tests.render.workflows.tools import actionlint, check_jsonschema, write

SETTINGS = AppCiSettings(image_prefix="ghcr.io/acme/investment-platform")
HEAVY_JOBS = (
    "backend-quality",
    "backend-tests",
    "frontend-quality",
    "frontend-tests",
    "security-scan",
    "docker-build",
)


@pytest.fixture(scope="module")
def ci() -> Any:
    return yaml.safe_load(render_workflow(app_ci_workflow(SETTINGS)))


def _step(job: Any, uses_prefix: str) -> Any:
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith(uses_prefix)]
    return step


def test_deploy_runs_only_on_push_to_main_behind_the_environment(ci):
    deploy = ci["jobs"]["deploy"]
    assert deploy["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert deploy["needs"] == ["ci-ok", "docker-build"]
    assert deploy["environment"] == {"name": "production"}
    assert deploy["concurrency"] == {
        "group": "deploy-${{ github.repository }}",
        "cancel-in-progress": False,
    }
    assert deploy["steps"][-1]["env"]["IMAGE_TAG"] == "${{ github.sha }}"
    assert deploy["steps"][-1]["env"]["DEPLOY_SSH_KEY"] == "${{ secrets.DEPLOY_SSH_KEY }}"


def test_job_graph_is_parallel_after_changes_with_an_always_run_aggregate(ci):
    jobs = ci["jobs"]
    assert list(jobs) == ["changes", *HEAVY_JOBS, "ci-ok", "deploy"]
    assert "needs" not in jobs["changes"]
    for name in HEAVY_JOBS:
        assert jobs[name]["needs"] == ["changes"], name
    assert jobs["ci-ok"]["needs"] == ["changes", *HEAVY_JOBS]
    assert jobs["ci-ok"]["if"] == "always()"
    fail = jobs["ci-ok"]["steps"][0]
    assert fail["if"] == (
        "contains(needs.*.result, 'failure') || contains(needs.*.result, 'cancelled')"
    )
    assert fail["run"].endswith("exit 1\n")


def test_path_filters_gate_the_jobs_at_job_level(ci):
    assert "paths" not in ci["on"]["push"]
    assert "paths" not in ci["on"]["pull_request"]
    changes = ci["jobs"]["changes"]
    assert changes["outputs"] == {
        name: f"${{{{ steps.filter.outputs.{name} }}}}"
        for name in ("backend", "frontend", "docker", "infra")
    }
    # Credentials stay for paths-filter's `git fetch` on pushes (private repositories).
    assert changes["steps"][0] == {"name": "Check out", "uses": "actions/checkout@v4.2.2"}
    filter_step = _step(changes, "dorny/paths-filter@")
    assert filter_step["id"] == "filter"
    assert yaml.safe_load(filter_step["with"]["filters"]) == {
        "backend": ["backend/**", ".github/workflows/ci.yml"],
        "frontend": ["frontend/**", ".github/workflows/ci.yml"],
        "docker": ["backend/**", "frontend/**", ".github/workflows/ci.yml"],
        "infra": ["docker-compose*.yml", "deploy/**"],
    }
    gate = {name: ci["jobs"][name]["if"] for name in HEAVY_JOBS}
    assert gate == {
        "backend-quality": "needs.changes.outputs.backend == 'true'",
        "backend-tests": "needs.changes.outputs.backend == 'true'",
        "frontend-quality": "needs.changes.outputs.frontend == 'true'",
        "frontend-tests": "needs.changes.outputs.frontend == 'true'",
        "security-scan": (
            "needs.changes.outputs.backend == 'true' || needs.changes.outputs.frontend == 'true'"
        ),
        "docker-build": (
            "needs.changes.outputs.docker == 'true' || needs.changes.outputs.infra == 'true'"
        ),
    }


def test_dependency_caches(ci):
    python = _step(ci["jobs"]["backend-tests"], "actions/setup-python@")
    assert python["with"] == {
        "python-version": "3.11",
        "cache": "pip",
        "cache-dependency-path": "backend/requirements*.txt",
    }
    node = _step(ci["jobs"]["frontend-tests"], "actions/setup-node@")
    assert node["with"] == {
        "node-version": "20",
        "cache": "npm",
        "cache-dependency-path": "frontend/package-lock.json",
    }


def test_each_image_has_its_own_buildx_cache_scope(ci):
    build = ci["jobs"]["docker-build"]
    assert build["strategy"] == {
        "matrix": {
            "image": [
                {"name": "backend", "context": "backend", "dockerfile": "backend/Dockerfile"},
                {"name": "frontend", "context": "frontend", "dockerfile": "frontend/Dockerfile"},
            ]
        },
        "fail-fast": False,
    }
    step = _step(build, "docker/build-push-action@")
    assert step["with"]["cache-from"] == "type=gha,scope=${{ matrix.image.name }}"
    assert step["with"]["cache-to"] == "type=gha,mode=max,scope=${{ matrix.image.name }}"
    assert step["with"]["push"] == (
        "${{ github.event_name == 'push' && github.ref == 'refs/heads/main' }}"
    )
    assert step["with"]["tags"] == (
        "ghcr.io/acme/investment-platform/${{ matrix.image.name }}:${{ github.sha }}"
    )
    assert _step(build, "docker/setup-buildx-action@")


def test_backend_tests_get_a_healthy_postgres_service(ci):
    postgres = ci["jobs"]["backend-tests"]["services"]["postgres"]
    assert postgres["image"] == "postgres:15.13-alpine"
    assert postgres["ports"] == ["5432:5432"]
    assert postgres["options"].startswith("--health-cmd pg_isready")
    assert ci["jobs"]["backend-tests"]["env"]["DATABASE_URL"] == (
        "postgresql://ci:ci@localhost:5432/ci"
    )


def test_concurrency_cancels_pull_requests_only(ci):
    assert ci["concurrency"] == {
        "group": "ci-${{ github.event.pull_request.number || github.ref }}",
        "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
    }


def test_least_privilege_and_a_timeout_on_every_job(ci):
    assert ci["permissions"] == {}
    permissions = {name: job["permissions"] for name, job in ci["jobs"].items()}
    assert permissions == {
        "changes": {"contents": "read", "pull-requests": "read"},
        "backend-quality": {"contents": "read"},
        "backend-tests": {"contents": "read"},
        "frontend-quality": {"contents": "read"},
        "frontend-tests": {"contents": "read"},
        "security-scan": {"contents": "read"},
        "docker-build": {"contents": "read", "packages": "write"},
        "ci-ok": {},
        "deploy": {"contents": "read"},
    }
    timeouts = {name: job["timeout-minutes"] for name, job in ci["jobs"].items()}
    assert timeouts == {
        "changes": 5,
        "backend-quality": 10,
        "backend-tests": 15,
        "frontend-quality": 10,
        "frontend-tests": 10,
        "security-scan": 10,
        "docker-build": 20,
        "ci-ok": 5,
        "deploy": 15,
    }


def test_rendered_ci_passes_the_schema_and_actionlint(tmp_path):
    path = write(tmp_path, ".github/workflows/ci.yml", render_workflow(app_ci_workflow(SETTINGS)))
    done = check_jsonschema("vendor.github-workflows", path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert actionlint(path) == []


def test_a_dockerfile_outside_its_context_joins_the_docker_filter():
    settings = SETTINGS.model_copy(
        update={
            "images": (
                ImageBuild(name="api", context="backend", dockerfile="docker/api.Dockerfile"),
            )
        }
    )
    workflow = app_ci_workflow(settings)
    (_, filter_step) = workflow.jobs["changes"].steps
    assert filter_step.with_ is not None
    filters = yaml.safe_load(str(filter_step.with_["filters"]))
    assert filters["docker"] == ["backend/**", "docker/api.Dockerfile", ".github/workflows/ci.yml"]


@pytest.mark.parametrize(
    ("update", "loc", "message"),
    [
        (
            {"imagePrefix": "ghcr.io/Acme/App"},
            ("imagePrefix",),
            "'ghcr.io/Acme/App' must be a lowercase registry path such as ghcr.io/owner/name",
        ),
        (
            {"backendDir": "../elsewhere"},
            ("backendDir",),
            "'../elsewhere' must be a relative path inside the repository",
        ),
        (
            {"images": [{"name": "api", "context": "a"}, {"name": "api", "context": "b"}]},
            (),
            "image names must be unique (cache scopes): api",
        ),
        (
            {"images": [{"name": "API", "context": "a"}]},
            ("images", 0, "name"),
            "image name 'API' must match ^[a-z0-9][a-z0-9-]*$",
        ),
        (
            {"deploySecrets": ["deploy-key"]},
            ("deploySecrets",),
            "secret name 'deploy-key' must match ^[A-Z_][A-Z0-9_]*$",
        ),
    ],
)
def test_bad_settings_are_rejected_naming_the_key(update, loc, message):
    raw = {"imagePrefix": "ghcr.io/acme/app", **update}
    with pytest.raises(ValidationError) as excinfo:
        AppCiSettings.model_validate(raw)
    # The first error is ours; a bad image also empties the tuple, which pydantic reports after it.
    error = excinfo.value.errors(include_url=False)[0]
    assert (error["loc"], error["msg"]) == (loc, f"Value error, {message}")


def test_the_policy_pack_accepts_the_generated_deploy_job():
    # The CrossGuard rule deploy-only-on-main reads the same file from the RepositoryFile.
    from policy.policies import deploy_job_problems

    text = render_workflow(app_ci_workflow(SETTINGS))
    assert deploy_job_problems(text, "deploy*", "main") == []
    unguarded = text.replace(
        "    if: github.event_name == 'push' && github.ref == 'refs/heads/main'\n"
        "    permissions:\n      contents: read\n    environment:",
        "    permissions:\n      contents: read\n    environment:",
    )
    assert deploy_job_problems(unguarded, "deploy*", "main") == [
        "job 'deploy' runs on pull_request, push without the condition "
        "`if: github.event_name == 'push' && github.ref == 'refs/heads/main'`"
    ]
