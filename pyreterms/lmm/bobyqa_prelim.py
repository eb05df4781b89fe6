"""BOBYQA's initial interpolation set, ported from minqa 1.2.5's Fortran ``PRELIM`` (conventions:
:mod:`pyreterms.lmm.bobyqa_trsbox`).

``calfun(x)`` is minqa's ``calfun`` (the counted, finite-checked objective, see
:func:`pyreterms.lmm.bobyqa_minqa.bobyqa`), called with a 0-based copy of the point. The loop that calls it is
Python; the arithmetic before and after each call is compiled (:func:`prelim_point`,
:func:`prelim_model`).
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from pyreterms.jitcache import jit_numpy_errors as jit
from pyreterms.jitcache import prepare

prepare(__file__)

Calfun = Callable[[np.ndarray], float]


@jit
def prelim_point(n: int, npt: int, nf: int, rhobeg: float, stepa: float, stepb: float, x: np.ndarray,
                 xl: np.ndarray, xu: np.ndarray, xbase: np.ndarray, xpt: np.ndarray, sl: np.ndarray,
                 su: np.ndarray) -> tuple[float, float, int, int]:
    """PRELIM's label 50 for the (``nf`` + 1)-th point: XPT's new row and ``X``; returns
    ``(STEPA, STEPB, IPT, JPT)``."""
    two = 2.0
    np_ = n + 1
    ipt = jpt = 0
    nfm = nf
    nfx = nf - n
    nf = nf + 1
    if nfm <= 2 * n:
        if nfm >= 1 and nfm <= n:
            stepa = rhobeg
            if su[nfm] == 0.0:
                stepa = -stepa
            xpt[nf, nfm] = stepa
        elif nfm > n:
            stepa = xpt[nf - n, nfx]
            stepb = -rhobeg
            if sl[nfx] == 0.0:
                stepb = min(two * rhobeg, su[nfx])
            if su[nfx] == 0.0:
                stepb = max(-two * rhobeg, sl[nfx])
            xpt[nf, nfx] = stepb
    else:
        itemp = (nfm - np_) // n
        jpt = nfm - itemp * n - n
        ipt = jpt + itemp
        if ipt > n:
            itemp = jpt
            jpt = ipt - n
            ipt = itemp
        xpt[nf, ipt] = xpt[ipt + 1, ipt]
        xpt[nf, jpt] = xpt[jpt + 1, jpt]
    for j in range(1, n + 1):
        x[j] = min(max(xl[j], xbase[j] + xpt[nf, j]), xu[j])
        if xpt[nf, j] == sl[j]:
            x[j] = xl[j]
        if xpt[nf, j] == su[j]:
            x[j] = xu[j]
    return stepa, stepb, ipt, jpt


@jit
def prelim_model(n: int, npt: int, nf: int, f: float, fbeg: float, kopt: int, rhobeg: float, stepa: float,
                 stepb: float, ipt: int, jpt: int, xpt: np.ndarray, fval: np.ndarray, gopt: np.ndarray,
                 hq: np.ndarray, bmat: np.ndarray, zmat: np.ndarray) -> tuple[float, int]:
    """PRELIM after CALFUN's value ``f`` at point ``nf``: FVAL, KOPT and the model's terms (GOPT, HQ,
    BMAT, ZMAT); returns ``(FBEG, KOPT)``."""
    half = 0.5
    one = 1.0
    two = 2.0
    zero = 0.0
    rhosq = rhobeg * rhobeg
    recip = one / rhosq
    nfm = nf - 1
    nfx = nf - 1 - n
    fval[nf] = f
    if nf == 1:
        fbeg = f
        kopt = 1
    elif f < fval[kopt]:
        kopt = nf
    if nf <= 2 * n + 1:
        if nf >= 2 and nf <= n + 1:
            gopt[nfm] = (f - fbeg) / stepa
            if npt < nf + n:
                bmat[1, nfm] = -one / stepa
                bmat[nf, nfm] = one / stepa
                bmat[npt + nfm, nfm] = -half * rhosq
        elif nf >= n + 2:
            ih = (nfx * (nfx + 1)) // 2
            temp = (f - fbeg) / stepb
            diff = stepb - stepa
            hq[ih] = two * (temp - gopt[nfx]) / diff
            gopt[nfx] = (gopt[nfx] * stepb - temp * stepa) / diff
            if stepa * stepb < zero:
                if f < fval[nf - n]:
                    fval[nf] = fval[nf - n]
                    fval[nf - n] = f
                    if kopt == nf:
                        kopt = nf - n
                    xpt[nf - n, nfx] = stepb
                    xpt[nf, nfx] = stepa
            bmat[1, nfx] = -(stepa + stepb) / (stepa * stepb)
            bmat[nf, nfx] = -half / xpt[nf - n, nfx]
            bmat[nf - n, nfx] = -bmat[1, nfx] - bmat[nf, nfx]
            zmat[1, nfx] = math.sqrt(two) / (stepa * stepb)
            zmat[nf, nfx] = math.sqrt(half) / rhosq
            zmat[nf - n, nfx] = -zmat[1, nfx] - zmat[nf, nfx]
    else:
        ih = (ipt * (ipt - 1)) // 2 + jpt
        zmat[1, nfx] = recip
        zmat[nf, nfx] = recip
        zmat[ipt + 1, nfx] = -recip
        zmat[jpt + 1, nfx] = -recip
        temp = xpt[nf, ipt] * xpt[nf, jpt]
        hq[ih] = (fbeg - fval[ipt + 1] - fval[jpt + 1] + f) / temp
    return fbeg, kopt


@jit
def prelim_init(n: int, npt: int, ndim: int, x: np.ndarray, xbase: np.ndarray, xpt: np.ndarray,
                hq: np.ndarray, pq: np.ndarray, bmat: np.ndarray, zmat: np.ndarray) -> None:
    """PRELIM's start: XBASE = X, the model's arrays zeroed."""
    zero = 0.0
    np_ = n + 1
    for j in range(1, n + 1):
        xbase[j] = x[j]
        for k in range(1, npt + 1):
            xpt[k, j] = zero
        for i in range(1, ndim + 1):
            bmat[i, j] = zero
    for ih in range(1, (n * np_) // 2 + 1):
        hq[ih] = zero
    for k in range(1, npt + 1):
        pq[k] = zero
        for j in range(1, npt - np_ + 1):
            zmat[k, j] = zero


def prelim(n: int, npt: int, x: np.ndarray, xl: np.ndarray, xu: np.ndarray, rhobeg: float, maxfun: int,
           xbase: np.ndarray, xpt: np.ndarray, fval: np.ndarray, gopt: np.ndarray, hq: np.ndarray,
           pq: np.ndarray, bmat: np.ndarray, zmat: np.ndarray, ndim: int, sl: np.ndarray, su: np.ndarray,
           calfun: Calfun) -> tuple[int, int, float]:
    """Fortran ``PRELIM``: the first NPT points and the initial quadratic model; returns
    ``(NF, KOPT, F)`` (F: the last value computed, BOBYQB's initial ``F``)."""
    prelim_init(n, npt, ndim, x, xbase, xpt, hq, pq, bmat, zmat)
    nf = 0
    kopt = 1
    fbeg = stepa = stepb = 0.0
    while True:  # label 50
        stepa, stepb, ipt, jpt = prelim_point(n, npt, nf, rhobeg, stepa, stepb, x, xl, xu, xbase, xpt, sl, su)
        nf = nf + 1
        f = calfun(x[1:n + 1].copy())
        fbeg, kopt = prelim_model(n, npt, nf, f, fbeg, kopt, rhobeg, stepa, stepb, ipt, jpt, xpt, fval, gopt,
                                  hq, bmat, zmat)
        if not (nf < npt and nf < maxfun):
            return nf, kopt, f
