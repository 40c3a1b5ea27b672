#!/usr/bin/env bash
# The backup container's long-running process: serves the metrics file over HTTP and runs backup.sh on
# BACKUP_SCHEDULE. Runs under bash >= 4 in postgres:15.x-alpine (busybox date, nc, sleep, awk).
#
# Environment (besides what backup.sh reads):
#   BACKUP_SCHEDULE        "HH:MM" = once a day at that UTC time (default 02:30), or a whole number of
#                          seconds between runs (e.g. 21600 for every 6 hours)
#   BACKUP_RETRY_SECONDS   after a failed run, try again this much later, if that comes before the next
#                          scheduled run (default 900)
#   BACKUP_MAX_AGE_SECONDS a backup older than this is stale: one runs at start-up, and healthcheck.sh
#                          reports unhealthy (default 93600 = 26 h, for the daily schedule)
#   BACKUP_METRICS_PORT    TCP port serving GET /metrics with busybox nc (default 9188; 0 disables)
#   PITR_ENABLED           1: also stream WAL (`pitr.sh receive`, restarted if it dies) and take a
#                          base backup (`pitr.sh base`) after each scheduled pg_dump (default 0)
#
#   entrypoint.sh                 run forever (the container command)
#   entrypoint.sh --next-run NOW  print the Unix time of the first scheduled run after NOW, then exit
# Started as `sh script` (busybox ash has no arrays or EPOCHREALTIME): re-run under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
schedule="${BACKUP_SCHEDULE:-02:30}"
retry="${BACKUP_RETRY_SECONDS:-900}"
max_age="${BACKUP_MAX_AGE_SECONDS:-93600}"
port="${BACKUP_METRICS_PORT:-9188}"
metrics_file="${BACKUP_METRICS_FILE:-${BACKUP_DIR:-}/backup.prom}"

log() { printf '%s scheduler: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
    log "$*"
    exit 2
}

if [[ "$schedule" =~ ^([01][0-9]|2[0-3]):([0-5][0-9])$ ]]; then
    mode=daily
elif [[ "$schedule" =~ ^[1-9][0-9]*$ ]]; then
    mode=interval
else
    die "BACKUP_SCHEDULE must be HH:MM (daily, UTC) or a whole number of seconds, got '$schedule'"
fi
for pair in "BACKUP_RETRY_SECONDS=$retry" "BACKUP_MAX_AGE_SECONDS=$max_age" "BACKUP_METRICS_PORT=$port"; do
    [[ "${pair#*=}" =~ ^[0-9]+$ ]] || die "${pair%%=*} must be a whole number, got '${pair#*=}'"
done
pitr="${PITR_ENABLED:-0}"
[[ "$pitr" == 0 || "$pitr" == 1 ]] || die "PITR_ENABLED must be 0 or 1, got '$pitr'"

# next_run NOW: the first scheduled time strictly after NOW (for an interval: NOW + interval).
next_run() {
    local now="$1" at
    if [[ "$mode" == daily ]]; then
        at="$(date -u -d "$(date -u -d "@$now" +%Y-%m-%d) $schedule:00" +%s)"
        ((at > now)) || at=$((at + 86400))
        echo "$at"
    else
        echo $((now + schedule))
    fi
}

if [[ "${1:-}" == "--next-run" ]]; then
    [[ "${2:-}" =~ ^[0-9]+$ ]] || die "usage: entrypoint.sh --next-run UNIX_TIME"
    next_run "$2"
    exit 0
fi
[[ $# -eq 0 ]] || die "usage: entrypoint.sh [--next-run UNIX_TIME]"
: "${BACKUP_DIR:?BACKUP_DIR must name the backup directory}"
mkdir -p "$BACKUP_DIR" 2>/dev/null || true
[[ -d "$BACKUP_DIR" && -w "$BACKUP_DIR" ]] ||
    die "BACKUP_DIR $BACKUP_DIR is not a directory writable by uid $(id -u); mount the backup volume where this user may write"

server_pid=""
sleeper_pid=""
receiver_pid=""
stop() {
    log "stopping"
    [[ -z "$sleeper_pid" ]] || kill "$sleeper_pid" 2>/dev/null || true
    [[ -z "$server_pid" ]] || kill "$server_pid" 2>/dev/null || true
    # The receiver's own loop and its pg_receivewal: its process group.
    [[ -z "$receiver_pid" ]] || kill -- -"$receiver_pid" 2>/dev/null || kill "$receiver_pid" 2>/dev/null || true
    exit 0
}
trap stop TERM INT

if ((port > 0)); then
    # nc -e executes the handler itself, so it needs its executable bit (uploads may drop it).
    [[ -x "$here/metrics-http.sh" ]] ||
        die "$here/metrics-http.sh is not executable; upload the scripts with mode 0755"
    export BACKUP_METRICS_FILE="$metrics_file"
    # busybox nc serves one connection per invocation; the loop re-listens after each scrape.
    (
        nc_pid=""
        trap '[[ -z "$nc_pid" ]] || kill "$nc_pid" 2>/dev/null; exit 0' TERM
        while :; do
            nc -l -p "$port" -e "$here/metrics-http.sh" &
            nc_pid=$!
            wait "$nc_pid" || sleep 1
        done
    ) &
    server_pid=$!
    log "serving $metrics_file at :$port/metrics"
fi

if ((pitr)); then
    # pitr.sh receive loops by itself (reconnects, recreates its slot after a restore).
    set -m
    bash "$here/pitr.sh" receive &
    receiver_pid=$!
    set +m
    log "streaming WAL for point-in-time recovery (pid $receiver_pid)"
fi

# Sleep in the background and wait, so TERM is handled at once instead of after the sleep ends.
pause() {
    sleep "$1" &
    sleeper_pid=$!
    wait "$sleeper_pid" || true
    sleeper_pid=""
}

run_backup() {
    if bash "$here/backup.sh" && { ((pitr == 0)) || bash "$here/pitr.sh" base; }; then
        return 0
    fi
    log "backup failed; next attempt in at most ${retry}s"
    return 1
}

last_success() {
    awk '/^backup_last_success_timestamp_seconds[{ ]/ { print $2; exit }' "$metrics_file" 2>/dev/null || true
}

now="$(date -u +%s)"
last="$(last_success)"
if [[ -z "$last" ]] || ((now - ${last%.*} > max_age)); then
    log "no backup within ${max_age}s; running one now"
    if run_backup; then next="$(next_run "$(date -u +%s)")"; else next=$(($(date -u +%s) + retry)); fi
else
    next="$(next_run "$now")"
fi

while :; do
    log "next backup at $(date -u -d "@$next" +%Y-%m-%dT%H:%M:%SZ)"
    while now="$(date -u +%s)"; ((now < next)); do
        wait_for=$((next - now))
        pause $((wait_for < 60 ? wait_for : 60))
    done
    scheduled="$(next_run "$next")"
    if run_backup; then
        next="$scheduled"
    else
        retry_at=$(($(date -u +%s) + retry))
        next=$((retry_at < scheduled ? retry_at : scheduled))
    fi
done
