#!/usr/bin/env bash
# One HTTP/1.0 exchange on stdin/stdout, run by `nc -l -p PORT -e` for each connection:
# GET /metrics returns BACKUP_METRICS_FILE (Prometheus text format; empty before the first success),
# followed by each file named in BACKUP_METRICS_EXTRA (space-separated) that exists.
# Started as `sh script` (busybox ash has no arrays or EPOCHREALTIME): re-run under bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -uo pipefail
export LC_ALL=C # ${#body} must count bytes for Content-Length

respond() {
    printf 'HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
        "$1" "$2" "${#3}" "$3"
}

IFS=' ' read -r -t 5 method target _ || exit 0
while IFS= read -r -t 5 header; do
    [[ -n "${header%$'\r'}" ]] || break
done
case "$method ${target%%\?*}" in
"GET /metrics" | "HEAD /metrics")
    body=""
    for file in "${BACKUP_METRICS_FILE:-}" ${BACKUP_METRICS_EXTRA:-}; do
        if [[ -f "$file" ]]; then
            # The trailing x keeps the file's final newline through command substitution.
            part="$(cat "$file" && printf x)"
            body+="${part%x}"
        fi
    done
    [[ "$method" == GET ]] || body=""
    respond "200 OK" "text/plain; version=0.0.4; charset=utf-8" "$body"
    ;;
"GET "* | "HEAD "*) respond "404 Not Found" "text/plain" $'only /metrics is served here\n' ;;
*) respond "405 Method Not Allowed" "text/plain" $'only GET and HEAD\n' ;;
esac
