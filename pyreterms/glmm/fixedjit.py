"""The fixed-effects half of lme4's ``merPredD::updateDecomp`` compiled (``V = diag(w) X``, ``RZX``, ``RX``,
``Vtr``) for :mod:`pyreterms.glmm.pirlsjit`, and the certificate that lets a u-only PIRLS update (glmer's
stage 2) form them once, at its last iteration, instead of at every iteration as lme4 does.

R equivalent: ``updateDecomp``'s ``d_RZX``/``d_RX`` (``src/predModule.cpp``), whose Cholesky failure is lme4's
"Downdated VtV is not positive definite".  The certificate is ours (:func:`certified`): lme4's per-iteration
check can fail only on a matrix singular to rounding, and the update runs again checking every iteration
whenever the certificate does not hold, so the errors are lme4's.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from pyreterms.glmm import linjit as lj
from pyreterms.glmm.linjit import chol, crossprod, tmv
from pyreterms.jitcache import jit_numpy_errors

Arr = npt.NDArray[Any]

#: where the nested levels' ``SchurPlan`` arrays start among the kernel's packed ``ints`` (as pirlsjit's)
NEST_SEG = 23
#: the certificate's safety factor (:func:`certified`)
_SAFETY = 1000.0
_U = float(np.finfo(np.float64).eps) / 2
_DBL_MAX = float(np.finfo(np.float64).max)


@jit_numpy_errors
def ut_times(w: Arr, M: Arr, Zp: Arr, Zi: Arr, Zx: Arr, lam: Arr, out: Arr) -> Arr:
    """``Lambdat Zt diag(w) M`` for a matrix M (n x k), written into ``out`` (q x k).  One pass over the
    observations in order (``Z`` as CSR), each adding into its levels' rows: every ``out[j, c]`` sums its
    column's entries in increasing observation order from 0.0, as scipy's CSR product of ``Zt`` (sorted
    indices) does, then is scaled by ``lam[j]``; the gather over ``Zt``'s rows read ``M``'s rows at random."""
    n, k = M.shape
    out[:, :] = 0.0
    for o in range(n):
        wo = w[o]
        for t in range(Zp[o], Zp[o + 1]):
            j = Zi[t]
            z = Zx[t]
            for c in range(k):
                out[j, c] += z * (wo * M[o, c])
    for j in range(out.shape[0]):
        for c in range(k):
            out[j, c] = lam[j] * out[j, c]
    return out


@jit_numpy_errors
def ratio_max(w: Arr, wprev: Arr) -> float:
    """``max_i max(w_i / wprev_i, wprev_i / w_i)``; infinite when a weight is not finite and positive."""
    r = 1.0
    for i in range(w.size):
        a, b = w[i], wprev[i]
        if not (a > 0 and b > 0 and a < _DBL_MAX and b < _DBL_MAX):
            return math.inf
        r = max(r, a / b, b / a)
    return r


@jit_numpy_errors
def decomp_x(w: Arr, wtres: Arr, X: Arr, V: Arr, Zp: Arr, Zi: Arr, Zx: Arr, lam: Arr, UV: Arr, d: Arr, L21: Arr,
             L22: Arr, RZX: Arr, xs: Arr, rs: Arr, nz: Arr, lv: Arr, ints: Arr, iat: Arr, Vtr: Arr, gidx: Arr,
             Xg: Arr) -> tuple[bool, Arr, float, Arr]:
    """``updateDecomp``'s fixed-effects half at the weights ``w``: ``V = diag(w) X``, ``RZX = L^-1 Lambda' Z' W
    V``, ``RX = chol(V'V - RZX'RZX)`` (False: "Downdated VtV is not positive definite") and ``Vtr = V' wtres``
    (written into ``Vtr``).  Also returns ``max diag(V'V)`` and ``V'V - RZX'RZX`` before its factorization.
    ``Xg`` (G x p, G > 0): X's distinct rows, ``gidx`` each row's (:func:`row_groups`): ``V'V`` and ``V'
    wtres`` are then summed over the G rows (:func:`_gram_grouped`)."""
    n, p = X.shape
    for i in range(n):
        for j in range(p):
            V[i, j] = X[i, j] * w[i]
    ut_times(w, V, Zp, Zi, Zx, lam, UV)
    lj.solve_cols(d, L21, L22, UV, RZX, xs, rs, nz, lv, ints, iat, NEST_SEG)
    grouped = Xg.shape[0] > 0
    VtV = _gram_grouped(w, gidx, Xg) if grouped else crossprod(V)
    s = 0.0
    for j in range(p):
        s = max(s, VtV[j, j])
    M = VtV - crossprod(RZX)
    RX = M.copy()
    if not chol(RX):
        return False, RX, s, M
    if grouped:
        _tmv_grouped(w, wtres, gidx, Xg, Vtr)
    else:
        Vtr[:] = tmv(V, wtres)
    return True, RX, s, M


@jit_numpy_errors
def _group_sums(w: Arr, a: Arr, gidx: Arr, G: int) -> Arr:
    """``sum_{i in g} w_i a_i`` for each of the G distinct rows of X."""
    sw = np.zeros(G)
    for i in range(w.size):
        sw[gidx[i]] += w[i] * a[i]
    return sw


@jit_numpy_errors
def _gram_grouped(w: Arr, gidx: Arr, Xg: Arr) -> Arr:
    """``V'V = X' W X`` summed over X's distinct rows: ``sum_g (sum_{i in g} w_i^2) x_g x_g'``, in G p^2
    instead of n p^2 products (equal in exact arithmetic; rounded differently, as lme4's Eigen sums in its
    own order)."""
    return lj.gram(Xg, _group_sums(w, w, gidx, Xg.shape[0]))


@jit_numpy_errors
def _tmv_grouped(w: Arr, a: Arr, gidx: Arr, Xg: Arr, out: Arr) -> None:
    """``V' a = X' (w a)`` the same way, into ``out``."""
    G, p = Xg.shape
    sw = _group_sums(w, a, gidx, G)
    for j in range(p):
        t = 0.0
        for g in range(G):
            t += sw[g] * Xg[g, j]
        out[j] = t


def row_groups(X: Arr, min_p: int = 6, ratio: int = 4) -> tuple[Arr, Arr]:
    """X's distinct rows and each row's index among them, when grouping pays (p >= ``min_p`` and at most
    n / ``ratio`` distinct rows: factorial designs, VerbAgg's 270 of 7,584); else two empty arrays."""
    n, p = X.shape
    none = (np.zeros(0, dtype=np.int64), np.zeros((0, p)))
    if p < min_p or n < ratio or not np.isfinite(X).all():
        return none
    Xg, gidx = np.unique(X, axis=0, return_inverse=True)
    if Xg.shape[0] * ratio > n:
        return none
    return gidx.ravel().astype(np.int64), np.ascontiguousarray(Xg, dtype=np.float64)


@jit_numpy_errors
def certified(M: Arr, s: float, spread: float, size: int) -> bool:
    """Whether no earlier iteration of a u-only update can have failed its check of RX, given the last one's
    ``M = V'V - RZX'RZX`` and the weights' ``spread`` over the iterations (:func:`ratio_max`'s
    product; 1: one iteration, or the same weights throughout).

    In exact arithmetic ``M(W) = X' (W^-1 + Z Lambda Lambda' Z')^-1 X`` (``W`` = diag(w^2)) is monotone in
    ``W``, so weights within a factor ``c = spread`` of the last ones give ``M_k >= M / c^2`` and ``diag(M_k)
    <= c^2 s``.  A Cholesky runs to completion when the diagonally scaled matrix's smallest eigenvalue exceeds
    about ``p^2 u`` (Higham, *Accuracy and Stability of Numerical Algorithms*, Thm 10.7), and the computed
    ``M_k`` is within about ``(n + q) u c^2 s`` of the exact one (its sums have at most ``n + q`` terms,
    each bounded by ``V_k'V_k``'s diagonal).  Certified when ``lambda_min(M) > 1000 c^4 (n + q + p^2) u s``:
    a safety factor of 1000 on that bound."""
    if spread == 1.0:
        return True
    lmin = np.linalg.eigvalsh(M)[0]
    return lmin > _SAFETY * spread ** 4 * size * _U * s


__all__ = ["ut_times", "decomp_x", "ratio_max", "certified", "row_groups", "NEST_SEG"]
