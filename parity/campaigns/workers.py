"""Where a campaign's designs run: in this process, in N spawned worker processes, or on a Dask cluster.

R equivalent: none (harness plumbing).  Every worker process owns one embedded R (R is single-threaded
and must be called from its process's main thread, see :mod:`parity.r.session`), started once when the
worker starts and then reused for every design it is sent: R's start-up (library(lme4), reference.R;
about 2-6 s) is paid once per worker, not per design.  Workers are *spawned* (a fresh interpreter),
never forked from a process whose R is running.

Designs are generated in the calling process (Hypothesis; :func:`parity.campaigns.seeding.campaign_designs`)
and sent in chunks; outcomes come back and are merged in design order, so a campaign's outcomes, and
therefore its shrinking and reproducers (done afterwards in the calling process), are the same for any
number of workers.

On Dask, a task runs on one of the worker's threads, where R cannot run; each Dask worker process
therefore keeps one spawned helper process with its own R (created by its first task, reused by the
next ones) and forwards the chunk to it.  A nanny-managed Dask worker is a daemonic process by default,
which may not have children: start the workers with ``DASK_DISTRIBUTED__WORKER__DAEMON=False`` (dask
config ``distributed.worker.daemon: false``), as the LocalCluster test does.
"""
from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from parity.adapter.pyreterms_lformula import Impl, load_impl
from parity.r import session as rsession

__all__ = ["ChunkJob", "run_chunk", "Runner", "LocalRunner", "ProcessRunner", "DaskRunner", "make_runner",
           "ordered_outcomes", "spawn_environment", "CHUNK"]

#: designs per task sent to a worker (small enough to balance, large enough to amortise the round trip)
CHUNK = 8


@dataclass(frozen=True)
class ChunkJob:
    """What a worker needs besides the designs: the implementation (a ``module:function`` spec, or a
    module-level callable, pickled by reference) and :func:`parity.campaigns.fuzz.run_design`'s options."""

    run: Callable[..., Any]  # parity.campaigns.fuzz.run_design (passed in: fuzz imports this module)
    impl: Impl | str | None
    level: str
    time_limit: float | None
    py_time_limit: float | None
    ignore: frozenset[str]
    only: tuple[str, ...]


#: LD_LIBRARY_PATH before this process started R (imported before R starts: parity.campaigns.fuzz imports us)
_LD_BEFORE_R = os.environ.get("LD_LIBRARY_PATH")


@contextlib.contextmanager
def spawn_environment() -> Iterator[None]:
    """The environment of processes spawned here: as before R started.  Starting R prepends R's library
    directories (``/usr/lib/R/lib:/usr/lib/x86_64-linux-gnu:...``) to LD_LIBRARY_PATH, and a child
    Python then loads the system's libpython instead of its own (seen: ``import ssl`` failing with
    ``undefined symbol: _PyModule_Add`` in Dask's workers).  Call from the main thread."""
    now = os.environ.get("LD_LIBRARY_PATH")
    if now == _LD_BEFORE_R:
        yield
        return
    if _LD_BEFORE_R is None:
        del os.environ["LD_LIBRARY_PATH"]
    else:
        os.environ["LD_LIBRARY_PATH"] = _LD_BEFORE_R
    try:
        yield
    finally:
        if now is not None:
            os.environ["LD_LIBRARY_PATH"] = now


_IMPLS: dict[Any, Impl] = {}


def _impl(spec: Impl | str | None) -> Impl:
    if callable(spec):
        return spec
    if spec not in _IMPLS:
        _IMPLS[spec] = load_impl(spec)
    return _IMPLS[spec]


def run_chunk(job: ChunkJob, designs: list) -> list:
    """Run ``designs`` one after the other in this process (its R started on first use); the
    :class:`parity.campaigns.fuzz.DesignOutcome` of each, in order."""
    rsession.start()
    fn = _impl(job.impl)
    return [job.run(d, fn, level=job.level, time_limit=job.time_limit, ignore=job.ignore,
                            py_time_limit=job.py_time_limit, only=job.only) for d in designs]


def worker_versions() -> dict[str, str]:
    """R, lme4, Matrix and rpy2 versions as a worker sees them (:func:`parity.r.session.versions`)."""
    return rsession.versions()


def _exit_with_parent(parent: int) -> None:
    """Exit once the process that spawned this worker is gone (a Dask worker closing does not shut its
    helper's pool down, and an orphaned worker would otherwise wait for work for ever)."""
    while os.getppid() == parent:
        time.sleep(2.0)
    os._exit(0)


def _start_worker() -> None:
    """A spawned worker's initializer: start R now, so that its start-up is not counted in a design;
    exit when the parent process does."""
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    rsession.start()


class Runner:
    """Runs chunks of designs; ``submit`` returns a future of the chunk's outcomes."""

    workers: int = 1

    def submit(self, job: ChunkJob, designs: list) -> Any:
        raise NotImplementedError

    def versions(self) -> dict[str, str]:
        """The versions of the R the designs ran in (a worker's: the calling process needs no R)."""
        return dict(self._call(worker_versions))

    def _call(self, fn: Callable[[], Any]) -> Any:
        return fn()

    def close(self) -> None:
        return None


class LocalRunner(Runner):
    """In this process (``--workers 1``, the default): no pool, no pickling."""

    def submit(self, job: ChunkJob, designs: list) -> Future:
        f: Future = Future()
        f.set_result(run_chunk(job, designs))
        return f


class ProcessRunner(Runner):
    """``--workers N``: N spawned processes, each with its own embedded R."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_worker)

    def submit(self, job: ChunkJob, designs: list) -> Future:
        with spawn_environment():  # the pool spawns its processes lazily, on submit
            return self.pool.submit(run_chunk, job, designs)

    def _call(self, fn: Callable[[], Any]) -> Any:
        with spawn_environment():
            return self.pool.submit(fn).result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


_HELPER: ProcessPoolExecutor | None = None
_HELPER_LOCK = threading.Lock()


def _dask_versions() -> dict[str, str]:
    return dict(_dask_task(None, []))


def _dask_task(job: ChunkJob | None, designs: list) -> Any:
    """A Dask task: forward the chunk to this Dask worker's helper process (one R per Dask worker)."""
    global _HELPER
    if multiprocessing.current_process().daemon:
        raise RuntimeError("this Dask worker is a daemonic process and cannot start its R process: start the "
                           "workers with DASK_DISTRIBUTED__WORKER__DAEMON=False (config distributed.worker.daemon)")
    with _HELPER_LOCK:  # one chunk at a time per R, whatever the worker's thread count
        if _HELPER is None:
            _HELPER = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                          initializer=_start_worker)
            with spawn_environment():
                fut = _HELPER.submit(run_chunk, job, designs) if job else _HELPER.submit(worker_versions)
        else:
            fut = _HELPER.submit(run_chunk, job, designs) if job else _HELPER.submit(worker_versions)
        return fut.result()


class DaskRunner(Runner):
    """``--dask ADDRESS``: the chunks go to a Dask distributed scheduler (``tcp://host:8786``), or to a
    ``distributed.Client``/``LocalCluster`` given directly."""

    def __init__(self, address: Any) -> None:
        from distributed import Client  # noqa: PLC0415 - an optional extra ([dask])

        self.own = not isinstance(address, Client)
        self.client = Client(address) if self.own else address
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def submit(self, job: ChunkJob, designs: list) -> Any:
        return self.client.submit(_dask_task, job, designs, pure=False)

    def _call(self, fn: Callable[[], Any]) -> Any:
        return self.client.submit(_dask_versions, pure=False).result()

    def close(self) -> None:
        if self.own:
            self.client.close()


def make_runner(workers: int = 1, dask: Any = None) -> Runner:
    """The runner for ``parity fuzz --workers N`` / ``--dask ADDRESS``."""
    if dask is not None:
        return DaskRunner(dask)
    if workers < 1:
        raise ValueError(f"--workers must be at least 1 (got {workers})")
    return LocalRunner() if workers == 1 else ProcessRunner(workers)


def _chunks(designs: Iterable, size: int) -> Iterator[list]:
    buf: list = []
    for d in designs:
        buf.append(d)
        if len(buf) == size:
            yield buf
            buf = []
    if buf:
        yield buf


def ordered_outcomes(runner: Runner, job: ChunkJob, designs: Iterable, *,
                     stop: Callable[[Any], bool] = lambda o: False, chunk: int = CHUNK) -> Iterator:
    """The outcomes of ``designs`` in design order, at most ``2 * workers`` chunks in flight; after the
    first outcome for which ``stop`` is true nothing more is yielded (and no more is sent), so what is
    yielded does not depend on the number of workers."""
    if isinstance(runner, LocalRunner):
        chunk = 1  # in process: one design at a time (stop_at_first wastes nothing)
    pending: deque = deque()
    source = _chunks(designs, chunk)
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < 2 * runner.workers:
                nxt = next(source, None)
                if nxt is None:
                    exhausted = True
                else:
                    pending.append(runner.submit(job, nxt))
            if not pending:
                return
            for o in pending.popleft().result():
                yield o
                if stop(o):
                    return
    finally:
        for f in pending:
            f.cancel()
