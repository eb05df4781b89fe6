"""BOBYQB's remaining inline loops as compiled kernels, ported from minqa 1.2.5's Fortran ``BOBYQB``
(conventions: :mod:`pyreterms.lmm.bobyqa_trsbox`): GOPT moved to XOPT (label 20), the bound test
after a short step (label 60), the choice of KNEW (labels 230 and 410), the point handed to CALFUN
(label 360 and 720), everything between CALFUN and label 650 (:func:`after_eval`) and the search for
a far interpolation point (label 650). The driver :func:`pyreterms.lmm.bobyqa_bobyqb.bobyqb` stays
Python and calls the objective.
"""
from __future__ import annotations

import numpy as np

from pyreterms.jitcache import jit_numpy_errors as jit
from pyreterms.jitcache import prepare
from pyreterms.lmm.bobyqa_altmov import update
from pyreterms.lmm.bobyqa_steps import frobenius_test, update_model

prepare(__file__)


@jit
def gopt_to_xopt(n: int, npt: int, nf: int, xpt: np.ndarray, xopt: np.ndarray, gopt: np.ndarray,
                 hq: np.ndarray, pq: np.ndarray) -> None:
    """BOBYQB's label 20 when KOPT changed: GOPT becomes the model gradient at XOPT."""
    zero = 0.0
    ih = 0
    for j in range(1, n + 1):
        for i in range(1, j + 1):
            ih = ih + 1
            if i < j:
                gopt[j] = gopt[j] + hq[ih] * xopt[i]
            gopt[i] = gopt[i] + hq[ih] * xopt[j]
    if nf > npt:
        for k in range(1, npt + 1):
            temp = zero
            for j in range(1, n + 1):
                temp = temp + xpt[k, j] * xopt[j]
            temp = pq[k] * temp
            for i in range(1, n + 1):
                gopt[i] = gopt[i] + temp * xpt[k, i]


@jit
def bound_test(n: int, npt: int, bdtol: float, rho: float, xnew: np.ndarray, sl: np.ndarray, su: np.ndarray,
               w: np.ndarray, xpt: np.ndarray, hq: np.ndarray, pq: np.ndarray) -> bool:
    """BOBYQB's label 60 after a short step: True when some bound test fails (GOTO 650)."""
    half = 0.5
    for j in range(1, n + 1):
        bdtest = bdtol
        if xnew[j] == sl[j]:
            bdtest = w[j]
        if xnew[j] == su[j]:
            bdtest = -w[j]
        if bdtest < bdtol:
            curv = hq[(j + j * j) // 2]
            for k in range(1, npt + 1):
                curv = curv + pq[k] * (xpt[k, j] * xpt[k, j])
            bdtest = bdtest + half * curv * rho
            if bdtest < bdtol:
                return True
    return False


@jit
def pick_knew(n: int, npt: int, nptm: int, skip: int, delta: float, beta: float, denom: float,
              xpt: np.ndarray, xref: np.ndarray, zmat: np.ndarray, vlag: np.ndarray) -> tuple[int, float, float, float]:
    """BOBYQB's choice of KNEW (label 230 with ``skip = KOPT``, ``xref = XOPT``; label 410 with
    ``skip = 0``, ``xref = XNEW``); returns ``(KNEW, DENOM, SCADEN, BIGLSQ)`` (DENOM unchanged when
    no KNEW)."""
    one = 1.0
    zero = 0.0
    delsq = delta * delta
    scaden = zero
    biglsq = zero
    knew = 0
    for k in range(1, npt + 1):
        if k == skip:
            continue
        hdiag = zero
        for jj in range(1, nptm + 1):
            hdiag = hdiag + zmat[k, jj] * zmat[k, jj]
        den = beta * hdiag + vlag[k] * vlag[k]
        distsq = zero
        for j in range(1, n + 1):
            t = xpt[k, j] - xref[j]
            distsq = distsq + t * t
        t = distsq / delsq
        temp = max(one, t * t)
        if temp * den > scaden:
            scaden = temp * den
            knew = k
            denom = den
        biglsq = max(biglsq, temp * (vlag[k] * vlag[k]))
    return knew, denom, scaden, biglsq


@jit
def set_x(n: int, x: np.ndarray, xl: np.ndarray, xu: np.ndarray, xbase: np.ndarray, xs: np.ndarray,
          sl: np.ndarray, su: np.ndarray) -> None:
    """BOBYQB's labels 360/720: ``X = min(max(XL, XBASE + xs), XU)``, exactly XL/XU on a bound."""
    for i in range(1, n + 1):
        x[i] = min(max(xl[i], xbase[i] + xs[i]), xu[i])
        if xs[i] == sl[i]:
            x[i] = xl[i]
        if xs[i] == su[i]:
            x[i] = xu[i]


@jit
def after_eval(n: int, npt: int, nptm: int, f: float, ntrits: int, kopt: int, knew: int,  # noqa: C901 - the Fortran, branch for branch
               delta: float, dnorm: float, rho: float, beta: float, denom: float, ratio: float, itest: int,
               xoptsq: float, xpt: np.ndarray, xopt: np.ndarray, xnew: np.ndarray, d: np.ndarray,
               fval: np.ndarray, gopt: np.ndarray, hq: np.ndarray, pq: np.ndarray, bmat: np.ndarray,
               zmat: np.ndarray, sl: np.ndarray, su: np.ndarray, vlag: np.ndarray,
               w: np.ndarray) -> tuple[int, float, float, float, float, int, float, int, float, int]:
    """BOBYQB from CALFUN's value (after label 360) up to the choice of the next label: VQUAD, the
    trust-region update, KNEW (label 410), UPDATEBOBYQA, the model update, XOPT/GOPT and the
    Frobenius test. Returns ``(IERR, FOPT, VQUAD, DIFF, RATIO, KNEW, DELTA, KOPT, XOPTSQ, ITEST)``
    with IERR 430 (the step failed to reduce Q; no update made) or 0."""
    half = 0.5
    tenth = 0.1
    zero = 0.0
    nh = (n * (n + 1)) // 2
    fopt = fval[kopt]
    vquad = zero
    ih = 0
    for j in range(1, n + 1):
        vquad = vquad + d[j] * gopt[j]
        for i in range(1, j + 1):
            ih = ih + 1
            temp = d[i] * d[j]
            if i == j:
                temp = half * temp
            vquad = vquad + hq[ih] * temp
    for k in range(1, npt + 1):
        vquad = vquad + half * pq[k] * (w[npt + k] * w[npt + k])
    diff = f - fopt - vquad
    if ntrits > 0:
        if vquad >= zero:
            return 430, fopt, vquad, diff, ratio, knew, delta, kopt, xoptsq, itest
        ratio = (f - fopt) / vquad
        if ratio <= tenth:
            delta = min(half * delta, dnorm)
        elif ratio <= 0.7:
            delta = max(half * delta, dnorm)
        else:
            delta = max(half * delta, dnorm + dnorm)
        if delta <= 1.5 * rho:
            delta = rho
        if f < fopt:
            ksav = knew
            densav = denom
            knew, denom, scaden, biglsq = pick_knew(n, npt, nptm, 0, delta, beta, denom, xpt, xnew, zmat, vlag)
            if scaden <= half * biglsq:
                knew = ksav
                denom = densav
    update(n, npt, bmat, zmat, vlag, beta, denom, knew, w)
    update_model(n, npt, nptm, knew, diff, f, xnew, xpt, xopt, fval, gopt, hq, pq, bmat, zmat, w)
    if f < fopt:
        kopt = knew
        xoptsq = zero
        ih = 0
        for j in range(1, n + 1):
            xopt[j] = xnew[j]
            xoptsq = xoptsq + xopt[j] * xopt[j]
            for i in range(1, j + 1):
                ih = ih + 1
                if i < j:
                    gopt[j] = gopt[j] + hq[ih] * d[i]
                gopt[i] = gopt[i] + hq[ih] * d[j]
        for k in range(1, npt + 1):
            temp = zero
            for j in range(1, n + 1):
                temp = temp + xpt[k, j] * d[j]
            temp = pq[k] * temp
            for i in range(1, n + 1):
                gopt[i] = gopt[i] + temp * xpt[k, i]
    if ntrits > 0:
        itest = frobenius_test(n, npt, nptm, nh, kopt, itest, xpt, xopt, fval, gopt, hq, pq, bmat,
                               zmat, sl, su, vlag, w)
    return 0, fopt, vquad, diff, ratio, knew, delta, kopt, xoptsq, itest


@jit
def farthest(n: int, npt: int, distsq: float, xpt: np.ndarray, xopt: np.ndarray) -> tuple[int, float]:
    """BOBYQB's label 650: the interpolation point farthest from XOPT beyond ``sqrt(distsq)``;
    returns ``(KNEW, DISTSQ)`` (KNEW 0 when none)."""
    zero = 0.0
    knew = 0
    for k in range(1, npt + 1):
        sum_ = zero
        for j in range(1, n + 1):
            t = xpt[k, j] - xopt[j]
            sum_ = sum_ + t * t
        if sum_ > distsq:
            knew = k
            distsq = sum_
    return knew, distsq
