"""BOBYQA's trust-region subproblem, ported from minqa 1.2.5's Fortran ``TRSBOX`` (Powell's code).

Conventions shared by all ``pyreterms.lmm.bobyqa_*`` modules: every array is float64 and **1-based**
as in Fortran (element 0 unused; ``XPT(K, J)`` is ``xpt[k, j]``); a Fortran actual argument ``W(K)``
(an array starting inside ``W``) is the view ``w[K - 1:]``, so aliasing between work arrays is the
Fortran's. Every expression keeps the Fortran's order of operations (``X**2`` is ``x * x``, as
gfortran compiles it), so the rounding is the same. GOTOs become a ``label`` state machine with the
Fortran's label numbers. Plain loops over numpy arrays and floats, compiled by
:func:`pyreterms.jitcache.jit_numpy_errors` (the driver loops that call the objective stay Python).
"""
from __future__ import annotations

import math

import numpy as np

from pyreterms.jitcache import jit_numpy_errors as jit
from pyreterms.jitcache import prepare

prepare(__file__)


@jit
def trsbox(n: int, npt: int, xpt: np.ndarray, xopt: np.ndarray, gopt: np.ndarray, hq: np.ndarray,  # noqa: C901 - the Fortran, branch for branch
           pq: np.ndarray, sl: np.ndarray, su: np.ndarray, delta: float, xnew: np.ndarray, d: np.ndarray,
           gnew: np.ndarray, xbdi: np.ndarray, s: np.ndarray, hs: np.ndarray,
           hred: np.ndarray) -> tuple[float, float]:
    """Fortran ``TRSBOX``: truncated conjugate gradients in the box and trust region; returns
    ``(DSQ, CRVMIN)`` and sets ``xnew``, ``d``, ``gnew`` (and the work arrays)."""
    half = 0.5
    one = 1.0
    onemin = -1.0
    zero = 0.0
    iterc = 0
    nact = 0
    for i in range(1, n + 1):
        xbdi[i] = zero
        if xopt[i] <= sl[i]:
            if gopt[i] >= zero:
                xbdi[i] = onemin
        elif xopt[i] >= su[i]:
            if gopt[i] <= zero:
                xbdi[i] = one
        if xbdi[i] != zero:
            nact = nact + 1
        d[i] = zero
        gnew[i] = gopt[i]
    delsq = delta * delta
    qred = zero
    crvmin = onemin
    beta = zero
    stepsq = zero
    gredsq = zero
    itermax = 0
    itcsav = 0
    resid = ds = shs = blen = stplen = sdec = ggsav = zero
    iact = 0
    dredsq = dredg = sredg = angbd = xsav = zero
    dhs = dhd = zero
    label = 20
    while True:
        if label == 20:
            beta = zero
            label = 30
        elif label == 30:
            stepsq = zero
            for i in range(1, n + 1):
                if xbdi[i] != zero:
                    s[i] = zero
                elif beta == zero:
                    s[i] = -gnew[i]
                else:
                    s[i] = beta * s[i] - gnew[i]
                stepsq = stepsq + s[i] * s[i]
            if stepsq == zero:
                label = 190
                continue
            if beta == zero:
                gredsq = stepsq
                itermax = iterc + n - nact
            if gredsq * delsq <= 1.0e-4 * qred * qred:
                label = 190
                continue
            label = 210
        elif label == 50:
            resid = delsq
            ds = zero
            shs = zero
            for i in range(1, n + 1):
                if xbdi[i] == zero:
                    resid = resid - d[i] * d[i]
                    ds = ds + s[i] * d[i]
                    shs = shs + s[i] * hs[i]
            if resid <= zero:
                label = 90
                continue
            temp = math.sqrt(stepsq * resid + ds * ds)
            if ds < zero:
                blen = (temp - ds) / stepsq
            else:
                blen = resid / (temp + ds)
            stplen = blen
            if shs > zero:
                stplen = min(blen, gredsq / shs)
            iact = 0
            for i in range(1, n + 1):
                if s[i] != zero:
                    xsum = xopt[i] + d[i]
                    if s[i] > zero:
                        temp = (su[i] - xsum) / s[i]
                    else:
                        temp = (sl[i] - xsum) / s[i]
                    if temp < stplen:
                        stplen = temp
                        iact = i
            sdec = zero
            if stplen > zero:
                iterc = iterc + 1
                temp = shs / stepsq
                if iact == 0 and temp > zero:
                    crvmin = min(crvmin, temp)
                    if crvmin == onemin:
                        crvmin = temp
                ggsav = gredsq
                gredsq = zero
                for i in range(1, n + 1):
                    gnew[i] = gnew[i] + stplen * hs[i]
                    if xbdi[i] == zero:
                        gredsq = gredsq + gnew[i] * gnew[i]
                    d[i] = d[i] + stplen * s[i]
                sdec = max(stplen * (ggsav - half * stplen * shs), zero)
                qred = qred + sdec
            if iact > 0:
                nact = nact + 1
                xbdi[iact] = one
                if s[iact] < zero:
                    xbdi[iact] = onemin
                delsq = delsq - d[iact] * d[iact]
                if delsq <= zero:
                    label = 90
                    continue
                label = 20
                continue
            if stplen < blen:
                if iterc == itermax:
                    label = 190
                    continue
                if sdec <= 0.01 * qred:
                    label = 190
                    continue
                beta = gredsq / ggsav
                label = 30
                continue
            label = 90
        elif label == 90:
            crvmin = zero
            label = 100
        elif label == 100:
            if nact >= n - 1:
                label = 190
                continue
            dredsq = zero
            dredg = zero
            gredsq = zero
            for i in range(1, n + 1):
                if xbdi[i] == zero:
                    dredsq = dredsq + d[i] * d[i]
                    dredg = dredg + d[i] * gnew[i]
                    gredsq = gredsq + gnew[i] * gnew[i]
                    s[i] = d[i]
                else:
                    s[i] = zero
            itcsav = iterc
            label = 210
        elif label == 120:
            iterc = iterc + 1
            temp = gredsq * dredsq - dredg * dredg
            if temp <= 1.0e-4 * qred * qred:
                label = 190
                continue
            temp = math.sqrt(temp)
            for i in range(1, n + 1):
                if xbdi[i] == zero:
                    s[i] = (dredg * d[i] - dredsq * gnew[i]) / temp
                else:
                    s[i] = zero
            sredg = -temp
            angbd = one
            iact = 0
            label = 150  # unless a free variable has reached a bound (-> 100)
            for i in range(1, n + 1):
                if xbdi[i] == zero:
                    tempa = xopt[i] + d[i] - sl[i]
                    tempb = su[i] - xopt[i] - d[i]
                    if tempa <= zero:
                        nact = nact + 1
                        xbdi[i] = onemin
                        label = 100
                        break
                    elif tempb <= zero:
                        nact = nact + 1
                        xbdi[i] = one
                        label = 100
                        break
                    ssq = d[i] * d[i] + s[i] * s[i]
                    t = xopt[i] - sl[i]
                    temp = ssq - t * t
                    if temp > zero:
                        temp = math.sqrt(temp) - s[i]
                        if angbd * temp > tempa:
                            angbd = tempa / temp
                            iact = i
                            xsav = onemin
                    t = su[i] - xopt[i]
                    temp = ssq - t * t
                    if temp > zero:
                        temp = math.sqrt(temp) + s[i]
                        if angbd * temp > tempb:
                            angbd = tempb / temp
                            iact = i
                            xsav = one
            if label == 150:
                label = 210
        elif label == 150:
            shs = zero
            dhs = zero
            dhd = zero
            for i in range(1, n + 1):
                if xbdi[i] == zero:
                    shs = shs + s[i] * hs[i]
                    dhs = dhs + d[i] * hs[i]
                    dhd = dhd + d[i] * hred[i]
            redmax = zero
            isav = 0
            redsav = zero
            rdprev = zero
            rdnext = zero
            iu = int(17.0 * angbd + 3.1)
            angt = zero
            for i in range(1, iu + 1):
                angt = angbd * float(i) / float(iu)
                sth = (angt + angt) / (one + angt * angt)
                temp = shs + angt * (angt * dhd - dhs - dhs)
                rednew = sth * (angt * dredg - sredg - half * sth * temp)
                if rednew > redmax:
                    redmax = rednew
                    isav = i
                    rdprev = redsav
                elif i == isav + 1:
                    rdnext = rednew
                redsav = rednew
            if isav == 0:
                label = 190
                continue
            if isav < iu:
                temp = (rdnext - rdprev) / (redmax + redmax - rdprev - rdnext)
                angt = angbd * (float(isav) + half * temp) / float(iu)
            cth = (one - angt * angt) / (one + angt * angt)
            sth = (angt + angt) / (one + angt * angt)
            temp = shs + angt * (angt * dhd - dhs - dhs)
            sdec = sth * (angt * dredg - sredg - half * sth * temp)
            if sdec <= zero:
                label = 190
                continue
            dredg = zero
            gredsq = zero
            for i in range(1, n + 1):
                gnew[i] = gnew[i] + (cth - one) * hred[i] + sth * hs[i]
                if xbdi[i] == zero:
                    d[i] = cth * d[i] + sth * s[i]
                    dredg = dredg + d[i] * gnew[i]
                    gredsq = gredsq + gnew[i] * gnew[i]
                hred[i] = cth * hred[i] + sth * hs[i]
            qred = qred + sdec
            if iact > 0 and isav == iu:
                nact = nact + 1
                xbdi[iact] = xsav
                label = 100
                continue
            if sdec > 0.01 * qred:
                label = 120
                continue
            label = 190
        elif label == 190:
            dsq = zero
            for i in range(1, n + 1):
                xnew[i] = max(min(xopt[i] + d[i], su[i]), sl[i])
                if xbdi[i] == onemin:
                    xnew[i] = sl[i]
                if xbdi[i] == one:
                    xnew[i] = su[i]
                d[i] = xnew[i] - xopt[i]
                dsq = dsq + d[i] * d[i]
            return dsq, crvmin
        else:  # label 210: HS = (second derivative matrix of Q) times S
            ih = 0
            for j in range(1, n + 1):
                hs[j] = zero
                for i in range(1, j + 1):
                    ih = ih + 1
                    if i < j:
                        hs[j] = hs[j] + hq[ih] * s[i]
                    hs[i] = hs[i] + hq[ih] * s[j]
            for k in range(1, npt + 1):
                if pq[k] != zero:
                    temp = zero
                    for j in range(1, n + 1):
                        temp = temp + xpt[k, j] * s[j]
                    temp = temp * pq[k]
                    for i in range(1, n + 1):
                        hs[i] = hs[i] + temp * xpt[k, i]
            if crvmin != zero:
                label = 50
            elif iterc > itcsav:
                label = 150
            else:
                for i in range(1, n + 1):
                    hred[i] = hs[i]
                label = 120
