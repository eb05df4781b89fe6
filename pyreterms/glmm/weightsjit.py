"""The per-observation passes of the compiled PIRLS (:mod:`pyreterms.glmm.pirlsjit`): the working weights
with ``Z'WZ``'s non-zeros and ``Lambdat Zt W wtres`` in one pass, the linear predictor and ``mu``, and the start
cache (every evaluation of a glmer stage starts from the same ``eta``, so ``mu``, the first weights and, with a
diagonal Lambda, ``Z'WZ``'s non-zeros are kept between evaluations).

R equivalent: ``glmResp::updateWts``/``sqrtWrkWt``/``wrkResp``, ``merPredD::updateXwts`` and ``updateRes``'s
``Ut W r`` (``src/respModule.cpp``, ``src/predModule.cpp``); ``glmResp::updateMu``; the cache is ours.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from pyreterms.glmm.famjit import linkinv, mu_eta, variance
from pyreterms.glmm.linjit import csr_mv, mv
from pyreterms.jitcache import jit_numpy_errors

Arr = npt.NDArray[Any]


@jit_numpy_errors
def update_mu(link: int, offset: Arr, gamma: Arr, eta: Arr, mu: Arr) -> None:
    """``glmResp::updateMu``."""
    for i in range(eta.size):
        eta[i] = offset[i] + gamma[i]
        mu[i] = linkinv(link, eta[i])


@jit_numpy_errors
def lin_pred(X: Arr, Zp: Arr, Zi: Arr, Zx: Arr, lam: Arr, delu: Arr, delb: Arr) -> Arr:
    """``X delb + Z Lambda delu``."""
    return mv(X, delb) + csr_mv(Zp, Zi, Zx, lam * delu)


@jit_numpy_errors
def weights(fam: int, link: int, y: Arr, wt: Arr, offset: Arr, eta: Arr, mu: Arr, w: Arr, wtres: Arr, me: Arr,
             me_mode: int, gdo: bool, g: Arr, kp: Arr, ginv: Arr, gcoef: Arr, Zp: Arr, Zi: Arr, Zx: Arr,
             lam: Arr, Utr: Arr) -> None:
    """One pass over the observations: ``updateWts``/``updateXwts``' square-root working weights ``w``,
    ``wtWrkResp``'s ``wtres``, the non-zeros ``g`` of ``Z'WZ`` (when ``gdo``) and ``Utr = Lambdat Zt W wtres``.
    ``me_mode``: 1 keep ``muEta`` in ``me``, 2 take ``w`` and ``muEta`` as given (the start cache).  Each
    observation's pairs (``kp``: where they start in ``ginv``/``gcoef``) and each level's terms are added in
    observation order, the order ``np.bincount`` and scipy's CSR product of ``Zt`` add them in.  ``gcoef``
    (``Zx``) empty: every observation has ``ginv.size / n`` pairs (``Zi.size / n`` entries), all 1.0, and
    neither ``kp`` nor ``gcoef`` (``Zp``, ``Zx``) is read (``1.0 * x`` is ``x``)."""
    if gdo:
        g[:] = 0.0
    Utr[:] = 0.0
    n = y.size
    kg = ginv.size // n if gcoef.size == 0 and n > 0 else 0
    kz = Zi.size // n if Zx.size == 0 and n > 0 else 0
    for i in range(n):
        if me_mode == 2:
            m = me[i]
            wi = w[i]
        else:
            # the log link's muEta is its linkInv, max(exp(eta), eps), and mu was computed from this eta
            m = mu[i] if link == 4 else mu_eta(link, eta[i])
            wi = m * math.sqrt(wt[i] / variance(fam, mu[i]))
            w[i] = wi
            if me_mode == 1:
                me[i] = m
        r = ((eta[i] - offset[i]) + (y[i] - mu[i]) / m) * wi
        wtres[i] = r
        if gdo:
            w2 = wi * wi
            if kg > 0:
                for k in range(kg * i, kg * i + kg):
                    g[ginv[k]] += w2
            else:
                for k in range(kp[i], kp[i + 1]):
                    g[ginv[k]] += gcoef[k] * w2
        if kz > 0:
            for t in range(kz * i, kz * i + kz):
                Utr[Zi[t]] += wi * r
        else:
            for t in range(Zp[i], Zp[i + 1]):
                Utr[Zi[t]] += Zx[t] * (wi * r)
    for j in range(Utr.size):
        Utr[j] = lam[j] * Utr[j]


@jit_numpy_errors
def start_views(start: Arr, n: int) -> tuple[Arr, Arr, Arr, Arr, Arr]:
    """The start cache's parts (:func:`evaluate`): ``eta, mu, w, muEta`` at the start, then ``Z'WZ``'s
    non-zeros ``g``; ``start[0]``: 1 when they hold, ``start[1]``: 1 when ``g`` may be kept (Lambda diagonal:
    ``g`` does not depend on theta)."""
    return (start[2:2 + n], start[2 + n:2 + 2 * n], start[2 + 2 * n:2 + 3 * n], start[2 + 3 * n:2 + 4 * n],
            start[2 + 4 * n:])


@jit_numpy_errors
def iter_weights(it: int, smode: int, start: Arr, fam: int, link: int, y: Arr, wt: Arr, offset: Arr, eta: Arr,
                  mu: Arr, w: Arr, wtres: Arr, g: Arr, kp: Arr, ginv: Arr, gcoef: Arr, Zp: Arr, Zi: Arr, Zx: Arr,
                  lam: Arr, Utr: Arr) -> None:
    """An iteration's :func:`weights`; the first one's from the start cache when it holds (``smode`` 2: ``w``
    and ``muEta`` kept, ``wtres`` formed from them as :func:`weights` does, ``g`` too when kept) or into it
    (``smode`` 1)."""
    n = y.size
    if it > 0 or smode == 0:
        weights(fam, link, y, wt, offset, eta, mu, w, wtres, w[:0], 0, True, g, kp, ginv, gcoef, Zp, Zi, Zx, lam,
                 Utr)
        return
    _e0, _m0, w0, me0, g0 = start_views(start, n)
    if smode == 1:
        weights(fam, link, y, wt, offset, eta, mu, w, wtres, me0, 1, True, g, kp, ginv, gcoef, Zp, Zi, Zx, lam,
                 Utr)
        w0[:] = w
        return
    w[:] = w0
    kept = start[1] == 1.0
    if kept:
        g[:] = g0
    weights(fam, link, y, wt, offset, eta, mu, w, wtres, me0, 2, not kept, g, kp, ginv, gcoef, Zp, Zi, Zx, lam, Utr)


@jit_numpy_errors
def start_mode(start: Arr, eta: Arr, mu: Arr, link: int) -> int:
    """``mu = linkInv(eta)`` at an evaluation's start, from the start cache when ``eta`` is bit for bit the one
    it holds (glmer's devfun starts every evaluation of a stage from the same ``lp0``).  Returns the first
    iteration's cache mode (:func:`iter_weights`): 0 no cache, 1 fill it, 2 use it."""
    n = eta.size
    if start.size < 2 + 4 * n:
        for i in range(n):
            mu[i] = linkinv(link, eta[i])
        return 0
    e0, m0 = start_views(start, n)[:2]
    hit = start[0] == 1.0
    if hit:
        a, b = eta.view(np.int64), e0.view(np.int64)
        for i in range(n):
            if a[i] != b[i]:
                hit = False
                break
    if hit:
        mu[:] = m0
        return 2
    for i in range(n):
        mu[i] = linkinv(link, eta[i])
    e0[:] = eta
    m0[:] = mu
    start[0] = 0.0
    return 1


@jit_numpy_errors
def keep_g(it: int, smode: int, start: Arr, g: Arr, n: int) -> None:
    """After the first iteration's ``Z'WZ`` (``smode`` 1): ``g`` into the start cache, which now holds."""
    if it == 0 and smode == 1:
        if start[1] == 1.0:
            start_views(start, n)[4][:] = g
        start[0] = 1.0


__all__ = ["weights", "start_views", "iter_weights", "start_mode", "keep_g", "update_mu", "lin_pred"]
