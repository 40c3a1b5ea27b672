import psycopg


def test_postgres_server_accepts_connections(postgres_server):
    with psycopg.connect(postgres_server.dsn()) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()
    assert version is not None
    assert int(version[0]) // 10000 == postgres_server.version
