"""What crosses between the `loadtest` command and its Locust runner process, as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from commands.loadtest.report import RequestResult
from commands.loadtest.scenario import PLATFORM, Endpoint, Plan, single_url


@dataclass(frozen=True)
class RunSpec:
    """What to run: against which host, which requests, how many at once."""

    host: str
    """scheme://host[:port], without a path."""
    path: str | None
    """Single-URL mode: the path and query to request; None: the platform scenario."""
    requests: int | None
    """Exactly this many requests; None for a timed run."""
    duration: float | None
    """Seconds to keep issuing requests; None for a bounded run."""
    users: int
    """Locust users, hence requests in flight at most."""
    timeout: float
    """Seconds to connect, and to wait for each read."""

    def __post_init__(self) -> None:
        if (self.requests is None) == (self.duration is None):
            raise ValueError("a run is bounded by exactly one of requests and duration")

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return PLATFORM if self.path is None else single_url(self.path)

    def plan(self) -> Plan:
        return Plan(self.endpoints, self.requests)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class RunResult:
    """What the runner measured: every request with its endpoint, and what the scenario raised."""

    wall_seconds: float
    requests: list[tuple[str, RequestResult]]
    exceptions: list[str]

    def to_message(self) -> dict[str, Any]:
        return {
            "event": "result",
            "wall_seconds": self.wall_seconds,
            "requests": [[name, r.seconds, r.status, r.error] for name, r in self.requests],
            "exceptions": self.exceptions,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> RunResult:
        return cls(
            wall_seconds=float(message["wall_seconds"]),
            requests=[
                (str(name), RequestResult(float(seconds), status, error))
                for name, seconds, status, error in message["requests"]
            ],
            exceptions=[str(e) for e in message["exceptions"]],
        )
