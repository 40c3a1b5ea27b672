"""Pulumi entry point: validate the stack config, build the platform, export its cost."""

from components.program import main

main()
