"""BOBYQA's main loop, ported from minqa 1.2.5's Fortran ``BOBYQB`` (array conventions:
:mod:`pyreterms.lmm.bobyqa_trsbox`). Powell's GOTOs become a ``label`` state machine with the
Fortran's label numbers; every expression keeps the Fortran's order of operations.
"""
from __future__ import annotations

import math

import numpy as np

from pyreterms.lmm.bobyqa_altmov import altmov, update
from pyreterms.lmm.bobyqa_prelim import Calfun, prelim
from pyreterms.lmm.bobyqa_rescue import rescue
from pyreterms.lmm.bobyqa_steps import frobenius_test, shift_base, update_model, vlag_beta
from pyreterms.lmm.bobyqa_trsbox import trsbox


def bobyqb(n: int, npt: int, x: np.ndarray, xl: np.ndarray, xu: np.ndarray, rhobeg: float, rhoend: float,  # noqa: C901 - the Fortran, branch for branch
           maxfun: int, sl: np.ndarray, su: np.ndarray, calfun: Calfun) -> int:
    """Fortran ``BOBYQB`` (``sl``/``su`` set by BOBYQA); returns minqa's ``IERR`` (0, 320, 390 or 430)
    and leaves the answer in ``x`` (1-based)."""
    half = 0.5
    one = 1.0
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
                label = 680
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
                            label = 650
                            break
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
                delsq = delta * delta
                scaden = zero
                biglsq = zero
                knew = 0
                for k in range(1, npt + 1):
                    if k == kopt:
                        continue
                    hdiag = zero
                    for jj in range(1, nptm + 1):
                        hdiag = hdiag + zmat[k, jj] * zmat[k, jj]
                    den = beta * hdiag + vlag[k] * vlag[k]
                    distsq = zero
                    for j in range(1, n + 1):
                        t = xpt[k, j] - xopt[j]
                        distsq = distsq + t * t
                    t = distsq / delsq
                    temp = max(one, t * t)
                    if temp * den > scaden:
                        scaden = temp * den
                        knew = k
                        denom = den
                    biglsq = max(biglsq, temp * (vlag[k] * vlag[k]))
                if scaden <= half * biglsq:
                    if nf > nresc:
                        label = 190
                        continue
                    ierr = 320
                    label = 720
                    continue
            label = 360
        elif label == 360:
            for i in range(1, n + 1):
                x[i] = min(max(xl[i], xbase[i] + xnew[i]), xu[i])
                if xnew[i] == sl[i]:
                    x[i] = xl[i]
                if xnew[i] == su[i]:
                    x[i] = xu[i]
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
            diffc = diffb
            diffb = diffa
            diffa = abs(diff)
            if dnorm > rho:
                nfsav = nf
            if ntrits > 0:
                if vquad >= zero:
                    ierr = 430
                    label = 720
                    continue
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
                    delsq = delta * delta
                    scaden = zero
                    biglsq = zero
                    knew = 0
                    for k in range(1, npt + 1):
                        hdiag = zero
                        for jj in range(1, nptm + 1):
                            hdiag = hdiag + zmat[k, jj] * zmat[k, jj]
                        den = beta * hdiag + vlag[k] * vlag[k]
                        distsq = zero
                        for j in range(1, n + 1):
                            t = xpt[k, j] - xnew[j]
                            distsq = distsq + t * t
                        t = distsq / delsq
                        temp = max(one, t * t)
                        if temp * den > scaden:
                            scaden = temp * den
                            knew = k
                            denom = den
                        biglsq = max(biglsq, temp * (vlag[k] * vlag[k]))
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
            knew = 0
            for k in range(1, npt + 1):
                sum_ = zero
                for j in range(1, n + 1):
                    t = xpt[k, j] - xopt[j]
                    sum_ = sum_ + t * t
                if sum_ > distsq:
                    knew = k
                    distsq = sum_
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
                for i in range(1, n + 1):
                    x[i] = min(max(xl[i], xbase[i] + xopt[i]), xu[i])
                    if xopt[i] == sl[i]:
                        x[i] = xl[i]
                    if xopt[i] == su[i]:
                        x[i] = xu[i]
            return ierr
