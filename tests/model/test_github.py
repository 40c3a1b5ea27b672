"""`investment-platform:github`: good config parses, bad config names the key and what is wrong."""

from __future__ import annotations

import pytest

from model.github import GitHubConfigError, parse_github_settings


def test_a_minimal_config_gets_defaults():
    settings = parse_github_settings({"repository": "acme/investment-platform"})
    assert (settings.owner, settings.name, settings.branch) == (
        "acme",
        "investment-platform",
        "main",
    )
    assert settings.selected == ("ci", "dependabot")
    assert settings.app_ci.image_prefix == "ghcr.io/acme/investment-platform"


def test_ci_overrides_keep_the_derived_image_prefix():
    settings = parse_github_settings(
        {"repository": "Acme/App", "workflows": ["ci"], "ci": {"pythonVersion": "3.12"}}
    )
    assert settings.app_ci.python_version == "3.12"
    assert settings.app_ci.image_prefix == "ghcr.io/acme/app"
    assert settings.selected == ("ci",)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"repository": "investment-platform"},
            "investment-platform:github.repository: 'investment-platform' is not in owner/name "
            "form (e.g. acme/investment-platform)",
        ),
        (
            {"repository": "acme/app/extra"},
            "investment-platform:github.repository: 'acme/app/extra' is not in owner/name form "
            "(e.g. acme/investment-platform)",
        ),
        (
            {"repository": "acme/app", "branch": ""},
            "investment-platform:github.branch: must not be empty",
        ),
        (
            {"repository": "acme/app", "branch": "   "},
            "investment-platform:github.branch: must not be empty",
        ),
        (
            {"repository": "acme/app", "workflows": ["ci", "deploy"]},
            "investment-platform:github.workflows: unknown workflow 'deploy'; known workflows are "
            "ci, dependabot",
        ),
        (
            {"repository": "acme/app", "workflows": []},
            "investment-platform:github.workflows: name at least one of ci, dependabot",
        ),
        (
            {"repository": "acme/app", "token": "ghp_x"},
            "investment-platform:github.token: Extra inputs are not permitted",
        ),
        ({}, "investment-platform:github.repository: Field required"),
    ],
)
def test_bad_config_names_the_key(raw, message):
    with pytest.raises(GitHubConfigError) as excinfo:
        parse_github_settings(raw)
    assert str(excinfo.value) == message


def test_every_error_is_reported_at_once():
    with pytest.raises(GitHubConfigError) as excinfo:
        parse_github_settings({"repository": "nope", "branch": "", "workflows": ["x"]})
    assert str(excinfo.value).splitlines() == [
        "investment-platform:github.repository: 'nope' is not in owner/name form "
        "(e.g. acme/investment-platform)",
        "investment-platform:github.branch: must not be empty",
        "investment-platform:github.workflows: unknown workflow 'x'; known workflows are "
        "ci, dependabot",
    ]
