"""The glmer deviance functions (R: ``lme4::mkGlmerDevfun``, ``updateGlmerDevfun`` and the GLMM
branch of ``mkdevfun``, ``R/modular.R`` + ``R/lmer.R``, lme4 1.1-31).

- ``devfun0(theta)`` (nAGQ = 0): eta reset to ``offset + lp0``, joint (u, beta) PIRLS, Laplace value.
- ``devfun1(c(theta, beta))`` (nAGQ = 1): eta reset to ``baseOffset + lp0``, beta moved into the offset,
  u-only PIRLS, Laplace value ``ldL2 + ||u||^2 + aic``.
- ``devfun_agq(c(theta, beta))`` (nAGQ > 1, after :meth:`GlmerDevfun.set_agq`): the same PIRLS, then
  lme4's adaptive Gauss-Hermite value (``glmerAGQ``, :func:`pyreterms.glmm.agq.agq_deviance`).
``lp0`` is the linear predictor left by the initial PIRLS (``mkGlmerDevfun``) and, for stage 2, by stage 1's
final call (``updateGlmerDevfun``); the PIRLS iterates carry over between calls as lme4's do.
"""
from __future__ import annotations

import numpy as np

from pyreterms.errors import DataError
from pyreterms.glmm.agq import agq_deviance, check_agq_model
from pyreterms.glmm.ghrule import GHrule
from pyreterms.glmm.glformula import GLFormula
from pyreterms.glmm.kernel import KernelModel, kernel_enabled
from pyreterms.glmm.pirls import GlmResp, MerPred, component_major, laplace, pwrss_update, r_laplace


def check_response_length(glf: GLFormula) -> None:
    """R: lme4's ``merPredD::updateXwts`` (``src/predModule.cpp``), reached from ``mkGlmerDevfun``'s first
    PIRLS: a response module whose ``y`` is longer than the model frame stops there.  That happens when a
    matrix response (``cbind(a, b)``) meets a family whose ``initialize`` keeps it (every family but
    binomial): lme4's ``y`` is the matrix read column by column (``2 n`` values) while the weights hold ``n``.
    lme4 1.1-31 reports only ``updateXwts: dimension mismatch``; the refusal keeps that text (so it reads as
    lme4's) and says why after it."""
    if glf.y.shape != glf.weights.shape:
        raise DataError(f"updateXwts: dimension mismatch (the response has {glf.y.size // max(glf.weights.size, 1)} "
                        f"columns; a cbind() response is for the binomial family only)")


_EMPTY = np.zeros(0)


class GlmerDevfun:
    """R: the environment of lme4's glmer ``devfun`` (``pp``, ``resp``, ``lp0``, ``baseOffset``,
    ``tolPwrss``, ``maxit = 100``) and its two closures.  PIRLS runs compiled (:mod:`pyreterms.glmm.kernel`)
    where the structure allows and ``kernel`` (default: unless ``PYRETERMS_GLMM_KERNEL=0``), else in numpy
    (:mod:`pyreterms.glmm.pirls`, the reference)."""

    def __init__(self, glf: GLFormula, tol_pwrss: float = 1e-7, nAGQ_init: int = 0, maxit: int = 100,
                 kernel: bool | None = None, compDev: bool = True) -> None:
        check_response_length(glf)
        self.glf = glf
        #: glmerControl's compDev: False runs lme4's R-level PIRLS in the closures (:func:`r_laplace`, numpy);
        #: mkGlmerDevfun's first PIRLS is the compiled one either way
        self.compDev = compDev
        self.tol = tol_pwrss
        self.maxit = maxit
        self.base_offset = glf.offset.copy()
        self.resp = GlmResp(glf.family, glf.y, glf.weights, glf.n, glf.offset.copy())
        gamma = glf.etastart if glf.etastart is not None else glf.family.linkfun(glf.mustart)
        self.resp.update_mu(gamma)
        rt = glf.reTrms
        self.pp = MerPred(glf.X.X, rt.Zt.tocsc(), rt.Lambdat.tocsc(), np.asarray(rt.Lind), rt.theta.copy(),
                          perm=component_major(np.asarray(rt.Gp), [len(c) for _, c in rt.cnms]))
        use = kernel_enabled() if kernel is None else kernel
        self.kern = KernelModel.build(self.pp, self.resp) if use else None
        if self.kern is not None:
            off = self.resp.offset
            self.kern.evaluate(self.pp, self.resp, 1, np.array(gamma, dtype=np.float64), off, off, _EMPTY,
                               self.pp.theta, nAGQ_init != 0, self.tol, self.maxit)
        else:
            laplace(self.pp, self.resp, u_only=nAGQ_init != 0, tol=self.tol, maxit=self.maxit)
        self.lp0 = self.pp.lin_pred()
        self.lower = glf.reTrms.lower.copy()
        self.nth = glf.reTrms.theta.size
        self.nAGQ = 1
        self.GQmat = GHrule(0)
        self.fac = np.zeros(0, dtype=np.int64)

    def set_agq(self, nAGQ: int) -> None:
        """R: ``updateGlmerDevfun(devfun, reTrms, nAGQ)``'s ``GQmat <- GHrule(nAGQ)``, ``fac <- flist[[1]]``
        and its check of a single scalar term (nAGQ > 1)."""
        if nAGQ > 1:
            check_agq_model(self.glf.reTrms)
        self.nAGQ = nAGQ
        self.GQmat = GHrule(nAGQ)
        self.fac = np.asarray(self.glf.reTrms.flist[0][1].codes, dtype=np.int64)

    def devfun0(self, theta: np.ndarray) -> float:
        """R: the nAGQ = 0 closure ``function(theta)``."""
        if self.kern is not None and self.compDev:
            off = self.resp.offset
            return self.kern.evaluate(self.pp, self.resp, 1, self.lp0, off, off, _EMPTY, theta, False, self.tol,
                                      self.maxit)
        self.resp.update_mu(self.lp0)
        self.pp.set_theta(theta)
        if not self.compDev:  # glmerPwrssUpdate(GQmat = GHrule(0L)): nrow 0, uOnly
            return r_laplace(self.pp, self.resp, u_only=True, tol=self.tol)
        return laplace(self.pp, self.resp, u_only=False, tol=self.tol, maxit=self.maxit)

    def to_stage2(self) -> None:
        """R: ``updateGlmerDevfun``: ``lp0 <- pp$linPred(1)``, ``baseOffset <- resp$offset``."""
        self.lp0 = self.pp.lin_pred()
        self.base_offset = self.resp.offset.copy()

    def devfun1(self, pars: np.ndarray) -> float:
        """R: the nAGQ = 1 closure ``function(pars)`` with ``pars = c(theta, beta)``."""
        if not self.compDev:  # glmerPwrssUpdate: nrow(GQmat) >= 1, so not uOnly; the Laplace value at any nAGQ
            self._reset(pars)
            return r_laplace(self.pp, self.resp, u_only=False, tol=self.tol)
        if self.kern is not None:
            return self._kernel_stage2(pars, 1)
        self._reset(pars)
        return laplace(self.pp, self.resp, u_only=True, tol=self.tol, maxit=self.maxit)

    def _kernel_stage2(self, pars: np.ndarray, mode: int) -> float:
        """The stage-2 closures compiled: :meth:`_reset` and PIRLS (mode 1: Laplace, 2: AGQ) in one call."""
        assert self.kern is not None
        pars = np.asarray(pars, dtype=np.float64)
        base = self.base_offset
        return self.kern.evaluate(self.pp, self.resp, mode, self.lp0, base, base, np.ascontiguousarray(pars[self.nth:]),
                                  pars[:self.nth], True, self.tol, self.maxit, self.fac, self.GQmat)

    def _reset(self, pars: np.ndarray) -> None:
        """The stage-2 closures' common start: eta reset to ``baseOffset + lp0``, theta set, and beta moved
        into the offset (``resp$setOffset(baseOffset + X %*% beta)``)."""
        pars = np.asarray(pars, dtype=np.float64)
        self.resp.offset = self.base_offset.copy()
        self.resp.update_mu(self.lp0)
        self.pp.set_theta(pars[:self.nth])
        beta = pars[self.nth:]
        self.resp.offset = self.base_offset + (self.glf.X.X @ beta if beta.size else 0.0)

    def devfun_agq(self, pars: np.ndarray) -> float:
        """R: the nAGQ >= 1 closure when ``nrow(GQmat) >= 2``: u-only PIRLS, then ``glmerAGQ``."""
        if self.GQmat.shape[0] < 2 or not self.compDev:  # glmerPwrssUpdate: nAGQ < 2 (or compDev FALSE) -> Laplace
            return self.devfun1(pars)
        if self.kern is not None:
            return self._kernel_stage2(pars, 2)
        self._reset(pars)
        pwrss_update(self.pp, self.resp, u_only=True, tol=self.tol, maxit=self.maxit)
        return agq_deviance(self.pp, self.resp, self.GQmat, self.fac)

    def devfun(self, pars: np.ndarray) -> float:
        """The stage-2 objective for this devfun's nAGQ (R: ``mkdevfun(rho, nAGQ)``'s closure)."""
        return self.devfun_agq(pars) if self.nAGQ > 1 else self.devfun1(pars)

    def unsc(self) -> np.ndarray:
        """R: ``pp$unsc()`` = ``(RX' RX)^-1``."""
        RXi = np.linalg.inv(self.pp.RX)
        return RXi.T @ RXi
