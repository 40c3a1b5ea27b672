"""The edge, live: the real nginx runs the rendered nginx.conf and is probed with curl, openssl
s_client and wget, the way browsers, attackers, certbot, Docker and the exporter reach it.

Everything runs in a network namespace of its own (tests/support/netns.py): nginx with the
container's exact command (catalogue `nginx.command`, so its certificate-reload loop too) on ports
80, 443 and 8081; fake upstreams (tests/support/upstream.py) at the routed services' internal
names and ports; a DNS responder (tests/support/dns.py) at 127.0.0.11:53, the resolver the config
names, answering those names as Docker's embedded DNS would. Clients come from addresses on the
namespace's loopback: 203.0.113.x are the internet, 172.30.0.x the internal network, and
198.51.100.1 is the VPS's public address.

Files sit where the config says they are, through a private mount namespace per process: the
rendered file at /etc/nginx/generated/nginx.conf, the provided certificate at
/etc/nginx/generated/tls/, the Let's Encrypt one at /etc/letsencrypt/live/<domain>/ (a directory
bound over /etc/letsencrypt: the letsencrypt path is covered by the mount namespace, not by
rendering another path), the ACME webroot at /var/www/certbot, and a tmpfs on /run for the pid
file, as the container's tmpfs on /var/run. A missing mount point is created for the test and
removed after it.

nginx versions: the image pins 1.27.4 and Debian ships 1.22.1, which predates the `http2`
directive (1.25.1). The config stays modern (`http2 on;`) and this test transforms exactly that
one known difference for an older binary: `listen 443 ssl;` followed by `http2 on;` becomes
`listen 443 ssl http2;`, the pre-1.25.1 spelling of the same thing. Nothing else is changed.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from model.catalogue import CATALOGUE, dns_name
from render.nginx import (
    HSTS_MAX_AGE_S,
    LOGIN_LIMIT,
    REQUEST_LIMIT,
    SECURITY_HEADERS,
    STATUS_PORT,
    RateLimit,
    TlsMode,
    certificate_paths,
    public_path,
    render_nginx_conf,
)
from tests.consumers.conftest import PROBES, container_env, healthcheck_argv, sample, spec
from tests.support.netns import Namespace, namespace, wait_until
from tests.support.tools import ROOT, require_binary

pytestmark = [pytest.mark.consumer, pytest.mark.netns]

DOMAIN = "invest.example.com"
PUBLIC_IP = "198.51.100.1"
NGINX_IP = "172.30.0.20"
INTERNAL_CLIENT = "172.30.0.40"
PROMETHEUS_CLIENT = "172.30.0.41"
UNKNOWN_HOST = "attacker.example"
INTERNET_CLIENTS = [f"203.0.113.{n}" for n in range(10, 110)]
ROUTED = [s for s in CATALOGUE if s.route is not None]
UPSTREAM_IPS = {s.name: f"172.30.0.{31 + i}" for i, s in enumerate(ROUTED)}
# curl connects to the VPS's public address whatever name it asks for, as DNS would send it there.
RESOLVE = tuple(
    arg
    for name in (f"{DOMAIN}:443", f"{DOMAIN}:80", "localhost:80")
    for arg in ("--resolve", f"{name}:{PUBLIC_IP}")
)
HTTP2_LISTEN = re.compile(r"listen (\S+) ssl;\n(\s*)http2 on;")


def nginx_version(binary: str) -> tuple[int, ...]:
    out = subprocess.run([binary, "-v"], capture_output=True, text=True, check=True).stderr
    match = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    assert match, out
    return tuple(int(g) for g in match.groups())


def for_nginx(conf: str, version: tuple[int, ...]) -> str:
    """The rendered config, with the one known difference transformed for nginx < 1.25.1."""
    if version >= (1, 25, 1):
        return conf
    transformed, count = HTTP2_LISTEN.subn(r"listen \1 ssl http2;", conf)
    assert count == conf.count("http2 on;"), "an http2 directive outside a TLS server"
    return transformed


def test_the_version_transformation_changes_only_the_http2_spelling() -> None:
    conf = render_nginx_conf(CATALOGUE, domain=DOMAIN, tls_mode="provided")
    old = for_nginx(conf, (1, 22, 1))
    assert old.replace("listen 443 ssl http2;", "listen 443 ssl;\n        http2 on;") == conf
    assert "http2 on;" not in old
    assert for_nginx(conf, (1, 27, 4)) == conf


@dataclass
class Response:
    """One HTTP exchange seen by curl: status 0 when no response came (curl_exit says why)."""

    status: int
    headers: list[tuple[str, str]]
    body: str
    http_version: str
    curl_exit: int

    def header(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]


@dataclass
class Edge:
    """A running nginx with its upstreams and DNS, and the probes that reach it."""

    ns: Namespace
    tls_mode: TlsMode
    workdir: Path
    cert: Path
    upstream_log: Path
    webroot: Path
    resolv_conf: Path
    suite: str
    clients: Iterator[str] = field(default_factory=lambda: iter(INTERNET_CLIENTS))

    def client(self) -> str:
        """A fresh internet address: rate limits are per address, so each test has its own."""
        return next(self.clients)

    def curl(
        self,
        url: str,
        *,
        source: str | None,
        host: str | None = None,
        args: tuple[str, ...] = (),
    ) -> Response:
        PROBES[self.suite] += 1
        out = self.workdir / "curl.body"
        head = self.workdir / "curl.headers"
        for f in (out, head):
            f.unlink(missing_ok=True)
        cmd = [
            "curl",
            "-sS",
            "--max-time",
            "10",
            *(("--interface", source) if source else ()),
            *RESOLVE,
            "--cacert",
            str(self.cert),
            "-o",
            str(out),
            "-D",
            str(head),
            "-w",
            "%{http_code} %{http_version}",
            *(("-H", f"Host: {host}") if host else ()),
            *args,
            url,
        ]
        result = self.ns.run(*cmd)
        code, _, version = result.stdout.partition(" ")
        headers = []
        if head.exists():
            for line in head.read_text().splitlines():
                name, sep, value = line.partition(":")
                if sep and not line.startswith("HTTP/"):
                    headers.append((name.strip().lower(), value.strip()))
        body = out.read_text() if out.exists() else ""
        return Response(int(code or 0), headers, body, version, result.returncode)

    def burst(self, url: str, count: int, *, source: str, method: str = "GET") -> list[int]:
        """`count` requests as fast as one keep-alive connection sends them; their statuses."""
        PROBES[self.suite] += 1
        data = ("-X", "POST", "-d", "user=admin&password=guess") if method == "POST" else ()
        result = self.ns.run(
            "curl",
            "-s",
            "--interface",
            source,
            *RESOLVE,
            "--cacert",
            str(self.cert),
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}\n",
            *data,
            f"{url}?attempt=[1-{count}]",
            timeout=300,
        )
        return [int(code) for code in result.stdout.split()]

    def s_client(self, *args: str, servername: str | None = DOMAIN, request: bool = False) -> str:
        """openssl s_client's output. With `request`, it sends one HTTP request and reads until
        the server closes, so messages after the handshake (TLS 1.3 tickets) have arrived."""
        PROBES[self.suite] += 1
        sni = ("-servername", servername) if servername else ("-noservername",)
        send = (
            f"printf 'GET / HTTP/1.1\\r\\nHost: {DOMAIN}\\r\\nConnection: close\\r\\n\\r\\n' | "
            if request
            else ""
        )
        result = self.ns.run(
            "sh",
            "-c",
            send + 'openssl s_client -connect "$0" "$@" 2>&1' + ("" if request else " </dev/null"),
            f"{PUBLIC_IP}:443",
            *sni,
            *(("-ign_eof",) if request else ()),
            *args,
        )
        return result.stdout

    def seen(self, needle: str) -> list[str]:
        """Requests the fake upstreams received whose line contains `needle`."""
        return [line for line in self.upstream_log.read_text().splitlines() if needle in line]


def _start_edge(tmp: Path, tls_mode: TlsMode, suite: str) -> Iterator[Edge]:
    nginx_binary = require_binary("nginx", "/usr/sbin")
    for tool in ("curl", "openssl", "wget"):
        require_binary(tool)
    domain = DOMAIN if tls_mode != "none" else "localhost"
    generated = tmp / "generated"
    (generated / "tls").mkdir(parents=True)
    letsencrypt = tmp / "letsencrypt"
    webroot = tmp / "webroot"
    webroot.mkdir()
    conf = render_nginx_conf(CATALOGUE, domain=domain, tls_mode=tls_mode)
    (generated / "nginx.conf").write_text(for_nginx(conf, nginx_version(nginx_binary)))
    cert = tmp / "cert.pem"
    key = tmp / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "2",
            "-subj", f"/CN={DOMAIN}", "-addext", f"subjectAltName=DNS:{DOMAIN}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    binds = {"/etc/nginx/generated": generated, "/var/www/certbot": webroot}
    if tls_mode == "provided":
        (generated / "tls" / "tls.crt").write_bytes(cert.read_bytes())
        (generated / "tls" / "tls.key").write_bytes(key.read_bytes())
    if tls_mode == "letsencrypt":
        chain, private = certificate_paths("letsencrypt", DOMAIN)
        live = letsencrypt / Path(chain).parent.relative_to("/etc/letsencrypt")
        live.mkdir(parents=True)
        (live / Path(chain).name).write_bytes(cert.read_bytes())
        (live / Path(private).name).write_bytes(key.read_bytes())
        binds["/etc/letsencrypt"] = letsencrypt
    resolv_conf = tmp / "resolv.conf"
    # What Docker writes into a container on a user-defined network.
    resolv_conf.write_text("nameserver 127.0.0.11\noptions ndots:0\n")
    records = {dns_name(s.name): ip for s, ip in zip(ROUTED, UPSTREAM_IPS.values(), strict=True)}
    records[dns_name("nginx")] = NGINX_IP
    addresses = [PUBLIC_IP, NGINX_IP, INTERNAL_CLIENT, PROMETHEUS_CLIENT, *UPSTREAM_IPS.values()]
    addresses += INTERNET_CLIENTS
    with namespace(tmp, addresses) as ns:
        python = sys.executable
        support = ROOT / "tests" / "support"
        ns.start_dns(records)
        upstream_log = tmp / "upstream.log"
        upstream_log.touch()
        upstreams = ns.start(
            "upstreams",
            python,
            str(support / "upstream.py"),
            str(tmp / "upstreams.ready"),
            str(upstream_log),
            *(f"{s.name}={UPSTREAM_IPS[s.name]}:{s.port}" for s in ROUTED),
        )
        wait_until(lambda: (tmp / "upstreams.ready").exists(), "upstreams ready", upstreams)
        nginx_spec = spec("nginx")
        tls_cert_file = certificate_paths(tls_mode, domain)[0] if tls_mode != "none" else ""
        nginx = ns.start(
            "nginx",
            *nginx_spec.command,
            env=container_env(nginx_spec, {"tls_cert_file": tls_cert_file}),
            binds=binds,
            tmpfs=["/run"],
        )
        ns.wait_for_port(NGINX_IP, STATUS_PORT, nginx)
        yield Edge(
            ns=ns,
            tls_mode=tls_mode,
            workdir=tmp,
            cert=cert,
            upstream_log=upstream_log,
            webroot=webroot,
            resolv_conf=resolv_conf,
            suite=suite,
        )
        assert nginx.running(), nginx.output()


@pytest.fixture(scope="module", params=["provided", "letsencrypt"])
def edge(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Edge]:
    """The production edge (TLS), once per certificate source."""
    mode: TlsMode = request.param
    yield from _start_edge(tmp_path_factory.mktemp(f"edge-{mode}"), mode, "nginx edge")


@pytest.fixture(scope="module")
def plain_edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """The dev edge: plain HTTP on localhost."""
    yield from _start_edge(tmp_path_factory.mktemp("edge-none"), "none", "nginx edge")


def https(path: str) -> str:
    return f"https://{DOMAIN}{path}"


def handshake(output: str) -> tuple[str, str]:
    """(protocol, cipher) of an s_client run; ("", "(NONE)") when the handshake failed."""
    match = re.search(r"^New, (\S+), Cipher is (\S+)$", output, re.MULTILINE)
    assert match, output
    protocol, cipher = match.groups()
    return ("" if protocol == "(NONE)" else protocol.rstrip(",")), cipher


def session_ticket_bytes(output: str) -> list[int]:
    """Sizes of the session tickets s_client printed (one per NewSessionTicket received)."""
    sizes = []
    for block in re.findall(r"TLS session ticket:\n((?:    [0-9a-f]{4} - .*\n)+)", output):
        sizes.append(
            sum(
                len(line.split(" - ")[1][:48].replace("-", " ").split())
                for line in block.splitlines()
            )
        )
    return sizes


# TLS: Mozilla intermediate.


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_tls_1_0_and_1_1_are_refused_by_the_server(edge: Edge, version: str) -> None:
    # OpenSSL 3's client refuses these versions itself at its default security level; level 0
    # makes it offer them, so the refusal seen is the server's protocol_version alert.
    out = edge.s_client(version, "-cipher", "DEFAULT:@SECLEVEL=0")
    assert handshake(out) == ("", "(NONE)")
    assert "alert protocol version" in out, out
    assert "SSL alert number 70" in out, out


@pytest.mark.parametrize(
    "cipher",
    [
        "AES128-SHA",  # RSA key exchange (no forward secrecy), CBC
        "AES256-GCM-SHA384",  # RSA key exchange, AEAD
        "ECDHE-RSA-AES128-SHA",  # forward secret, but CBC
        "ECDHE-RSA-AES256-SHA384",  # forward secret, CBC with SHA-384
    ],
)
def test_tls12_suites_without_forward_secrecy_or_aead_are_refused(edge: Edge, cipher: str) -> None:
    out = edge.s_client("-tls1_2", "-cipher", cipher)
    assert handshake(out) == ("", "(NONE)")
    assert "alert handshake failure" in out, out


def test_tls12_ecdhe_aead_and_tls13_are_accepted(edge: Edge) -> None:
    out = edge.s_client("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
    assert handshake(out) == ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    out = edge.s_client("-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305")
    assert handshake(out) == ("TLSv1.2", "ECDHE-RSA-CHACHA20-POLY1305")
    out = edge.s_client("-tls1_3")
    assert handshake(out) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384")


def test_no_stateless_session_tickets(edge: Edge) -> None:
    """TLS 1.2 gets no ticket at all. TLS 1.3 resumption always goes through a ticket message;
    with tickets off OpenSSL sends a 32-byte reference into nginx's session cache instead of the
    session state sealed with a long-lived ticket key (a stateless ticket is ~190 bytes here)."""
    out = edge.s_client("-tls1_2", request=True)
    assert handshake(out)[0] == "TLSv1.2"
    assert "HTTP/1.1 200 OK" in out
    assert "TLS session ticket" not in out, out
    out = edge.s_client("-tls1_3", request=True)
    assert "HTTP/1.1 200 OK" in out
    sizes = session_ticket_bytes(out)
    assert sizes, out
    assert set(sizes) == {32}, out


def test_http2_is_negotiated(edge: Edge) -> None:
    response = edge.curl(https("/api/ping"), source=edge.client())
    assert (response.status, response.http_version) == (200, "2")


# Names: only the configured domain is served.


def test_http_on_the_domain_redirects_to_https_on_the_same_path(edge: Edge) -> None:
    response = edge.curl(f"http://{DOMAIN}/markets/AAPL?range=5y&x=%20y", source=edge.client())
    assert response.status == 301
    assert response.header("location") == [f"https://{DOMAIN}/markets/AAPL?range=5y&x=%20y"]


def test_an_unknown_host_gets_no_answer_on_port_80(edge: Edge) -> None:
    for path in ("/", "/api/ping", "/.well-known/acme-challenge/x"):
        response = edge.curl(f"http://{PUBLIC_IP}{path}", source=edge.client(), host=UNKNOWN_HOST)
        # curl 52: the server closed the connection without a response (nginx's 444).
        assert (response.status, response.curl_exit) == (0, 52), response
    # HTTP/1.0 without any Host header lands on the default server too.
    response = edge.curl(
        f"http://{PUBLIC_IP}/", source=edge.client(), args=("--http1.0", "-H", "Host:")
    )
    assert (response.status, response.curl_exit) == (0, 52), response


@pytest.mark.parametrize("servername", [UNKNOWN_HOST, PUBLIC_IP, None])
def test_an_unknown_name_gets_a_refused_handshake_on_443(
    edge: Edge, servername: str | None
) -> None:
    out = edge.s_client(servername=servername)
    assert handshake(out) == ("", "(NONE)")
    assert "unrecognized name" in out, out
    assert "SSL alert number 112" in out, out


def test_a_known_sni_with_another_host_header_is_misdirected(edge: Edge) -> None:
    response = edge.curl(https("/api/misdirected"), source=edge.client(), host=UNKNOWN_HOST)
    assert response.status == 421
    assert edge.seen("/api/misdirected") == []


def test_certbot_reaches_the_webroot_through_the_internal_name(edge: Edge) -> None:
    """assets/certbot/certbot-loop.sh probes http://nginx/.well-known/acme-challenge/ with
    `wget -q -T 5 -O -` from the certbot container before asking Let's Encrypt (GNU wget here:
    see healthcheck_argv), resolving `nginx` through Docker's DNS."""
    challenge = edge.webroot / ".well-known" / "acme-challenge"
    challenge.mkdir(parents=True, exist_ok=True)
    (challenge / "probe").write_text("token-123\n")
    PROBES[edge.suite] += 1
    result = edge.ns.run(
        require_binary("wget"),
        "-q",
        "-T",
        "5",
        "-O",
        "-",
        "http://nginx/.well-known/acme-challenge/probe",
        binds={"/etc/resolv.conf": edge.resolv_conf},
    )
    assert (result.returncode, result.stdout) == (0, "token-123\n"), result.stderr
    # The domain serves it too (Let's Encrypt's own request).
    response = edge.curl(f"http://{DOMAIN}/.well-known/acme-challenge/probe", source=edge.client())
    assert (response.status, response.body) == (200, "token-123\n")


# Rate limits.


def _check_burst(
    edge: Edge, url: str, limit: RateLimit, count: int, method: str, seen: str
) -> list[int]:
    source = edge.client()
    started = time.monotonic()
    statuses = edge.burst(url, count, source=source, method=method)
    elapsed = time.monotonic() - started
    per_s = limit.rate / (1 if limit.per == "s" else 60)
    passed = statuses.count(200)
    # The first 1 + burst requests of a fresh address always pass; after that the zone refills at
    # its rate, so however slowly this machine sent them, no more than the refill can pass.
    allowed = 1 + limit.burst + math.ceil(elapsed * per_s)
    assert len(statuses) == count
    assert statuses[: 1 + limit.burst] == [200] * (1 + limit.burst)
    assert set(statuses) <= {200, 429}
    assert 1 + limit.burst <= passed <= allowed, (passed, allowed, elapsed)
    assert len(edge.seen(seen)) == passed
    return statuses


def test_login_paths_are_limited_hard_and_answer_429(edge: Edge) -> None:
    statuses = _check_burst(
        edge, https("/api/auth/login"), LOGIN_LIMIT, 300, "POST", "POST /api/auth/login?attempt="
    )
    assert statuses.count(429) > 250


def test_grafana_login_is_limited_like_the_app_login(edge: Edge) -> None:
    _check_burst(
        edge, https("/grafana/login"), LOGIN_LIMIT, 40, "POST", "POST /grafana/login?attempt="
    )


def test_the_api_has_a_burst_then_429(edge: Edge) -> None:
    _check_burst(edge, https("/api/quotes"), REQUEST_LIMIT, 300, "GET", "GET /api/quotes?attempt=")


def test_a_rate_limited_address_does_not_limit_another(edge: Edge) -> None:
    statuses = edge.burst(https("/api/auth/login"), 20, source=edge.client(), method="POST")
    assert 429 in statuses
    assert edge.curl(https("/api/auth/login"), source=edge.client(), args=("-d", "x")).status == 200


def test_only_the_password_endpoint_gets_the_login_limit(edge: Edge) -> None:
    # Session checks and token refreshes under /api/auth/ share the API's budget, not the login's.
    statuses = edge.burst(https("/api/auth/session"), 20, source=edge.client(), method="POST")
    assert statuses == [200] * 20


# Metrics: internal only.

METRICS_PATHS = sorted(
    public_path(s, e.path) for s in ROUTED for e in s.metrics if e.port == s.port
)


def test_the_catalogue_routes_three_metrics_paths() -> None:
    assert METRICS_PATHS == ["/api/metrics", "/api/metrics/cost", "/grafana/metrics"]


@pytest.mark.parametrize(
    "path",
    [
        *METRICS_PATHS,
        # nginx normalises the URI before matching, so these spellings are refused too.
        "/api//metrics",
        "/api/%6detrics",
        "/api/./metrics",
        "/api/x/../metrics/cost",
        "/api/metrics/",
        "/grafana/metrics?format=prometheus",
    ],
)
def test_metrics_are_refused_from_the_internet(edge: Edge, path: str) -> None:
    before = edge.seen("metrics")
    response = edge.curl(https(path), source=edge.client(), args=("--path-as-is",))
    assert response.status == 403
    assert edge.seen("metrics") == before


@pytest.mark.parametrize("path", METRICS_PATHS)
def test_metrics_are_served_to_the_internal_network(edge: Edge, path: str) -> None:
    response = edge.curl(https(path), source=INTERNAL_CLIENT)
    assert response.status == 200
    assert len(edge.seen(f"GET {path}")) >= 1


# Security headers on every response.


def _assert_security_headers(response: Response, *, hsts: bool) -> None:
    for name, value in SECURITY_HEADERS:
        assert response.header(name) == [value], (name, response.headers)
    expected = [f"max-age={HSTS_MAX_AGE_S}"] if hsts else []
    assert response.header("strict-transport-security") == expected, response.headers


def test_security_headers_on_200_404_403_421_and_429(edge: Edge) -> None:
    client = edge.client()
    ok = edge.curl(https("/api/ping"), source=client)
    missing = edge.curl(https("/api/missing"), source=client)
    forbidden = edge.curl(https("/api/metrics"), source=client)
    misdirected = edge.curl(https("/"), source=client, host=UNKNOWN_HOST)
    edge.burst(https("/api/auth/login"), 10, source=client, method="POST")
    limited = edge.curl(https("/api/auth/login"), source=client, args=("-d", "x"))
    assert [r.status for r in (ok, missing, forbidden, misdirected, limited)] == [
        200,
        404,
        403,
        421,
        429,
    ]
    for response in (ok, missing, forbidden, misdirected, limited):
        # The upstream's own Strict-Transport-Security: max-age=1 and frame options are replaced.
        _assert_security_headers(response, hsts=True)


def test_security_headers_on_the_http_redirect(edge: Edge) -> None:
    response = edge.curl(f"http://{DOMAIN}/", source=edge.client())
    assert response.status == 301
    # HSTS means nothing over plain HTTP (RFC 6797 8.1), so it is only sent over TLS.
    _assert_security_headers(response, hsts=False)


# The internal status server: the container's health check and the exporter.


def test_the_health_check_passes_as_docker_runs_it(edge: Edge) -> None:
    argv = healthcheck_argv(spec("nginx"))
    assert argv[1:] == ["-q", "--spider", "-T", "4", "http://127.0.0.1:8081/healthz"]
    PROBES[edge.suite] += 1
    result = edge.ns.run(*argv)
    assert result.returncode == 0, result.stderr


def test_stub_status_is_refused_from_the_internet(edge: Edge) -> None:
    response = edge.curl(f"http://{PUBLIC_IP}:{STATUS_PORT}/stub_status", source=edge.client())
    assert response.status == 403


def test_the_exporter_reads_stub_status_with_the_containers_arguments(edge: Edge) -> None:
    exporter = spec("nginx_exporter")
    assert exporter.command == ("--nginx.scrape-uri=http://nginx:8081/stub_status",)
    binary = require_binary("prometheus-nginx-exporter")
    process = edge.ns.start(
        "nginx-exporter",
        binary,
        *exporter.command,
        env=container_env(exporter, {}),
        binds={"/etc/resolv.conf": edge.resolv_conf},
    )
    edge.ns.wait_for_port("127.0.0.1", exporter.port or 0, process)
    response = edge.curl(f"http://{PROMETHEUS_CLIENT}:{exporter.port}/metrics", source=None)
    assert sample(response.body, "nginx_up") == 1
    assert sample(response.body, "nginx_connections_accepted") >= 1


# The dev edge (plain HTTP).


def test_dev_edge_serves_localhost_over_http_with_headers_and_limits(plain_edge: Edge) -> None:
    client = plain_edge.client()
    response = plain_edge.curl("http://localhost/", source=client)
    assert response.status == 200
    assert '"service": "frontend"' in response.body
    _assert_security_headers(response, hsts=False)
    refused = plain_edge.curl(f"http://{PUBLIC_IP}/api/metrics", source=client, host="localhost")
    assert refused.status == 403
    unknown = plain_edge.curl(f"http://{PUBLIC_IP}/", source=client, host=UNKNOWN_HOST)
    assert (unknown.status, unknown.curl_exit) == (0, 52)
    statuses = plain_edge.burst("http://localhost/api/auth/login", 20, source=client, method="POST")
    assert statuses[: 1 + LOGIN_LIMIT.burst] == [200] * (1 + LOGIN_LIMIT.burst)
    assert 429 in statuses
