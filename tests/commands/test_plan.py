"""`python -m commands plan` as users run it: a subprocess, exit codes, output."""

import json
import shutil

from tests.support.tools import COPY_IGNORE, ROOT, run_command


def test_plan_prod_prints_services_and_a_total_under_budget():
    proc = run_command("plan", "--stack", "prod", "--no-policy")
    assert proc.returncode == 0, proc.stderr
    assert "investment-postgres" in proc.stdout
    assert "postgres:15.13-alpine" in proc.stdout
    assert "Billed total $8.78 of $50.00 budget" in proc.stdout


def test_plan_json_is_machine_readable():
    proc = run_command("plan", "--stack", "dev", "--format", "json", "--no-policy")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["stack"] == "dev"
    assert len(doc["containers"]) == 17
    assert doc["outputs"]["cost"]["billedUsd"] == 0.0


def test_plan_markdown_for_pr_comments():
    proc = run_command("plan", "--stack", "prod", "--format", "markdown", "--no-policy")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("## Offline plan: `prod`")
    assert "| investment-postgres | `postgres:15.13-alpine` | 0.75 | 384 MiB |" in proc.stdout


def test_plan_lists_one_shot_jobs_apart_from_the_services():
    proc = run_command("plan", "--stack", "prod", "--format", "json", "--no-policy")
    doc = json.loads(proc.stdout)
    jobs = {j["container"]: (j["service"], j["job"], j["image"]) for j in doc["jobs"]}
    assert jobs == {
        "investment-airflow-migrate": ("airflow", "migrate", "apache/airflow:2.10.5-python3.11"),
        "investment-backend-migrate": (
            "backend",
            "migrate",
            "ghcr.io/investment-platform/backend:1.8.0",
        ),
        "investment-backup-config-writer": ("backup", "config", "busybox:1.37.0"),
        "investment-certbot-config-writer": ("certbot", "config", "busybox:1.37.0"),
        "investment-nginx-config-writer": ("nginx", "config", "busybox:1.37.0"),
        "investment-postgres-config-writer": ("postgres", "config", "busybox:1.37.0"),
        "investment-prometheus-config-writer": ("prometheus", "config", "busybox:1.37.0"),
    }
    runs = {j["container"]: j["runs"] for j in doc["jobs"]}
    assert runs["investment-certbot-config-writer"] == (
        "writes 1 generated file into investment-certbot-config"
    )
    assert runs["investment-prometheus-config-writer"] == (
        "writes 3 generated files into investment-prometheus-config"
    )
    assert runs["investment-backend-migrate"] == "alembic upgrade head"


def test_cost_per_container_follows_the_service_label_whatever_the_name_prefix(tmp_path):
    # A namePrefix may contain dashes; the row's service comes from its label, not its name.
    shutil.copytree(ROOT, tmp_path, dirs_exist_ok=True, ignore=COPY_IGNORE)
    stack = (tmp_path / "Pulumi.prod.yaml").read_text()
    (tmp_path / "Pulumi.prod.yaml").write_text(
        stack.replace("config:\n", "config:\n  investment-platform:namePrefix: acme-invest\n", 1)
    )
    proc = run_command(
        "plan", "--stack", "prod", "--format", "markdown", "--no-policy", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "| acme-invest-postgres | `postgres:15.13-alpine` | 0.75 | 384 MiB |" in proc.stdout
    assert "`pg_isready -U postgres -h 127.0.0.1` | $1.02 |" in proc.stdout
    # A `|` inside a health check is escaped, so the table keeps its columns.
    assert "`redis-cli ping \\| grep -q PONG` | $0.28 |" in proc.stdout


def test_plan_with_invalid_config_exits_2_with_the_message_and_no_traceback(tmp_path):
    shutil.copytree(ROOT, tmp_path, dirs_exist_ok=True, ignore=COPY_IGNORE)
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n"
        "  investment-platform:hostPlan: local\n"
        "  investment-platform:images:\n"
        "    backend: ghcr.io/acme/backend:latest\n"
        "    frontend: ghcr.io/acme/frontend:1.0.0\n"
    )
    proc = run_command("plan", "--stack", "bad", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "error: Pulumi.bad.yaml: investment-platform:images.backend: image "
        "'ghcr.io/acme/backend:latest' uses :latest: pin a version tag (e.g. :1.2.3) or a sha256 "
        "digest\n"
    )


def test_plan_unknown_stack_exits_2():
    proc = run_command("plan", "--stack", "staging")
    assert proc.returncode == 2
    assert proc.stderr == "error: Pulumi.staging.yaml: no such stack file (stacks: dev, prod)\n"


def test_plan_requires_a_stack():
    proc = run_command("plan")
    assert proc.returncode == 2
    assert "the following arguments are required: --stack" in proc.stderr


def test_plan_of_a_broken_stack_exits_1_with_one_line_per_violation(tmp_path):
    shutil.copytree(ROOT, tmp_path, dirs_exist_ok=True, ignore=COPY_IGNORE)
    # Someone bypasses the catalogue: an Elasticsearch container, unpinned, without limits.
    with (tmp_path / "__main__.py").open("a") as main:
        main.write(
            "\nimport pulumi_docker as docker\n"
            'docker.Container("search", name="es", image="elasticsearch:latest",'
            ' restart="unless-stopped", healthcheck={"tests": ["CMD", "true"]})\n'
        )
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text(
        stack.read_text().replace(
            "investment-platform:budgetUsd: 50", "investment-platform:budgetUsd: 5"
        )
    )
    proc = run_command("plan", "--stack", "prod", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("mandatory: ")]
    assert sorted(line.split(": ")[1] for line in lines) == [
        "capabilities-allow-list",
        "container-resource-limits",
        "images-pinned",
        "monthly-cost-within-budget",
        "no-elasticsearch",
        "no-new-privileges",
    ]
    assert any(line.startswith("mandatory: no-elasticsearch: search: ") for line in lines)
