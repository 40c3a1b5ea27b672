"""nginx.conf rendered from the catalogue: its structure, its TLS and limits, and that no value can
change its structure. tests/consumers/test_nginx_edge.py runs it in the real nginx."""

from __future__ import annotations

import re

import pytest

from model.catalogue import CATALOGUE, MetricsEndpoint, ServiceSpec
from render.nginx import (
    INTERNAL_NETWORKS,
    LOGIN_LIMIT,
    REQUEST_LIMIT,
    RateLimit,
    certificate_paths,
    public_path,
    render_nginx_conf,
    validate_host_name,
)

DOMAIN = "invest.example.com"


def tls_conf() -> str:
    return render_nginx_conf(CATALOGUE, domain=DOMAIN, tls_mode="provided")


def blocks(conf: str, header: str) -> list[str]:
    """The text of every block whose opening line starts with `header` (braces balanced)."""
    found = []
    for match in re.finditer(r"(?m)^\s*" + re.escape(header) + r"[^{;]* \{", conf):
        depth, i = 0, match.end() - 1
        while True:
            depth += {"{": 1, "}": -1}.get(conf[i], 0)
            i += 1
            if depth == 0:
                break
        found.append(conf[match.start() : i].strip())
    return found


def locations(conf: str) -> dict[str, str]:
    return {
        re.match(r"location ([^{]+) \{", b).group(1): b  # type: ignore[union-attr]
        for b in blocks(conf, "location /")
        if "\n" in b
    }


def test_routes_come_from_the_catalogue_longest_prefix_first():
    conf = tls_conf()
    order = [conf.index(f"location {p} {{\n") for p in ("/grafana/", "/api/", "/")]
    assert order == sorted(order)
    assert "set $upstream http://backend:8000;" in conf
    assert "set $upstream http://grafana:3000;" in conf
    assert "set $upstream http://frontend:8080;" in conf
    assert "ssl_certificate /etc/nginx/generated/tls/tls.crt;" in conf


def test_plain_http_for_dev_has_no_tls():
    conf = render_nginx_conf(CATALOGUE, domain="localhost", tls_mode="none")
    assert "ssl_certificate" not in conf
    assert "listen 443" not in conf
    assert "return 301" not in conf
    assert "Strict-Transport-Security" not in conf.replace("proxy_hide_header Strict", "")
    assert "server_name localhost nginx;" in conf


def test_internal_status_server_for_health_and_exporter():
    conf = render_nginx_conf(CATALOGUE, domain="x", tls_mode="letsencrypt")
    (status,) = [b for b in blocks(conf, "server") if "listen 8081;" in b]
    assert "location = /healthz { return 200 'ok'; }" in status
    stub = status[status.index("location = /stub_status") :]
    assert re.findall(r"(allow|deny) (\S+);", stub) == [
        *(("allow", n) for n in INTERNAL_NETWORKS),
        ("deny", "all"),
    ]
    assert "ssl_certificate /etc/letsencrypt/live/x/fullchain.pem;" in conf


def test_mozilla_intermediate_tls():
    conf = tls_conf()
    for line in (
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
        "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;",
        "ssl_ecdh_curve X25519:prime256v1:secp384r1;",
        "ssl_prefer_server_ciphers off;",
        "ssl_session_cache shared:MozSSL:10m;",
        "ssl_session_timeout 1d;",
        "ssl_session_tickets off;",
        'add_header Strict-Transport-Security "max-age=63072000" always;',
    ):
        assert f"    {line}\n" in conf, line
    assert "31536000" not in conf
    assert "ssl_stapling" not in conf  # Let's Encrypt ended OCSP in August 2025


def test_servers_the_domain_refuses_other_names_and_redirects_to_itself():
    servers = blocks(tls_conf(), "server")
    assert [re.findall(r"listen ([^;]+);", s) for s in servers] == [
        ["80"],
        ["443 ssl default_server"],
        ["443 ssl"],
        ["80 default_server"],
        ["8081"],
    ]
    http, reject, https, default_http, _ = servers
    assert f"server_name {DOMAIN} nginx;" in http
    assert f"location / {{ return 301 https://{DOMAIN}$request_uri; }}" in http
    assert "$host$request_uri" not in tls_conf()
    assert "ssl_reject_handshake on;" in reject
    assert "return 421;" in reject
    assert "ssl_certificate" not in reject
    assert f"server_name {DOMAIN};" in https
    assert "http2 on;" in https
    assert "return 444;" in default_http


def test_security_headers_on_every_server_and_never_in_a_location():
    """A location with its own add_header drops the server's, so none may have one."""
    headers = [
        'add_header X-Content-Type-Options "nosniff" always;',
        'add_header X-Frame-Options "SAMEORIGIN" always;',
        'add_header Referrer-Policy "strict-origin-when-cross-origin" always;',
    ]
    for conf in (tls_conf(), render_nginx_conf(CATALOGUE, domain="localhost", tls_mode="none")):
        for server in blocks(conf, "server"):
            if "return 444;" in server or "listen 8081;" in server:
                continue
            for header in headers:
                assert header in server, server
        for location in locations(conf).values():
            assert "add_header" not in location
        for name in ("Strict-Transport-Security", "X-Frame-Options", "Referrer-Policy"):
            assert f"    proxy_hide_header {name};\n" in conf


def test_rate_limits_every_route_and_harder_on_login_paths():
    conf = tls_conf()
    assert "limit_req_zone $binary_remote_addr zone=requests:10m rate=20r/s;" in conf
    assert "limit_req_zone $binary_remote_addr zone=login:10m rate=6r/m;" in conf
    assert "limit_req_status 429;" in conf
    found = locations(conf)
    limits = {
        path: re.findall(r"limit_req zone=(\w+) burst=(\d+) nodelay;", b)
        for path, b in found.items()
    }
    assert limits == {
        "/api/metrics/cost": [("requests", "50")],
        "/grafana/metrics": [("requests", "50")],
        "/grafana/login": [("login", "5")],
        "/api/metrics": [("requests", "50")],
        "/api/auth/login": [("login", "5")],
        "/grafana/": [("requests", "50")],
        "/api/": [("requests", "50")],
        "/": [("requests", "50")],
    }
    assert (LOGIN_LIMIT.rate, LOGIN_LIMIT.per, LOGIN_LIMIT.burst) == (6, "m", 5)
    assert (REQUEST_LIMIT.rate, REQUEST_LIMIT.per, REQUEST_LIMIT.burst) == (20, "s", 50)


def test_limits_can_be_tuned():
    conf = render_nginx_conf(
        CATALOGUE,
        domain=DOMAIN,
        tls_mode="provided",
        login_limit=RateLimit(zone="auth", rate=3, per="m", burst=2),
    )
    assert "limit_req_zone $binary_remote_addr zone=auth:10m rate=3r/m;" in conf
    assert "limit_req zone=auth burst=2 nodelay;" in locations(conf)["/api/auth/login"]


def test_metrics_paths_answer_internal_networks_only():
    found = locations(tls_conf())
    for path in ("/api/metrics", "/api/metrics/cost", "/grafana/metrics"):
        assert re.findall(r"(allow|deny) (\S+);", found[path]) == [
            *(("allow", n) for n in INTERNAL_NETWORKS),
            ("deny", "all"),
        ]
    for path in ("/api/", "/grafana/", "/", "/api/auth/login", "/grafana/login"):
        assert "deny" not in found[path]


def test_internal_networks_can_be_narrowed_to_the_stack_subnet():
    conf = render_nginx_conf(
        CATALOGUE,
        domain=DOMAIN,
        tls_mode="provided",
        internal_networks=("127.0.0.1/32", "172.30.0.0/24"),
    )
    assert re.findall(r"allow (\S+);", locations(conf)["/api/metrics"]) == [
        "127.0.0.1/32",
        "172.30.0.0/24",
    ]


def test_public_path_of_metrics_follows_how_the_service_is_routed():
    by_name = {s.name: s for s in CATALOGUE}
    assert public_path(by_name["backend"], "/api/metrics") == "/api/metrics"
    # Grafana serves itself from its sub-path, so its /metrics is public as /grafana/metrics.
    assert public_path(by_name["grafana"], "/metrics") == "/grafana/metrics"


def _routed(**fields: object) -> ServiceSpec:
    """A new routed service. model_copy skips validation: the renderer must hold even when the
    model's own validation did not run."""
    backend = next(s for s in CATALOGUE if s.name == "backend")
    return backend.model_copy(
        update={
            "name": "market_feed",
            "port": 9400,
            "route": "/feed/",
            "login_paths": ("/feed/login",),
            "metrics": (
                MetricsEndpoint(job="feed", port=9400),
                MetricsEndpoint(job="x", port=9999),
            ),
            **fields,
        }
    )


def test_a_new_routed_service_gets_its_route_login_and_metrics_locations():
    found = locations(render_nginx_conf((*CATALOGUE, _routed()), domain=DOMAIN, tls_mode="none"))
    assert "set $upstream http://market-feed:9400;" in found["/feed/"]
    assert "limit_req zone=login burst=5 nodelay;" in found["/feed/login"]
    assert "deny all;" in found["/feed/metrics"]
    # The endpoint on another port is not reachable through the edge, so it gets no location.
    assert [p for p in found if p.startswith("/feed")] == ["/feed/metrics", "/feed/login", "/feed/"]


HOSTILE_DOMAINS = [
    "invest.example.com; } server { listen 80; location / { proxy_pass http://prometheus:9090; }",
    "a;b",
    "x{",
    "x}",
    "invest.example.com\n",
    "invest.example.com ",
    " invest.example.com",
    "invest example.com",
    "$host",
    "ex'ample.com",
    'ex"ample.com',
    "a/b",
    "a#b",
    "",
    ".",
    "invest.example.com.",
    ".invest.example.com",
    "a..b",
    "-invest.example.com",
    "invest-.example.com",
    "under_score.example.com",
    "é.example.com",
    "a" * 64 + ".com",
    ".".join(["a" * 60] * 5),
]


@pytest.mark.parametrize("domain", HOSTILE_DOMAINS)
def test_a_domain_that_is_not_a_host_name_is_refused(domain: str):
    message = f"domain: {domain!r} is not a host name (RFC 1123"
    with pytest.raises(ValueError, match=r"^" + re.escape(message)):
        render_nginx_conf(CATALOGUE, domain=domain, tls_mode="provided")
    with pytest.raises(ValueError, match=r"^" + re.escape(message)):
        certificate_paths("letsencrypt", domain)


@pytest.mark.parametrize("value", [None, 42, b"invest.example.com"])
def test_a_domain_that_is_not_text_is_refused(value: object):
    with pytest.raises(ValueError, match=r"^domain: .* is not a host name"):
        validate_host_name(value)


@pytest.mark.parametrize(
    "domain", ["localhost", "invest.example.com", "INVEST.Example.com", "1a.b-c.example", "x"]
)
def test_host_names_are_accepted(domain: str):
    assert f"server_name {domain};" in render_nginx_conf(
        CATALOGUE, domain=domain, tls_mode="letsencrypt"
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"route": "/api/ { allow all; } location /x/"}, "market_feed.route: "),
        ({"route": "/feed/;"}, "market_feed.route: "),
        ({"route": "feed/"}, "market_feed.route: "),
        ({"route": "/feed/../"}, "market_feed.route: "),
        ({"login_paths": ("/feed/login { }",)}, "market_feed.login_paths: "),
        (
            {"login_paths": ("/other/login",)},
            "market_feed.login_paths: '/other/login' is not under",
        ),
        ({"login_paths": ("/feed/",)}, "market_feed: path '/feed/' is also routed by market_feed"),
        (
            {"route": "/api/", "login_paths": ()},
            "market_feed: path '/api/' is also routed by backend",
        ),
        (
            {"metrics": (MetricsEndpoint(job="feed", port=9400, path="/m;x"),)},
            "market_feed.metrics: ",
        ),
        ({"port": 0}, "market_feed.port: 0 is not a positive whole number"),
        ({"port": 70000}, "market_feed.port: 70000 is above 65535"),
        ({"port": None}, "market_feed: a routed service needs both route and port"),
        ({"name": "feed;x"}, "feed;x.name: 'feed;x' is not a host name"),
    ],
)
def test_catalogue_values_that_would_change_the_structure_are_refused(
    fields: dict[str, object], message: str
):
    with pytest.raises(ValueError, match=r"^" + re.escape(message)):
        render_nginx_conf((*CATALOGUE, _routed(**fields)), domain=DOMAIN, tls_mode="provided")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tls_mode": "plain"}, "tls_mode: 'plain' is not letsencrypt, provided or none"),
        ({"worker_processes": 0}, "worker_processes: 0 is not a positive whole number"),
        ({"worker_processes": True}, "worker_processes: True is not a positive whole number"),
        ({"worker_processes": "2; user root"}, "worker_processes: '2; user root' is not"),
        ({"internal_networks": ("0.0.0.0/0; allow all",)}, "internal_networks: '0.0.0.0/0; allow"),
        ({"internal_networks": ("10.0.0.1/8",)}, "internal_networks: '10.0.0.1/8' is not"),
        ({"internal_networks": ()}, "internal_networks: at least one network is needed"),
        (
            {"request_limit": RateLimit(zone="a b", rate=1, per="s", burst=1)},
            "rate limit: RateLimit(zone='a b'",
        ),
        (
            {"request_limit": RateLimit(zone="r", rate=0, per="s", burst=1)},
            "rate limit r: rate: 0 is not a positive whole number",
        ),
        (
            {"login_limit": RateLimit(zone="l", rate=1, per="h", burst=1)},  # type: ignore[arg-type]
            "rate limit l: per must be 's' or 'm', not 'h'",
        ),
        (
            {"login_limit": RateLimit(zone="requests", rate=1, per="m", burst=1)},
            "rate limits: both use zone 'requests'",
        ),
    ],
)
def test_other_inputs_that_would_change_the_structure_are_refused(
    kwargs: dict[str, object], message: str
):
    args: dict[str, object] = {"domain": DOMAIN, "tls_mode": "provided", **kwargs}
    with pytest.raises(ValueError, match=r"^" + re.escape(message)):
        render_nginx_conf(CATALOGUE, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize("tls_mode", ["letsencrypt", "provided", "none"])
def test_every_brace_opens_and_closes_on_a_line_of_its_own_kind(tls_mode: str):
    """The file's skeleton: balanced braces, one directive or block per line, nothing after a
    closing brace."""
    conf = render_nginx_conf(CATALOGUE, domain=DOMAIN, tls_mode=tls_mode)  # type: ignore[arg-type]
    depth = 0
    for line in conf.splitlines():
        depth += line.count("{") - line.count("}")
        assert depth >= 0, line
        stripped = line.strip()
        assert stripped.endswith((";", "{", "}")), line
    assert depth == 0
