"""backup.offsite and backup.keepBase: the off-site copy's config, the service it adds, its cost
line and the secrets it requires."""

from __future__ import annotations

import pytest

from model.config import ConfigError, load_config, resolve_specs
from model.cost import OFFSITE_PLANS
from model.stackcost import stack_cost
from program.main import stack_secrets
from render.files import template_context
from tests.model.test_config import raw
from tests.support.stacks import stack_config

OFFSITE = {"endpoint": "https://fsn1.your-objectstorage.com", "bucket": "acme-backups"}


def test_without_offsite_there_is_no_offsite_service_and_no_cost_line() -> None:
    config = load_config("dev", raw())
    assert config.backup.offsite is None
    assert config.backup.keep_base == 7
    assert "offsite" not in {s.name for s in resolve_specs(config)}
    assert [f.name for f in stack_cost(config).fixed] == []
    assert template_context(config, resolve_specs(config))["offsite_repository"] == ""


def test_offsite_adds_the_service_the_repository_url_and_the_plans_cost_line() -> None:
    config = load_config(
        "dev", raw(backup={"keepBase": 3, "offsite": {**OFFSITE, "intervalMinutes": 10}})
    )
    specs = resolve_specs(config)
    offsite = next(s for s in specs if s.name == "offsite")
    assert offsite.depends_on == ("backup",)
    context = template_context(config, specs)
    assert context["offsite_repository"] == (
        "s3:https://fsn1.your-objectstorage.com/acme-backups/pitr"
    )
    assert context["offsite_interval_seconds"] == "600"
    assert context["offsite_keep_days"] == "14"
    assert context["backup_keep_base"] == "3"
    (line,) = stack_cost(config).fixed
    assert (line.name, line.monthly_usd) == ("off-site backups: Hetzner Object Storage", 5.79)
    assert line.source.startswith("https://www.hetzner.com/storage/object-storage/")
    assert "(read 2026-11-29)" in line.source


def test_the_plan_chooses_the_price() -> None:
    config = load_config("dev", raw(backup={"offsite": {**OFFSITE, "plan": "backblaze-b2"}}))
    (line,) = stack_cost(config).fixed
    assert (line.name, line.monthly_usd) == ("off-site backups: Backblaze B2", 6.0)
    assert OFFSITE_PLANS["hetzner-object-storage"].monthly_usd == 5.79


@pytest.mark.parametrize(
    ("offsite", "message"),
    [
        (
            {**OFFSITE, "bucket": "Acme_Backups"},
            "investment-platform:backup.offsite.bucket: String should match pattern "
            "'^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' (got 'Acme_Backups')",
        ),
        (
            {**OFFSITE, "intervalMinutes": 15},
            "investment-platform:backup.offsite.intervalMinutes: Input should be less than or "
            "equal to 14 (got 15)",
        ),
        (
            {"bucket": "acme-backups"},
            "investment-platform:backup.offsite.endpoint: missing required value",
        ),
        (
            {**OFFSITE, "plan": "glacier"},
            "investment-platform:backup.offsite.plan: Input should be 'hetzner-object-storage' or "
            "'backblaze-b2' (got 'glacier')",
        ),
    ],
)
def test_bad_offsite_config_names_the_key(offsite: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("dev", raw(backup={"offsite": offsite}))
    assert str(raised.value) == f"Pulumi.dev.yaml: {message}"


def test_offsite_requires_its_key_and_credentials_as_secrets() -> None:
    config = load_config("dev", raw(backup={"offsite": OFFSITE}))
    given = {
        "offsiteEncryptionKey": "k",
        "offsiteAccessKeyId": "a",
        "offsiteSecretAccessKey": "s",
    }
    assert stack_secrets(config, given) == given
    with pytest.raises(ConfigError) as raised:
        stack_secrets(config, {k: v for k, v in given.items() if k != "offsiteEncryptionKey"})
    assert str(raised.value) == (
        "Pulumi.dev.yaml: investment-platform:offsiteEncryptionKey: backup.offsite is set, so "
        "this secret is required: `pulumi config set --secret offsiteEncryptionKey < key-file`"
    )


def test_the_encryption_key_in_plain_text_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config("dev", {**raw(), "offsiteEncryptionKey": "plain"})
    assert "investment-platform:offsiteEncryptionKey: is the off-site backups' encryption key" in (
        str(raised.value)
    )


def test_prod_with_the_offsite_copy_fits_its_host_and_adds_the_storage_price() -> None:
    without = stack_cost(stack_config("prod"))
    config = stack_config("prod", backup={"offsite": OFFSITE})
    cost = stack_cost(config)
    assert "offsite" in {s.name for s in resolve_specs(config)}
    assert cost.as_output()["plan"] == without.as_output()["plan"]
    assert cost.billed_usd == round(without.billed_usd + 5.79, 2)
    assert cost.billed_usd <= config.budget_usd
