"""How the program reads its stack config and secrets, as the Pulumi CLI hands them over."""

import json

import pytest
from pulumi.runtime.config import set_all_config

from model.config import ConfigError, load_config
from program.main import stack_input, stack_secrets

IMAGES = {"backend": "ghcr.io/acme/backend:1.2.3", "frontend": "ghcr.io/acme/fe:1.2.3"}


@pytest.fixture(autouse=True)
def _empty_runtime_config():
    set_all_config({}, [])
    yield
    set_all_config({}, [])


def test_config_from_the_language_hosts_environment_variables(monkeypatch):
    # The Python language host passes config as JSON in PULUMI_CONFIG and the secret keys in
    # PULUMI_CONFIG_SECRET_KEYS, not through the runtime map.
    monkeypatch.setenv(
        "PULUMI_CONFIG",
        json.dumps(
            {
                "investment-platform:budgetUsd": "50",
                "investment-platform:postgresPassword": "s3cret",
                "docker:host": "ssh://x",
            }
        ),
    )
    monkeypatch.setenv(
        "PULUMI_CONFIG_SECRET_KEYS", json.dumps(["investment-platform:postgresPassword"])
    )
    given = stack_input()
    assert given.raw == {"budgetUsd": "50", "postgresPassword": "s3cret"}
    assert given.secret_keys == {"postgresPassword"}


def test_runtime_map_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"investment-platform:domain": "a.example"}))
    set_all_config({"investment-platform:domain": "b.example"}, ["investment-platform:domain"])
    given = stack_input()
    assert given.raw == {"domain": "b.example"}
    assert given.secret_keys == {"domain"}


def _prod(**extra):
    raw = {
        "images": json.dumps(IMAGES),
        "dockerHost": "ssh://deploy@vps.example.com",
        "domain": "invest.example.com",
        "tls": json.dumps({"mode": "provided"}),
        "database": json.dumps({"port": 15432}),
    }
    raw.update(extra)
    return load_config("prod", raw)


def test_provided_tls_needs_both_secrets_with_a_message_and_no_traceback():
    config = _prod()
    with pytest.raises(ConfigError) as excinfo:
        stack_secrets(config, {"tlsPrivateKey": "KEY"})
    assert str(excinfo.value) == (
        "Pulumi.prod.yaml: investment-platform:tlsCertificate: tls.mode is provided, so this "
        "secret is required: `pulumi config set --secret tlsCertificate < fullchain.pem`"
    )


def test_a_malformed_secret_webhook_is_refused_without_showing_it():
    with pytest.raises(ConfigError) as excinfo:
        stack_secrets(
            _prod(),
            {
                "tlsCertificate": "C",
                "tlsPrivateKey": "K",
                "alertingWebhookUrl": "hooks.example/T0K3N",
            },
        )
    message = str(excinfo.value)
    assert message == (
        "Pulumi.prod.yaml: investment-platform:alertingWebhookUrl: is not a usable http(s) URL "
        "(the value is a secret and is not shown)"
    )
    assert "T0K3N" not in message


def test_given_secrets_pass_and_empty_ones_count_as_unset():
    secrets = stack_secrets(
        _prod(), {"tlsCertificate": "C", "tlsPrivateKey": "K", "smtpPassword": ""}
    )
    assert secrets == {"tlsCertificate": "C", "tlsPrivateKey": "K"}
