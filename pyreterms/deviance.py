"""The profiled deviance of a linear mixed model and its PLS solution at a given theta.

R equivalent: the closure returned by ``lme4::mkLmerDevfun`` (``lmer(..., devFunOnly = TRUE)``),
i.e. ``lmer_Deviance`` -> ``merPredD::updateXwts/updateDecomp/solve`` + ``lmerResp::Laplace``
(lme4 1.1-31, ``src/external.cpp``, ``src/predModule.cpp``, ``src/respModule.cpp``).

Instead of CHOLMOD on ``Lambda^T Z^T W Z Lambda + I`` we factor, MixedModels.jl style, the blocked
matrix ``Omega(theta)`` built from the Gram blocks of ``[Z_1 .. Z_K  X  y-o]`` (weighted), which are
computed ONCE in :meth:`LmerProblem.build`; an evaluation then costs nothing proportional to n:

* block 0 (first term, most levels in lme4's order) stays block diagonal (``nl0`` blocks of
  ``nc0 x nc0``); the blocks ``L[j, 0]`` below it stay sparse (block-sparse pattern of ``Z_j^T W Z_0``);
* later term blocks and the ``[X y]`` block are dense.

The lower factor of ``Omega`` holds (JSS paper eq. 18) ``L_theta`` (term blocks), ``R_ZX^T`` and
``c_u^T`` (last block row), and ``R_X^T`` / ``r_yy`` (last diagonal block), so the profiled
deviance (eq. 35 ML, eq. 42 REML) needs no solve.  :meth:`LmerProblem.solve` adds eq. 49-53
(beta, u) by block back-substitution.  Terms keep lme4's order, so every result (u, b, RZX) is in
lme4's natural, unpermuted order; ``L`` here is the natural-order factor (lme4's is AMD-permuted,
compare it only through ``ldL2``/solves).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import solve_triangular
from scipy.linalg.lapack import dpotrf



class DowndateError(ArithmeticError):
    """lme4: ``Downdated VtV is not positive definite`` (RX Cholesky failed)."""


@dataclass(frozen=True, eq=False)
class TermInfo:
    """One random-effects term: rows ``start:stop`` of Zt, ``nl`` levels x ``nc`` components
    (level-major), and the template positions: ``T[tmpl_rows, tmpl_cols] = theta[tmpl_theta]``."""

    start: int
    stop: int
    nc: int
    nl: int
    tmpl_rows: np.ndarray
    tmpl_cols: np.ndarray
    tmpl_theta: np.ndarray

    @property
    def q(self) -> int:
        return self.stop - self.start


def infer_terms(Lambdat: sp.csc_matrix, Lind: np.ndarray, Gp: np.ndarray,
                nc: tuple[int, ...] | None = None) -> tuple[TermInfo, ...]:
    """Per-term structure from (Lambdat, Lind, Gp) (R: what ``mkReTrms`` put there).

    ``nc_k`` = the p with p(p+1)/2 distinct theta indices in the term (or given); every level block
    must repeat the template of the first (lme4's ``Lambdat`` always does)."""
    q = Lambdat.shape[0]
    cols = np.repeat(np.arange(q), np.diff(Lambdat.indptr))
    rows = Lambdat.indices.astype(np.int64)
    if Lind.shape[0] != rows.shape[0]:
        raise ValueError("length(Lind) != nnz(Lambdat)")
    term_of = np.searchsorted(Gp, cols, side="right") - 1
    out = []
    for k in range(len(Gp) - 1):
        sel = term_of == k
        start, stop = int(Gp[k]), int(Gp[k + 1])
        if nc is not None:
            nck = int(nc[k])
        else:
            m = np.unique(Lind[sel]).size
            nck = int(round((np.sqrt(8 * m + 1) - 1) / 2))
            if nck * (nck + 1) // 2 != m:
                raise ValueError(f"term {k}: {m} theta values is not p(p+1)/2")
        if nck < 1 or (stop - start) % nck:
            raise ValueError(f"term {k}: Gp block of {stop - start} rows is not a multiple of nc={nck}")
        nl = (stop - start) // nck
        r, c, th = rows[sel] - start, cols[sel] - start, Lind[sel]
        if np.any(r < 0) or np.any(r // nck != c // nck):
            raise ValueError(f"term {k}: Lambdat is not block diagonal by level")
        cnt = r.size // nl
        if cnt * nl != r.size:
            raise ValueError(f"term {k}: level blocks of Lambdat differ")
        rr, cc, tt = (r % nck).reshape(nl, cnt), (c % nck).reshape(nl, cnt), th.reshape(nl, cnt)
        if not (np.all(rr == rr[0]) and np.all(cc == cc[0]) and np.all(tt == tt[0])):
            raise ValueError(f"term {k}: level blocks of Lambdat differ")
        # Lambdat[r, c] = theta  <=>  Lambda[c, r] = T[c, r]
        out.append(TermInfo(start, stop, nck, nl, cc[0].copy(), rr[0].copy(), tt[0].copy()))
    return tuple(out)


def _pair_matrix(Aj: sp.csc_matrix, Ak: sp.csc_matrix, upper: bool, cap: int) -> sp.csr_matrix | None:
    """C with ``C @ s == vec(Aj diag(s) Ak^T)`` (row-major; only i <= l when ``upper``).

    Precomputed pair list of the rank update L_j0 L_k0^T for a scalar first term: a sparse
    mat-vec per evaluation instead of a sparse-sparse product.  None if more than ``cap`` pairs."""
    nj, nk = np.diff(Aj.indptr), np.diff(Ak.indptr)
    cnt = nj * nk
    total = int(cnt.sum())
    if total > cap:
        return None
    u = np.repeat(np.arange(Aj.shape[1]), cnt)
    first = np.repeat(np.cumsum(cnt) - cnt, cnt)
    r = np.arange(total) - first  # rank of the pair inside column u
    nku = nk[u]
    ej = Aj.indptr[u] + r // np.maximum(nku, 1)
    ek = Ak.indptr[u] + r % np.maximum(nku, 1)
    i, l = Aj.indices[ej].astype(np.int64), Ak.indices[ek].astype(np.int64)
    keep = i <= l if upper else slice(None)
    pos = i[keep] * Ak.shape[0] + l[keep]
    C = sp.csr_matrix((Aj.data[ej][keep] * Ak.data[ek][keep], (pos, u[keep])),
                      shape=(Aj.shape[0] * Ak.shape[0], Aj.shape[1]))
    C.sum_duplicates()
    return C


def _chol(M: np.ndarray) -> tuple[np.ndarray, int]:
    """LAPACK dpotrf on a symmetric C-ordered matrix without copying (its transpose is F-ordered)."""
    c, info = dpotrf(M.T, lower=1, clean=1, overwrite_a=1)
    return c, info


def _lam_both(A: np.ndarray, Tj: np.ndarray, tj: TermInfo, Tk: np.ndarray, tk: TermInfo) -> np.ndarray:
    """``Lambda_j^T A Lambda_k`` for a dense block A (q_j x q_k)."""
    if tj.nc == 1 and tk.nc == 1:
        return A * (Tj[0, 0] * Tk[0, 0])
    M = np.einsum("ba,ibkc,cd->iakd", Tj, A.reshape(tj.nl, tj.nc, tk.nl, tk.nc), Tk)
    return M.reshape(tj.q, tk.q)


def _lam_right(A: np.ndarray, Tk: np.ndarray, tk: TermInfo) -> np.ndarray:
    """``A Lambda_k`` for a dense block A (r x q_k)."""
    if tk.nc == 1:
        return A * Tk[0, 0]
    return (A.reshape(A.shape[0], tk.nl, tk.nc) @ Tk).reshape(A.shape[0], tk.q)


@dataclass(eq=False)
class Factor:
    """Blocked lower Cholesky factor of Omega(theta) = [Lambda'Z'WZLambda + I, .; [X y]'WZLambda, [X y]'W[X y]].

    ``L0`` block 0 (vector if nc0 == 1 else (nl0, nc0, nc0)); ``Ld[k]`` dense diagonal blocks k >= 1;
    ``Loff[(j, k)]`` term-term blocks (sparse CSR for k == 0); ``LK[k]`` the [X y] rows
    (= [R_ZX^T; c_u^T], paper eq. 49-50); ``LKK`` the last diagonal block ([R_X^T, 0; c_beta^T, r_yy]).
    """

    L0: np.ndarray
    Ld: list
    Loff: dict
    LK: list
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
    def cu(self) -> list:
        return [B[-1].copy() for B in self.LK]

    @property
    def rzx(self) -> list:
        return [B[:-1] for B in self.LK]

    def back_solve(self, prob: "LmerProblem", rhs: list) -> list:
        """Solve ``L^T u = rhs`` over the term blocks (paper eq. 53, natural order)."""
        K = len(prob.terms)
        u: list = [None] * K
        for k in reversed(range(K)):
            v = np.array(rhs[k], dtype=np.float64)
            for j in range(k + 1, K):
                v -= self.Loff[(j, k)].T @ u[j]
            t = prob.terms[k]
            if k > 0:
                u[k] = solve_triangular(self.Ld[k], v, lower=True, trans="T", check_finite=False)
            elif t.nc == 1:
                u[k] = v / self.L0
            else:
                x = np.linalg.solve(np.swapaxes(self.L0, 1, 2), v.reshape(t.nl, t.nc, 1))
                u[k] = x.reshape(-1)
        return u

    def sparse_L(self, prob: "LmerProblem") -> sp.csc_matrix:
        """The term part of the factor as one sparse lower-triangular q x q matrix."""
        K = len(prob.terms)
        t0 = prob.terms[0]
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


def _col0_prod(prob: "LmerProblem", Loff: dict, Ts: list, R0: np.ndarray, j: int, k: int) -> np.ndarray:
    """Dense ``L_j0 L_k0^T`` (only the upper triangle is valid when j == k and nc_j == 1)."""
    C = prob.C_col0.get((j, k))
    if C is None:
        return (Loff[(j, 0)] @ Loff[(k, 0)].T).toarray()
    tj, tk = prob.terms[j], prob.terms[k]
    if tj.nc == 1 and tk.nc == 1:
        return (C @ (R0 * R0 * (Ts[j][0, 0] * Ts[k][0, 0]))).reshape(tj.q, tk.q)
    return _lam_both((C @ (R0 * R0)).reshape(tj.q, tk.q), Ts[j], tj, Ts[k], tk)


def factorize(prob: "LmerProblem", Ts: list) -> Factor:
    """Blocked Cholesky of Omega(theta) (paper eq. 18; MixedModels.jl ``updateL!``)."""
    terms = prob.terms
    K = len(terms)
    t0, T0 = terms[0], Ts[0]
    A0 = prob.A_diag[0]
    if t0.nc == 1:
        s = T0[0, 0]
        L0 = np.sqrt(A0[:, 0, 0] * (s * s) + 1.0)
        ld = 2.0 * float(np.sum(np.log(L0)))
        R0 = s / L0  # Lambda_0 L_00^{-T}
    else:
        L0 = np.linalg.cholesky(T0.T @ A0 @ T0 + np.eye(t0.nc))
        ld = 2.0 * float(np.sum(np.log(np.diagonal(L0, axis1=1, axis2=2))))
        R0 = np.swapaxes(np.linalg.solve(L0, np.broadcast_to(T0.T, L0.shape)), 1, 2)
    Loff: dict = {}
    for j in range(1, K):
        Bm, tj, Tj = prob.A_col0[j], terms[j], Ts[j]
        if tj.nc == 1 and t0.nc == 1:
            data = Bm.data[:, 0, 0] * (Tj[0, 0] * R0[Bm.indices])
            Loff[(j, 0)] = sp.csr_matrix((data, Bm.indices, Bm.indptr), shape=Bm.shape)
        else:
            R0b = R0[Bm.indices] if t0.nc > 1 else R0[Bm.indices][:, None, None]
            data = Tj.T @ Bm.data @ R0b
            Loff[(j, 0)] = sp.bsr_matrix((data, Bm.indices, Bm.indptr), shape=Bm.shape).tocsr()
    Axz = prob.A_xz[0]
    p1 = Axz.shape[0]
    if t0.nc == 1:
        LK = [Axz * R0[None, :]]
    else:
        LK = [np.einsum("rla,lab->rlb", Axz.reshape(p1, t0.nl, t0.nc), R0).reshape(p1, t0.q)]
    Ld: list = [None] * K
    for k in range(1, K):
        tk, Tk = terms[k], Ts[k]
        D = Tk.T @ prob.A_diag[k] @ Tk
        idx = np.arange(tk.q).reshape(tk.nl, tk.nc)
        M = -_col0_prod(prob, Loff, Ts, R0, k, k)
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
            N = _lam_both(prob.A_dense[(j, k)], Ts[j], terms[j], Tk, tk)
            N -= _col0_prod(prob, Loff, Ts, R0, j, k)
            for m in range(1, k):
                N -= Loff[(j, m)] @ Loff[(k, m)].T
            Loff[(j, k)] = solve_triangular(Lkk, N.T, lower=True, check_finite=False).T
        N = _lam_right(prob.A_xz[k], Tk, tk)
        N = N - (Loff[(k, 0)] @ LK[0].T).T
        for m in range(1, k):
            N -= LK[m] @ Loff[(k, m)].T
        LK.append(solve_triangular(Lkk, N.T, lower=True, check_finite=False).T)
    MKK = prob.A_xx - sum(B @ B.T for B in LK)
    LKK, info = _chol(np.ascontiguousarray(MKK))
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
    return Factor(L0=L0, Ld=Ld, Loff=Loff, LK=LK, LKK=LKK, ldL2=ld, ldRX2=ldRX2)


@dataclass(frozen=True, eq=False)
class PLSState:
    """The state lme4's ``merPredD``/``lmerResp`` hold after ``devfun(theta)`` (all natural order)."""

    theta: np.ndarray
    beta: np.ndarray
    u: np.ndarray
    b: np.ndarray
    mu: np.ndarray
    wrss: float
    ussq: float
    pwrss: float
    ldL2: float
    ldRX2: float
    sigmaML: float
    sigmaREML: float
    RX: np.ndarray  # p x p upper, positive diagonal (lme4 ``getME(, "RX")``)
    RZX: np.ndarray  # q x p, L^{-1} Lambda^T Z^T W^{1/2} V with natural-order L
    cu: np.ndarray  # q, L^{-1} Lambda^T Z^T W (y - o)  (paper eq. 49)
    dev: float  # the objective (REML criterion or ML deviance), from wrss + ussq like lme4


@dataclass(frozen=True, eq=False)
class LmerProblem:
    """Everything of an lmer deviance evaluation that does not depend on theta (R: ``pp``/``resp``).

    Build with :meth:`build`; then ``deviance(theta)`` (R: ``devfun(theta)``) and ``solve(theta)``.
    """

    X: np.ndarray
    y: np.ndarray
    Zt: sp.csr_matrix
    Lambdat: sp.csc_matrix
    Lind: np.ndarray
    Gp: np.ndarray
    weights: np.ndarray
    sqrtw: np.ndarray
    offset: np.ndarray
    REML: bool  # effective: False when p == 0 (lme4 silently fits ML)
    terms: tuple[TermInfo, ...]
    ldW: float
    # Gram blocks (weighted, offset removed from y)
    A_diag: tuple[np.ndarray, ...]  # per term (nl, nc, nc) = Z_k^T W Z_k diagonal blocks
    A_col0: tuple[sp.bsr_matrix | None, ...]  # index j: Z_j^T W Z_0 as block-sparse (j >= 1)
    A_dense: dict  # (j, k), 1 <= k < j < K: dense Z_j^T W Z_k
    C_col0: dict  # (j, k), 1 <= k <= j < K: pair matrices for L_j0 L_k0^T (nc0 == 1)
    A_xz: tuple[np.ndarray, ...]  # per term: [X y]^T W Z_k, (p+1) x q_k
    A_xx: np.ndarray  # [X y]^T W [X y]

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def q(self) -> int:
        return int(self.Zt.shape[0])

    @property
    def ntheta(self) -> int:
        return int(self.Lind.max()) + 1 if self.Lind.size else 0

    # ------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, X: np.ndarray, y: np.ndarray, Zt: sp.spmatrix, Lambdat: sp.spmatrix,
              Lind: np.ndarray, Gp: np.ndarray | None = None, weights: np.ndarray | None = None,
              offset: np.ndarray | None = None, REML: bool = True,
              nc: tuple[int, ...] | None = None, pair_cap: int = 20_000_000) -> "LmerProblem":
        """Precompute the Gram blocks (R: ``merPredD$new`` + ``mkRespMod``).

        ``Lind`` is 0-based; ``Gp`` defaults to one term; ``nc`` (components per term) is inferred
        from the ``Lambdat``/``Lind`` pattern when not given.  ``pair_cap`` bounds the size of the
        precomputed pair lists (12 bytes each) used for the first-column rank updates.
        """
        y = np.ascontiguousarray(y, dtype=np.float64).ravel()
        n = y.shape[0]
        X = np.ascontiguousarray(np.asarray(X, dtype=np.float64).reshape(n, -1))
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
        o = np.zeros(n) if offset is None else np.asarray(offset, dtype=np.float64).ravel()
        Zt = sp.csr_matrix(Zt, dtype=np.float64)
        Lambdat = sp.csc_matrix(Lambdat, dtype=np.float64)
        Lind = np.asarray(Lind, dtype=np.int64).ravel()
        Gp = np.array([0, Zt.shape[0]] if Gp is None else Gp, dtype=np.int64)
        terms = infer_terms(Lambdat, Lind, Gp, nc)
        p = X.shape[1]
        Xy = np.column_stack([X, y - o])
        wXy = Xy * w[:, None]
        Zw = Zt.multiply(w[None, :]).tocsr() if not np.all(w == 1.0) else Zt
        Zk = [Zt[int(t.start):int(t.stop)] for t in terms]
        Zwk = [Zw[int(t.start):int(t.stop)] for t in terms]
        A_diag = []
        for t, zk, zwk in zip(terms, Zk, Zwk):
            P = (zwk @ zk.T).tocoo()
            blk = np.zeros((t.nl, t.nc, t.nc))
            if np.any(P.row // t.nc != P.col // t.nc):
                raise ValueError("Z_k^T Z_k is not block diagonal: Zt rows do not match Gp/nc")
            np.add.at(blk, (P.row // t.nc, P.row % t.nc, P.col % t.nc), P.data)
            A_diag.append(blk)
        K = len(terms)
        A_col0: list = [None] * K
        A_dense: dict = {}
        for j in range(1, K):
            P = (Zwk[j] @ Zk[0].T).tocsr()
            B = P.tobsr(blocksize=(terms[j].nc, terms[0].nc))
            B.sort_indices()
            A_col0[j] = B
            for k in range(1, j):
                A_dense[(j, k)] = np.ascontiguousarray((Zwk[j] @ Zk[k].T).toarray())
        C_col0: dict = {}
        if K > 1 and terms[0].nc == 1:
            csc = [None] + [A_col0[j].tocsc() for j in range(1, K)]
            for j in range(1, K):
                for k in range(1, j + 1):
                    C = _pair_matrix(csc[j], csc[k], upper=(j == k and terms[j].nc == 1), cap=pair_cap)
                    if C is not None:
                        C_col0[(j, k)] = C
        A_xz = tuple(np.ascontiguousarray((zk @ wXy).T) for zk in Zk)
        A_xx = Xy.T @ wXy
        return cls(X=X, y=y, Zt=Zt, Lambdat=Lambdat, Lind=Lind, Gp=Gp, weights=w, sqrtw=np.sqrt(w), offset=o,
                   REML=bool(REML) and p > 0, terms=terms, ldW=float(np.sum(np.log(w))),
                   A_diag=tuple(A_diag), A_col0=tuple(A_col0), A_dense=A_dense, C_col0=C_col0, A_xz=A_xz,
                   A_xx=A_xx)

    # ------------------------------------------------------------------------------------------
    def templates(self, theta: np.ndarray) -> list[np.ndarray]:
        """Per term the ``nc x nc`` lower template T_k of Lambda (R: ``getME(, "Tlist")``)."""
        theta = np.asarray(theta, dtype=np.float64)
        out = []
        for t in self.terms:
            T = np.zeros((t.nc, t.nc))
            T[t.tmpl_rows, t.tmpl_cols] = theta[t.tmpl_theta]
            out.append(T)
        return out

    def lambdat(self, theta: np.ndarray) -> sp.csc_matrix:
        """``Lambdat`` at theta (R: ``pp$setTheta(theta); getME(, "Lambdat")``)."""
        L = self.Lambdat.copy()
        L.data = np.asarray(theta, dtype=np.float64)[self.Lind]
        return L

    def factor(self, theta: np.ndarray) -> Factor:
        """Blocked lower Cholesky factor of ``Omega(theta)`` (paper eq. 18, with y appended)."""
        return factorize(self, self.templates(theta))

    def objective(self, ldL2: float, ldRX2: float, pwrss: float) -> float:
        """R: ``lmerResp::Laplace`` (ML: paper eq. 35; REML: eq. 42)."""
        n = float(self.n)
        lnum = 2.0 * np.pi * pwrss
        if not self.REML:
            return ldL2 - self.ldW + n * (1.0 + np.log(lnum) - np.log(n))
        nmp = n - self.p
        return ldL2 - self.ldW + ldRX2 + nmp * (1.0 + np.log(lnum) - np.log(nmp))

    def deviance_gram(self, theta: np.ndarray) -> float:
        """Profiled objective with ``pwrss = r_yy^2`` from the factor: cost independent of n
        (MixedModels.jl's ``objective``); equals R's ``devfun(theta)`` to ~1e-12 relative."""
        F = self.factor(theta)
        return float(self.objective(F.ldL2, F.ldRX2, F.ryy ** 2))

    def _pls(self, Ts: list, F: Factor) -> tuple:
        """Paper eq. 49-53 from the factor: beta, u (per term), b, mu, wrss, ussq (lme4 order)."""
        p = self.p
        beta = solve_triangular(F.RX, F.cbeta, lower=False, check_finite=False) if p else np.zeros(0)
        uk = F.back_solve(self, [c - beta @ R if p else c for c, R in zip(F.cu, F.rzx)])
        b = np.concatenate([(x.reshape(t.nl, t.nc) @ T.T).ravel()
                            for x, t, T in zip(uk, self.terms, Ts)])
        u = np.concatenate(uk)
        mu = self.offset + self.X @ beta + self.Zt.T @ b
        wres = self.sqrtw * (self.y - mu)
        return beta, u, b, mu, float(wres @ wres), float(u @ u)

    def deviance(self, theta: np.ndarray) -> float:
        """R: ``devfun(theta)`` (``lmer_Deviance``): pwrss = wrss + ||u||^2 from the PLS solution,
        exactly as lme4 forms it (keeps BOBYQA on lme4's path); O(nnz(Z) + n p) extra per call."""
        Ts = self.templates(theta)
        F = factorize(self, Ts)
        *_, wrss, ussq = self._pls(Ts, F)
        return float(self.objective(F.ldL2, F.ldRX2, wrss + ussq))

    __call__ = deviance

    def solve(self, theta: np.ndarray) -> PLSState:
        """R: ``devfun(theta)`` followed by reading ``pp``/``resp`` (paper eq. 49-53)."""
        theta = np.array(theta, dtype=np.float64)
        Ts = self.templates(theta)
        F = factorize(self, Ts)
        beta, u, b, mu, wrss, ussq = self._pls(Ts, F)
        pwrss = wrss + ussq
        n, p = self.n, self.p
        return PLSState(theta=theta, beta=beta, u=u, b=b, mu=mu, wrss=wrss, ussq=ussq,
                        pwrss=pwrss, ldL2=F.ldL2, ldRX2=F.ldRX2, sigmaML=float(np.sqrt(pwrss / n)),
                        sigmaREML=float(np.sqrt(pwrss / (n - p))) if n > p else float("nan"),
                        RX=F.RX, RZX=np.vstack([R.T for R in F.rzx]), cu=np.concatenate(F.cu),
                        dev=float(self.objective(F.ldL2, F.ldRX2, pwrss)))

    def cholesky_L(self, theta: np.ndarray) -> sp.csc_matrix:
        """Natural-order sparse lower ``L`` with ``L L^T = Lambda^T Z^T W Z Lambda + I``.

        lme4's ``getME(, "L")`` is a CHOLMOD factor of the AMD-permuted matrix; compare logdet/solves.
        """
        return self.factor(theta).sparse_L(self)


__all__ = ["LmerProblem", "PLSState", "TermInfo", "Factor", "DowndateError", "infer_terms"]
