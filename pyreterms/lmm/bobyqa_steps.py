"""BOBYQB's inline blocks, ported from minqa 1.2.5's Fortran ``BOBYQB`` as functions: the shift of
XBASE (after label 90), VLAG and BETA (label 230), the model update after UPDATEBOBYQA (labels
470-530) and the least Frobenius norm test (labels 570-640). Conventions:
:mod:`pyreterms.lmm.bobyqa_trsbox`.
"""
from __future__ import annotations

import numpy as np

from pyreterms.jitcache import jit_numpy_errors as jit
from pyreterms.jitcache import prepare

prepare(__file__)


@jit
def shift_base(n: int, npt: int, nptm: int, xoptsq: float, xbase: np.ndarray, xpt: np.ndarray,  # noqa: C901 - the Fortran, branch for branch
                xopt: np.ndarray, xnew: np.ndarray, sl: np.ndarray, su: np.ndarray, hq: np.ndarray,
                pq: np.ndarray, bmat: np.ndarray, zmat: np.ndarray, vlag: np.ndarray, w: np.ndarray) -> None:
    """BOBYQB's block after label 90: move XBASE to XOPT (BMAT, HQ, XPT, SL, SU follow)."""
    half = 0.5
    zero = 0.0
    fracsq = 0.25 * xoptsq
    sumpq = zero
    for k in range(1, npt + 1):
        sumpq = sumpq + pq[k]
        sum_ = -half * xoptsq
        for i in range(1, n + 1):
            sum_ = sum_ + xpt[k, i] * xopt[i]
        w[npt + k] = sum_
        temp = fracsq - half * sum_
        for i in range(1, n + 1):
            w[i] = bmat[k, i]
            vlag[i] = sum_ * xpt[k, i] + temp * xopt[i]
            ip = npt + i
            for j in range(1, i + 1):
                bmat[ip, j] = bmat[ip, j] + w[i] * vlag[j] + vlag[i] * w[j]
    for jj in range(1, nptm + 1):
        sumz = zero
        sumw = zero
        for k in range(1, npt + 1):
            sumz = sumz + zmat[k, jj]
            vlag[k] = w[npt + k] * zmat[k, jj]
            sumw = sumw + vlag[k]
        for j in range(1, n + 1):
            sum_ = (fracsq * sumz - half * sumw) * xopt[j]
            for k in range(1, npt + 1):
                sum_ = sum_ + vlag[k] * xpt[k, j]
            w[j] = sum_
            for k in range(1, npt + 1):
                bmat[k, j] = bmat[k, j] + sum_ * zmat[k, jj]
        for i in range(1, n + 1):
            ip = i + npt
            temp = w[i]
            for j in range(1, i + 1):
                bmat[ip, j] = bmat[ip, j] + temp * w[j]
    ih = 0
    for j in range(1, n + 1):
        w[j] = -half * sumpq * xopt[j]
        for k in range(1, npt + 1):
            w[j] = w[j] + pq[k] * xpt[k, j]
            xpt[k, j] = xpt[k, j] - xopt[j]
        for i in range(1, j + 1):
            ih = ih + 1
            hq[ih] = hq[ih] + w[i] * xopt[j] + xopt[i] * w[j]
            bmat[npt + i, j] = bmat[npt + j, i]
    for i in range(1, n + 1):
        xbase[i] = xbase[i] + xopt[i]
        xnew[i] = xnew[i] - xopt[i]
        sl[i] = sl[i] - xopt[i]
        su[i] = su[i] - xopt[i]
        xopt[i] = zero


@jit
def vlag_beta(n: int, npt: int, nptm: int, xpt: np.ndarray, xopt: np.ndarray, xoptsq: float, bmat: np.ndarray,
               zmat: np.ndarray, d: np.ndarray, vlag: np.ndarray, w: np.ndarray, kopt: int) -> tuple[float, float]:
    """BOBYQB's label 230: VLAG and BETA for the step D (W(NPT+K) keeps XPT(K,.)·D); returns
    ``(BETA, DSQ)``."""
    half = 0.5
    zero = 0.0
    for k in range(1, npt + 1):
        suma = zero
        sumb = zero
        sum_ = zero
        for j in range(1, n + 1):
            suma = suma + xpt[k, j] * d[j]
            sumb = sumb + xpt[k, j] * xopt[j]
            sum_ = sum_ + bmat[k, j] * d[j]
        w[k] = suma * (half * suma + sumb)
        vlag[k] = sum_
        w[npt + k] = suma
    beta = zero
    for jj in range(1, nptm + 1):
        sum_ = zero
        for k in range(1, npt + 1):
            sum_ = sum_ + zmat[k, jj] * w[k]
        beta = beta - sum_ * sum_
        for k in range(1, npt + 1):
            vlag[k] = vlag[k] + sum_ * zmat[k, jj]
    dsq = zero
    bsum = zero
    dx = zero
    for j in range(1, n + 1):
        dsq = dsq + d[j] * d[j]
        sum_ = zero
        for k in range(1, npt + 1):
            sum_ = sum_ + w[k] * bmat[k, j]
        bsum = bsum + sum_ * d[j]
        jp = npt + j
        for i in range(1, n + 1):
            sum_ = sum_ + bmat[jp, i] * d[i]
        vlag[jp] = sum_
        bsum = bsum + sum_ * d[j]
        dx = dx + d[j] * xopt[j]
    beta = dx * dx + dsq * (xoptsq + dx + dx + half * dsq) + beta - bsum
    vlag[kopt] = vlag[kopt] + 1.0
    return beta, dsq


@jit
def update_model(n: int, npt: int, nptm: int, knew: int, diff: float, f: float, xnew: np.ndarray,
                  xpt: np.ndarray, xopt: np.ndarray, fval: np.ndarray, gopt: np.ndarray, hq: np.ndarray,
                  pq: np.ndarray, bmat: np.ndarray, zmat: np.ndarray, w: np.ndarray) -> None:
    """BOBYQB after UPDATEBOBYQA (labels 470-530): the second-derivative terms, the new point and GOPT."""
    zero = 0.0
    ih = 0
    pqold = pq[knew]
    pq[knew] = zero
    for i in range(1, n + 1):
        temp = pqold * xpt[knew, i]
        for j in range(1, i + 1):
            ih = ih + 1
            hq[ih] = hq[ih] + temp * xpt[knew, j]
    for jj in range(1, nptm + 1):
        temp = diff * zmat[knew, jj]
        for k in range(1, npt + 1):
            pq[k] = pq[k] + temp * zmat[k, jj]
    fval[knew] = f
    for i in range(1, n + 1):
        xpt[knew, i] = xnew[i]
        w[i] = bmat[knew, i]
    for k in range(1, npt + 1):
        suma = zero
        for jj in range(1, nptm + 1):
            suma = suma + zmat[knew, jj] * zmat[k, jj]
        sumb = zero
        for j in range(1, n + 1):
            sumb = sumb + xpt[k, j] * xopt[j]
        temp = suma * sumb
        for i in range(1, n + 1):
            w[i] = w[i] + temp * xpt[k, i]
    for i in range(1, n + 1):
        gopt[i] = gopt[i] + diff * w[i]


@jit
def frobenius_test(n: int, npt: int, nptm: int, nh: int, kopt: int, itest: int, xpt: np.ndarray,  # noqa: C901 - the Fortran, branch for branch
                    xopt: np.ndarray, fval: np.ndarray, gopt: np.ndarray, hq: np.ndarray, pq: np.ndarray,
                    bmat: np.ndarray, zmat: np.ndarray, sl: np.ndarray, su: np.ndarray, vlag: np.ndarray,
                    w: np.ndarray) -> int:
    """BOBYQB's labels 570-640: the least Frobenius norm interpolant, which replaces the model after
    three tests in a row; returns the new ITEST."""
    zero = 0.0
    for k in range(1, npt + 1):
        vlag[k] = fval[k] - fval[kopt]
        w[k] = zero
    for j in range(1, nptm + 1):
        sum_ = zero
        for k in range(1, npt + 1):
            sum_ = sum_ + zmat[k, j] * vlag[k]
        for k in range(1, npt + 1):
            w[k] = w[k] + sum_ * zmat[k, j]
    for k in range(1, npt + 1):
        sum_ = zero
        for j in range(1, n + 1):
            sum_ = sum_ + xpt[k, j] * xopt[j]
        w[k + npt] = w[k]
        w[k] = sum_ * w[k]
    gqsq = zero
    gisq = zero
    for i in range(1, n + 1):
        sum_ = zero
        for k in range(1, npt + 1):
            sum_ = sum_ + bmat[k, i] * vlag[k] + xpt[k, i] * w[k]
        if xopt[i] == sl[i]:
            a = min(zero, gopt[i])
            b = min(zero, sum_)
            gqsq = gqsq + a * a
            gisq = gisq + b * b
        elif xopt[i] == su[i]:
            a = max(zero, gopt[i])
            b = max(zero, sum_)
            gqsq = gqsq + a * a
            gisq = gisq + b * b
        else:
            gqsq = gqsq + gopt[i] * gopt[i]
            gisq = gisq + sum_ * sum_
        vlag[npt + i] = sum_
    itest = itest + 1
    if gqsq < 10.0 * gisq:
        itest = 0
    if itest >= 3:
        for i in range(1, max(npt, nh) + 1):
            if i <= n:
                gopt[i] = vlag[npt + i]
            if i <= npt:
                pq[i] = w[npt + i]
            if i <= nh:
                hq[i] = zero
            itest = 0
    return itest
