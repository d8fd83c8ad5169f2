"""A per-example time limit that interrupts a hung adapter call (main thread, POSIX)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class ExampleTimeout(BaseException):
    """BaseException, so an adapter's own `except Exception` cannot swallow the time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ExampleTimeout in this thread after ``seconds`` of wall time.

    Uses SIGALRM, so it interrupts Python code and blocking system calls; a hang inside native
    code that never returns to the interpreter is caught by pytest-xdist as a crashed worker.
    Outside the main thread (or with seconds <= 0) no limit applies.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def _raise(signum, frame):
        raise ExampleTimeout(f"example exceeded the per-example time limit of {seconds:g} s")

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# A call in a compiled mode may compile a program first (torch inductor builds C++ for each new
# graph: 6-8 s on an idle 2-core machine, over a minute for a convolution's backward on a loaded
# one): its limit is this many times the per-example limit, so a slow compile is not mistaken
# for a hang. Eager calls keep the limit itself.
COMPILED_MODE_FACTOR = 5


def limit_for(seconds: float, mode: str) -> float:
    """The time limit of one call in execution ``mode`` (``seconds`` <= 0: none)."""
    return seconds * COMPILED_MODE_FACTOR if seconds > 0 and mode != "eager" else seconds

