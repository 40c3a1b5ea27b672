"""The Docker labels the program puts on what it creates, and that other tools read back.

The policy pack (policy/policies/core.py) reads the service and metrics labels, `commands plan`
the service and job labels, Prometheus the service label through cAdvisor; the pack cannot import
the program, so tests/policy/test_shared_rules.py checks its copies equal these.
"""

from __future__ import annotations

import re
from typing import Final

LABEL_PREFIX: Final = "com.investment-platform"
SERVICE_LABEL: Final = f"{LABEL_PREFIX}.service"
"""The catalogue service a container or volume belongs to."""
TIER_LABEL: Final = f"{LABEL_PREFIX}.tier"
"""The service's tier (edge, app, data, ops)."""
STACK_LABEL: Final = f"{LABEL_PREFIX}.stack"
"""The Pulumi stack that created it."""
DATA_LABEL: Final = f"{LABEL_PREFIX}.data"
"""On volumes: `true` when it holds data (protected), `false` for regenerated config."""
JOB_LABEL: Final = f"{LABEL_PREFIX}.job"
"""On one-shot job containers (config writer, migrations): the job's role."""
METRICS_LABEL_PREFIX: Final = f"{LABEL_PREFIX}.metrics."
"""One label per metrics endpoint (`<prefix><job>` = `port:path`), for the policy pack."""


def job_gate_label(role: str) -> str:
    """The service container's label holding the fingerprint of its `role` job's success."""
    return f"{JOB_LABEL}.{role}"


def metrics_label(job: str) -> str:
    """The label declaring metrics endpoint `job`."""
    return f"{METRICS_LABEL_PREFIX}{job}"


def cadvisor_label(label: str) -> str:
    """The Prometheus label cAdvisor gives a whitelisted container label: `container_label_`
    plus the label with every character outside [a-zA-Z0-9_] replaced by `_`."""
    return "container_label_" + re.sub(r"[^a-zA-Z0-9_]", "_", label)
