"""How the program reads its stack config, as the Pulumi CLI hands it over."""

import json

from pulumi.runtime.config import set_all_config

from components.program import raw_project_config


def test_config_from_the_language_hosts_environment_variable(monkeypatch):
    # The Python language host passes config as JSON in PULUMI_CONFIG, not through the runtime map.
    set_all_config({})
    monkeypatch.setenv(
        "PULUMI_CONFIG",
        json.dumps(
            {
                "investment-platform:environment": "prod",
                "investment-platform:budgetUsd": "50",
                "investment-platform:postgresPassword": "s3cret",
                "docker:host": "ssh://x",
            }
        ),
    )
    assert raw_project_config() == {"environment": "prod", "budgetUsd": "50"}


def test_runtime_map_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"investment-platform:environment": "prod"}))
    set_all_config({"investment-platform:environment": "dev"})
    try:
        assert raw_project_config() == {"environment": "dev"}
    finally:
        set_all_config({})
