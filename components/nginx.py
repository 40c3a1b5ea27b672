"""nginx's configuration, rendered from the catalogue's routes: a pure function, no Pulumi."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from components.catalogue import ServiceSpec, dns_name

STATUS_PORT = 8081
CONFIG_PATH = "/etc/nginx/generated/nginx.conf"
CERT_DIR = "/etc/nginx/generated/tls"


def certificate_paths(
    mode: Literal["letsencrypt", "provided", "none"], domain: str
) -> tuple[str, str]:
    """Where nginx reads the certificate and key for the TLS mode."""
    if mode == "letsencrypt":
        return (
            f"/etc/letsencrypt/live/{domain}/fullchain.pem",
            f"/etc/letsencrypt/live/{domain}/privkey.pem",
        )
    return (f"{CERT_DIR}/tls.crt", f"{CERT_DIR}/tls.key")


def _location(spec: ServiceSpec) -> str:
    if spec.route is None or spec.port is None:
        raise ValueError(f"{spec.name}: a routed service needs both route and port")
    upstream = f"http://{dns_name(spec.name)}:{spec.port}"
    # The API and Grafana keep their prefix (Grafana serves from its sub-path); "/" is the UI.
    return "\n".join(
        [
            f"        location {spec.route} {{",
            f"            set $upstream {upstream};",
            "            proxy_pass $upstream;",
            "            proxy_set_header Host $host;",
            "            proxy_set_header X-Real-IP $remote_addr;",
            "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "            proxy_set_header X-Forwarded-Proto $scheme;",
            "            proxy_http_version 1.1;",
            "            proxy_set_header Upgrade $http_upgrade;",
            "            proxy_set_header Connection $connection_upgrade;",
            "        }",
        ]
    )


def render_nginx_conf(
    services: Sequence[ServiceSpec],
    *,
    domain: str,
    tls_mode: Literal["letsencrypt", "provided", "none"],
    worker_processes: int = 1,
) -> str:
    """The whole nginx.conf: public server(s) routing to the catalogue's routed services, plus an
    internal server on STATUS_PORT with /healthz and /stub_status for the health check and exporter.
    """
    routed = sorted(
        (s for s in services if s.route is not None), key=lambda s: len(s.route or ""), reverse=True
    )
    locations = "\n".join(_location(s) for s in routed)
    common = [
        "        client_max_body_size 10m;",
        "        location /.well-known/acme-challenge/ { root /var/www/certbot; }",
        locations,
    ]
    if tls_mode == "none":
        public = "\n".join(
            [
                "    server {",
                "        listen 80;",
                f"        server_name {domain};",
                *common,
                "    }",
            ]
        )
    else:
        cert, key = certificate_paths(tls_mode, domain)
        public = "\n".join(
            [
                "    server {",
                "        listen 80;",
                f"        server_name {domain};",
                "        location /.well-known/acme-challenge/ { root /var/www/certbot; }",
                "        location / { return 301 https://$host$request_uri; }",
                "    }",
                "    server {",
                "        listen 443 ssl;",
                "        http2 on;",
                f"        server_name {domain};",
                f"        ssl_certificate {cert};",
                f"        ssl_certificate_key {key};",
                "        ssl_protocols TLSv1.2 TLSv1.3;",
                "        ssl_session_cache shared:TLS:5m;",
                '        add_header Strict-Transport-Security "max-age=31536000" always;',
                *common,
                "    }",
            ]
        )
    return "\n".join(
        [
            f"worker_processes {worker_processes};",
            "pid /var/run/nginx.pid;",
            "events { worker_connections 1024; }",
            "http {",
            "    include /etc/nginx/mime.types;",
            "    server_tokens off;",
            "    access_log /dev/stdout;",
            "    error_log /dev/stderr warn;",
            # Docker's embedded DNS, so upstreams resolve at request time and nginx starts even
            # when a backend container is being replaced.
            "    resolver 127.0.0.11 valid=10s ipv6=off;",
            "    map $http_upgrade $connection_upgrade { default upgrade; '' close; }",
            public,
            "    server {",
            f"        listen {STATUS_PORT};",
            "        access_log off;",
            "        location = /healthz { return 200 'ok'; }",
            "        location = /stub_status {",
            "            stub_status;",
            "            allow 127.0.0.1;",
            "            allow 10.0.0.0/8;",
            "            allow 172.16.0.0/12;",
            "            allow 192.168.0.0/16;",
            "            deny all;",
            "        }",
            "    }",
            "}",
            "",
        ]
    )
