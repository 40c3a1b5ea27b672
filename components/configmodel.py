"""The base of every stack-config model: frozen, no unknown keys, camelCase keys in stack files.

Kept in a module of its own, importing only pydantic, so each concern's settings (config,
monitoring, workflows) can share it without import cycles.
"""

from __future__ import annotations

from pydantic import AliasGenerator, BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class ConfigModel(BaseModel):
    """Stack-config models: frozen, no unknown keys, camelCase keys in the stack file."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=AliasGenerator(validation_alias=to_camel),
        # Also accept field names, so code can build models directly (and the pydantic mypy
        # plugin knows it can).
        populate_by_name=True,
    )
