"""Build something once per test session, however many pytest-xdist workers ask for it: the first worker to
ask builds it under a file lock in the directory all workers of the session share (the parent of each worker's
``basetemp``, as pytest's documentation does it) and every other worker waits for it and reuses it; without
xdist, the session's own ``basetemp``.  Used by the ``built_site`` and ``wheel`` fixtures of tests/conftest.py."""
from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

import pytest

#: the file in a build's directory that says the build finished (it holds the path of the result)
DONE = "done.txt"


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory every process of this test session sees: the workers' common parent under xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Path]) -> Path:
    """The result of ``build(directory)`` for ``name``, built by one process of the session (under a lock) and
    reused by the others.  A build that raised is retried by the next process that asks (and fails there too)."""
    d = shared_root(tmp_path_factory) / f"built-once-{name}"
    d.mkdir(exist_ok=True)
    with open(d.parent / f"built-once-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = d / DONE
            if done.is_file():
                return Path(done.read_text(encoding="utf-8"))
            out = build(d / "out")
            done.write_text(str(out), encoding="utf-8")
            return out
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
