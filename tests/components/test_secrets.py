"""The Secrets component on its own: given secrets pass through as secrets, missing ones are
generated with pulumi-random, optional ones stay empty."""

from __future__ import annotations

import pulumi

from commands.offline import MASK, run_program
from components.secrets import OPTIONAL_SECRET_KEYS, SECRET_KEYS, Secrets, SecretsArgs

PASSWORD = "random:index/randomPassword:RandomPassword"


def test_missing_secrets_are_generated_and_given_ones_are_not():
    def program() -> None:
        secrets = Secrets(
            "s", SecretsArgs(given={"postgresPassword": pulumi.Output.secret("from-config")})
        )
        for name, value in secrets.values.items():
            pulumi.export(name, value)

    result = run_program("prod", program=program)
    generated = {r.name: r.inputs for r in result.of_type(PASSWORD)}
    expected = {
        f"s-{name.replace('_', '-')}" for name in SECRET_KEYS if name != "postgres_password"
    }
    assert set(generated) == expected
    assert generated["s-app-secret-key"] == {"length": 48, "special": False}
    assert generated["s-redis-password"] == {"length": 32, "special": False}
    # Every value is a secret wherever it goes, the given, the generated and the optional one.
    assert set(result.outputs) == {*SECRET_KEYS, *OPTIONAL_SECRET_KEYS}
    assert set(result.outputs.values()) == {MASK}
    (component,) = [r for r in result.resources if r.type == "investment:platform:Secrets"]
    assert all(r.parent == component.urn for r in result.of_type(PASSWORD))
