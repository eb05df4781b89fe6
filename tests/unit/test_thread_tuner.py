"""``blas_threads="auto"``: the thread tuner's decisions on given evaluation durations (no clock: the
durations are fed in), and that a second LAPACK thread is only set during an evaluation."""
from __future__ import annotations

import numpy as np
import pytest

from pyreterms.lmm import threads
from pyreterms.lmm.threads import PROBE_EVERY, ThreadTuner, other_running, others_of, own_running


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


def test_others_of_takes_away_this_process_s_runnable_threads() -> None:
    # an OpenBLAS worker of ours still spinning after a two-thread call is not another process
    assert others_of(2, 2) == 0
    assert others_of(3, 2) == 1
    assert others_of(2, None) == 1 and others_of(2, 0) == 1  # unknown / not seen: the caller only


def test_own_running_sees_a_busy_thread_of_this_process() -> None:
    import threading

    stop = threading.Event()
    a = np.random.default_rng(0).standard_normal((300, 300))

    def busy() -> None:  # matmul releases the GIL: the thread stays runnable while the main one reads
        while not stop.is_set():
            a @ a

    th = threading.Thread(target=busy)
    th.start()
    try:
        seen = [own_running() for _ in range(50)]
    finally:
        stop.set()
        th.join()
    if seen[0] is None:  # not Linux
        return
    assert max(n for n in seen if n is not None) >= 2


class _Clock:
    def __init__(self) -> None:
        self.wall = 1000.0
        self.cpu = 0.0

    def monotonic(self) -> float:
        return self.wall

    def process_time(self) -> float:
        return self.cpu


def test_own_load_is_cpu_per_second_over_the_last_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    import collections

    clock = _Clock()
    monkeypatch.setattr(threads, "time", clock)
    monkeypatch.setattr(threads, "_CPU_SAMPLES", collections.deque(maxlen=512))
    assert threads.own_load() == 0.0  # no window yet
    clock.wall += 2.0
    clock.cpu += 3.0
    assert threads.own_load() == 0.0  # 2 s: too short to trust
    for _ in range(10):  # 2 threads busy for 10 s
        clock.wall += 1.0
        clock.cpu += 2.0
        threads.own_load()
    assert threads.own_load() == pytest.approx(23.0 / 12.0)
    for _ in range(70):  # then one thread for 70 s: the first samples leave the window
        clock.wall += 1.0
        clock.cpu += 1.0
        threads.own_load()
    assert threads.own_load() == pytest.approx(1.0)


def test_second_core_free_discounts_only_this_process_s_own_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(threads, "other_running", lambda samples=5: 0)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.8, 1.0, 1.0))
    monkeypatch.setattr(threads, "own_load", lambda: 0.9)
    assert not threads.second_core_free()  # ~1 is this fit: 0.8 from others
    monkeypatch.setattr(threads, "own_load", lambda: 1.7)
    assert threads.second_core_free()  # our own two threads made the load
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.2, 1.0, 1.0))
    monkeypatch.setattr(threads, "own_load", lambda: 0.0)
    assert threads.second_core_free()  # the old rule: load < cores - 0.5
    monkeypatch.setattr(threads, "other_running", lambda samples=5: 1)
    assert not threads.second_core_free()
