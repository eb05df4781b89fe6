"""Small dense and sparse linear algebra for the compiled PIRLS (:mod:`pyreterms.glmm.pirlsjit`), numba:
the Cholesky factor and triangular solves LAPACK gives :mod:`pyreterms.glmm.blockchol` (``dpotrf``,
``dtrsv``; the same factor to rounding), ``BlockChol.solve``/``solve_t`` for ``L = [[diag(d), 0], [L21, L22]]``,
scipy's CSR times a vector (its summation order) and products small enough that a BLAS call costs more than
the arithmetic (R: the Eigen calls in lme4's ``src/predModule.cpp``).
"""
from __future__ import annotations

import math

import numpy as np

from pyreterms.jitcache import jit_numpy_errors, prepare

prepare(__file__)


@jit_numpy_errors
def chol(S: np.ndarray) -> bool:
    """In place: the lower Cholesky factor of the symmetric ``S`` (upper triangle zeroed); False when
    ``S`` is not finite and positive definite (LAPACK ``dpotrf``'s refusal)."""
    m = S.shape[0]
    for j in range(m):
        s = S[j, j]
        for k in range(j):
            s -= S[j, k] * S[j, k]
        if not s > 0 or not math.isfinite(s):
            return False
        djj = math.sqrt(s)
        S[j, j] = djj
        for i in range(j + 1, m):
            t = S[i, j]
            for k in range(j):
                t -= S[i, k] * S[j, k]
            S[i, j] = t / djj
        for i in range(j):
            S[i, j] = 0.0
    return True


@jit_numpy_errors
def fwd(L: np.ndarray, b: np.ndarray) -> None:
    """In place: ``b <- L^-1 b`` (L lower triangular, b a vector)."""
    for i in range(L.shape[0]):
        s = b[i]
        for k in range(i):
            s -= L[i, k] * b[k]
        b[i] = s / L[i, i]


@jit_numpy_errors
def bwd(L: np.ndarray, b: np.ndarray) -> None:
    """In place: ``b <- L'^-1 b``."""
    for i in range(L.shape[0] - 1, -1, -1):
        s = b[i]
        for k in range(i + 1, L.shape[0]):
            s -= L[k, i] * b[k]
        b[i] = s / L[i, i]


@jit_numpy_errors
def lsolve(d: np.ndarray, L21: np.ndarray, L22: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``BlockChol.solve`` for a vector: ``L^-1 b``."""
    q1 = d.size
    x = b.copy()
    for j in range(q1):
        x[j] = b[j] / d[j]
    if L22.shape[0]:
        r = b[q1:] - mv(L21, x[:q1])
        fwd(L22, r)
        x[q1:] = r
    return x


@jit_numpy_errors
def ltsolve(d: np.ndarray, L21: np.ndarray, L22: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``BlockChol.solve_t``: ``L'^-1 b``."""
    q1 = d.size
    x = b.copy()
    if L22.shape[0]:
        x2 = b[q1:].copy()
        bwd(L22, x2)
        x[q1:] = x2
        t = tmv(L21, x2)
        for j in range(q1):
            x[j] = (b[j] - t[j]) / d[j]
    else:
        for j in range(q1):
            x[j] = b[j] / d[j]
    return x


@jit_numpy_errors
def nz_mv(L21: np.ndarray, nz: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``L21 x`` over ``L21``'s pattern only (``nz``: the flat row-major positions of its non-zeros, in
    order): each row's sum in column order, as :func:`mv`'s loop adds it without the zeros."""
    q1 = L21.shape[1]
    out = np.zeros(L21.shape[0])
    for k in range(nz.size):
        r = nz[k] // q1
        c = nz[k] - r * q1
        out[r] += L21[r, c] * x[c]
    return out


@jit_numpy_errors
def nz_tmv(L21: np.ndarray, nz: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``L21' x`` over ``L21``'s pattern only (:func:`tmv`'s loop without the zeros)."""
    q1 = L21.shape[1]
    out = np.zeros(q1)
    for k in range(nz.size):
        r = nz[k] // q1
        c = nz[k] - r * q1
        out[c] += L21[r, c] * x[r]
    return out


@jit_numpy_errors
def _level_pattern(ints: np.ndarray, iat: np.ndarray, seg: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Level ``k``'s ``SchurPlan.rows, cols`` (the 4th and 5th of its five segments from ``seg`` in ``ints``)."""
    t = seg + 5 * k
    return ints[iat[t + 3]:iat[t + 4]], ints[iat[t + 4]:iat[t + 5]]


@jit_numpy_errors
def nested_fwd(L: np.ndarray, lv: np.ndarray, ints: np.ndarray, iat: np.ndarray, seg: int, b: np.ndarray) -> None:
    """In place: ``b <- L^-1 b`` for :func:`nested_chol`'s factor ``L`` (``BlockChol.solve`` recursing): each
    level's diagonal, then its ``L32`` over the level's pattern (``SchurPlan``'s ``rows, cols``) or densely,
    then :func:`fwd` on the block no level eliminates."""
    q2 = L.shape[0]
    o = 0
    for k in range(lv.shape[0]):
        e = o + lv[k, 0]
        for j in range(o, e):
            b[j] = b[j] / L[j, j]
        if e < q2 and lv[k, 1]:
            for i in range(e, q2):
                s = b[i]
                for j in range(o, e):
                    s -= L[i, j] * b[j]
                b[i] = s
        elif e < q2:
            rows, cols = _level_pattern(ints, iat, seg, k)
            for p in range(rows.size):
                b[e + rows[p]] -= L[e + rows[p], o + cols[p]] * b[o + cols[p]]
        o = e
    if o < q2:
        fwd(L[o:, o:], b[o:])


@jit_numpy_errors
def nested_bwd(L: np.ndarray, lv: np.ndarray, ints: np.ndarray, iat: np.ndarray, seg: int, b: np.ndarray) -> None:
    """In place: ``b <- L'^-1 b`` for :func:`nested_chol`'s factor (:func:`nested_fwd`'s steps reversed)."""
    q2 = L.shape[0]
    starts = np.zeros(lv.shape[0] + 1, dtype=np.int64)
    for k in range(lv.shape[0]):
        starts[k + 1] = starts[k] + lv[k, 0]
    o = starts[lv.shape[0]]
    if o < q2:
        bwd(L[o:, o:], b[o:])
    for k in range(lv.shape[0] - 1, -1, -1):
        o, e = starts[k], starts[k + 1]
        if e < q2 and lv[k, 1]:
            for j in range(o, e):
                s = b[j]
                for i in range(e, q2):
                    s -= L[i, j] * b[i]
                b[j] = s
        elif e < q2:
            rows, cols = _level_pattern(ints, iat, seg, k)
            for p in range(rows.size):
                b[o + cols[p]] -= L[e + rows[p], o + cols[p]] * b[e + rows[p]]
        for j in range(o, e):
            b[j] = b[j] / L[j, j]


@jit_numpy_errors
def solve_l(d: np.ndarray, L21: np.ndarray, L22: np.ndarray, b: np.ndarray, nz: np.ndarray, lv: np.ndarray,
            ints: np.ndarray, iat: np.ndarray, seg: int) -> np.ndarray:
    """``L^-1 b``: :func:`lsolve` (``nz`` empty: one elimination level) or, for nested models, ``L21`` applied
    over its pattern ``nz`` (:func:`nz_mv`) and ``L22`` by :func:`nested_fwd`."""
    if nz.size == 0:
        return lsolve(d, L21, L22, b)
    q1 = d.size
    x = b.copy()
    for j in range(q1):
        x[j] = b[j] / d[j]
    r = b[q1:] - nz_mv(L21, nz, x[:q1])
    nested_fwd(L22, lv, ints, iat, seg, r)
    x[q1:] = r
    return x


@jit_numpy_errors
def solve_lt(d: np.ndarray, L21: np.ndarray, L22: np.ndarray, b: np.ndarray, nz: np.ndarray, lv: np.ndarray,
             ints: np.ndarray, iat: np.ndarray, seg: int) -> np.ndarray:
    """``L'^-1 b`` (:func:`solve_l`'s cases: :func:`ltsolve`, or :func:`nested_bwd` and :func:`nz_tmv`)."""
    if nz.size == 0:
        return ltsolve(d, L21, L22, b)
    q1 = d.size
    x = b.copy()
    x2 = b[q1:].copy()
    nested_bwd(L22, lv, ints, iat, seg, x2)
    x[q1:] = x2
    t = nz_tmv(L21, nz, x2)
    for j in range(q1):
        x[j] = (b[j] - t[j]) / d[j]
    return x


@jit_numpy_errors
def solve_cols(d: np.ndarray, L21: np.ndarray, L22: np.ndarray, B: np.ndarray, out: np.ndarray, x: np.ndarray,
               r: np.ndarray, nz: np.ndarray, lv: np.ndarray, ints: np.ndarray, iat: np.ndarray, seg: int) -> None:
    """``L^-1 B`` column by column into ``out`` (:func:`solve_l`'s arithmetic for each column; ``x``, ``r``:
    scratch of ``d``'s and ``L22``'s size)."""
    q1, q2 = d.size, L22.shape[0]
    for c in range(B.shape[1]):
        for j in range(q1):
            x[j] = B[j, c] / d[j]
            out[j, c] = x[j]
        if q2:
            m = mv(L21, x) if nz.size == 0 else nz_mv(L21, nz, x)
            for i in range(q2):
                r[i] = B[q1 + i, c] - m[i]
            if nz.size == 0:
                fwd(L22, r)
            else:
                nested_fwd(L22, lv, ints, iat, seg, r)
            for i in range(q2):
                out[q1 + i, c] = r[i]


@jit_numpy_errors
def csr_mv(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A CSR matrix times a vector (scipy's ``csr_matvec`` order)."""
    m = indptr.size - 1
    out = np.zeros(m)
    for i in range(m):
        s = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            s += data[k] * x[indices[k]]
        out[i] = s
    return out


#: below this many multiply-adds a product is looped here (BLAS's call costs more than the arithmetic)
_SMALL = 4096


#: :func:`gram`'s weights for ``A' A``
_NO_WEIGHTS = np.zeros(0)


@jit_numpy_errors
def crossprod(A: np.ndarray) -> np.ndarray:
    """``A' A``."""
    n, p = A.shape
    if n * p * p > 2 * _SMALL:
        return A.T @ A
    return gram(A, _NO_WEIGHTS)


@jit_numpy_errors
def gram(A: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``sum_r s_r a_r a_r'`` over A's rows (``s`` empty: every ``s_r = 1``, ``A' A``): the lower triangle summed
    row by row, then mirrored (``1.0 * a`` is ``a``, so the unweighted sums are :func:`crossprod`'s)."""
    n, p = A.shape
    out = np.zeros((p, p))
    for r in range(n):
        sr = s[r] if s.size else 1.0
        for i in range(p):
            a = sr * A[r, i]
            for j in range(i + 1):
                out[i, j] += a * A[r, j]
    for i in range(p):
        for j in range(i):
            out[j, i] = out[i, j]
    return out


@jit_numpy_errors
def tmv(A: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``A' x``."""
    n, p = A.shape
    if n * p > _SMALL:
        return A.T @ x
    out = np.zeros(p)
    for r in range(n):
        xr = x[r]
        for j in range(p):
            out[j] += A[r, j] * xr
    return out


@jit_numpy_errors
def mv(A: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``A x``."""
    n, p = A.shape
    if n * p > _SMALL:
        return A @ x
    out = np.empty(n)
    for r in range(n):
        s = 0.0
        for j in range(p):
            s += A[r, j] * x[j]
        out[r] = s
    return out


@jit_numpy_errors
def dot(a: np.ndarray, b: np.ndarray) -> float:
    s = 0.0
    for i in range(a.size):
        s += a[i] * b[i]
    return s


@jit_numpy_errors
def _eliminate(S: np.ndarray, o: int, m: int) -> bool:
    """One level of :func:`nested_chol`: the diagonal block ``S[o:o+m, o:o+m]`` becomes ``d = sqrt(diag)``,
    the rows below it ``L32 = S32 / d`` and the entries above them zero; False when ``diag`` is not finite
    and positive (``BlockChol.from_blocks``' check of ``a11``)."""
    q2 = S.shape[0]
    for j in range(o, o + m):
        a = S[j, j]
        if not (math.isfinite(a) and a > 0):
            return False
    d = np.empty(m)
    for j in range(m):
        d[j] = math.sqrt(S[o + j, o + j])
        S[o + j, o + j] = d[j]
    for i in range(o + m, q2):
        for j in range(m):
            S[i, o + j] = S[i, o + j] / d[j]
            S[o + j, i] = 0.0
    return True


@jit_numpy_errors
def _sub_gram(S: np.ndarray, o: int, m: int, dense: bool, e1: np.ndarray, e2: np.ndarray, pos: np.ndarray,
              rows: np.ndarray, cols: np.ndarray) -> None:
    """``S33 -= L32 L32'`` below the level at ``o`` (``m`` rows): the dense product, or ``SchurPlan.gram``'s
    sums from the level's pair arrays."""
    q2 = S.shape[0]
    b = o + m
    r = q2 - b
    if dense:
        B = np.ascontiguousarray(S[b:, o:b])
        G = B @ B.T
        for i in range(r):
            for j in range(r):
                S[b + i, b + j] -= G[i, j]
        return
    sub_gram_runs(S[b:, b:], S[b:, o:b], e1, e2, pos, rows, cols)


@jit_numpy_errors
def sub_gram_runs(S: np.ndarray, L: np.ndarray, e1: np.ndarray, e2: np.ndarray, pos: np.ndarray,
                  rows: np.ndarray, cols: np.ndarray) -> None:
    """``S -= L L'`` over the pairs of ``L``'s non-zeros (``SchurPlan``: sorted by position ``pos``, their
    order kept within each): each position's products summed from 0.0 in that order, then subtracted once
    (what ``SchurPlan.gram``'s bincount and ``S - gram`` do, with no dense buffer)."""
    r = S.shape[0]
    k = 0
    m = e1.size
    while k < m:
        t = pos[k]
        acc = 0.0
        while k < m and pos[k] == t:
            acc += L[rows[e1[k]], cols[e1[k]]] * L[rows[e2[k]], cols[e2[k]]]
            k += 1
        S[t // r, t % r] -= acc


@jit_numpy_errors
def nested_chol(S: np.ndarray, lv: np.ndarray, ints: np.ndarray, iat: np.ndarray, seg: int) -> bool:
    """In place: the lower Cholesky factor of the Schur complement ``S`` (q2 x q2, both triangles stored) of a
    nested model, eliminated level by level as ``BlockChol.from_blocks`` recurses through ``ElimPlan.rest``:
    each level's diagonal leading block (``lv[k, 0]`` rows; :func:`_eliminate`), then ``S33 - L32 L32'`` by
    the level's ``SchurPlan`` arrays ``e1, e2, pos, rows, cols`` (the segments ``seg + 5 k ...`` of
    ``ints``/``iat``) or densely when ``lv[k, 1]`` (:func:`_sub_gram`); what no level eliminates is factored
    by :func:`chol`.  The result is the dense lower-triangular factor with the nested structure's zeros;
    False when S is not finite and positive definite (``NotPositiveDefinite``)."""
    q2 = S.shape[0]
    o = 0
    for k in range(lv.shape[0]):
        m = lv[k, 0]
        if not _eliminate(S, o, m):
            return False
        if o + m < q2:
            t = seg + 5 * k
            _sub_gram(S, o, m, lv[k, 1] != 0, ints[iat[t]:iat[t + 1]], ints[iat[t + 1]:iat[t + 2]],
                      ints[iat[t + 2]:iat[t + 3]], ints[iat[t + 3]:iat[t + 4]], ints[iat[t + 4]:iat[t + 5]])
        o += m
    if o < q2:
        T = np.ascontiguousarray(S[o:, o:])
        if not chol(T):
            return False
        S[o:, o:] = T
    return True
