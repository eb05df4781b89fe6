"""Seeding of campaigns: the k-th design of a seed is the same at every level and for any ``--examples``.

R equivalent: none.  Hypothesis' generation depends on ``max_examples`` (with 150 and 450 examples
of seed 11, 132 of the first 150 designs differed), so every run here uses the same
:data:`GENERATION_BUDGET` and a campaign stops Hypothesis itself (:class:`Enough`) after its
``--examples`` designs.  The shrink replay uses the same budget, so it regenerates exactly the
explored designs up to the failure.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from .strategies import Design, Hazards, designs

__all__ = ["GENERATION_BUDGET", "Enough", "StillFails", "hypothesis_run", "iter_designs", "first_time"]

#: Hypothesis' max_examples for every run (never reached: campaigns stop themselves)
GENERATION_BUDGET = 100_000


class Enough(Exception):
    """Raised by an exploration body once its designs are done (stops Hypothesis)."""


class StillFails(Exception):
    """Raised inside the shrink run while a design still fails on the target component."""


def _settings(phases: tuple) -> Any:
    from hypothesis import HealthCheck, Verbosity, settings

    return settings(max_examples=GENERATION_BUDGET, database=None, deadline=None, phases=phases,
                    derandomize=False, suppress_health_check=list(HealthCheck), print_blob=False,
                    report_multiple_bugs=False, verbosity=Verbosity.quiet)


def hypothesis_run(seed: int, hazards: Hazards, phases: tuple, body: Callable[[Design], None]) -> None:
    """Run ``body`` over the designs of ``seed`` (exceptions of ``body`` propagate as Hypothesis
    reports them)."""
    from hypothesis import given
    from hypothesis import seed as hseed

    def test(d: Design) -> None:
        body(d)

    with _no_local_constants():
        hseed(seed)(_settings(phases)(given(designs(hazards))(test)))()


@contextlib.contextmanager
def _no_local_constants() -> Iterator[None]:
    """Hypothesis (>= 6.131) draws, 5% of the time, literals found in the source of the *local*
    modules loaded so far (pyreterms, parity, tests, the __main__ script): generation would then
    depend on the entry point and on import timing.  Here it sees none."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - another Hypothesis layout: nothing to switch off
        yield
        return
    old = getattr(providers, "_get_local_constants", None)
    if old is None or not hasattr(providers, "Constants"):
        yield
        return
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    providers._get_local_constants = lambda: providers.Constants()
    if cache is not None:
        cache.clear()  # values drawn from the constants seen before
    try:
        yield
    finally:
        providers._get_local_constants = old
        if cache is not None:
            cache.clear()


def first_time(d: Design, seen: set) -> bool:
    """Whether ``d`` is new (recorded in ``seen``): Hypothesis sometimes regenerates a design it
    already produced (~20% of draws); a campaign counts and runs each design once."""
    from .fuzz import design_key

    k = design_key(d)
    if k in seen:
        return False
    seen.add(k)
    return True


def iter_designs(seed: int, hazards: Hazards | None = None, count: int = 100) -> list[Design]:
    """The first ``count`` designs a campaign with this seed and hazards explores, without running
    them (the same at every level)."""
    from hypothesis import Phase

    out: list[Design] = []
    seen: set = set()

    def body(d: Design) -> None:
        if len(out) >= count:
            raise Enough
        if first_time(d, seen):
            out.append(d)

    try:
        hypothesis_run(seed, hazards or Hazards(), (Phase.generate,), body)
    except Enough:
        pass
    return out
