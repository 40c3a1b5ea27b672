#!/usr/bin/env bash
# Restore a backup made by backup.sh into a database this script creates, then print per-table row counts.
#
#   restore.sh [--force] [--from-database NAME] TARGET_DB [BACKUP_FILE]
#
# Needs a superuser (it creates databases and gives objects back to their owners): run it with the
# superuser's PGUSER/PGPASSWORD, not the backup role's (docs/DISASTER_RECOVERY.md says how). The
# server is checked first: unreachable, a wrong password or a role without those rights is one line
# and exit 1, before anything else happens.
#
# BACKUP_FILE defaults to the newest BACKUP_DIR/PREFIX-YYYYmmddTHHMMSSZ.dump. Before anything touches the
# server the file is verified: its sha256 must match the .sha256 written beside it, pg_restore must
# read the whole archive (table of contents and every data block), which catches truncation and
# corruption, and the archive must be a dump of TARGET_DB: a dump of another database is refused
# unless --from-database names it (to restore a copy under another name, e.g. a scratch database).
# A refused file leaves the server exactly as it was.
#
# The restore goes into TARGET_DB_restoring first (single transaction, --exit-on-error, then ANALYZE)
# and is renamed to TARGET_DB only when it succeeded, so a failed restore never damages an existing
# database. Inside the database everything comes back as it was dumped: each object's owner and its
# grants, default privileges, function settings. What belongs to the database itself (its owner, who
# may connect, its connection limit) is not in the dump: when TARGET_DB exists it is copied from it
# (so the grants `pulumi up` manages stay exactly as they were); a new database belongs to the
# restoring superuser and nobody else may connect to it. An existing TARGET_DB is refused unless
# --force (or RESTORE_FORCE=1) is given; with it, TARGET_DB is dropped (disconnecting its sessions)
# just before the rename.
#
# Environment: PGHOST PGPORT PGUSER PGPASSWORD (libpq); BACKUP_DIR; BACKUP_PREFIX (default PGDATABASE);
# RESTORE_MAINTENANCE_DB (database to connect to for CREATE/DROP/RENAME, default postgres);
# RESTORE_NO_ACL=1 restores without owners and grants (pg_restore --no-owner --no-acl), for a rebuilt
# server whose roles do not exist yet.
# Exit codes: 0 restored, 1 restore failed or server unusable (target untouched), 2 usage, 3 backup file
# refused (damaged, or a dump of another database), 4 target exists and --force not given.
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
synopsis="restore.sh [--force] [--from-database NAME] TARGET_DB [BACKUP_FILE]"
usage() { fail 2 "usage: $synopsis"; }

force="${RESTORE_FORCE:-0}"
from_database=""
positional=()
while (($#)); do
    case "$1" in
    --force) force=1 ;;
    --from-database)
        from_database="${2:-}"
        [[ -n "$from_database" ]] || fail 2 "--from-database needs a database name; usage: $synopsis"
        shift
        ;;
    --from-database=*)
        from_database="${1#*=}"
        [[ -n "$from_database" ]] || fail 2 "--from-database needs a database name; usage: $synopsis"
        ;;
    -h | --help) usage ;;
    -*) fail 2 "unknown option '$1'; usage: $synopsis" ;;
    *) positional+=("$1") ;;
    esac
    shift
done
((${#positional[@]} >= 1 && ${#positional[@]} <= 2)) || usage
target="${positional[0]}"
file="${positional[1]:-}"
expected_source="${from_database:-$target}"
maint="${RESTORE_MAINTENANCE_DB:-postgres}"
staging="${target}_restoring"
# PostgreSQL truncates identifiers at 63 bytes; the staging name must stay distinct from the target.
((${#staging} <= 63)) || fail 2 "TARGET_DB '$target' is too long (at most 53 characters)"
[[ "$target" != "$maint" ]] || fail 2 "TARGET_DB must not be the maintenance database '$maint'"

# psql only interpolates :'var' / :"var" in input it reads, so SQL goes through stdin.
admin() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$maint" -v target="$target" -v staging="$staging"; }

# The server first: one line for an unreachable server, a wrong password or a role that cannot
# restore, instead of the same libpq error from every later step.
if ! whoami="$(printf 'SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user;\n' |
    psql -X -q -At -F '|' -v ON_ERROR_STOP=1 -d "$maint" 2>&1)"; then
    problem="$(printf '%s\n' "$whoami" | head -n 1)"
    problem="${problem#psql: error: }"
    hint=""
    [[ "$problem" != *"permission denied for database"* ]] ||
        hint=" (a restore needs the superuser's credentials: docs/DISASTER_RECOVERY.md)"
    fail 1 "cannot connect to PostgreSQL as '${PGUSER:-$(id -un)}': $problem$hint; nothing was changed"
fi
[[ "${whoami##*|}" == "t" ]] ||
    fail 1 "role '${whoami%|*}' is not a superuser: a restore creates a database and gives every object back to its owner; run it with the superuser's credentials (docs/DISASTER_RECOVERY.md); nothing was changed"

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
toc="$(pg_restore --list "$file" 2>/dev/null)" ||
    fail 3 "REFUSED: $file is not a readable pg_dump custom-format archive (table of contents unreadable)"
# Reading every data block (into /dev/null) proves the archive is complete, without touching the server.
pg_restore --file=/dev/null "$file" 2>/dev/null ||
    fail 3 "REFUSED: $file is truncated or damaged: pg_restore cannot read all of its data"
# The header pg_restore prints names the database the archive was dumped from.
source_db="$(printf '%s\n' "$toc" | sed -n 's/^;     dbname: //p' | head -n 1)"
if [[ "$source_db" != "$expected_source" ]]; then
    if [[ -n "$from_database" ]]; then
        fail 3 "REFUSED: $file is a backup of database '$source_db', not of '$from_database' (--from-database)"
    fi
    fail 3 "REFUSED: $file is a backup of database '$source_db', not of '$target'; to restore a copy of '$source_db' under the name '$target', pass --from-database '$source_db'"
fi
log "checksum $actual verified, archive of '$source_db' reads completely"

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
# Closed from the start: only superusers may connect while the data goes in.
printf 'CREATE DATABASE :"staging" TEMPLATE template0;\nREVOKE ALL ON DATABASE :"staging" FROM PUBLIC;\n' | admin
trap 'log "restore failed; dropping $staging, $target is untouched"; cleanup_staging' ERR

started="$(date -u +%s)"
log "restoring into '$staging'"
roles=()
[[ "${RESTORE_NO_ACL:-0}" != "1" ]] || roles=(--no-owner --no-acl)
pg_restore ${roles[@]+"${roles[@]}"} --exit-on-error --single-transaction --dbname="$staging" "$file"
psql -X -q -v ON_ERROR_STOP=1 -d "$staging" -c 'ANALYZE' >/dev/null

if ((target_exists)); then
    # The database's own owner, connection limit and ACL, as they are on the database being
    # replaced: those are what `pulumi up` manages (the Database component's Grant resources).
    # The owner's own entry is revoked too, so that the ACL ends up entry for entry the same.
    admin <<'SQL'
SELECT format('ALTER DATABASE %I OWNER TO %I', :'staging', pg_get_userbyid(datdba)),
       format('ALTER DATABASE %I CONNECTION LIMIT %s', :'staging', datconnlimit),
       format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'staging'),
       format('REVOKE ALL ON DATABASE %I FROM %I', :'staging', pg_get_userbyid(datdba))
FROM pg_database WHERE datname = :'target'
\gexec
SELECT format('GRANT %s ON DATABASE %I TO %s%s', a.privilege_type, :'staging',
              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
              CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
FROM pg_database AS d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) WITH ORDINALITY AS a
WHERE d.datname = :'target'
ORDER BY a.ordinality
\gexec
SQL
    log "replacing existing database '$target' (--force), keeping its owner and grants"
    printf 'DROP DATABASE :"target" WITH (FORCE);\n' | admin
else
    log "new database '$target': owned by $(printf 'SELECT current_user;\n' | admin), no one else may connect"
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
