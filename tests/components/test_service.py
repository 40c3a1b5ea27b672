"""The Service component on its own, under the SDK's mocks: one spec in, the container, its image,
volumes and one-shot jobs out, with every hardening the platform relies on."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_docker as docker
import pytest

from commands.offline import MASK, PlanResult, ProgramError, run_program
from components.service import (
    Service,
    ServiceArgs,
    Upload,
    UploadOutsideConfigDir,
    check_uploads,
    files_fingerprint,
)
from model.catalogue import (
    AssetFile,
    HealthCheck,
    InitJob,
    ServiceSpec,
    TemplateFile,
    Volume,
)
from model.topology import PortBinding

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"

FEED = ServiceSpec(
    name="market_feed",
    description="Streams quotes",
    tier="app",
    image="example/market-feed:1.2.0",
    cpus=0.25,
    memory_mib=96,
    min_memory_mib=64,
    port=9100,
    config_dir="/etc/feed",
    files=(
        TemplateFile(path="feed.conf", template="market_feed/feed.conf"),
        AssetFile(path="run.sh", asset="market_feed/run.sh", mode="0755"),
    ),
    env={"FEED_MODE": "live"},
    healthcheck=HealthCheck(
        test=("CMD", "wget", "-q", "--spider", "http://127.0.0.1:9100/health"),
        relies_on="wget",
        interval_s=60,
        start_period_s=90,
    ),
    volumes=(
        Volume(role="data", path="/var/lib/feed"),
        Volume(role="cache", path="/var/cache/feed", data=False),
    ),
    tmpfs=("/tmp",),
    init=InitJob(role="migrate", command=("feed", "migrate"), description="Creates its tables"),
    stop_grace_s=45,
)


def build(spec: ServiceSpec = FEED, *, uploads: tuple[Upload, ...] = (), **extra: Any) -> Any:
    """A program declaring the service with a network and a writer image, as Platform does."""

    def program() -> None:
        network = docker.Network("net", name="investment-internal")
        writer = docker.RemoteImage("writer", name="busybox:1.37.0", keep_locally=True)
        Service(
            "feed",
            ServiceArgs(
                spec=spec,
                stack="prod",
                name_prefix="investment",
                network=network,
                command=("feed", "serve"),
                env=spec.env,
                secret_env={"FEED_TOKEN": pulumi.Output.secret("t0k3n")},
                uploads=uploads,
                writer_image=writer if uploads else None,
                ports=[PortBinding(9100, 19100)],
                **extra,
            ),
        )

    return program


def containers(result: PlanResult) -> dict[str, Any]:
    return {r.inputs["name"]: r for r in result.of_type(CONTAINER)}


def labels(resource: Any) -> dict[str, str]:
    return {entry["label"]: entry["value"] for entry in resource.inputs["labels"]}


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    uploads = (
        Upload("/etc/feed/feed.conf", "mode = live\n"),
        Upload("/etc/feed/run.sh", "#!/bin/sh\n", mode="0755"),
    )
    return run_program("prod", program=build(uploads=uploads))


def test_the_container_is_hardened_limited_and_waited_for(plan):
    c = containers(plan)["investment-market-feed"].inputs
    assert (c["cpus"], c["memory"], c["memorySwap"]) == ("0.25", 96, 96)
    assert c["healthcheck"] == {
        "tests": ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:9100/health"],
        "interval": "1m0s",
        "timeout": "5s",
        "retries": 3,
        "startPeriod": "1m30s",
    }
    assert (c["wait"], c["waitTimeout"]) == (True, 90 + 3 * (60 + 5) + 30)
    assert (c["stopTimeout"], c["destroyGraceSeconds"]) == (45, 45)
    assert (c["restart"], c["mustRun"], c["readOnly"]) == ("unless-stopped", True, True)
    assert c["securityOpts"] == ["no-new-privileges:true"]
    assert c["capabilities"] == {"drops": ["ALL"]}
    assert c["tmpfs"] == {"/tmp": "rw,nosuid,nodev,size=64m"}
    assert c["logOpts"] == {"max-size": "10m", "max-file": "3"}
    assert c["ports"] == [{"internal": 9100, "external": 19100, "ip": "127.0.0.1"}]
    assert c["networksAdvanced"] == [
        {"name": "investment-internal", "aliases": ["market-feed", "market_feed"]}
    ]
    assert "uploads" not in c


def test_secret_environment_stays_secret(plan):
    feed = containers(plan)["investment-market-feed"]
    assert feed.inputs["envs"] == MASK
    assert "FEED_TOKEN=t0k3n" in feed.unmasked_inputs()["envs"]
    assert "FEED_MODE=live" in feed.unmasked_inputs()["envs"]


def test_data_volumes_are_protected_and_scratch_ones_are_not(plan):
    volumes = {r.inputs["name"]: r for r in plan.of_type(VOLUME)}
    data, cache = volumes["investment-market-feed-data"], volumes["investment-market-feed-cache"]
    assert (data.protect, data.retain_on_delete) == (True, True)
    assert (cache.protect, cache.retain_on_delete) == (False, False)
    config = volumes["investment-market-feed-config"]
    assert not config.protect
    mounts = {
        m["containerPath"]: m for m in containers(plan)["investment-market-feed"].inputs["volumes"]
    }
    assert mounts["/etc/feed"] == {
        "volumeName": "investment-market-feed-config",
        "containerPath": "/etc/feed",
        "readOnly": True,
    }


def test_the_config_writer_fills_the_config_volume_before_the_service(plan):
    writer = containers(plan)["investment-market-feed-config-writer"]
    feed = containers(plan)["investment-market-feed"]
    assert writer.inputs["uploads"] == [
        {"file": "/staging/feed.conf", "content": "mode = live\n", "permissions": "0644"},
        {"file": "/staging/run.sh", "content": "#!/bin/sh\n", "permissions": "0755"},
    ]
    assert writer.inputs["volumes"] == [
        {"volumeName": "investment-market-feed-config", "containerPath": "/config"}
    ]
    assert (writer.inputs["networkMode"], writer.inputs["readOnly"]) == ("none", False)
    assert writer.urn in feed.dependencies
    assert labels(feed)["com.investment-platform.job.config"] == files_fingerprint(
        [
            ("/etc/feed/feed.conf", "0644", "mode = live\n"),
            ("/etc/feed/run.sh", "0755", "#!/bin/sh\n"),
        ]
    )


def test_the_init_job_runs_the_image_with_the_services_environment_first(plan):
    job = containers(plan)["investment-market-feed-migrate"]
    feed = containers(plan)["investment-market-feed"]
    assert job.inputs["command"] == ["feed", "migrate"]
    assert job.inputs["image"] == feed.inputs["image"]
    assert "FEED_TOKEN=t0k3n" in job.unmasked_inputs()["envs"]
    assert (job.inputs["attach"], job.inputs["mustRun"], job.inputs["restart"]) == (
        True,
        False,
        "no",
    )
    assert job.urn in feed.dependencies
    assert labels(feed)["com.investment-platform.job.migrate"] == "feed migrate"


def test_a_service_without_files_has_no_writer_and_no_config_volume():
    bare = FEED.model_copy(update={"config_dir": None, "files": (), "init": None})
    result = run_program("prod", program=build(bare))
    assert set(containers(result)) == {"investment-market-feed"}
    assert "investment-market-feed-config" not in {v.inputs["name"] for v in result.of_type(VOLUME)}


def test_an_adopted_volume_is_imported_as_it_is():
    result = run_program("prod", program=build(adopt_volumes={"market_feed-data": "old_feed_data"}))
    volume = next(v for v in result.of_type(VOLUME) if v.inputs["name"] == "old_feed_data")
    assert volume.import_id == "old_feed_data"
    assert volume.ignore_changes == ["labels", "driverOpts"]
    assert "labels" not in volume.inputs


def test_a_file_outside_the_config_dir_is_refused():
    with pytest.raises(UploadOutsideConfigDir) as excinfo:
        check_uploads(FEED, [Upload("/etc/passwd", "x")])
    assert str(excinfo.value) == (
        "market_feed: upload /etc/passwd must be under its config_dir (/etc/feed)"
    )
    with pytest.raises(ProgramError, match="must be under its config_dir"):
        run_program("prod", program=build(uploads=(Upload("/etc/passwd", "x"),)))
