"""``parity bench``'s timing helper: the default fit and the single-thread fit are sampled alternately, so
neither column gets the quieter minute of a shared machine."""
from __future__ import annotations

from parity.bench.run import _time, _time_each


def test_samples_alternate_after_one_warm_up_each() -> None:
    log: list[str] = []
    fs, gs = _time_each([lambda: log.append("f"), lambda: log.append("g")], 3, target=0.0)
    assert log == ["f", "g"] + ["f", "g"] * 3
    assert len(fs) == len(gs) == 3 and all(t >= 0 for t in fs + gs)


def test_single_calls_for_large_cases() -> None:
    log: list[str] = []
    fs, gs = _time_each([lambda: log.append("f"), lambda: log.append("g")], 3, single=True)
    assert log == ["f", "g"] and len(fs) == len(gs) == 1


def test_one_callable_is_timed_the_same_way() -> None:
    log: list[str] = []
    ts = _time(lambda: log.append("f"), 4, target=0.0)
    assert log == ["f"] * 5 and len(ts) == 4
