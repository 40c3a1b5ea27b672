"""Every generated file by path: the pure core of `render`, the generator and WorkflowFiles."""

from __future__ import annotations

from model.github import GitHubSettings, WorkflowName
from render.workflows.app_ci import CI_WORKFLOW_PATH, app_ci_workflow
from render.workflows.dependabot import (
    DEPENDABOT_PATH,
    app_dependabot,
    infra_dependabot,
    render_dependabot,
)
from render.workflows.infra_ci import (
    DRIFT_WORKFLOW_PATH,
    INFRA_WORKFLOW_PATH,
    InfraCiSettings,
    drift_workflow,
    infra_workflow,
)
from render.workflows.render import render_workflow
from render.workflows.renovate import RENOVATE_PATH, render_renovate

APP_PATHS: dict[WorkflowName, str] = {"ci": CI_WORKFLOW_PATH, "dependabot": DEPENDABOT_PATH}
"""Where each publishable workflow lives in the application repository."""


def app_files(settings: GitHubSettings) -> dict[str, str]:
    """The application repository's selected files: path in that repository to content."""
    files: dict[str, str] = {}
    for name in settings.selected:
        if name == "ci":
            files[APP_PATHS[name]] = render_workflow(app_ci_workflow(settings.app_ci))
        else:
            files[APP_PATHS[name]] = render_dependabot(app_dependabot(settings.app_ci))
    return files


def infra_files(settings: InfraCiSettings | None = None) -> dict[str, str]:
    """This repository's generated files: path from the repository root to content."""
    settings = settings or InfraCiSettings()
    return {
        INFRA_WORKFLOW_PATH: render_workflow(infra_workflow(settings)),
        DRIFT_WORKFLOW_PATH: render_workflow(drift_workflow(settings)),
        DEPENDABOT_PATH: render_dependabot(infra_dependabot()),
        RENOVATE_PATH: render_renovate(),
    }


def rendered_files(settings: GitHubSettings | None) -> dict[str, str]:
    """All generated files under `app/` (when the stack configures GitHub) and `infra/`."""
    files = {f"infra/{path}": text for path, text in infra_files().items()}
    if settings is not None:
        files.update({f"app/{path}": text for path, text in app_files(settings).items()})
    return dict(sorted(files.items()))
