"""commands/loadtest/protocol.py: what the command and its Locust runner process exchange."""

from __future__ import annotations

import json
import re

import pytest

from commands.loadtest import (
    RequestResult,
    RunResult,
    RunSpec,
)


def test_run_spec_and_result_cross_the_process_boundary_unchanged():
    spec = RunSpec("http://127.0.0.1:8000", None, 40, None, 4, 10.0)
    result = RunResult(
        1.5,
        [("search", RequestResult(0.012, 200)), ("health", RequestResult(0.5, None, "E: x"))],
        ["ZeroDivisionError: division by zero (2 times)"],
    )

    assert RunSpec.from_json(spec.to_json()) == spec
    assert RunResult.from_message(json.loads(json.dumps(result.to_message()))) == result


@pytest.mark.parametrize(("requests", "duration"), [(None, None), (10, 1.0)])
def test_run_spec_is_bounded_by_exactly_one_limit(requests, duration):
    message = "a run is bounded by exactly one of requests and duration"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        RunSpec("http://h", "/", requests, duration, 1, 1.0)
