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


@jit_numpy_errors
def crossprod(A: np.ndarray) -> np.ndarray:
    """``A' A``."""
    n, p = A.shape
    if n * p * p > 2 * _SMALL:
        return A.T @ A
    out = np.zeros((p, p))
    for r in range(n):
        for i in range(p):
            a = A[r, i]
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
