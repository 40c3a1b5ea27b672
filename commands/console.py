"""The rich console the commands print through."""

from __future__ import annotations

from rich.console import Console

# Wide enough for image names and health checks when output goes to a file or a CI log, where rich
# would otherwise assume 80 columns and wrap every cell.
PIPE_WIDTH = 180


def make_console() -> Console:
    console = Console()
    if not console.is_terminal:
        console = Console(width=PIPE_WIDTH)
    return console
