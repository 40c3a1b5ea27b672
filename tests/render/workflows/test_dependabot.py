"""Dependabot and Renovate configs: valid against their schemas and covering what they claim."""

from __future__ import annotations

import json
import re

import yaml

from model.github import AppCiSettings, ImageBuild
from render.workflows.dependabot import app_dependabot, infra_dependabot, render_dependabot
from render.workflows.renovate import IMAGE_MATCH, render_renovate
from tests.render.workflows.tools import check_jsonschema, write
from tests.support.tools import ROOT

SETTINGS = AppCiSettings(image_prefix="ghcr.io/acme/app")


def test_infra_dependabot_covers_actions_pip_and_npm():
    config = yaml.safe_load(render_dependabot(infra_dependabot()))
    assert config["version"] == 2
    assert [(u["package-ecosystem"], u["directory"]) for u in config["updates"]] == [
        ("github-actions", "/"),
        ("pip", "/"),
        ("npm", "/"),
    ]


def test_app_dependabot_covers_backend_frontend_and_each_dockerfile_directory():
    settings = SETTINGS.model_copy(
        update={
            "images": (
                ImageBuild(name="backend", context="backend"),
                ImageBuild(name="worker", context="backend", dockerfile="backend/Dockerfile"),
                ImageBuild(name="frontend", context="frontend", dockerfile="docker/web.Dockerfile"),
            )
        }
    )
    config = yaml.safe_load(render_dependabot(app_dependabot(settings)))
    assert [(u["package-ecosystem"], u["directory"]) for u in config["updates"]] == [
        ("pip", "/backend"),
        ("npm", "/frontend"),
        ("docker", "/backend"),
        ("docker", "/docker"),
    ]


def test_both_dependabot_configs_pass_the_schema(tmp_path):
    paths = [
        write(tmp_path, "infra/dependabot.yml", render_dependabot(infra_dependabot())),
        write(tmp_path, "app/dependabot.yml", render_dependabot(app_dependabot(SETTINGS))),
    ]
    done = check_jsonschema("vendor.dependabot", *paths)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_dependabot_schema_rejects_a_bad_config(tmp_path):
    bad = yaml.safe_load(render_dependabot(infra_dependabot()))
    bad["updates"][0]["schedule"]["interval"] = "hourly"
    path = write(tmp_path, "dependabot.yml", yaml.safe_dump(bad))
    done = check_jsonschema("vendor.dependabot", path)
    assert done.returncode == 1
    assert "hourly" in done.stdout


def test_renovate_config_passes_its_schema():
    done = check_jsonschema("vendor.renovate", ROOT / "renovate.json")
    assert done.returncode == 0, done.stdout + done.stderr
    config = json.loads(render_renovate())
    assert config["enabledManagers"] == ["custom.regex"]


def _python_pattern() -> re.Pattern[str]:
    # Renovate runs the pattern as a JavaScript regex; only the group syntax differs from Python's.
    return re.compile(IMAGE_MATCH.replace("(?<", "(?P<"))


def test_renovate_regex_finds_every_pinned_catalogue_image():
    from model.catalogue import CATALOGUE

    source = (ROOT / "model" / "catalogue.py").read_text(encoding="utf-8")
    found = {f"{m['depName']}:{m['currentValue']}" for m in _python_pattern().finditer(source)}
    pinned = {spec.image for spec in CATALOGUE if spec.image is not None}
    assert pinned
    assert pinned <= found


def test_renovate_regex_ignores_other_strings():
    pattern = _python_pattern()
    assert pattern.search('name="redis:7"') is None
    assert pattern.search('image="redis"') is None
    match = pattern.search('image="quay.io/prometheuscommunity/postgres-exporter:v0.17.1",')
    assert match is not None
    assert (match["depName"], match["currentValue"]) == (
        "quay.io/prometheuscommunity/postgres-exporter",
        "v0.17.1",
    )
