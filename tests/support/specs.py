"""Service specs for tests: the smallest valid catalogue entry, and the fields a test changes."""

from __future__ import annotations

from typing import Any

from model.catalogue import HealthCheck, ServiceSpec


def app_spec(name: str, **fields: Any) -> ServiceSpec:
    """A valid app-tier service named `name`; `fields` replace or add any ServiceSpec field.

    Built through the constructor, so every catalogue rule still checks the result.
    """
    defaults: dict[str, Any] = {
        "description": f"test service {name}",
        "tier": "app",
        "image": f"example/{name.replace('_', '-')}:1.0.0",
        "cpus": 0.1,
        "memory_mib": 64,
        "min_memory_mib": 32,
        "healthcheck": HealthCheck(test=("CMD", "true"), relies_on="true"),
        "stop_grace_s": 10,
    }
    return ServiceSpec(name=name, **{**defaults, **fields})
