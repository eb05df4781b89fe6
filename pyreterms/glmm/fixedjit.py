"""The fixed-effects half of lme4's ``merPredD::updateDecomp`` compiled (``V = diag(w) X``, ``RZX``, ``RX``,
``Vtr``) for :mod:`pyreterms.glmm.pirlsjit`, and the certificate that lets a u-only PIRLS update (glmer's
stage 2) form them once, at its last iteration, instead of at every iteration as lme4 does.

R equivalent: ``updateDecomp``'s ``d_RZX``/``d_RX`` (``src/predModule.cpp``), whose Cholesky failure is lme4's
"Downdated VtV is not positive definite".  The certificate is ours (:func:`certified_by`): lme4's per-iteration
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
NEST_SEG = 24
#: the certificate's safety factor (:func:`certified_by`)
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
        r = max(r, a / b if a >= b else b / a)
    return r


@jit_numpy_errors
def lam_ratio(lam: Arr, lamref: Arr) -> float:
    """``max(1, max_j |lam_j| / |lamref_j|)`` (a diagonal Lambda against the reference's; infinite where the
    reference's entry is zero and this one's is not, or either is not finite)."""
    r = 1.0
    for j in range(lam.size):
        a, b = abs(lam[j]), abs(lamref[j])
        if not (a < _DBL_MAX and b < _DBL_MAX):
            return math.inf
        if a > b:
            if b == 0.0:
                return math.inf
            r = max(r, a / b)
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
def lambda_min(M: Arr) -> float:
    """The smallest eigenvalue of the symmetric ``M`` (-inf when it is not finite)."""
    if M.shape[0] == 0:
        return math.inf
    for v in M.ravel():
        if not math.isfinite(v):
            return -math.inf
    return float(np.linalg.eigvalsh(M)[0])


@jit_numpy_errors
def certified_by(lmin: float, s: float, spread: float, size: int) -> bool:
    """Whether a u-only update's checks of RX cannot have failed, given a computed ``M = V'V - RZX'RZX``
    (its ``lambda_min(M)`` ``lmin``, ``max diag(V'V)`` ``s``) and the factor ``c = spread`` within which the
    iterations' weights (and Lambda) lie of the ones ``M`` was formed at.

    In exact arithmetic ``M = X' (W^-1 + Z Lambda Lambda' Z')^-1 X`` (``W`` = diag(w^2)) is monotone increasing
    in ``W`` and, with Lambda diagonal, decreasing in each ``Lambda_jj^2``: weights within a factor ``c_w``
    (:func:`ratio_max`) and ``|Lambda_jj|`` at most ``c_l`` times the reference's (:func:`lam_ratio`) give
    ``M_k >= M / c^2`` with ``c = max(c_w, c_l)``, and ``diag(M_k) <= c_w^2 s``.  A Cholesky runs to completion
    when the diagonally scaled matrix's smallest eigenvalue exceeds about ``p^2 u`` (Higham, *Accuracy and
    Stability of Numerical Algorithms*, Thm 10.7), and the computed ``M_k`` is within about ``(n + q) u c^2 s``
    of the exact one (its sums have at most ``n + q`` terms, each bounded by ``V_k'V_k``'s diagonal).
    Certified when ``lambda_min(M) > 1000 c^4 (n + q + p^2) u s``: a safety factor of 1000 on that bound."""
    return lmin > _SAFETY * spread ** 4 * size * _U * s


@jit_numpy_errors
def ref_views(ref: Arr, q: int, n: int) -> tuple[float, float, Arr, Arr]:
    """The certificate's reference (``pirlsjit.pwrss``): ``ref[0]`` 1 when it holds, then ``lambda_min(M)``,
    ``max diag(V'V)``, ``Lambda``'s diagonal (q) and the weights (n) it was formed at; empty: no reference
    (Lambda not diagonal)."""
    if ref.size == 0:
        return math.nan, math.nan, ref, ref
    return ref[1], ref[2], ref[3:3 + q], ref[3 + q:3 + q + n]


# A u-only update's certificate as it goes (``cs``): [by the reference, Lambda's ratio to the reference's, the
# weights' largest ratio to the reference's, the last iteration's, the product of consecutive ratios].


@jit_numpy_errors
def cert_start(ref: Arr, lam: Arr, n: int, size: int) -> Arr:
    """A u-only update's certificate at its start: by the reference (when there is one and Lambda is within
    the factor it allows: :func:`lam_ratio`), else by the last iteration's ``M``."""
    rlmin, rs, lamref, _w = ref_views(ref, lam.size, n)
    cl = lam_ratio(lam, lamref) if ref.size > 0 and ref[0] == 1.0 else math.inf
    return np.array([1.0 if certified_by(rlmin, rs, cl, size) else 0.0, cl, 1.0, 1.0, 1.0])


@jit_numpy_errors
def cert_step(cs: Arr, it: int, w: Arr, wprev: Arr, ref: Arr, n: int) -> None:
    """An iteration's weights ``w`` into the certificate: their ratio to the reference's, or (without one)
    to the previous iteration's (``wprev``, then set to ``w``)."""
    if cs[0] == 1.0:
        cs[3] = ratio_max(w, ref[ref.size - n:])
        cs[2] = max(cs[2], cs[3])
        return
    if it > 0:
        cs[4] *= ratio_max(w, wprev)
    wprev[:] = w


@jit_numpy_errors
def cert_by_ref(cs: Arr, ref: Arr, size: int) -> bool:
    """Whether the reference certifies every iteration's check of RX (:func:`certified_by`, ``c`` the larger
    of Lambda's and the weights' ratios)."""
    return cs[0] == 1.0 and certified_by(ref[1], ref[2], max(cs[1], cs[2]), size)


@jit_numpy_errors
def cert_by_last(cs: Arr, M: Arr, s: float, keep: bool, ref: Arr, lam: Arr, w: Arr, size: int) -> bool:
    """Whether the last iteration's ``M`` (``max diag(V'V)`` ``s``) certifies the earlier iterations' checks;
    then, when ``keep``, it becomes the reference.  The weights' spread: the product of consecutive ratios, or
    through the reference ``w_k / w_last <= (w_k / w_ref) (w_ref / w_last)``."""
    spread = cs[2] * cs[3] if cs[0] == 1.0 else cs[4]
    lmin = lambda_min(M) if spread != 1.0 or ref.size > 0 else math.inf
    ok = spread == 1.0 or certified_by(lmin, s, spread, size)
    if ok and keep and ref.size > 0:
        _l, _s, lamref, wref = ref_views(ref, lam.size, w.size)
        ref[0], ref[1], ref[2] = 1.0, lmin, s
        lamref[:] = lam
        wref[:] = w
    return ok


@jit_numpy_errors
def settle(X: Arr, Zp: Arr, Zi: Arr, Zx: Arr, lam: Arr, d: Arr, L21: Arr, L22: Arr, RZX: Arr, RX: Arr, Vtr: Arr,
           Xwts: Arr, wtres: Arr, t21: Arr, lv: Arr, ints: Arr, iat: Arr, gidx: Arr, Xg: Arr, q1: int) -> bool:
    """``RZX``, ``RX`` and ``Vtr`` of an evaluation that deferred them (``pirlsjit.pwrss``), from its weights
    ``Xwts``, ``wtres`` and factor: the arithmetic the update would have done at its last iteration, written
    into the state.  False when ``RX``'s Cholesky fails ("Downdated VtV is not positive definite")."""
    n, p = X.shape
    q = lam.size
    V, UV, xs, rs = np.empty((n, p)), np.empty((q, p)), np.empty(q1), np.empty(q - q1)
    nz = t21 if lv.shape[0] else t21[:0]
    Vn = np.zeros(p)
    ok, RXn, _s, _m = decomp_x(Xwts, wtres, X, V, Zp, Zi, Zx, lam, UV, d, L21, L22, RZX, xs, rs, nz, lv, ints, iat,
                               Vn, gidx, Xg)
    if ok:
        RX[:, :] = RXn
        Vtr[:] = Vn
    return ok


__all__ = ["ut_times", "decomp_x", "ratio_max", "lam_ratio", "lambda_min", "certified_by",
           "ref_views", "cert_start", "cert_step", "cert_by_ref", "cert_by_last", "settle", "row_groups", "NEST_SEG"]
