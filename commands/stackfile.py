"""Edit a stack file in place the way a person would: only the values that change, with its
comments, key order, quoting and flow style kept (ruamel.yaml's round-trip mode)."""

from __future__ import annotations

import io
from collections.abc import Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

ServiceLimitChanges = Mapping[str, Mapping[str, float | int]]
"""Per service, the override keys to set (`cpus`, `memoryMib`) and their values."""


def _yaml() -> YAML:
    yaml = YAML()
    # Never fold a long value (a fixed cost's source) onto two lines.
    yaml.width = 4096
    # The stack files' own layout: block sequences indented under their key.
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    return yaml


def set_service_limits(text: str, project: str, changes: ServiceLimitChanges) -> str:
    """`text` (a Pulumi.<stack>.yaml) with `<project>:services.<service>.<key>` set for each
    change; a missing services key or service entry is added at the end of its mapping."""
    yaml = _yaml()
    data = yaml.load(text)
    if not isinstance(data, CommentedMap):
        data = CommentedMap()
    config = data.get("config")
    if not isinstance(config, CommentedMap):
        config = data["config"] = CommentedMap()
    key = f"{project}:services"
    services = config.get(key)
    if not isinstance(services, CommentedMap):
        services = config[key] = CommentedMap()
    for service, values in changes.items():
        entry = services.get(service)
        if not isinstance(entry, CommentedMap):
            entry = services[service] = CommentedMap()
        for name, value in values.items():
            entry[name] = value
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
