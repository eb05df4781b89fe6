"""Dispatch of glmer's PIRLS to the compiled kernel (:mod:`pyreterms.glmm.pirlsjit`): the arrays it reads,
built once per model from :class:`pyreterms.glmm.pirls.MerPred`'s analysed structure, and the write-back of
its results into ``MerPred``/``GlmResp`` so that everything after a deviance evaluation (the fit's
``getME``, ``vcov``, ``ranef``) reads the same fields as after the numpy path (R: what lme4's ``pwrssUpdate``
leaves in ``pp`` and ``resp``).

The kernel covers the structures :mod:`pyreterms.glmm.blockchol` factors with one elimination level and a
diagonal ``Lambda`` (every term scalar, the usual GLMM); :meth:`KernelModel.build` returns None for the
others (vector terms, nested factors whose Schur complement is blocked again), which keep the numpy path.
``PYRETERMS_GLMM_KERNEL=0`` turns the kernel off (the numpy path is the reference it is tested against).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyreterms.glmm import pirlsjit
from pyreterms.glmm.blockchol import BlockChol
from pyreterms.glmm.famjit import FAMILIES, LINKS, aic_setup, has_aic
from pyreterms.glmm.pirls import GlmResp, MerPred, PirlsError

Arr = np.ndarray

_MESSAGES = {
    pirlsjit.NAN: "PIRLS loop resulted in NaN value",
    pirlsjit.HALVING: "(maxstephalfit) PIRLS step-halvings failed to reduce deviance in pwrssUpdate",
    pirlsjit.MAXIT: "pwrssUpdate did not converge in (maxit) iterations",
    pirlsjit.WEIGHTS: "PIRLS: non-finite working weights (the linear predictor is out of range)",
    pirlsjit.DOWNDATED: "Downdated VtV is not positive definite",
}


_NOFAC = np.zeros(0, dtype=np.int64)
_NOGQ = np.zeros((0, 3))


def kernel_enabled() -> bool:
    """False when the environment sets ``PYRETERMS_GLMM_KERNEL=0``."""
    return os.environ.get("PYRETERMS_GLMM_KERNEL", "1") != "0"


def _i64(a: Arr) -> Arr:
    return np.ascontiguousarray(a, dtype=np.int64)


def _f64(a: Arr) -> Arr:
    return np.ascontiguousarray(a, dtype=np.float64)


@dataclass(frozen=True)
class KernelModel:
    """The model's constant arrays in the kernel's layout (see ``pirlsjit._Model``)."""

    fam: int
    link: int
    y: Arr
    wt: Arr
    aics: Arr
    X: Arr
    Z: tuple[Arr, Arr, Arr]
    Zt: tuple[Arr, Arr, Arr]
    scatter: tuple[Arr, ...]
    schur: tuple[Arr, ...]
    dense_schur: bool
    q1: int
    xfin: bool
    Lind: Arr
    lrow: Arr
    aic_compiled: bool
    state: KernelState

    @classmethod
    def build(cls, pp: MerPred, rp: GlmResp) -> KernelModel | None:
        """The kernel's arrays, or None when the structure is not one it handles."""
        pat = pp.pat
        if not pat.diagonal or pat.plan.rest is not None or pp.X.ndim != 2 or rp.y.shape != rp.weights.shape:
            return None
        fam = FAMILIES.get(rp.family.family)
        link = LINKS.get(rp.family.link)
        if fam is None or link is None:
            return None
        Z, Zt = pat.Z, pat.Zt
        sch = pat.plan.schur
        empty = np.zeros(0, dtype=np.int64)
        schur = (empty,) * 5 if sch is None else (_i64(sch.e1), _i64(sch.e2), _i64(sch.pos), _i64(sch.rows),
                                                   _i64(sch.cols))
        scatter = (_i64(pat._inv), _i64(pat._obs), _f64(pat._coef), _i64(pat._r), _i64(pat._s),
                   _i64(pat._i11), _i64(pat._t11), _i64(pat._i21), _i64(pat._t21), _i64(pat._i22), _i64(pat._t22))
        return cls(fam, link, _f64(rp.y), _f64(rp.weights), aic_setup(fam, _f64(rp.y), _f64(rp.n), _f64(rp.weights)),
                   _f64(pp.X),
                   (_i64(Z.indptr), _i64(Z.indices), _f64(Z.data)), (_i64(Zt.indptr), _i64(Zt.indices), _f64(Zt.data)),
                   scatter, schur, sch is None, int(pat.q1), bool(np.isfinite(pp.X).all()), _i64(pat._Lind), _i64(pat._lrow), bool(has_aic(fam)),
                   KernelState.allocate(pp.X.shape[0], pp.X.shape[1], pat.q, int(pat.q1)))

    @property
    def args(self) -> tuple[Any, ...]:
        """The kernel's constant arguments and the state arrays, in :func:`pirlsjit.evaluate`'s order."""
        a = self.__dict__.get("_args")
        if a is None:
            a = (self.fam, self.link, self.y, self.wt, self.aics, self.Lind, self.lrow, self.X, *self.Z, *self.Zt,
                 *self.scatter, *self.schur, self.dense_schur, self.q1, self.xfin, *self.state.arrays())
            object.__setattr__(self, "_args", a)
        return a

    def evaluate(self, pp: MerPred, rp: GlmResp, mode: int, gamma: Arr, start_off: Arr, base: Arr, beta: Arr,
                 theta: Arr, u_only: bool, tol: float, maxit: int, fac: Arr | None = None,
                 GQmat: Arr | None = None) -> float:
        """One deviance evaluation (:func:`pyreterms.glmm.pirlsjit.evaluate`: ``mode`` 0 PIRLS only, 1 the
        Laplace value, 2 the AGQ value).  ``pp``/``rp`` are left holding the state arrays (overwritten in place
        by the next evaluation, as lme4's ``pp``/``resp`` are) as the numpy path leaves them; lme4's errors
        are raised."""
        ws = self.state
        theta = np.array(theta, dtype=np.float64)
        if pp.delu is not ws.delu:  # the numpy path (or a caller) moved the iterates: carry them over
            ws.delu[:] = pp.delu
            ws.delb[:] = pp.delb
        status, value = pirlsjit.evaluate(mode, start_off, gamma, base, beta, theta, u_only, tol, maxit,
                                          _NOFAC if fac is None else fac, _NOGQ if GQmat is None else GQmat,
                                          *self.args)
        pp.theta, pp.pat.lam = theta, ws.lam
        rp.eta, rp.mu, rp.offset = ws.eta, ws.mu, ws.offset
        pp.delu, pp.delb, pp.Xwts = ws.delu, ws.delb, ws.Xwts
        if status != pirlsjit.WEIGHTS:
            pp.chol = ws.chol
            pp.RZX = ws.RZX
        if status not in (pirlsjit.WEIGHTS, pirlsjit.DOWNDATED):
            pp.RX, pp.Vtr, pp.Utr = ws.RX, ws.Vtr, ws.Utr
        if status != pirlsjit.OK:
            raise PirlsError(_MESSAGES[status])
        if mode == 1 and not self.aic_compiled:
            return float(value + rp.aic())
        return float(value)


@dataclass(frozen=True)
class KernelState:
    """The arrays the kernel writes (``MerPred``'s and ``GlmResp``'s fields), allocated once per model."""

    lam: Arr
    eta: Arr
    mu: Arr
    offset: Arr
    delu: Arr
    delb: Arr
    d: Arr
    L21: Arr
    L22: Arr
    RZX: Arr
    RX: Arr
    Vtr: Arr
    Utr: Arr
    Xwts: Arr
    chol: BlockChol

    @classmethod
    def allocate(cls, n: int, p: int, q: int, q1: int) -> KernelState:
        d, L21, L22 = np.ones(q1), np.zeros((q - q1, q1)), np.zeros((q - q1, q - q1))
        return cls(np.zeros(q), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(q), np.zeros(p), d, L21, L22,
                   np.zeros((q, p)), np.eye(p), np.zeros(p), np.zeros(q), np.ones(n), BlockChol(d, L21, L22))

    def arrays(self) -> tuple[Arr, ...]:
        return (self.lam, self.eta, self.mu, self.offset, self.delu, self.delb, self.d, self.L21, self.L22,
                self.RZX, self.RX, self.Vtr, self.Utr, self.Xwts)
