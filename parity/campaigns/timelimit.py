"""The Python side's time limit in campaigns (R's is ``setTimeLimit()``, see :mod:`parity.r.session`).

R equivalent: ``setTimeLimit(elapsed = ...)`` for the implementation under test; a SIGALRM on the
main thread.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["_PyTimeout", "_py_time_limit"]


class _PyTimeout(BaseException):
    """The implementation under test exceeded the time limit (BaseException: run_impl must not
    turn it into a refusal)."""


@contextlib.contextmanager
def _py_time_limit(seconds: float | None) -> Iterator[None]:
    """SIGALRM-based limit on the Python side (main thread only; C loops finish their call first)."""
    if not seconds or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise _PyTimeout(f"Python side exceeded the {seconds:g} s time limit")

    old = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
