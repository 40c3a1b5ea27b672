"""Policies on delivery: the generated CI workflows deploy only from the main branch."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any

import yaml
from pulumi_policy import ReportViolation, ResourceValidationArgs, ResourceValidationPolicy

from .core import REPOSITORY_FILE, STRING, Setting, lookup, resource_policy


def _normalise(expression: str) -> str:
    text = expression.strip()
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return " ".join(text.replace('"', "'").split())


def _triggers(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    raw = workflow.get("on", workflow.get(True))
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return {str(t): None for t in raw}
    return {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def deploy_job_problems(content: str, job_pattern: str, branch: str) -> list[str]:
    """Why the workflow's deploy jobs could run on anything but a push to `branch` (empty: fine)."""
    try:
        workflow = yaml.safe_load(content)
    except yaml.YAMLError as exc:
        return [f"the workflow is not valid YAML: {exc}"]
    if not isinstance(workflow, dict):
        return ["the workflow is not a YAML mapping"]
    jobs = workflow.get("jobs") or {}
    triggers = _triggers(workflow)
    push = triggers.get("push")
    push_only_branch = (
        set(triggers) == {"push"}
        and isinstance(push, dict)
        and push.get("branches") == [branch]
        and not push.get("tags")
    )
    wanted_event = "github.event_name == 'push'"
    wanted_ref = f"github.ref == 'refs/heads/{branch}'"
    problems = []
    for job_id, job in jobs.items() if isinstance(jobs, dict) else ():
        if not fnmatch.fnmatchcase(str(job_id), job_pattern) or not isinstance(job, dict):
            continue
        condition = _normalise(str(job.get("if", "")))
        guarded = wanted_event in condition and wanted_ref in condition and "||" not in condition
        if not (guarded or push_only_branch):
            problems.append(
                f"job '{job_id}' runs on {', '.join(sorted(triggers)) or 'any event'} without "
                f"the condition `if: {wanted_event} && {wanted_ref}`"
            )
    return problems


def validate_deploy_only_on_main(
    args: ResourceValidationArgs, report: ReportViolation, settings: Mapping[str, Any]
) -> None:
    """The application CI workflow deploys only on a push to main, never from a pull request."""
    if args.resource_type != REPOSITORY_FILE:
        return
    path = lookup(args.props, "file")
    content = lookup(args.props, "content")
    if not isinstance(path, str) or not isinstance(content, str):
        return
    if not path.startswith(".github/workflows/") or not path.endswith((".yml", ".yaml")):
        return
    problems = deploy_job_problems(content, str(settings["deployJobs"]), str(settings["branch"]))
    if problems:
        report(
            f"{path}: {'; '.join(problems)}. Add that condition to the deploy job "
            "(render/workflows/app_ci.py ON_MAIN_PUSH).",
            None,
        )


def policies() -> list[ResourceValidationPolicy]:
    """The delivery policies."""
    return [
        resource_policy(
            "deploy-only-on-main",
            "The app CI workflow deploys only on a push to main.",
            validate_deploy_only_on_main,
            settings={"deployJobs": Setting(STRING, "deploy*"), "branch": Setting(STRING, "main")},
        )
    ]
