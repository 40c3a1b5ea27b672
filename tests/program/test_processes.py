"""program.processes.stop: TERM first, KILL only for a process that ignores it."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

from program.processes import stop

IGNORES_TERM = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


@contextlib.contextmanager
def _python(code: str) -> Iterator[subprocess.Popen[str]]:
    """A Python child that has printed `ready` (so its signal handlers are in place); killed and
    reaped at the end whatever the test did."""
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "ready\n"
            yield child
        finally:
            if child.poll() is None:
                child.kill()


def test_a_process_that_stops_on_term_is_not_killed():
    with _python("import time; print('ready', flush=True); time.sleep(60)") as process:
        stop(process, grace_s=5)
        assert process.returncode == -signal.SIGTERM


def test_a_process_that_ignores_term_is_killed_after_the_grace():
    with _python(IGNORES_TERM) as process:
        started = time.monotonic()
        stop(process, grace_s=0.5)
        assert process.returncode == -signal.SIGKILL
        assert time.monotonic() - started >= 0.5


def test_an_exited_process_is_left_alone():
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    process.wait()
    stop(process, grace_s=5)
    assert process.returncode == 3
