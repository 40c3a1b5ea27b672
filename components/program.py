"""The Pulumi program's body, kept out of `__main__.py` so that file only wires things together."""

from __future__ import annotations

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from components.config import PROJECT, ConfigError, StackConfig, load_config
from components.platform import Platform, PlatformArgs, summary
from components.secrets import OPTIONAL_SECRET_KEYS, SECRET_KEYS
from components.workflows.repository_files import WorkflowFiles

# Keys read elsewhere as secrets (never validated as plain text).
_SECRET_CONFIG_KEYS = {
    *SECRET_KEYS.values(),
    *OPTIONAL_SECRET_KEYS.values(),
    "tlsCertificate",
    "tlsPrivateKey",
    "registryPassword",
}


def raw_project_config() -> dict[str, str]:
    """Every non-secret `investment-platform:*` key of the stack, without the namespace.

    pulumi.Config only answers for keys asked by name, and a mistyped key in a stack file must be
    an error, not silently ignored; so read the whole map the engine handed to the program. The
    Python language host hands it over in the PULUMI_CONFIG environment variable; the SDK's mocks
    and `set_all_config` put it in the runtime's map, which wins where both have a key.
    """
    prefix = f"{PROJECT}:"
    merged = {**get_config_env(), **CONFIG.get()}
    return {
        key.removeprefix(prefix): value
        for key, value in merged.items()
        if key.startswith(prefix) and key.removeprefix(prefix) not in _SECRET_CONFIG_KEYS
    }


def load_stack_config() -> StackConfig:
    """Validate this stack's config, or stop the program with the message naming the key."""
    try:
        return load_config(pulumi.get_stack(), raw_project_config())
    except ConfigError as exc:
        # RunError makes the CLI print the message without a Python traceback.
        raise pulumi.RunError(str(exc)) from None


def main() -> None:
    """Build the platform for the current stack and export what it is and costs."""
    config = load_stack_config()
    platform = Platform("investment", PlatformArgs(config=config))
    if config.github is not None:
        WorkflowFiles("investment-app-ci", config.github)
    for key, value in summary(platform, config).items():
        pulumi.export(key, value)
