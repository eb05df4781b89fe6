"""The whole-matrix dense path of the deviance: ``Omega(theta)`` as one dense symmetric matrix,
factored by one LAPACK ``dpotrf`` per evaluation.

R equivalent: the same numbers as ``merPredD::updateDecomp`` + ``solve`` (lme4 1.1-31,
``src/predModule.cpp``) -- JSS paper eq. 18 with ``[X y]`` appended as the last block row -- computed
the way MixedModels.jl does for small models: the Gram matrix ``G = [Z X y]^T W [Z X y]`` is formed
once; an evaluation is

    Omega = [Lambda^T G_ZZ Lambda + I,  Lambda^T G_Z[Xy];  .,  G_[Xy][Xy]]   (two sparse x dense products)
    L L^T = Omega                                                          (one dpotrf, order q + p + 1)

The lower factor holds ``L_theta``, ``R_ZX^T``/``c_u^T`` and ``R_X^T``/``r_yy`` (eq. 49-50), so the PLS
solution (eq. 51-53: beta, u) is one triangular solve.  Used when ``q + p + 1`` is small and the
blocked path (:mod:`pyreterms.lmm.cholesky`) would spend its time on per-block overheads (many terms,
vector-valued terms): cost ``(q + p + 1)^3 / 3`` flops and no Python loop over terms or levels.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import isfinite

import numpy as np
import scipy.sparse as sp

from pyreterms.lmm.gram import GramBlocks
from pyreterms.lmm.oneshot import OneShotSolution, factor_solve, sparse_if_mostly_zero

#: largest order ``q + p + 1`` for which the dense path is considered at all (memory ``Q^2`` doubles)
DENSE_MAX = 1500
#: up to this q, ``Lambdat`` is applied as a dense q x q array (BLAS; no sparse-matrix construction,
#: whose fixed cost dominates small models)
DENSE_LAMBDA_MAX = 120
#: up to this many entries, ``[X Z]`` is kept dense for ``mu`` (one BLAS product instead of two, one
#: of them sparse with its fixed scipy overhead)
DENSE_XZ_MAX = 200_000


@dataclass(frozen=True, eq=False)
class DensePlan:
    """Theta-independent part of the dense path.  ``q0 = 0`` and ``qr = q``: the same layout as
    :class:`pyreterms.lmm.scalar.ScalarPlan` with no block eliminated in closed form, so
    :class:`~pyreterms.lmm.deviance.LmerProblem` reads both solutions the same way."""

    q0: int
    qr: int
    Q: int
    p1: int
    G: np.ndarray  # Q x Q, [Z X y-o]^T W [Z X y-o] (C-ordered, symmetric)
    lt_indices: np.ndarray  # Lambdat as CSR: column indices, row pointers, theta index per entry
    lt_indptr: np.ndarray
    lt_theta: np.ndarray
    ZtT: sp.csr_matrix | None  # n x q, for Z b (None when XZ is set)
    X_sparse: sp.csc_matrix | None
    lt_flat: np.ndarray | None  # q <= DENSE_LAMBDA_MAX: row-major flat positions of the CSR entries
    XZ: np.ndarray | None  # small n (q + p): [X Z] dense, mu = [X Z] [beta; b] in one product
    lam_diag: np.ndarray | None = None  # Lambda diagonal (all terms scalar), G finite: per row of Omega its
    # theta index (ntheta for the [X y] rows: the 1.0 appended to theta)
    H: np.ndarray | None = None  # with lam_diag: G with its ZZ block transposed (see _pls_diagonal)
    LK0: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (p+1) x 0 (no block 0), shared

    def lambdat(self, theta: np.ndarray) -> sp.csr_matrix | np.ndarray:
        """``Lambdat`` at theta, sparse or (small q) dense; a fresh array: evaluations may run on
        several threads."""
        if self.lt_flat is not None:
            Lt = np.zeros((self.qr, self.qr))
            Lt.ravel()[self.lt_flat] = theta[self.lt_theta]
            return Lt
        return sp.csr_matrix((theta[self.lt_theta], self.lt_indices, self.lt_indptr), shape=(self.qr, self.qr))

    def pls(self, theta: np.ndarray, M: np.ndarray) -> OneShotSolution | None:
        """Factor Omega(theta) into the C-ordered ``Q x Q`` buffer ``M`` (upper triangle = the lower
        factor in Fortran order) and solve for beta, u, b.  None when a pivot fails (the caller's
        blocked path then raises lme4's error or handles ``r_yy = 0``)."""
        q, Q = self.qr, self.Q
        if self.lam_diag is not None:
            lam1 = np.append(theta, 1.0)[self.lam_diag]  # [diag(Lambda); 1 (p + 1 times)]
            if isfinite(lam1 @ lam1):  # (one call: overflow only sends it to the general products)
                return self._pls_diagonal(lam1, M)
        # (the products as written: the same numbers as ``blockdiag(Lambda^T, I) G blockdiag(Lambda, I)``
        # in exact arithmetic, but that one product rounds differently and moves BOBYQA off lme4's path)
        Lt = self.lambdat(theta)
        B = Lt @ self.G[:q]  # Lambda^T [G_ZZ  G_Z[Xy]]
        if isinstance(Lt, np.ndarray):
            np.matmul(Lt, B[:, :q].T, out=M[:q, :q])  # Lambda^T G_ZZ Lambda (symmetric), no temporary
        else:
            M[:q, :q] = Lt @ B[:, :q].T
        M[:q, q:] = B[:, q:]
        M[q:, q:] = self.G[q:, q:]
        M.reshape(-1)[:q * (Q + 1):Q + 1] += 1.0
        done = factor_solve(M, q)
        if done is None or not done[0][-1, -1] > 0.0:  # a NaN r_yy passes OpenBLAS's pivot test
            return None
        c, ldL2, ldRX2, u, beta = done
        b = Lt.T @ u  # b = Lambda u
        return OneShotSolution(L=c, LK0=self.LK0, beta=beta, u=u, b=b, ldL2=ldL2, ldRX2=ldRX2)

    def _pls_diagonal(self, lam1: np.ndarray, M: np.ndarray) -> OneShotSolution | None:
        """:meth:`pls` for a diagonal Lambda (every term scalar) with finite entries: the two products
        become one row and one column scaling of ``H`` (``lam1 = [diag(Lambda); 1]``).  Bit-identical to
        the BLAS products of :meth:`pls`: each entry of ``Lt @ G`` is then one product plus exact zeros
        (``0 * x`` with x finite: G is checked at build, lam1 here), and ``H`` holds, in the triangle
        LAPACK reads, the operand each entry of :meth:`pls` multiplies in the same order
        (``lam_i * (G[j, i] * lam_j)``, ``G[i, j] * lam_i``, ``G[i, j]``), so a fit stays on lme4's optimizer
        path; it saves the O(q^3) flops and most calls that dominate small scalar models (Penicillin,
        Pastes)."""
        q, Q = self.qr, self.Q
        assert self.H is not None
        np.multiply(self.H, lam1, out=M)  # column j scaled by lam1_j
        M *= lam1[:, None]  # row i by lam1_i
        M.reshape(-1)[:q * (Q + 1):Q + 1] += 1.0
        lam = lam1[:q]
        done = factor_solve(M, q)
        if done is None or not done[0][-1, -1] > 0.0:  # a NaN r_yy passes OpenBLAS's pivot test
            return None
        c, ldL2, ldRX2, u, beta = done
        return OneShotSolution(L=c, LK0=self.LK0, beta=beta, u=u, b=lam * u, ldL2=ldL2, ldRX2=ldRX2)


def dense_cost_ok(gram: GramBlocks) -> bool:
    """Whether the dense path beats the blocked one (rough model, seconds per evaluation: a dense
    ``dpotrf`` of order Q at ~20 GFlop/s against the blocked path's dense part plus ~50 us of Python
    and scipy overhead per pair of terms)."""
    terms = gram.terms
    Q = gram.q + gram.p + 1
    if Q > DENSE_MAX:
        return False
    K = len(terms)
    rest = Q - terms[0].q
    dense = Q ** 3 / 6e10 + 1e-4
    blocked = rest ** 3 / 6e10 + 5e-5 * K * (K + 1) / 2 + 2e-4
    return dense <= blocked


def build_dense_plan(xz: np.ndarray, xx: np.ndarray, X: np.ndarray, Zt: sp.csr_matrix, w: np.ndarray,
                     Lambdat: sp.csc_matrix, Lind: np.ndarray) -> DensePlan:
    """The :class:`DensePlan` of a model from ``[X y]^T W Z`` and ``[X y]^T W [X y]``
    (:func:`pyreterms.lmm.gram.gram_xy`), adding ``Z^T W Z``: O(nnz(Z) q)."""
    q, p = Zt.shape[0], xx.shape[0] - 1
    Q = q + p + 1
    Zw = Zt.multiply(w[None, :]).tocsr() if not np.all(w == 1.0) else Zt
    G = np.empty((Q, Q))
    G[:q, :q] = (Zw @ Zt.T).toarray()
    G[q:, :q] = xz  # [X y]^T W Z and [X y]^T W [X y]
    G[:q, q:] = G[q:, :q].T
    G[q:, q:] = xx
    # Lambdat as CSR with the theta index of each entry (Lind follows Lambdat's stored CSC order)
    Lc = Lambdat
    rows = Lc.indices.astype(np.int64)
    cols = np.repeat(np.arange(q, dtype=np.int64), np.diff(Lc.indptr))
    order = np.lexsort((cols, rows))  # CSR order: by row, then column
    lt_indptr = np.zeros(q + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=q), out=lt_indptr[1:])
    small = q <= DENSE_LAMBDA_MAX
    n = X.shape[0]
    XZ = np.ascontiguousarray(np.hstack([X, Zt.toarray().T])) if n * (p + q) <= DENSE_XZ_MAX else None
    # ZtT and X_sparse only serve mu when XZ does not (sparse constructors cost small models more than
    # their evaluations)
    lt_theta = np.asarray(Lind, dtype=np.int64)[order]
    ar = np.arange(q)
    diagonal = rows.size == q and bool(np.all(rows[order] == ar)) and bool(np.all(cols[order] == ar))
    diagonal = diagonal and bool(np.isfinite(G).all())
    H = None
    if diagonal:
        H = G.copy()
        H[:q, :q] = G[:q, :q].T
        # theta index per row of Omega; the [X y] rows read the 1.0 appended after theta
        ntheta = int(lt_theta.max()) + 1 if lt_theta.size else 0
        lam_rows = np.concatenate([lt_theta, np.full(p + 1, ntheta, dtype=np.int64)])
    return DensePlan(q0=0, qr=q, Q=Q, p1=p + 1, G=np.ascontiguousarray(G), lt_indices=cols[order].astype(np.int32),
                     lt_indptr=lt_indptr, lt_theta=lt_theta,
                     lt_flat=(rows * q + cols)[order] if small else None,
                     ZtT=sp.csr_matrix(Zt.T) if XZ is None else None,
                     X_sparse=sparse_if_mostly_zero(X) if XZ is None else None, XZ=XZ,
                     lam_diag=lam_rows if diagonal else None, H=H,
                     LK0=np.zeros((p + 1, 0)))


__all__ = ["DensePlan", "build_dense_plan", "dense_cost_ok", "DENSE_MAX"]
