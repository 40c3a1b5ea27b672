"""What the policy pack repeats of the program, because it cannot import it, stays the same.

The pack runs in its own virtualenv with only policy/ on its path, so it carries a copy of the
image-reference grammar and the label names. These tests fail when one side changes alone.
"""

from __future__ import annotations

from model import imageref, labels
from model.config import check_image_pinned
from policy.policies import core, references
from render.prometheus import SERVICE_LABEL as PROMETHEUS_SERVICE_LABEL
from tests.support.tools import ROOT


def test_the_pack_carries_the_programs_image_reference_grammar_unchanged():
    program = (ROOT / "model" / "imageref.py").read_text()
    pack = (ROOT / "policy" / "policies" / "references.py").read_text()
    assert pack == program, (
        "policy/policies/references.py differs from model/imageref.py; change the model's and "
        "copy it: cp model/imageref.py policy/policies/references.py"
    )


def test_the_config_and_the_pack_agree_on_which_images_are_pinned():
    # Same grammar, and check_image_pinned refuses what image_problem reports (plus image IDs,
    # which a stack file cannot use as an image to pull).
    cases = [
        "redis:7.4.2",
        "redis",
        "redis:latest",
        "redis:alpine",
        "Redis:7",
        "ghcr.io/a/b__c:1",
        "[::1]:5000/app:1",
        "redis@sha256:" + "a" * 64,
        "redis@sha512:" + "a" * 128,
        "redis@sha256:xyz",
    ]
    for image in cases:
        try:
            check_image_pinned(image)
            accepted = True
        except ValueError:
            accepted = False
        assert accepted == (references.image_problem(image) is None), image
        assert imageref.image_problem(image) == references.image_problem(image)


def test_the_pack_reads_the_labels_the_program_writes():
    assert core.LABEL_PREFIX == labels.LABEL_PREFIX
    assert core.SERVICE_LABEL == labels.SERVICE_LABEL
    assert core.METRICS_LABEL_PREFIX == labels.METRICS_LABEL_PREFIX
    assert labels.metrics_label("backend") == "com.investment-platform.metrics.backend"


def test_prometheus_relabels_the_label_cadvisor_exports():
    assert PROMETHEUS_SERVICE_LABEL == "container_label_com_investment_platform_service"
    assert labels.cadvisor_label("a.b-c/d_E9") == "container_label_a_b_c_d_E9"
