#!/bin/sh
# Let's Encrypt for nginx, run as the certbot container's entrypoint (POSIX sh, busybox + openssl
# + certbot from the certbot/certbot image).
#
# nginx cannot start its TLS server without a certificate, and Let's Encrypt cannot validate the
# domain until nginx serves the challenge directory. So: write a placeholder self-signed
# certificate, wait until nginx serves a probe file from the shared webroot, replace the
# placeholder with the real certificate, then renew twice a day. nginx reloads itself when the
# certificate file changes.
#
# Environment: DOMAIN, LETSENCRYPT_EMAIL, LETSENCRYPT_STAGING=1 for the staging CA,
# NGINX_URL (default http://nginx) to probe the webroot through.
set -eu
: "${DOMAIN:?DOMAIN is required}" "${LETSENCRYPT_EMAIL:?LETSENCRYPT_EMAIL is required}"
live="/etc/letsencrypt/live/$DOMAIN"
webroot=/var/www/certbot
nginx_url="${NGINX_URL:-http://nginx}"

log() { echo "certbot-loop: $*"; }

placeholder() {
    mkdir -p "$live"
    openssl req -x509 -nodes -newkey rsa:2048 -days 30 -subj "/CN=$DOMAIN" \
        -keyout "$live/privkey.pem" -out "$live/fullchain.pem" 2>/dev/null
    touch "$live/.placeholder"
    log "placeholder certificate written for $DOMAIN"
}

webroot_served() {
    mkdir -p "$webroot/.well-known/acme-challenge"
    token="probe-$$"
    echo "$token" > "$webroot/.well-known/acme-challenge/probe"
    got=$(wget -q -T 5 -O - "$nginx_url/.well-known/acme-challenge/probe" 2>/dev/null || true)
    rm -f "$webroot/.well-known/acme-challenge/probe"
    [ "$got" = "$token" ]
}

obtain() {
    # certbot will not take over a live directory it did not create: drop the placeholder first.
    rm -rf "$live" "/etc/letsencrypt/archive/$DOMAIN" "/etc/letsencrypt/renewal/$DOMAIN.conf"
    set -- certonly --webroot -w "$webroot" -d "$DOMAIN" --email "$LETSENCRYPT_EMAIL" \
        --agree-tos --non-interactive --keep-until-expiring
    if [ "${LETSENCRYPT_STAGING:-0}" = 1 ]; then set -- "$@" --staging; fi
    if certbot "$@"; then
        log "certificate obtained for $DOMAIN"
        return 0
    fi
    placeholder
    return 1
}

[ -s "$live/fullchain.pem" ] || placeholder
while :; do
    if [ -f "$live/.placeholder" ]; then
        if webroot_served && obtain; then
            continue
        fi
        log "nginx not serving the webroot yet or validation failed; retrying in 5 minutes"
        sleep 300
        continue
    fi
    certbot renew --webroot -w "$webroot" --non-interactive || log "renewal failed; will retry"
    sleep 43200
done
