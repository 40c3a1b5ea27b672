"""render.files: a service's declared files become paths and contents, or one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.catalogue import AssetFile, RenderedFiles, SecretFile, TemplateFile
from model.config import resolve_specs
from render.files import (
    RENDERERS,
    GeneratedFileError,
    GeneratedOutput,
    SecretRef,
    generated_files,
)
from tests.support.specs import app_spec
from tests.support.stacks import stack_config


@pytest.fixture
def assets(tmp_path: Path) -> Path:
    (tmp_path / "feed").mkdir()
    (tmp_path / "feed" / "run.sh").write_text("#!/bin/sh\nexec feed\n")
    (tmp_path / "feed" / "feed.conf").write_text("url = $public_url\nprice = $$5\n")
    (tmp_path / "feed" / "typo.conf").write_text("url = $publc_url\n")
    (tmp_path / "feed" / "broken.conf").write_text("ok\nprice = $5\n")
    return tmp_path


def _feed(*files: AssetFile | TemplateFile | RenderedFiles | SecretFile):
    return app_spec("feed", config_dir="/etc/feed/", files=files)


def _generate(assets: Path, *files: AssetFile | TemplateFile | RenderedFiles | SecretFile):
    config = stack_config("prod")
    spec = _feed(*files)
    return generated_files(spec, config, (*resolve_specs(config), spec), assets=assets)


def test_assets_ship_as_they_are_and_templates_are_filled(assets: Path) -> None:
    outputs = _generate(
        assets,
        AssetFile(path="run.sh", asset="feed/run.sh", mode="0755"),
        TemplateFile(path="feed.conf", template="feed/feed.conf"),
    )
    assert outputs == [
        GeneratedOutput("/etc/feed/run.sh", "#!/bin/sh\nexec feed\n", "0755"),
        GeneratedOutput(
            "/etc/feed/feed.conf", "url = https://invest.example.com\nprice = $5\n", "0644"
        ),
    ]


def test_a_secret_file_is_a_reference_written_only_for_its_tls_mode(assets: Path) -> None:
    key = SecretFile(path="tls.key", secret="tlsPrivateKey", when_tls="provided")
    assert _generate(assets, key) == []  # prod uses letsencrypt
    config = stack_config("prod", tls={"mode": "provided"})
    spec = _feed(key)
    outputs = generated_files(spec, config, (*resolve_specs(config), spec), assets=assets)
    assert outputs == [GeneratedOutput("/etc/feed/tls.key", SecretRef("tlsPrivateKey"), "0600")]


def test_a_named_renderer_gives_its_files_under_the_config_dir(assets: Path) -> None:
    outputs = _generate(assets, RenderedFiles(renderer="nginx"))
    assert [(o.path, o.mode) for o in outputs] == [("/etc/feed/nginx.conf", "0644")]
    assert "        server_name invest.example.com;\n" in str(outputs[0].content)


def test_a_service_without_files_generates_nothing(assets: Path) -> None:
    config = stack_config("prod")
    spec = app_spec("plain")
    assert generated_files(spec, config, resolve_specs(config), assets=assets) == []


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        (
            AssetFile(path="run.sh", asset="feed/missing.sh"),
            "feed: asset feed/missing.sh is not in {assets}",
        ),
        (
            TemplateFile(path="feed.conf", template="feed/typo.conf"),
            "feed: template feed/typo.conf names no stack value 'publc_url' (known: "
            "backup_keep_base, backup_keep_daily, backup_keep_weekly, backup_offhost_dir, "
            "backup_schedule, domain, letsencrypt_email, offsite_interval_seconds, "
            "offsite_keep_days, offsite_repository, public_url, smtp_enabled, smtp_from, "
            "smtp_host, smtp_user, tls_cert_file; write $$ for a literal $)",
        ),
        (
            TemplateFile(path="feed.conf", template="feed/broken.conf"),
            "feed: template feed/broken.conf: Invalid placeholder in string: line 2, col 9 "
            "(placeholders are $name or ${name}; write $$ for a literal $)",
        ),
        (
            RenderedFiles(renderer="grafana"),
            f"feed: no renderer named 'grafana' (renderers: {', '.join(sorted(RENDERERS))})",
        ),
    ],
    ids=["missing-asset", "unknown-value", "invalid-placeholder", "unknown-renderer"],
)
def test_what_cannot_be_generated_is_one_error_naming_the_service_and_file(
    assets: Path, declared: AssetFile | TemplateFile | RenderedFiles, message: str
) -> None:
    with pytest.raises(GeneratedFileError) as raised:
        _generate(assets, declared)
    assert str(raised.value) == message.replace("{assets}", str(assets))
