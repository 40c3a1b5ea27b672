"""The platform's secrets: from `pulumi config set --secret` when set, otherwise generated.

Generated values live only in Pulumi's encrypted state (pulumi-random), never in a file. Each name
here is a placeholder the catalogue's `secret_env` templates may use. The values the stack gives are
read once, by the program's entry (program/__init__.py), and passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_random as random

# Secret name -> the stack config key that may provide it.
SECRET_KEYS: dict[str, str] = {
    "postgres_password": "postgresPassword",
    "redis_password": "redisPassword",
    "owner_db_password": "ownerDbPassword",
    "app_db_password": "appDbPassword",
    "backup_db_password": "backupDbPassword",
    "airflow_db_password": "airflowDbPassword",
    "monitoring_db_password": "monitoringDbPassword",
    "grafana_admin_password": "grafanaAdminPassword",
    "app_secret_key": "appSecretKey",
}


# Secrets that only exist when the operator has one (an SMTP relay's password): never generated,
# empty when unset.
OPTIONAL_SECRET_KEYS: dict[str, str] = {
    "smtp_password": "smtpPassword",
    # Never generated: a key that only Pulumi's state knew would be lost with the state; the
    # program requires them when backup.offsite is set (program/main.py).
    "offsite_encryption_key": "offsiteEncryptionKey",
    "offsite_access_key_id": "offsiteAccessKeyId",
    "offsite_secret_access_key": "offsiteSecretAccessKey",
}


@dataclass
class SecretsArgs:
    """The secrets the stack gives, by config key (each already a secret Output)."""

    given: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """Values of `pulumi config set --secret KEY`, by KEY."""


class Secrets(pulumi.ComponentResource):
    """Every secret the services need, as secret Outputs keyed by name."""

    values: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("investment:platform:Secrets", name, None, opts)
        self.values = {}
        generated = []
        for secret, key in SECRET_KEYS.items():
            given = args.given.get(key)
            if given is not None:
                self.values[secret] = pulumi.Output.secret(given)
                continue
            password = random.RandomPassword(
                f"{name}-{secret.replace('_', '-')}",
                length=48 if secret == "app_secret_key" else 32,
                # URL-safe: these end up inside connection strings.
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.values[secret] = pulumi.Output.secret(password.result)
            generated.append(secret)
        for secret, key in OPTIONAL_SECRET_KEYS.items():
            self.values[secret] = pulumi.Output.secret(args.given.get(key, ""))
        self.register_outputs({"generated": sorted(generated)})
