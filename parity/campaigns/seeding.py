"""Seeding of campaigns: the k-th design of a seed is the same at every level and for any ``--examples``.

R equivalent: none.  Hypothesis' generation depends on ``max_examples`` (with 150 and 450 examples
of seed 11, 132 of the first 150 designs differed), so every run here uses the same
:data:`GENERATION_BUDGET` and stops Hypothesis itself (:class:`Enough`) once it has the designs it
needs.  The shrink replay uses the same budget, so it regenerates exactly the explored designs up to
the failure.

Stratification: Hypothesis builds most designs by mutating earlier ones, so a hazard drawn with
probability 0.12 per design arrived in clumps (seed 1: one design with a non-default ``contrasts=``
among the first 198).  A campaign therefore interleaves two kinds of stream: every
:data:`STRATIFY_EVERY`-th design (positions 2, 5, 8, ...) comes from a *focus stream*, one per hazard of
:func:`parity.campaigns.strategies.focus_hazards`, taken in turn, whose designs all carry that hazard
(``designs(focus=...)``, tag ``focus:<name>``); the others come from the main stream, where each hazard
has its FREQUENCIES probability.  With 20 focus hazards, every hazard is in at least
``examples // 60`` designs of a campaign (2 in 150), whatever Hypothesis does with the main stream.
"""
from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from parity.campaigns.strategies import Design, Hazards, design_key, designs, focus_hazards

#: a design strategy: ``strategy(hazards, focus=name)`` (LMM: :func:`parity.campaigns.strategies.designs`;
#: GLMM: :func:`parity.campaigns.glmm_strategies.glmm_designs`)
Strategy = Callable[..., Any]

__all__ = ["GENERATION_BUDGET", "STRATIFY_EVERY", "Enough", "StillFails", "hypothesis_run", "iter_designs",
           "campaign_designs", "first_time", "stream_seed", "focus_of"]

#: Hypothesis' max_examples for every run (never reached: campaigns stop themselves)
GENERATION_BUDGET = 100_000
#: one design in this many comes from a focus stream
STRATIFY_EVERY = 3


class Enough(Exception):
    """Raised by an exploration body once its designs are done (stops Hypothesis)."""


class StillFails(Exception):
    """Raised inside the shrink run while a design still fails on the target component."""


def _settings(phases: tuple) -> Any:
    from hypothesis import HealthCheck, Verbosity, settings

    return settings(max_examples=GENERATION_BUDGET, database=None, deadline=None, phases=phases,
                    derandomize=False, suppress_health_check=list(HealthCheck), print_blob=False,
                    report_multiple_bugs=False, verbosity=Verbosity.quiet)


def stream_seed(seed: int, focus: str | None) -> int:
    """Hypothesis' seed of a campaign stream: ``seed`` for the main stream, a fixed function of
    ``seed`` and the hazard's name for a focus stream (the same in every process)."""
    return seed if focus is None else seed * 2**32 + zlib.crc32(focus.encode())


def focus_of(d: Design) -> str | None:
    """The focus stream a design came from (its ``focus:`` tag), None for the main stream."""
    return next((t[6:] for t in d.tags if t.startswith("focus:")), None)


def hypothesis_run(seed: int, hazards: Hazards, phases: tuple, body: Callable[[Design], None],
                   focus: str | None = None, strategy: Strategy = designs) -> None:
    """Run ``body`` over the designs of the stream ``(seed, focus)`` of ``strategy`` (exceptions of
    ``body`` propagate as Hypothesis reports them)."""
    from hypothesis import given
    from hypothesis import seed as hseed

    def test(d: Design) -> None:
        body(d)

    with _no_local_constants():
        hseed(stream_seed(seed, focus))(_settings(phases)(given(strategy(hazards, focus=focus))(test)))()


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
    providers._get_local_constants = lambda: providers.Constants()  # type: ignore[attr-defined]
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
    k = design_key(d)
    if k in seen:
        return False
    seen.add(k)
    return True


_STREAMS: dict[tuple, list[Design]] = {}


def _stream(seed: int, hazards: Hazards, focus: str | None, count: int,
            strategy: Strategy = designs) -> list[Design]:
    """The first ``count`` distinct designs of a stream (memoised; regenerated with doubling)."""
    from hypothesis import Phase

    key = (seed, hazards, focus, strategy)
    have = _STREAMS.get(key, [])
    if len(have) >= count:
        return have[:count]
    want = max(count, 2 * len(have), 8)
    out: list[Design] = []
    seen: set = set()

    def body(d: Design) -> None:
        if len(out) >= want:
            raise Enough
        if first_time(d, seen):
            out.append(d)

    try:
        hypothesis_run(seed, hazards, (Phase.generate,), body, focus=focus, strategy=strategy)
    except Enough:
        pass
    _STREAMS[key] = out
    return out[:count]


def campaign_designs(seed: int, hazards: Hazards | None = None, *, strategy: Strategy = designs,
                     foci_of: Callable[[Hazards], tuple[str, ...]] = focus_hazards) -> Iterator[Design]:
    """The designs a campaign with this seed and hazards explores, in order, without end: the main
    stream with a focus stream's design at every :data:`STRATIFY_EVERY`-th position (module docs).
    A design already met in another stream is skipped.  ``strategy`` and ``foci_of`` give the kind of
    design (default the LMM's; GLMM: :mod:`parity.campaigns.glmm_strategies`)."""
    hz = hazards or Hazards()
    foci = foci_of(hz)
    seen: set = set()
    k = main = 0
    taken: dict[str, int] = {}
    while True:
        if foci and k % STRATIFY_EVERY == STRATIFY_EVERY - 1:
            f = foci[(k // STRATIFY_EVERY) % len(foci)]
            r = taken.get(f, 0)
            taken[f] = r + 1
            d = _stream(seed, hz, f, r + 1, strategy)[r]
        else:
            d = _stream(seed, hz, None, main + 1, strategy)[main]
            main += 1
        k += 1
        if first_time(d, seen):
            yield d


def iter_designs(seed: int, hazards: Hazards | None = None, count: int = 100) -> list[Design]:
    """The first ``count`` designs a campaign with this seed and hazards explores, without running
    them (the same at every level)."""
    out: list[Design] = []
    if count <= 0:
        return out
    for d in campaign_designs(seed, hazards):
        out.append(d)
        if len(out) >= count:
            break
    return out
