"""Rendering: real YAML through PyYAML, stable, with the `on` key kept a string."""

from __future__ import annotations

import yaml

from render.workflows.models import Job, On, PushTrigger, Step, Workflow
from render.workflows.render import GENERATED_HEADER, render_workflow


def _workflow() -> Workflow:
    return Workflow(
        name="Demo",
        on=On(push=PushTrigger(branches=("main",))),
        permissions={},
        jobs={
            "build": Job(
                runs_on="ubuntu-24.04",
                permissions={"contents": "read"},
                timeout_minutes=5,
                steps=(
                    Step(name="Check out", uses="actions/checkout@v4.2.2"),
                    Step(name="Script", run="echo one\necho two\n"),
                ),
            )
        },
    )


def test_render_produces_the_exact_document():
    assert render_workflow(_workflow()) == GENERATED_HEADER + (
        "name: Demo\n"
        "'on':\n"
        "  push:\n"
        "    branches:\n"
        "      - main\n"
        "permissions: {}\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-24.04\n"
        "    permissions:\n"
        "      contents: read\n"
        "    timeout-minutes: 5\n"
        "    steps:\n"
        "      - name: Check out\n"
        "        uses: actions/checkout@v4.2.2\n"
        "      - name: Script\n"
        "        run: |\n"
        "          echo one\n"
        "          echo two\n"
    )


def test_on_stays_a_string_key_for_yaml_1_1_readers():
    loaded = yaml.safe_load(render_workflow(_workflow()))
    assert "on" in loaded
    assert True not in loaded


def test_rendering_is_stable():
    assert render_workflow(_workflow()) == render_workflow(_workflow())
