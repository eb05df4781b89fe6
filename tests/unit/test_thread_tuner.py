"""``blas_threads="auto"``: the thread tuner's decisions on given evaluation durations (no clock: the
durations are fed in), and that a second LAPACK thread is only set during an evaluation."""
from __future__ import annotations

import numpy as np
import pytest

from pyreterms.lmm.threads import PROBE_EVERY, ThreadTuner, other_running


class FakeLib:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def set_num_threads(self, n: int) -> None:
        self.calls.append(n)


def tuner(free: bool = True) -> ThreadTuner:
    t = ThreadTuner(FakeLib())
    t.core_free = lambda: free  # type: ignore[method-assign]
    return t


def drive(tuner: ThreadTuner, cost: dict[int, float], n: int) -> list[int]:
    """The settings chosen for n evaluations when k threads take cost[k] seconds."""
    chosen = []
    for _ in range(n):
        k = tuner._pick()
        tuner._learn(k, cost[k])
        chosen.append(k)
    return chosen


def test_keeps_two_threads_when_faster() -> None:
    chosen = drive(tuner(), {1: 10.0, 2: 6.0}, 40)
    assert chosen[:4] == [1, 1, 1, 2]  # cold, two references, the probe
    assert chosen[4:11] == [2] * 7 and chosen[11] == 1  # the re-probe of one thread, which loses
    assert chosen[12:] == [2] * 28 or chosen[12:].count(1) == 1
    assert chosen.count(1) <= 3 + 40 // PROBE_EVERY


def test_stays_single_when_two_threads_lose() -> None:
    chosen = drive(tuner(), {1: 10.0, 2: 20.0}, 60)
    probes = [i for i, k in enumerate(chosen) if k == 2]
    assert probes[0] == 3
    # backoff: the gaps between probes double
    assert list(np.diff(probes)) == [2 * PROBE_EVERY, 4 * PROBE_EVERY]


def test_backs_off_two_threads_when_load_appears() -> None:
    t = tuner()
    drive(t, {1: 10.0, 2: 6.0}, 10)
    assert t.current == 2
    k = t._pick()
    t._learn(k, 15.0)  # two threads suddenly slower than one (a busy machine)
    assert t.current == 1
    assert drive(t, {1: 11.0, 2: 30.0}, 5) == [1] * 5


def test_second_thread_only_inside_an_evaluation() -> None:
    lib = FakeLib()
    t = ThreadTuner(lib)
    t.core_free = lambda: True  # type: ignore[method-assign]
    t.current, t.next_probe = 2, 10 ** 9
    t.n = 5
    assert t.run(lambda th: float(th.sum()), np.ones(3)) == 3.0
    assert lib.calls == [2, 1]

    def boom(th: np.ndarray) -> float:
        raise FloatingPointError("x")

    with pytest.raises(FloatingPointError):
        t.run(boom, np.ones(3))
    assert lib.calls[-1] == 1


def test_never_two_threads_without_a_free_core() -> None:
    assert drive(tuner(free=False), {1: 10.0, 2: 1.0}, 50) == [1] * 50


def test_other_running_reads_the_machine() -> None:
    n = other_running()
    assert n is None or n >= 0


def test_gives_up_two_threads_after_a_heavy_loss() -> None:
    t = tuner()
    chosen = drive(t, {1: 10.0, 2: 130.0}, 200)
    assert chosen.count(2) == 1 and chosen[3] == 2  # the one probe, then never again
