"""The investment platform's CrossGuard policies: the infrastructure checklist, machine-checked.

One module per area, each building its policies with `core.resource_policy` or
`core.stack_policy` (name, description, level, settings and validator in one call). Resource
policies see each resource's inputs (`Analyze`) before it changes; stack policies see every
resource's outputs and the root `pulumi:pulumi:Stack` resource, whose properties are the stack
outputs (`AnalyzeStack`). That is how the budget policies read the program's exported `cost`, and
how the allow-lists learn which image a container runs, without the pack importing the program.

The pack runs in its own virtualenv under the CLI (`pulumi preview --policy-pack policy/`), so it
imports nothing from the project. `__main__.py` imports this package as the top-level `policies`
(the pack's directory is on sys.path); the repository's tests import it as `policy.policies`, so
the modules import each other relatively.

Secrets: the engine sends secret values marked, but pulumi-policy 1.21's `Analyze` unwraps the
marks before a validator runs. The pack keeps them by deserializing with `mark_secrets`
(installed by `__main__.py`): every string inside a secret arrives as a `SecretStr`.
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import (
    budget,
    cloud,
    containers,
    credentials,
    delivery,
    host,
    images,
    monitoring,
    volumes,
)
from .core import PACK_NAME, SecretStr, install_secret_marking, mark_secrets
from .delivery import deploy_job_problems

__all__ = [
    "PACK_NAME",
    "SecretStr",
    "build_policies",
    "deploy_job_problems",
    "install_secret_marking",
    "mark_secrets",
]


def build_policies() -> list[Policy]:
    """Every policy of the pack, in the order `plan` reports them."""
    return [
        *budget.policies(),
        *monitoring.policies(),
        *containers.policies(),
        *images.policies(),
        *host.policies(),
        *cloud.policies(),
        *volumes.policies(),
        *credentials.policies(),
        *delivery.policies(),
    ]
