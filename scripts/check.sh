#!/usr/bin/env bash
# The whole quality gate: lint, format, types, tests. The README's test command and .ci/run call this.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
"$PY" -m ruff check .
"$PY" -m ruff format --check .
"$PY" -m mypy .
"$PY" -m pytest "$@"
