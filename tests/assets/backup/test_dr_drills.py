"""docs/DISASTER_RECOVERY.md's drills, run as written against a real PostgreSQL.

Each procedure's ```bash blocks are taken from the document and run, in order, in one bash
process (one operator's terminal: `export PGPASSWORD=...` in one block serves the next). There is
no Docker engine here, so `docker` and `curl` on that PATH are stand-ins (written below), and they
substitute only what has to be substituted; the commands themselves are the document's:

- `docker exec [-e NAME[=VALUE]]... CONTAINER COMMAND...` runs COMMAND on this machine with the
  container's environment. investment-backup: the catalogue's backup environment (PGHOST/PGPORT of
  the test cluster, PGUSER/PGPASSWORD of the backup role, PGDATABASE=investment_db, BACKUP_DIR)
  and only the image's tools on PATH (busybox applets, bash, the PostgreSQL client tools);
  investment-postgres: POSTGRES_PASSWORD and, in place of the image's local trust authentication,
  the superuser's password as PGPASSWORD. `-e NAME` without a value copies NAME from the caller,
  as docker does. In arguments, the container paths /opt/backup/ and /var/lib/postgresql/data
  become the repository's assets/backup/ and the test's backup directory (also in `-e` values).
- `docker cp HOST_PATH CONTAINER:PATH` copies, with the host path /mnt/storagebox (the off-host
  mount) mapped to a test directory and the container path as above.
- `docker stop|start` record the containers (there are none), `docker inspect` prints "healthy",
  `curl` records its URL and succeeds (there is no backend to ask).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.assets.backup.conftest import SCRIPTS
from tests.assets.backup.test_restore_privileges import privilege_state
from tests.support.postgres import (
    PASSWORD,
    PLATFORM_PASSWORDS,
    PlatformCluster,
)
from tests.support.tools import ROOT

pytestmark = pytest.mark.postgres

DOC = ROOT / "docs" / "DISASTER_RECOVERY.md"
CONTAINER_SCRIPTS = "/opt/backup/"
CONTAINER_BACKUPS = "/var/lib/postgresql/data"
OFFHOST = "/mnt/storagebox"

DOCKER_SHIM = r'''#!{python}
"""docker, as far as the drills use it (tests/assets/backup/test_dr_drills.py says what it
substitutes)."""
import json, os, shutil, subprocess, sys

config = json.loads(os.environ["DRILL_CONFIG"])
args = sys.argv[1:]


def record(line):
    with open(config["log"], "a") as log:
        log.write(line + "\n")


def host_path(path):
    for container, local in config["paths"].items():
        if path.startswith(container):
            return local + path[len(container):]
    return path


if not args:
    sys.exit("docker shim: no command")
command, rest = args[0], args[1:]
if command in ("stop", "start"):
    record(f"{{command}} {{' '.join(rest)}}")
    print("\n".join(rest))
    sys.exit(0)
if command == "inspect":
    record(f"inspect {{rest[-1]}}")
    print('"healthy"')
    sys.exit(0)
if command == "cp":
    source, target = rest
    container, _, path = target.partition(":")
    assert container in config["containers"], container
    shutil.copy(host_path(source), host_path(path))
    record(f"cp {{source}} {{target}}")
    sys.exit(0)
if command != "exec":
    sys.exit(f"docker shim: unsupported command {{command}}")
env = {{}}
while rest and rest[0].startswith("-"):
    option = rest.pop(0)
    if option in ("-i", "-t", "-it"):
        continue
    assert option == "-e", option
    name, equals, value = rest.pop(0).partition("=")
    if equals:
        env[name] = host_path(value)
    elif name in os.environ:
        env[name] = os.environ[name]
container, argv = rest[0], rest[1:]
full = {{**config["containers"][container], **env}}
record(f"exec {{container}} {{' '.join(argv)}}")
sys.exit(subprocess.run([host_path(a) for a in argv], env=full).returncode)
'''

CURL_SHIM = """#!/bin/sh
printf 'curl %s\\n' "$*" >> "$DRILL_LOG"
echo '{"status": "ok"}'
"""


def drill_blocks(heading: str) -> list[str]:
    """The ```bash blocks of the section whose heading starts with `heading`, in order, as typed
    (blocks inside list items lose their indentation)."""
    level = len(heading) - len(heading.lstrip("#"))
    blocks: list[str] = []
    inside, fence = False, None
    current: list[str] = []
    for line in DOC.read_text().splitlines():
        stripped = line.strip()
        if fence is not None:
            if stripped == "```":
                if fence == "bash" and inside:
                    blocks.append("\n".join(current))
                fence, current = None, []
            else:
                current.append(stripped)
            continue
        if stripped.startswith("```"):
            fence = stripped[3:]
            continue
        hashes = len(line) - len(line.lstrip("#"))
        if hashes and line[hashes : hashes + 1] == " ":
            if line.startswith(heading):
                inside = True
            elif hashes <= level:
                inside = False
    return blocks


class Host:
    """The Docker host of the drills: the shims, the backup volume, the off-host mount."""

    def __init__(self, root: Path, seeded: PlatformCluster, image_bin: Path) -> None:
        self.root = root
        self.backups = root / "backup-volume"
        self.offhost = root / "storagebox"
        self.log = root / "host.log"
        for path in (self.backups, self.offhost):
            path.mkdir()
        bin_dir = root / "host-bin"
        bin_dir.mkdir()
        server = seeded.server
        common = {"PGHOST": "127.0.0.1", "PGPORT": str(server.port), "LANG": "C.UTF-8"}
        self.config = {
            "log": str(self.log),
            "paths": {
                CONTAINER_SCRIPTS: f"{SCRIPTS}/",
                CONTAINER_BACKUPS: str(self.backups),
                OFFHOST: str(self.offhost),
            },
            "containers": {
                "investment-backup": {
                    **common,
                    "PATH": str(image_bin),
                    "PGUSER": "investment_backup",
                    "PGPASSWORD": PLATFORM_PASSWORDS["backup"],
                    "PGDATABASE": "investment_db",
                    "BACKUP_DIR": str(self.backups),
                },
                "investment-postgres": {
                    **common,
                    "PATH": f"{server.bindir}:/usr/bin:/bin",
                    "POSTGRES_PASSWORD": PASSWORD,
                    "PGPASSWORD": PASSWORD,
                },
            },
        }
        docker = bin_dir / "docker"
        docker.write_text(DOCKER_SHIM.format(python=sys.executable))
        docker.chmod(0o755)
        curl = bin_dir / "curl"
        curl.write_text(CURL_SHIM)
        curl.chmod(0o755)
        self.path = f"{bin_dir}:/usr/bin:/bin"

    def run(self, blocks: list[str]) -> subprocess.CompletedProcess[str]:
        """The blocks, in order, in one `bash -e` (a drill stops at its first failing command)."""
        import json

        script = "set -euo pipefail\n" + "\n".join(blocks) + "\n"
        return subprocess.run(
            ["bash", "-c", script],
            env={
                "PATH": self.path,
                "HOME": str(self.root),
                "DRILL_CONFIG": json.dumps(self.config),
                "DRILL_LOG": str(self.log),
                "DOMAIN": "investment.example",
            },
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            # The operator's working directory: files a drill writes (`tee ...`) land here.
            cwd=self.root,
        )

    def backup(self, **env: str) -> None:
        """A scheduled backup run in the backup container (the drills restore its files)."""
        done = self.run(
            [
                " ".join(["docker exec", *(f"-e {k}={v}" for k, v in env.items())])
                + " investment-backup bash /opt/backup/backup.sh"
            ]
        )
        assert done.returncode == 0, done.stderr

    def history(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def host(tmp_path: Path, seeded: PlatformCluster, image_bin: Path) -> Host:
    return Host(tmp_path, seeded, image_bin)


def _databases(seeded: PlatformCluster) -> list[str]:
    with psycopg.connect(seeded.dsn("postgres")) as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database ORDER BY 1")]


def test_the_document_names_the_real_database_and_every_drill_has_its_blocks():
    text = DOC.read_text()
    assert re.findall(r"\binvestment\b(?![-_])", text) == []
    assert [len(drill_blocks(h)) for h in ("### A.", "### B.", "### C.")] == [1, 6, 2]
    assert len(drill_blocks("## Backing up another database")) == 2


def test_drill_a_restores_a_scratch_copy_and_leaves_production_alone(seeded, host):
    host.backup()
    before = privilege_state(seeded, "investment_db")

    done = host.run(drill_blocks("### A."))

    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "table rows" in out
    assert "public.stocks 28" in out
    # Step 4 prints production's count, then the copy's: equal.
    counts = [line for line in out if line.isdigit()]
    assert counts == ["28", "28"]
    assert "test_restore" not in _databases(seeded)
    assert privilege_state(seeded, "investment_db") == before
    assert "restore: new database 'test_restore': owned by postgres, no one else may connect" in (
        done.stderr
    )


def test_drill_b_replaces_production_and_the_app_keeps_its_privileges(seeded, host):
    host.backup(BACKUP_NOW="1795749300")
    before = privilege_state(seeded, "investment_db")
    with psycopg.connect(seeded.dsn("investment_db", "app")) as app:
        app.execute("DELETE FROM watchlists")

    done = host.run(drill_blocks("### B."))

    assert done.returncode == 0, done.stderr
    # Step 4's check: the app reads stocks and runs search_stocks; Airflow may not connect.
    assert "t|t|f" in done.stdout.splitlines()
    assert privilege_state(seeded, "investment_db") == before
    assert "investment_restored" not in _databases(seeded)
    with psycopg.connect(seeded.dsn("investment_db", "app")) as app:
        assert app.execute("SELECT count(*) FROM watchlists").fetchone() == (2,)
        assert app.execute("SELECT ticker FROM search_stocks('bank')").fetchall() != []
    restored, fresh, kept = sorted(p.name for p in host.backups.glob("*.dump"))
    assert restored == "investment_db-20261127T031500Z.dump"
    assert re.fullmatch(r"investment_db-\d{8}T\d{6}Z\.dump", fresh)  # step 6
    assert re.fullmatch(r"investment_db-before-restore-\d{8}T\d{6}Z\.dump", kept)  # step 2
    writers = (
        "investment-backend investment-celery-worker investment-celery-beat investment-airflow"
    )
    history = host.history()
    assert history.index(f"stop {writers}") < history.index(f"start {writers}")
    assert "curl -fsS https://investment.example/api/health" in history


def test_drill_c_restores_the_off_host_copy_onto_a_new_server(seeded, host, tmp_path):
    # The backup taken on the old host, copied off it, with the name the document uses.
    host.backup(BACKUP_NOW="1795835700")
    name = "investment_db-20261128T031500Z.dump"
    for suffix in ("", ".sha256"):
        (host.backups / f"{name}{suffix}").rename(host.offhost / f"{name}{suffix}")
    before = privilege_state(seeded, "investment_db")
    # The new host after `pulumi up`: the roles, databases and grants, and no data.
    seeded.reset()

    done = host.run(drill_blocks("### C."))

    assert done.returncode == 0, done.stderr
    assert privilege_state(seeded, "investment_db") == before
    with psycopg.connect(seeded.dsn("investment_db", "app")) as app:
        assert app.execute("SELECT ticker FROM search_stocks('apple')").fetchall() == [
            ("AAPL",),
            ("APLE",),
        ]


def test_backing_up_and_restoring_airflow_as_documented(seeded, host):
    before = privilege_state(seeded, "airflow")
    backup_block, restore_block = drill_blocks("## Backing up another database")

    backed_up = host.run([backup_block])
    assert backed_up.returncode == 0, backed_up.stderr
    assert [p.name for p in host.backups.glob("airflow-*.dump")] != []
    assert (host.backups / "airflow.prom").exists()
    with psycopg.connect(seeded.dsn("airflow", "airflow"), autocommit=True) as conn:
        conn.execute("DELETE FROM dag_run")

    restored = host.run([restore_block])

    assert restored.returncode == 0, restored.stderr
    assert "public.dag_run 2" in restored.stdout.splitlines()
    assert privilege_state(seeded, "airflow") == before


def test_a_restore_without_the_superusers_credentials_is_one_line(seeded, host):
    # The tired operator's version of procedure B, step 4: the backup container's own login.
    host.backup()
    before = privilege_state(seeded, "investment_db")

    done = host.run(
        ["docker exec investment-backup bash /opt/backup/restore.sh --force investment_db"]
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.endswith(
        "restore: cannot connect to PostgreSQL as 'investment_backup': connection to server at "
        f'"127.0.0.1", port {seeded.server.port} failed: FATAL:  permission denied for '
        'database "postgres" (a restore needs the superuser\'s credentials: '
        "docs/DISASTER_RECOVERY.md); nothing was changed\n"
    )
    assert privilege_state(seeded, "investment_db") == before
