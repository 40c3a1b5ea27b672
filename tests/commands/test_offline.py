"""commands/offline.py run_program: the event loop it runs a program on is left clean."""

from __future__ import annotations

import asyncio

from commands.offline import run_program


def test_tasks_the_program_left_pending_are_cancelled_before_its_loop_closes():
    # Left pending on the closed loop, such a task is destroyed whenever the garbage collector
    # reaches it, in some later test, which then fails on an unraisable exception.
    left: list[asyncio.Task[None]] = []

    def program() -> None:
        left.append(asyncio.ensure_future(asyncio.sleep(3600)))

    run_program("dev", program=program)

    assert left[0].cancelled()
    assert left[0].get_loop().is_closed()
