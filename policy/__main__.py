"""The policy pack's entry point: `pulumi preview --policy-pack policy/` runs this file.

The CLI starts it as `python -m pulumi.policy <engine> .` from this directory, which puts the
directory on sys.path; the offline runner (components/policy_runner.py) starts it the same way.
The module is imported by name at run time because, seen from the repository (mypy, tests), this
directory is the `policy` package and `policies` is `policy.policies`.
"""

import importlib

importlib.import_module("policies").serve()
