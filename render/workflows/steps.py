"""Steps both workflows start their jobs with."""

from __future__ import annotations

from render.workflows import pins
from render.workflows.models import Step


def checkout(*, fetch_depth: int | None = None) -> Step:
    """Check out the commit; `fetch_depth=0` brings the history a base-branch comparison needs."""
    # No job pushes with git, so the token is not left in .git/config for later steps to read.
    with_: dict[str, str | int | bool] = {"persist-credentials": False}
    if fetch_depth is not None:
        with_["fetch-depth"] = fetch_depth
    return Step(name="Check out", uses=pins.CHECKOUT, with_=with_)


def setup_python(python_version: str, requirements: str) -> Step:
    """Python with pip's cache keyed on the requirement files matched by `requirements`."""
    return Step(
        name="Set up Python (pip cache)",
        uses=pins.SETUP_PYTHON,
        with_={
            "python-version": python_version,
            "cache": "pip",
            "cache-dependency-path": requirements,
        },
    )
