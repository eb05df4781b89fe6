"""BOBYQA's alternative step and matrix update, ported from minqa 1.2.5's Fortran ``ALTMOV`` (a step
that keeps the interpolation set well poised) and ``UPDATEBOBYQA`` (the update of ``BMAT`` and
``ZMAT``); conventions: :mod:`pyreterms.lmm.bobyqa_trsbox`.
"""
from __future__ import annotations

import math

import numpy as np

from pyreterms.jitcache import jit_numpy_errors as jit
from pyreterms.jitcache import prepare

prepare(__file__)


@jit
def altmov(n: int, npt: int, xpt: np.ndarray, xopt: np.ndarray, bmat: np.ndarray, zmat: np.ndarray,  # noqa: C901 - the Fortran, branch for branch
           sl: np.ndarray, su: np.ndarray, kopt: int, knew: int, adelt: float, xnew: np.ndarray,
           xalt: np.ndarray, glag: np.ndarray, hcol: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Fortran ``ALTMOV`` (minqa 1.2.5's, with ``IBDSAV = 0`` before the bound snap): sets ``xnew``
    (a step along a line through XOPT and another point) and ``xalt`` (a constrained Cauchy step of
    the KNEW-th Lagrange function); returns ``(ALPHA, CAUCHY)``."""
    half = 0.5
    one = 1.0
    zero = 0.0
    const = one + math.sqrt(2.0)
    for k in range(1, npt + 1):
        hcol[k] = zero
    for j in range(1, npt - n - 1 + 1):
        temp = zmat[knew, j]
        for k in range(1, npt + 1):
            hcol[k] = hcol[k] + temp * zmat[k, j]
    alpha = hcol[knew]
    ha = half * alpha
    for i in range(1, n + 1):
        glag[i] = bmat[knew, i]
    for k in range(1, npt + 1):
        temp = zero
        for j in range(1, n + 1):
            temp = temp + xpt[k, j] * xopt[j]
        temp = hcol[k] * temp
        for i in range(1, n + 1):
            glag[i] = glag[i] + temp * xpt[k, i]
    presav = zero
    # KSAV and STPSAV are undefined in Fortran when no PREDSQ is positive; KOPT's own line then
    ksav = kopt
    stpsav = zero
    for k in range(1, npt + 1):
        if k == kopt:
            continue
        dderiv = zero
        distsq = zero
        for i in range(1, n + 1):
            temp = xpt[k, i] - xopt[i]
            dderiv = dderiv + glag[i] * temp
            distsq = distsq + temp * temp
        subd = adelt / math.sqrt(distsq)
        slbd = -subd
        sumin = min(one, subd)
        for i in range(1, n + 1):
            temp = xpt[k, i] - xopt[i]
            if temp > zero:
                if slbd * temp < sl[i] - xopt[i]:
                    slbd = (sl[i] - xopt[i]) / temp
                if subd * temp > su[i] - xopt[i]:
                    subd = max(sumin, (su[i] - xopt[i]) / temp)
            elif temp < zero:
                if slbd * temp > su[i] - xopt[i]:
                    slbd = (su[i] - xopt[i]) / temp
                if subd * temp < sl[i] - xopt[i]:
                    subd = max(sumin, (sl[i] - xopt[i]) / temp)
        if k == knew:
            diff = dderiv - one
            step = slbd
            vlag = slbd * (dderiv - slbd * diff)
            temp = subd * (dderiv - subd * diff)
            if abs(temp) > abs(vlag):
                step = subd
                vlag = temp
            tempd = half * dderiv
            tempa = tempd - diff * slbd
            tempb = tempd - diff * subd
            if tempa * tempb < zero:
                temp = tempd * tempd / diff
                if abs(temp) > abs(vlag):
                    step = tempd / diff
                    vlag = temp
        else:
            step = slbd
            vlag = slbd * (one - slbd)
            temp = subd * (one - subd)
            if abs(temp) > abs(vlag):
                step = subd
                vlag = temp
            if subd > half:
                if abs(vlag) < 0.25:
                    step = half
                    vlag = 0.25
            vlag = vlag * dderiv
        temp = step * (one - step) * distsq
        predsq = vlag * vlag * (vlag * vlag + ha * temp * temp)
        if predsq > presav:
            presav = predsq
            ksav = k
            stpsav = step
    for i in range(1, n + 1):
        temp = xopt[i] + stpsav * (xpt[ksav, i] - xopt[i])
        xnew[i] = max(sl[i], min(su[i], temp))
    # (IBDSAV is zeroed here in minqa 1.2.5, so the bound snaps of Powell's code never apply)
    bigstp = adelt + adelt
    iflag = 0
    csave = zero
    cauchy = zero
    while True:  # label 100
        wfixsq = zero
        ggfree = zero
        for i in range(1, n + 1):
            w[i] = zero
            tempa = min(xopt[i] - sl[i], glag[i])
            tempb = max(xopt[i] - su[i], glag[i])
            if tempa > zero or tempb < zero:
                w[i] = bigstp
                ggfree = ggfree + glag[i] * glag[i]
        if ggfree == zero:
            return alpha, zero
        step = zero
        while True:  # label 120
            temp = adelt * adelt - wfixsq
            if temp > zero:
                wsqsav = wfixsq
                step = math.sqrt(temp / ggfree)
                ggfree = zero
                for i in range(1, n + 1):
                    if w[i] == bigstp:
                        temp = xopt[i] - step * glag[i]
                        if temp <= sl[i]:
                            w[i] = sl[i] - xopt[i]
                            wfixsq = wfixsq + w[i] * w[i]
                        elif temp >= su[i]:
                            w[i] = su[i] - xopt[i]
                            wfixsq = wfixsq + w[i] * w[i]
                        else:
                            ggfree = ggfree + glag[i] * glag[i]
                if wfixsq > wsqsav and ggfree > zero:
                    continue
            break
        gw = zero
        for i in range(1, n + 1):
            if w[i] == bigstp:
                w[i] = -step * glag[i]
                xalt[i] = max(sl[i], min(su[i], xopt[i] + w[i]))
            elif w[i] == zero:
                xalt[i] = xopt[i]
            elif glag[i] > zero:
                xalt[i] = sl[i]
            else:
                xalt[i] = su[i]
            gw = gw + glag[i] * w[i]
        curv = zero
        for k in range(1, npt + 1):
            temp = zero
            for j in range(1, n + 1):
                temp = temp + xpt[k, j] * w[j]
            curv = curv + hcol[k] * temp * temp
        if iflag == 1:
            curv = -curv
        if curv > -gw and curv < -const * gw:
            scale = -gw / curv
            for i in range(1, n + 1):
                temp = xopt[i] + scale * w[i]
                xalt[i] = max(sl[i], min(su[i], temp))
            t = half * gw * scale
            cauchy = t * t
        else:
            t = gw + half * curv
            cauchy = t * t
        if iflag == 0:
            for i in range(1, n + 1):
                glag[i] = -glag[i]
                w[n + i] = xalt[i]
            csave = cauchy
            iflag = 1
            continue
        break
    if csave > cauchy:
        for i in range(1, n + 1):
            xalt[i] = w[n + i]
        cauchy = csave
    return alpha, cauchy


@jit
def update(n: int, npt: int, bmat: np.ndarray, zmat: np.ndarray, vlag: np.ndarray, beta: float,
           denom: float, knew: int, w: np.ndarray) -> None:
    """Fortran ``UPDATEBOBYQA``: update ``BMAT`` and ``ZMAT`` for moving the KNEW-th interpolation
    point (``W(1..NDIM)`` is work space)."""
    one = 1.0
    zero = 0.0
    nptm = npt - n - 1
    ztest = zero
    for k in range(1, npt + 1):
        for j in range(1, nptm + 1):
            ztest = max(ztest, abs(zmat[k, j]))
    ztest = 1.0e-20 * ztest
    for j in range(2, nptm + 1):
        if abs(zmat[knew, j]) > ztest:
            a = zmat[knew, 1]
            b = zmat[knew, j]
            temp = math.sqrt(a * a + b * b)
            tempa = zmat[knew, 1] / temp
            tempb = zmat[knew, j] / temp
            for i in range(1, npt + 1):
                temp = tempa * zmat[i, 1] + tempb * zmat[i, j]
                zmat[i, j] = tempa * zmat[i, j] - tempb * zmat[i, 1]
                zmat[i, 1] = temp
        zmat[knew, j] = zero
    for i in range(1, npt + 1):
        w[i] = zmat[knew, 1] * zmat[i, 1]
    alpha = w[knew]
    tau = vlag[knew]
    vlag[knew] = vlag[knew] - one
    temp = math.sqrt(denom)
    tempb = zmat[knew, 1] / temp
    tempa = tau / temp
    for i in range(1, npt + 1):
        zmat[i, 1] = tempa * zmat[i, 1] - tempb * vlag[i]
    for j in range(1, n + 1):
        jp = npt + j
        w[jp] = bmat[knew, j]
        tempa = (alpha * vlag[jp] - tau * w[jp]) / denom
        tempb = (-beta * w[jp] - tau * vlag[jp]) / denom
        for i in range(1, jp + 1):
            bmat[i, j] = bmat[i, j] + tempa * vlag[i] + tempb * w[i]
            if i > npt:
                bmat[jp, i - npt] = bmat[i, j]
