"""One compiled call for one profiled-deviance evaluation of a small model (the dense path of
:class:`pyreterms.lmm.dense.DensePlan` with ``[X Z]`` kept dense): ``Omega(theta)``, its ``dpotrf``,
the PLS solve, ``b``, ``mu`` and the weighted residual sum of squares.

R equivalent: ``lmer_Deviance`` -> ``merPredD::updateDecomp`` + ``solve`` and ``lmerResp::updateMu`` /
``wrss`` (lme4 1.1-31, ``src/predModule.cpp``, ``src/respModule.cpp``).

The Python path (:meth:`pyreterms.lmm.dense.DensePlan.pls` and
:meth:`pyreterms.lmm.deviance.LmerProblem._one_shot`) makes ~15 numpy/scipy calls of ~1 us each per
evaluation; a small model's fit spends most of its time in them.  This kernel makes the same BLAS and
LAPACK calls with the same arguments (:mod:`pyreterms.lmm.jitblas`: the products numpy's ``matmul``
and ``@`` hand to ``cblas_dgemm``/``cblas_dgemv``/``cblas_ddot`` as the Fortran calls they become,
scipy's ``dpotrf`` and ``dtrsv``, numpy's pairwise sums) and does the elementwise steps in loops, so
the numbers are those of the Python path up to two differences: the BLAS library (scipy's OpenBLAS
here, numpy's own for its products) and ``log`` (the C library's here, numpy's SIMD ``log`` there,
which differs in the last bit for ~1 value in 4,000; R's ``log`` is the C library's too).  One shortcut:
a non-diagonal Lambda is applied over its stored entries (one FMA chain per entry, ~20x fewer flops
for sleepstudy's 2 x 2 blocks) where :func:`sparse_products_match` shows, at build, that this gives the
bits of numpy's two products on this machine; elsewhere the two ``dgemm`` stay.  An evaluation is one
call returning ``(ldL2, ldRX2, pwrss)`` (the objective stays :meth:`pyreterms.lmm.deviance.LmerProblem.objective`,
R's ``lmerResp::Laplace``, in one place); the solution stays in the workspace buffer
(:meth:`KernelData.buffer`) until it is needed.

Calling cost matters at this size (numba's dispatch is ~0.1-0.2 us per argument and ~0.7 us per
returned array), so the model's constants travel in two flat arrays (:func:`pack`) and the results
in the buffer: ``[M (Q*Q) | [u; beta] (Q-1) | b (q) | mu (n) | info, ldL2, ldRX2, wrss, ussq]``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pyreterms.jitcache import jit, prepare
from pyreterms.lmm.jitblas import ddot, dgemm, dgemv, dpotrf, dtrsv, fma, pairwise_sum_range

prepare(__file__)

#: ``info`` of an evaluation (stored in the buffer): a pivot failed (the Python path's None)
OK, PIVOT_FAILED = 0, 1
#: the integer header of :func:`pack`'s ``idata``
_NI = 11
#: trailing scalars of the buffer: info, ldL2, ldRX2, wrss, ussq
_NS = 5


@jit
def _factor_solve(M: np.ndarray, qr: int, z: np.ndarray, ch: np.ndarray, iv: np.ndarray) -> tuple[int, float, float]:
    """:func:`pyreterms.lmm.oneshot.factor_solve`: ``dpotrf`` of ``M`` (C-ordered; its upper triangle is
    the Fortran lower triangle LAPACK reads), then ``L^T x = r_yy e_Q`` and ``z = -x[:Q-1]`` =
    ``[u; beta]``.  Returns (info, ldL2 of the term rows, ldRX2)."""
    Q = M.shape[0]
    iv[0] = Q
    iv[1] = 0
    dpotrf(ch[2:3].ctypes, iv[0:1].ctypes, M.ctypes, iv[0:1].ctypes, iv[1:2].ctypes)
    if iv[1] != 0:
        return PIVOT_FAILED, 0.0, 0.0
    lg = np.empty(Q - 1)
    for i in range(Q - 1):
        lg[i] = math.log(M[i, i])
    ld = 2.0 * (0.0 + pairwise_sum_range(lg, 0, qr))
    ldRX2 = 2.0 * (0.0 + pairwise_sum_range(lg, qr, Q - 1 - qr))
    rhs = np.zeros(Q)
    rhs[Q - 1] = M[Q - 1, Q - 1]
    iv[2] = 1
    # dtrsv('L', 'T', 'N', Q, L, Q, rhs, 1)
    dtrsv(ch[2:3].ctypes, ch[1:2].ctypes, ch[0:1].ctypes, iv[0:1].ctypes, M.ctypes, iv[0:1].ctypes, rhs.ctypes,
          iv[2:3].ctypes)
    for i in range(Q - 1):
        z[i] = -rhs[i]
    if not M[Q - 1, Q - 1] > 0.0:  # a NaN r_yy passes OpenBLAS's pivot test
        return PIVOT_FAILED, 0.0, 0.0
    return OK, ld, ldRX2


@jit
def _sparse_products(theta: np.ndarray, M: np.ndarray, q: int, G: np.ndarray, lt_theta: np.ndarray,
                     lt_indptr: np.ndarray, lt_indices: np.ndarray) -> None:
    """``B = Lambdat G[:q]`` and ``M[:q, :q] = Lambdat B[:, :q]^T`` over the stored entries of ``Lambdat``
    only: every entry an FMA chain over its row's entries in column order (``G`` finite).  The inner
    loops run along contiguous rows (``B^T`` is formed for the second product), so they vectorize."""
    Q = G.shape[0]
    B = np.zeros((q, Q))
    for i in range(q):
        for e in range(lt_indptr[i], lt_indptr[i + 1]):
            v = theta[lt_theta[e]]
            Gk = G[lt_indices[e]]
            Bi = B[i]
            for j in range(Q):
                Bi[j] = fma(v, Gk[j], Bi[j])
    BT = np.empty((q, q))  # BT[k, j] = B[j, k]
    for j in range(q):
        for k in range(q):
            BT[k, j] = B[j, k]
    for i in range(q):
        Mi = M[i]
        for j in range(q):
            Mi[j] = 0.0
        for e in range(lt_indptr[i], lt_indptr[i + 1]):
            v = theta[lt_theta[e]]
            Bk = BT[lt_indices[e]]
            for j in range(q):
                Mi[j] = fma(v, Bk[j], Mi[j])
        for j in range(q, Q):
            Mi[j] = B[i, j]


@jit
def _dgemm_products(M: np.ndarray, q: int, G: np.ndarray, Lt: np.ndarray, ch: np.ndarray, iv: np.ndarray,
                    dv: np.ndarray) -> None:
    """``M[:q]`` = ``[Lt G_ZZ Lt^T, Lt G_Z[Xy]]`` by the two ``dgemm`` numpy makes on the Python path."""
    Q = G.shape[0]
    one, zero = dv[0:1].ctypes, dv[1:2].ctypes
    N_, T_ = ch[0:1].ctypes, ch[1:2].ctypes
    B = np.empty((q, Q))
    # B = Lt @ G[:q]: cblas_dgemm(RowMajor, N, N, q, Q, q) = dgemm('N', 'N', Q, q, q, G, Q, Lt, q, B, Q)
    iv[0], iv[1] = Q, q
    dgemm(N_, N_, iv[0:1].ctypes, iv[1:2].ctypes, iv[1:2].ctypes, one, G.ctypes, iv[0:1].ctypes, Lt.ctypes,
          iv[1:2].ctypes, zero, B.ctypes, iv[0:1].ctypes)
    # M[:q, :q] = Lt @ B[:, :q].T: cblas_dgemm(RowMajor, N, T, q, q, q, Lt, q, B, Q, M, Q)
    #   = dgemm('T', 'N', q, q, q, B, Q, Lt, q, M, Q)
    dgemm(T_, N_, iv[1:2].ctypes, iv[1:2].ctypes, iv[1:2].ctypes, one, B.ctypes, iv[0:1].ctypes, Lt.ctypes,
          iv[1:2].ctypes, zero, M.ctypes, iv[0:1].ctypes)
    for i in range(q):
        for j in range(q, Q):
            M[i, j] = B[i, j]


@jit
def _omega_diagonal(theta: np.ndarray, M: np.ndarray, q: int, H: np.ndarray, lam_diag: np.ndarray,
                    lam: np.ndarray, iv: np.ndarray) -> bool:
    """:meth:`pyreterms.lmm.dense.DensePlan._pls_diagonal`'s ``Omega`` into ``M`` (``lam`` = ``diag(Lambda)``);
    False, and nothing written, when ``lam1 @ lam1`` is not finite (the general products then)."""
    Q = H.shape[0]
    nth = theta.shape[0]
    lam1 = np.empty(Q)
    for i in range(Q):
        k = lam_diag[i]
        lam1[i] = theta[k] if k < nth else 1.0
    iv[0], iv[1] = Q, 1
    if not math.isfinite(ddot(iv[0:1].ctypes, lam1.ctypes, iv[1:2].ctypes, lam1.ctypes, iv[1:2].ctypes)):
        return False
    for i in range(Q):  # np.multiply(H, lam1, out=M); M *= lam1[:, None]
        li = lam1[i]
        for j in range(Q):
            M[i, j] = H[i, j] * lam1[j]
            M[i, j] *= li
    for i in range(q):
        lam[i] = lam1[i]
        M[i, i] += 1.0
    return True


@jit
def _omega(theta: np.ndarray, M: np.ndarray, q: int, G: np.ndarray, H: np.ndarray, lt_flat: np.ndarray,
           lt_theta: np.ndarray, lt_indptr: np.ndarray, lt_indices: np.ndarray, lam_diag: np.ndarray,
           diagonal: bool, sparse: bool, Lt: np.ndarray, lam: np.ndarray, ch: np.ndarray, iv: np.ndarray,
           dv: np.ndarray) -> bool:
    """``Omega(theta)`` into ``M`` (:meth:`pyreterms.lmm.dense.DensePlan.pls` up to the factorization);
    True when it took the general path (``Lt`` then holds ``Lambdat``), False for the diagonal one
    (``lam`` then holds ``diag(Lambda)``).  ``sparse``: the general path's two products over the stored
    entries of ``Lambdat`` (:func:`_sparse_products`) instead of two ``dgemm``."""
    if diagonal and _omega_diagonal(theta, M, q, H, lam_diag, lam, iv):
        return False
    Q = G.shape[0]
    Lt[:, :] = 0.0
    Ltf = Lt.ravel()
    for k in range(lt_flat.shape[0]):
        Ltf[lt_flat[k]] = theta[lt_theta[k]]
    if sparse:
        _sparse_products(theta, M, q, G, lt_theta, lt_indptr, lt_indices)
    else:
        _dgemm_products(M, q, G, Lt, ch, iv, dv)
    for i in range(q, Q):
        for j in range(q, Q):
            M[i, j] = G[i, j]
    for i in range(q):
        M[i, i] += 1.0
    return True


@jit
def dense_deviance(theta: np.ndarray, fdata: np.ndarray, idata: np.ndarray,
                   W: np.ndarray) -> tuple[float, float, float]:
    """One evaluation (R: ``devfun(theta)`` up to ``lmerResp::Laplace``) into the workspace ``W``; returns
    ``(ldL2, ldRX2, pwrss)``, ``ldL2`` NaN with ``info`` = :data:`PIVOT_FAILED` in ``W`` where the Python
    path has no one-shot solution."""
    Q, q, p, n, nlt = idata[0], idata[1], idata[2], idata[3], idata[4]
    diagonal, has_offset, weighted = idata[5] != 0, idata[6] != 0, idata[7] != 0
    sparse = idata[9] != 0
    QQ, pq = Q * Q, p + q
    nH = QQ if diagonal else 0
    G = fdata[:QQ].reshape((Q, Q))
    H = fdata[QQ:QQ + nH].reshape((nH // Q if diagonal else 0, Q))
    o = QQ + nH
    XZ = fdata[o:o + n * pq].reshape((n, pq))
    o += n * pq
    y, offset, sqrtw = fdata[o:o + n], fdata[o + n:o + 2 * n], fdata[o + 2 * n:o + 3 * n]
    lt_flat = idata[_NI:_NI + nlt]
    lt_theta = idata[_NI + nlt:_NI + 2 * nlt]
    lt_indptr = idata[_NI + 2 * nlt:_NI + 2 * nlt + q + 1]
    o2 = _NI + 2 * nlt + q + 1
    lt_indices = idata[o2:o2 + nlt]
    lam_diag = idata[o2 + nlt:o2 + nlt + (Q if diagonal else 0)]
    M = W[:QQ].reshape((Q, Q))
    z = W[QQ:QQ + Q - 1]
    b = W[QQ + Q - 1:QQ + Q - 1 + q]
    mu = W[QQ + Q - 1 + q:QQ + Q - 1 + q + n]
    s = W[QQ + Q - 1 + q + n:]
    ch = np.empty(3, np.uint8)
    ch[0], ch[1], ch[2] = 78, 84, 76  # 'N', 'T', 'L'
    iv = np.empty(8, np.int32)
    dv = np.empty(2)
    dv[0], dv[1] = 1.0, 0.0
    Lt = np.empty((q, q))
    lam = np.empty(q)
    general = _omega(theta, M, q, G, H, lt_flat, lt_theta, lt_indptr, lt_indices, lam_diag, diagonal, sparse, Lt, lam,
                     ch, iv, dv)
    info, ldL2, ldRX2 = _factor_solve(M, q, z, ch, iv)
    s[0] = info
    if info != OK:
        return np.nan, 0.0, 0.0
    u = z[:q]
    if general:
        # b = Lt.T @ u: cblas_dgemv(RowMajor, T, q, q, Lt, q) = dgemv('N', q, q, Lt, q, u, 1, b, 1)
        iv[0], iv[1] = q, 1
        dgemv(ch[0:1].ctypes, iv[0:1].ctypes, iv[0:1].ctypes, dv[0:1].ctypes, Lt.ctypes, iv[0:1].ctypes, u.ctypes,
              iv[1:2].ctypes, dv[1:2].ctypes, b.ctypes, iv[1:2].ctypes)
    else:
        for i in range(q):
            b[i] = lam[i] * u[i]
    v = np.empty(pq)  # [beta; b]
    for i in range(p):
        v[i] = z[q + i]
    for i in range(q):
        v[p + i] = b[i]
    # mu = XZ @ v: cblas_dgemv(ColMajor, T, pq, n, XZ, pq) = dgemv('T', pq, n, XZ, pq, v, 1, mu, 1)
    iv[0], iv[1], iv[2] = pq, n, 1
    dgemv(ch[1:2].ctypes, iv[0:1].ctypes, iv[1:2].ctypes, dv[0:1].ctypes, XZ.ctypes, iv[0:1].ctypes, v.ctypes,
          iv[2:3].ctypes, dv[1:2].ctypes, mu.ctypes, iv[2:3].ctypes)
    if has_offset:
        for i in range(n):
            mu[i] += offset[i]
    wres = np.empty(n)
    for i in range(n):
        wres[i] = y[i] - mu[i]
    if weighted:
        for i in range(n):
            wres[i] *= sqrtw[i]
    iv[3], iv[4] = n, q
    wrss = ddot(iv[3:4].ctypes, wres.ctypes, iv[2:3].ctypes, wres.ctypes, iv[2:3].ctypes)
    ussq = ddot(iv[4:5].ctypes, u.ctypes, iv[2:3].ctypes, u.ctypes, iv[2:3].ctypes)
    s[1], s[2], s[3], s[4] = ldL2, ldRX2, wrss, ussq
    return ldL2, ldRX2, wrss + ussq


@dataclass(frozen=True, eq=False)
class KernelData:
    """A model's constants for :func:`dense_deviance` (:func:`pack`) and the reading of its results."""

    Q: int
    q: int
    n: int
    fdata: np.ndarray
    idata: np.ndarray

    def buffer(self) -> np.ndarray:
        """A fresh workspace (``M``, the solution, the scalars)."""
        return np.empty(self.Q * self.Q + self.Q - 1 + self.q + self.n + _NS)

    def evaluate(self, theta: np.ndarray, W: np.ndarray) -> tuple[float, float, float] | None:
        """``(ldL2, ldRX2, pwrss)`` at theta (workspace ``W``); None when a pivot failed."""
        r: tuple[float, float, float] = dense_deviance(theta, self.fdata, self.idata, W)
        if r[0] != r[0] and W[-_NS] != OK:  # NaN: a failed pivot, or a NaN log-determinant
            return None
        return r

    def factor(self, W: np.ndarray) -> np.ndarray:
        """The factor in ``W`` (the lower triangle of the F-ordered ``Q x Q`` view, as LAPACK wrote it)."""
        Q = self.Q
        return W[:Q * Q].reshape(Q, Q).T

    def results(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, float,
                                               float]:
        """Copies of u, beta, b, mu and the scalars ldL2, ldRX2, wrss, ussq of the evaluation in ``W``."""
        Q, q, n = self.Q, self.q, self.n
        o = Q * Q
        z = W[o:o + Q - 1]
        b = W[o + Q - 1:o + Q - 1 + q].copy()
        mu = W[o + Q - 1 + q:o + Q - 1 + q + n].copy()
        s = W[-_NS:]
        return (z[:q].copy(), z[q:].copy(), b, mu, float(s[1]), float(s[2]), float(s[3]), float(s[4]))


def sparse_products_match(G: np.ndarray, q: int, lt_flat: np.ndarray, lt_theta: np.ndarray, lt_indptr: np.ndarray,
                          lt_indices: np.ndarray) -> bool:
    """Whether :func:`_sparse_products` gives, bit for bit, the two products numpy makes on the Python
    path (``Lt @ G[:q]`` and ``Lt @ B[:, :q].T``, :meth:`pyreterms.lmm.dense.DensePlan.pls`) at a probe
    theta (distinct values of both signs, none zero).  An optimized BLAS sums each entry in an order
    fixed by the matrix sizes (its kernel and blocking), not by the values: where that order is the FMA
    chain over the stored entries the results agree at every theta, elsewhere they differ at nearly
    every entry with two or more terms, so one probe decides.  Measured (OpenBLAS 0.3.30/0.3.31,
    AVX-512): the same for sleepstudy's 36 x 39, different for some shapes (e.g. 2 x 2 blocks with
    q = 80 or 100, 3 x 3 blocks with q = 30)."""
    Q = G.shape[0]
    k = np.arange(int(lt_theta.max()) + 1 if lt_theta.size else 0)
    theta = (1.0 + (k * 0.7548776662466927) % 1.0) * np.where(k % 2 == 0, 1.0, -1.0)
    Lt = np.zeros((q, q))
    Lt.ravel()[lt_flat] = theta[lt_theta]
    B = Lt @ G[:q]
    ref = np.empty((q, Q))
    np.matmul(Lt, B[:, :q].T, out=ref[:, :q])
    M = np.empty((Q, Q))
    _sparse_products(theta, M, q, G, lt_theta, lt_indptr, lt_indices)
    ref[:, q:] = B[:, q:]
    return bool(np.array_equal(M[:q], ref))


def pack(G: np.ndarray, H: np.ndarray | None, XZ: np.ndarray, q: int, lt_flat: np.ndarray, lt_theta: np.ndarray,
         lt_indptr: np.ndarray, lt_indices: np.ndarray, lam_diag: np.ndarray | None, y: np.ndarray,
         offset: np.ndarray, sqrtw: np.ndarray, has_offset: bool, weighted: bool,
         sparse: bool = True) -> KernelData:
    """The constants of :func:`dense_deviance` in two flat arrays: ``fdata`` = ``[G | H | XZ | y | offset
    | sqrtw]`` (``H`` only with a diagonal Lambda), ``idata`` = ``[Q, q, p, n, nnz(Lambdat),
    diagonal, has offset, weighted, 0, sparse, 0 | lt_flat | lt_theta | lt_indptr | lt_indices |
    lam_diag]`` (``Lambdat``'s entries in CSR order).  ``sparse``: a non-diagonal Lambda is applied over
    its stored entries (FMA chains) when ``G`` is finite and :func:`sparse_products_match` (the same bits
    as the Python path's products on this machine), else by two ``dgemm`` (False: always ``dgemm``)."""
    Q = G.shape[0]
    n, pq = XZ.shape
    diagonal = H is not None and lam_diag is not None
    fdata = np.concatenate([G.ravel(), H.ravel() if diagonal and H is not None else np.zeros(0), XZ.ravel(),
                            y, offset, sqrtw]).astype(np.float64)
    # (0 * inf: dgemm's NaN where the stored entries see none)
    sparse = sparse and not diagonal and bool(np.isfinite(G).all()) and sparse_products_match(
        G, q, lt_flat, lt_theta, lt_indptr, lt_indices)
    head = [Q, q, pq - q, n, lt_flat.size, int(diagonal), int(has_offset), int(weighted), 0, int(sparse), 0]
    assert len(head) == _NI
    idata = np.concatenate([np.array(head, dtype=np.int64), lt_flat, lt_theta, lt_indptr, lt_indices,
                            lam_diag if diagonal and lam_diag is not None else np.zeros(0, np.int64)]).astype(np.int64)
    return KernelData(Q=Q, q=q, n=n, fdata=fdata, idata=idata)


__all__ = ["dense_deviance", "KernelData", "pack", "OK", "PIVOT_FAILED"]
