"""BOBYQA's main loop, ported from minqa 1.2.5's Fortran ``BOBYQB`` (array conventions:
:mod:`pyreterms.lmm.bobyqa_trsbox`). Powell's GOTOs become a ``label`` state machine with the
Fortran's label numbers; every expression keeps the Fortran's order of operations.
"""
from __future__ import annotations

import math

import numpy as np

from pyreterms.lmm.bobyqa_altmov import altmov
from pyreterms.lmm.bobyqa_loops import after_eval, bound_test, farthest, gopt_to_xopt, pick_knew, set_x
from pyreterms.lmm.bobyqa_prelim import Calfun, prelim
from pyreterms.lmm.bobyqa_rescue import rescue
from pyreterms.lmm.bobyqa_steps import shift_base, vlag_beta
from pyreterms.lmm.bobyqa_trsbox import trsbox


def bobyqb(n: int, npt: int, x: np.ndarray, xl: np.ndarray, xu: np.ndarray, rhobeg: float, rhoend: float,  # noqa: C901 - the Fortran, branch for branch
           maxfun: int, sl: np.ndarray, su: np.ndarray, calfun: Calfun) -> int:
    """Fortran ``BOBYQB`` (``sl``/``su`` set by BOBYQA); returns minqa's ``IERR`` (0, 320, 390 or 430)
    and leaves the answer in ``x`` (1-based)."""
    half = 0.5
    ten = 10.0
    tenth = 0.1
    two = 2.0
    zero = 0.0
    np_ = n + 1
    nptm = npt - np_
    nh = (n * np_) // 2
    ndim = npt + n
    xbase = np.zeros(n + 1)
    xpt = np.zeros((npt + 1, n + 1))
    fval = np.zeros(npt + 1)
    xopt = np.zeros(n + 1)
    gopt = np.zeros(n + 1)
    hq = np.zeros(nh + 1)
    pq = np.zeros(npt + 1)
    bmat = np.zeros((ndim + 1, n + 1))
    zmat = np.zeros((npt + 1, max(nptm, 1) + 1))
    xnew = np.zeros(n + 1)
    xalt = np.zeros(n + 1)
    d = np.zeros(n + 1)
    vlag = np.zeros(ndim + 1)
    w = np.zeros(3 * ndim + 5 * n + 2)
    ptsaux = np.zeros((3, n + 1))
    ptsid = np.zeros(npt + 1)
    wres = np.zeros(ndim + npt + 1)
    ierr = 0
    nf, kopt, f = prelim(n, npt, x, xl, xu, rhobeg, maxfun, xbase, xpt, fval, gopt, hq, pq, bmat, zmat, ndim,
                         sl, su, calfun)
    xoptsq = zero
    for i in range(1, n + 1):
        xopt[i] = xpt[kopt, i]
        xoptsq = xoptsq + xopt[i] * xopt[i]
    fsave = fval[1]
    rho = rhobeg
    delta = rho
    nresc = nf
    ntrits = 0
    diffa = diffb = diffc = zero
    itest = 0
    nfsav = nf
    kbase = 1
    dsq = crvmin = dnorm = zero
    ratio = zero
    knew = 0
    adelt = alpha = cauchy = beta = denom = zero
    vquad = fopt = diff = distsq = zero
    label = 20
    if nf < npt:
        ierr = 390
        label = 720
    while True:
        if label == 20:
            if kopt != kbase:
                gopt_to_xopt(n, npt, nf, xpt, xopt, gopt, hq, pq)
            label = 60
        elif label == 60:
            dsq, crvmin = trsbox(n, npt, xpt, xopt, gopt, hq, pq, sl, su, delta, xnew, d, w, w[np_ - 1:],
                                 w[np_ + n - 1:], w[np_ + 2 * n - 1:], w[np_ + 3 * n - 1:])
            dnorm = min(delta, math.sqrt(dsq))
            if dnorm < half * rho:
                ntrits = -1
                t = ten * rho
                distsq = t * t
                if nf <= nfsav + 2:
                    label = 650
                    continue
                errbig = max(diffa, diffb, diffc)
                frhosq = 0.125 * rho * rho
                if crvmin > zero and errbig > frhosq * crvmin:
                    label = 650
                    continue
                bdtol = errbig / rho
                label = 650 if bound_test(n, npt, bdtol, rho, xnew, sl, su, w, xpt, hq, pq) else 680
                continue
            ntrits = ntrits + 1
            label = 90
        elif label == 90:
            if dsq <= 1.0e-3 * xoptsq:
                shift_base(n, npt, nptm, xoptsq, xbase, xpt, xopt, xnew, sl, su, hq, pq, bmat, zmat, vlag, w)
                xoptsq = zero
            label = 210 if ntrits == 0 else 230
        elif label == 190:
            nfsav = nf
            kbase = kopt
            nf, kopt, f_r = rescue(n, npt, xl, xu, maxfun, xbase, xpt, fval, xopt, gopt, hq, pq, bmat, zmat,
                                   ndim, sl, su, nf, delta, kopt, vlag, ptsaux, ptsid, wres, calfun)
            if not math.isnan(f_r):
                f = f_r
            xoptsq = zero
            if kopt != kbase:
                for i in range(1, n + 1):
                    xopt[i] = xpt[kopt, i]
                    xoptsq = xoptsq + xopt[i] * xopt[i]
            if nf < 0:
                nf = maxfun
                ierr = 390
                label = 720
                continue
            nresc = nf
            if nfsav < nf:
                nfsav = nf
                label = 20
                continue
            label = 60 if ntrits > 0 else 210
        elif label == 210:
            alpha, cauchy = altmov(n, npt, xpt, xopt, bmat, zmat, sl, su, kopt, knew, adelt, xnew, xalt,
                                   w, w[np_ - 1:], w[ndim:])
            for i in range(1, n + 1):
                d[i] = xnew[i] - xopt[i]
            label = 230
        elif label == 230:
            beta, dsq = vlag_beta(n, npt, nptm, xpt, xopt, xoptsq, bmat, zmat, d, vlag, w, kopt)
            if ntrits == 0:
                denom = vlag[knew] * vlag[knew] + alpha * beta
                if denom < cauchy and cauchy > zero:
                    for i in range(1, n + 1):
                        xnew[i] = xalt[i]
                        d[i] = xnew[i] - xopt[i]
                    cauchy = zero
                    continue
                if denom <= half * (vlag[knew] * vlag[knew]):
                    if nf > nresc:
                        label = 190
                        continue
                    ierr = 320
                    label = 720
                    continue
            else:
                knew, denom, scaden, biglsq = pick_knew(n, npt, nptm, kopt, delta, beta, denom, xpt, xopt,
                                                        zmat, vlag)
                if scaden <= half * biglsq:
                    if nf > nresc:
                        label = 190
                        continue
                    ierr = 320
                    label = 720
                    continue
            label = 360
        elif label == 360:
            set_x(n, x, xl, xu, xbase, xnew, sl, su)
            if nf >= maxfun:
                ierr = 390
                label = 720
                continue
            nf = nf + 1
            f = calfun(x[1:n + 1].copy())
            if ntrits == -1:
                fsave = f
                label = 720
                continue
            code, fopt, vquad, diff, ratio, knew, delta, kopt, xoptsq, itest = after_eval(
                n, npt, nptm, f, ntrits, kopt, knew, delta, dnorm, rho, beta, denom, ratio, itest, xoptsq,
                xpt, xopt, xnew, d, fval, gopt, hq, pq, bmat, zmat, sl, su, vlag, w)
            diffc = diffb
            diffb = diffa
            diffa = abs(diff)
            if dnorm > rho:
                nfsav = nf
            if code != 0:
                ierr = code
                label = 720
                continue
            if ntrits == 0:
                label = 60
                continue
            if f <= fopt + tenth * vquad:
                label = 60
                continue
            a = two * delta
            b = ten * rho
            distsq = max(a * a, b * b)
            label = 650
        elif label == 650:
            knew, distsq = farthest(n, npt, distsq, xpt, xopt)
            if knew > 0:
                dist = math.sqrt(distsq)
                if ntrits == -1:
                    delta = min(tenth * delta, half * dist)
                    if delta <= 1.5 * rho:
                        delta = rho
                ntrits = 0
                adelt = max(min(tenth * dist, delta), rho)
                dsq = adelt * adelt
                label = 90
                continue
            if ntrits == -1:
                label = 680
                continue
            if ratio > zero:
                label = 60
                continue
            if max(delta, dnorm) > rho:
                label = 60
                continue
            label = 680
        elif label == 680:
            if rho > rhoend:
                delta = half * rho
                ratio = rho / rhoend
                if ratio <= 16.0:
                    rho = rhoend
                elif ratio <= 250.0:
                    rho = math.sqrt(ratio) * rhoend
                else:
                    rho = tenth * rho
                delta = max(delta, rho)
                ntrits = 0
                nfsav = nf
                label = 60
                continue
            if ntrits == -1:
                label = 360
                continue
            label = 720
        else:  # label 720
            if fval[kopt] <= fsave:
                set_x(n, x, xl, xu, xbase, xopt, sl, su)
            return ierr
