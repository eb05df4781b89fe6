"""The fitted GLMM (R: a ``glmerMod``, ``mkMerMod``'s GLMM parts, lme4 1.1-31) and its verbs: ``fixef``,
``ranef``, ``VarCorr``, ``sigma``, ``deviance``, ``logLik``, ``AIC``, ``BIC``, ``fitted``,
``residuals`` (``residuals.glmResp``), ``weights``, ``vcov`` (``vcov.merMod``: the finite-difference
Hessian's when stage 2 ran, else ``unsc()``), ``getME`` (:mod:`pyreterms.lmm.getme`), ``predict``
(:mod:`pyreterms.glmm.predict`), ``simulate`` (:mod:`pyreterms.glmm.simulate`) and ``summary``
(:mod:`pyreterms.glmm.summary`).

The object holds the state lme4's ``pp``/``resp`` reference objects are left in by the last deviance
evaluation (``fn(opt$par)`` after ``deriv12``): conditional modes, ``eta``, ``mu``, the factor ``L``,
``RX``, ``RZX`` and the working weights of the last PIRLS iteration.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import solve_triangular

from pyreterms.errors import DataError, LmeWarning
from pyreterms.glmm import predict as gpredict
from pyreterms.glmm import simulate as gsimulate
from pyreterms.glmm.family import Family
from pyreterms.glmm.glformula import GLFormula
from pyreterms.glmm.pirls import GlmResp, MerPred
from pyreterms.glmm.summary import GlmerSummary, format_print, summarize
from pyreterms.lmm.fit import make_names
from pyreterms.lmm.getme import getme
from pyreterms.lmm.inference.anova import AnovaFit, AnovaTable, anova
from pyreterms.lmm.inference.condvar import CondRanef, arrange_post_var
from pyreterms.lmm.inference.confint import ConfintError, confint_wald
from pyreterms.lmm.modes import coef_frames, ranef_frames
from pyreterms.lmm.varcorr import varcorr, varcorr_df
from pyreterms.rmath.rng import RRNG
from pyreterms.verbs.accessors import napredict

_RESID_TYPES = ("deviance", "pearson", "working", "response", "partial")


@dataclass(frozen=True, eq=False)
class GlmerFit:
    """R: a ``glmerMod`` (``getME``-style names; frozen)."""

    glf: GLFormula
    nAGQ: int
    theta: np.ndarray
    beta: np.ndarray
    u: np.ndarray
    b: np.ndarray
    eta: np.ndarray
    mu: np.ndarray
    fval: float  # devcomp$cmp["dev"], the optimizer's objective (-2 logLik)
    feval: int  # evaluations of the last stage's optimizer
    drsum: float  # sum of deviance residuals = deviance(fit)
    fixef_names: tuple[str, ...]
    L: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # dense lower factor of Lambda'Z'WZLambda + I
    RX: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # lower: RX RX' = X'WX - RZX'RZX
    RZX: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    Xwts: np.ndarray = field(default_factory=lambda: np.zeros(0))  # pp$Xwts (sqrt working weights)
    wtres: np.ndarray = field(default_factory=lambda: np.zeros(0))  # resp$wtres (Pearson residuals)
    hessian: np.ndarray | None = None  # optinfo$derivs$Hessian (deriv12 of the stage-2 devfun)
    gradient: np.ndarray | None = None
    tol_pwrss: float = 1e-7
    optimizer: str = "Nelder_Mead"
    devfun: Callable[[np.ndarray], float] | None = None
    conv_code: int = 0  # optinfo$conv$opt
    conv_messages: tuple[str, ...] = ()  # optinfo$conv$lme4$messages (checkConv)
    opt_warnings: tuple[str, ...] = ()  # optinfo$warnings
    # pyreterms only (lme4 keeps no record of it): stage 1's opt$par (theta of the nAGQ = 0 optimization that
    # stage 2 starts from); None when nAGQ0initStep is FALSE
    stage1_par: np.ndarray | None = None
    compDev: bool = True  # glmerControl(compDev): getME(, "devcomp")$dims[["compDev"]]

    # -------------------------------------------------------------------- construction
    @classmethod
    def from_state(cls, glf: GLFormula, nAGQ: int, pp: MerPred, resp: GlmResp, theta: np.ndarray,
                   beta: np.ndarray, fval: float, feval: int = 0, hessian: np.ndarray | None = None,
                   gradient: np.ndarray | None = None, tol_pwrss: float = 1e-7, optimizer: str = "Nelder_Mead",
                   devfun: Callable[[np.ndarray], float] | None = None, conv_code: int = 0,
                   conv_messages: tuple[str, ...] = (), opt_warnings: tuple[str, ...] = (),
                   stage1_par: np.ndarray | None = None, compDev: bool = True) -> GlmerFit:
        """R: ``mkMerMod(rho, opt, ...)`` for a glmResp: the fit from the devfun's current state."""
        u, L, RZX = pp.original_order()
        return cls(glf=glf, nAGQ=nAGQ, theta=np.array(theta, dtype=np.float64), beta=np.array(beta, dtype=np.float64),
                   u=u, b=np.asarray(pp.Lambdat.T @ u), eta=resp.eta.copy(), mu=resp.mu.copy(), fval=float(fval),
                   feval=int(feval), drsum=resp.res_dev(), fixef_names=glf.X.colnames, L=L.copy(),
                   RX=pp.RX.copy(), RZX=RZX, Xwts=pp.Xwts.copy(), wtres=resp.pearson(),
                   hessian=hessian, gradient=gradient, tol_pwrss=tol_pwrss, optimizer=optimizer, devfun=devfun,
                   conv_code=conv_code, conv_messages=conv_messages, opt_warnings=opt_warnings,
                   stage1_par=None if stage1_par is None else np.array(stage1_par, dtype=np.float64),
                   compDev=compDev)

    # -------------------------------------------------------------------- basic quantities
    @property
    def family(self) -> Family:
        return self.glf.family

    @property
    def use_sc(self) -> bool:
        """``dims["useSc"]``: ``!hasNoScale(family)``."""
        return bool(self.glf.family.has_scale)

    def fixef(self) -> pd.Series:
        """R: ``fixef(fit)``."""
        return pd.Series(self.beta, index=list(self.fixef_names), dtype=float)

    def nobs(self) -> int:
        return int(self.glf.y.size)

    def npar(self) -> int:
        """R: ``npar.merMod``: ``length(theta) + p`` (+1 with a scale parameter)."""
        return self.theta.size + self.beta.size + (1 if self.use_sc else 0)

    def df_residual(self) -> int:
        return self.nobs() - self.npar()

    def ussq(self) -> float:
        return float(self.u @ self.u)

    def wrss(self) -> float:
        return float(self.wtres @ self.wtres)

    def sigma(self) -> float:
        """R: ``sigma(fit)``: 1 without a scale parameter, else ``sqrt(pwrss / n)`` (sigmaML)."""
        if not self.use_sc:
            return 1.0
        return float(np.sqrt((self.wrss() + self.ussq()) / self.nobs()))

    def devcomp(self) -> dict[str, dict[str, float]]:
        """R: ``getME(fit, "devcomp")``: ``cmp`` and ``dims``."""
        n, p = self.nobs(), self.beta.size
        pwrss = self.wrss() + self.ussq()
        cmp = {"ldL2": float(2 * np.sum(np.log(np.diag(self.L)))),
               "ldRX2": float(2 * np.sum(np.log(np.diag(self.RX)))) if p else 0.0,
               "wrss": self.wrss(), "ussq": self.ussq(), "pwrss": pwrss, "drsum": self.drsum, "REML": np.nan,
               "dev": self.fval, "sigmaML": float(np.sqrt(pwrss / n)) if self.use_sc else np.nan,
               "sigmaREML": np.nan, "tolPwrss": self.tol_pwrss}
        dims = {"N": n, "n": n, "p": p, "nmp": n - p, "q": int(self.u.size), "nth": int(self.theta.size),
                "nAGQ": self.nAGQ, "compDev": int(self.compDev), "useSc": int(self.use_sc),
                "reTrms": len(self.glf.reTrms.cnms),
                "spFe": 0, "REML": 0, "GLMM": 1, "NLMM": 0}
        return {"cmp": cmp, "dims": dims}  # type: ignore[dict-item]

    def deviance(self) -> float:
        """R: ``deviance(fit)`` for a GLMM = ``sum(residuals(fit, "deviance")^2)`` (``cmp["drsum"]``)."""
        return self.drsum

    def logLik(self) -> float:  # noqa: N802 - R's name
        """R: ``logLik(fit)`` = ``-cmp["dev"] / 2`` (``df = npar``)."""
        return -self.fval / 2

    def AIC(self) -> float:  # noqa: N802 - R's name
        return self.fval + 2 * self.npar()

    def BIC(self) -> float:  # noqa: N802 - R's name
        return self.fval + np.log(self.nobs()) * self.npar()

    def isSingular(self, tol: float = 1e-4) -> bool:  # noqa: N802 - R's name
        """R: ``isSingular(fit, tol = 1e-4)``."""
        return bool(np.any(self.theta[self.glf.reTrms.lower == 0] < tol))

    # -------------------------------------------------------------------- random effects
    def Tlist(self) -> list[tuple[str, np.ndarray]]:  # noqa: N802 - R's name
        """R: ``getME(fit, "Tlist")``: per term the lower-triangular template at theta."""
        out, k = [], 0
        for g, cn in self.glf.reTrms.cnms:
            nc = len(cn)
            T = np.zeros((nc, nc))
            for c in range(nc):
                for r in range(c, nc):
                    T[r, c] = self.theta[k]
                    k += 1
            out.append((g, T))
        return out

    def _term_names(self) -> list[str]:
        rt = self.glf.reTrms
        nms = [rt.flist[a][0] for a in rt.assign]
        return make_names(nms) if len(set(nms)) < len(nms) else nms

    def VarCorr(self) -> list[dict[str, Any]]:  # noqa: N802 - R's name
        """R: ``VarCorr(fit)``: per term ``{"name", "group", "cnms", "cov", "stddev", "correlation"}``
        (``sc = sigma(fit)``, 1 for binomial and Poisson)."""
        return varcorr(self._term_names(), self.glf.reTrms.cnms, self.Tlist(), self.sigma())

    def VarCorr_df(self, order: str = "cov.last") -> pd.DataFrame:  # noqa: N802 - R's name
        """R: ``as.data.frame(VarCorr(fit), order=)``: grp, var1, var2, vcov, sdcor (a Residual row only with a
        scale parameter)."""
        return varcorr_df(self.VarCorr(), self.sigma() if self.use_sc else None, order)

    def ranef(self, condVar: bool = False) -> Any:  # noqa: N803 - R's name
        """R: ``ranef(fit, condVar)`` (conditional modes ``b = Lambda u``): per grouping factor, rows =
        levels, columns = the column names of every term on that factor (term order).  With ``condVar``
        each factor is a :class:`~pyreterms.lmm.inference.condvar.CondRanef` whose ``postVar`` holds the
        blocks of ``sigma^2 Lambda (L L')^{-1} Lambda'`` (lme4's ``merPredDcondVar``; the factor ``L`` of
        the final PIRLS weights)."""
        if condVar:
            return self._ranef_condvar()
        return ranef_frames(self.glf.reTrms, self.b)

    def _ranef_condvar(self) -> dict[str, CondRanef]:
        rt = self.glf.reTrms
        Linv = solve_triangular(self.L, np.eye(self.L.shape[0]), lower=True) if self.L.size else self.L
        S = Linv.T @ Linv
        pv = []
        for k, (_, T) in enumerate(self.Tlist()):
            nc = T.shape[0]
            idx = int(rt.Gp[k]) + np.arange(int(rt.Gp[k + 1]) - int(rt.Gp[k])).reshape(-1, nc)
            Sk = S[idx[:, :, None], idx[:, None, :]]
            pv.append(self.sigma() ** 2 * np.einsum("ij,ljk,mk->lim", T, Sk, T))
        modes = self.ranef()
        arr = arrange_post_var(rt.cnms, rt.assign, len(rt.flist), pv)
        return {f: CondRanef(modes=modes[f], postVar=a, terms=t) for (f, _), (a, t) in zip(rt.flist, arr, strict=True)}

    def coef(self) -> dict[str, pd.DataFrame]:
        """R: ``coef(fit)`` (:func:`~pyreterms.lmm.modes.coef_frames`)."""
        return coef_frames(self.fixef(), self.ranef())

    # -------------------------------------------------------------------- fitted values and residuals
    def fitted(self) -> pd.Series:
        """R: ``fitted(fit)`` = ``resp$mu``, named by row, NA-padded under na.exclude."""
        return napredict(self.glf.fr, self.mu)

    def _dev_resid(self) -> np.ndarray:
        return np.asarray(self.glf.family.dev_resids(self.glf.y, self.mu, self.glf.weights), dtype=np.float64)

    def residuals(self, type: str = "deviance", scaled: bool = False) -> pd.Series:  # noqa: A002 (R's name)
        """R: ``residuals(fit, type, scaled)`` (``residuals.glmResp``): "deviance" ``sign(y - mu)
        sqrt(devResid)``, "pearson" ``wtres``, "working" ``(y - mu) / mu.eta(eta)``, "response" ``y - mu``
        (``y`` as the family's initialize rewrote it: proportions for binomial)."""
        if type not in _RESID_TYPES:
            raise DataError("'arg' should be one of " + ", ".join(f"\u201c{t}\u201d" for t in _RESID_TYPES))
        y, mu = self.glf.y, self.mu
        if type == "partial":
            raise DataError("partial residuals are not implemented yet")
        if type == "deviance":
            d = np.sqrt(self._dev_resid())
            r = np.where(y > mu, d, -d)
        elif type == "pearson":
            r = self.wtres
        elif type == "working":
            r = (y - mu) / self.glf.family.link_obj.lme4_mu_eta(self.eta)
        else:
            r = y - mu
        if scaled:
            r = r / self.sigma()
        return napredict(self.glf.fr, r)

    def weights(self, type: str = "prior") -> np.ndarray:  # noqa: A002 (R's name)
        """R: ``weights(fit, type)``: "prior" ``resp$weights`` (binomial totals times prior weights),
        "working" ``pp$Xwts^2``."""
        if type == "prior":
            return self.glf.weights.copy()
        if type == "working":
            return np.asarray(self.Xwts ** 2)
        raise DataError("'arg' should be one of \u201cprior\u201d, \u201cworking\u201d")

    def predict(self, newdata: pd.DataFrame | None = None, re_form: Any = None, allow_new_levels: bool = False,
                type: str = "link") -> pd.Series:  # noqa: A002 (R's name)
        """R: ``predict(fit, newdata, re.form, allow.new.levels, type = c("link", "response"))``
        (:mod:`pyreterms.glmm.predict`)."""
        return gpredict.predict(self.glf, self.beta, self.b, self.eta, self.mu, self.ranef(), newdata, re_form,
                                allow_new_levels, type)

    def simulate(self, nsim: int = 1, seed: int | None = None, use_u: bool = False,
                 rng: RRNG | None = None) -> pd.DataFrame:
        """R: ``simulate(fit, nsim, seed, use.u)`` for a GLMM
        (``lme4:::simulate.merMod``; :func:`pyreterms.glmm.simulate.simulate_glmm`)."""
        return gsimulate.simulate_glmm(self, nsim, seed, use_u, rng)

    def summary(self, data_name: str | None = None, weights_name: str | None = None,
                offset_name: str | None = None, control_name: str | None = None) -> GlmerSummary:
        """R: ``summary(fit)``; ``str()`` of it is lme4's ``print(summary(fit))`` (the names are printed on
        the ``Data:``/``Weights:``/``Offset:``/``Control:`` lines; :mod:`pyreterms.glmm.summary`)."""
        return summarize(self, data_name, weights_name, offset_name, control_name)

    def print_text(self, data_name: str | None = None, weights_name: str | None = None,
                   offset_name: str | None = None) -> str:
        """R: the text of ``print(fit)`` (``print.merMod``; :func:`pyreterms.glmm.summary.format_print`)."""
        return format_print(self, data_name=data_name, weights_name=weights_name, offset_name=offset_name)

    # -------------------------------------------------------------------- inference
    @property
    def lf(self) -> GLFormula:
        """The formula stage, under the name the LMM fit gives it (what ``anova``/``confint`` read)."""
        return self.glf

    @property
    def is_REML(self) -> bool:
        """A GLMM is never fitted by REML (``isREML(gfit)`` is FALSE)."""
        return False

    def anova(self, *others: AnovaFit, model_names: list[str] | None = None,
              data_name: str | None = None) -> AnovaTable:
        """R: ``anova(gfit, ...)`` (``anova.merMod``): one fit's F table of the fixed effects
        (``ss = (RX beta)^2`` at the fit's last PIRLS weights, ``F = ms / sigma^2``), or the likelihood-ratio
        table of several fits (see :func:`pyreterms.lmm.inference.anova.anova`)."""
        return anova(self, *others, model_names=model_names, data_name=data_name)

    def confint(self, parm: list[str] | str | None = None, level: float = 0.95, method: str = "profile",
                oldNames: bool = True) -> pd.DataFrame:  # noqa: N803 - R's name
        """R: ``confint(gfit, parm, level, method = "Wald", oldNames)``: Wald intervals of the fixed effects
        (from :meth:`vcov`), NA for the variance parameters (a ``.sigma`` row only with a scale parameter:
        ``useSc = devcomp$dims[["useSc"]]``).  ``method = "profile"`` (lme4's default) and ``"boot"`` are
        not implemented for GLMMs and are refused."""
        if method not in ("profile", "Wald", "boot"):
            raise ConfintError("'arg' should be one of \u201cprofile\u201d, \u201cWald\u201d, \u201cboot\u201d "
                               f"(got {method!r})")
        if method != "Wald":
            raise ConfintError(f'confint(method = "{method}") for a GLMM is not implemented in pyreterms; '
                               'use method = "Wald"')
        return confint_wald(self, parm, level, oldNames, use_sc=self.use_sc)

    def __repr__(self) -> str:
        grps = ", ".join(f"{g} {f.nlevels}" for g, f in self.glf.reTrms.flist)
        fam = f"{self.glf.family.family}({self.glf.family.link})"
        return (f"<GlmerFit {self.glf.formula}; {fam}; nAGQ = {self.nAGQ}; n = {self.nobs()}; groups: {grps}; "
                f"-2 logLik {self.fval:.4f}>")

    # -------------------------------------------------------------------- covariance of the fixed effects
    def unsc(self) -> np.ndarray:
        """R: ``pp$unsc()`` = ``(RX' RX)^-1``."""
        RXi = np.linalg.inv(self.RX) if self.beta.size else np.zeros((0, 0))
        return np.asarray(RXi.T @ RXi)

    def vcov(self, use_hessian: bool | None = None) -> pd.DataFrame:
        """R: ``vcov(fit, use.hessian = NULL)`` (``vcov.merMod``): from the finite-difference Hessian
        of the stage-2 deviance (``2 solve(H)[beta, beta]``) when there is one and it is positive
        definite, else ``sigma^2 unsc()``."""
        nth = self.theta.size
        avail = self.hessian is not None and self.hessian.shape[0] > nth
        if use_hessian is None:
            use_hessian = avail
        if use_hessian and not avail:
            raise DataError("'use.hessian'=TRUE specified, but Hessian is unavailable")
        V = self.sigma() ** 2 * self.unsc()
        if use_hessian and self.hessian is not None:
            try:
                h = np.linalg.solve(self.hessian, np.eye(self.hessian.shape[0]))[nth:, nth:]
                Vh = h + h.T
                bad = bool(np.any(np.isnan(Vh))) or float(np.min(np.linalg.eigvalsh(Vh))) <= 0
            except np.linalg.LinAlgError:
                Vh, bad = V, True
            if bad:
                warnings.warn("variance-covariance matrix computed from finite-difference Hessian is\nnot positive "
                              "definite or contains NA values: falling back to var-cov estimated from RX",
                              LmeWarning, stacklevel=2)
            else:
                V = Vh
        nm = list(self.fixef_names)
        return pd.DataFrame(V, index=nm, columns=nm)

    # -------------------------------------------------------------------- getME
    def getME(self, name: str) -> Any:  # noqa: N802 - R's name
        """R: ``getME(fit, name)`` for the names lme4 1.1-31 accepts (:func:`pyreterms.lmm.getme.getme`;
        there is no "eta" or "weights": use ``predict(type = "link")`` and :meth:`weights`).  ``L`` and ``RZX``
        are unpermuted (lme4's follow CHOLMOD's fill-reducing permutation, the identity for one scalar term);
        ``RX`` is lme4's upper-triangular factor."""
        own: dict[str, Callable[[], Any]] = {
            "X": lambda: self.glf.X.X, "y": lambda: self.glf.y, "mu": lambda: self.mu, "u": lambda: self.u,
            "b": lambda: self.b.reshape(-1, 1), "L": lambda: sp.csc_matrix(self.L), "RX": lambda: self.RX.T,
            "RZX": lambda: self.RZX, "sigma": self.sigma, "fixef": self.fixef, "beta": lambda: self.beta,
            "Tlist": self.Tlist, "REML": lambda: 0, "is_REML": lambda: False, "offset": lambda: self.glf.offset,
            "devfun": lambda: self.devfun,
        }
        return getme(name, self.glf.reTrms, self.theta, list(self.glf.reTrms.theta_names()), self.devcomp(), own)
