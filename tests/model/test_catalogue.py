"""The catalogue is consistent: dependencies exist, secrets are known, images pinned."""

import string

import pytest
from pydantic import ValidationError

from components.platform import DATABASE_VALUES
from components.secrets import OPTIONAL_SECRET_KEYS, SECRET_KEYS
from model.catalogue import (
    CATALOGUE,
    AssetFile,
    CatalogueError,
    MetricsEndpoint,
    docker_cpus,
    start_order,
)
from model.config import check_image_pinned
from tests.support.specs import app_spec


def spec(name, depends_on=()):
    return app_spec(name, depends_on=depends_on)


def test_names_and_scrape_jobs_are_unique():
    names = [s.name for s in CATALOGUE]
    assert len(names) == len(set(names))
    jobs = [m.job for s in CATALOGUE for m in s.metrics]
    assert len(jobs) == len(set(jobs))


def test_no_elasticsearch():
    for s in CATALOGUE:
        text = repr(s.model_dump(exclude={"description"})).lower()
        assert "elasticsearch" not in text, s.name


def test_images_are_pinned():
    for s in CATALOGUE:
        if s.image is not None:
            assert check_image_pinned(s.image) == s.image
        else:
            assert s.app_image is not None, s.name


def test_secret_templates_use_known_secrets():
    for s in CATALOGUE:
        templates = {**s.secret_env, **(s.init.secret_env if s.init else {})}
        for key, template in templates.items():
            fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
            assert fields, f"{s.name}.{key} has no secret in it: move it to env"
            known = {*SECRET_KEYS, *OPTIONAL_SECRET_KEYS, *DATABASE_VALUES}
            assert fields <= known, (s.name, key, fields - known)


def test_limits_respect_floors_and_writable_roots_are_explained():
    for s in CATALOGUE:
        assert s.min_memory_mib <= s.memory_mib, s.name
        if not s.read_only_rootfs:
            assert s.writable_rootfs_reason, s.name
        assert s.privileged == (s.name == "cadvisor"), s.name
        assert s.public == (s.name == "nginx"), s.name


def test_start_order_puts_dependencies_first():
    order = [s.name for s in start_order(CATALOGUE)]
    for s in CATALOGUE:
        for dep in s.depends_on:
            assert order.index(dep) < order.index(s.name), (dep, s.name)


def test_start_order_rejects_unknown_dependency_and_cycles():
    with pytest.raises(CatalogueError, match=r"^a depends on unknown service 'ghost'$"):
        start_order([spec("a", ("ghost",))])
    with pytest.raises(CatalogueError, match=r"^dependency cycle: a -> b -> a$"):
        start_order([spec("a", ("b",)), spec("b", ("a",))])


def test_metrics_endpoint_defaults():
    assert MetricsEndpoint(job="x", port=1).path == "/metrics"


def test_generated_files_and_a_config_dir_go_together():
    run_sh = AssetFile(path="run.sh", asset="feed/run.sh")
    assert app_spec("feed", files=(run_sh,), config_dir="/etc/feed").config_dir == "/etc/feed"
    with pytest.raises(ValidationError) as without_dir:
        app_spec("feed", files=(run_sh,))
    assert without_dir.value.errors()[0]["msg"] == (
        "Value error, feed: generated files and config_dir go together (files: 1, config_dir: none)"
    )
    with pytest.raises(ValidationError) as without_files:
        app_spec("feed", config_dir="/etc/feed")
    assert without_files.value.errors()[0]["msg"] == (
        "Value error, feed: generated files and config_dir go together (files: 0, "
        "config_dir: /etc/feed)"
    )


@pytest.mark.parametrize(
    ("cpus", "text"),
    [(0, "0"), (0.1, "0.1"), (0.25, "0.25"), (1, "1.0"), (2, "2.0"), (1.5, "1.5")],
)
def test_cpu_limits_are_written_as_the_docker_provider_reads_them_back(cpus, text):
    assert docker_cpus(cpus) == text
