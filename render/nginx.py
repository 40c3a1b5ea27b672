"""nginx's configuration, rendered from the catalogue's routes: a pure function, no Pulumi.

The public side follows Mozilla's intermediate TLS profile (guidelines 6.0) and goes beyond it
where this platform needs more: a default server that refuses names other than the configured
domain, per-client rate limits (stricter on the paths that take passwords), metrics paths served
to internal networks only, and security headers on every response, errors included.

Every value interpolated into the file is validated here, whoever validated it before, so that no
value can change the file's structure: host names per RFC 1123, URL paths from a small safe
alphabet, networks parsed as networks, numbers as numbers.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from model.catalogue import ServiceSpec, dns_name
from model.config import StackConfig

TlsMode = Literal["letsencrypt", "provided", "none"]

STATUS_PORT = 8081
CONFIG_PATH = "/etc/nginx/generated/nginx.conf"
CERT_DIR = "/etc/nginx/generated/tls"
ACME_WEBROOT = "/var/www/certbot"
RESOLVER = "127.0.0.11"
"""Docker's embedded DNS, so upstreams resolve at request time and nginx starts even when a
backend container is being replaced."""

INTERNAL_NETWORKS = ("127.0.0.1/32", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
"""Who may read metrics through the edge and stub_status: loopback and the private ranges Docker
networks are carved from."""

TLS_PROTOCOLS = ("TLSv1.2", "TLSv1.3")
TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
)
"""Mozilla intermediate 6.0's TLS 1.2 suites: forward secret (ECDHE) and AEAD only. TLS 1.3's
suites are all of that kind and OpenSSL's defaults match Mozilla's list."""
TLS_CURVES = ("X25519", "prime256v1", "secp384r1")
"""Mozilla's groups without X25519MLKEM768, which needs OpenSSL 3.5: the pinned image's OpenSSL
and Debian's refuse the whole directive when it names a group they do not know."""
TLS_SESSION_CACHE = "shared:MozSSL:10m"
TLS_SESSION_TIMEOUT = "1d"
HSTS_MAX_AGE_S = 63072000
"""Two years, Mozilla's value. No includeSubDomains: the domain's subdomains are not ours to pin."""

SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)
"""Sent by the edge on every response (`always`: errors and 429s too)."""


@dataclass(frozen=True)
class RateLimit:
    """A `limit_req` zone keyed by client address: a steady rate and a burst served at once."""

    zone: str
    """Zone name in nginx.conf."""
    rate: int
    """Requests per `per` the zone lets through once the burst is used up."""
    per: Literal["s", "m"]
    """The rate's unit: per second or per minute."""
    burst: int
    """Requests beyond the rate served immediately (`nodelay`) before answering 429."""


REQUEST_LIMIT = RateLimit(zone="requests", rate=20, per="s", burst=50)
"""Every routed path: generous enough for a page's assets or a dashboard's panel queries."""
LOGIN_LIMIT = RateLimit(zone="login", rate=6, per="m", burst=5)
"""Paths that take passwords: a handful of tries, then one every ten seconds per address."""

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_PATH = re.compile(r"/(?:[A-Za-z0-9._~-]+/)*[A-Za-z0-9._~-]*")
_ZONE = re.compile(r"[a-z][a-z0-9_]*")


def validate_host_name(value: object, what: str = "domain") -> str:
    """`value` if it is an RFC 1123 host name (dot-separated labels of letters, digits and inner
    hyphens, 1-63 characters each, 253 in all); ValueError naming `what` otherwise."""
    if (
        not isinstance(value, str)
        or not 0 < len(value) <= 253
        or not all(_LABEL.fullmatch(label) for label in value.split("."))
    ):
        raise ValueError(
            f"{what}: {value!r} is not a host name (RFC 1123: dot-separated labels of letters, "
            "digits and inner hyphens)"
        )
    return value


def _path(value: object, what: str) -> str:
    if (
        not isinstance(value, str)
        or not _PATH.fullmatch(value)
        or any(seg in (".", "..") for seg in value.split("/"))
    ):
        raise ValueError(
            f"{what}: {value!r} is not a URL path of letters, digits and . _ ~ - separated by /"
        )
    return value


def _positive(value: object, what: str, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what}: {value!r} is not a positive whole number")
    if maximum is not None and value > maximum:
        raise ValueError(f"{what}: {value!r} is above {maximum}")
    return value


def _networks(values: Iterable[object]) -> list[str]:
    networks: list[str] = []
    for value in values:
        try:
            networks.append(str(ipaddress.ip_network(str(value), strict=True)))
        except ValueError as exc:
            raise ValueError(f"internal_networks: {value!r} is not a network ({exc})") from None
    if not networks:
        raise ValueError("internal_networks: at least one network is needed")
    return networks


def _rate_limit(limit: RateLimit) -> RateLimit:
    if not isinstance(limit, RateLimit) or not _ZONE.fullmatch(limit.zone):
        raise ValueError(f"rate limit: {limit!r} is not a RateLimit with a lower-case zone name")
    if limit.per not in ("s", "m"):
        raise ValueError(f"rate limit {limit.zone}: per must be 's' or 'm', not {limit.per!r}")
    _positive(limit.rate, f"rate limit {limit.zone}: rate")
    _positive(limit.burst, f"rate limit {limit.zone}: burst")
    return limit


def certificate_paths(mode: TlsMode, domain: str) -> tuple[str, str]:
    """Where nginx reads the certificate and key for the TLS mode."""
    if mode == "letsencrypt":
        live = f"/etc/letsencrypt/live/{validate_host_name(domain)}"
        return (f"{live}/fullchain.pem", f"{live}/privkey.pem")
    return (f"{CERT_DIR}/tls.crt", f"{CERT_DIR}/tls.key")


def public_path(spec: ServiceSpec, path: str) -> str:
    """The public URL path of `path` on a routed service. nginx passes the URI through unchanged,
    so a path under the route is public as it is; any other path is public under the route, for
    a service that serves itself from its sub-path (Grafana's /metrics is /grafana/metrics)."""
    route = spec.route or "/"
    return path if path.startswith(route) else route.rstrip("/") + path


@dataclass(frozen=True)
class _Route:
    """One routed service, validated: where it lives and which of its paths need special care."""

    route: str
    upstream: str
    login_paths: tuple[str, ...]
    metrics_paths: tuple[str, ...]


def _routes(services: Sequence[ServiceSpec]) -> list[_Route]:
    routes: list[_Route] = []
    seen: dict[str, str] = {}
    for spec in services:
        if spec.route is None:
            continue
        if spec.port is None:
            raise ValueError(f"{spec.name}: a routed service needs both route and port")
        route = _path(spec.route, f"{spec.name}.route")
        host = validate_host_name(dns_name(spec.name), f"{spec.name}.name")
        port = _positive(spec.port, f"{spec.name}.port", 65535)
        logins = tuple(_path(p, f"{spec.name}.login_paths") for p in spec.login_paths)
        for login in logins:
            if not login.startswith(route):
                raise ValueError(f"{spec.name}.login_paths: {login!r} is not under {route!r}")
        # Only endpoints on the routed port are reachable through the edge.
        metrics = tuple(
            public_path(spec, _path(e.path, f"{spec.name}.metrics"))
            for e in spec.metrics
            if e.port == spec.port
        )
        for path in (route, *logins, *metrics):
            if path in seen:
                raise ValueError(f"{spec.name}: path {path!r} is also routed by {seen[path]}")
            seen[path] = spec.name
        routes.append(
            _Route(
                route=route,
                upstream=f"http://{host}:{port}",
                login_paths=logins,
                metrics_paths=metrics,
            )
        )
    return routes


def _headers(*, hsts: bool) -> list[str]:
    headers = list(SECURITY_HEADERS)
    if hsts:
        headers.insert(0, ("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_S}"))
    return [f'add_header {name} "{value}" always;' for name, value in headers]


def _limit(limit: RateLimit) -> str:
    return f"limit_req zone={limit.zone} burst={limit.burst} nodelay;"


def _location(path: str, upstream: str, *rules: str) -> list[str]:
    # No add_header here: a location with its own add_header would drop the server's headers.
    return [
        f"location {path} {{",
        *(f"    {rule}" for rule in rules),
        f"    set $upstream {upstream};",
        "    proxy_pass $upstream;",
        "    proxy_set_header Host $host;",
        "    proxy_set_header X-Real-IP $remote_addr;",
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "    proxy_set_header X-Forwarded-Proto $scheme;",
        "    proxy_http_version 1.1;",
        "    proxy_set_header Upgrade $http_upgrade;",
        "    proxy_set_header Connection $connection_upgrade;",
        "}",
    ]


def _route_locations(
    routes: Sequence[_Route], networks: Sequence[str], requests: RateLimit, login: RateLimit
) -> list[str]:
    # nginx picks the longest matching prefix whatever the order; longest first reads the same.
    located: list[tuple[str, list[str]]] = []
    for r in routes:
        located.append((r.route, _location(r.route, r.upstream, _limit(requests))))
        for path in r.login_paths:
            located.append((path, _location(path, r.upstream, _limit(login))))
        for path in r.metrics_paths:
            access = [*(f"allow {n};" for n in networks), "deny all;"]
            located.append((path, _location(path, r.upstream, *access, _limit(requests))))
    located.sort(key=lambda item: (-len(item[0]), item[0]))
    return [line for _, block in located for line in block]


def _server(*lines: str) -> list[str]:
    return ["server {", *(f"    {line}" for line in lines), "}"]


def _acme() -> str:
    return f"location /.well-known/acme-challenge/ {{ root {ACME_WEBROOT}; }}"


def render_nginx_conf(
    services: Sequence[ServiceSpec],
    *,
    domain: str,
    tls_mode: TlsMode,
    worker_processes: int = 1,
    internal_networks: Sequence[str] = INTERNAL_NETWORKS,
    request_limit: RateLimit = REQUEST_LIMIT,
    login_limit: RateLimit = LOGIN_LIMIT,
) -> str:
    """The whole nginx.conf.

    Public side: the configured domain routes to the catalogue's routed services (over TLS unless
    `tls_mode` is "none", with HTTP redirected to https on the same path); every other name is
    refused (444 on port 80, a refused handshake on 443). Login paths are rate-limited harder than
    the rest; metrics paths answer `internal_networks` only. Internal side: a server on
    STATUS_PORT with /healthz (the container's health check) and /stub_status (the exporter).
    The public servers also answer the edge's own internal name on port 80, because certbot probes
    the ACME webroot through it (assets/certbot/certbot-loop.sh: http://nginx).

    Raises ValueError when any value would not fit the file's syntax.
    """
    domain = validate_host_name(domain)
    if tls_mode not in ("letsencrypt", "provided", "none"):
        raise ValueError(f"tls_mode: {tls_mode!r} is not letsencrypt, provided or none")
    workers = _positive(worker_processes, "worker_processes", 64)
    networks = _networks(internal_networks)
    requests, login = _rate_limit(request_limit), _rate_limit(login_limit)
    if requests.zone == login.zone:
        raise ValueError(f"rate limits: both use zone {requests.zone!r}")
    routes = _routes(services)
    aliases = [validate_host_name(dns_name(s.name), f"{s.name}.name") for s in services if s.public]
    http_names = " ".join(dict.fromkeys([domain, *aliases]))
    locations = _route_locations(routes, networks, requests, login)
    app = ["client_max_body_size 10m;", *locations]

    if tls_mode == "none":
        public = [
            *_server(
                "listen 80;",
                f"server_name {http_names};",
                *_headers(hsts=False),
                _acme(),
                *app,
            )
        ]
    else:
        cert, key = certificate_paths(tls_mode, domain)
        public = [
            *_server(
                "listen 80;",
                f"server_name {http_names};",
                *_headers(hsts=False),
                _acme(),
                # The configured name, never $host: the redirect must not point where the
                # client said it was going.
                f"location / {{ return 301 https://{domain}$request_uri; }}",
            ),
            *_server(
                # No certificate here: the handshake of any name but the domain is refused.
                "listen 443 ssl default_server;",
                "server_name _;",
                "ssl_reject_handshake on;",
                *_headers(hsts=True),
                # A client that shook hands for the domain and then asks for another name
                # lands here; without this it would get nginx's built-in static root.
                "return 421;",
            ),
            *_server(
                "listen 443 ssl;",
                "http2 on;",
                f"server_name {domain};",
                f"ssl_certificate {cert};",
                f"ssl_certificate_key {key};",
                *_headers(hsts=True),
                *app,
            ),
        ]
    default_http = _server("listen 80 default_server;", "server_name _;", "return 444;")
    status = _server(
        f"listen {STATUS_PORT};",
        "access_log off;",
        "location = /healthz { return 200 'ok'; }",
        "location = /stub_status {",
        "    stub_status;",
        *(f"    allow {n};" for n in networks),
        "    deny all;",
        "}",
    )
    rate = f"{requests.rate}r/{requests.per}"
    login_rate = f"{login.rate}r/{login.per}"
    http = [
        "include /etc/nginx/mime.types;",
        "default_type application/octet-stream;",
        "server_tokens off;",
        "access_log /dev/stdout;",
        "error_log /dev/stderr warn;",
        f"resolver {RESOLVER} valid=10s ipv6=off;",
        "map $http_upgrade $connection_upgrade { default upgrade; '' close; }",
        f"ssl_protocols {' '.join(TLS_PROTOCOLS)};",
        f"ssl_ciphers {':'.join(TLS12_CIPHERS)};",
        f"ssl_ecdh_curve {':'.join(TLS_CURVES)};",
        "ssl_prefer_server_ciphers off;",
        f"ssl_session_cache {TLS_SESSION_CACHE};",
        f"ssl_session_timeout {TLS_SESSION_TIMEOUT};",
        # Ticket keys would live for the process's lifetime and undo forward secrecy.
        "ssl_session_tickets off;",
        f"limit_req_zone $binary_remote_addr zone={requests.zone}:10m rate={rate};",
        f"limit_req_zone $binary_remote_addr zone={login.zone}:10m rate={login_rate};",
        "limit_req_status 429;",
        # The edge is the one source of these headers: an upstream's own copy would be sent
        # twice, and browsers honour only the first Strict-Transport-Security.
        *(
            f"proxy_hide_header {name};"
            for name in ("Strict-Transport-Security", *(n for n, _ in SECURITY_HEADERS))
        ),
        *public,
        *default_http,
        *status,
    ]
    return "\n".join(
        [
            f"worker_processes {workers};",
            "pid /var/run/nginx.pid;",
            "events { worker_connections 1024; }",
            "http {",
            *(f"    {line}" for line in http),
            "}",
            "",
        ]
    )


def stack_nginx_conf(config: StackConfig, specs: Sequence[ServiceSpec]) -> str:
    """The stack's nginx.conf: metrics and stub_status served only to nginx's own loopback and
    the stack's internal network."""
    return render_nginx_conf(
        specs,
        domain=config.domain,
        tls_mode=config.tls.mode,
        internal_networks=("127.0.0.1/32", str(config.subnet)),
    )
