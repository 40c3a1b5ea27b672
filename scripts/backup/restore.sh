#!/usr/bin/env bash
# Restore a backup made by backup.sh into a database this script creates, then print per-table row counts.
#
#   restore.sh [--force] TARGET_DB [BACKUP_FILE]
#
# BACKUP_FILE defaults to the newest BACKUP_DIR/PREFIX-YYYYmmddTHHMMSSZ.dump. Before anything touches the
# server the file is verified: its sha256 must match the .sha256 written beside it, and pg_restore must
# read the whole archive (table of contents and every data block), which catches truncation and
# corruption. A refused file leaves the server exactly as it was.
#
# The restore goes into TARGET_DB_restoring first (single transaction, --no-owner, --exit-on-error,
# then ANALYZE) and is renamed to TARGET_DB only when it succeeded, so a failed restore never damages an
# existing database. An existing TARGET_DB is refused unless --force (or RESTORE_FORCE=1) is given; with
# it, TARGET_DB is dropped (disconnecting its sessions) just before the rename.
#
# Environment: PGHOST PGPORT PGUSER PGPASSWORD (libpq); BACKUP_DIR; BACKUP_PREFIX (default PGDATABASE);
# RESTORE_MAINTENANCE_DB (database to connect to for CREATE/DROP/RENAME, default postgres);
# RESTORE_NO_ACL=1 skips GRANT/REVOKE (pg_restore --no-acl), for a rebuilt server whose roles are missing.
# Exit codes: 0 restored, 1 restore failed (target untouched), 2 usage, 3 backup file refused,
# 4 target exists and --force not given.
# Runs under bash >= 4 with busybox or GNU tools; needs psql, pg_restore, sha256sum.
# Started as `sh script` (busybox ash has no arrays or EPOCHREALTIME): re-run under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

log() { printf '%s restore: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() {
    local code="$1"
    shift
    log "$*"
    exit "$code"
}
usage() { fail 2 "usage: restore.sh [--force] TARGET_DB [BACKUP_FILE]"; }

force="${RESTORE_FORCE:-0}"
positional=()
for arg in "$@"; do
    case "$arg" in
    --force) force=1 ;;
    -h | --help) usage ;;
    -*) fail 2 "unknown option '$arg'; usage: restore.sh [--force] TARGET_DB [BACKUP_FILE]" ;;
    *) positional+=("$arg") ;;
    esac
done
((${#positional[@]} >= 1 && ${#positional[@]} <= 2)) || usage
target="${positional[0]}"
file="${positional[1]:-}"
maint="${RESTORE_MAINTENANCE_DB:-postgres}"
staging="${target}_restoring"
# PostgreSQL truncates identifiers at 63 bytes; the staging name must stay distinct from the target.
((${#staging} <= 63)) || fail 2 "TARGET_DB '$target' is too long (at most 53 characters)"
[[ "$target" != "$maint" ]] || fail 2 "TARGET_DB must not be the maintenance database '$maint'"

if [[ -z "$file" ]]; then
    : "${BACKUP_DIR:?BACKUP_DIR must be set when no BACKUP_FILE is given}"
    prefix="${BACKUP_PREFIX:-${PGDATABASE:?set BACKUP_PREFIX or PGDATABASE to pick the newest backup}}"
    newest=""
    for f in "$BACKUP_DIR/$prefix"-*.dump; do
        base="${f##*/}"
        if [[ "$base" =~ ^.+-[0-9]{8}T[0-9]{6}Z\.dump$ && "${base%-*}" == "$prefix" && "$base" > "${newest##*/}" ]]; then
            newest="$f"
        fi
    done
    [[ -n "$newest" ]] || fail 3 "no backup named $prefix-YYYYmmddTHHMMSSZ.dump in $BACKUP_DIR"
    file="$newest"
fi

log "verifying $file"
[[ -f "$file" && -r "$file" ]] || fail 3 "REFUSED: backup file $file does not exist or is not readable"
[[ -f "$file.sha256" ]] || fail 3 "REFUSED: checksum file $file.sha256 is missing; cannot prove $file is intact"
expected="$(cut -d' ' -f1 <"$file.sha256")"
actual="$(sha256sum <"$file" | cut -d' ' -f1)"
[[ "$expected" =~ ^[0-9a-f]{64}$ ]] || fail 3 "REFUSED: checksum file $file.sha256 does not hold a sha256"
[[ "$actual" == "$expected" ]] ||
    fail 3 "REFUSED: $file is corrupted or truncated: sha256 is $actual, $file.sha256 says $expected"
pg_restore --list "$file" >/dev/null 2>&1 ||
    fail 3 "REFUSED: $file is not a readable pg_dump custom-format archive (table of contents unreadable)"
# Reading every data block (into /dev/null) proves the archive is complete, without touching the server.
pg_restore --file=/dev/null "$file" 2>/dev/null ||
    fail 3 "REFUSED: $file is truncated or damaged: pg_restore cannot read all of its data"
log "checksum $actual verified, archive reads completely"

# psql only interpolates :'var' / :"var" in input it reads, so SQL goes through stdin.
admin() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$maint" -v target="$target" -v staging="$staging"; }
db_exists() {
    [[ "$(printf "SELECT count(*) FROM pg_database WHERE datname = :'%s';\n" "$1" | admin)" == "1" ]]
}

target_exists=0
if db_exists target; then
    target_exists=1
    [[ "$force" == "1" ]] ||
        fail 4 "REFUSED: database '$target' already exists; pass --force (or RESTORE_FORCE=1) to replace it"
fi

cleanup_staging() {
    printf 'SET client_min_messages = warning;\nDROP DATABASE IF EXISTS :"staging" WITH (FORCE);\n' | admin || true
}
# A staging database can only be left over from an interrupted run of this script.
cleanup_staging
printf 'CREATE DATABASE :"staging" TEMPLATE template0;\n' | admin
trap 'log "restore failed; dropping $staging, $target is untouched"; cleanup_staging' ERR

started="$(date -u +%s)"
log "restoring into '$staging'"
acl=()
[[ "${RESTORE_NO_ACL:-0}" != "1" ]] || acl=(--no-acl)
pg_restore --no-owner ${acl[@]+"${acl[@]}"} --exit-on-error --single-transaction --dbname="$staging" "$file"
psql -X -q -v ON_ERROR_STOP=1 -d "$staging" -c 'ANALYZE' >/dev/null

if ((target_exists)); then
    log "replacing existing database '$target' (--force)"
    printf 'DROP DATABASE :"target" WITH (FORCE);\n' | admin
fi
printf 'ALTER DATABASE :"staging" RENAME TO :"target";\n' | admin
trap - ERR
log "restored $file into '$target' in $(($(date -u +%s) - started))s"

echo "table rows"
psql -X -At -F ' ' -v ON_ERROR_STOP=1 -d "$target" <<'SQL'
SELECT format('%I.%I', table_schema, table_name),
       (xpath('/row/n/text()',
              query_to_xml(format('SELECT count(*) AS n FROM %I.%I', table_schema, table_name),
                           false, true, '')))[1]::text::bigint
FROM information_schema.tables
WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1;
SQL
