"""BLAS threads for a fit: pinning (``LmerControl.blas_threads``) and the measured choice that
``"auto"`` makes for the optimizer's evaluations of a large dense factor.

R equivalent: none -- lme4 runs whatever BLAS R links (reference BLAS: one thread).  Here numpy and
scipy each bundle an OpenBLAS; a second thread for scipy's LAPACK ``dpotrf`` makes a large factor
~1.5x faster on an idle 2-core machine but up to 2x SLOWER beside any other CPU-bound process
(OpenBLAS workers spin-wait for a core that is busy).  No static rule (core count, load average)
predicts which one wins, so :class:`ThreadTuner` measures it, twice: right before any two-thread
evaluation it checks that a second core is free now and was over the last minute
(:func:`second_core_free`: ``procs_running`` and the load average; one two-thread evaluation beside a
busy core was measured ~13x slower than one thread), and it times the evaluations themselves: two
threads are tried only after single-thread references exist, kept only while faster, re-probed with
backoff, and given up for the fit after one that took more than twice a single-thread evaluation.

The threadpoolctl controller is built once per process (building it reads ``/proc/self/maps`` and
costs milliseconds, more than a whole small-model fit's evaluations).
"""
from __future__ import annotations

import contextlib
import functools
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

#: evaluations between re-probes of the setting not in use (doubles after each probe that loses)
PROBE_EVERY = 8
#: two threads are kept only when faster than this fraction of the single-thread time
KEEP_IF_BELOW = 0.95
#: a two-thread evaluation slower than this many single-thread ones ends two threads for the fit
GIVE_UP_ABOVE = 2.0


@functools.cache
def controller() -> ThreadpoolController:
    """The process's threadpoolctl controller (built once: the BLAS libraries load at import)."""
    return ThreadpoolController()


@functools.cache
def scipy_lapack() -> Any | None:
    """The OpenBLAS controller of scipy's LAPACK (the ``dpotrf`` of the factor), or None when it
    cannot be told apart from numpy's."""
    libs = [lib for lib in controller().lib_controllers
            if lib.user_api == "blas" and "scipy" in lib.filepath.replace("\\", "/").split("/")[-2]]
    return libs[0] if len(libs) == 1 else None


def own_running() -> int | None:
    """This process's runnable threads (state ``R`` in ``/proc/self/task/*/stat``; the calling thread
    is one), or None where that is not available (not Linux)."""
    n = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return None
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:  # the thread ended meanwhile
            continue
        fields = stat[stat.rfind(b")") + 1:].split()
        if fields and fields[0] == b"R":
            n += 1
    return n


def others_of(procs_running: int, own: int | None) -> int:
    """Runnable tasks of other processes: ``procs_running`` less this process's runnable threads
    (``own``; at least 1, the caller; unknown: 1)."""
    return procs_running - (1 if own is None else max(own, 1))


def other_running(samples: int = 3) -> int | None:
    """The most runnable tasks of OTHER processes seen in ``samples`` reads of ``/proc/stat``
    (``procs_running``, instantaneous; Linux) less this process's own runnable threads, or None where
    that is not available.  Why our own threads are subtracted: after a two-thread LAPACK call
    OpenBLAS's worker thread stays runnable, spin-waiting for the next call, for ~50-100 ms (measured:
    ``procs_running`` one higher on an idle machine 1-50 ms after a two-thread ``dpotrf``), so a
    count of all runnable tasks read that busy core as another process's and the tuner dropped two
    threads on an idle machine after every probe."""
    most = 0
    own = own_running()  # (once: a spinning worker stays runnable for tens of milliseconds)
    try:
        for _ in range(samples):
            with open("/proc/stat", "rb") as fh:
                for line in fh:
                    if line.startswith(b"procs_running"):
                        most = max(most, others_of(int(line.split()[1]), own))
                        break
                else:
                    return None
    except OSError:
        return None
    return most


#: (monotonic seconds, process CPU seconds) samples of :func:`own_load` (its window's start)
_CPU_SAMPLES: deque[tuple[float, float]] = deque(maxlen=512)
#: the load average's window (the 1-minute average) and the shortest window :func:`own_load` trusts
_LOAD_WINDOW, _MIN_WINDOW = 60.0, 5.0


def own_load() -> float:
    """This process's share of the 1-minute load average, estimated as its CPU time per second over
    the last minute (all its threads; a process waiting for a core counts less than it adds to the
    load, so the estimate errs towards "busy").  0.0 until calls span :data:`_MIN_WINDOW` seconds."""
    now = (time.monotonic(), time.process_time())
    samples = _CPU_SAMPLES
    while samples and now[0] - samples[0][0] > _LOAD_WINDOW:
        samples.popleft()
    if not samples or now[0] - samples[-1][0] >= 1.0:  # (one sample a second: the window stays a minute)
        samples.append(now)
    t0, c0 = samples[0]
    if now[0] - t0 < _MIN_WINDOW:
        return 0.0
    return max(0.0, (now[1] - c0) / (now[0] - t0))


def second_core_free(samples: int = 5) -> bool:
    """Whether a second core is free now AND has been for the last minute: no other process's runnable
    task in ``samples`` reads of ``procs_running`` (:func:`other_running`) and a 1-minute load average
    below ``cores - 0.5`` after taking away this process's own share (:func:`own_load`; at least 1:
    this fit).  A two-thread evaluation that meets a busy core costs up to ~13 single-thread ones
    (measured), so an instantaneous snapshot alone is not enough.  False where unknown."""
    cores = os.cpu_count() or 1
    if cores < 2:
        return False
    try:
        load1 = os.getloadavg()[0]
    except OSError:
        return False
    if load1 - max(1.0, own_load()) >= cores - 1.5:
        return False
    others = other_running(samples)
    return others is not None and cores - others >= 2


@contextlib.contextmanager
def _limited(n: int, keep: Any | None = None) -> Iterator[None]:
    """Every BLAS at ``n`` threads except ``keep``; only libraries not already there are touched
    (OpenBLAS may start or stop worker threads on every change: a no-op must stay one)."""
    changed = []
    for lib in controller().lib_controllers:
        if lib.user_api == "blas" and lib is not keep and lib.num_threads != n:
            changed.append((lib, lib.num_threads))
            lib.set_num_threads(n)
    try:
        yield
    finally:
        for lib, before in reversed(changed):
            lib.set_num_threads(before)


@contextlib.contextmanager
def blas_threads(n: int | str | None) -> Iterator[None]:
    """Pin BLAS threads for the block: an int pins every BLAS, ``"auto"`` means 1 here (the tuner
    raises scipy's LAPACK to 2 per evaluation when that measures faster), ``"lapack2"`` pins every
    BLAS to 1 except scipy's LAPACK, which gets 2 (numpy's and scipy's OpenBLAS both at 2 threads
    spin against each other on 2 cores: ``dpotrf`` 3-5x slower); None leaves BLAS alone."""
    if n is None:
        yield
        return
    if n == "auto":
        n = 1
    lib = scipy_lapack() if n == "lapack2" else None
    if n == "lapack2" and lib is None:  # cannot tell scipy's LAPACK apart: stay single-threaded
        n = 1
    if n != "lapack2":
        with _limited(int(n)):
            yield
        return
    with _limited(1, keep=lib), _limited_one(lib, 2):
        yield


@contextlib.contextmanager
def _limited_one(lib: Any, n: int) -> Iterator[None]:
    before = lib.num_threads
    if before != n:
        lib.set_num_threads(n)
    try:
        yield
    finally:
        if before != n:
            lib.set_num_threads(before)


class ThreadTuner:
    """Runs each evaluation with 1 or 2 LAPACK threads, whichever its own timings say is faster now.

    Evaluation 1 (cold caches) is not counted, 2-3 run on one thread (references), the fourth on
    two.  Then the faster setting (median of its last 3 timings, two threads only if below
    ``KEEP_IF_BELOW`` of one thread) runs; every two-thread evaluation is checked against the
    single-thread median and a slower one switches back at once; the setting not in use is re-probed
    once after ``PROBE_EVERY`` evaluations, the interval doubling each time the probe loses (so a
    loaded machine pays a few probes per fit, an idle one keeps two threads)."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self.times: dict[int, deque[float]] = {1: deque(maxlen=3), 2: deque(maxlen=3)}
        self.current = 1
        self.n = 0
        self.interval = PROBE_EVERY
        self.next_probe = 4
        self.history: list[tuple[int, float]] = []  # (threads, seconds) per evaluation

    def _median(self, k: int) -> float:
        t = self.times[k]
        return float(np.median(t)) if t else float("inf")

    def _pick(self) -> int:
        self.n += 1
        k = self.current
        if self.n == self.next_probe:  # probe the other setting once
            k = 2 if self.current == 1 else 1
        if k == 2 and not self.core_free():  # busy machine: one thread, look again later
            if self.n == self.next_probe:
                self.next_probe = self.n + self.interval
            self.current = 1
            return 1
        return k

    def core_free(self) -> bool:
        """:func:`second_core_free` (a method so that tests can fix it)."""
        return second_core_free()

    def _learn(self, k: int, dt: float) -> None:
        if self.n == 1:
            return
        self.times[k].append(dt)
        self.history.append((k, dt))
        t1, t2 = self._median(1), self._median(2)
        if k == 2 and dt > GIVE_UP_ABOVE * t1:  # a core was busy after all: never again in this fit
            self.current, self.next_probe = 1, -1
            return
        if self.n == self.next_probe:
            better = 2 if t2 < KEEP_IF_BELOW * t1 else 1
            if better == self.current:
                self.interval *= 2  # the probe lost: look again later
            self.current = better
            self.next_probe = self.n + self.interval
        elif self.current == 2 and dt > t1:  # two threads got slower than one: back at once
            self.current = 1
            self.next_probe = self.n + self.interval

    def run(self, f: Callable[[np.ndarray], float], theta: np.ndarray) -> float:
        """``f(theta)`` under the chosen setting, timed."""
        k = self._pick()
        if k == 2:
            self.lib.set_num_threads(2)
        t0 = time.perf_counter()
        try:
            val = f(theta)
        finally:
            if k == 2:
                self.lib.set_num_threads(1)
        self._learn(k, time.perf_counter() - t0)
        return val


__all__ = ["ThreadTuner", "blas_threads", "controller", "scipy_lapack", "other_running", "others_of", "own_running",
           "own_load", "second_core_free",
           "PROBE_EVERY", "KEEP_IF_BELOW",
           "GIVE_UP_ABOVE"]
