"""``parity bench --background-load``: the load processes run during the block, alternate between a
Python and a BLAS loop, burn CPU, and are gone afterwards (no timing assertions)."""
from __future__ import annotations

import os
import time

import pytest

from parity.bench.bgload import background_load, load_kinds


def _children() -> set[int]:
    me = str(os.getpid())
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == me and fields[0] != "Z":
                out.add(int(d))
    return out


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_kinds_alternate() -> None:
    assert load_kinds(3) == ("python", "blas", "python")
    assert load_kinds(0) == ()


def test_load_runs_and_stops() -> None:
    before = _children()
    with background_load(2, warmup=0.5) as info:
        kids = _children() - before
        assert len(kids) == 2 and info.k == 2 and "2 CPU-bound processes" in info.describe()
        t0 = {p: _cpu_ticks(p) for p in kids}
        time.sleep(0.5)
        assert all(_cpu_ticks(p) > t0[p] for p in kids)  # they burn CPU
    assert not (_children() & kids)


def test_negative_load_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        with background_load(-1):
            pass
