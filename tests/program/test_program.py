"""The whole program under the Pulumi SDK's mocks, for dev and prod."""

import json

import pulumi
import pytest

from commands.offline import MASK, ProgramError, load_offline_config, run_program
from components.service import files_fingerprint
from model.catalogue import CATALOGUE, catalogue_by_name
from model.stackcost import stack_cost

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"
PLATFORM_LIMITS = {
    "postgres": (0.75, 384),
    "redis": (0.2, 128),
    "backend": (0.5, 512),
    "celery_worker": (0.75, 512),
    "airflow": (0.5, 512),
}


@pytest.fixture(scope="module")
def prod():
    return run_program("prod")


@pytest.fixture(scope="module")
def dev():
    return run_program("dev")


JOB_LABEL = "com.investment-platform.job"


def labels(container):
    return {entry["label"]: entry["value"] for entry in container.inputs.get("labels") or []}


def containers(result):
    """The long-running service containers by short name (one-shot jobs left out)."""
    return {
        r.inputs["name"].removeprefix("investment-"): r
        for r in result.of_type(CONTAINER)
        if JOB_LABEL not in labels(r)
    }


def jobs(result):
    """The one-shot job containers by short name."""
    return {
        r.inputs["name"].removeprefix("investment-"): r
        for r in result.of_type(CONTAINER)
        if JOB_LABEL in labels(r)
    }


def test_every_catalogue_service_has_a_container(prod, dev):
    # The off-site copy runs only when the stack sets backup.offsite (neither stack file does).
    expected = {s.name.replace("_", "-") for s in CATALOGUE if s.requires_setting is None}
    assert set(containers(prod)) == expected
    # certbot only exists with Let's Encrypt; dev serves plain HTTP.
    assert set(containers(dev)) == expected - {"certbot"}


def test_prod_uses_exactly_the_platform_limits(prod):
    by_name = containers(prod)
    for service, (cpus, memory) in PLATFORM_LIMITS.items():
        c = by_name[service.replace("_", "-")].inputs
        assert (float(c["cpus"]), c["memory"]) == (cpus, memory), service
        assert c["memorySwap"] == memory, service


def test_dev_limits_never_exceed_prod(prod, dev):
    p, d = containers(prod), containers(dev)
    for name in d:
        assert float(d[name].inputs["cpus"]) <= float(p[name].inputs["cpus"]), name
        assert d[name].inputs["memory"] <= p[name].inputs["memory"], name
    assert d["postgres"].inputs["memory"] == 320


def test_containers_are_hardened_and_health_checked(prod):
    for name, c in containers(prod).items():
        i = c.inputs
        assert i["healthcheck"]["tests"][0] in {"CMD", "CMD-SHELL"}, name
        assert i["healthcheck"]["retries"] == 3, name
        assert i["restart"] == "unless-stopped", name
        assert i["wait"] is True, name
        assert i["logDriver"] == "json-file", name
        assert i["logOpts"] == {"max-size": "10m", "max-file": "3"}, name
        assert i["securityOpts"] == ["no-new-privileges:true"], name
        labels = {lbl["label"]: lbl["value"] for lbl in i["labels"]}
        assert labels["com.investment-platform.service"] == name.replace("-", "_"), name
        assert c.delete_before_replace, name
        # The provider stops a container with a zero timeout unless destroy_grace_seconds is set
        # (kreuzwerker/terraform-provider-docker resource_docker_container_funcs.go, Delete), and
        # Docker uses StopTimeout on `docker stop` and at daemon shutdown.
        grace = catalogue_by_name()[name.replace("-", "_")].stop_grace_s
        assert (i["stopTimeout"], i["destroyGraceSeconds"]) == (grace, grace), name
        if name == "cadvisor":
            assert i["privileged"] is True
        else:
            assert "privileged" not in i, name
            assert i["capabilities"]["drops"] == ["ALL"], name


def test_read_only_root_except_where_documented(prod):
    writable = {n for n, c in containers(prod).items() if not c.inputs["readOnly"]}
    assert writable == {"airflow", "cadvisor"}


def test_health_checks_use_the_binary_the_image_has(prod):
    by_name = containers(prod)
    assert by_name["postgres"].inputs["healthcheck"]["tests"][:2] == ["CMD", "pg_isready"]
    assert by_name["redis"].inputs["healthcheck"]["tests"] == [
        "CMD-SHELL",
        "redis-cli ping | grep -q PONG",
    ]
    assert by_name["prometheus"].inputs["healthcheck"]["tests"][-1] == (
        "http://127.0.0.1:9090/-/healthy"
    )
    assert by_name["grafana"].inputs["healthcheck"]["tests"][-1] == (
        "http://127.0.0.1:3000/api/health"
    )


def test_data_volumes_are_protected_and_retained(prod):
    volumes = {r.inputs["name"]: r for r in prod.of_type(VOLUME)}
    for name in (
        "investment-certbot-certs",
        "investment-postgres-data",
        "investment-redis-data",
        "investment-prometheus-data",
        "investment-grafana-data",
        "investment-backup-data",
    ):
        assert volumes[name].protect, name
        assert volumes[name].retain_on_delete, name
    assert not volumes["investment-celery-beat-schedule"].protect


def test_containers_wait_for_their_dependencies(prod):
    urns = {name: c.urn for name, c in containers(prod).items()}
    deps = {name: set(c.dependencies) for name, c in containers(prod).items()}
    assert {urns["postgres"], urns["redis"]} <= deps["backend"]
    assert {urns["postgres"], urns["redis"]} <= deps["celery-worker"]
    assert {urns["backend"], urns["frontend"], urns["grafana"]} <= deps["nginx"]
    assert urns["postgres"] in deps["airflow"]
    assert not any(u in deps["postgres"] for u in urns.values())


def test_no_elasticsearch_anywhere(prod, dev):
    for result in (prod, dev):
        for r in result.resources:
            assert "elasticsearch" not in repr(r.inputs).lower(), r.name
            assert "elasticsearch" not in r.name.lower()


def test_prod_publishes_only_nginx(prod):
    published = {
        n: [(p["ip"], p["external"], p["internal"]) for p in c.inputs["ports"]]
        for n, c in containers(prod).items()
        if c.inputs.get("ports")
    }
    assert published == {"nginx": [("0.0.0.0", 80, 80), ("0.0.0.0", 443, 443)]}


def test_postgres_has_a_fixed_address_outside_the_dynamic_range(prod):
    network = prod.of_type("docker:index/network:Network")[0].inputs
    assert network["ipamConfigs"] == [
        {"subnet": "172.30.0.0/24", "ipRange": "172.30.0.128/25", "gateway": "172.30.0.1"}
    ]
    (attachment,) = containers(prod)["postgres"].inputs["networksAdvanced"]
    assert attachment["ipv4Address"] == "172.30.0.10"
    assert prod.outputs["postgresAddress"] == "172.30.0.10"
    assert "ipv4Address" not in containers(prod)["redis"].inputs["networksAdvanced"][0]


def test_dev_publishes_on_loopback_only(dev):
    ports = [p for c in containers(dev).values() for p in c.inputs.get("ports") or []]
    assert ports
    assert {p["ip"] for p in ports} == {"127.0.0.1"}
    externals = [p["external"] for p in ports]
    assert len(externals) == len(set(externals))
    pg = containers(dev)["postgres"].inputs["ports"]
    assert [(p["internal"], p["external"]) for p in pg] == [(5432, 5432)]


def test_secrets_are_never_plain_text(prod):
    backend = containers(prod)["backend"]
    # One secret entry makes the whole list secret: Pulumi marks secrets per top-level property.
    assert backend.inputs["envs"] == MASK
    assert "envs" in backend.secret_paths
    envs = backend.unmasked_inputs()["envs"]
    assert (
        "DATABASE_URL=postgresql://investment_app:generated-investment-secrets-app-db-password"
        "@postgres:5432/investment_db"
    ) in envs
    for r in prod.resources:
        assert "generated-" not in repr(r.inputs), r.name


def test_server_settings_follow_the_limits(prod, dev):
    pg = containers(prod)["postgres"].inputs["command"]
    assert "shared_buffers=96MB" in pg
    assert "shared_buffers=80MB" in containers(dev)["postgres"].inputs["command"]
    redis = containers(prod)["redis"].inputs["command"]
    assert "--maxmemory 96mb" in redis[-1]
    assert "WEB_CONCURRENCY=2" in containers(prod)["backend"].unmasked_inputs()["envs"]
    assert "--concurrency=2" in containers(prod)["celery-worker"].inputs["command"]


def test_stateful_services_get_time_to_shut_down_cleanly(prod):
    graces = {n: c.inputs["destroyGraceSeconds"] for n, c in containers(prod).items()}
    assert graces["postgres"] == 60
    assert graces["redis"] == 30
    assert graces["celery-worker"] == 120
    assert min(graces.values()) >= 10


def test_nginx_gets_its_generated_config(prod):
    nginx = containers(prod)["nginx"]
    writer = jobs(prod)["nginx-config-writer"]
    conf = next(
        u["content"] for u in writer.inputs["uploads"] if u["file"] == "/staging/nginx.conf"
    )
    assert "location /api/" in conf
    assert "ssl_certificate /etc/letsencrypt/live/invest.example.com/fullchain.pem;" in conf
    assert "exec nginx -c /etc/nginx/generated/nginx.conf" in nginx.inputs["command"][2]


def test_no_upload_targets_a_read_only_root_filesystem(prod, dev):
    # dockerd refuses any upload into a container whose root filesystem is read-only: the provider
    # extracts every upload at "/" (moby daemon/archive_unix.go checkWritablePath).
    for result in (prod, dev):
        for c in result.of_type(CONTAINER):
            if c.inputs.get("uploads"):
                assert c.inputs["readOnly"] is False, c.inputs["name"]
    assert not any(c.inputs.get("uploads") for c in containers(prod).values())


def test_config_writers_fill_the_volume_the_service_mounts_read_only(prod):
    writers = {n.removesuffix("-config-writer"): w for n, w in jobs(prod).items() if "writer" in n}
    assert set(writers) == {"nginx", "prometheus", "backup", "certbot", "postgres"}
    for name, writer in writers.items():
        service = containers(prod)[name]
        spec = catalogue_by_name()[name]
        volume = f"investment-{name}-config"
        (writer_mount,) = writer.inputs["volumes"]
        assert (writer_mount["volumeName"], writer_mount["containerPath"]) == (volume, "/config")
        mounts = {v.get("volumeName"): v for v in service.inputs["volumes"]}
        assert mounts[volume]["containerPath"] == spec.config_dir
        assert mounts[volume]["readOnly"] is True
        assert all(u["file"].startswith("/staging/") for u in writer.inputs["uploads"])
        assert writer.inputs["networkMode"] == "none"
        assert writer.urn in service.dependencies
        # The files' fingerprint is a label of the service: a changed file replaces the container.
        files = [
            (
                f"{spec.config_dir}/{u['file'].removeprefix('/staging/')}",
                u["permissions"],
                u["content"],
            )
            for u in writer.unmasked_inputs()["uploads"]
        ]
        assert labels(service)["com.investment-platform.job.config"] == files_fingerprint(files)


def test_a_changed_generated_file_changes_the_services_fingerprint(prod):
    changed = run_program("prod", overrides={"backup": {"keepDaily": 5, "schedule": "04:00"}})
    label = "com.investment-platform.job.config"
    before, after = (
        labels(containers(prod)["prometheus"]),
        labels(containers(changed)["prometheus"]),
    )
    # prometheus.yml does not change with the backup schedule; nginx.conf neither.
    assert before[label] == after[label]
    other = run_program("prod", overrides={"domain": "markets.example.org"})
    assert labels(containers(prod)["nginx"])[label] != labels(containers(other)["nginx"])[label]


def test_a_failed_job_stops_the_service_that_needs_it():
    with pytest.raises(ProgramError) as excinfo:
        run_program("prod", extra_outputs={"investment-airflow-migrate": {"exitCode": 1}})
    assert str(excinfo.value) == (
        "investment-airflow-migrate (migrate) exited with code 1, so the service that needs it "
        "was not started; read `docker logs investment-airflow-migrate`, fix the cause, then run "
        "`pulumi up --replace` with the URN of investment-airflow-migrate"
    )
    assert "investment-airflow-container" not in {r.name for r in excinfo.value.resources}


def test_each_container_logs_in_with_the_least_role_it_needs(prod):
    def env(container):
        return dict(e.split("=", 1) for e in container.unmasked_inputs()["envs"])

    owner = "postgresql://investment_owner:generated-investment-secrets-owner-db-password"
    app = "postgresql://investment_app:generated-investment-secrets-app-db-password"
    # The application's migrations create its tables, so they run as the owner role ...
    migrate = jobs(prod)["backend-migrate"]
    assert migrate.inputs["command"] == ["alembic", "upgrade", "head"]
    assert env(migrate)["DATABASE_URL"] == f"{owner}@postgres:5432/investment_db"
    # ... and the backend and the worker run as the runtime role, which may only touch rows.
    for service in ("backend", "celery-worker"):
        assert (
            env(containers(prod)[service])["DATABASE_URL"] == f"{app}@postgres:5432/investment_db"
        )
    assert migrate.urn in containers(prod)["backend"].dependencies
    # The search schema builds on `stocks`, which the migrate job creates before the backend.
    schema = prod.named("investment-database-search-schema")
    assert containers(prod)["backend"].urn in schema.dependencies
    # pg_dump logs in as the read-only backup role, never as the superuser.
    backup = env(containers(prod)["backup"])
    assert backup["PGUSER"] == "investment_backup"
    assert backup["PGPASSWORD"] == "generated-investment-secrets-backup-db-password"
    assert "POSTGRES_PASSWORD" not in backup


def test_one_shot_jobs_run_once_and_are_kept(prod):
    for name, job in jobs(prod).items():
        i = job.inputs
        assert (i["attach"], i["mustRun"], i["restart"]) == (True, False, "no"), name
        assert not {"rm", "wait", "healthcheck"} & set(i), name
        assert float(i["cpus"]) > 0, name
        assert i["memory"] > 0, name
        assert i["securityOpts"] == ["no-new-privileges:true"], name
        assert i["capabilities"]["drops"] == ["ALL"], name


def test_airflow_migrates_its_metadata_database_before_the_scheduler_starts(prod, dev):
    for result in (prod, dev):
        migrate = jobs(result)["airflow-migrate"]
        scheduler = containers(result)["airflow"]
        assert migrate.inputs["command"] == ["db", "migrate"]
        assert migrate.inputs["image"] == scheduler.inputs["image"]
        assert migrate.urn in scheduler.dependencies
        assert containers(result)["postgres"].urn in migrate.dependencies
        assert labels(scheduler)["com.investment-platform.job.migrate"] == "db migrate"
        conn = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://airflow:"
        assert any(e.startswith(conn) for e in migrate.unmasked_inputs()["envs"])


def test_letsencrypt_certbot_shares_certs_and_webroot_with_nginx(prod):
    by_name = containers(prod)
    certbot, nginx = by_name["certbot"].inputs, by_name["nginx"].inputs
    assert certbot["entrypoints"] == ["/bin/sh", "/opt/platform/certbot-loop.sh"]
    assert "DOMAIN=invest.example.com" in by_name["certbot"].unmasked_inputs()["envs"]
    nginx_mounts = {v["containerPath"]: v for v in nginx["volumes"]}
    assert nginx_mounts["/etc/letsencrypt"]["volumeName"] == "investment-certbot-certs"
    assert nginx_mounts["/etc/letsencrypt"]["readOnly"] is True
    assert nginx_mounts["/var/www/certbot"]["volumeName"] == "investment-certbot-webroot"
    assert by_name["certbot"].urn in by_name["nginx"].dependencies


def test_cost_outputs_match_the_cost_model(prod):
    expected = stack_cost(load_offline_config("prod")).as_output()
    assert prod.outputs["cost"] == expected
    assert prod.outputs["cost"]["billedUsd"] == 8.78
    assert prod.outputs["cost"]["billedUsd"] < 50
    # CPU limits total 4.70 on 4 vCPUs, so the CPU part ($5.9382) is shared by limit:
    # 5.9382 x 0.75 / 4.70 + 1.5918 x 384 / 8192 = 0.9476 + 0.0746 = 1.02
    assert prod.outputs["cost"]["services"]["postgres"] == {
        "cpus": 0.75,
        "memoryMib": 384,
        "monthlyUsd": 1.02,
    }


def test_adopted_volumes_are_imported_with_existing_names_and_protected():
    result = run_program(
        "prod", overrides={"adoptVolumes": {"postgres-data": "investment_db_data"}}
    )
    vol = next(r for r in result.of_type(VOLUME) if r.inputs["name"] == "investment_db_data")
    assert vol.import_id == "investment_db_data"
    assert vol.ignore_changes == ["labels", "driverOpts"]
    assert vol.protect
    assert vol.retain_on_delete
    assert "labels" not in vol.inputs


def test_invalid_config_stops_before_any_resource():
    with pytest.raises(ProgramError) as excinfo:
        run_program("prod", overrides={"services": {"backend": {"cpus": -1}}})
    assert str(excinfo.value) == (
        "Pulumi.prod.yaml: investment-platform:services.backend.cpus: "
        "Input should be greater than 0 (got -1)"
    )
    assert excinfo.value.resources == []


def test_prod_commits_the_app_ci_workflow_with_deploy_only_from_main(prod):
    import yaml

    files = {
        r.inputs["file"]: r for r in prod.of_type("github:index/repositoryFile:RepositoryFile")
    }
    assert set(files) == {".github/workflows/ci.yml", ".github/dependabot.yml"}
    ci = files[".github/workflows/ci.yml"].inputs
    assert (ci["repository"], ci["branch"], ci["overwriteOnCreate"]) == ("platform", "main", True)
    workflow = yaml.safe_load(ci["content"])
    assert workflow["jobs"]["deploy"]["if"] == (
        "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    )


def test_invalid_github_settings_stop_before_any_resource():
    with pytest.raises(ProgramError) as excinfo:
        run_program("prod", overrides={"github": {"repository": "no-owner"}})
    assert "investment-platform:github.repository: 'no-owner' is not in owner/name form" in str(
        excinfo.value
    )
    assert excinfo.value.resources == []


def test_backup_job_follows_the_stack_backup_settings(prod):
    backup = containers(prod)["backup"]
    envs = backup.unmasked_inputs()["envs"]
    for entry in (
        "BACKUP_SCHEDULE=03:15",
        "BACKUP_KEEP_DAILY=7",
        "BACKUP_KEEP_WEEKLY=4",
        "BACKUP_OFFHOST_DIR=",
        "BACKUP_DIR=/var/lib/postgresql/data",
    ):
        assert entry in envs
    assert backup.inputs["user"] == "70:70"
    mounts = {v["containerPath"]: v.get("volumeName") for v in backup.inputs["volumes"]}
    assert mounts["/var/lib/postgresql/data"] == "investment-backup-data"
    writer = jobs(prod)["backup-config-writer"]
    modes = {u["file"]: u["permissions"] for u in writer.inputs["uploads"]}
    assert modes["/staging/metrics-http.sh"] == "0755"


OFFSITE_SECRETS = {
    "offsiteEncryptionKey": "test-offsite-key",
    "offsiteAccessKeyId": "test-access",
    "offsiteSecretAccessKey": "test-secret",
}


def test_the_offsite_container_runs_restic_with_the_stack_settings_and_secrets(prod):
    assert "offsite" not in containers(prod)
    result = run_program(
        "prod",
        overrides={
            "backup": {
                "offsite": {
                    "endpoint": "https://fsn1.your-objectstorage.com",
                    "bucket": "acme-backups",
                    "intervalMinutes": 10,
                }
            }
        },
        secrets=OFFSITE_SECRETS,
    )
    offsite = containers(result)["offsite"]
    envs = offsite.unmasked_inputs()["envs"]
    for entry in (
        "RESTIC_REPOSITORY=s3:https://fsn1.your-objectstorage.com/acme-backups/pitr",
        "RESTIC_PASSWORD=test-offsite-key",
        "AWS_ACCESS_KEY_ID=test-access",
        "AWS_SECRET_ACCESS_KEY=test-secret",
        "OFFSITE_INTERVAL_SECONDS=600",
        "PITR_DIR=/backup/pitr",
    ):
        assert entry in envs
    assert offsite.inputs["envs"] == MASK
    assert offsite.inputs["user"] == "70:70"
    mounts = {v["containerPath"]: v.get("volumeName") for v in offsite.inputs["volumes"]}
    assert mounts["/backup"] == "investment-backup-data"
    backup = containers(result)["backup"].unmasked_inputs()["envs"]
    assert "PITR_ENABLED=1" in backup


def test_offsite_without_its_secrets_stops_before_any_resource():
    with pytest.raises(ProgramError) as excinfo:
        run_program(
            "prod",
            overrides={
                "backup": {"offsite": {"endpoint": "https://s3.example.com", "bucket": "b-1"}}
            },
        )
    assert (
        "investment-platform:offsiteEncryptionKey: backup.offsite is set, so this secret is "
        "required"
    ) in str(excinfo.value)


def test_offhost_backup_copy_mounts_the_host_directory():
    result = run_program(
        "prod", overrides={"backup": {"schedule": "02:00", "offhostDir": "/mnt/storagebox"}}
    )
    backup = containers(result)["backup"]
    assert "BACKUP_OFFHOST_DIR=/offhost" in backup.unmasked_inputs()["envs"]
    assert "BACKUP_SCHEDULE=02:00" in backup.unmasked_inputs()["envs"]
    offhost = next(v for v in backup.inputs["volumes"] if v["containerPath"] == "/offhost")
    assert offhost["hostPath"] == "/mnt/storagebox"
    assert offhost["readOnly"] is False


def test_database_roles_and_search_schema_are_ordered_around_the_containers(prod):
    by_name = containers(prod)
    role = prod.named("investment-database-app-role")
    provider = prod.named("investment-database-provider")
    assert by_name["postgres"].urn in provider.dependencies
    # Provider configuration travels as strings.
    assert (provider.inputs["host"], provider.inputs["port"]) == ("127.0.0.1", "15432")
    assert role.urn in by_name["backend"].dependencies
    assert role.urn in by_name["backup"].dependencies
    schema = prod.named("investment-database-search-schema")
    assert by_name["backend"].urn in schema.dependencies
    envs = by_name["backend"].unmasked_inputs()["envs"]
    assert any(
        e.startswith("DATABASE_URL=postgresql://investment_app:") and e.endswith("/investment_db")
        for e in envs
    )
    exporter_envs = by_name["postgres-exporter"].unmasked_inputs()["envs"]
    assert any(
        e.startswith("DATA_SOURCE_NAME=postgresql://postgres_exporter:") for e in exporter_envs
    )


def test_grafana_api_goes_through_the_tunnel_in_prod_and_can_be_overridden(prod):
    provider = prod.named("investment-monitoring-grafana")
    assert provider.inputs["url"] == "http://127.0.0.1:13000/grafana"
    direct = run_program("prod", overrides={"grafanaUrl": "https://invest.example.com/grafana"})
    assert (
        direct.named("investment-monitoring-grafana").inputs["url"]
        == "https://invest.example.com/grafana"
    )
    (attachment,) = containers(prod)["grafana"].inputs["networksAdvanced"]
    assert attachment["ipv4Address"] == "172.30.0.11"


def test_dev_reaches_grafana_where_nginx_publishes_it(dev):
    # Dev's nginx listens on 127.0.0.1:8088, so that is where the provider and users find Grafana.
    assert dev.named("investment-monitoring-grafana").inputs["url"] == (
        "http://localhost:8088/grafana"
    )
    envs = containers(dev)["grafana"].unmasked_inputs()["envs"]
    assert "GF_SERVER_ROOT_URL=http://localhost:8088/grafana/" in envs
    assert dev.outputs["url"] == "http://localhost:8088"
    (binding,) = containers(dev)["nginx"].inputs["ports"]
    assert (binding["ip"], binding["external"], binding["internal"]) == ("127.0.0.1", 8088, 80)


def test_prod_grafana_root_url_is_the_public_https_url(prod):
    envs = containers(prod)["grafana"].unmasked_inputs()["envs"]
    assert "GF_SERVER_ROOT_URL=https://invest.example.com/grafana/" in envs


def test_private_registry_credentials_come_from_a_secret():
    result = run_program(
        "prod",
        overrides={"registry": {"address": "ghcr.io", "username": "deploy-bot"}},
        secrets={"registryPassword": "ghp_example"},
    )
    provider = result.named("investment-docker")
    # Provider configuration travels JSON-encoded.
    (auth,) = json.loads(provider.unmasked_inputs()["registryAuth"])
    assert (auth["address"], auth["username"], auth["password"]) == (
        "ghcr.io",
        "deploy-bot",
        "ghp_example",
    )
    assert "ghp_example" not in repr(provider.inputs)


def test_private_registry_without_its_secret_stops_the_program():
    with pytest.raises(ProgramError, match="registryPassword"):
        run_program("prod", overrides={"registry": {"address": "ghcr.io", "username": "bot"}})


def test_a_domain_that_does_not_lead_to_the_managed_host_is_warned_about(monkeypatch):
    from program import main as program_main

    warnings: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", warnings.append)
    monkeypatch.setattr(program_main, "under_mocks", lambda: False)
    # Real resolution: localhost is 127.0.0.1 on every machine (/etc/hosts).
    program_main.warn_if_domain_elsewhere("localhost", "127.0.0.1")
    assert warnings == []
    program_main.warn_if_domain_elsewhere("localhost", "203.0.113.10")
    assert warnings == [
        "domain localhost resolves to 127.0.0.1, not to the managed host's 203.0.113.10: point "
        "its A record there (stack output host.ipv4); certbot retries every 5 minutes until it "
        "does"
    ]
    program_main.warn_if_domain_elsewhere("name.invalid", "203.0.113.10")
    assert warnings[-1].startswith("domain name.invalid resolves to no IPv4 address, not to")
