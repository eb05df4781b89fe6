"""Background CPU load for ``parity bench --background-load K``: K CPU-bound child processes that run
while the cases are measured, so that the numbers show what a busy machine (CI runner, laptop,
campaign worker) gets, not only an idle one.

The processes alternate between two kinds, because they hurt differently: a pure-Python loop (one
core, no memory traffic) and a BLAS matmul loop (numpy ``A @ B`` on 400 x 400 matrices, BLAS pinned to
one thread by environment, so each process is exactly one busy core).  There is no R equivalent.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

KINDS: tuple[str, ...] = ("python", "blas")

# each loop stops by itself when its parent is gone (a bench killed without running its cleanup)
_CODE = {
    "python": ("import os\nparent = os.getppid()\nx = 0\nwhile os.getppid() == parent:\n"
               "    for i in range(1_000_000):\n        x = (x + i) % 1_000_003\n"),
    "blas": ("import os\nimport numpy as np\nparent = os.getppid()\nrng = np.random.default_rng(0)\n"
             "A = rng.standard_normal((400, 400))\nB = rng.standard_normal((400, 400))\n"
             "while os.getppid() == parent:\n    C = A @ B\n"),
}
_ENV_1THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class LoadInfo:
    """What ran beside the measurement: ``k`` processes of ``kinds`` (in start order)."""

    k: int
    kinds: tuple[str, ...]

    def describe(self) -> str:
        if not self.k:
            return "none (idle apart from other users of the machine)"
        counts = {kind: self.kinds.count(kind) for kind in KINDS if kind in self.kinds}
        what = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        return f"{self.k} CPU-bound process{'es' if self.k > 1 else ''} ({what} loop, 1 thread each)"


def load_kinds(k: int) -> tuple[str, ...]:
    """The kinds of ``k`` load processes: python, blas, python, ..."""
    return tuple(KINDS[i % len(KINDS)] for i in range(k))


@contextmanager
def background_load(k: int, warmup: float = 1.0) -> Iterator[LoadInfo]:
    """Run ``k`` CPU-bound processes for the duration of the ``with`` block (``warmup`` seconds are
    given for them to start); they are terminated, by their own pids, on exit."""
    if k < 0:
        raise ValueError("the background load must be >= 0 processes")
    kinds = load_kinds(k)
    env = {**os.environ, **_ENV_1THREAD}
    procs = [subprocess.Popen([sys.executable, "-c", _CODE[kind]], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for kind in kinds]
    try:
        if procs:
            time.sleep(warmup)
            dead = [p.pid for p in procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"background load processes {dead} exited at start")
        yield LoadInfo(k=k, kinds=kinds)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


__all__ = ["KINDS", "LoadInfo", "background_load", "load_kinds"]
