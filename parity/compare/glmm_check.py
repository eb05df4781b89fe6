"""One GLMM design, both sides: lme4's ``glFormula()`` / ``glmer()`` against an implementation.

R equivalent of the oracle side: ``pyreterms_glmm_reference()`` in ``r_scripts/glmm_reference.R``.
Level ``glformula`` compares the formula module and the response module (y, weights, offset, n);
level ``glmer`` adds the fit: every value that is a function of the parameters is computed by the
implementation at lme4's own ``opt$par`` (c(theta, beta), PIRLS started at lme4's ``lp0``) with the
tight :data:`parity.compare.tolerances.AT_LME4_PARS` (vcov: :data:`~parity.compare.tolerances.HESSIAN`);
the optimizer's outputs (theta, beta, fixef, deviance, logLik, AIC, BIC) are each side's own optimum and,
when they differ, are judged by the GLMM theta rule (:func:`glmm_theta_rule`).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from parity import components
from parity.adapter.pyreterms_glmm import GlmmImpl, pyreterms_glmm_impl
from parity.adapter.pyreterms_lformula import run_impl
from parity.compare.check import CheckReport, not_compared_report
from parity.compare.notcompared import NotCompared
from parity.compare.selection import ALL, Selection
from parity.compare.tolerances import CRITERION, ComponentResult, compare_components
from parity.compare.verdicts import preflight
from parity.r import session as rsession
from parity.r.glmer_call import GlmerCall
from parity.r.glmm_oracle import GLMM_LEVELS, glmm_r_components
from parity.r.values import RMatrix, RValue, RVector

__all__ = ["GLMM_FTOL_ABS", "DEVFUN_ULPS", "GlmmCheckReport", "check_glmm", "glmm_theta_rule", "hessian_bound",
           "judge_glmm", "run_glmm_impl"]

#: lme4's own stopping tolerance on the criterion: ``Nelder_Mead``'s ``FtolAbs = 1e-5`` (lme4 1.1-31
#: default ``optCtrl`` of glmer's stage 2; the nAGQ = 0 stage is judged with the same number)
GLMM_FTOL_ABS = 1e-5
#: the optimizer outputs the rule explains (theta, beta and what only restates them)
#: how many units in the last place two exact implementations of glmer's deviance may differ by (the Laplace
#: value sums n deviance residuals, a log-determinant and ||u||^2: pyreterms and lme4 differ by up to 7.5
#: ulps on grouseticks at the deriv12 points; twice that)
DEVFUN_ULPS = 16
#: deriv12's step (lme4 1.1-31 ``deriv12(fun, x, delta = 1e-4)``)
DERIV12_DELTA = 1e-4
_PARAMS = ('getME(gfit, "theta")', 'getME(gfit, "beta")', "fixef(gfit)")
_CRITERIA = ("logLik(gfit)", "deviance(gfit)", "AIC(gfit)", "BIC(gfit)")
_CONDITIONS = ("glFormula(): warnings", "glFormula(): messages", "glmer(): warnings", "glmer(): messages")


@dataclass(frozen=True)
class GlmmCheckReport(CheckReport):
    """A :class:`~parity.compare.check.CheckReport` of a GLMM design (R: ``glmer(..., family, nAGQ)``)."""

    family: str = "binomial"
    link: str | None = None
    nAGQ: int = 1

    def as_json(self) -> dict:
        return {**super().as_json(), "family": self.family, "link": self.link, "nAGQ": self.nAGQ}


def _x(v: RValue | None) -> np.ndarray | None:
    return np.asarray(v.x, dtype=np.float64) if isinstance(v, RVector) and v.kind in ("double", "integer") else None


def _conditions(py: dict[str, RValue], r: dict[str, RValue], sel: Selection) -> list[ComponentResult]:
    """The conditions (warnings, messages) of both calls, compared as sorted texts."""
    out = []
    nan = float("nan")
    for key in _CONDITIONS:
        if not sel.selects(key) or (key not in r and key not in py):
            continue
        a = sorted(str(s) for s in (py[key].x if isinstance(py.get(key), RVector) else []))  # type: ignore[union-attr]
        b = sorted(str(s) for s in (r[key].x if isinstance(r.get(key), RVector) else []))  # type: ignore[union-attr]
        ok = a == b and key in py and key in r
        out.append(ComponentResult(key, ok, nan, nan, 0.0, 0.0, "" if ok else f"here {a} vs lme4 {b}"))
    return out


def hessian_bound(dev: float, hessian: np.ndarray, nth: int) -> np.ndarray:
    """Entry by entry, the largest difference in ``vcov(gfit)`` two exact implementations can show at
    the same parameters (first order).  Each deviance value deriv12 uses carries a rounding error up to
    ``e = DEVFUN_ULPS eps |dev|``; a diagonal Hessian entry ``(f+ - 2 f0 + f-) / delta^2`` then errs by at
    most ``4 e / delta^2``, an off-diagonal one (four values over ``(2 delta)^2``) by ``e / delta^2``;
    ``V = 2 H^-1`` moves by ``dV = -V dH V / 2``, so ``|dV| <= |V| E |V| / 2`` (absolute values entry by
    entry); vcov is V's beta block (rows and columns after the ``nth`` theta)."""
    k = hessian.shape[0]
    e = DEVFUN_ULPS * np.finfo(np.float64).eps * abs(dev) / DERIV12_DELTA ** 2
    E = np.full((k, k), e)
    np.fill_diagonal(E, 4 * e)
    V = np.abs(2 * np.linalg.inv(hessian))
    return np.asarray((V @ E @ V / 2)[nth:, nth:])


def _vcov_rule(comps: list[ComponentResult], py: dict[str, RValue], r: dict[str, RValue]) -> list[ComponentResult]:
    """``vcov(gfit)`` beyond :data:`~parity.compare.tolerances.HESSIAN`: judged by :func:`hessian_bound`."""
    H, dev = r.get("harness: Hessian"), _x(r.get("gdevfun(pars)"))
    th = _x(r.get('getME(gfit, "theta")'))
    if not isinstance(H, RMatrix) or dev is None or dev.size != 1 or th is None:
        return comps
    out = []
    for c in comps:
        pv, rv = py.get(c.name), r.get(c.name)
        if c.name == "vcov(gfit)" and not c.ok and isinstance(pv, RMatrix) and isinstance(rv, RMatrix):
            a, b = pv.x, rv.x
            bound = hessian_bound(float(dev[0]), np.asarray(H.x, dtype=np.float64), th.size)
            d = np.abs(a - b) if a.shape == b.shape == bound.shape else None
            ok = d is not None and bool(np.all(d <= bound)) and not any("names" in p for p in c.detail.split("; "))
            worst = float(np.max(d / bound)) if d is not None else math.inf
            c = ComponentResult(c.name, ok, c.max_abs_diff, c.max_rel_diff, c.rtol, float(np.max(bound)),
                                f"differences {'within' if ok else 'beyond'} the finite-difference Hessian's rounding "
                                f"bound, entry by entry (largest ratio {worst:.3g}; {DEVFUN_ULPS} ulps of the deviance "
                                f"{float(dev[0]):.6g}, step {DERIV12_DELTA:g}); {c.detail}")
        out.append(c)
    return out


def glmm_theta_rule(comps: list[ComponentResult], py: dict[str, RValue], r: dict[str, RValue],
                    r_here: dict[str, RValue]) -> list[ComponentResult]:
    """The GLMM theta rule.  Each side's optimum differs within lme4's own stopping tolerance when
    lme4's deviance function (``glmer(..., devFunOnly = TRUE)``, the last stage's) at the
    implementation's (theta, beta) is at most :data:`GLMM_FTOL_ABS` above lme4's optimum: then the
    parameter components pass, and the criteria are judged against lme4's values AT the
    implementation's parameters (``-devfun/2``, ``devfun + 2 df``, ``devfun + log(n) df``, the
    deviance residuals' sum ``resp$resDev()``) with the criterion tolerance.  Otherwise nothing changes."""
    d_here = _x(r_here.get("gdevfun(pars[[1]])"))
    dev_here = _x(r_here.get("gdevfun(pars[[1]]); resp$resDev()"))
    fval = _x(r.get("harness: fval"))
    df = _x(r.get('attr(logLik(gfit), "df")'))
    n_obs = _x(r.get("fitted(gfit)"))
    if d_here is None or fval is None or d_here.size != 1 or fval.size != 1:
        return comps
    gap = float(d_here[0] - fval[0])
    if not gap <= GLMM_FTOL_ABS:
        return [c if c.ok or c.name not in _PARAMS else
                ComponentResult(c.name, False, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                                f"{c.detail}; GLMM theta rule: lme4's devfun at our parameters {d_here[0]!r} is "
                                f"{gap:.3g} above lme4's optimum {fval[0]!r} (> ftol {GLMM_FTOL_ABS:g})")
                for c in comps]
    k = float(df[0]) if df is not None else math.nan
    n = float(n_obs.size) if n_obs is not None else math.nan
    expect = {"logLik(gfit)": -d_here[0] / 2, "AIC(gfit)": d_here[0] + 2 * k, "BIC(gfit)": d_here[0] + math.log(n) * k,
              "deviance(gfit)": dev_here[0] if dev_here is not None and dev_here.size == 1 else math.nan}
    out = []
    for c in comps:
        if c.ok:
            out.append(c)
        elif c.name in _PARAMS:
            out.append(ComponentResult(c.name, True, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                                       f"GLMM theta rule: lme4's devfun at our (theta, beta) is {gap:.3g} from "
                                       f"lme4's optimum (<= ftol {GLMM_FTOL_ABS:g}); {c.detail}"))
        elif c.name in expect:
            ours = _x(py.get(c.name))
            e = float(expect[c.name])
            d = abs(float(ours[0]) - e) if ours is not None and ours.size == 1 else math.inf
            ok = d <= CRITERION.rtol * abs(e)
            out.append(ComponentResult(c.name, ok, d, d / abs(e) if e else math.inf, CRITERION.rtol, 0.0,
                                       f"at our parameters, lme4's value is {e!r} (GLMM theta rule)"
                                       + ("" if ok else f"; ours {float(ours[0]) if ours is not None else None!r}")))
        else:
            out.append(c)
    return out


def check_glmm(formula: str, data: pd.DataFrame, *, family: str, link: str | None = None, nAGQ: int = 1,
               level: str = "glmer", weights: Any = None, offset: Any = None,
               impl: GlmmImpl | None = None, data_label: str = "",
               selection: Selection | None = None, time_limit: float | None = None,
               call: GlmerCall | None = None) -> GlmmCheckReport:
    """Compare one GLMM design (R: ``glFormula()`` and, at level ``glmer``, ``glmer(formula, data,
    family = family(link), nAGQ, weights, offset)``).  ``impl`` defaults to pyreterms
    (:func:`parity.adapter.pyreterms_glmm.pyreterms_glmm_impl`); a component missing on either side fails.
    ``call``: a ``glmer(...)`` call read by :func:`parity.r.glmer_call.parse_glmer_call` whose other arguments
    (control, start, verbose, subset, weights, offset, na.action, contrasts, devFunOnly) both sides run."""
    if level not in GLMM_LEVELS:
        raise ValueError(f"level must be one of {', '.join(GLMM_LEVELS)}, not {level!r}")
    try:
        preflight(formula)
        return _check(formula, data, level=level, weights=weights, offset=offset,
                      impl=impl or pyreterms_glmm_impl, data_label=data_label, selection=selection or ALL,
                      time_limit=time_limit, family=family, link=link, nAGQ=nAGQ, call=call)
    except NotCompared as e:
        rep = not_compared_report(formula, level, False, data_label, e)
        return GlmmCheckReport(rep.formula, rep.data_label, rep.level, False, rep.components, rep.versions,
                               family=family, link=link, nAGQ=nAGQ)


def _check(formula: str, data: pd.DataFrame, *, family: str, link: str | None, nAGQ: int, level: str,
           weights: Any, offset: Any, impl: GlmmImpl, data_label: str, selection: Selection,
           time_limit: float | None, call: GlmerCall | None = None) -> GlmmCheckReport:
    args: dict[str, Any] = {"family": family, "link": link, "nAGQ": nAGQ, "level": level,
                            "weights": weights, "offset": offset}
    rargs = {**args, "extra": call.r_args()} if call is not None else args
    r = glmm_r_components(formula, data, time_limit=time_limit, **rargs)

    def here(pars: np.ndarray) -> dict[str, RValue]:  # lme4's devfun at the implementation's optimum
        return glmm_r_components(formula, data, time_limit=time_limit, pars=[pars.tolist()], **rargs)

    py = run_glmm_impl(impl, formula, data, r, **args, **({"call": call} if call is not None else {}))
    comps = judge_glmm(py, r, level=level, nAGQ=nAGQ, selection=selection, here=here)
    versions = rsession.versions() if rsession.is_started() else {}
    return GlmmCheckReport(formula, data_label, level, False, tuple(comps), versions, (), selection,
                           family=family, link=link, nAGQ=nAGQ)


def run_glmm_impl(impl: GlmmImpl, formula: str, data: pd.DataFrame, r: dict[str, RValue],
                  **args: Any) -> dict[str, RValue]:
    """The implementation's components (a refusal as ``{"error": ...}``); at level glmer it is handed
    lme4's ``opt$par`` and PIRLS start (``r``'s "harness: pars", "harness: lp0"), live or stored."""
    extra: dict[str, Any] = {}
    if args.get("level") == "glmer" and "error" not in r:
        extra = {"pars": _x(r.get("harness: pars")), "lp0": _x(r.get("harness: lp0"))}
    return run_impl(impl, formula, data, **args, **extra)


def judge_glmm(py: dict[str, RValue], r: dict[str, RValue], *, level: str, nAGQ: int, selection: Selection,
               here: Callable[[np.ndarray], dict[str, RValue]] | None) -> list[ComponentResult]:
    """Every component of one GLMM design judged (the same rules live and from a golden): tolerances,
    conditions, the vcov Hessian bound, the GLMM theta rule (``here(pars)``: lme4's devfun at the
    implementation's optimum ``c(theta, beta)``, theta alone for nAGQ = 0; None: the rule is not applied),
    and a required component missing on either side fails."""
    sel = selection
    comps = compare_components(py, r, selection=sel)
    if "error" not in r and "error" not in py:
        comps += _conditions(py, r, sel)
        comps = _vcov_rule(comps, py, r)
        if level == "glmer" and here is not None and any(not c.ok and c.name in _PARAMS + _CRITERIA for c in comps):
            ours = _x(py.get('getME(gfit, "theta")'))
            beta = _x(py.get('getME(gfit, "beta")'))
            if ours is not None and beta is not None:
                comps = glmm_theta_rule(comps, py, r, here(ours if nAGQ == 0 else np.concatenate([ours, beta])))
        need = sel.required(components.required(level))
        missing = [ComponentResult(n, False, float("nan"), float("nan"), 0.0, 0.0,
                                   "required component " + ("missing here" if n not in py else "missing in R"))
                   for n in sorted(need) if n not in py or n not in r]
        comps = missing + comps
    return comps
