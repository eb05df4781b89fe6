"""A fitted linear mixed model: R's ``lmer()`` after ``lFormula`` (``mkLmerDevfun`` ->
``optimizeLmer`` -> ``checkConv`` -> ``mkMerMod``) and the ``merMod`` accessors (``getME``,
``fixef``, ``ranef``, ``coef``, ``VarCorr``, ``vcov``, ``sigma``, ``logLik``, ``deviance``, ...).

All names and orders are lme4 1.1-31's (reference sections 4.4 and 5).  ``getME("L")`` is the
natural-order lower Cholesky factor (lme4 returns a CHOLMOD factor of the AMD-permuted matrix; compare
through ``ldL2`` or solves).
"""
from __future__ import annotations

import keyword
import os
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from pyreterms.design.lformula import lformula
from pyreterms.design.model import LFormula
from pyreterms.errors import DataError, LmeCheckError, LmeWarning
from pyreterms.lmm.argchecks import r_if, verbose_level
from pyreterms.lmm.deviance import LmerProblem, PLSState
from pyreterms.lmm.getme import getme
from pyreterms.lmm.inference.anova import AnovaTable, anova
from pyreterms.lmm.inference.condvar import CondRanef, arrange_post_var, post_var_terms
from pyreterms.lmm.inference.confint import confint
from pyreterms.lmm.inference.profile import Profile, profile
from pyreterms.lmm.inference.refit import refit_ml
from pyreterms.lmm.modes import coef_frames, ranef_frames
from pyreterms.lmm.optimize import LmerControl, OptResult, check_conv, moment_start, optimize_lmer
from pyreterms.lmm.threads import ThreadTuner, blas_threads, scipy_lapack
from pyreterms.lmm.varcorr import varcorr, varcorr_df
from pyreterms.rmath.rng import RRNG
from pyreterms.verbs import accessors
from pyreterms.verbs import boot as vboot
from pyreterms.verbs import predict as vpredict
from pyreterms.verbs import simulate as vsimulate
from pyreterms.verbs import update as vupdate
from pyreterms.verbs.summaryobj import LmerSummary, html_repr, short_repr, summarize


def make_names(names: list[str], unique: bool = True) -> list[str]:
    """R: ``make.names(names, unique = TRUE)``."""
    out = []
    for nm in names:
        s = re.sub(r"[^A-Za-z0-9._]", ".", nm)
        if not s or not (s[0].isalpha() or (s[0] == "." and not (len(s) > 1 and s[1].isdigit()))):
            s = "X" + s
        if keyword.iskeyword(s) or s in ("TRUE", "FALSE", "NULL", "NA", "Inf", "NaN", "function"):
            s += "."
        out.append(s)
    if unique:
        seen: dict[str, int] = {}
        taken = set(out)
        for i, s in enumerate(out):
            if s in seen:
                k = seen[s]
                while f"{s}.{k}" in taken:
                    k += 1
                out[i] = f"{s}.{k}"
                taken.add(out[i])
                seen[s] = k + 1
            else:
                seen[s] = 1
    return out


@dataclass(frozen=True, eq=False)
class LmerFit:
    """R: a ``merMod``/``lmerMod`` object (frozen; ``getME`` answers from the final PLS state)."""

    lf: LFormula
    problem: LmerProblem
    state: PLSState
    opt: OptResult
    start: np.ndarray
    control: LmerControl
    n_devfun_initial: int = 1

    # -------------------------------------------------------------------- basic quantities
    @property
    def theta(self) -> np.ndarray:
        return self.opt.par

    @property
    def is_REML(self) -> bool:
        return self.problem.REML

    @property
    def crit(self) -> float:
        """``opt$fval``: the REML criterion (REML fits) or the ML deviance."""
        return self.opt.fval

    @property
    def cnms(self) -> dict[str, tuple[str, ...]]:
        """R: ``getME(, "cnms")`` (list; group names may repeat, so returned as pairs too)."""
        return dict(self.lf.reTrms.cnms)

    def _term_names(self) -> list[str]:
        """``names(flist)[assign]`` made unique as in ``mkVarCorr``."""
        rt = self.lf.reTrms
        nms = [rt.flist[a][0] for a in rt.assign]
        return make_names(nms) if len(set(nms)) < len(nms) else nms

    def theta_names(self) -> tuple[str, ...]:
        return self.lf.reTrms.theta_names()

    def fixef(self) -> pd.Series:
        """R: ``fixef(fit)``."""
        return pd.Series(self.state.beta, index=list(self.lf.X.colnames), dtype=float)

    def sigma(self) -> float:
        """R: ``sigma(fit)`` (sigmaREML for REML fits, sigmaML otherwise)."""
        return self.state.sigmaREML if self.is_REML else self.state.sigmaML

    def fitted(self) -> pd.Series:
        """R: ``fitted(fit)`` = mu (offset included), named by row (see :mod:`pyreterms.verbs.accessors`)."""
        return accessors.fitted(self)

    def residuals(self, type: str = "response", scaled: bool = False) -> pd.Series:  # noqa: A002 (R's name)
        """R: ``residuals(fit, type, scaled)``; "pearson"/"deviance" multiply by sqrt(prior weights)."""
        return accessors.residuals(self, type, scaled)

    # -------------------------------------------------------------------- criteria
    def devcomp(self) -> dict[str, Any]:
        """R: ``getME(, "devcomp")``: ``cmp`` and ``dims``."""
        s, n, p = self.state, self.problem.n, self.problem.p
        cmp = {"ldL2": s.ldL2, "ldRX2": s.ldRX2, "wrss": s.wrss, "ussq": s.ussq, "pwrss": s.pwrss,
               "drsum": np.nan, "REML": self.crit if self.is_REML else np.nan,
               "dev": np.nan if self.is_REML else self.crit, "sigmaML": s.sigmaML,
               "sigmaREML": s.sigmaREML}
        dims = {"N": n, "n": n, "p": p, "nmp": n - p, "q": self.problem.q, "nth": len(self.theta),
                "useSc": 1, "reTrms": len(self.problem.terms), "spFe": 0,
                "REML": p if self.is_REML else 0, "GLMM": 0, "NLMM": 0}
        return {"cmp": cmp, "dims": dims}

    def devCrit(self, REML: bool | None = None) -> float:
        """R: ``lme4:::devCrit`` (REML criterion / ML deviance, recomputed at the other setting)."""
        REML = self.is_REML if REML is None else REML
        s, n, ldW = self.state, self.problem.n, self.problem.ldW
        lnum = np.log(2 * np.pi * s.pwrss)
        if REML:
            if self.is_REML:
                return self.crit
            nmp = n - self.problem.p
            return -ldW + s.ldL2 + s.ldRX2 + nmp * (1 + lnum - np.log(nmp))
        if not self.is_REML:
            return self.crit
        return -ldW + s.ldL2 + n * (1 + lnum - np.log(n))

    def REMLcrit(self) -> float:
        return self.devCrit(REML=True)

    def deviance(self, REML: bool | None = None) -> float:
        """R: ``deviance(fit, REML)``: for REML fits without REML= it warns and gives the REML crit."""
        if self.is_REML and REML is None:
            warnings.warn("deviance() is deprecated for REML fits; use REMLcrit for the REML criterion "
                          "or deviance(.,REML=FALSE) for deviance calculated at the REML fit",
                          LmeWarning, stacklevel=2)
            return self.devCrit(REML=True)
        return self.devCrit(REML=False)

    def npar(self) -> int:
        return self.problem.p + len(self.theta) + 1

    def logLik(self, REML: bool | None = None) -> float:
        """R: ``logLik(fit)`` = -devCrit/2 with ``df = p + length(theta) + 1`` (see :meth:`npar`)."""
        return -self.devCrit(REML) / 2

    def AIC(self) -> float:
        return -2 * self.logLik() + 2 * self.npar()

    def BIC(self) -> float:
        return -2 * self.logLik() + np.log(self.problem.n) * self.npar()

    def isSingular(self, tol: float = 1e-4) -> bool:
        """R: ``isSingular(fit, tol = 1e-4)``."""
        lower = self.lf.reTrms.lower
        return bool(np.any(self.theta[lower == 0] < tol))

    def vcov(self) -> pd.DataFrame:
        """R: ``vcov(fit)`` = sigma^2 (R_X^T R_X)^{-1} (paper eq. 55)."""
        RXi = np.linalg.inv(self.state.RX) if self.problem.p else np.zeros((0, 0))
        nm = list(self.lf.X.colnames)
        return pd.DataFrame(self.sigma() ** 2 * RXi @ RXi.T, index=nm, columns=nm)

    # -------------------------------------------------------------------- random effects
    def Tlist(self) -> list[tuple[str, np.ndarray]]:
        """R: ``getME(, "Tlist")``: per term the lower-triangular template (names = group names)."""
        return [(g, T) for (g, _), T in zip(self.lf.reTrms.cnms, self.problem.templates(self.theta), strict=False)]

    def VarCorr(self) -> list[dict[str, Any]]:
        """R: ``VarCorr(fit)``: per term ``{"name", "cov", "stddev", "correlation", "cnms"}``;
        the residual standard deviation is :meth:`sigma` (attr ``sc``)."""
        return varcorr(self._term_names(), self.lf.reTrms.cnms, self.Tlist(), self.sigma())

    def VarCorr_df(self, order: str = "cov.last") -> pd.DataFrame:
        """R: ``as.data.frame(VarCorr(fit), order=)``: grp, var1, var2, vcov, sdcor."""
        return varcorr_df(self.VarCorr(), self.sigma(), order)

    def ranef(self, condVar: bool = False, cond_var: bool | None = None) -> Any:
        """R: ``ranef(fit, condVar = FALSE)``: per flist factor, rows = levels, columns = cnms of
        all terms using the factor (term order); values = ``b`` read level-major.  With
        ``condVar=True`` (alias ``cond_var``) each factor is a
        :class:`~pyreterms.lmm.inference.condvar.CondRanef` (modes + ``postVar``)."""
        if condVar or cond_var:
            return self._ranef_condvar()
        return ranef_frames(self.lf.reTrms, self.state.b)

    def coef(self) -> dict[str, pd.DataFrame]:
        """R: ``coef(fit)``: fixef per level plus ranef; random-only columns get fixed 0, placed first."""
        return coef_frames(self.fixef(), self.ranef())

    # -------------------------------------------------------------------- getME
    def getME(self, name: str) -> Any:
        """R: ``getME(fit, name)`` for every name (:func:`pyreterms.lmm.getme.getme`; reference section 5)."""
        s, pr = self.state, self.problem
        own: dict[str, Callable[[], Any]] = {
            "X": lambda: self.lf.X.X, "y": lambda: self.lf.y, "mu": lambda: s.mu, "u": lambda: s.u,
            "b": lambda: s.b.reshape(-1, 1), "L": lambda: pr.cholesky_L(self.theta), "RX": lambda: s.RX,
            "RZX": lambda: s.RZX, "sigma": self.sigma, "fixef": self.fixef, "beta": lambda: s.beta,
            "Tlist": self.Tlist, "REML": lambda: self.devcomp()["dims"]["REML"], "is_REML": lambda: self.is_REML,
            "offset": lambda: self.lf.offset, "devfun": lambda: pr.deviance,
        }
        return getme(name, self.lf.reTrms, self.theta, list(self.theta_names()), self.devcomp(), own)

    def summary(self, data_name: str = "data", weights_name: str | None = None,
                offset_name: str | None = None) -> LmerSummary:
        """R: ``summary(fit)``; ``str()`` of it is lme4's ``print(summary(fit))`` (see
        :mod:`pyreterms.verbs.summaryobj`; the names are printed on the ``Data:``/``Weights:``/``Offset:`` lines)."""
        return summarize(self, data_name, weights_name, offset_name)

    # --- verbs (issue 14, part A)
    def __repr__(self) -> str:
        return short_repr(self)

    def _repr_html_(self) -> str:
        return html_repr(self)

    def predict(self, newdata: pd.DataFrame | None = None, re_form: Any = None, allow_new_levels: bool = False,
                type: str = "link") -> pd.Series:  # noqa: A002 (R's name)
        """R: ``predict(fit, newdata, re.form, allow.new.levels, type)`` (:mod:`pyreterms.verbs.predict`)."""
        return vpredict.predict(self, newdata, re_form, allow_new_levels, type)

    def simulate(self, nsim: int = 1, seed: int | None = None, use_u: bool | None = None, re_form: Any = "NA",
                 newdata: pd.DataFrame | None = None, rng: RRNG | None = None,
                 allow_new_levels: bool = False) -> pd.DataFrame:
        """R: ``simulate(fit, nsim, seed, use.u, re.form, newdata, allow.new.levels)``
        (:mod:`pyreterms.verbs.simulate`)."""
        return vsimulate.simulate(self, nsim, seed, use_u, re_form, newdata, rng, allow_new_levels)

    def refit(self, newresp: Any, control: LmerControl | dict[str, Any] | None = None) -> LmerFit:
        """R: ``refit(fit, newresp)`` (:mod:`pyreterms.verbs.update`)."""
        out: LmerFit = vupdate.refit(self, newresp, lmer_from_parts, control)
        return out

    def update(self, formula: str | None = None, data: pd.DataFrame | None = None, **changes: Any) -> LmerFit:
        """R: ``update(fit, formula, ...)`` with ``update.formula`` (:mod:`pyreterms.verbs.update`)."""
        out: LmerFit = vupdate.update(self, lmer, formula, data, **changes)
        return out

    def bootMer(self, FUN: Callable[[LmerFit], Any], nsim: int = 1, seed: int | None = None,
                use_u: bool = False, type: str = "parametric") -> vboot.BootResult:  # noqa: A002 (R's name)
        """R: ``bootMer(fit, FUN, nsim, seed, use.u, type)`` (:mod:`pyreterms.verbs.boot`)."""
        return vboot.boot_mer(self, FUN, lambda y: self.refit(y), nsim, seed, use_u, type)

    def confint_boot(self, nsim: int = 500, seed: int | None = None, level: float = 0.95,
                     boot_type: str = "perc") -> pd.DataFrame:
        """R: ``confint(fit, method = "boot", nsim, level, boot.type)`` (:mod:`pyreterms.verbs.boot`)."""
        return vboot.confint_boot(self, lambda y: self.refit(y), nsim, seed, level, boot_type)

    def nobs(self) -> int:
        return accessors.nobs(self)

    def ngrps(self) -> pd.Series:
        return accessors.ngrps(self)

    def df_residual(self) -> int:
        return accessors.df_residual(self)

    def weights(self) -> np.ndarray:
        return accessors.weights(self)

    def formula(self, fixed_only: bool = False) -> str:
        return accessors.formula(self, fixed_only)

    def terms(self) -> tuple[str, ...]:
        return accessors.terms(self)

    def model_frame(self) -> pd.DataFrame:
        return accessors.model_frame(self)

    def model_matrix(self, type: str = "fixed") -> pd.DataFrame | sp.csc_matrix:  # noqa: A002 (R's name)
        return accessors.model_matrix(self, type)

    def hatvalues(self) -> pd.Series:
        return accessors.hatvalues(self)

    def cooks_distance(self) -> pd.Series:
        return accessors.cooks_distance(self)

    # --- verbs (issue 14, part B)
    def _ranef_condvar(self) -> dict[str, CondRanef]:
        """R: ``ranef(fit, condVar = TRUE)`` (see :mod:`pyreterms.lmm.inference.condvar`)."""
        rt = self.lf.reTrms
        pv = post_var_terms(self.problem, self.theta, self.sigma())
        modes = self.ranef()
        arr = arrange_post_var(rt.cnms, rt.assign, len(rt.flist), pv)
        return {f: CondRanef(modes=modes[f], postVar=a, terms=t) for (f, _), (a, t) in zip(rt.flist, arr, strict=True)}

    def anova(self, *others: LmerFit, refit: bool = True, model_names: list[str] | None = None,
              data_name: str | None = None) -> AnovaTable:
        """R: ``anova(fit, ...)`` (see :func:`pyreterms.lmm.inference.anova.anova`)."""
        return anova(self, *others, refit=refit, model_names=model_names, data_name=data_name)

    def confint(self, parm: list[str] | str | None = None, level: float = 0.95, method: str = "profile",
                **kwargs: Any) -> pd.DataFrame:
        """R: ``confint(fit, parm, level, method)`` (see :func:`pyreterms.lmm.inference.confint.confint`)."""
        return confint(self, parm=parm, level=level, method=method, **kwargs)

    def profile(self, which: list[str] | str | None = None, **kwargs: Any) -> Profile:
        """R: ``profile(fit, which, ...)`` (see :func:`pyreterms.lmm.inference.profile.profile`)."""
        return profile(self, which=which, **kwargs)

    def refitML(self) -> LmerFit:
        """R: ``refitML(fit)`` (see :func:`pyreterms.lmm.inference.refit.refit_ml`)."""
        return refit_ml(self)


#: order of the one-shot dense factor from which 2 LAPACK threads can pay off (idle machine, measured:
#: 1157 -> 17.5 vs 11 ms); whether they do is measured per fit (:class:`ThreadTuner`)
THREADED_Q = 700


def _optimizer_threads(ctrl: LmerControl, prob: LmerProblem) -> LmerControl:
    """``blas_threads="auto"`` resolved for the optimizer's sequential evaluations (see LmerControl):
    1 thread, plus a :class:`ThreadTuner` on the problem when a second LAPACK thread may pay off."""
    if ctrl.blas_threads != "auto":
        return ctrl
    if prob.plan is not None and prob.plan.Q >= THREADED_Q and (os.cpu_count() or 1) >= 2:
        lib = scipy_lapack()  # (looked up only for factors large enough to use it)
        if lib is not None:
            prob.ws.tuner = ThreadTuner(lib)
    return replace(ctrl, blas_threads=1)


#: order of the one-shot factor from which evaluating deriv12's points on 2 threads pays for the
#: thread pool (below it an evaluation costs tens of microseconds, less than handing it to a thread)
PREFETCH_Q = 150


def _prefetch_pays(prob: LmerProblem) -> bool:
    return prob.plan is not None and prob.plan.Q >= PREFETCH_Q and (os.cpu_count() or 1) > 1


def lmer_from_parts(lf: LFormula, control: LmerControl | Mapping[str, Any] | None = None,
                    verbose: int = 0) -> LmerFit:
    """R: the part of ``lmer()`` after ``lFormula``: ``mkLmerDevfun`` (with its moment start and
    first evaluation), ``optimizeLmer``, ``checkConv``, ``mkMerMod``."""
    ctrl = LmerControl.coerce(control)
    lf = reml_of(lf)
    rt = lf.reTrms
    if lf.y is None:
        if lf.formula.lstrip().startswith("~"):  # lme4 fails obscurely ("external pointer is not valid")
            raise DataError("the formula has no response (check.formula.LHS): lmer needs 'response ~ terms'")
        raise DataError(f"response must be numeric (the response '{lf.fr.names[0]}' is not)")
    if not np.isfinite(lf.y).all():
        raise LmeCheckError("NA/NaN/Inf in 'y'", check="mkRespMod")
    if np.any(lf.weights < 0):  # R: mkRespMod's stopifnot(all(weights >= 0))
        raise LmeCheckError("all(weights >= 0) is not TRUE", check="mkRespMod")
    with blas_threads(ctrl.blas_threads):  # the Gram products too (threads only slow them down)
        prob = LmerProblem.build(lf.X.X, lf.y, rt.Zt, rt.Lambdat, rt.Lind, rt.Gp, lf.weights, lf.offset,
                                 lf.REML, nc=tuple(len(cn) for _, cn in rt.cnms))
        lower = np.asarray(rt.lower, dtype=np.float64)
        if ctrl.start is not None:
            start = np.asarray(ctrl.start, dtype=np.float64)
            if start.size != lower.size:
                raise LmeCheckError(f"incorrect number of theta components (!={lower.size})")
        else:
            all_int = all(tuple(cn) == ("(Intercept)",) for _, cn in rt.cnms)
            ms = moment_start(lf.y, [f.codes for _, f in rt.flist], all_int, lower.size, lower)
            start = np.asarray(rt.theta, dtype=np.float64) if ms is None else ms
        octrl = _optimizer_threads(ctrl, prob)  # before the first evaluation (the tuner's cold one)
        with np.errstate(all="ignore"):
            f0 = prob.deviance(start)  # mkLmerDevfun evaluates once at the start
        if not np.isfinite(f0):
            # nloptr checks the objective at x0 and stops with this message (lme4 adds nothing)
            raise LmeCheckError("objective in x0 returns NA" + _why_not_finite(lf), check="nloptr")
        if ctrl.optimizer is None:
            cc = check_conv(None, start, lower, ctrl)
            opt = OptResult(par=start, fval=f0, feval=0, conv=1000, message="no optimization",
                            derivs=None, n_devfun=0, conv_lme4=cc)
        else:
            # prefetch: deriv12's points and the final solve on 2 threads (values unchanged)
            opt = optimize_lmer(prob.deviance, start, lower, octrl,
                                prefetch=prob.prefetch if _prefetch_pays(prob) else None, verbose=verbose)
        state = prob.solve(opt.par)
    return LmerFit(lf=lf, problem=prob, state=state, opt=opt, start=start, control=ctrl)


def reml_of(lf: LFormula) -> LFormula:
    """R: mkLmerDevfun's ``if (REML) p else 0L`` (lFormula takes any REML; lmer reads it here)."""
    if isinstance(lf.REML, bool):
        return lf
    return replace(lf, REML=r_if(lf.REML, "REML"))


def _why_not_finite(lf: LFormula) -> str:
    """The cause of a non-finite deviance at the start, as a parenthesised hint (lme4 gives none)."""
    n, p = lf.X.X.shape
    if lf.REML and n == p:  # (n - p) * (1 + log(2 pi pwrss / (n - p))) = 0 * log(0 / 0)
        return f" (REML criterion undefined: n - p = {n} - {p} = 0 residual degrees of freedom)"
    if not np.all(np.isfinite(lf.reTrms.Zt.data)):
        return " (non-finite values in the random-effects model matrix Z)"
    return ""


def get_start(start: Any, ntheta: int) -> np.ndarray | None:
    """R: ``lme4:::getStart(start, pp)`` (returnVal = "theta"): None, a numeric vector, or a dict
    with ``theta`` (and ``fixef``, unused by lmer); lme4's messages otherwise."""
    if start is None:
        return None
    if isinstance(start, Mapping):
        vals = dict(start)
        for v in vals.values():
            try:
                np.asarray(v, dtype=np.float64)
            except (TypeError, ValueError):
                raise LmeCheckError("all elements of start must be numeric", check="start") from None
            if isinstance(v, str) or np.asarray(v).dtype.kind not in "iufb":
                raise LmeCheckError("all elements of start must be numeric", check="start")
        bad = [k for k in vals if k not in ("theta", "fixef")]
        if bad:
            raise LmeCheckError(f"incorrect components in start list: {' '.join(bad)}", check="start")
        if vals.get("theta") is None:
            return None
        theta = np.ravel(np.asarray(vals["theta"], dtype=np.float64))
    else:
        arr = np.asarray(start)
        if isinstance(start, str) or arr.dtype.kind not in "iuf":
            raise LmeCheckError("'start' must be NULL, a numeric vector or named list of such vectors", check="start")
        theta = np.ravel(arr.astype(np.float64))
    if theta.size != ntheta:
        raise LmeCheckError(f"incorrect number of theta components (!={ntheta})", check="start")
    return theta


def lmer(formula: str, data: pd.DataFrame, REML: bool = True, control: LmerControl | Mapping[str, Any] | None = None,
         start: Any = None, verbose: int = 0, subset: str | None = None,
         weights: str | npt.ArrayLike | None = None, na_action: str = "na.omit",
         offset: str | npt.ArrayLike | None = None, contrasts: Mapping[str, object] | None = None,
         dev_fun_only: bool = False, **kwargs: Any) -> Any:
    """R: ``lme4::lmer(formula, data, REML, control, start, verbose, subset, weights, na.action, offset,
    contrasts, devFunOnly)``.  ``weights``/``offset`` are column names or arrays; ``subset`` is R
    expression text (evaluated with the formula allowlist); ``na_action`` names R's function
    (``"na.omit"``, ``"na.exclude"``, ``"na.fail"``, ``"na.pass"``); ``control`` is
    :func:`~pyreterms.lmm.control.lmerControl` (or a dict of its arguments); ``start`` a theta vector
    or ``{"theta": ...}``.  R's spellings ``na.action`` and ``devFunOnly`` are accepted as keywords.
    Returns an :class:`LmerFit`, or with ``dev_fun_only`` the deviance function of theta (R's devfun)."""
    na_action = str(kwargs.pop("na.action", na_action))
    dev_fun_only = kwargs.pop("devFunOnly", dev_fun_only)
    if kwargs:
        raise TypeError(f"lmer() got unexpected arguments: {', '.join(map(repr, kwargs))}")
    ctrl = LmerControl.coerce(control)
    lf = lformula(formula, data, REML, subset, weights=weights, na_action=na_action, offset=offset,
                  contrasts=contrasts, control=ctrl)
    lf = reml_of(lf)  # R: mkLmerDevfun, then `if (devFunOnly)`, then getStart, then verbose
    with np.errstate(all="ignore"):  # R computes with Inf/NaN silently (no numpy warnings)
        if r_if(dev_fun_only, "devFunOnly"):
            return devfun_of(lf, ctrl)
    ntheta = int(np.asarray(lf.reTrms.theta).size)
    theta0 = get_start(start, ntheta)
    if theta0 is not None:
        ctrl = replace(ctrl, start=tuple(float(v) for v in theta0))
    level = verbose_level(verbose)
    with np.errstate(all="ignore"):
        return lmer_from_parts(lf, ctrl, verbose=level)


def devfun_of(lf: LFormula, ctrl: LmerControl) -> Callable[[npt.ArrayLike], float]:
    """R: ``lmer(..., devFunOnly = TRUE)``: the profiled deviance (REML criterion) as a function of theta."""
    lf = reml_of(lf)
    rt = lf.reTrms
    if lf.y is None:
        raise DataError(f"response must be numeric (the response '{lf.fr.names[0]}' is not)")
    prob = LmerProblem.build(lf.X.X, lf.y, rt.Zt, rt.Lambdat, rt.Lind, rt.Gp, lf.weights, lf.offset,
                             lf.REML, nc=tuple(len(cn) for _, cn in rt.cnms))
    ntheta = int(np.asarray(rt.theta).size)

    def devfun(theta: npt.ArrayLike) -> float:
        th = np.ravel(np.asarray(theta, dtype=np.float64))
        if th.size != ntheta:
            raise LmeCheckError(f"theta must have length {ntheta}", check="devfun")
        with np.errstate(all="ignore"):
            return float(prob.deviance(th))

    return devfun
