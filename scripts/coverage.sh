#!/usr/bin/env bash
# Line coverage of every package, the commands' subprocesses included, as one table per module
# (not part of the quality gate: it roughly doubles the test time). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
rm -f .coverage .coverage.*
"$PY" -m pytest --cov --cov-report=term --cov-report=json:coverage.json "$@"
