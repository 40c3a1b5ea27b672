"""Command-line entry: one sub-command per module, each registering its own parser.

A command module exposes `add_parser(subparsers)`, which adds its sub-parser and sets
`handler=<function(args) -> int>` as a default. Modules keep heavy imports inside their handlers so
that `--help` and argument errors stay fast.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

# Each entry is a module with add_parser(); adding a command means adding one line here.
COMMAND_MODULES: tuple[str, ...] = (
    "commands.plan",
    "commands.cost",
    "commands.db",
    "commands.loadtest",
    "commands.render",
    "commands.rightsize",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m commands",
        description="Offline tools for the investment platform's Pulumi program.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code
