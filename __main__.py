"""Pulumi entry point: validate the stack config, build the platform, export its cost."""

from program.main import main

main()
