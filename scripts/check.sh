#!/usr/bin/env bash
# The whole quality gate: lint, format, types, import contracts, tests. The README's test command and .ci/run call this.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
"$PY" -m ruff check .
"$PY" -m ruff format --check .
"$PY" -m mypy .
# The import contracts in pyproject.toml: model <- renderers <- components <- program <- commands.
"$PY" -c 'import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())'
"$PY" -m pytest "$@"
