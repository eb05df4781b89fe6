"""BOBYQA's initial interpolation set, ported from minqa 1.2.5's Fortran ``PRELIM`` (conventions:
:mod:`pyreterms.lmm.bobyqa_trsbox`).

``calfun(x)`` is minqa's ``calfun`` (the counted, finite-checked objective, see
:func:`pyreterms.lmm.bobyqa_minqa.bobyqa`), called with a 0-based copy of the point.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Calfun = Callable[[np.ndarray], float]


def prelim(n: int, npt: int, x: np.ndarray, xl: np.ndarray, xu: np.ndarray, rhobeg: float, maxfun: int,  # noqa: C901 - the Fortran, branch for branch
           xbase: np.ndarray, xpt: np.ndarray, fval: np.ndarray, gopt: np.ndarray, hq: np.ndarray,
           pq: np.ndarray, bmat: np.ndarray, zmat: np.ndarray, ndim: int, sl: np.ndarray, su: np.ndarray,
           calfun: Calfun) -> tuple[int, int, float]:
    """Fortran ``PRELIM``: the first NPT points and the initial quadratic model; returns
    ``(NF, KOPT, F)`` (F: the last value computed, BOBYQB's initial ``F``)."""
    half = 0.5
    one = 1.0
    two = 2.0
    zero = 0.0
    rhosq = rhobeg * rhobeg
    recip = one / rhosq
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
    nf = 0
    kopt = 1
    fbeg = zero
    stepa = stepb = zero
    ipt = jpt = 0
    f = zero
    while True:  # label 50
        nfm = nf
        nfx = nf - n
        nf = nf + 1
        if nfm <= 2 * n:
            if nfm >= 1 and nfm <= n:
                stepa = rhobeg
                if su[nfm] == zero:
                    stepa = -stepa
                xpt[nf, nfm] = stepa
            elif nfm > n:
                stepa = xpt[nf - n, nfx]
                stepb = -rhobeg
                if sl[nfx] == zero:
                    stepb = min(two * rhobeg, su[nfx])
                if su[nfx] == zero:
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
        f = calfun(x[1:n + 1].copy())
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
        if not (nf < npt and nf < maxfun):
            return nf, kopt, f
