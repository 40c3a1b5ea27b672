#!/usr/bin/env bash
# One backup of one database: pg_dump (custom format, compressed) into BACKUP_DIR, a .sha256 beside it,
# retention, an optional off-host copy, then the metrics file. Exit 0 only when all of that worked; on
# any failure nothing is left half-written and the metrics file keeps its previous content, so the
# "backup too old" alert fires instead of a broken backup looking fresh.
#
# Runs under bash >= 5 (EPOCHREALTIME) with busybox or GNU tools: the pinned image is
# postgres:15.x-alpine (bash, busybox date/sha256sum/awk/sort/stat/flock/mv/cp/rm/sed/head, psql,
# pg_dump, pg_restore). It logs in as the backup role (PGUSER): a member of pg_read_all_data with
# CONNECT on the database, which can read everything and change nothing (model/dbprivileges.py).
#
# Environment:
#   PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE  the standard libpq variables (PGDATABASE is required)
#   BACKUP_DIR            directory holding the backups (required; a named volume in the container)
#   BACKUP_PREFIX         file-name prefix, default PGDATABASE; files are PREFIX-YYYYmmddTHHMMSSZ.dump
#   BACKUP_COMPRESS       pg_dump -Z level 0-9, default 6
#   BACKUP_KEEP_DAILY     keep the newest backup of each of the N most recent days that have one (7)
#   BACKUP_KEEP_WEEKLY    keep the newest backup of each of the M most recent ISO weeks that have one (4)
#   BACKUP_OFFHOST_DIR    optional second directory (a mounted disk, NFS/SMB/sshfs mount, rclone mount);
#                         the dump and its checksum are copied there, verified, and the same retention
#                         is applied there
#   BACKUP_METRICS_FILE   Prometheus text file written on success, default BACKUP_DIR/backup.prom
#   BACKUP_NOW            Unix time to name the backup with instead of the clock (tests, reruns)
# Started as `sh script` (busybox ash has no arrays or EPOCHREALTIME): re-run under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

log() { printf '%s backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
die() {
    log "FAILED: $*"
    exit 1
}

: "${PGDATABASE:?PGDATABASE must name the database to back up}"
: "${BACKUP_DIR:?BACKUP_DIR must name the backup directory}"
prefix="${BACKUP_PREFIX:-$PGDATABASE}"
compress="${BACKUP_COMPRESS:-6}"
keep_daily="${BACKUP_KEEP_DAILY:-7}"
keep_weekly="${BACKUP_KEEP_WEEKLY:-4}"
metrics_file="${BACKUP_METRICS_FILE:-$BACKUP_DIR/backup.prom}"
now="${BACKUP_NOW:-$(date -u +%s)}"

for pair in "BACKUP_COMPRESS=$compress" "BACKUP_KEEP_DAILY=$keep_daily" \
    "BACKUP_KEEP_WEEKLY=$keep_weekly" "BACKUP_NOW=$now"; do
    [[ "${pair#*=}" =~ ^[0-9]+$ ]] || die "${pair%%=*} must be a non-negative integer, got '${pair#*=}'"
done
((compress <= 9)) || die "BACKUP_COMPRESS must be 0-9, got '$compress'"
((keep_daily + keep_weekly >= 1)) || die "BACKUP_KEEP_DAILY + BACKUP_KEEP_WEEKLY must keep at least one backup"
[[ "$prefix" =~ ^[A-Za-z0-9_.-]+$ ]] || die "BACKUP_PREFIX '$prefix' may only hold letters, digits, '_', '.', '-'"
[[ -d "$BACKUP_DIR" ]] || die "BACKUP_DIR '$BACKUP_DIR' is not a directory"

# One backup at a time per directory (a manual `docker exec backup.sh` beside the scheduled one).
# Opening the lock file is also the test that this user may write there, before anything else.
if ! { exec 9>"$BACKUP_DIR/.backup.lock"; } 2>/dev/null; then
    die "BACKUP_DIR '$BACKUP_DIR' is not writable by uid $(id -u); nothing was written"
fi
flock -n 9 || die "another backup is running in $BACKUP_DIR"

# The server next: one line for an unreachable server, a wrong password or a missing CONNECT,
# instead of pg_dump's several.
if ! reached="$(psql -X -q -At -v ON_ERROR_STOP=1 -c 'SELECT 1' 2>&1)"; then
    die "cannot connect to PostgreSQL as '${PGUSER:-$(id -un)}': $(printf '%s\n' "$reached" | head -n 1 | sed 's/^psql: error: //'); nothing was written"
fi

# retention DIR: delete PREFIX-*.dump files (and their .sha256) that no rule keeps.
# Rules, applied to the backups sorted newest first by the timestamp in their names:
#   daily  - the newest backup of each of the KEEP_DAILY most recent UTC days that have a backup;
#   weekly - the newest backup of each of the KEEP_WEEKLY most recent ISO weeks that have a backup.
# A backup kept by either rule stays. Days or weeks without backups do not count, so a stretch of failed
# backups never ages the last good ones out. Files not named PREFIX-YYYYmmddTHHMMSSZ.dump are never touched.
retention() {
    local dir="$1" name day week days_seen=0 weeks_seen=0 last_day="" last_week="" keep
    local -a names=()
    while IFS= read -r name; do
        names+=("$name")
    done < <(cd "$dir" && for f in "$prefix"-*.dump; do
        [[ "$f" =~ ^.+-[0-9]{8}T[0-9]{6}Z\.dump$ && "${f%-*}" == "$prefix" ]] && printf '%s\n' "$f"
    done | sort -r)
    for name in ${names[@]+"${names[@]}"}; do
        keep=""
        day="${name: -21:8}"
        week="$(date -u -d "${day:0:4}-${day:4:2}-${day:6:2} 12:00:00" +%G-W%V)"
        if [[ "$day" != "$last_day" ]]; then
            last_day="$day"
            days_seen=$((days_seen + 1))
            if ((days_seen <= keep_daily)); then keep="daily"; fi
        fi
        if [[ "$week" != "$last_week" ]]; then
            last_week="$week"
            weeks_seen=$((weeks_seen + 1))
            if ((weeks_seen <= keep_weekly)); then keep="${keep:+$keep+}weekly"; fi
        fi
        if [[ -z "$keep" ]]; then
            rm -f -- "$dir/$name" "$dir/$name.sha256"
            log "retention: deleted $dir/$name"
        fi
    done
}

name="$prefix-$(date -u -d "@$now" +%Y%m%dT%H%M%SZ).dump"
final="$BACKUP_DIR/$name"
partial="$BACKUP_DIR/.$name.partial"
[[ ! -e "$final" ]] || die "$final already exists"
# Leftovers of a run that was killed mid-dump: never valid backups, safe to drop under the lock.
rm -f -- "$BACKUP_DIR"/.*.partial
trap 'rm -f -- "$partial" "$partial.sha256"' EXIT

started="$EPOCHREALTIME"
log "dumping database '$PGDATABASE' to $final"
pg_dump --format=custom --compress="$compress" --file="$partial" || die "pg_dump exited with $?"
# The archive's table of contents must read back before it may replace anything.
pg_restore --list "$partial" >/dev/null || die "pg_restore cannot read the new archive $partial"
sum="$(sha256sum <"$partial" | cut -d' ' -f1)"
printf '%s  %s\n' "$sum" "$name" >"$partial.sha256"
sync
mv -f -- "$partial" "$final"
mv -f -- "$partial.sha256" "$final.sha256"
size="$(stat -c %s "$final")"
log "wrote $final ($size bytes, sha256 $sum)"

retention "$BACKUP_DIR"

if [[ -n "${BACKUP_OFFHOST_DIR:-}" ]]; then
    [[ -d "$BACKUP_OFFHOST_DIR" ]] || die "local backup $final is fine, but BACKUP_OFFHOST_DIR '$BACKUP_OFFHOST_DIR' is not a directory"
    off_partial="$BACKUP_OFFHOST_DIR/.$name.partial"
    trap 'rm -f -- "$partial" "$partial.sha256" "$off_partial"' EXIT
    cp -- "$final" "$off_partial" || die "local backup $final is fine, but copying it to $BACKUP_OFFHOST_DIR failed"
    off_sum="$(sha256sum <"$off_partial" | cut -d' ' -f1)"
    [[ "$off_sum" == "$sum" ]] || die "local backup $final is fine, but its off-host copy has sha256 $off_sum, expected $sum"
    cp -- "$final.sha256" "$BACKUP_OFFHOST_DIR/$name.sha256"
    mv -f -- "$off_partial" "$BACKUP_OFFHOST_DIR/$name"
    log "copied to $BACKUP_OFFHOST_DIR/$name"
    retention "$BACKUP_OFFHOST_DIR"
fi

finished="$EPOCHREALTIME"
duration="$(awk -v a="$started" -v b="$finished" 'BEGIN { printf "%.3f", b - a }')"
label="database=\"$PGDATABASE\""
metrics_tmp="$(dirname "$metrics_file")/.$(basename "$metrics_file").partial"
{
    printf '# HELP backup_last_success_timestamp_seconds Unix time the last successful backup finished.\n'
    printf '# TYPE backup_last_success_timestamp_seconds gauge\n'
    printf 'backup_last_success_timestamp_seconds{%s} %s\n' "$label" "${finished%.*}"
    printf '# HELP backup_last_size_bytes Size of the last successful backup file.\n'
    printf '# TYPE backup_last_size_bytes gauge\n'
    printf 'backup_last_size_bytes{%s} %s\n' "$label" "$size"
    printf '# HELP backup_last_duration_seconds Wall time of the last successful backup run.\n'
    printf '# TYPE backup_last_duration_seconds gauge\n'
    printf 'backup_last_duration_seconds{%s} %s\n' "$label" "$duration"
} >"$metrics_tmp"
mv -f -- "$metrics_tmp" "$metrics_file"
log "done in ${duration}s"
