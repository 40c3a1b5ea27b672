#!/bin/sh
# The encrypted off-site copy of the PITR repository (pitr.sh's base backups and WAL archive), with
# restic: everything is encrypted and authenticated (AES-256 + Poly1305) before it leaves the
# host, deduplicated, and read back with its MACs checked, so a damaged object is detected, never
# restored. Runs in the restic/restic image (busybox sh, no bash), beside the backup container,
# with the backup volume mounted read-only.
#
#   offsite.sh loop        sync every OFFSITE_INTERVAL_SECONDS, forever (the container command)
#   offsite.sh sync        one sync: init the repository on first use, back up, prune daily, metrics
#   offsite.sh fetch DEST  restore the newest off-site copy of the PITR repository into DEST (a new
#                          directory), every file verified; then `pitr.sh restore --from DEST`
#
# Environment (restic's own variables, so restic's documentation applies):
#   RESTIC_REPOSITORY      s3:https://ENDPOINT/BUCKET/PREFIX
#   RESTIC_PASSWORD        the encryption key (a Pulumi secret)
#   AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY   the bucket's credentials (Pulumi secrets)
#   PITR_DIR               the PITR repository to copy (default /backup/pitr)
#   OFFSITE_INTERVAL_SECONDS   seconds between syncs (default 300: off-site RPO under 15 minutes)
#   OFFSITE_KEEP_DAYS      snapshots kept off-site, in days (default 14)
#   OFFSITE_METRICS_FILE   Prometheus text file (default /metrics/offsite.prom)
# Exit codes: 0 done, 1 failed (wrong key, unreachable bucket, damaged data), 2 usage.
set -eu

log() { printf '%s offsite: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() {
    code="$1"
    shift
    log "$*"
    exit "$code"
}

pitr_dir="${PITR_DIR:-/backup/pitr}"
interval="${OFFSITE_INTERVAL_SECONDS:-300}"
keep_days="${OFFSITE_KEEP_DAYS:-14}"
metrics_file="${OFFSITE_METRICS_FILE:-/metrics/offsite.prom}"
case "$interval$keep_days" in *[!0-9]*) fail 2 "OFFSITE_INTERVAL_SECONDS and OFFSITE_KEEP_DAYS must be whole numbers" ;; esac
[ -n "${RESTIC_REPOSITORY:-}" ] || fail 2 "RESTIC_REPOSITORY must name the off-site repository (s3:https://ENDPOINT/BUCKET/PREFIX)"
[ -n "${RESTIC_PASSWORD:-}" ] || fail 2 "RESTIC_PASSWORD must hold the off-site encryption key"

# first_error OUTPUT: restic's one line that says what went wrong.
first_error() { printf '%s\n' "$1" | grep -m 1 -E 'Fatal|error|Error' || printf '%s\n' "$1" | tail -n 1; }

# open_repo: fail with one line unless the repository opens with this key; create it only when the
# bucket answers and holds no repository yet (never on a wrong key).
open_repo() {
    if out="$(restic cat config 2>&1 >/dev/null)"; then
        return 0
    fi
    case "$out" in
    *"wrong password"*) fail 1 "wrong encryption key for $RESTIC_REPOSITORY (RESTIC_PASSWORD); nothing was changed" ;;
    *"unable to open config file"*"does not exist"* | *"unable to open config file"*"NoSuchKey"* | *"unable to open config file"*"Is there a repository"*)
        case "$out" in
        *"dial tcp"* | *"no such host"* | *"timeout"* | *"connection refused"*)
            fail 1 "cannot reach $RESTIC_REPOSITORY: $(first_error "$out"); nothing was changed"
            ;;
        esac
        if [ "${1:-}" = create ]; then
            log "initialising the encrypted repository $RESTIC_REPOSITORY"
            init="$(restic init 2>&1)" || fail 1 "cannot create $RESTIC_REPOSITORY: $(first_error "$init")"
            return 0
        fi
        fail 1 "no off-site repository at $RESTIC_REPOSITORY; nothing was changed"
        ;;
    *) fail 1 "cannot open $RESTIC_REPOSITORY: $(first_error "$out"); nothing was changed" ;;
    esac
}

write_metrics() {
    tmp="$(dirname "$metrics_file")/.$(basename "$metrics_file").partial"
    {
        printf '# HELP backup_offsite_last_success_timestamp_seconds Unix time the last off-site sync finished.\n'
        printf '# TYPE backup_offsite_last_success_timestamp_seconds gauge\n'
        printf 'backup_offsite_last_success_timestamp_seconds %s\n' "$1"
        printf '# HELP backup_offsite_last_duration_seconds Wall time of the last off-site sync.\n'
        printf '# TYPE backup_offsite_last_duration_seconds gauge\n'
        printf 'backup_offsite_last_duration_seconds %s\n' "$2"
    } >"$tmp"
    mv -f "$tmp" "$metrics_file"
}

cmd_sync() {
    [ -f "$pitr_dir/system_identifier" ] || fail 1 "$pitr_dir is not a PITR repository yet (no system_identifier); nothing to copy"
    started="$(date -u +%s)"
    open_repo create
    # The open WAL segment's .gz.partial is copied too: it is what keeps the off-site RPO at one
    # sync interval instead of one 16 MiB segment.
    out="$(restic backup --host platform --tag pitr --exclude '.*.partial' --exclude '.base.lock' \
        "$pitr_dir" 2>&1)" || fail 1 "backup to $RESTIC_REPOSITORY failed: $(first_error "$out")"
    stamp="$(dirname "$metrics_file")/.offsite-pruned"
    if [ ! -f "$stamp" ] || [ $(($(date -u +%s) - $(cat "$stamp"))) -ge 86400 ]; then
        out="$(restic forget --host platform --tag pitr --keep-within "${keep_days}d" --prune 2>&1)" ||
            fail 1 "pruning $RESTIC_REPOSITORY failed: $(first_error "$out")"
        date -u +%s >"$stamp"
    fi
    finished="$(date -u +%s)"
    write_metrics "$finished" $((finished - started))
    log "synced $pitr_dir to $RESTIC_REPOSITORY in $((finished - started))s"
}

cmd_fetch() {
    dest="$1"
    case "$dest" in /*) ;; *) fail 2 "fetch needs an absolute DEST directory, got '$dest'" ;; esac
    [ ! -e "$dest" ] || fail 2 "$dest already exists; fetch into a new directory"
    open_repo
    tmp="$dest.fetching"
    rm -rf "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    # --verify reads every restored file back and compares it with the snapshot's content hashes;
    # restic also checks each blob's MAC as it decrypts it.
    if ! out="$(restic restore latest --host platform --tag pitr --target "$tmp" --verify 2>&1)" ||
        printf '%s\n' "$out" | grep -q -E 'ciphertext verification failed|There were [0-9]+ errors|invalid data returned'; then
        fail 1 "restoring from $RESTIC_REPOSITORY failed: $(first_error "$out"); nothing was kept"
    fi
    # The repository's own marker is the shallowest one: restores keep older repositories, each
    # with its marker, under history/.
    found="$(find "$tmp" -name system_identifier -type f | awk -F/ '{ print NF "\t" $0 }' | sort -n | head -n 1 | cut -f2-)"
    [ -n "$found" ] || fail 1 "the newest off-site snapshot holds no PITR repository; nothing was kept"
    mv "$(dirname "$found")" "$dest"
    rm -rf "$tmp"
    trap - EXIT
    log "fetched the off-site copy into $dest; restore with: pitr.sh restore --from $dest --to ..."
}

case "${1:-}" in
sync) cmd_sync ;;
loop)
    while :; do
        cmd_sync_status=0
        (cmd_sync) || cmd_sync_status=$?
        [ "$cmd_sync_status" -eq 0 ] || log "sync failed; next attempt in ${interval}s"
        sleep "$interval" &
        wait $! || true
    done
    ;;
fetch)
    [ $# -eq 2 ] || fail 2 "usage: offsite.sh fetch DEST"
    cmd_fetch "$2"
    ;;
*) fail 2 "usage: offsite.sh loop | sync | fetch DEST" ;;
esac
