"""Blocked lower Cholesky factor of ``Omega(theta)`` over precomputed Gram blocks (the numerical
general path of :mod:`pyreterms.lmm.deviance`), specialised by block type.

R equivalent: ``merPredD::updateDecomp`` (CHOLMOD ``L`` of ``Lambda^T Z^T W Z Lambda + I``, then
``RZX`` and ``RX``), lme4 1.1-31 ``src/predModule.cpp``; here in MixedModels.jl's form (``updateL!``):
the JSS paper's eq. 18 with ``[X y]`` appended as a last block row, so the factor also holds
``R_ZX^T``, ``c_u^T``, ``R_X^T`` and ``r_yy`` (eq. 49-50).

Block types: term 0 is diagonal (nc0 == 1, a vector) or block diagonal (``nl0`` blocks ``nc0 x nc0``);
``L[j, 0]`` is block-sparse (the pattern of ``Z_j^T W Z_0``); later term blocks and the ``[X y]``
rows are dense (LAPACK ``dpotrf``/``dtrsm``).  The fill-in of a crossed design comes from the rank
update ``L_j0 L_k0^T``, precomputed in :mod:`pyreterms.lmm.rankupdate`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.linalg import solve_triangular
from scipy.linalg.lapack import dpotrf

from pyreterms.lmm.gram import GramBlocks
from pyreterms.lmm.layout import TermLayout


class DowndateError(ArithmeticError):
    """lme4: ``Downdated VtV is not positive definite`` (RX Cholesky failed)."""


def _chol(M: np.ndarray) -> tuple[np.ndarray, int]:
    """LAPACK dpotrf on a symmetric C-ordered matrix without copying (its transpose is F-ordered)."""
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


@dataclass(eq=False)
class BlockedFactor:
    """Blocked lower Cholesky factor of Omega(theta) = [Lambda'Z'WZLambda + I, .; [X y]'WZLambda, [X y]'W[X y]].

    ``L0`` block 0 (vector if nc0 == 1 else (nl0, nc0, nc0)); ``Ld[k]`` dense diagonal blocks k >= 1;
    ``Loff[(j, k)]`` term-term blocks (sparse CSR for k == 0); ``LK[k]`` the [X y] rows
    (= [R_ZX^T; c_u^T], paper eq. 49-50); ``LKK`` the last diagonal block ([R_X^T, 0; c_beta^T, r_yy]).
    """

    L0: np.ndarray
    Ld: list[np.ndarray | None]  # index 0: None (block 0 is L0)
    Loff: dict[tuple[int, int], Any]  # sparse CSR for k == 0, else dense
    LK: list[np.ndarray]
    LKK: np.ndarray
    ldL2: float
    ldRX2: float

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
        return [B[-1].copy() for B in self.LK]

    @property
    def rzx(self) -> list[np.ndarray]:
        return [B[:-1] for B in self.LK]

    def back_solve(self, terms: tuple[TermLayout, ...], rhs: list[np.ndarray]) -> list[np.ndarray]:
        """Solve ``L^T u = rhs`` over the term blocks (paper eq. 53, natural order)."""
        K = len(terms)
        u: list[np.ndarray] = [np.empty(0)] * K  # every entry is set below (k = K-1 .. 0)
        for k in reversed(range(K)):
            v = np.array(rhs[k], dtype=np.float64)
            for j in range(k + 1, K):
                v -= self.Loff[(j, k)].T @ u[j]
            t = terms[k]
            if k > 0:
                u[k] = solve_triangular(self.Ld[k], v, lower=True, trans="T", check_finite=False)
            elif t.nc == 1:
                u[k] = v / self.L0
            else:
                x = np.linalg.solve(np.swapaxes(self.L0, 1, 2), v.reshape(t.nl, t.nc, 1))
                u[k] = x.reshape(-1)
        return u

    def sparse_L(self, terms: tuple[TermLayout, ...]) -> sp.csc_matrix:
        """The term part of the factor as one sparse lower-triangular q x q matrix."""
        K = len(terms)
        t0 = terms[0]
        if t0.nc == 1:
            B0 = sp.diags(self.L0)
        else:
            B0 = sp.bsr_matrix((self.L0, np.arange(t0.nl), np.arange(t0.nl + 1)), shape=(t0.q, t0.q))
        grid = [[None] * K for _ in range(K)]
        grid[0][0] = B0
        for k in range(1, K):
            grid[k][k] = sp.csr_matrix(self.Ld[k])
            for j in range(k):
                grid[k][j] = sp.csr_matrix(self.Loff[(k, j)])
        return sp.bmat(grid, format="csc")


def _col0_prod(gram: GramBlocks, Loff: dict[tuple[int, int], Any], Ts: list[np.ndarray], j: int, k: int) -> np.ndarray:
    """Dense ``L_j0 L_k0^T`` (only the upper triangle is valid when j == k and nc_j == 1)."""
    U = gram.rank_updates.get((j, k))
    if U is None:
        return (Loff[(j, 0)] @ Loff[(k, 0)].T).toarray()
    tj, tk = gram.terms[j], gram.terms[k]
    P = U.product(float(Ts[0][0, 0]))
    if tj.nc == 1 and tk.nc == 1:
        P *= Ts[j][0, 0] * Ts[k][0, 0]
        return P
    return _lam_both(P, Ts[j], tj, Ts[k], tk)


def factorize(gram: GramBlocks, Ts: list[np.ndarray]) -> BlockedFactor:
    """Blocked Cholesky of Omega(theta) (paper eq. 18; MixedModels.jl ``updateL!``)."""
    terms = gram.terms
    K = len(terms)
    t0, T0 = terms[0], Ts[0]
    A0 = gram.diag[0]
    if t0.nc == 1:
        s = T0[0, 0]
        L0 = np.sqrt(A0[:, 0, 0] * (s * s) + 1.0)
        ld = 2.0 * float(np.sum(np.log(L0)))
        R0 = s / L0  # Lambda_0 L_00^{-T}
    else:
        L0 = np.linalg.cholesky(T0.T @ A0 @ T0 + np.eye(t0.nc))
        ld = 2.0 * float(np.sum(np.log(np.diagonal(L0, axis1=1, axis2=2))))
        R0 = np.swapaxes(np.linalg.solve(L0, np.broadcast_to(T0.T, L0.shape)), 1, 2)
    Loff: dict[tuple[int, int], Any] = {}
    for j in range(1, K):
        Bm, tj, Tj = gram.col0[j], terms[j], Ts[j]
        if tj.nc == 1 and t0.nc == 1:
            data = Bm.data[:, 0, 0] * (Tj[0, 0] * R0[Bm.indices])
            Loff[(j, 0)] = sp.csr_matrix((data, Bm.indices, Bm.indptr), shape=Bm.shape)
        else:
            R0b = R0[Bm.indices] if t0.nc > 1 else R0[Bm.indices][:, None, None]
            data = Tj.T @ Bm.data @ R0b
            Loff[(j, 0)] = sp.bsr_matrix((data, Bm.indices, Bm.indptr), shape=Bm.shape).tocsr()
    Axz = gram.xz[0]
    p1 = Axz.shape[0]
    if t0.nc == 1:
        LK = [Axz * R0[None, :]]
    else:
        LK = [np.einsum("rla,lab->rlb", Axz.reshape(p1, t0.nl, t0.nc), R0).reshape(p1, t0.q)]
    Ld: list[np.ndarray | None] = [None] * K
    for k in range(1, K):
        tk, Tk = terms[k], Ts[k]
        D = Tk.T @ gram.diag[k] @ Tk
        idx = np.arange(tk.q).reshape(tk.nl, tk.nc)
        M = -_col0_prod(gram, Loff, Ts, k, k)
        M[idx[:, :, None], idx[:, None, :]] += D
        M[np.diag_indices(tk.q)] += 1.0
        for m in range(1, k):
            M -= Loff[(k, m)] @ Loff[(k, m)].T
        Lkk, info = _chol(M)
        if info != 0:
            raise np.linalg.LinAlgError(f"Cholesky of term block {k} failed (info {info})")
        ld += 2.0 * float(np.sum(np.log(np.diag(Lkk))))
        Ld[k] = Lkk
        for j in range(k + 1, K):
            N = _lam_both(gram.dense[(j, k)], Ts[j], terms[j], Tk, tk)
            N -= _col0_prod(gram, Loff, Ts, j, k)
            for m in range(1, k):
                N -= Loff[(j, m)] @ Loff[(k, m)].T
            Loff[(j, k)] = solve_triangular(Lkk, N.T, lower=True, check_finite=False).T
        N = _lam_right(gram.xz[k], Tk, tk)
        N = N - (Loff[(k, 0)] @ LK[0].T).T
        for m in range(1, k):
            N -= LK[m] @ Loff[(k, m)].T
        LK.append(solve_triangular(Lkk, N.T, lower=True, check_finite=False).T)
    MKK = gram.xx - sum(B @ B.T for B in LK)
    LKK, info = _chol(MKK.copy())  # dpotrf overwrites its argument: MKK is read again below
    if info != 0:
        if 0 < info < p1:
            raise DowndateError("Downdated VtV is not positive definite")
        # only r_yy^2 <= 0 (exact fit): keep R_X, set r_yy = 0
        p = p1 - 1
        LKK = np.zeros((p1, p1))
        if p:
            RXt, info2 = _chol(np.ascontiguousarray(MKK[:p, :p]))
            if info2 != 0:
                raise DowndateError("Downdated VtV is not positive definite")
            LKK[:p, :p] = RXt
            LKK[p, :p] = solve_triangular(RXt, MKK[:p, p], lower=True)
    ldRX2 = 2.0 * float(np.sum(np.log(np.abs(np.diag(LKK)[:-1]))))
    return BlockedFactor(L0=L0, Ld=Ld, Loff=Loff, LK=LK, LKK=LKK, ldL2=ld, ldRX2=ldRX2)


__all__ = ["BlockedFactor", "factorize", "DowndateError"]
