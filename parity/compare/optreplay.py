"""lme4's optimizer on pyreterms' deviance values: is a different optimum rounding-decided?

When pyreterms' fitted theta and criterion differ from lme4's (README "Known differences" 9) while
its deviance agrees with lme4's to rounding, the question is whether the difference is lme4's own
optimizer reacting to last-bit differences.  :func:`lme4_optimizer_on_our_values` answers it with
evidence, on any CPU:

1. fit with pyreterms, logging every deviance evaluation ``(theta, value)`` of its optimizer
   (``pyreterms.lmm.optimize.optimize_lmer``: BOBYQA, restart_edge, check.boundary);
2. in R, run lme4's own ``optimizeLmer`` (R: ``lme4:::optimizeLmer(devfun, optimizer = "nloptwrap",
   restart_edge, boundary.tol, calc.derivs = TRUE)``) on a devfun that answers from that log (and
   counts the thetas it asks for that are not in it), then lme4's devfun at every logged theta.

The difference is explained ("rounding-decided") when lme4's optimizer asks for no theta outside
the log, stops at exactly pyreterms' point (``fval`` and ``par`` bit for bit), and every logged
value agrees with lme4's own devfun at that theta within the harness's at-theta deviance tolerance
(``devfun(theta)``, rtol 1e-10; in practice a few ulps).  Needs R.  The formula reaches R as a
string and is parsed there and checked against reference.R's allowlist before anything runs.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

import pyreterms
import pyreterms.lmm.fit as pf
from parity.compare.conditioning import pls_kappa
from parity.r import convert
from parity.r import session as rsession
from parity.r.oracle import reference

__all__ = ["OptReplay", "pyreterms_trace", "lme4_optimizer_on_our_values", "DEVFUN_RTOL"]

#: the harness's tolerance for devfun(theta) at a given theta (README tolerance table)
DEVFUN_RTOL = 1e-10


@dataclass(frozen=True)
class OptReplay:
    """The outcome of lme4's optimizer fed pyreterms' values (R: ``optimizeLmer`` on a lookup devfun)."""

    fval_py: float
    par_py: tuple[float, ...]
    fval_lme4: float  # where lme4's optimizer stopped on pyreterms' values
    par_lme4: tuple[float, ...]
    misses: int  # thetas lme4's optimizer asked for that pyreterms never evaluated
    n_evals: int
    max_rel_dev_diff: float  # max over the log of |pyreterms value - lme4 devfun| / |lme4 devfun|
    #: max over the logged thetas of the PLS system's condition number (parity.compare.conditioning's kappa,
    #: from the lFormula objects both sides share); nan when not computed (too large)
    kappa: float = float("nan")

    @property
    def devfun_tolerance(self) -> float:
        """The at-theta tolerance of README's tolerance table: 1e-10 relative, or eps * kappa where
        the PLS system is ill-conditioned (Known difference 8)."""
        k = self.kappa if np.isfinite(self.kappa) else 0.0
        return max(DEVFUN_RTOL, float(np.finfo(float).eps) * k)

    @property
    def explained(self) -> bool:
        """lme4's optimizer on these values stops exactly here, and the values are lme4's to tolerance."""
        return (self.misses == 0 and self.fval_lme4 == self.fval_py and self.par_lme4 == self.par_py
                and self.max_rel_dev_diff <= self.devfun_tolerance)

    def detail(self) -> str:
        how = "explained" if self.explained else "NOT explained"
        return (f"{how}: lme4's optimizeLmer fed pyreterms' {self.n_evals} deviance values (which agree with "
                f"lme4's devfun to {self.max_rel_dev_diff:.1e} relative; tolerance {self.devfun_tolerance:.1e}, "
                f"kappa {self.kappa:.1e}) asked for {self.misses} other theta(s) "
                f"and stopped at {float(self.fval_lme4)!r} (pyreterms: {float(self.fval_py)!r})")


def pyreterms_trace(formula: str, data: pd.DataFrame, *, REML: bool, weights=None, offset=None,
                    contrasts=None) -> tuple[Any, np.ndarray]:
    """pyreterms' fit and the (k x (p + 1)) log of its optimizer's evaluations [theta, value]."""
    log: list[list[float]] = []
    orig = pf.optimize_lmer  # type: ignore[attr-defined]  # fit's own reference, patched

    def logged(devfun, start, lower, *a, **k):
        def f(th):
            v = devfun(th)
            log.append([float(t) for t in th] + [float(v)])
            return v
        return orig(f, start, lower, *a, **k)

    pf.optimize_lmer = logged  # type: ignore[attr-defined]  # fit's own reference, patched
    try:
        fit = pyreterms.lmer(formula, data, REML=REML, weights=weights, offset=offset, contrasts=contrasts)
    finally:
        pf.optimize_lmer = orig  # type: ignore[attr-defined]  # fit's own reference, patched
    return fit, np.array(log, dtype=np.float64)


_R = """local({
  fexpr <- str2lang(..pyr_or_f..)
  bad <- pyreterms_disallowed(fexpr)
  if (!is.null(bad)) stop(sprintf("formula uses function '%s' which is not allowed", bad))
  fenv <- new.env(parent = globalenv())
  fenv$..d.. <- ..pyr_or_d..; fenv$..w.. <- ..pyr_or_w..; fenv$..o.. <- ..pyr_or_o..
  cl <- call("lmer", eval(fexpr, fenv), data = quote(..d..), REML = ..pyr_or_reml.., devFunOnly = TRUE)
  cl[[1L]] <- quote(lme4::lmer)
  if (!is.null(fenv$..w..)) cl$weights <- quote(..w..)
  if (!is.null(fenv$..o..)) cl$offset <- quote(..o..)
  if (!is.null(..pyr_or_c..)) cl$contrasts <- ..pyr_or_c..
  dd <- suppressWarnings(suppressMessages(eval(cl, fenv)))
  P <- matrix(..pyr_or_log.., nrow = ..pyr_or_n..)
  rho <- environment(dd)
  key <- function(t) paste(sprintf("%a", t + 0), collapse = ",")
  tab <- new.env()
  for (i in seq_len(nrow(P))) assign(key(P[i, -ncol(P)]), P[i, ncol(P)], envir = tab)
  rho$..tab.. <- tab; rho$..dd.. <- dd; rho$..key.. <- key; rho$..miss.. <- 0L
  f <- function(theta) {
    k <- ..key..(theta)
    if (exists(k, envir = ..tab.., inherits = FALSE)) { pp$setTheta(as.double(theta)); get(k, envir = ..tab..) }
    else { ..miss.. <<- ..miss.. + 1L; ..dd..(theta) }
  }
  environment(f) <- rho
  opt <- suppressWarnings(lme4:::optimizeLmer(f, optimizer = "nloptwrap", restart_edge = TRUE,
                                              boundary.tol = 1e-5, control = list(), calc.derivs = TRUE))
  own <- vapply(seq_len(nrow(P)), function(i) dd(P[i, -ncol(P)]), 0)  # after the run: dd sets pp's theta
  list(c(opt$fval, rho$..miss..), opt$par, own)
})"""


def lme4_optimizer_on_our_values(formula: str, data: pd.DataFrame, *, REML: bool, weights=None,
                                 offset=None, contrasts=None) -> OptReplay:
    """Fit with pyreterms (logging its evaluations) and replay the values through lme4's optimizer."""
    import rpy2.rinterface as ri

    fit, P = pyreterms_trace(formula, data, REML=REML, weights=weights, offset=offset, contrasts=contrasts)
    rsession.start()
    vec = lambda a: ri.NULL if a is None else convert.py_to_r([float(v) for v in np.asarray(a)])  # noqa: E731
    with rsession.rlock():
        g = ri.globalenv
        g["..pyr_or_f.."] = ri.StrSexpVector([formula])
        g["..pyr_or_d.."] = convert.dataframe_to_r(data)
        g["..pyr_or_w.."], g["..pyr_or_o.."] = vec(weights), vec(offset)
        g["..pyr_or_reml.."] = ri.BoolSexpVector([bool(REML)])
        g["..pyr_or_c.."] = (ri.NULL if not contrasts else
                             convert.py_to_r(dict(rsession.checked_contrasts(contrasts))))
        g["..pyr_or_log.."] = convert.py_to_r(P.ravel(order="F").tolist())
        g["..pyr_or_n.."] = ri.IntSexpVector([P.shape[0]])
    try:
        out = rsession.r_eval(_R)
    finally:
        rsession.r_eval('rm(list = ls(globalenv(), all.names = TRUE, pattern = "^[.][.]pyr_or_"), envir = globalenv())')
    head, par, own = (np.asarray(out[i], dtype=np.float64) for i in range(3))
    rel = np.abs(P[:, -1] - own) / np.abs(own)
    return OptReplay(float(fit.opt.fval), tuple(float(t) for t in fit.opt.par), float(head[0]),
                     tuple(float(t) for t in par), int(head[1]), int(P.shape[0]),
                     float(np.max(rel)) if rel.size else float("nan"), _max_kappa(fit.lf, P[:, :-1]))


def _max_kappa(lf: Any, thetas: np.ndarray, max_order: int = 1000) -> float:
    """parity.compare.conditioning.condition_number's kappa (the larger of the random-effects block's and the
    whole unit-diagonal-scaled PLS system's) at each logged theta,
    from the lFormula objects (which the campaign checked equal to lme4's); nan above ``max_order``."""
    import scipy.sparse as sp

    rt = lf.reTrms
    sw = np.sqrt(np.asarray(lf.weights, dtype=float))
    X = np.asarray(lf.X.X, dtype=float) * sw[:, None]
    if rt.Lambdat.shape[0] + X.shape[1] > max_order:
        return float("nan")
    Zw = sp.csr_matrix(rt.Zt) @ sp.diags(sw)
    out = 0.0
    for th in thetas:
        Lt = rt.Lambdat.copy()
        Lt.data = np.asarray(th, dtype=float)[rt.Lind]
        k = pls_kappa((Lt @ Zw).toarray(), X)
        if k is None or not np.isfinite(k):  # no bound to extend the tolerance with
            return float("nan")
        out = max(out, k)
    return out


@dataclass(frozen=True)
class ExactFit:
    """README "Known differences" 10: an exact fit, where the penalised residual sum of squares is
    rounding noise on both sides, so the profiled criteria (which contain ``log(pwrss)``) are logs of
    noise.  ``floor`` is ``n * eps * ||W^(1/2) (y - offset)||^2``, the rounding level of any residual sum
    of squares of this response; the fit is exact when lme4's pwrss at its own optimum and pyreterms'
    at its own are both at or below it."""

    pwrss_lme4: float
    pwrss_ours: float
    floor: float

    @property
    def exact(self) -> bool:
        return self.pwrss_lme4 <= self.floor and self.pwrss_ours <= self.floor

    def detail(self) -> str:
        return (f"exact fit (README Known differences 10): pwrss {self.pwrss_lme4:.2g} in lme4 and "
                f"{self.pwrss_ours:.2g} here, both <= the rounding floor n eps ||y||^2 = {self.floor:.2g}")


def exact_fit_evidence(formula: str, data: pd.DataFrame, *, REML: bool, weights=None, offset=None,
                       contrasts=None) -> ExactFit:
    """lme4's pwrss at its fitted theta (``devfun(theta); pwrss`` of the reference) and pyreterms' at its own."""
    r = dict(reference(formula, data, REML=REML, level="fit", weights=weights, offset=offset,
                       contrasts=contrasts).items)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pyreterms.lmer(formula, data, REML=REML, weights=weights, offset=offset, contrasts=contrasts)
    lf = fit.lf
    y = np.asarray(lf.y, dtype=np.float64) - np.asarray(lf.offset, dtype=np.float64)
    floor = float(y.size * np.finfo(float).eps * np.sum(np.asarray(lf.weights, dtype=np.float64) * y * y))
    pw = r.get("devfun(theta); pwrss")
    p_r = float(np.asarray(pw.x, dtype=np.float64)[0]) if pw is not None else float("inf")  # type: ignore[union-attr]
    return ExactFit(p_r, float(fit.state.pwrss), floor)
