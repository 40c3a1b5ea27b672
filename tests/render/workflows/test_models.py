"""The workflow models refuse unpinned actions, missing timeouts and broken job graphs."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from render.workflows.models import Job, On, Schedule, Step, Workflow

CHECKOUT = "actions/checkout@v4.2.2"


def _job(**overrides: Any) -> dict[str, Any]:
    job = {
        "runs-on": "ubuntu-24.04",
        "permissions": {},
        "timeout-minutes": 5,
        "steps": [{"name": "Hello", "run": "echo hello"}],
    }
    return {**job, **overrides}


def _error(excinfo: pytest.ExceptionInfo[ValidationError]) -> tuple[Any, str]:
    (error,) = excinfo.value.errors(include_url=False)
    return error["loc"], error["msg"]


@pytest.mark.parametrize(
    "uses",
    [CHECKOUT, "dorny/paths-filter@v3.0.2", "actions/checkout@" + "a" * 40, "owner/r/sub@1.2.3"],
)
def test_pinned_actions_are_accepted(uses):
    assert Step(name="x", uses=uses).uses == uses


@pytest.mark.parametrize(
    "uses", ["actions/checkout@v4", "actions/checkout@main", "actions/checkout", "a/b@v1.2"]
)
def test_unpinned_actions_are_rejected(uses):
    with pytest.raises(ValidationError) as excinfo:
        Step(name="x", uses=uses)
    assert _error(excinfo) == (
        ("uses",),
        f"Value error, action '{uses}' is not pinned: use owner/repo@vX.Y.Z or a full commit SHA",
    )


def test_step_needs_exactly_one_of_uses_and_run():
    with pytest.raises(ValidationError) as excinfo:
        Step(name="both", uses=CHECKOUT, run="echo")
    assert _error(excinfo)[1] == "Value error, step 'both' needs exactly one of 'uses' and 'run'"
    with pytest.raises(ValidationError) as excinfo:
        Step(name="neither")
    assert _error(excinfo)[1] == "Value error, step 'neither' needs exactly one of 'uses' and 'run'"


def test_with_belongs_to_actions_and_working_directory_to_scripts():
    with pytest.raises(ValidationError) as excinfo:
        Step.model_validate({"name": "s", "run": "ls", "with": {"a": 1}})
    assert _error(excinfo)[1] == "Value error, step 's': 'with' applies to 'uses' steps only"
    with pytest.raises(ValidationError) as excinfo:
        Step.model_validate({"name": "s", "uses": CHECKOUT, "working-directory": "x"})
    assert _error(excinfo)[1] == (
        "Value error, step 's': 'working-directory' applies to 'run' steps only"
    )


def test_a_job_without_a_timeout_is_rejected():
    job = _job()
    del job["timeout-minutes"]
    with pytest.raises(ValidationError) as excinfo:
        Job.model_validate(job)
    assert _error(excinfo) == (("timeout-minutes",), "Field required")
    assert Job.model_validate(_job()).timeout_minutes == 5


def test_keys_use_github_spelling_in_and_out():
    job = Job.model_validate(_job(**{"if": "always()"}))
    assert job.if_ == "always()"
    dumped = job.model_dump(exclude_none=True)
    assert list(dumped) == ["runs-on", "if", "permissions", "timeout-minutes", "steps"]


def test_needs_must_name_an_existing_job():
    on = On(workflow_dispatch={})
    with pytest.raises(ValidationError) as excinfo:
        Workflow.model_validate(
            {"name": "w", "on": on, "permissions": {}, "jobs": {"a": _job(needs=["b"])}}
        )
    assert _error(excinfo)[1] == "Value error, job 'a' needs 'b', which is not a job here"


def test_a_cycle_in_needs_is_rejected():
    jobs = {"a": _job(needs=["b"]), "b": _job(needs=["a"])}
    with pytest.raises(ValidationError) as excinfo:
        Workflow.model_validate({"name": "w", "on": {}, "permissions": {}, "jobs": jobs})
    assert _error(excinfo)[1] == "Value error, jobs form a cycle through 'a'"
    fine = {"a": _job(), "b": _job(needs=["a"])}
    workflow = Workflow.model_validate({"name": "w", "on": {}, "permissions": {}, "jobs": fine})
    assert workflow.jobs["b"].needs == ("a",)


def test_cron_needs_five_fields():
    assert Schedule(cron="17 5 * * *").cron == "17 5 * * *"
    with pytest.raises(ValidationError) as excinfo:
        Schedule(cron="daily")
    assert _error(excinfo)[1] == "Value error, cron 'daily' must have five space-separated fields"
