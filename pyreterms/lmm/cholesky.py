"""Blocked lower Cholesky factor of ``Omega(theta)`` over precomputed Gram blocks (the numerical
core of :mod:`pyreterms.lmm.deviance`), specialised by block type.

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
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from scipy.linalg import solve_triangular
from scipy.linalg.blas import dtrsv
from scipy.linalg.lapack import dpotrf

if TYPE_CHECKING:  # pragma: no cover
    from pyreterms.lmm.deviance import LmerProblem


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
    U = prob.C_col0.get((j, k))
    if U is None:
        return (Loff[(j, 0)] @ Loff[(k, 0)].T).toarray()
    tj, tk = prob.terms[j], prob.terms[k]
    P = U.product(float(Ts[0][0, 0]))
    if tj.nc == 1 and tk.nc == 1:
        P *= Ts[j][0, 0] * Ts[k][0, 0]
        return P
    return _lam_both(P, Ts[j], tj, Ts[k], tk)


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
    return Factor(L0=L0, Ld=Ld, Loff=Loff, LK=LK, LKK=LKK, ldL2=ld, ldRX2=ldRX2)


@dataclass(frozen=True, eq=False)
class RestPlan:
    """Theta-independent layout of the one-shot factorization used when every term is scalar
    (``nc == 1``) and there are >= 2 terms (crossed/nested scalar designs, e.g. InstEval).

    After the diagonal block 0 is eliminated (closed form), everything else -- the later term
    blocks and the ``[X y]`` rows -- is ONE dense symmetric matrix of order ``Q = q - q0 + p + 1``
    (the Schur complement of block 0 in Omega, paper eq. 18), factored by a single LAPACK ``dpotrf``
    in a reused buffer: its lower factor holds ``L`` of the later terms, ``R_ZX^T``/``c_u^T`` and
    ``R_X^T``/``r_yy`` in one array, so the PLS solution (eq. 49-53) needs one ``dtrsv``.

    The buffer ``M`` is C-ordered and filled in its upper triangle (``M.T`` is the F-ordered lower
    triangle LAPACK reads).  ``pairs`` hold, per rank update ``L_j0 L_k0^T`` (j >= k >= 1), the flat
    buffer positions of the light pairs (``Col0Update.pos`` remapped)."""

    q0: int
    qr: int
    Q: int
    p1: int
    theta0: int  # theta index of term 0
    offs: tuple[int, ...]  # per term (index 0 unused): offset in the rest
    theta_idx: tuple[int, ...]  # per term: its theta index
    diag_flat: tuple  # per term k >= 1: flat buffer index of its diagonal entries
    diag_val: tuple  # per term k >= 1: Z_k^T W Z_k diagonal
    pairs: tuple  # (j, k, flat positions or None, Col0Update)
    dense: tuple  # (j, k, A_dense[(j, k)]) for 1 <= k < j
    a0: np.ndarray  # Z_0^T W Z_0 diagonal
    Ar0_data: np.ndarray  # stacked Z_r^T W Z_0 (CSR, q_rest x q0)
    Ar0_indices: np.ndarray
    Ar0_indptr: np.ndarray
    Ar0_term: np.ndarray  # per stored entry: its term (1..K-1)
    Ar0: sp.csr_matrix  # the same as a matrix
    Ar0T: sp.csr_matrix  # its transpose (q0 x q_rest), CSR
    row_term: np.ndarray  # per rest row: its term
    XZr: np.ndarray  # q_rest x (p+1): stacked A_xz[k].T, k >= 1
    ZtT: sp.csr_matrix  # Zt^T as CSR (n x q), for Z b
    X_sparse: sp.csc_matrix | None  # X as CSC when mostly zero (:func:`sparse_if_mostly_zero`)

    def pls(self, prob: "LmerProblem", theta: np.ndarray, M: np.ndarray) -> "RestSolution | None":
        """:func:`rest_pls` (the interface shared with :class:`pyreterms.lmm.dense.DensePlan`)."""
        return rest_pls(prob, self, theta, M)


def sparse_if_mostly_zero(X: np.ndarray) -> sp.csc_matrix | None:
    """X as CSC when under 30% of it is nonzero (``X beta`` is then O(nnz); the sums per row run in
    column order, exactly as the dense product's would), else None."""
    if not X.size:
        return None
    XT = np.ascontiguousarray(X.T)  # column j of X is row j of XT
    nz = XT != 0.0
    cnt = nz.sum(axis=1)
    if cnt.sum() >= 0.3 * XT.size:
        return None
    indptr = np.zeros(XT.shape[0] + 1, dtype=np.int64)  # CSC built directly (rows sorted per column)
    np.cumsum(cnt, out=indptr[1:])
    return sp.csc_matrix((XT[nz], np.nonzero(nz)[1], indptr), shape=X.shape)


def build_rest_plan(prob: "LmerProblem") -> RestPlan | None:
    """The :class:`RestPlan` of a problem, or None when the one-shot path does not apply."""
    terms = prob.terms
    K = len(terms)
    if K < 2 or any(t.nc != 1 for t in terms):
        return None
    q0 = terms[0].q
    qr = prob.q - q0
    p1 = prob.p + 1
    Q = qr + p1
    offs = [0] + [int(t.start) - q0 for t in terms[1:]]
    diag_flat = [None] + [(offs[k] + np.arange(terms[k].q, dtype=np.int64)) * (Q + 1) for k in range(1, K)]
    diag_val = [None] + [np.ascontiguousarray(prob.A_diag[k][:, 0, 0]) for k in range(1, K)]
    pairs = []
    for (j, k), U in sorted(prob.C_col0.items()):
        fpos = None
        if U.C is not None:
            i, l = np.divmod(U.pos, U.qk)  # U[i, l], i in term j, l in term k
            if j == k:  # upper: i <= l -> M[off + i, off + l]
                fpos = (offs[j] + i) * Q + offs[k] + l
            else:  # M[off_k + l, off_j + i] (upper since k < j)
                fpos = (offs[k] + l) * Q + offs[j] + i
        pairs.append((j, k, fpos, U))
    dense = tuple((j, k, A) for (j, k), A in sorted(prob.A_dense.items()))
    blocks = [sp.csr_matrix((B.data[:, 0, 0], B.indices, B.indptr), shape=B.shape) for B in prob.A_col0[1:]]
    Ar0 = sp.vstack(blocks, format="csr")
    Ar0.sort_indices()
    Ar0T = Ar0.T.tocsr()  # q0 x q_rest
    Ar0T.sort_indices()
    row_term = np.repeat(np.arange(1, K), [t.q for t in terms[1:]])
    Ar0_term = np.repeat(row_term, np.diff(Ar0.indptr))
    XZr = np.ascontiguousarray(np.vstack([A.T for A in prob.A_xz[1:]]))
    return RestPlan(q0=q0, qr=qr, Q=Q, p1=p1, theta0=int(terms[0].tmpl_theta[0]), offs=tuple(offs),
                    theta_idx=tuple(int(t.tmpl_theta[0]) for t in terms), diag_flat=tuple(diag_flat),
                    diag_val=tuple(diag_val), pairs=tuple(pairs), dense=dense,
                    a0=np.ascontiguousarray(prob.A_diag[0][:, 0, 0]), Ar0_data=Ar0.data,
                    Ar0_indices=Ar0.indices, Ar0_indptr=Ar0.indptr, Ar0_term=Ar0_term, Ar0=Ar0, Ar0T=Ar0T,
                    row_term=row_term,
                    XZr=XZr, ZtT=sp.csr_matrix(prob.Zt.T), X_sparse=sparse_if_mostly_zero(prob.X))


@dataclass(eq=False)
class RestSolution:
    """Result of :func:`rest_pls`: the factor buffer (valid until the next call with the same
    workspace) plus the PLS solution pieces (fresh arrays)."""

    L: np.ndarray  # Q x Q, lower factor (F-ordered view of the buffer)
    LK0: np.ndarray  # (p+1) x q0: [R_ZX^T; c_u^T] of term 0
    beta: np.ndarray
    u: np.ndarray
    b: np.ndarray
    ldL2: float
    ldRX2: float


def factor_solve(M: np.ndarray, qr: int) -> tuple[np.ndarray, float, float, np.ndarray, np.ndarray] | None:
    """The shared tail of the one-shot paths: ``dpotrf`` of the C-ordered buffer ``M`` (its upper
    triangle is the F-ordered lower triangle LAPACK reads; terms in rows ``:qr``, then ``[X y]``) and
    the PLS solve ``L^T z = r_yy e_Q``, ``z = -[u; beta; -1]`` (paper eq. 49-53).  Returns the factor
    (F-ordered view of ``M``), ``2 sum log diag`` of the term part, ``ldRX2``, u and beta; None when a
    pivot fails."""
    Q = M.shape[0]
    c, info = dpotrf(M.T, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        return None
    d = np.diagonal(c)
    ld = 2.0 * float(np.sum(np.log(d[:qr])))
    ldRX2 = 2.0 * float(np.sum(np.log(np.abs(d[qr:Q - 1]))))
    rhs = np.zeros(Q)
    rhs[-1] = d[-1]
    z = dtrsv(c, rhs, lower=1, trans=1, overwrite_x=1)
    return c, ld, ldRX2, -z[:qr], -z[qr:Q - 1]


def rest_pls(prob: "LmerProblem", plan: RestPlan, theta: np.ndarray, M: np.ndarray) -> RestSolution | None:
    """Factor Omega(theta) on the one-shot path into the C-ordered ``Q x Q`` buffer ``M`` and solve
    the PLS problem (beta, u, b).  None if a pivot fails (the caller falls back to :func:`factorize`,
    which raises lme4's errors or handles r_yy = 0)."""
    qr, p1 = plan.qr, plan.p1
    s = float(theta[plan.theta0])
    L0 = np.sqrt(plan.a0 * (s * s) + 1.0)
    R0 = s / L0  # Lambda_0 L_00^{-T}
    lam = theta[np.asarray(plan.theta_idx)]
    M[:qr, :qr] = 0.0  # the [X y] columns are overwritten below
    flat = M.reshape(-1)
    for j, k, fpos, U in plan.pairs:
        f = lam[j] * lam[k]
        if fpos is not None:
            vals = U.light_values(s)
            vals *= f
            if j == k:
                flat[fpos] = -vals
        if j == k:
            o, q = plan.offs[k], prob.terms[k].q
            H = U.add_heavy(None, s)
            if H is not None:
                M[o:o + q, o:o + q] -= H * f
            idx = plan.diag_flat[k]
            flat[idx] += (lam[k] * plan.diag_val[k]) * lam[k]
            flat[idx] += 1.0
        else:
            ok, qk, oj, qj = plan.offs[k], prob.terms[k].q, plan.offs[j], prob.terms[j].q
            blk = M[ok:ok + qk, oj:oj + qj]
            A = prob.A_dense.get((j, k))
            if A is not None:
                blk += (A * f).T
            if fpos is not None:
                flat[fpos] -= vals
            H = U.add_heavy(None, s)
            if H is not None:
                blk -= (H * f).T
    Axz0 = prob.A_xz[0]
    LK0 = Axz0 * R0[None, :]
    lam_rows = lam[plan.row_term]
    # L_r0 LK0^T = Lambda_r^T A_r0 diag(R0^2) Axz0^T (L_r0 = Lambda_r^T A_r0 diag(R0) is never formed)
    W = np.ascontiguousarray((Axz0 * (R0 * R0)[None, :]).T)
    N = plan.XZr - plan.Ar0 @ W
    N *= lam_rows[:, None]
    M[:qr, qr:] = N
    M[qr:, qr:] = prob.A_xx - LK0 @ LK0.T
    done = factor_solve(M, qr)
    if done is None:
        return None
    c, ld_rest, ldRX2, u_rest, beta = done
    ldL2 = 2.0 * float(np.sum(np.log(L0))) + ld_rest
    v = LK0[-1] - beta @ LK0[:-1] if p1 > 1 else LK0[-1].copy()
    v -= R0 * (plan.Ar0T @ (lam_rows * u_rest))
    u0 = v / L0
    u = np.concatenate([u0, u_rest])
    b = np.concatenate([u0 * s, u_rest * lam_rows])
    return RestSolution(L=c, LK0=LK0, beta=beta, u=u, b=b, ldL2=ldL2, ldRX2=ldRX2)


__all__ = ["TermInfo", "infer_terms", "Factor", "factorize", "DowndateError", "RestPlan", "build_rest_plan",
           "RestSolution", "rest_pls", "factor_solve", "sparse_if_mostly_zero"]
