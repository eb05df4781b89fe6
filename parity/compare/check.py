"""One design, both sides: run R (the oracle) and an implementation, compare every component.

R equivalent of the oracle side: ``pyreterms_reference()`` in ``r_scripts/reference.R``.  The verdict
(:class:`parity.compare.verdicts.Verdict`) is agree, disagree, both refused for the same reason, or not
compared (the harness declined: allowlist, unrepresentable data, time limit).  The explanation rules
live in :mod:`parity.compare.rules` (theta rule, lme4 against itself) and :mod:`parity.compare.conditioning`
(tolerances with a scale).
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from parity import components
from parity.adapter.pyreterms_lformula import Impl, load_impl, pyreterms_impl, run_impl
from parity.compare.conditioning import COND_MAX_Q, condition_number, within_conditioning
from parity.compare.notcompared import NotCompared
from parity.compare.rules import (
    CRIT_RTOL,
    EQUAL_OPTIMA,
    FLAT_OPTIMUM_ATOL,
    LME4_SPREAD,
    NOISY_BATCHES,
    VOLATILE,
    Lme4Spread,
    criteria_at_here,
    criterion_components,
    equivalence_verdict,
    theta_equivalence,
    volatile_in_lme4_spread,
)
from parity.compare.selection import ALL, Selection
from parity.compare.tolerances import ComponentResult, compare_components
from parity.compare.verdicts import BadFormula, Verdict, not_compared_result, preflight, verdict_of
from parity.r import session as rsession
from parity.r.oracle import r_components
from parity.r.values import RError, RValue

__all__ = ["CheckReport", "check", "r_components", "required_components", "equivalence_verdict", "condition_number",
           "criterion_components", "Lme4Spread", "NOISY_BATCHES", "EQUAL_OPTIMA", "LME4_SPREAD", "CRIT_RTOL",
           "FLAT_OPTIMUM_ATOL", "VOLATILE", "COND_MAX_Q", "BadFormula", "Verdict"]


@dataclass(frozen=True)
class CheckReport:
    """One design compared (R: ``pyreterms_reference()``'s components against the implementation's)."""

    formula: str
    data_label: str
    level: str
    REML: bool
    components: tuple[ComponentResult, ...]
    versions: dict = field(default_factory=dict)
    #: components lme4 returned that the implementation did not (parity.compare.selection: never agreement,
    #: never a disagreement; counted apart)
    not_provided: tuple[str, ...] = ()
    selection: Selection = ALL

    @property
    def verdict(self) -> Verdict:
        return verdict_of(self.components)

    @property
    def ok(self) -> bool:
        """True only for agreement (incl. both refused for the same reason): never when not compared."""
        return self.verdict in (Verdict.AGREE, Verdict.BOTH_REFUSED)

    def as_json(self) -> dict:
        return {"ok": self.ok, "verdict": self.verdict.value, "formula": self.formula, "data": self.data_label,
                "level": self.level, "REML": self.REML, "components": [c.as_json() for c in self.components],
                "not_provided": len(self.not_provided), "not_provided_components": list(self.not_provided),
                "selection": self.selection.as_json(), "versions": self.versions}


def required_components(level: str) -> set[str]:
    """Components both sides must have at a level (so an empty answer can never pass; the ``required``
    entries of :mod:`parity.components`)."""
    return components.required(level)


def _versions() -> dict:
    return rsession.versions() if rsession.is_started() else {}


def not_compared_report(formula: str, level: str, REML: bool, data_label: str, e: NotCompared) -> CheckReport:
    """The report of a design the harness declined (verdict *not compared*, never ok)."""
    return CheckReport(formula, data_label, level, REML, (not_compared_result(e.reason, e.kind),), _versions())


def check(formula: str, data: pd.DataFrame, *, REML: bool = True, level: str = "lformula",
          impl: Impl | str | None = None, weights=None, offset=None, contrasts=None, data_label: str = "",
          time_limit: float | None = None, r: dict[str, RValue] | None = None,
          timings: dict | None = None, impl_guard=None, selection: Selection | None = None) -> CheckReport:
    """Compare one design.  ``r`` may carry the oracle's components already computed (a campaign
    caches them); ``timings`` (a dict) receives the seconds spent on the R and the Python side;
    ``impl_guard`` (a context-manager factory, e.g. a time limit) wraps the implementation's run only;
    ``selection`` (``--only``/``--ignore``, :mod:`parity.compare.selection`) limits the components compared,
    and components the implementation does not provide are listed apart (``not_provided``) unless
    the implementation is pyreterms (judged strictly).

    Pre-flight (nothing runs before it): a formula pyreterms' reader cannot parse raises
    :class:`BadFormula` (bad input); one outside the allowlist gives a *not compared* report (lme4 is
    never asked); so do an R time limit and :class:`NotCompared` raised anywhere."""
    try:
        preflight(formula)
        return _check(formula, data, REML=REML, level=level, impl=impl, weights=weights, offset=offset,
                      contrasts=contrasts, data_label=data_label, time_limit=time_limit, r=r, timings=timings,
                      impl_guard=impl_guard, selection=selection)
    except NotCompared as e:
        return not_compared_report(formula, level, REML, data_label, e)


def _r_refusal_not_compared(r: dict) -> None:
    err = r.get("error")
    if isinstance(err, RError) and err.kind == "timeout":
        raise NotCompared(f"lme4 did not finish within the time limit ({err.message})", "time limit")


def _check(formula: str, data: pd.DataFrame, *, REML: bool, level: str, impl, weights, offset, contrasts,
           data_label: str, time_limit, r, timings, impl_guard, selection) -> CheckReport:
    fn = load_impl(impl) if not callable(impl) else impl
    sel = selection if selection is not None else ALL
    if fn is pyreterms_impl and not sel.strict:
        sel = Selection(sel.only, sel.ignore, True)
    not_provided: list[str] | None = None if sel.strict else []
    t0 = time.perf_counter()
    if r is None:
        r = r_components(formula, data, REML=REML, level=level, weights=weights, offset=offset,
                         contrasts=contrasts, time_limit=time_limit)
    _r_refusal_not_compared(r)
    t1 = time.perf_counter()
    extra = {}
    if level == "fit" and "error" not in r:
        th = r.get('getME(fit, "theta")')
        if th is not None and hasattr(th, "x"):
            extra["theta"] = np.asarray(th.x, dtype=np.float64)
    with (impl_guard() if impl_guard is not None else contextlib.nullcontext()):
        py = run_impl(fn, formula, data, REML=REML, level=level, weights=weights, offset=offset,
                      contrasts=contrasts, **extra)
    if timings is not None:
        timings["r"] = timings.get("r", 0.0) + (t1 - t0)
        timings["py"] = timings.get("py", 0.0) + (time.perf_counter() - t1)
    comps = compare_components(py, r, selection=sel, not_provided=not_provided)
    if level == "fit" and "error" not in r and "error" not in py:
        spread = Lme4Spread(formula, data, REML, weights, offset, contrasts, time_limit)
        r_here = None
        for i, c in enumerate(comps):
            if c.name == 'getME(fit, "theta")' and not c.ok:
                comps[i], r2 = theta_equivalence(c, py, r, formula, data, REML, weights, offset, contrasts,
                                                 time_limit, spread)
                r_here = r2 if comps[i].ok else None
        if r_here is not None:
            comps = criteria_at_here(comps, py, r_here, REML)
        if any(not c.ok and c.name in VOLATILE for c in comps):
            comps = volatile_in_lme4_spread(comps, py, spread)
        if any(not c.ok for c in comps):
            comps = within_conditioning(comps, py, r)
    if "error" not in r and "error" not in py:
        need = sel.required(required_components(level))
        missing = [ComponentResult(n, False, float("nan"), float("nan"), 0.0, 0.0,
                                   "required component " + ("missing here" if n not in py else "missing in R")
                                   + ("" if n in required_components(level) else " (named by --only)"))
                   for n in sorted(need) if n not in py or n not in r]
        comps = missing + comps
        if not comps:
            comps = [nothing_compared(sel)]
    np_ = tuple(n for n in (not_provided or ()) if n not in {c.name for c in comps})
    return CheckReport(formula, data_label, level, REML, tuple(comps), _versions(), np_, sel)


def nothing_compared(sel: Selection) -> ComponentResult:
    """The failing row of a report in which no component was compared (an empty answer never passes)."""
    nan = float("nan")
    return ComponentResult("nothing compared", False, nan, nan, 0.0, 0.0,
                           "no component was both provided and selected"
                           + (f" (--only {' '.join(sel.only)})" if sel.only else ""))
