"""Plain data to YAML text with PyYAML, the one dumper every generated YAML file goes through.

Keys keep the given order (sort_keys=False), so a file changes only when its data does; list items
are indented under their key; multi-line strings (scripts, PromQL, descriptions) are literal blocks;
no anchors. PyYAML speaks YAML 1.1, where a bare `on` is the boolean true, so it quotes that key
(`'on':`), which GitHub (YAML 1.2) and every 1.1 reader both read as the string "on".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """SafeDumper that indents list items under their key, as GitHub's own examples do."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        # Anchors (&id001) are valid YAML but unreadable in a generated file; repeat the value.
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    tag = "tag:yaml.org,2002:str"
    if any(char != "\n" and not char.isprintable() for char in value):
        # Double quotes escape everything. YAML 1.1 also breaks lines at NEL, LS and PS (U+0085,
        # U+2028, U+2029), which PyYAML with allow_unicode would write raw into a plain, single-
        # quoted or block scalar, and read back as line breaks.
        return dumper.represent_scalar(tag, value, style='"')
    if "\n" in value:
        # Scripts, PromQL and descriptions read best as literal blocks.
        return dumper.represent_scalar(tag, value, style="|")
    return dumper.represent_scalar(tag, value)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Mapping[str, Any], *, header: str) -> str:
    """`data` as YAML text after `header` (comment lines naming the generator)."""
    body = yaml.dump(
        dict(data),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
    )
    return header + body
