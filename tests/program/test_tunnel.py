"""The SSH tunnel the program opens for each deployment, against a real sshd and PostgreSQL.

The far end here is PostgreSQL on the host's loopback instead of a container address; everything
else is what `pulumi up` does: strict host-key checking, the tunnel outliving the program until the
process it watches (the language host) exits, and the search migrations run through it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import psycopg
import pytest

from model.config import load_config, resolve_specs
from model.host import known_hosts_line, pinned_host_key_options
from model.topology import Forward, tunnel_forwards
from program.tunnel import (
    SshTarget,
    TunnelError,
    open_tunnel,
    parse_ssh_target,
    port_open,
    ssh_command,
)
from search import migrator
from tests.search.dataset import create_stocks_table, insert_real_stocks
from tests.support.postgres import PostgresServer
from tests.support.sshd import SshServer, ssh_server, write_client
from tests.support.tools import free_port


def test_ssh_target_from_the_docker_endpoint():
    assert parse_ssh_target("ssh://deploy@vps.example.com:2222") == SshTarget(
        host="vps.example.com", user="deploy", port=2222
    )
    assert parse_ssh_target("ssh://vps.example.com") == SshTarget(host="vps.example.com")
    with pytest.raises(ValueError, match="not an ssh:// endpoint"):
        parse_ssh_target("unix:///var/run/docker.sock")


def test_ssh_command_checks_host_keys_and_ends_options_before_the_host():
    command = ssh_command(
        SshTarget(host="vps.example.com", user="deploy", port=2222),
        [Forward(15432, "172.30.0.10", 5432), Forward(13000, "172.30.0.11", 3000)],
    )
    assert command == [
        "ssh",
        "-N",
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "ExitOnForwardFailure=yes",
        "-o",
        "ServerAliveInterval=15",
        "-o",
        "ServerAliveCountMax=3",
        "-o",
        "ConnectTimeout=15",
        "-L",
        "127.0.0.1:15432:172.30.0.10:5432",
        "-L",
        "127.0.0.1:13000:172.30.0.11:3000",
        "-p",
        "2222",
        "-l",
        "deploy",
        "--",
        "vps.example.com",
    ]
    assert not any("StrictHostKeyChecking=no" in part for part in command)


def test_prod_forwards_postgres_and_grafana_to_their_fixed_addresses():
    config = load_config(
        "prod",
        {
            "images": '{"backend": "ghcr.io/a/b:1.0.0", "frontend": "ghcr.io/a/f:1.0.0"}',
            "dockerHost": "ssh://deploy@vps.example.com",
            "domain": "invest.example.com",
            "tls": '{"mode": "letsencrypt", "email": "ops@example.com"}',
            "database": '{"port": 15432}',
        },
    )
    assert tunnel_forwards(config, resolve_specs(config)) == [
        Forward(15432, "172.30.0.10", 5432),
        Forward(13000, "172.30.0.11", 3000),
    ]


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshServer]:
    with ssh_server() as server:
        yield server


@pytest.fixture
def trusting_client(sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> SshServer:
    monkeypatch.setenv("PATH", f"{sshd.client_bin}:{os.environ['PATH']}")
    return sshd


@pytest.fixture
def watched() -> Iterator[subprocess.Popen[bytes]]:
    """Stands in for the Pulumi language host whose exit ends the tunnel."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield process
    process.kill()
    process.wait()


@pytest.fixture
def app_database(postgres_server: PostgresServer) -> Iterator[str]:
    name = "tunnel_app"
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(postgres_server.dsn(name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_trgm")
        conn.execute("CREATE EXTENSION unaccent")
        create_stocks_table(conn)
        insert_real_stocks(conn)
    yield name
    with psycopg.connect(postgres_server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def migrate_through(server: PostgresServer, database: str, local_port: int) -> None:
    """Run the search migrations through the tunnel's local port and search with them."""
    dsn = server.dsn(database).replace(f"port={server.port}", f"port={local_port}")
    assert migrator.apply(dsn).version >= 4
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM search_stocks('apple')").fetchone()
        assert row is not None
        assert row[0] >= 1


def _wait_closed(port: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not port_open(port):
            return True
        time.sleep(0.2)
    return False


@pytest.mark.sshd
@pytest.mark.postgres
def test_search_migrations_run_through_the_tunnel_which_closes_with_its_watcher(
    trusting_client, watched, postgres_server, app_database
):
    local = free_port()
    target = parse_ssh_target(trusting_client.docker_host)
    tunnel = open_tunnel(
        target, [Forward(local, "127.0.0.1", postgres_server.port)], watch_pid=watched.pid
    )
    try:
        migrate_through(postgres_server, app_database, local)
        # The program has exited long ago; the tunnel stays until its watched process exits.
        assert tunnel.process.poll() is None
        watched.kill()
        watched.wait()
        assert _wait_closed(local), "the tunnel outlived the process it watches"
        tunnel.process.wait(timeout=10)
    finally:
        tunnel.close()


@pytest.mark.sshd
def test_an_unknown_host_key_is_refused(sshd, watched, tmp_path, monkeypatch):
    # A client whose known_hosts holds another key for this host: ssh must refuse, not ask.
    other = tmp_path / "other_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sshd.port} {other.with_suffix('.pub').read_text()}")
    client = tmp_path / "client"
    client.mkdir()
    monkeypatch.setenv("PATH", f"{write_client(client, other, known)}:/usr/bin:/bin")
    with pytest.raises(TunnelError) as excinfo:
        open_tunnel(
            parse_ssh_target(sshd.docker_host),
            [Forward(free_port(), "127.0.0.1", 5432)],
            watch_pid=watched.pid,
        )
    assert str(excinfo.value).startswith("ssh to 127.0.0.1 failed: ")
    assert "Host key verification failed." in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


@pytest.mark.sshd
def test_a_busy_local_port_is_reported_not_stolen(trusting_client, watched):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(TunnelError) as excinfo:
            open_tunnel(
                parse_ssh_target(trusting_client.docker_host),
                [Forward(port, "127.0.0.1", 5432)],
                watch_pid=watched.pid,
            )
    assert str(excinfo.value) == (
        f"127.0.0.1:{port} is already in use; stop whatever listens there (a manual tunnel?) or "
        "choose other ports (database.port, tunnel.grafanaPort)"
    )


@pytest.mark.sshd
@pytest.mark.postgres
def test_the_managed_hosts_pinned_key_alone_opens_the_tunnel_for_the_migrations(
    sshd, watched, postgres_server, app_database, tmp_path, monkeypatch
):
    # A client whose known_hosts is empty: only the pinned key (model/host.py) can vouch for the
    # host, as on a fresh CI runner deploying onto a host the program just created.
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    client = tmp_path / "client"
    client.mkdir()
    monkeypatch.setenv("PATH", f"{write_client(client, sshd.client_key, empty)}:/usr/bin:/bin")
    pinned = pinned_host_key_options(known_hosts_line("127.0.0.1", sshd.host_public_key, sshd.port))
    local = free_port()
    tunnel = open_tunnel(
        parse_ssh_target(sshd.docker_host),
        [Forward(local, "127.0.0.1", postgres_server.port)],
        watch_pid=watched.pid,
        ssh_options=pinned,
    )
    try:
        migrate_through(postgres_server, app_database, local)
    finally:
        tunnel.close()


@pytest.mark.sshd
def test_a_pin_of_another_key_is_refused(sshd, watched, tmp_path, monkeypatch):
    other = tmp_path / "other_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    monkeypatch.setenv("PATH", f"{sshd.client_bin}:/usr/bin:/bin")
    pinned = pinned_host_key_options(
        known_hosts_line("127.0.0.1", other.with_suffix(".pub").read_text(), sshd.port)
    )
    # The pin wins over the client's own known_hosts, which does trust this server.
    with pytest.raises(TunnelError) as excinfo:
        open_tunnel(
            parse_ssh_target(sshd.docker_host),
            [Forward(free_port(), "127.0.0.1", 5432)],
            watch_pid=watched.pid,
            ssh_options=pinned,
        )
    assert "Host key verification failed." in str(excinfo.value)
