"""This repository's workflows: committed == generated, valid, and shaped as the issue asks."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from render.workflows.files import infra_files
from render.workflows.infra_ci import (
    COST_DIFF_MARKER,
    DRIFT_MARKER,
    PREVIEW_FAILED_MARKER,
    InfraCiSettings,
    drift_workflow,
    infra_workflow,
)
from render.workflows.render import render_workflow
from tests.render.workflows.tools import actionlint, check_jsonschema, write
from tests.support.tools import ROOT

WORKFLOWS = (".github/workflows/infra.yml", ".github/workflows/drift.yml")


@pytest.fixture(scope="module")
def infra() -> Any:
    return yaml.safe_load(render_workflow(infra_workflow(InfraCiSettings())))


@pytest.fixture(scope="module")
def drift() -> Any:
    return yaml.safe_load(render_workflow(drift_workflow(InfraCiSettings())))


def _step(job: Any, name: str) -> Any:
    (step,) = [s for s in job["steps"] if s["name"] == name]
    return step


@pytest.mark.parametrize("relative", sorted(infra_files()))
def test_committed_file_equals_the_generated_one(relative):
    committed = (ROOT / relative).read_text(encoding="utf-8")
    assert committed == infra_files()[relative], (
        f"{relative} is out of date: run .venv/bin/python scripts/generate_workflows.py "
        "(after moving any Dependabot bump into render/workflows/pins.py)"
    )


def test_committed_workflows_pass_the_schema_and_actionlint():
    paths = [ROOT / relative for relative in WORKFLOWS]
    done = check_jsonschema("vendor.github-workflows", *paths)
    assert done.returncode == 0, done.stdout + done.stderr
    assert actionlint(*paths) == []


def test_pull_requests_run_tests_plan_preview_and_cost(infra):
    jobs = infra["jobs"]
    assert list(jobs) == ["test", "plan", "preview", "cost-diff", "deploy"]
    assert _step(jobs["test"], "Run make test")["run"] == "make test"
    assert jobs["plan"]["strategy"]["matrix"] == {"stack": ["dev", "prod"]}
    plan = _step(jobs["plan"], "Plan and policy gate")
    assert plan["run"] == '.venv/bin/python -m commands plan --stack "$STACK"'
    assert plan["env"] == {"STACK": "${{ matrix.stack }}"}


def test_preview_uses_the_policy_pack_and_reports_its_own_failure(infra):
    preview = infra["jobs"]["preview"]
    assert preview["if"] == (
        "github.event_name == 'pull_request' && "
        "github.event.pull_request.head.repo.full_name == github.repository"
    )
    assert preview["permissions"] == {"contents": "read", "pull-requests": "write"}
    names = [step["name"] for step in preview["steps"]]
    assert names.index("Install policy pack dependencies") < names.index("Pulumi preview")
    assert _step(preview, "Install policy pack dependencies") == {
        "name": "Install policy pack dependencies",
        "run": "pulumi install",
        "working-directory": "policy",
    }
    run = _step(preview, "Pulumi preview")
    assert run["uses"] == "pulumi/actions@v6.6.1"
    assert run["with"] == {
        "command": "preview",
        "stack-name": "prod",
        "policyPacks": "policy/",
        "comment-on-pr": True,
        "diff": True,
    }
    report = _step(preview, "Report the failed preview on the pull request")
    assert report["if"] == "failure() && steps.preview.outcome == 'failure'"
    assert report["env"]["MARKER"] == PREVIEW_FAILED_MARKER
    assert "createComment" in report["with"]["script"]


def test_cost_diff_is_one_sticky_comment_from_the_cost_command(infra):
    job = infra["jobs"]["cost-diff"]
    assert _step(job, "Check out")["with"]["fetch-depth"] == 0
    cost = _step(job, "Cost diff against the base branch")
    assert cost["run"] == (
        '.venv/bin/python -m commands cost --stack "$STACK" --against-ref "origin/$BASE_REF" '
        "--format markdown > cost-diff.md"
    )
    assert cost["env"] == {"STACK": "prod", "BASE_REF": "${{ github.base_ref }}"}
    summary = _step(job, "Add the cost diff to the job summary")
    assert summary["run"] == 'cat cost-diff.md >> "$GITHUB_STEP_SUMMARY"'
    comment = _step(job, "Post or update the cost comment")
    assert comment["if"] == (
        "github.event_name == 'pull_request' && "
        "github.event.pull_request.head.repo.full_name == github.repository"
    )
    assert comment["env"] == {"MARKER": COST_DIFF_MARKER, "BODY_FILE": "cost-diff.md"}
    assert "updateComment" in comment["with"]["script"]


def test_our_comment_markers_are_distinct_from_each_other_and_from_pulumis():
    markers = {PREVIEW_FAILED_MARKER, COST_DIFF_MARKER, DRIFT_MARKER}
    assert len(markers) == 3
    for marker in markers:
        assert re.fullmatch(r"<!-- investment-platform-[a-z-]+ -->", marker)
        assert "pulumi" not in marker.removeprefix("<!-- investment-platform")


def test_up_runs_only_from_main_behind_the_environment(infra):
    deploy = infra["jobs"]["deploy"]
    assert deploy["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert deploy["needs"] == ["test", "plan"]
    assert deploy["environment"] == {"name": "production"}
    assert deploy["concurrency"] == {"group": "pulumi-prod", "cancel-in-progress": False}
    up = _step(deploy, "Pulumi up")
    assert up["with"] == {"command": "up", "stack-name": "prod", "policyPacks": "policy/"}
    # The policy pack gates the deploy before it changes anything: a preview step comes first.
    names = [step["name"] for step in deploy["steps"]]
    preview = _step(deploy, "Pulumi preview with the policy pack")
    assert preview["with"] == {
        "command": "preview",
        "stack-name": "prod",
        "policyPacks": "policy/",
    }
    assert names.index("Pulumi preview with the policy pack") < names.index("Pulumi up")


def test_drift_check_is_daily_and_fails_visibly(drift):
    assert drift["on"] == {"schedule": [{"cron": "17 5 * * *"}], "workflow_dispatch": {}}
    job = drift["jobs"]["drift"]
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    assert job["concurrency"] == {"group": "pulumi-prod", "cancel-in-progress": False}
    check = _step(job, "Preview with refresh, expecting no changes")
    assert check["run"] == (
        'pulumi preview --stack "$STACK" --refresh --run-program --expect-no-changes '
        "--non-interactive --diff"
    )
    assert "continue-on-error" not in check
    issue = _step(job, "Open, update or close the drift issue")
    assert issue["if"] == "always() && steps.drift.outcome != 'skipped'"
    assert issue["env"]["DRIFT_OUTCOME"] == "${{ steps.drift.outcome }}"
    assert "issues.create(" in issue["with"]["script"]


def _pulumi_jobs(infra: Any, drift: Any) -> dict[str, Any]:
    """Every job that runs the Pulumi program against prod (and so needs the database)."""
    jobs = {f"infra.{k}": v for k, v in infra["jobs"].items()}
    jobs.update({f"drift.{k}": v for k, v in drift["jobs"].items()})
    return {
        name: job
        for name, job in jobs.items()
        if any(
            (
                str(step.get("uses", "")).startswith("pulumi/actions")
                and (step.get("with") or {}).get("command")
            )
            or "pulumi preview" in str(step.get("run", ""))
            for step in job["steps"]
        )
    }


def test_every_pulumi_job_reaches_the_database_with_no_manual_tunnel(infra, drift):
    # The program opens its own SSH tunnel to PostgreSQL and Grafana through the Docker host's SSH
    # login (program/tunnel.py): each job needs the key and the pinned host key, nothing else.
    jobs = _pulumi_jobs(infra, drift)
    assert set(jobs) == {"infra.preview", "infra.deploy", "drift.drift"}
    for name, job in jobs.items():
        ssh = _step(job, "Configure SSH for the Docker host")
        assert "~/.ssh/known_hosts" in ssh["run"], name
        assert ssh["env"]["KNOWN_HOSTS"] == "${{ secrets.DEPLOY_KNOWN_HOSTS }}", name
        text = yaml.safe_dump(job)
        assert "ssh -N" not in text, name
        assert " -L " not in text, name
        assert "StrictHostKeyChecking" not in text, name
        # A refresh reads PostgreSQL before the program has run unless it runs the program first.
        for step in job["steps"]:
            run = str(step.get("run", ""))
            with_ = step.get("with") or {}
            if "--refresh" in run or with_.get("refresh"):
                assert "--run-program" in run, (name, run)
            assert with_.get("command") not in ("refresh", "destroy"), name


@pytest.mark.parametrize("workflow", [infra_workflow, drift_workflow])
def test_no_event_data_is_interpolated_into_scripts(workflow):
    rendered = yaml.safe_load(render_workflow(workflow(InfraCiSettings())))
    for job in rendered["jobs"].values():
        assert job["timeout-minutes"] > 0
        for step in job["steps"]:
            assert "github.event" not in step.get("run", ""), step["name"]
            assert "github.head_ref" not in step.get("run", ""), step["name"]


def test_actionlint_and_the_schema_catch_what_the_models_would_have_refused(tmp_path):
    # The failing case beside the passing one: both validators really look at the file.
    broken = yaml.safe_load(render_workflow(infra_workflow(InfraCiSettings())))
    broken["jobs"]["deploy"]["needs"] = ["test", "missing"]
    broken["jobs"]["test"]["steps"].append(
        {"name": "Greet", "run": 'echo "${{ github.event.pull_request.title }}"'}
    )
    path = write(tmp_path, ".github/workflows/broken.yml", yaml.safe_dump(broken, sort_keys=False))
    kinds = sorted(finding["kind"] for finding in actionlint(path))
    assert kinds == ["expression", "job-needs"]

    del broken["jobs"]["test"]["runs-on"]
    path.write_text(yaml.safe_dump(broken, sort_keys=False), encoding="utf-8")
    done = check_jsonschema("vendor.github-workflows", path)
    assert done.returncode == 1
    assert "runs-on" in done.stdout
