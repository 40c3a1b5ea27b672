"""model.imageref: Docker's image-reference grammar, and why a reference is not pinned.

Every case runs on the program's module and on the policy pack's copy of it
(policy/policies/references.py; tests/policy/test_shared_rules.py checks the copy is exact).
"""

from __future__ import annotations

import pytest

from model import imageref
from policy.policies import references

GRAMMARS = pytest.mark.parametrize("grammar", [imageref, references], ids=["program", "pack"])


@GRAMMARS
@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("redis:7.4.2-alpine", None),
        ("gcr.io/cadvisor/cadvisor:v0.49.1", None),
        ("localhost:5000/team/app:1.2", None),
        ("[::1]:5000/team/app:1.2", None),
        ("ghcr.io/acme/app@sha256:" + "0" * 64, None),
        ("ghcr.io/acme/app:1.0@sha512:" + "0" * 128, None),
        ("sha256:" + "1" * 64, None),
        ("1" * 64, None),
        ("redis:latest", "'redis:latest' uses :latest"),
        ("redis", "'redis' has no tag, so Docker pulls :latest"),
        (
            "localhost:5000/team/app",
            "'localhost:5000/team/app' has no tag, so Docker pulls :latest",
        ),
        ("redis:alpine", "'redis:alpine' uses the floating tag :alpine"),
        (
            "redis@sha256:" + "A" * 64,
            f"'redis@sha256:{'A' * 64}' has a malformed digest: sha256 takes exactly 64 lowercase "
            "hex digits",
        ),
        (
            "redis@sha256:xyz",
            "'redis@sha256:xyz' has a malformed digest: sha256 takes exactly 64 lowercase hex "
            "digits",
        ),
        (
            "redis:7@sha256:" + "a" * 65,
            f"'redis:7@sha256:{'a' * 65}' has a malformed digest: sha256 takes exactly 64 "
            "lowercase hex digits",
        ),
        (
            "redis@md5:" + "a" * 32,
            f"'redis@md5:{'a' * 32}' has a digest with an unknown algorithm 'md5' (use sha256)",
        ),
        (
            "sha256:abc",
            "'sha256:abc' is a malformed image ID: sha256 takes exactly 64 lowercase hex digits",
        ),
        ("Redis:7", "'Redis:7' is not a valid image reference"),
        ("redis:", "'redis:' is not a valid image reference"),
        ("redis:7 ", "'redis:7 ' is not a valid image reference"),
        ("redis:-7", "'redis:-7' is not a valid image reference"),
        ("re dis:7", "'re dis:7' is not a valid image reference"),
        ("", "'' is not a valid image reference"),
        (
            "a/" + "b" * 254 + ":1",
            f"'a/{'b' * 254}:1' is not a valid image reference (names are at most 255 characters)",
        ),
    ],
)
def test_image_problem(grammar, ref, problem):
    assert grammar.image_problem(ref) == problem


@GRAMMARS
@pytest.mark.parametrize(
    ("ref", "repository"),
    [
        ("nginx", "docker.io/library/nginx"),
        ("nginx:1.27.4-alpine", "docker.io/library/nginx"),
        ("library/nginx@sha256:" + "a" * 64, "docker.io/library/nginx"),
        ("index.docker.io/grafana/grafana:11", "docker.io/grafana/grafana"),
        ("gcr.io/cadvisor/cadvisor:v0.49.1", "gcr.io/cadvisor/cadvisor"),
        ("localhost/app:1", "localhost/app"),
        ("localhost:5000/app:1", "localhost:5000/app"),
        ("sha256:" + "a" * 64, None),
        ("nginx@sha256:abc", None),
    ],
)
def test_repository_is_what_docker_pulls(grammar, ref, repository):
    assert grammar.repository(ref) == repository
