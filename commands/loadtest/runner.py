"""The Locust side of a load test: `python -m commands.loadtest.runner SPEC`.

Importing Locust monkey-patches the whole process with gevent (sockets, threads, `subprocess`,
`time.sleep`), so the `loadtest` command runs this module in a process of its own: the command's
process, its `docker stats` thread and the test suite never import Locust. The spec comes in and
the result goes out as JSON (protocol.py); only `main()` imports Locust, so the rest of this
module stays importable anywhere.

The run: `users` Locust users (FastHttpUser, one request at a time each, no think time) share one
`Plan`; a user that finds the plan exhausted stops, so at most `users` requests are ever in
flight and a bounded run sends exactly `requests`. A timed run closes the plan after `duration`
seconds and lets requests in flight finish. Every request is recorded from Locust's `request`
event with its exact time: Locust's own stats round response times into buckets, and the verdict
compares an exact p95 with its limit.

On stdout, one JSON object a line: `{"event": "progress", "completed": N}` now and then, and
last `{"event": "result", ...}`.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

from commands.loadtest.protocol import RunResult, RunSpec
from commands.loadtest.report import RequestResult

USER_AGENT = "investment-loadtest"
PROGRESS_INTERVAL_S = 0.2


def describe_error(exception: BaseException) -> str:
    return f"{type(exception).__name__}: {exception}"


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m commands.loadtest.runner SPEC_JSON", file=sys.stderr)
        return 2
    spec = RunSpec.from_json(args[0])
    out = sys.stdout
    # Whatever else prints (a library, a warning) goes to stderr; stdout carries only messages.
    sys.stdout = sys.stderr
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="locust %(levelname)s: %(message)s"
    )

    def send(message: dict[str, Any]) -> None:
        out.write(json.dumps(message, separators=(",", ":")) + "\n")
        out.flush()

    # gevent has no inline types (its stubs are a separate package); Locust's own are typed.
    import gevent  # type: ignore[import-untyped]
    from locust import FastHttpUser, constant, task
    from locust.env import Environment
    from locust.exception import StopUser

    plan = spec.plan()
    recorded: list[tuple[str, RequestResult]] = []

    class PlanUser(FastHttpUser):
        """Takes the next request of the shared plan, sends it, and stops when there is none."""

        # Locust reads these class attributes when it builds each user's HTTP client.
        host = spec.host
        wait_time = constant(0)
        network_timeout = spec.timeout
        connection_timeout = spec.timeout
        # FastHttpUser skips certificate checks by default; a load test through nginx should
        # fail on a bad certificate like a browser would.
        insecure = False
        default_headers = {"User-Agent": USER_AGENT}  # noqa: RUF012 - read as a class attribute

        @task
        def next_request(self) -> None:
            request = next(plan, None)
            if request is None:
                raise StopUser()
            self.client.get(request.path, name=request.name)

    def on_request(
        name: str,
        response_time: float,
        response: Any = None,
        exception: BaseException | None = None,
        **_: Any,
    ) -> None:
        status = getattr(response, "status_code", None) or None
        error = describe_error(exception) if exception is not None else None
        recorded.append((name, RequestResult(response_time / 1000, status, error)))

    def report_progress() -> None:
        sent = -1
        while True:
            if len(recorded) != sent:
                sent = len(recorded)
                send({"event": "progress", "completed": sent})
            gevent.sleep(PROGRESS_INTERVAL_S)

    environment = Environment(user_classes=[PlanUser], catch_exceptions=True)
    environment.events.request.add_listener(on_request)  # type: ignore[no-untyped-call]
    runner = environment.create_local_runner()
    progress = gevent.spawn(report_progress)
    if spec.duration is not None:
        gevent.spawn_later(spec.duration, plan.close)
    started = time.perf_counter()
    # Every user at once: the bound is on users in flight, not on a ramp.
    runner.start(spec.users, spawn_rate=spec.users)
    assert runner.spawning_greenlet is not None
    runner.spawning_greenlet.join()
    runner.user_greenlets.join()
    wall = time.perf_counter() - started
    progress.kill()
    runner.quit()
    exceptions = [f"{row['msg']} ({row['count']} times)" for row in runner.exceptions.values()]
    send(RunResult(wall, recorded, exceptions).to_message())
    return 0


if __name__ == "__main__":
    sys.exit(main())
