"""`python -m commands cost` as users run it: a subprocess, exit codes, output."""

import json
import shutil
import subprocess

from tests.support.tools import COPY_IGNORE, ROOT, run_command


def test_cost_against_stack_json():
    proc = run_command("cost", "--stack", "prod", "--against-stack", "dev", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["diff"]["delta_billed_usd"] == 8.78
    reasons = {line["name"]: line["reason"] for line in doc["diff"]["lines"]}
    assert reasons["host"] == "plan local→hetzner-cx33"
    assert reasons["postgres"] == "cpus 0.5→0.75, memory 320→384 MiB"
    assert reasons["redis"] == "host plan changed"


def test_cost_names_the_cheapest_fitting_plan():
    proc = run_command("cost", "--stack", "prod", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["cheapestPlan"]["name"] == "hetzner-cx33"


def test_cost_against_ref_compares_with_that_commit(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=COPY_IGNORE)
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    stack = repo / "Pulumi.prod.yaml"
    stack.write_text(
        stack.read_text().replace(
            "  investment-platform:hostPlan: hetzner-cx33",
            "  investment-platform:hostPlan: digitalocean-s-4vcpu-8gb",
        )
    )
    proc = run_command(
        "cost", "--stack", "prod", "--against-ref", "HEAD", "--format", "markdown", cwd=repo
    )
    assert proc.returncode == 0, proc.stderr
    assert "| host | $7.53 | $48.00 | +$40.47 | plan hetzner-cx33→digitalocean-s-4vcpu-8gb |" in (
        proc.stdout
    )
    assert "**billed total** | **$8.78** | **$49.25** | **+$40.47**" in proc.stdout


def test_cost_against_unknown_ref_exits_2():
    proc = run_command("cost", "--stack", "prod", "--against-ref", "no-such-ref-xyz")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: cannot export git ref 'no-such-ref-xyz':")
