#!/usr/bin/env bash
# Continuous archiving and point-in-time recovery with PostgreSQL's own tools: pg_receivewal streams
# the WAL through a replication slot into PITR_DIR/wal (fsynced after every write; finished
# segments are then gzipped), and pg_basebackup takes full base backups into PITR_DIR/base, each
# verified with pg_verifybackup against its SHA-256 manifest before it counts. A restore extracts a base backup into a fresh
# data directory beside PGDATA, replays the archived WAL up to the target time in a private server,
# and only then swaps the directories.
#
#   pitr.sh receive                       stream WAL forever (restarts pg_receivewal when it exits),
#                                         compressing finished segments and writing the metrics
#   pitr.sh compress                      gzip the finished WAL segments once
#   pitr.sh base                          one base backup, then retention, then the metrics file
#   pitr.sh metrics                       rewrite the metrics file (WAL lag, ages, repository size)
#   pitr.sh restore --to TIME|latest [--from PITR_DIR] [--pgdata DIR] [--expect-system-id ID]
#   pitr.sh wal-fetch FILE DEST WALDIR    the restore_command of a recovery (internal)
#
# TIME is UTC, "YYYY-MM-DD HH:MM:SS". A restore refuses (exit 3, nothing changed) a time outside
# the window of the repository, a repository of another cluster (system identifier), a damaged base
# backup; it refuses (exit 4) while a server runs on PGDATA. It runs as the data directory's owner
# (uid 70 in the image), so every file keeps its owner; roles and grants are part of the cluster
# and come back exactly as they were at the target time.
#
# Environment:
#   PGHOST PGPORT PGUSER PGPASSWORD  libpq; PGUSER needs the REPLICATION attribute (receive, base)
#   PITR_DIR            the repository (default BACKUP_DIR/pitr)
#   PITR_SLOT           replication slot name (default backup_pitr)
#   PITR_KEEP_BASE      full base backups kept; WAL is kept back to the oldest of them (default 7)
#   PITR_METRICS_FILE   Prometheus text file (default BACKUP_DIR/pitr.prom, or PITR_DIR/../pitr.prom)
#   PGDATA              the data directory a restore replaces (restore)
#   PITR_NOW            Unix time to use instead of the clock (tests)
#   PITR_LOOP_SECONDS   how often `receive` compresses, writes metrics, checks for a base backup (30)
# Exit codes: 0 done, 1 failed (nothing half-written is left), 2 usage, 3 refused input, 4 a
# server is running on PGDATA.
# Runs under bash >= 4 with busybox or GNU tools (gzip, tar, truncate, du, sha256sum) and the
# PostgreSQL 15 client and server binaries of the postgres:15-alpine image.
# Started as `sh script` (busybox ash has no arrays or EPOCHREALTIME): re-run under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
log() { printf '%s pitr: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() {
    local code="$1"
    shift
    log "$*"
    exit "$code"
}
synopsis="pitr.sh receive | base | metrics | restore --to 'YYYY-MM-DD HH:MM:SS'|latest [--from PITR_DIR] [--pgdata DIR] [--expect-system-id ID]"

default_dir=""
[[ -z "${BACKUP_DIR:-}" ]] || default_dir="$BACKUP_DIR/pitr"
repo="${PITR_DIR:-$default_dir}"
slot="${PITR_SLOT:-backup_pitr}"
keep_base="${PITR_KEEP_BASE:-7}"
[[ "$slot" =~ ^[a-z0-9_]{1,63}$ ]] || fail 2 "PITR_SLOT must be lower-case letters, digits and '_', got '$slot'"
[[ "$keep_base" =~ ^[1-9][0-9]*$ ]] || fail 2 "PITR_KEEP_BASE must be a whole number >= 1, got '$keep_base'"

now() { echo "${PITR_NOW:-$(date -u +%s)}"; }

metrics_path() {
    if [[ -n "${PITR_METRICS_FILE:-}" ]]; then
        echo "$PITR_METRICS_FILE"
    elif [[ -n "${BACKUP_DIR:-}" ]]; then
        echo "$BACKUP_DIR/pitr.prom"
    else
        echo "$(dirname "$repo")/pitr.prom"
    fi
}

# control_field DIR FIELD: one line of pg_controldata's report for the data directory DIR.
control_field() {
    pg_controldata "$1" 2>/dev/null | awk -F': *' -v k="$2" '$1 == k { print $2; exit }'
}

server_system_id() {
    psql -X -q -At -v ON_ERROR_STOP=1 -d postgres -c 'SELECT system_identifier FROM pg_control_system()'
}

need_repo() {
    [[ -n "$repo" ]] || fail 2 "set PITR_DIR (or BACKUP_DIR) to the repository directory"
}

# The repository records the cluster it belongs to on first use; WAL or base backups of another
# cluster must never be mixed into it.
claim_repo() {
    local id="$1" recorded
    mkdir -p "$repo/wal" "$repo/base"
    if [[ -f "$repo/system_identifier" ]]; then
        recorded="$(cat "$repo/system_identifier")"
        [[ "$recorded" == "$id" ]] ||
            fail 3 "the server's system identifier is $id but $repo belongs to cluster $recorded; point PITR_DIR at an empty directory for a new cluster"
    else
        printf '%s\n' "$id" >"$repo/.system_identifier.partial"
        mv -f "$repo/.system_identifier.partial" "$repo/system_identifier"
    fi
}

cmd_receive() {
    need_repo
    local id
    until id="$(server_system_id 2>&1)"; do
        log "cannot reach PostgreSQL as '${PGUSER:-$(id -un)}': $(printf '%s\n' "$id" | head -n 1); retrying in 10s"
        sleep 10
    done
    claim_repo "$id"
    # Beside the stream: compress finished segments and refresh the metrics every 30 s; take a
    # base backup as soon as the repository has none (a new platform, or after a restore).
    (
        trap 'exit 0' TERM
        while :; do
            cmd_compress || log "compressing finished WAL segments failed"
            if [[ -z "$(choose_base latest)" ]] && [[ "$(psql -X -At -d postgres -c \
                "SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'" 2>/dev/null)" == t ]]; then
                (cmd_base) || log "the first base backup failed; retrying in 30s"
            fi
            cmd_metrics || log "writing the metrics file failed"
            sleep "${PITR_LOOP_SECONDS:-30}" &
            wait $! || true
        done
    ) &
    while :; do
        pg_receivewal -D "$repo/wal" --slot="$slot" --create-slot --if-not-exists --no-loop ||
            log "could not create the replication slot '$slot'"
        log "streaming WAL into $repo/wal through slot $slot"
        # --synchronous fsyncs every write, so the open segment's .partial (plain, zero-padded to a
        # whole segment) holds everything the server sent: the on-host RPO is what was in flight.
        # Segments stream uncompressed because a cut gzip stream is unreadable to busybox gzip.
        pg_receivewal -D "$repo/wal" --slot="$slot" --synchronous --no-loop ||
            log "pg_receivewal exited with $?; restarting in 5s"
        sleep 5
    done
}

# compress: gzip every finished segment (pg_receivewal renames a segment from .partial once it is
# complete and fsynced). A killed gzip leaves the plain file, which is compressed again next time.
cmd_compress() {
    need_repo
    local f
    for f in "$repo"/wal/[0-9A-F]*; do
        [[ "${f##*/}" =~ ^[0-9A-F]{24}$ && -f "$f" ]] || continue
        gzip -f -6 "$f"
    done
}

# base_retention: keep the newest PITR_KEEP_BASE base backups and the WAL back to the oldest kept.
base_retention() {
    local -a backups=()
    local b oldest start_wal
    while IFS= read -r b; do backups+=("$b"); done < <(
        cd "$repo/base" && for b in [0-9]*T[0-9]*Z; do [[ -f "$b/meta" ]] && echo "$b"; done | sort -r
    )
    local i
    for ((i = keep_base; i < ${#backups[@]}; i++)); do
        rm -rf -- "${repo:?}/base/${backups[i]}"
        log "retention: deleted base backup ${backups[i]}"
    done
    ((${#backups[@]} > 0)) || return 0
    oldest="${backups[$((${#backups[@]} < keep_base ? ${#backups[@]} - 1 : keep_base - 1))]}"
    start_wal="$(awk -F= '$1 == "start_wal" { print $2 }' "$repo/base/$oldest/meta")"
    [[ "$start_wal" =~ ^[0-9A-F]{24}$ ]] || return 0
    pg_archivecleanup -x .gz "$repo/wal" "$start_wal"
}

cmd_base() {
    need_repo
    local id stamp started finished start_wal timeline
    id="$(server_system_id 2>&1)" ||
        fail 1 "cannot connect to PostgreSQL as '${PGUSER:-$(id -un)}': $(printf '%s\n' "$id" | head -n 1 | sed 's/^psql: error: //'); nothing was written"
    claim_repo "$id"
    exec 9>"$repo/.base.lock"
    if ! flock -n 9; then
        log "another base backup is running in $repo; waiting for it to finish"
        flock 9
    fi
    started="$(now)"
    stamp="$(date -u -d "@$started" +%Y%m%dT%H%M%SZ)"
    [[ ! -e "$repo/base/$stamp" ]] || fail 1 "$repo/base/$stamp already exists"
    tmp="$repo/base/.$stamp.partial"
    rm -rf -- "$repo"/base/.*.partial
    trap 'rm -rf -- "$tmp"' EXIT
    mkdir -p "$tmp"
    log "base backup of cluster $id into $repo/base/$stamp"
    # Plain format so pg_verifybackup can check every file against the SHA-256 manifest (it reads
    # no tar files in PostgreSQL 15); the verified copy is then packed with gzip.
    pg_basebackup -D "$tmp/data" -Fp -X stream --checkpoint=fast --manifest-checksums=SHA256 \
        --no-password || fail 1 "pg_basebackup exited with $?; nothing was kept"
    pg_verifybackup -q "$tmp/data" || fail 1 "pg_verifybackup rejected the new base backup; nothing was kept"
    start_wal="$(sed -n 's/^START WAL LOCATION: .* (file \([0-9A-F]\{24\}\))$/\1/p' "$tmp/data/backup_label")"
    timeline="${start_wal:0:8}"
    finished="$(now)"
    ((finished > started)) || finished=$((started + 1))
    tar -czf "$tmp/base.tar.gz" -C "$tmp/data" .
    rm -rf -- "$tmp/data"
    (cd "$tmp" && sha256sum base.tar.gz >base.tar.gz.sha256)
    printf 'system_identifier=%s\nstart=%s\nend=%s\nstart_wal=%s\ntimeline=%s\n' \
        "$id" "$started" "$finished" "$start_wal" "$timeline" >"$tmp/meta"
    sync
    mv -- "$tmp" "$repo/base/$stamp"
    trap - EXIT
    log "base backup $stamp done ($(du -sk "$repo/base/$stamp" | cut -f1) KiB)"
    base_retention
    cmd_metrics
}

cmd_metrics() {
    need_repo
    local file tmp last_base="" lag="" active="" size b
    file="$(metrics_path)"
    for b in "$repo"/base/[0-9]*T[0-9]*Z/meta; do
        [[ -f "$b" ]] || continue
        last_base="$(awk -F= '$1 == "end" { print $2 }' "$b")"
    done
    # Bytes the server has written that the slot's consumer has not yet confirmed: the WAL lag.
    if out="$(psql -X -q -At -F '|' -v ON_ERROR_STOP=1 -d postgres -v slot="$slot" 2>/dev/null <<'SQL'
SELECT CASE WHEN s.restart_lsn IS NULL THEN -1
            ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::bigint END,
       CASE WHEN s.active THEN 1 ELSE 0 END
FROM (SELECT 1) AS one LEFT JOIN pg_replication_slots AS s ON s.slot_name = :'slot';
SQL
    )"; then
        lag="${out%%|*}"
        active="${out##*|}"
    fi
    size="$(du -sk "$repo" | cut -f1)"
    # A name of its own: the receiver's loop and a base backup may both write the file.
    tmp="$(dirname "$file")/.$(basename "$file").$BASHPID.partial"
    {
        printf '# HELP backup_wal_lag_bytes WAL the server wrote that pg_receivewal has not confirmed.\n'
        printf '# TYPE backup_wal_lag_bytes gauge\n'
        [[ -z "$lag" || "$lag" == "-1" ]] || printf 'backup_wal_lag_bytes %s\n' "$lag"
        printf '# HELP backup_wal_receiver_active 1 while pg_receivewal streams through the slot.\n'
        printf '# TYPE backup_wal_receiver_active gauge\n'
        printf 'backup_wal_receiver_active %s\n' "${active:-0}"
        printf '# HELP backup_base_last_success_timestamp_seconds Unix time the newest verified base backup ended.\n'
        printf '# TYPE backup_base_last_success_timestamp_seconds gauge\n'
        [[ -z "$last_base" ]] || printf 'backup_base_last_success_timestamp_seconds %s\n' "$last_base"
        printf '# HELP backup_repository_size_bytes Bytes used by the base backups and WAL archive.\n'
        printf '# TYPE backup_repository_size_bytes gauge\n'
        printf 'backup_repository_size_bytes %s\n' "$((size * 1024))"
    } >"$tmp"
    mv -f -- "$tmp" "$file"
}

# wal-fetch FILE DEST WALDIR: PostgreSQL's restore_command. A finished segment (plain or gzip) is
# preferred; otherwise the open segment's .partial, which pg_receivewal keeps zero-padded to a
# whole segment, so recovery replays it up to its last flushed record.
cmd_wal_fetch() {
    local name="$1" dest="$2" dir="$3"
    if [[ -f "$dir/$name" ]]; then
        cp -- "$dir/$name" "$dest"
    elif [[ -f "$dir/$name.gz" ]]; then
        gzip -dc <"$dir/$name.gz" >"$dest"
    elif [[ "$name" =~ ^[0-9A-F]{24}$ && -f "$dir/$name.partial" ]]; then
        cp -- "$dir/$name.partial" "$dest"
    else
        exit 1
    fi
}

# choose_base TARGET: the newest base backup that ended before TARGET (Unix time), or "" if none.
choose_base() {
    local target="$1" b end chosen=""
    for b in "$repo"/base/[0-9]*T[0-9]*Z; do
        [[ -f "$b/meta" ]] || continue
        end="$(awk -F= '$1 == "end" { print $2 }' "$b/meta")"
        if [[ "$target" == latest ]] || ((end <= target)); then chosen="$b"; fi
    done
    echo "$chosen"
}

cmd_restore() {
    local to="" from="" pgdata="${PGDATA:-}" expect="" target_epoch="" target_text=""
    while (($#)); do
        case "$1" in
        --to) to="${2:-}" && shift ;;
        --from) from="${2:-}" && shift ;;
        --pgdata) pgdata="${2:-}" && shift ;;
        --expect-system-id) expect="${2:-}" && shift ;;
        *) fail 2 "unknown argument '$1'; usage: $synopsis" ;;
        esac
        shift
    done
    [[ -n "$to" ]] || fail 2 "--to needs a time 'YYYY-MM-DD HH:MM:SS' (UTC) or 'latest'; usage: $synopsis"
    [[ -z "$from" ]] || repo="$from"
    need_repo
    [[ -n "$pgdata" ]] || fail 2 "--pgdata (or PGDATA) must name the data directory to replace"
    pgdata="${pgdata%/}"
    [[ "$pgdata$repo" != *"'"* ]] || fail 2 "paths with a single quote are not supported"
    [[ -z "$expect" || "$expect" =~ ^[0-9]+$ ]] || fail 2 "--expect-system-id must be a number, got '$expect'"
    if [[ "$to" != latest ]]; then
        [[ "$to" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}[\ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?$ ]] ||
            fail 2 "--to must be 'YYYY-MM-DD HH:MM:SS' (UTC) or 'latest', got '$to'"
        target_epoch="$(date -u -d "${to/T/ }" +%s 2>/dev/null)" ||
            fail 2 "--to '$to' is not a valid date and time"
        target_text="$(date -u -d "@$target_epoch" '+%Y-%m-%d %H:%M:%S')"
        ((target_epoch <= $(now))) || fail 3 "--to $target_text UTC is in the future; nothing was changed"
    fi
    [[ -d "$repo/base" && -d "$repo/wal" ]] ||
        fail 3 "$repo is not a PITR repository (no base/ and wal/); nothing was changed"

    # A running server owns PGDATA: never replace its files underneath it.
    if [[ -f "$pgdata/postmaster.pid" ]]; then
        if pg_ctl status -D "$pgdata" >/dev/null 2>&1; then
            fail 4 "a PostgreSQL server is running on $pgdata; stop it first (docker stop), nothing was changed"
        fi
    fi
    if [[ -n "${PGHOST:-}" ]] && pg_isready -q -t 3 >/dev/null 2>&1; then
        fail 4 "a PostgreSQL server still accepts connections at ${PGHOST}:${PGPORT:-5432}; stop it before restoring over its data, nothing was changed"
    fi

    local repo_id cluster_id=""
    repo_id="$(cat "$repo/system_identifier" 2>/dev/null || true)"
    [[ -n "$repo_id" ]] || fail 3 "$repo has no system_identifier: not a repository written by pitr.sh; nothing was changed"
    if [[ -n "$expect" ]]; then
        cluster_id="$expect"
    elif [[ -f "$pgdata/global/pg_control" ]]; then
        cluster_id="$(control_field "$pgdata" "Database system identifier")"
    fi
    if [[ -n "$cluster_id" && "$cluster_id" != "$repo_id" ]]; then
        fail 3 "$repo holds backups of cluster $repo_id, but $pgdata is cluster $cluster_id; refusing to mix clusters, nothing was changed"
    fi

    local base
    base="$(choose_base "${target_epoch:-latest}")"
    if [[ -z "$base" ]]; then
        local first
        first="$(choose_base latest)"
        [[ -n "$first" ]] || fail 3 "$repo holds no base backup yet; nothing was changed"
        local oldest_end=""
        for b in "$repo"/base/[0-9]*T[0-9]*Z/meta; do
            oldest_end="$(awk -F= '$1 == "end" { print $2 }' "$b")"
            break
        done
        fail 3 "--to $target_text UTC is before the oldest restorable time $(date -u -d "@$oldest_end" '+%Y-%m-%d %H:%M:%S') UTC (the end of the oldest base backup); nothing was changed"
    fi
    local base_id
    base_id="$(awk -F= '$1 == "system_identifier" { print $2 }' "$base/meta")"
    [[ "$base_id" == "$repo_id" ]] ||
        fail 3 "base backup $base is of cluster $base_id, not $repo_id; nothing was changed"
    (cd "$base" && sha256sum -c base.tar.gz.sha256 >/dev/null 2>&1) ||
        fail 3 "base backup $base/base.tar.gz does not match its sha256: damaged; nothing was changed"

    fresh="$pgdata.restoring"
    rm -rf -- "$fresh"
    mkdir -m 0700 "$fresh"
    sock="$(mktemp -d)"
    cleanup() {
        pg_ctl stop -D "$fresh" -m immediate >/dev/null 2>&1 || true
        rm -rf -- "$fresh" "$sock"
    }
    trap cleanup EXIT
    log "restoring base backup ${base##*/} into $fresh"
    tar -xzf "$base/base.tar.gz" -C "$fresh" || fail 3 "cannot unpack $base/base.tar.gz; nothing was changed"
    pg_verifybackup -q -n "$fresh" || fail 3 "base backup ${base##*/} fails pg_verifybackup; nothing was changed"
    [[ "$(control_field "$fresh" "Database system identifier")" == "$repo_id" ]] ||
        fail 3 "base backup ${base##*/} is not of cluster $repo_id; nothing was changed"
    rm -f -- "$fresh/backup_manifest" "$fresh/postmaster.pid"
    chmod 0700 "$fresh"

    cp -- "$fresh/postgresql.auto.conf" "$sock/auto.conf.orig"
    {
        printf "restore_command = 'bash ''%s'' wal-fetch %%f %%p ''%s'''\n" "$here/pitr.sh" "$repo/wal"
        if [[ -n "$target_text" ]]; then
            printf "recovery_target_time = '%s+00'\n" "$target_text"
        fi
        printf "recovery_target_action = 'promote'\n"
        printf "recovery_target_timeline = 'latest'\n"
    } >>"$fresh/postgresql.auto.conf"
    touch "$fresh/recovery.signal"
    log "replaying WAL to ${target_text:-the end of the archive}${target_text:+ UTC}"
    # A private server: no TCP, its socket in a new directory, no archiving of its own.
    if ! pg_ctl start -D "$fresh" -w -t 3600 -l "$sock/recovery.log" \
        -o "-c listen_addresses='' -k $sock -c archive_mode=off -c hot_standby=off" >/dev/null; then
        tail -n 8 "$sock/recovery.log" >&2
        fail 3 "recovery failed: $(grep -E 'FATAL|PANIC' "$sock/recovery.log" | tail -n 1 | sed 's/^.*\(FATAL\|PANIC\): *//'); nothing was changed"
    fi
    # pg_ctl returns once the server runs; recovery ends when pg_control says "in production",
    # or the server exits (a target it cannot reach, a missing WAL file).
    local state
    while state="$(control_field "$fresh" "Database cluster state")" &&
        [[ "$state" != "in production" ]] && pg_ctl status -D "$fresh" >/dev/null 2>&1; do
        sleep 0.2
    done
    if [[ "$state" != "in production" ]]; then
        tail -n 8 "$sock/recovery.log" >&2
        fail 3 "recovery failed: $(grep -E 'FATAL|PANIC' "$sock/recovery.log" | tail -n 1 | sed 's/^.*\(FATAL\|PANIC\): *//'); nothing was changed"
    fi
    pg_ctl stop -D "$fresh" -m fast -w >/dev/null || fail 1 "the recovered server did not stop; nothing was changed"
    [[ "$state" == "in production" ]] ||
        fail 3 "recovery ended in state '$state': $(grep -E 'FATAL|PANIC' "$sock/recovery.log" | tail -n 1); nothing was changed"
    cp -- "$sock/auto.conf.orig" "$fresh/postgresql.auto.conf"
    local reached
    reached="$(grep -E 'recovery stopping|redo done|last completed transaction' "$sock/recovery.log" | tail -n 1 || true)"
    log "recovered: ${reached:-done}"

    # One clock read names both what is set aside: the replaced data directory and the repository
    # as it was carry the same stamp, so an operator can tell which belongs to which restore.
    local replaced_at
    replaced_at="$(date -u -d "@$(now)" +%Y%m%dT%H%M%SZ)"
    if [[ -e "$pgdata" ]]; then
        local aside
        aside="$pgdata.replaced-$replaced_at"
        mv -- "$pgdata" "$aside"
        log "the replaced data directory is kept at $aside; delete it once the restore is checked"
    fi
    mv -- "$fresh" "$pgdata"
    trap 'rm -rf -- "$sock"' EXIT
    # The restored cluster writes a new timeline that forks from the old one at the target, while
    # the repository's newest WAL may lie beyond it on the old timeline: pg_receivewal would ask
    # for a position the server never wrote. So the repository as it was moves to history/ (still
    # restorable with --from) and the receiver starts the live one afresh, with a base backup.
    local kept
    kept="$repo/history/$replaced_at"
    mkdir -p "$kept"
    mv -- "$repo/base" "$repo/wal" "$kept/"
    cp -- "$repo/system_identifier" "$kept/"
    mkdir -p "$repo/base" "$repo/wal"
    log "the repository as it was is kept at $kept (restore from it with --from $kept)"
    log "restored $pgdata to ${target_text:-latest}${target_text:+ UTC} from base backup ${base##*/}; start PostgreSQL, then take a new base backup"
}

case "${1:-}" in
receive) cmd_receive ;;
compress) cmd_compress ;;
base) cmd_base ;;
metrics) cmd_metrics ;;
restore)
    shift
    cmd_restore "$@"
    ;;
wal-fetch)
    (($# == 4)) || fail 2 "usage: pitr.sh wal-fetch FILE DEST WALDIR"
    cmd_wal_fetch "$2" "$3" "$4"
    ;;
*) fail 2 "usage: $synopsis" ;;
esac
