"""``parity.campaigns.workers.ordered_outcomes`` (no R): outcomes in design order whatever order the
workers finish in, the window of chunks in flight, and the cut after the first ``stop``."""
from __future__ import annotations

from concurrent.futures import Future

import pytest

from parity.campaigns.workers import ChunkJob, Runner, make_runner, ordered_outcomes

JOB = ChunkJob(run=lambda d, fn, **kw: d, impl=None, level="lformula", time_limit=None, py_time_limit=None,
               ignore=frozenset(), only=())


class _Delayed(Runner):
    """A runner whose chunks complete in reverse order of submission (as a slow first worker would)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.submitted: list[list[int]] = []
        self.in_flight_max = 0
        self.futures: list[Future] = []

    def submit(self, job: ChunkJob, designs: list) -> Future:
        self.submitted.append(list(designs))
        f: Future = Future()
        self.futures.append(f)
        self.in_flight_max = max(self.in_flight_max, sum(not g.done() for g in self.futures))
        # complete every earlier chunk now, newest first, so completion order is reversed
        for g, ds in reversed(list(zip(self.futures, self.submitted, strict=True))):
            if not g.done() and g is not f:
                g.set_result([d * 10 for d in ds])
        if len(self.futures) % 2 == 0 or len(designs) < 3:
            f.set_result([d * 10 for d in designs])
        return f


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_outcomes_come_back_in_design_order(workers: int) -> None:
    r = _Delayed(workers)
    out = list(ordered_outcomes(r, JOB, iter(range(20)), chunk=3))
    assert out == [d * 10 for d in range(20)]
    assert r.in_flight_max <= 2 * workers


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_stop_cuts_after_the_first_stopping_outcome_for_any_worker_count(workers: int) -> None:
    r = _Delayed(workers)
    out = list(ordered_outcomes(r, JOB, iter(range(100)), stop=lambda o: o in (70, 90), chunk=3))
    assert out == [d * 10 for d in range(8)]
    assert max(max(c) for c in r.submitted) < 8 + 3 * 2 * workers  # no more sent than the window


def test_zero_workers_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="--workers must be at least 1"):
        make_runner(0)
