"""The Platform component on its own, under the SDK's mocks: driven by the specs it is given.

Adding a service with a generated file and a script touches the catalogue entry and its assets
only; and nothing depends on a service's name: a database service called something else is still
the one the Database component is built on.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from commands.offline import PlanResult, load_offline_config, run_program
from components.platform import Platform, PlatformArgs
from model.catalogue import (
    AssetFile,
    HealthCheck,
    MetricsEndpoint,
    ServiceSpec,
    TemplateFile,
)
from model.config import resolve_specs
from render.files import ASSETS

CONTAINER = "docker:index/container:Container"

FEED = ServiceSpec(
    name="market_feed",
    description="Streams quotes into the database",
    tier="app",
    image="example/market-feed:1.2.0",
    cpus=0.1,
    memory_mib=64,
    min_memory_mib=32,
    port=9100,
    entrypoint=("/bin/sh", "/etc/feed/run.sh"),
    config_dir="/etc/feed",
    files=(
        TemplateFile(path="feed.conf", template="market_feed/feed.conf"),
        AssetFile(path="run.sh", asset="market_feed/run.sh", mode="0755"),
    ),
    healthcheck=HealthCheck(test=("CMD", "true"), relies_on="true"),
    depends_on=("postgres",),
    metrics=(MetricsEndpoint(job="market_feed", port=9100),),
    stop_grace_s=20,
)
FEED_CONF = "public_url = $public_url\ndomain = $domain\n"
RUN_SH = "#!/bin/sh\nexec feed --config /etc/feed/feed.conf\n"


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's assets plus the new service's template and script."""
    root = tmp_path_factory.mktemp("assets") / "assets"
    shutil.copytree(ASSETS, root)
    (root / "market_feed").mkdir()
    (root / "market_feed" / "feed.conf").write_text(FEED_CONF)
    (root / "market_feed" / "run.sh").write_text(RUN_SH)
    return root


def platform(specs: Sequence[ServiceSpec] | None = None, assets: Path = ASSETS) -> Any:
    def program() -> None:
        config = load_offline_config("prod")
        Platform(
            "investment",
            PlatformArgs(
                config=config,
                specs=list(specs) if specs is not None else resolve_specs(config),
                secrets={},
                assets=assets,
            ),
        )

    return program


def containers(result: PlanResult) -> dict[str, Any]:
    return {r.inputs["name"].removeprefix("investment-"): r for r in result.of_type(CONTAINER)}


@pytest.fixture(scope="module")
def with_feed(assets: Path) -> PlanResult:
    specs = [*resolve_specs(load_offline_config("prod")), FEED]
    return run_program("prod", program=platform(specs, assets))


def test_a_new_service_gets_its_files_from_the_catalogue_and_its_assets(with_feed):
    writer = containers(with_feed)["market-feed-config-writer"]
    files = {u["file"]: u for u in writer.inputs["uploads"]}
    assert files["/staging/feed.conf"]["content"] == (
        "public_url = https://invest.example.com\ndomain = invest.example.com\n"
    )
    assert files["/staging/feed.conf"]["permissions"] == "0644"
    assert files["/staging/run.sh"] == {
        "file": "/staging/run.sh",
        "content": RUN_SH,
        "permissions": "0755",
    }
    feed = containers(with_feed)["market-feed"]
    assert feed.inputs["entrypoints"] == ["/bin/sh", "/etc/feed/run.sh"]
    assert writer.urn in feed.dependencies


def test_a_new_service_is_scraped_costed_and_waits_for_its_database_roles(with_feed):
    feed = containers(with_feed)["market-feed"]
    role = with_feed.named("investment-database-app-role")
    assert role.urn in feed.dependencies
    writer = containers(with_feed)["prometheus-config-writer"]
    config = next(u["content"] for u in writer.inputs["uploads"] if u["file"].endswith(".yml"))
    jobs = {job["job_name"]: job for job in yaml.safe_load(config)["scrape_configs"]}
    assert jobs["market_feed"]["static_configs"] == [
        {"targets": ["market-feed:9100"], "labels": {"service": "market_feed"}}
    ]


def test_nothing_depends_on_a_services_name():
    # The database service renamed: the Database component follows the capability, and so do
    # the services that depend on it and the search schema after the app-schema provider.
    specs = []
    for spec in resolve_specs(load_offline_config("prod")):
        depends = tuple("db" if d == "postgres" else d for d in spec.depends_on)
        name = "db" if spec.name == "postgres" else spec.name
        specs.append(spec.model_copy(update={"name": name, "depends_on": depends}))
    result = run_program("prod", program=platform(specs))
    db = containers(result)["db"]
    provider = result.named("investment-database-provider")
    assert db.urn in provider.dependencies
    role = result.named("investment-database-app-role")
    assert role.urn in containers(result)["backend"].dependencies
    schema = result.named("investment-database-search-schema")
    assert containers(result)["backend"].urn in schema.dependencies
    (attachment,) = db.inputs["networksAdvanced"]
    assert attachment["ipv4Address"] == "172.30.0.10"


def test_every_config_writer_uses_the_one_pinned_writer_image():
    result = run_program("prod", program=platform())
    (image,) = [
        r
        for r in result.of_type("docker:index/remoteImage:RemoteImage")
        if r.inputs["name"] == "busybox:1.37.0"
    ]
    writers = [c for name, c in containers(result).items() if name.endswith("-config-writer")]
    assert len(writers) == 5
    assert all(image.urn in w.dependencies for w in writers)
