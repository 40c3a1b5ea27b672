import psycopg
import pytest

from tests.support.postgres import start_server


def test_postgres_server_accepts_connections(postgres_server):
    with psycopg.connect(postgres_server.dsn()) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
    assert version is not None
    assert int(version[0]) // 10000 == postgres_server.version


def test_destroy_stops_the_cluster_and_removes_its_directory():
    server = start_server()
    root = server.datadir.parent
    assert (root / "data" / "PG_VERSION").is_file()
    server.destroy()
    assert not root.exists()
    with pytest.raises(psycopg.OperationalError, match="Connection refused"):
        psycopg.connect(server.dsn(), connect_timeout=5)
