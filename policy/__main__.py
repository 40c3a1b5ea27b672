"""The policy pack's entry point: `pulumi preview --policy-pack policy/` runs this file.

The CLI starts it as `python -m pulumi.policy <engine> .` from this directory, which puts the
directory on sys.path; the offline runner (commands/policy_runner.py) starts it the same way.
Constructing the `PolicyPack` starts the analyzer's gRPC server, prints its port and serves until
the engine stops it. `policies` is imported by name because, seen from the repository (mypy,
tests), this directory is the `policy` package and the package is `policy.policies`.
"""

import importlib

from pulumi_policy import EnforcementLevel, PolicyPack

policies = importlib.import_module("policies")
policies.install_secret_marking()
PolicyPack(
    name=policies.PACK_NAME,
    policies=policies.build_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="The investment platform's infrastructure checklist as policies.",
)
