"""nginx.conf rendered from the catalogue."""

from components.catalogue import CATALOGUE
from components.nginx import render_nginx_conf


def test_routes_come_from_the_catalogue_longest_prefix_first():
    conf = render_nginx_conf(CATALOGUE, domain="invest.example.com", tls_mode="provided")
    order = [conf.index(f"location {p} {{\n            set") for p in ("/grafana/", "/api/", "/")]
    assert order == sorted(order)
    assert "set $upstream http://backend:8000;" in conf
    assert "set $upstream http://grafana:3000;" in conf
    assert "set $upstream http://frontend:8080;" in conf
    assert "ssl_certificate /etc/nginx/generated/tls/tls.crt;" in conf
    assert "return 301 https://$host$request_uri;" in conf


def test_plain_http_for_dev_has_no_tls():
    conf = render_nginx_conf(CATALOGUE, domain="localhost", tls_mode="none")
    assert "ssl_certificate" not in conf
    assert "listen 443" not in conf


def test_internal_status_server_for_health_and_exporter():
    conf = render_nginx_conf(CATALOGUE, domain="x", tls_mode="letsencrypt")
    assert "listen 8081;" in conf
    assert "location = /healthz { return 200 'ok'; }" in conf
    assert "stub_status;" in conf
    assert "ssl_certificate /etc/letsencrypt/live/x/fullchain.pem;" in conf
