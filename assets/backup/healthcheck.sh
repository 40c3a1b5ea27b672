#!/usr/bin/env bash
# The container health check: healthy while the last successful backup is younger than
# BACKUP_MAX_AGE_SECONDS (default 93600 = 26 h). Reads the metrics file backup.sh writes on success.
# Needs bash, busybox awk and date.
# Started as `sh script` (busybox ash has no arrays or EPOCHREALTIME): re-run under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail
file="${BACKUP_METRICS_FILE:-${BACKUP_DIR:?BACKUP_DIR is not set}/backup.prom}"
max_age="${BACKUP_MAX_AGE_SECONDS:-93600}"
last="$(awk '/^backup_last_success_timestamp_seconds[{ ]/ { print $2; exit }' "$file" 2>/dev/null || true)"
if [[ ! "$last" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "unhealthy: no successful backup recorded in $file"
    exit 1
fi
age=$(($(date -u +%s) - ${last%.*}))
if ((age > max_age)); then
    echo "unhealthy: last successful backup is ${age}s old, more than ${max_age}s"
    exit 1
fi
echo "healthy: last successful backup ${age}s ago"
