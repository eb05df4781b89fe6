"""PIRLS compiled (numba): lme4's ``pwrssUpdate`` / ``glmerLaplace`` / ``glmerAGQ`` (``src/external.cpp``)
with ``merPredD::updateXwts``/``updateDecomp``/``updateRes``/``solve``/``solveU`` (``src/predModule.cpp``) and
``glmResp::updateMu``/``sqrtWrkWt``/``wrkResp``/``devResid`` (``src/respModule.cpp``), step for step as the
readable numpy code in :mod:`pyreterms.glmm.pirls` and :mod:`pyreterms.glmm.agq` does them, for the structure
:mod:`pyreterms.glmm.blockchol` factors with a diagonal ``Lambda`` (every term scalar):
``L = [[diag(d), 0], [L21, L22]]`` with ``L22`` dense, the Schur complement factored by a dense Cholesky (one
elimination level) or, for nested factors, level by level as ``BlockChol.from_blocks`` recurses
(:func:`~pyreterms.glmm.linjit.nested_chol`), the nested factor's zeros kept in the dense ``L22``.  The
Python side (array set-up, the write-back into
``MerPred``/``GlmResp``, lme4's messages) is :mod:`pyreterms.glmm.kernel`.

Status codes returned (the caller raises lme4's errors): :data:`OK`, :data:`NAN` ("PIRLS loop resulted in NaN
value"), :data:`HALVING` ("(maxstephalfit) ..."), :data:`MAXIT`, :data:`WEIGHTS` (A not positive definite:
non-finite working weights), :data:`DOWNDATED` ("Downdated VtV is not positive definite").  A u-only update
checks ``RX`` at its last iteration and certifies the earlier ones (:func:`pwrss`).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from pyreterms.glmm import linjit as lj
from pyreterms.glmm.agqjit import agq, ldl2
from pyreterms.glmm.famjit import aic, dev_resid, has_aic, linkinv, pairwise_sum
from pyreterms.glmm.fixedjit import NEST_SEG as _NEST_SEG
from pyreterms.glmm.fixedjit import cert_by_last, cert_by_ref, cert_start, cert_step, decomp_x, settle
from pyreterms.glmm.linjit import bwd, chol, dot, fwd, mv, tmv
from pyreterms.glmm.weightsjit import iter_weights, keep_g, start_mode
from pyreterms.jitcache import jit_numpy_errors

Arr = npt.NDArray[Any]  # float64; index arrays int64

OK, NAN, HALVING, MAXIT, WEIGHTS, DOWNDATED = 0, 1, 2, 3, 4, 5
#: :func:`evaluate`'s modes: PIRLS only, the Laplace value, the AGQ value, and forming the deferred ``RZX``,
#: ``RX``, ``Vtr`` of the last evaluation (:func:`settle`)
PIRLS, LAPLACE, AGQ, SETTLE = 0, 1, 2, 3
#: internal: a u-only update whose deferred RX check is not certified (:func:`pwrss` runs again checking each
#: iteration)
RECHECK = 6
_DBL_MAX = float(np.finfo(np.float64).max)



class _Model:
    """Documentation only: the arrays every kernel takes (built by :class:`pyreterms.glmm.kernel.KernelModel`).

    ``X`` (n x p), ``Zp, Zi, Zx`` (Z as CSR, n x q), ``Tp, Ti, Tx`` (Zt as CSR, q x n), ``ginv, gobs, gcoef``
    (the non-zeros of Zt W Z as a scatter), ``gr, gs`` (their rows and columns), ``i11, t11, i21, t21, i22,
    t22`` (where each goes in A's blocks), ``e1, e2, pos, srow, scol`` (the sparse ``L21 L21'``; empty when
    ``dense_schur``), ``lam`` (Lambda's diagonal at theta)."""


@jit_numpy_errors
def _blocks(g: Arr, gr: Arr, gs: Arr, i11: Arr, t11: Arr, i21: Arr, t21: Arr, i22: Arr, t22: Arr, lam: Arr,
            q1: int, a11: Arr, A21: Arr, L22: Arr) -> None:
    """``CrossPattern.blocks``: ``diag(A11) - 1``, ``A21`` and ``A22 - I`` from the non-zeros ``g`` of
    ``Z' W Z`` (``lam[r] lam[s] g``), written into ``a11``, ``A21`` (its pattern only: the entries outside it
    stay the zeros :func:`pwrss` allocated), ``L22``."""
    q = lam.size
    q2 = q - q1
    a11[:] = 0.0
    L22[:, :] = 0.0
    for k in range(i11.size):
        m = i11[k]
        a11[t11[k]] = lam[gr[m]] * lam[gs[m]] * g[m]
    for k in range(i21.size):
        m = i21[k]
        t = t21[k]
        A21[t // q1, t % q1] = lam[gr[m]] * lam[gs[m]] * g[m]
    for k in range(i22.size):
        m = i22[k]
        t = t22[k]
        L22[t // q2, t % q2] = lam[gr[m]] * lam[gs[m]] * g[m]


@jit_numpy_errors
def _factor(w: Arr, Tp: Arr, Ti: Arr, Tx: Arr, ginv: Arr, gobs: Arr, gcoef: Arr, gr: Arr, gs: Arr,
            i11: Arr, t11: Arr, i21: Arr, t21: Arr, i22: Arr, t22: Arr, e1: Arr, e2: Arr, pos: Arr, srow: Arr,
            scol: Arr, dense_schur: bool, lam: Arr, q1: int, g: Arr, a11: Arr, d: Arr, A21: Arr, L22: Arr, lv: Arr,
            ints: Arr, iat: Arr) -> bool:
    """``updateDecomp``'s factor: ``d``, ``L21`` (``A21``), ``L22`` of ``Lambda' Z' W Z Lambda + I``, written in
    place (``a11``: scratch); False when A is not positive definite.  ``lv`` (levels x 2): the nested
    elimination levels of the Schur complement (:func:`~pyreterms.glmm.linjit.nested_chol`; none: dense).
    ``g``: the non-zeros of ``Z'WZ`` at ``w`` (:func:`weights`)."""
    q = lam.size
    q2 = q - q1
    _blocks(g, gr, gs, i11, t11, i21, t21, i22, t22, lam, q1, a11, A21, L22)
    ok = True
    for j in range(q1):
        a = a11[j] + 1.0
        if not (math.isfinite(a) and a > 0):
            ok = False
        d[j] = math.sqrt(a)
    if not ok:
        return ok
    for i in range(q2):
        L22[i, i] += 1.0
    for k in range(t21.size):  # A21's pattern (the entries outside it stay the zeros pwrss allocated)
        i = t21[k] // q1
        j = t21[k] - i * q1
        A21[i, j] = A21[i, j] / d[j]
    if q2:
        if dense_schur:
            L22 -= A21 @ A21.T
        else:
            lj.sub_gram_runs(L22, A21, e1, e2, pos, srow, scol)
        ok = chol(L22) if lv.shape[0] == 0 else lj.nested_chol(L22, lv, ints, iat, _NEST_SEG)
    return ok


@jit_numpy_errors
def _move(fam: int, link: int, y: Arr, wt: Arr, offset: Arr, eta: Arr, mu: Arr, X: Arr, Zp: Arr, Zi: Arr, Zx: Arr,
          lam: Arr, delu: Arr, delb: Arr, work: Arr, xzero: bool) -> float:
    """``updateMu(linPred(1))`` then ``resDev() + sqrL()`` (the same arithmetic as
    :func:`~pyreterms.glmm.weightsjit.lin_pred`, :func:`~pyreterms.glmm.weightsjit.update_mu`,
    ``GlmResp.res_dev``).  ``xzero``: ``delb`` is zero and ``X`` finite (the u-only PIRLS), so ``X delb`` is
    +0.0 in every row and its loop is skipped; ``Zx`` empty: every row of ``Z`` has ``Zi.size / n`` entries,
    all 1.0, so neither ``Zp`` nor ``Zx`` is read (``1.0 * x`` is ``x``).  Two passes over the observations
    (``eta`` and ``mu``, then the deviance residuals): measured faster than one here (1.8 against 2.2 ms at n =
    100,000)."""
    n, p = X.shape
    b = lam * delu
    k = Zi.size // n if Zx.size == 0 and n > 0 else 0  # Zx empty: k entries per row, all 1.0
    for i in range(n):
        xb = 0.0
        if not xzero:
            for j in range(p):
                xb += X[i, j] * delb[j]
        zb = 0.0
        if k > 0:
            for t in range(k * i, k * i + k):
                zb += b[Zi[t]]
        else:
            for t in range(Zp[i], Zp[i + 1]):
                zb += Zx[t] * b[Zi[t]]
        eta[i] = offset[i] + (xb + zb)
        mu[i] = linkinv(link, eta[i])
    for i in range(n):
        work[i] = dev_resid(fam, y[i], mu[i], wt[i])
    return pairwise_sum(work, 0, n) + dot(delu, delu)


@jit_numpy_errors
def _halve(fam: int, link: int, y: Arr, wt: Arr, offset: Arr, eta: Arr, mu: Arr, X: Arr, Zp: Arr, Zi: Arr, Zx: Arr,
           lam: Arr, delu: Arr, delb: Arr, olddelu: Arr, olddelb: Arr, u_only: bool, pdev: float, oldpdev: float,
           work: Arr, xzero: bool) -> float:
    """``pwrssUpdate``'s step halving (at most 20 times); returns the new penalised deviance."""
    for _k in range(20):
        if not (math.isnan(pdev) or pdev > oldpdev):
            break
        for j in range(delu.size):
            delu[j] = (olddelu[j] + delu[j]) / 2
        if not u_only:
            for j in range(delb.size):
                delb[j] = (olddelb[j] + delb[j]) / 2
        pdev = _move(fam, link, y, wt, offset, eta, mu, X, Zp, Zi, Zx, lam, delu, delb, work, xzero)
    return pdev


@jit_numpy_errors
def pwrss(fam: int, link: int, y: Arr, wt: Arr, offset: Arr, eta: Arr, mu: Arr, X: Arr, Zp: Arr, Zi: Arr, Zx: Arr,
          Tp: Arr, Ti: Arr, Tx: Arr, ginv: Arr, gobs: Arr, gcoef: Arr, gr: Arr, gs: Arr, i11: Arr, t11: Arr,
          i21: Arr, t21: Arr, i22: Arr, t22: Arr, e1: Arr, e2: Arr, pos: Arr, srow: Arr, scol: Arr, kp: Arr,
          gidx: Arr, Xg: Arr, dense_schur: bool, lam: Arr, q1: int, delu: Arr, delb: Arr, u_only: bool, tol: float,
          maxit: int, xfin: bool, lv: Arr, ints: Arr, iat: Arr, work: Arr, check_each: bool, start: Arr,
          smode: int, wtres: Arr, ref: Arr, Zxh: Arr, gch: Arr) -> tuple[int, Arr, Arr, Arr, Arr, Arr, Arr, Arr, Arr,
                                                                          bool]:
    """``pwrssUpdate`` from the current ``eta``/``mu``/``delu``/``delb`` (all updated in place).  Returns
    (status, d, L21, L22, RZX, RX, Vtr, Utr, Xwts, deferred).  ``xfin``: every element of ``X`` is finite;
    ``lv``, ``ints``, ``iat``: the nested levels (:func:`_factor`); ``work``: the deviance residuals of the last
    move; ``wtres``: the last iteration's weighted working residuals (written); ``Zxh``, ``gch``: ``Zx`` and
    ``gcoef`` for the passes over the observations, empty when every observation has as many entries (pairs),
    all 1.0 (:func:`_move`).

    lme4's ``updateDecomp`` forms ``RZX`` and ``RX`` at every iteration, and stops when ``RX``'s Cholesky
    fails.  A u-only update (stage 2) does not use them, so with ``check_each`` False they are not formed at
    every iteration and lme4's checks are certified instead (:func:`~pyreterms.glmm.fixedjit.certified_by`):

    - against the reference ``ref`` (:func:`~pyreterms.glmm.fixedjit.ref_views`: an earlier evaluation's
      ``lambda_min(M)``, ``max diag(V'V)``, ``Lambda`` and weights, Lambda diagonal; empty: none; the
      running certificate: :func:`~pyreterms.glmm.fixedjit.cert_start`): then none is formed and ``deferred``
      is True: ``RZX``, ``RX``, ``Vtr`` are formed when read (:data:`SETTLE`, from ``Xwts``, ``wtres`` and the
      factor, the same arithmetic as here, so the same state);
    - else they are formed once, at the last iteration's weights, and the earlier iterations are certified
      against that ``M``, which becomes the reference.

    An uncertified update returns :data:`RECHECK` and the caller runs it again from its start with
    ``check_each`` True."""
    n, p = X.shape
    xzero = u_only and xfin
    q = lam.size
    w = np.empty(n)
    V = np.empty((n, p))
    d, L21, L22 = np.ones(q1), np.zeros((q - q1, q1)), np.zeros((q - q1, q - q1))
    RZX, RX = np.zeros((q, p)), np.eye(p)
    Vtr, Utr = np.zeros(p), np.zeros(q)
    oldpdev = _DBL_MAX
    olddelu, olddelb = np.empty(q), np.empty(p)
    g, a11, UV, xs, rs = np.empty(gr.size), np.empty(q1), np.empty((q, p)), np.empty(q1), np.empty(q - q1)
    nz = t21 if lv.shape[0] else t21[:0]  # nested: L21 is applied over its pattern
    defer = u_only and not check_each
    size = n + q + p * p  # the certificate's count of rounded terms (certified_by)
    cs = cert_start(ref, lam, n, size) if defer else np.zeros(0)
    wprev = np.empty(n if defer and cs[0] == 0.0 else 0)
    status = MAXIT
    for it in range(maxit):
        olddelu[:] = delu
        olddelb[:] = delb
        # internal_glmerWrkIter
        iter_weights(it, smode, start, fam, link, y, wt, offset, eta, mu, w, wtres, g, kp, ginv, gch, Zp, Zi, Zxh,
                      lam, Utr)
        if defer:
            cert_step(cs, it, w, wprev, ref, n)
        ok = _factor(w, Tp, Ti, Tx, ginv, gobs, gcoef, gr, gs, i11, t11, i21, t21, i22, t22, e1, e2, pos, srow,
                     scol, dense_schur, lam, q1, g, a11, d, L21, L22, lv, ints, iat)
        keep_g(it, smode, start, g, n)
        if not ok:
            return WEIGHTS, d, L21, L22, RZX, RX, Vtr, Utr, w, False
        if not defer:
            ok, RX, _s, _m = decomp_x(w, wtres, X, V, Zp, Zi, Zx, lam, UV, d, L21, L22, RZX, xs, rs, nz, lv, ints,
                                      iat, Vtr, gidx, Xg)
            if not ok:
                return DOWNDATED, d, L21, L22, RZX, RX, Vtr, Utr, w, False
        if u_only:
            delb[:] = 0.0
            cu = lj.solve_l(d, L21, L22, Utr, nz, lv, ints, iat, _NEST_SEG)
            delu[:] = lj.solve_lt(d, L21, L22, cu, nz, lv, ints, iat, _NEST_SEG)
        else:
            cu = lj.solve_l(d, L21, L22, Utr, nz, lv, ints, iat, _NEST_SEG)
            b = Vtr - tmv(RZX, cu)
            fwd(RX, b)
            bwd(RX, b)
            delb[:] = b
            delu[:] = lj.solve_lt(d, L21, L22, cu - mv(RZX, delb), nz, lv, ints, iat, _NEST_SEG)
        pdev = _move(fam, link, y, wt, offset, eta, mu, X, Zp, Zi, Zxh, lam, delu, delb, work, xzero)
        if abs((oldpdev - pdev) / pdev) < tol:
            status = OK
            break
        if math.isnan(pdev) or pdev > oldpdev:
            pdev = _halve(fam, link, y, wt, offset, eta, mu, X, Zp, Zi, Zxh, lam, delu, delb, olddelu, olddelb,
                          u_only, pdev, oldpdev, work, xzero)
            if math.isnan(pdev):
                status = NAN
                break
            if pdev - oldpdev > tol:
                status = HALVING
                break
        oldpdev = pdev
    if defer and status == OK and cert_by_ref(cs, ref, size):
        return status, d, L21, L22, RZX, RX, Vtr, Utr, w, True  # every iteration's RX check certified
    if defer:  # the last iteration's RZX, RX, Vtr, and whether the earlier iterations' RX checks could fail
        ok, RX, sv, M = decomp_x(w, wtres, X, V, Zp, Zi, Zx, lam, UV, d, L21, L22, RZX, xs, rs, nz, lv, ints, iat,
                                 Vtr, gidx, Xg)
        status = status if ok and cert_by_last(cs, M, sv, status == OK, ref, lam, w, size) else RECHECK
    return status, d, L21, L22, RZX, RX, Vtr, Utr, w, False


@jit_numpy_errors
def _seg(a: Arr, at: Arr, k: int) -> Arr:
    """The k-th of the arrays packed end to end in ``a`` (``at``: where each starts, then the end)."""
    return a[at[k]:at[k + 1]]


@jit_numpy_errors
def evaluate(mode: int, start_off: Arr, gamma: Arr, base: Arr, beta: Arr, theta: Arr, u_only: bool, tol: float,
             maxit: int, fac: Arr, GQ: Arr, dims: Arr, ints: Arr, iat: Arr, flts: Arr, state: Arr,
             start: Arr, ref: Arr) -> tuple[int, float, bool, bool]:
    """:func:`evaluate_arrays` with the model's arrays packed into five (one call of a compiled function costs
    about 0.1 us per argument): ``dims`` = (fam, link, n, p, q, q1, dense_schur, xfin, unit_z, unit_p), then
    (q1, dense) of each nested level; ``ints`` the index arrays end to end (``iat`` where each starts: ``Lind,
    lrow, Zp, Zi, Tp, Ti, ginv, gobs, gr, gs, i11, t11, i21, t21, i22, t22, e1, e2, pos, srow, scol, kp, gidx,
    nonzero``, then ``e1, e2, pos, rows, cols`` of each nested level's ``SchurPlan``, empty when it is dense);
    ``flts`` = ``y, wt, aics, X, Zx, Tx, gcoef, Xg``; ``state`` = ``lam, eta, mu, offset, delu, delb, d, L21,
    L22, RZX, RX, Vtr, Utr, Xwts, wtres`` (the arrays :class:`pyreterms.glmm.kernel.KernelState` views);
    ``start`` the start cache
    (:func:`~pyreterms.glmm.weightsjit.start_views`; shorter than ``2 + 4 n``: none) and ``ref`` the
    certificate's reference (:func:`~pyreterms.glmm.fixedjit.ref_views`), kept by the caller between
    evaluations."""
    fam, link, n, p, q, q1 = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5]
    q2 = q - q1
    Lind, lrow, Zp, Zi = _seg(ints, iat, 0), _seg(ints, iat, 1), _seg(ints, iat, 2), _seg(ints, iat, 3)
    Tp, Ti, ginv, gobs = _seg(ints, iat, 4), _seg(ints, iat, 5), _seg(ints, iat, 6), _seg(ints, iat, 7)
    gr, gs, i11, t11 = _seg(ints, iat, 8), _seg(ints, iat, 9), _seg(ints, iat, 10), _seg(ints, iat, 11)
    i21, t21, i22, t22 = _seg(ints, iat, 12), _seg(ints, iat, 13), _seg(ints, iat, 14), _seg(ints, iat, 15)
    e1, e2, pos, srow, scol = (_seg(ints, iat, 16), _seg(ints, iat, 17), _seg(ints, iat, 18), _seg(ints, iat, 19),
                               _seg(ints, iat, 20))
    kp, gidx, nonzero = _seg(ints, iat, 21), _seg(ints, iat, 22), _seg(ints, iat, 23)
    k = 0
    y, wt = flts[k:k + n], flts[k + n:k + 2 * n]
    k += 2 * n
    aics = flts[k:k + 4 * n].reshape((4, n))
    k += 4 * n
    X = flts[k:k + n * p].reshape((n, p))
    k += n * p
    Zx = flts[k:k + Zi.size]
    k += Zi.size
    Tx = flts[k:k + Ti.size]
    k += Ti.size
    gcoef = flts[k:k + ginv.size]
    k += ginv.size
    G = (flts.size - k) // p if p > 0 else 0
    Xg = flts[k:k + G * p].reshape((G, p))
    k = 0
    lam = state[k:k + q]
    eta, mu, offset = state[k + q:k + q + n], state[k + q + n:k + q + 2 * n], state[k + q + 2 * n:k + q + 3 * n]
    k += q + 3 * n
    delu, delb, d = state[k:k + q], state[k + q:k + q + p], state[k + q + p:k + q + p + q1]
    k += q + p + q1
    L21 = state[k:k + q2 * q1].reshape((q2, q1))
    k += q2 * q1
    L22 = state[k:k + q2 * q2].reshape((q2, q2))
    k += q2 * q2
    RZX = state[k:k + q * p].reshape((q, p))
    k += q * p
    RX = state[k:k + p * p].reshape((p, p))
    k += p * p
    Vtr, Utr, Xwts = state[k:k + p], state[k + p:k + p + q], state[k + p + q:k + p + q + n]
    k += p + q + n
    wtres = state[k:k + n]
    return evaluate_arrays(mode, start_off, gamma, base, beta, theta, u_only, tol, maxit, fac, GQ, fam, link, y, wt,
                           aics, Lind, lrow, X, Zp, Zi, Zx, Tp, Ti, Tx, ginv, gobs, gcoef, gr, gs, i11, t11, i21, t21,
                           i22, t22, e1, e2, pos, srow, scol, kp, gidx, nonzero, Xg, dims[6] != 0, q1, dims[7] != 0,
                           lam, eta, mu, offset, delu, delb, d, L21, L22, RZX, RX, Vtr, Utr, Xwts, wtres,
                           dims[10:].reshape((-1, 2)), ints, iat, start, ref, dims[8] != 0, dims[9] != 0)


@jit_numpy_errors
def evaluate_arrays(mode: int, start_off: Arr, gamma: Arr, base: Arr, beta: Arr, theta: Arr, u_only: bool, tol: float,
                    maxit: int, fac: Arr, GQ: Arr, fam: int, link: int, y: Arr, wt: Arr, aics: Arr, Lind: Arr, lrow:
                    Arr, X: Arr, Zp: Arr, Zi: Arr, Zx: Arr, Tp: Arr, Ti: Arr, Tx: Arr, ginv: Arr, gobs: Arr, gcoef: Arr,
                    gr: Arr, gs: Arr, i11: Arr, t11: Arr, i21: Arr, t21: Arr, i22: Arr, t22: Arr, e1: Arr, e2: Arr, pos:
                    Arr, srow: Arr, scol: Arr, kp: Arr, gidx: Arr, nonzero: Arr, Xg: Arr, dense_schur: bool, q1: int,
                    xfin: bool, lam: Arr, eta: Arr, mu: Arr, offset: Arr, delu: Arr, delb: Arr, d: Arr, L21: Arr,
                    L22: Arr, RZX: Arr, RX: Arr, Vtr: Arr, Utr: Arr, Xwts: Arr, wtres: Arr, lv: Arr, ints: Arr,
                    iat: Arr, start: Arr, ref: Arr, unit_z: bool, unit_p: bool) -> tuple[int, float, bool, bool]:
    """One glmer deviance evaluation in one call: ``lam = theta[Lind]`` (Lambda's diagonal), ``eta =
    start_off + gamma``, ``mu = linkInv(eta)``, ``offset = base + X beta`` (``beta`` empty: ``base``), then
    ``pwrssUpdate`` from ``delu``/``delb`` and, by ``mode``, nothing (0), ``glmerLaplace``'s value (1: ``ldL2 +
    ||u||^2 + aic``; without ``aic`` when :func:`~pyreterms.glmm.famjit.has_aic` is False) or ``glmerAGQ``'s
    (2).  The arrays from ``lam`` on are the model's state, written in place (``MerPred``'s and ``GlmResp``'s
    fields; ``start_off``, ``gamma`` and ``base`` may be among them).  Returns (status, value, rechecked,
    deferred): a u-only update whose deferred check of RX was not certified runs again checking every
    iteration; ``deferred``: ``RZX``, ``RX`` and ``Vtr`` were left to be formed when read (:func:`pwrss`), which
    mode :data:`SETTLE` does (the state only; status :data:`DOWNDATED` when ``RX``'s Cholesky fails)."""
    n = y.size
    if mode == SETTLE:
        ok = settle(X, Zp, Zi, Zx, lam, d, L21, L22, RZX, RX, Vtr, Xwts, wtres, t21, lv, ints, iat, gidx, Xg, q1)
        return (OK if ok else DOWNDATED), np.nan, False, False
    for i in range(n):
        eta[i] = start_off[i] + gamma[i]
    if beta.size:
        xb = mv(X, beta)
        for i in range(n):
            offset[i] = base[i] + xb[i]
    else:
        for i in range(n):
            offset[i] = base[i]
    smode = start_mode(start, eta, mu, link)
    lam[:] = 0.0
    for k in range(Lind.size):
        lam[lrow[k]] = theta[Lind[k]]
    work = np.empty(n)  # the deviance residuals at the last move (pwrss)
    Zxh, gch = Zx[:0] if unit_z else Zx, gcoef[:0] if unit_p else gcoef  # unit: not read (pwrss)
    if u_only:  # the start, should the deferred RX check need the update run again (RECHECK)
        eta0, mu0, delu0, delb0 = eta.copy(), mu.copy(), delu.copy(), delb.copy()
    status, d_, L21_, L22_, RZX_, RX_, Vtr_, Utr_, w_, deferred = pwrss(
        fam, link, y, wt, offset, eta, mu, X, Zp, Zi, Zx, Tp, Ti, Tx, ginv, gobs, gcoef, gr, gs,
        i11, t11, i21, t21, i22, t22, e1, e2, pos, srow, scol, kp, gidx, Xg, dense_schur, lam, q1, delu, delb, u_only,
        tol, maxit, xfin, lv, ints, iat, work, not u_only, start, smode, wtres, ref, Zxh, gch)
    rechecked = status == RECHECK
    if rechecked:
        eta[:], mu[:], delu[:], delb[:] = eta0, mu0, delu0, delb0
        if start[0] == 1.0:  # the first run filled the start cache
            smode = 2
        status, d_, L21_, L22_, RZX_, RX_, Vtr_, Utr_, w_, deferred = pwrss(
            fam, link, y, wt, offset, eta, mu, X, Zp, Zi, Zx, Tp, Ti, Tx, ginv, gobs, gcoef, gr, gs,
            i11, t11, i21, t21, i22, t22, e1, e2, pos, srow, scol, kp, gidx, Xg, dense_schur, lam, q1, delu, delb,
            u_only, tol, maxit, xfin, lv, ints, iat, work, True, start, smode, wtres, ref, Zxh, gch)
    _store(status, deferred, d, L21, L22, RZX, RX, Vtr, Utr, Xwts, d_, L21_, L22_, RZX_, RX_, Vtr_, Utr_, w_)
    value = np.nan
    if status == OK and mode == 1:
        value = ldl2(d, L22) + dot(delu, delu)
        if has_aic(fam):  # work: the deviance residuals at this mu, from pwrss's last move
            value += aic(fam, aics, y, mu, wt, pairwise_sum(work, 0, n), work, nonzero)
    elif status == OK and mode == 2:
        value = agq(fam, link, y, wt, offset, eta, mu, X, Zp, Zi, Zx, lam, d, delu, delb, fac, GQ)
    return status, value, rechecked, deferred


@jit_numpy_errors
def _store(status: int, deferred: bool, d: Arr, L21: Arr, L22: Arr, RZX: Arr, RX: Arr, Vtr: Arr, Utr: Arr,
           Xwts: Arr, d_: Arr, L21_: Arr, L22_: Arr, RZX_: Arr, RX_: Arr, Vtr_: Arr, Utr_: Arr, w_: Arr) -> None:
    """:func:`pwrss`'s results into the state, as far as the update got (lme4's ``pp`` after an error);
    ``RZX``, ``RX``, ``Vtr`` not when ``deferred``."""
    Xwts[:] = w_
    if status != WEIGHTS:
        d[:] = d_
        L21[:, :] = L21_
        L22[:, :] = L22_
        if not deferred:
            RZX[:, :] = RZX_
    if status != WEIGHTS and status != DOWNDATED:
        if not deferred:
            RX[:, :] = RX_
            Vtr[:] = Vtr_
        Utr[:] = Utr_
