"""Design-level shrinking: delete formula terms, options and rows while a design still fails.

R equivalent: none (this is the harness' own delta debugging).  Hypothesis' shrinker works on the
choices that generated a design; it simplifies structure well but removes rows only through the
seed of the row generator, so at the fit level (one R fit per attempt) it stopped at ~100 rows.
:func:`reduce_design` works on the design itself: it drops bar and fixed terms, ``weights``,
``offset`` and ``contrasts``, then rows (chunks of halving size, ddmin style), then unused columns,
each kept only if ``fails`` still says True, until nothing changes or the deadline passes.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from parity import components
from parity.campaigns.approxterms import split_terms
from parity.campaigns.seeding import StillFails, focus_of, hypothesis_run
from parity.campaigns.strategies import Design, design_key

__all__ = ["reduce_design", "split_terms", "size_key", "shrink_failure", "lformula_component"]


class _OutOfTime(BaseException):
    """Stops Hypothesis' shrinker when its half of the budget is spent."""


def theta_independent(target: str) -> bool:
    """Whether a fit-level ``target`` is evaluated at lme4's theta (so pinning is harmless): anything but
    the optimizer's outputs and lmer()'s conditions (README: tolerances; :mod:`parity.components`)."""
    comp = components.lookup(target)
    return comp is None or not (comp.optimizer_output or (comp.kind == "condition" and comp.level == "fit"))


def pin_theta(impl: Callable) -> Callable:
    """``impl`` with its fitted theta reported as lme4's (R: none).  Shrinking a failure in a
    component evaluated at lme4's theta then never runs the theta rule's lme4-against-itself fits
    (30 lmer() runs per attempt when the implementation's optimum differs)."""
    def pinned(formula: str, data: Any, **kw: Any) -> dict:
        out = impl(formula, data, **kw)
        key = 'getME(fit, "theta")'
        th = kw.get("theta")
        if th is not None and isinstance(out, dict) and key in out and hasattr(out[key], "x"):
            out[key] = replace(out[key], x=np.asarray(th, dtype=np.float64))
        return out
    return pinned


def size_key(d: Design) -> tuple:
    """Smaller is simpler: bar terms, rows, formula length, columns."""
    return (d.n_bars, d.n, len(d.formula), d.data.shape[1])


def _is_bar(term: str) -> bool:
    return term.startswith("(") and "|" in term


def _with_terms(d: Design, lhs: str, terms: list[str]) -> Design:
    return replace(d, formula=f"{lhs} ~ " + " + ".join(terms))


def _referenced(d: Design) -> set[str]:
    names = set(re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*", d.formula)) | {d.weights, d.offset} - {None}
    return {c for c in d.data.columns if c in names}


def _rows(d: Design, keep: np.ndarray) -> Design:
    return replace(d, data=d.data.loc[keep].reset_index(drop=True))


Fails = Callable[[Design], bool]
Live = Callable[[], bool]


def _drop_terms(d: Design, lhs: str, fails: Fails, live: Live) -> tuple[Design, bool]:
    """Delete one term at a time (bars first, by position: a term may repeat) while a bar remains."""
    changed, j = False, 0
    while live():
        terms = sorted(split_terms(d.formula.split("~", 1)[1]), key=lambda t: not _is_bar(t))
        if j >= len(terms):
            break
        rest = terms[:j] + terms[j + 1:]
        if any(_is_bar(u) for u in rest):
            cand = _with_terms(d, lhs, rest)
            if fails(cand):
                d, changed = cand, True
                continue
        j += 1
    return d, changed


def _simplify_bars(d: Design, lhs: str, fails: Fails, live: Live) -> tuple[Design, bool]:
    """Replace a bar by ``(1 | v)`` for one of its grouping variables ``v``."""
    changed = False
    for t in [t for t in split_terms(d.formula.split("~", 1)[1]) if _is_bar(t)]:
        for v in dict.fromkeys(re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*", t.split("|")[-1])):
            simple = f"(1 | {v})"
            terms = split_terms(d.formula.split("~", 1)[1])
            if not live() or simple == t or t not in terms:
                continue
            terms[terms.index(t)] = simple
            cand = _with_terms(d, lhs, terms)
            if fails(cand):
                d, changed = cand, True
                break
    return d, changed


def _drop_options(d: Design, fails: Fails, live: Live) -> tuple[Design, bool]:
    """Drop the weights, the offset, the contrasts (each in turn)."""
    changed = False
    options: tuple[tuple[str, Any], ...] = (("weights", None), ("offset", None), ("contrasts", ()))
    for opt in options:
        if live() and getattr(d, opt[0]) not in (None, ()):
            cand = replace(d, **{opt[0]: opt[1]})
            if fails(cand):
                d, changed = cand, True
    return d, changed


def _drop_rows(d: Design, fails: Fails, live: Live) -> tuple[Design, bool]:
    """Delete chunks of rows, halving the chunk when a pass deletes nothing (at least 2 rows stay)."""
    changed = False
    chunk = max(1, d.n // 2)
    while chunk >= 1 and live():
        i, progressed = 0, False
        while i < d.n and live():
            keep = np.ones(d.n, dtype=bool)
            keep[i:i + chunk] = False
            if keep.sum() >= 2:
                cand = _rows(d, keep)
                if fails(cand):
                    d, progressed, changed = cand, True, True
                    continue
            i += chunk
        if not progressed:
            chunk //= 2
    return d, changed


def _drop_unused_columns(d: Design, fails: Fails, live: Live) -> tuple[Design, bool]:
    """Drop the columns the formula, weights and offset do not name."""
    unused = [c for c in d.data.columns if c not in _referenced(d)]
    if unused and live():
        cand = replace(d, data=d.data.drop(columns=unused))
        if fails(cand):
            return cand, True
    return d, False


def reduce_design(d: Design, fails: Fails, deadline: float) -> Design:
    """The smallest design reachable from ``d`` by deletions that keep ``fails`` true (``d`` itself
    must fail).  Stops at ``deadline`` (``time.perf_counter()`` seconds).  One pass tries each kind of
    simplification in order (terms, bars, options, rows, columns); passes repeat while one changes ``d``."""
    def live() -> bool:
        return time.perf_counter() < deadline

    changed = True
    while changed and live():
        lhs = d.formula.split("~", 1)[0].strip()
        d, c1 = _drop_terms(d, lhs, fails, live)
        d, c2 = _simplify_bars(d, lhs, fails, live)
        d, c3 = _drop_options(d, fails, live)
        d, c4 = _drop_rows(d, fails, live)
        d, c5 = _drop_unused_columns(d, fails, live)
        changed = c1 or c2 or c3 or c4 or c5
    return replace(d, description=f"{d.description}; shrunk to n={d.n}" if "shrunk" not in d.description
                   else d.description)


def lformula_component(name: str) -> bool:
    """Whether a component is one of ``lFormula()``'s (the same at both levels, so a fit-level
    failure there can be shrunk with lFormula() calls only)."""
    comp = components.lookup(name)
    return comp is not None and comp.level == "lformula" and comp.kind == "value"


def shrink_failure(cfg: Any, target: str, level: str, first: Any, evaluate: Callable,
            cache: dict, prog: Any) -> tuple[Any, int, float]:
    """The smallest design found that still fails on ``target`` (R: none -- Hypothesis' shrinker,
    then :func:`parity.campaigns.shrink.reduce_design`, driving pyreterms_reference()).  For lFormula()-level
    attempts Hypothesis replays the exploration (cached) up to the failure and shrinks for a third
    of ``cfg.shrink_seconds``; the design-level reducer deletes terms and rows for the rest (for
    fit-level attempts, all of it).  A target among lFormula()'s components
    is shrunk with lFormula()-level calls even in a fit-level campaign.  Past the budget, unseen
    designs count as passing, so both stop."""
    from hypothesis import Phase

    t0 = time.perf_counter()
    calls = [0]
    at = "lformula" if level == "fit" and lformula_component(target) else \
        "fit-pinned" if level == "fit" and theta_independent(target) else level

    def fails(d: Design, until: float) -> bool:
        k = design_key(d)
        for lv in (level, at):
            if (k, lv) in cache:
                return target in cache[(k, lv)].failing
        if time.perf_counter() > until:
            return False
        calls[0] += 1
        return target in evaluate(d, at).failing

    raised: list[Design] = []
    # Hypothesis' shrinker gets a third of the budget for lFormula()-level attempts; at the fit level
    # (one lmer() fit per attempt, often plus lme4-against-itself runs) the design-level reducer,
    # which removes rows far faster, gets all of it
    half = t0 + (cfg.shrink_seconds / 3 if at == "lformula" else 0.0)

    def body(d: Design) -> None:
        if time.perf_counter() > half and raised:
            raise _OutOfTime  # a BaseException: Hypothesis stops at once (its best so far is raised[-1])
        if fails(d, half):
            raised.append(d)
            raise StillFails(target)

    prog.message(f"shrinking {target} ...")
    if at == "lformula":
        try:
            # replays the stream the design came from (parity.campaigns.seeding) up to the failure, then shrinks
            hypothesis_run(cfg.seed, cfg.hazards, (Phase.generate, Phase.shrink), body, focus=focus_of(first.design))
        except (Exception, _OutOfTime):  # noqa: BLE001 - the shrunk failure (or Flaky) surfaces here by design
            pass
    best = min([first.design, *raised[-1:]], key=size_key)  # Hypothesis replays the minimal one last
    end = t0 + cfg.shrink_seconds
    best = reduce_design(best, lambda d: fails(d, end), end)
    out = evaluate(best)  # at the campaign's level, for the reproducer and the report
    if target not in out.failing:
        out = first
    return out, calls[0], time.perf_counter() - t0
