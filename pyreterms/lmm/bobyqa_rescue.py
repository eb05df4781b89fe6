"""BOBYQA's rebuild of the interpolation set, ported from minqa 1.2.5's Fortran ``RESCUE``
(conventions: :mod:`pyreterms.lmm.bobyqa_trsbox`).

One deliberate difference: minqa 1.2.5's RESCUE evaluates ``F = CALFUN(N, X, IPRINT)`` where ``X``
is not an argument of RESCUE (an undeclared local scalar: R's objective then receives whatever lies
in memory there; Powell's original evaluates ``W(1..N)``, the new interpolation point). Here the
point is Powell's, so a path through RESCUE cannot be R's (README "Known differences").
The loop that calls the objective is Python; the arithmetic is compiled (:func:`rescue_rebuild`,
:func:`rescue_point`, :func:`rescue_model`).
"""
from __future__ import annotations

import math

import numpy as np

from pyreterms.jitcache import jit_numpy_errors as jit
from pyreterms.jitcache import prepare
from pyreterms.lmm.bobyqa_altmov import update
from pyreterms.lmm.bobyqa_prelim import Calfun

prepare(__file__)


@jit
def _ipq(ptsid: float, np_: int) -> tuple[int, int]:
    """RESCUE's ``IP = PTSID(K)``, ``IQ = DFLOAT(NP)*PTSID(K) - DFLOAT(IP*NP)`` (truncations)."""
    ip = int(ptsid)
    iq = int(float(np_) * ptsid - float(ip * np_))
    return ip, iq


@jit
def rescue_rebuild(n: int, npt: int, ndim: int, kopt: int, delta: float, xbase: np.ndarray,  # noqa: C901 - the Fortran, branch for branch
                   xpt: np.ndarray, fval: np.ndarray, xopt: np.ndarray, hq: np.ndarray, pq: np.ndarray,
                   bmat: np.ndarray, zmat: np.ndarray, sl: np.ndarray, su: np.ndarray, vlag: np.ndarray,
                   ptsaux: np.ndarray, ptsid: np.ndarray, w: np.ndarray) -> tuple[bool, float]:
    """RESCUE up to label 260: the base moved to XOPT, BMAT/ZMAT rebuilt and points chosen for
    replacement (PTSID nonzero); returns ``(DONE, FBASE)``, DONE when no point needs a new value."""
    half = 0.5
    one = 1.0
    zero = 0.0
    np_ = n + 1
    sfrac = half / float(np_)
    nptm = npt - np_
    sumpq = zero
    winc = zero
    for k in range(1, npt + 1):
        distsq = zero
        for j in range(1, n + 1):
            xpt[k, j] = xpt[k, j] - xopt[j]
            distsq = distsq + xpt[k, j] * xpt[k, j]
        sumpq = sumpq + pq[k]
        w[ndim + k] = distsq
        winc = max(winc, distsq)
        for j in range(1, nptm + 1):
            zmat[k, j] = zero
    ih = 0
    for j in range(1, n + 1):
        w[j] = half * sumpq * xopt[j]
        for k in range(1, npt + 1):
            w[j] = w[j] + pq[k] * xpt[k, j]
        for i in range(1, j + 1):
            ih = ih + 1
            hq[ih] = hq[ih] + w[i] * xopt[j] + w[j] * xopt[i]
    for j in range(1, n + 1):
        xbase[j] = xbase[j] + xopt[j]
        sl[j] = sl[j] - xopt[j]
        su[j] = su[j] - xopt[j]
        xopt[j] = zero
        ptsaux[1, j] = min(delta, su[j])
        ptsaux[2, j] = max(-delta, sl[j])
        if ptsaux[1, j] + ptsaux[2, j] < zero:
            temp = ptsaux[1, j]
            ptsaux[1, j] = ptsaux[2, j]
            ptsaux[2, j] = temp
        if abs(ptsaux[2, j]) < half * abs(ptsaux[1, j]):
            ptsaux[2, j] = half * ptsaux[1, j]
        for i in range(1, ndim + 1):
            bmat[i, j] = zero
    fbase = fval[kopt]
    ptsid[1] = sfrac
    for j in range(1, n + 1):
        jp = j + 1
        jpn = jp + n
        ptsid[jp] = float(j) + sfrac
        if jpn <= npt:
            ptsid[jpn] = float(j) / float(np_) + sfrac
            temp = one / (ptsaux[1, j] - ptsaux[2, j])
            bmat[jp, j] = -temp + one / ptsaux[1, j]
            bmat[jpn, j] = temp + one / ptsaux[2, j]
            bmat[1, j] = -bmat[jp, j] - bmat[jpn, j]
            zmat[1, j] = math.sqrt(2.0) / abs(ptsaux[1, j] * ptsaux[2, j])
            zmat[jp, j] = zmat[1, j] * ptsaux[2, j] * temp
            zmat[jpn, j] = -zmat[1, j] * ptsaux[1, j] * temp
        else:
            bmat[1, j] = -one / ptsaux[1, j]
            bmat[jp, j] = one / ptsaux[1, j]
            bmat[j + npt, j] = -(half * (ptsaux[1, j] * ptsaux[1, j]))
    if npt >= n + np_:
        for k in range(2 * np_, npt + 1):
            iw = int((float(k - np_) - half) / float(n))
            ip = k - np_ - iw * n
            iq = ip + iw
            if iq > n:
                iq = iq - n
            ptsid[k] = float(ip) + float(iq) / float(np_) + sfrac
            temp = one / (ptsaux[1, ip] * ptsaux[1, iq])
            zmat[1, k - np_] = temp
            zmat[ip + 1, k - np_] = -temp
            zmat[iq + 1, k - np_] = -temp
            zmat[k, k - np_] = temp
    nrem = npt
    kold = 1
    knew = kopt
    beta = zero
    denom = zero
    label = 80
    while True:
        if label == 80:
            for j in range(1, n + 1):
                temp = bmat[kold, j]
                bmat[kold, j] = bmat[knew, j]
                bmat[knew, j] = temp
            for j in range(1, nptm + 1):
                temp = zmat[kold, j]
                zmat[kold, j] = zmat[knew, j]
                zmat[knew, j] = temp
            ptsid[kold] = ptsid[knew]
            ptsid[knew] = zero
            w[ndim + knew] = zero
            nrem = nrem - 1
            if knew != kopt:
                temp = vlag[kold]
                vlag[kold] = vlag[knew]
                vlag[knew] = temp
                update(n, npt, bmat, zmat, vlag, beta, denom, knew, w)
                if nrem == 0:
                    return True, fbase
                for k in range(1, npt + 1):
                    w[ndim + k] = abs(w[ndim + k])
            label = 120
        elif label == 120:
            dsqmin = zero
            for k in range(1, npt + 1):
                if w[ndim + k] > zero:
                    if dsqmin == zero or w[ndim + k] < dsqmin:
                        knew = k
                        dsqmin = w[ndim + k]
            if dsqmin == zero:
                break  # label 260
            for j in range(1, n + 1):
                w[npt + j] = xpt[knew, j]
            for k in range(1, npt + 1):
                sum_ = zero
                if k == kopt:
                    pass
                elif ptsid[k] == zero:
                    for j in range(1, n + 1):
                        sum_ = sum_ + w[npt + j] * xpt[k, j]
                else:
                    ip, iq = _ipq(ptsid[k], np_)
                    if ip > 0:
                        sum_ = w[npt + ip] * ptsaux[1, ip]
                    if iq > 0:
                        iw = 1
                        if ip == 0:
                            iw = 2
                        sum_ = sum_ + w[npt + iq] * ptsaux[iw, iq]
                w[k] = half * sum_ * sum_
            for k in range(1, npt + 1):
                sum_ = zero
                for j in range(1, n + 1):
                    sum_ = sum_ + bmat[k, j] * w[npt + j]
                vlag[k] = sum_
            beta = zero
            for j in range(1, nptm + 1):
                sum_ = zero
                for k in range(1, npt + 1):
                    sum_ = sum_ + zmat[k, j] * w[k]
                beta = beta - sum_ * sum_
                for k in range(1, npt + 1):
                    vlag[k] = vlag[k] + sum_ * zmat[k, j]
            bsum = zero
            distsq = zero
            for j in range(1, n + 1):
                sum_ = zero
                for k in range(1, npt + 1):
                    sum_ = sum_ + bmat[k, j] * w[k]
                jp = j + npt
                bsum = bsum + sum_ * w[jp]
                for ip in range(npt + 1, ndim + 1):
                    sum_ = sum_ + bmat[ip, j] * w[ip]
                bsum = bsum + sum_ * w[jp]
                vlag[jp] = sum_
                distsq = distsq + xpt[knew, j] * xpt[knew, j]
            beta = half * distsq * distsq + beta - bsum
            vlag[kopt] = vlag[kopt] + one
            denom = zero
            vlmxsq = zero
            for k in range(1, npt + 1):
                if ptsid[k] != zero:
                    hdiag = zero
                    for j in range(1, nptm + 1):
                        hdiag = hdiag + zmat[k, j] * zmat[k, j]
                    den = beta * hdiag + vlag[k] * vlag[k]
                    if den > denom:
                        kold = k
                        denom = den
                vlmxsq = max(vlmxsq, vlag[k] * vlag[k])
            if denom <= 1.0e-2 * vlmxsq:
                w[ndim + knew] = -w[ndim + knew] - winc
                label = 120
                continue
            label = 80
    return False, fbase


@jit
def rescue_point(n: int, npt: int, kpt: int, fbase: float, xl: np.ndarray, xu: np.ndarray, xbase: np.ndarray,
                 xpt: np.ndarray, gopt: np.ndarray, hq: np.ndarray, pq: np.ndarray, sl: np.ndarray,
                 su: np.ndarray, ptsaux: np.ndarray, ptsid: np.ndarray, w: np.ndarray) -> float:
    """RESCUE's label 260 for point KPT: its explicit second-derivative term moved into HQ, its new
    position in XPT and the point to evaluate in ``W(1..N)``; returns the model's value VQUAD there."""
    half = 0.5
    zero = 0.0
    np_ = n + 1
    ihp = 0
    xp = xq = zero
    ih = 0
    for j in range(1, n + 1):
        w[j] = xpt[kpt, j]
        xpt[kpt, j] = zero
        temp = pq[kpt] * w[j]
        for i in range(1, j + 1):
            ih = ih + 1
            hq[ih] = hq[ih] + temp * w[i]
    pq[kpt] = zero
    ip, iq = _ipq(ptsid[kpt], np_)
    if ip > 0:
        xp = ptsaux[1, ip]
        xpt[kpt, ip] = xp
    if iq > 0:
        xq = ptsaux[1, iq]
        if ip == 0:
            xq = ptsaux[2, iq]
        xpt[kpt, iq] = xq
    vquad = fbase
    if ip > 0:
        ihp = (ip + ip * ip) // 2
        vquad = vquad + xp * (gopt[ip] + half * xp * hq[ihp])
    if iq > 0:
        ihq = (iq + iq * iq) // 2
        vquad = vquad + xq * (gopt[iq] + half * xq * hq[ihq])
        if ip > 0:
            iw = max(ihp, ihq) - abs(ip - iq)
            vquad = vquad + xp * xq * hq[iw]
    for k in range(1, npt + 1):
        temp = zero
        if ip > 0:
            temp = temp + xp * xpt[k, ip]
        if iq > 0:
            temp = temp + xq * xpt[k, iq]
        vquad = vquad + half * pq[k] * temp * temp
    for i in range(1, n + 1):
        w[i] = min(max(xl[i], xbase[i] + xpt[kpt, i]), xu[i])
        if xpt[kpt, i] == sl[i]:
            w[i] = xl[i]
        if xpt[kpt, i] == su[i]:
            w[i] = xu[i]
    return vquad


@jit
def rescue_model(n: int, npt: int, kpt: int, f: float, vquad: float, kopt: int, fval: np.ndarray,
                 gopt: np.ndarray, hq: np.ndarray, pq: np.ndarray, bmat: np.ndarray, zmat: np.ndarray,
                 ptsaux: np.ndarray, ptsid: np.ndarray) -> int:
    """RESCUE's label 260 after CALFUN's value ``f`` at point KPT: FVAL, KOPT and the model updated by
    the interpolation error; returns KOPT."""
    zero = 0.0
    np_ = n + 1
    nptm = npt - np_
    fval[kpt] = f
    if f < fval[kopt]:
        kopt = kpt
    diff = f - vquad
    for i in range(1, n + 1):
        gopt[i] = gopt[i] + diff * bmat[kpt, i]
    for k in range(1, npt + 1):
        sum_ = zero
        for j in range(1, nptm + 1):
            sum_ = sum_ + zmat[k, j] * zmat[kpt, j]
        temp = diff * sum_
        if ptsid[k] == zero:
            pq[k] = pq[k] + temp
        else:
            ip, iq = _ipq(ptsid[k], np_)
            ihq = (iq * iq + iq) // 2
            if ip == 0:
                a = ptsaux[2, iq]
                hq[ihq] = hq[ihq] + temp * (a * a)
            else:
                ihp = (ip * ip + ip) // 2
                a = ptsaux[1, ip]
                hq[ihp] = hq[ihp] + temp * (a * a)
                if iq > 0:
                    b = ptsaux[1, iq]
                    hq[ihq] = hq[ihq] + temp * (b * b)
                    iw = max(ihp, ihq) - abs(iq - ip)
                    hq[iw] = hq[iw] + temp * ptsaux[1, ip] * ptsaux[1, iq]
    ptsid[kpt] = zero
    return kopt


def rescue(n: int, npt: int, xl: np.ndarray, xu: np.ndarray, maxfun: int, xbase: np.ndarray,
           xpt: np.ndarray, fval: np.ndarray, xopt: np.ndarray, gopt: np.ndarray, hq: np.ndarray,
           pq: np.ndarray, bmat: np.ndarray, zmat: np.ndarray, ndim: int, sl: np.ndarray, su: np.ndarray,
           nf: int, delta: float, kopt: int, vlag: np.ndarray, ptsaux: np.ndarray, ptsid: np.ndarray,
           w: np.ndarray, calfun: Calfun) -> tuple[int, int, float]:
    """Fortran ``RESCUE``: rebuild BMAT/ZMAT around XOPT, replacing points that make the
    interpolation nearly degenerate; returns ``(NF, KOPT, F)`` (NF = -1 when MAXFUN stops it; F the
    last value computed, or nan when none was)."""
    done, fbase = rescue_rebuild(n, npt, ndim, kopt, delta, xbase, xpt, fval, xopt, hq, pq, bmat, zmat, sl, su,
                                 vlag, ptsaux, ptsid, w)
    f = math.nan
    if done:
        return nf, kopt, f
    for kpt in range(1, npt + 1):  # label 260: the new interpolation points, one value each
        if ptsid[kpt] == 0.0:
            continue
        if nf >= maxfun:
            return -1, kopt, f
        vquad = rescue_point(n, npt, kpt, fbase, xl, xu, xbase, xpt, gopt, hq, pq, sl, su, ptsaux, ptsid, w)
        nf = nf + 1
        f = calfun(w[1:n + 1].copy())
        kopt = rescue_model(n, npt, kpt, f, vquad, kopt, fval, gopt, hq, pq, bmat, zmat, ptsaux, ptsid)
    return nf, kopt, f
