"""Blocked lower Cholesky factor of ``Omega(theta)`` over precomputed Gram blocks: the general path
of :mod:`pyreterms.lmm.deviance`, as ONE loop (:func:`update_L`) beside the paper's equations.

R equivalent: ``merPredD::updateDecomp`` (CHOLMOD ``L`` of ``Lambda^T Z^T W Z Lambda + I``, then
``RZX`` and ``RX``), lme4 1.1-31 ``src/predModule.cpp``; here in MixedModels.jl's form (``updateL!``,
``src/linearmixedmodel.jl``): the JSS paper's (Bates et al. 2015) eq. 18 with ``[X y]`` appended as a
last block, so the factor also holds ``R_ZX^T``, ``c_u^T``, ``R_X^T`` and ``r_yy`` (eq. 49-50).

The special cases live behind one small protocol, :class:`DiagonalFactor` (a factored diagonal block:
``rdiv``, ``solve_t``, ``logdet2``, ``sparse``): block 0 is diagonal (``nc0 == 1``, a vector) or
block diagonal (``nl0`` blocks ``nc0 x nc0``); later term blocks and ``[X y]`` are dense (LAPACK
``dpotrf``; the ``[X y]`` block also handles ``r_yy = 0``).  Below the diagonal, ``L[j][0]`` is
block-sparse (the pattern of ``Z_j^T W Z_0``), the rest dense.  The fill-in of a crossed design,
``L_j0 L_k0^T``, comes precomputed from :mod:`pyreterms.lmm.rankupdate` (:meth:`_Omega.outer`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from scipy.linalg import solve_triangular
from scipy.linalg.lapack import dpotrf

from pyreterms.lmm.gram import GramBlocks
from pyreterms.lmm.layout import TermLayout


class DowndateError(ArithmeticError):
    """lme4: ``Downdated VtV is not positive definite`` (RX Cholesky failed)."""


def update_L(gram: GramBlocks, Ts: list[np.ndarray]) -> BlockedFactor:
    """The blocked Cholesky factor of ``Omega(theta)`` (MixedModels.jl ``updateL!``). Blocks
    ``0..K-1`` are the terms, block ``K`` is ``[X y]`` (``Lambda_K = I``, no ``+ I``)::

        for j = 0..K:
            L_jj = chol(Lambda_j' A_jj Lambda_j + I - sum_{m<j} L_jm L_jm')          eq. 18, diagonal
            for i = j+1..K:
                L_ij = (Lambda_i' A_ij Lambda_j - sum_{m<j} L_im L_jm') L_jj^{-T}    eq. 18, below it

    so that ``L_KK = [R_X', 0; c_beta', r_yy]`` (eq. 49-50) and ``r_yy^2`` is the pwrss (eq. 35)."""
    om = _Omega(gram, Ts)
    K = len(gram.terms)
    diag: list[DiagonalFactor] = []
    low: list[list[Any]] = [[None] * i for i in range(K + 1)]  # low[i][j], j < i
    for j in range(K + 1):
        M = om.inflated(j)
        for m in range(j):
            M -= om.outer(low, j, j, m)
        Ljj = om.cholesky(j, M)
        diag.append(Ljj)
        for i in range(j + 1, K + 1):
            N = om.scaled(i, j)
            for m in range(j):
                N -= om.outer(low, i, j, m)
            low[i][j] = Ljj.rdiv(N)
    return BlockedFactor(diag=diag, low=low)



class DiagonalFactor(Protocol):
    """A factored diagonal block ``L_jj`` (lower triangular)."""

    def rdiv(self, B: Any) -> Any:
        """``B L_jj^{-T}`` (B dense, or sparse CSR/BSR for the column below block 0)."""

    def solve_t(self, v: np.ndarray) -> np.ndarray:
        """``L_jj^{-T} v``."""

    def logdet2(self) -> float:
        """``2 log det L_jj`` (the block's share of ``ldL2``)."""

    def sparse(self) -> sp.spmatrix:
        """``L_jj`` as a sparse matrix."""


@dataclass(eq=False)
class ScalarDiagonal:
    """Block 0 of a scalar term: ``L_00 = diag(d)``, ``d = sqrt(a0 s^2 + 1)``."""

    d: np.ndarray

    def rdiv(self, B: Any) -> Any:
        if sp.issparse(B):
            B = sp.csr_matrix(B)
            return sp.csr_matrix((B.data / self.d[B.indices], B.indices, B.indptr), shape=B.shape)
        return B / self.d[None, :]

    def solve_t(self, v: np.ndarray) -> np.ndarray:
        return v / self.d

    def logdet2(self) -> float:
        return 2.0 * float(np.sum(np.log(self.d)))

    def sparse(self) -> sp.spmatrix:
        return sp.diags(self.d)


@dataclass(eq=False)
class BlockDiagonal:
    """Block 0 of a vector-valued term: ``nl`` lower ``nc x nc`` blocks, ``L`` of shape (nl, nc, nc)."""

    L: np.ndarray

    def rdiv(self, B: Any) -> Any:
        nl, nc, _ = self.L.shape
        LinvT = np.swapaxes(np.linalg.inv(self.L), 1, 2)  # per level L_l^{-T}
        if sp.issparse(B):
            Bb = B if isinstance(B, sp.bsr_matrix) else sp.bsr_matrix(B, blocksize=(1, nc))
            data = Bb.data @ LinvT[Bb.indices]
            return sp.bsr_matrix((data, Bb.indices, Bb.indptr), shape=Bb.shape).tocsr()
        r = B.shape[0]
        return np.einsum("rla,lab->rlb", B.reshape(r, nl, nc), LinvT).reshape(r, nl * nc)

    def solve_t(self, v: np.ndarray) -> np.ndarray:
        nl, nc, _ = self.L.shape
        return np.linalg.solve(np.swapaxes(self.L, 1, 2), v.reshape(nl, nc, 1)).reshape(-1)

    def logdet2(self) -> float:
        return 2.0 * float(np.sum(np.log(np.diagonal(self.L, axis1=1, axis2=2))))

    def sparse(self) -> sp.spmatrix:
        nl, nc, _ = self.L.shape
        return sp.bsr_matrix((self.L, np.arange(nl), np.arange(nl + 1)), shape=(nl * nc, nl * nc))


@dataclass(eq=False)
class DenseLower:
    """A dense diagonal block: ``L`` lower triangular (the F-ordered view LAPACK wrote)."""

    L: np.ndarray

    def rdiv(self, B: Any) -> Any:
        return solve_triangular(self.L, B.T, lower=True, check_finite=False).T

    def solve_t(self, v: np.ndarray) -> np.ndarray:
        return solve_triangular(self.L, v, lower=True, trans="T", check_finite=False)

    def logdet2(self) -> float:
        return 2.0 * float(np.sum(np.log(np.diag(self.L))))

    def sparse(self) -> sp.spmatrix:
        return sp.csr_matrix(self.L)


def _chol(M: np.ndarray) -> tuple[np.ndarray, int]:
    """LAPACK dpotrf of a symmetric C-ordered matrix (its upper triangle read) without copying: its
    transpose is the F-ordered lower triangle."""
    c, info = dpotrf(M.T, lower=1, clean=1, overwrite_a=1)
    return c, info


def _lam_both(A: np.ndarray, Tj: np.ndarray, tj: TermLayout, Tk: np.ndarray, tk: TermLayout) -> np.ndarray:
    """``Lambda_j^T A Lambda_k`` for a dense block A (q_j x q_k)."""
    if tj.nc == 1 and tk.nc == 1:
        return A * (Tj[0, 0] * Tk[0, 0])
    M = np.einsum("ba,ibkc,cd->iakd", Tj, A.reshape(tj.nl, tj.nc, tk.nl, tk.nc), Tk)
    return M.reshape(tj.q, tk.q)


def _lam_right(A: np.ndarray, Tk: np.ndarray, tk: TermLayout) -> np.ndarray:
    """``A Lambda_k`` for a dense block A (r x q_k)."""
    if tk.nc == 1:
        return A * Tk[0, 0]
    return (A.reshape(A.shape[0], tk.nl, tk.nc) @ Tk).reshape(A.shape[0], tk.q)


def _dense(B: Any) -> np.ndarray:
    return B.toarray() if sp.issparse(B) else np.asarray(B)


class _Omega:
    """The blocks of ``Omega(theta)`` that :func:`update_L` reads: ``Lambda_i' A_ij Lambda_j`` from the
    Gram blocks, the products ``L_im L_jm'`` and the factorization of a diagonal block by kind."""

    def __init__(self, gram: GramBlocks, Ts: list[np.ndarray]) -> None:
        self.gram, self.Ts, self.terms, self.K = gram, Ts, gram.terms, len(gram.terms)

    def inflated(self, j: int) -> Any:
        """``Lambda_j' A_jj Lambda_j + I`` (a vector for a scalar block 0, (nl, nc, nc) for a vector
        block 0, else dense C-ordered; ``[X y]``: ``A_KK``)."""
        if j == self.K:
            return self.gram.xx.copy()
        t, T, A = self.terms[j], self.Ts[j], self.gram.diag[j]
        if j == 0:
            if t.nc == 1:
                s = T[0, 0]
                return A[:, 0, 0] * (s * s) + 1.0
            return T.T @ A @ T + np.eye(t.nc)
        M = np.zeros((t.q, t.q))
        idx = np.arange(t.q).reshape(t.nl, t.nc)
        M[idx[:, :, None], idx[:, None, :]] = T.T @ A @ T
        M[np.diag_indices(t.q)] += 1.0
        return M

    def cholesky(self, j: int, M: Any) -> DiagonalFactor:
        if j == 0 and self.terms[0].nc == 1:
            return ScalarDiagonal(np.sqrt(M))
        if j == 0:
            return BlockDiagonal(np.linalg.cholesky(M))
        if j == self.K:
            return DenseLower(_chol_xy(M))
        L, info = _chol(M)
        if info != 0:
            raise np.linalg.LinAlgError(f"Cholesky of term block {j} failed (info {info})")
        return DenseLower(L)

    def scaled(self, i: int, j: int) -> Any:
        """``Lambda_i' A_ij Lambda_j`` for i > j (sparse below block 0; ``Lambda_K = I``)."""
        Tj, tj = self.Ts[j], self.terms[j]
        if i == self.K:
            return _lam_right(self.gram.xz[j], Tj, tj)
        Ti, ti = self.Ts[i], self.terms[i]
        if j > 0:
            return _lam_both(self.gram.dense[(i, j)], Ti, ti, Tj, tj)
        Bm = self.gram.col0[i]
        if ti.nc == 1 and tj.nc == 1:
            return sp.csr_matrix((Bm.data[:, 0, 0] * (Ti[0, 0] * Tj[0, 0]), Bm.indices, Bm.indptr), shape=Bm.shape)
        return sp.bsr_matrix((Ti.T @ Bm.data @ Tj, Bm.indices, Bm.indptr), shape=Bm.shape)

    def outer(self, low: list[list[Any]], i: int, j: int, m: int) -> np.ndarray:
        """``L_im L_jm'`` dense; for two terms and m = 0 the precomputed rank update (the fill-in;
        only the upper triangle is valid when i == j and both are scalar)."""
        U = self.gram.rank_updates.get((i, j)) if m == 0 and i < self.K else None
        if U is None:
            return _dense(low[i][m] @ low[j][m].T)
        ti, tj = self.terms[i], self.terms[j]
        P = U.product(float(self.Ts[0][0, 0]))
        if ti.nc == 1 and tj.nc == 1:
            P *= self.Ts[i][0, 0] * self.Ts[j][0, 0]
            return P
        return _lam_both(P, self.Ts[i], ti, self.Ts[j], tj)


def _chol_xy(M: np.ndarray) -> np.ndarray:
    """The ``[X y]`` block: ``[R_X', 0; c_beta', r_yy]``; ``r_yy = 0`` when only that pivot fails (an
    exact fit), lme4's ``DowndateError`` when R_X's does."""
    p1 = M.shape[0]
    L, info = _chol(M.copy())  # dpotrf overwrites its argument: M is read again below
    if info == 0:
        return L
    if 0 < info < p1:
        raise DowndateError("Downdated VtV is not positive definite")
    p = p1 - 1
    L = np.zeros((p1, p1))
    if p:
        RXt, info2 = _chol(np.ascontiguousarray(M[:p, :p]))
        if info2 != 0:
            raise DowndateError("Downdated VtV is not positive definite")
        L[:p, :p] = RXt
        L[p, :p] = solve_triangular(RXt, M[:p, p], lower=True)
    return L


@dataclass(eq=False)
class BlockedFactor:
    """The factor :func:`update_L` returns: ``diag[j]`` the factored diagonal blocks (terms, then
    ``[X y]``), ``low[i][j]`` (j < i) the blocks below them; ``low[K]`` = ``[R_ZX'; c_u']`` per term."""

    diag: list[DiagonalFactor]
    low: list[list[Any]]

    @property
    def LKK(self) -> np.ndarray:
        L = self.diag[-1]
        assert isinstance(L, DenseLower)
        return L.L

    @property
    def ldL2(self) -> float:
        return float(sum(D.logdet2() for D in self.diag[:-1]))

    @property
    def ldRX2(self) -> float:
        return 2.0 * float(np.sum(np.log(np.abs(np.diag(self.LKK)[:-1]))))

    @property
    def p(self) -> int:
        return self.LKK.shape[0] - 1

    @property
    def ryy(self) -> float:
        return float(self.LKK[-1, -1])

    @property
    def RX(self) -> np.ndarray:
        return np.ascontiguousarray(self.LKK[:-1, :-1].T)

    @property
    def cbeta(self) -> np.ndarray:
        return self.LKK[-1, :-1].copy()

    @property
    def cu(self) -> list[np.ndarray]:
        return [B[-1].copy() for B in self.low[-1]]

    @property
    def rzx(self) -> list[np.ndarray]:
        return [B[:-1] for B in self.low[-1]]

    def back_solve(self, terms: tuple[TermLayout, ...], rhs: list[np.ndarray]) -> list[np.ndarray]:
        """Solve ``L' u = rhs`` over the term blocks (paper eq. 53, natural order)."""
        K = len(terms)
        u: list[np.ndarray] = [np.empty(0)] * K  # every entry is set below (k = K-1 .. 0)
        for k in reversed(range(K)):
            v = np.array(rhs[k], dtype=np.float64)
            for j in range(k + 1, K):
                v -= self.low[j][k].T @ u[j]
            u[k] = self.diag[k].solve_t(v)
        return u

    def sparse_L(self, terms: tuple[TermLayout, ...]) -> sp.csc_matrix:
        """The term part of the factor as one sparse lower-triangular q x q matrix."""
        K = len(terms)
        grid: list[list[Any]] = [[None] * K for _ in range(K)]
        for k in range(K):
            grid[k][k] = self.diag[k].sparse()
            for j in range(k):
                grid[k][j] = sp.csr_matrix(self.low[k][j])
        return sp.bmat(grid, format="csc")


__all__ = ["BlockedFactor", "DiagonalFactor", "ScalarDiagonal", "BlockDiagonal", "DenseLower", "update_L",
           "DowndateError"]
