"""The one-shot path for models whose terms are all scalar (``nc == 1``, >= 2 terms: crossed or
nested random intercepts, e.g. InstEval): block 0 eliminated in closed form, the rest ONE ``dpotrf``.

R equivalent: the same numbers as ``merPredD::updateDecomp`` + ``solve`` (lme4 1.1-31,
``src/predModule.cpp``; JSS paper eq. 18 and 49-53), computed from the Gram blocks
(:mod:`pyreterms.lmm.gram`) without touching n.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from pyreterms.lmm.gram import GramBlocks
from pyreterms.lmm.oneshot import OneShotSolution, factor_solve, sparse_if_mostly_zero
from pyreterms.lmm.rankupdate import Block0RankUpdate


@dataclass(frozen=True, eq=False)
class ScalarPlan:
    """Theta-independent layout of the one-shot factorization used when every term is scalar
    (``nc == 1``) and there are >= 2 terms (crossed/nested scalar designs, e.g. InstEval).

    After the diagonal block 0 is eliminated (closed form), everything else -- the later term
    blocks and the ``[X y]`` rows -- is ONE dense symmetric matrix of order ``Q = q - q0 + p + 1``
    (the Schur complement of block 0 in Omega, paper eq. 18), factored by a single LAPACK ``dpotrf``
    in a reused buffer: its lower factor holds ``L`` of the later terms, ``R_ZX^T``/``c_u^T`` and
    ``R_X^T``/``r_yy`` in one array, so the PLS solution (eq. 49-53) needs one ``dtrsv``.

    The buffer ``M`` is C-ordered and filled in its upper triangle (``M.T`` is the F-ordered lower
    triangle LAPACK reads).  ``pairs`` hold, per rank update ``L_j0 L_k0^T`` (j >= k >= 1), the flat
    buffer positions of the light pairs (``Block0RankUpdate.pos`` remapped)."""

    q0: int
    qr: int
    Q: int
    p1: int
    theta0: int  # theta index of term 0
    offs: tuple[int, ...]  # per term (index 0 unused): offset in the rest
    theta_idx: tuple[int, ...]  # per term: its theta index
    diag_flat: tuple[np.ndarray | None, ...]  # per term k >= 1 (0: None): flat buffer index of its diagonal
    diag_val: tuple[np.ndarray | None, ...]  # per term k >= 1 (index 0: None): Z_k^T W Z_k diagonal
    pairs: tuple[tuple[int, int, np.ndarray | None, Block0RankUpdate], ...]  # (j, k, flat positions, update)
    dense: tuple[tuple[int, int, np.ndarray], ...]  # (j, k, dense[(j, k)]) for 1 <= k < j
    a0: np.ndarray  # Z_0^T W Z_0 diagonal
    Ar0_data: np.ndarray  # stacked Z_r^T W Z_0 (CSR, q_rest x q0)
    Ar0_indices: np.ndarray
    Ar0_indptr: np.ndarray
    Ar0_term: np.ndarray  # per stored entry: its term (1..K-1)
    Ar0: sp.csr_matrix  # the same as a matrix
    Ar0T: sp.csr_matrix  # its transpose (q0 x q_rest), CSR
    row_term: np.ndarray  # per rest row: its term
    XZr: np.ndarray  # q_rest x (p+1): stacked xz[k].T, k >= 1
    ZtT: sp.csr_matrix  # Zt^T as CSR (n x q), for Z b
    X_sparse: sp.csc_matrix | None  # X as CSC when mostly zero (:func:`sparse_if_mostly_zero`)
    XZ: np.ndarray | None  # always None here (large designs; see DensePlan.XZ)

    gram: GramBlocks  # the model's Gram blocks (read by :func:`scalar_pls`)

    def pls(self, theta: np.ndarray, M: np.ndarray) -> OneShotSolution | None:
        """:func:`scalar_pls` (the :class:`pyreterms.lmm.oneshot.OneShotPlan` protocol)."""
        return scalar_pls(self, theta, M)


def build_scalar_plan(gram: GramBlocks, X: np.ndarray, Zt: sp.csr_matrix) -> ScalarPlan | None:
    """The :class:`ScalarPlan` of a model, or None when it does not apply (< 2 terms, or a vector term)."""
    terms = gram.terms
    K = len(terms)
    if K < 2 or any(t.nc != 1 for t in terms):
        return None
    q0 = terms[0].q
    qr = gram.q - q0
    p1 = gram.p + 1
    Q = qr + p1
    offs = [0] + [int(t.start) - q0 for t in terms[1:]]
    diag_flat: list[np.ndarray | None] = [None]
    diag_flat += [(offs[k] + np.arange(terms[k].q, dtype=np.int64)) * (Q + 1) for k in range(1, K)]
    diag_val: list[np.ndarray | None] = [None] + [np.ascontiguousarray(gram.diag[k][:, 0, 0]) for k in range(1, K)]
    pairs = []
    for (j, k), U in sorted(gram.rank_updates.items()):
        fpos = None
        if U.C is not None and U.pos is not None:  # (pos is set exactly when C is)
            i, c = np.divmod(U.pos, U.qk)  # U[i, c], i in term j, c in term k
            if j == k:  # upper: i <= c -> M[off + i, off + c]
                fpos = (offs[j] + i) * Q + offs[k] + c
            else:  # M[off_k + c, off_j + i] (upper since k < j)
                fpos = (offs[k] + c) * Q + offs[j] + i
        pairs.append((j, k, fpos, U))
    dense = tuple((j, k, A) for (j, k), A in sorted(gram.dense.items()))
    blocks = [sp.csr_matrix((B.data[:, 0, 0], B.indices, B.indptr), shape=B.shape)
              for B in (gram.col0[j] for j in range(1, K))]
    Ar0 = sp.vstack(blocks, format="csr")
    Ar0.sort_indices()
    Ar0T = Ar0.T.tocsr()  # q0 x q_rest
    Ar0T.sort_indices()
    row_term = np.repeat(np.arange(1, K), [t.q for t in terms[1:]])
    Ar0_term = np.repeat(row_term, np.diff(Ar0.indptr))
    XZr = np.ascontiguousarray(np.vstack([A.T for A in gram.xz[1:]]))
    return ScalarPlan(q0=q0, qr=qr, Q=Q, p1=p1, theta0=int(terms[0].tmpl_theta[0]), offs=tuple(offs),
                    theta_idx=tuple(int(t.tmpl_theta[0]) for t in terms), diag_flat=tuple(diag_flat),
                    diag_val=tuple(diag_val), pairs=tuple(pairs), dense=dense,
                    a0=np.ascontiguousarray(gram.diag[0][:, 0, 0]), Ar0_data=Ar0.data,
                    Ar0_indices=Ar0.indices, Ar0_indptr=Ar0.indptr, Ar0_term=Ar0_term, Ar0=Ar0, Ar0T=Ar0T,
                    row_term=row_term,
                    XZr=XZr, ZtT=sp.csr_matrix(Zt.T), X_sparse=sparse_if_mostly_zero(X), XZ=None, gram=gram)


def scalar_pls(plan: ScalarPlan, theta: np.ndarray, M: np.ndarray) -> OneShotSolution | None:
    """Factor Omega(theta) on the one-shot path into the C-ordered ``Q x Q`` buffer ``M`` and solve
    the PLS problem (beta, u, b).  None if a pivot fails (the caller falls back to
    :func:`pyreterms.lmm.cholesky.update_L`,
    which raises lme4's errors or handles r_yy = 0)."""
    qr, p1, gram = plan.qr, plan.p1, plan.gram
    s = float(theta[plan.theta0])
    L0 = np.sqrt(plan.a0 * (s * s) + 1.0)
    R0 = s / L0  # Lambda_0 L_00^{-T}
    lam = theta[np.asarray(plan.theta_idx)]
    # one term after block 0 with heavy levels: its dense update fills the whole term block, which
    # then needs no clearing (written as ``0 - H f``, the light values subtracted after: the same
    # numbers as clearing, ``-vals`` and ``-= H f``, since ``(0 - a) - b == (0 - b) - a``)
    whole = len(plan.pairs) == 1 and plan.pairs[0][3].has_heavy and plan.pairs[0][0] == plan.pairs[0][1]
    if not whole:
        M[:qr, :qr] = 0.0  # the [X y] columns are overwritten below
    flat = M.reshape(-1)
    for j, k, fpos, U in plan.pairs:
        f = lam[j] * lam[k]
        if fpos is not None:
            vals = U.light_values(s)
            vals *= f
            if j == k and not whole:
                flat[fpos] = -vals
        if j == k:
            o, q = plan.offs[k], gram.terms[k].q
            H = U.add_heavy(None, s)
            if H is not None:
                H *= f  # (in place: the same products as ``H * f``)
                if whole:
                    np.subtract(0.0, H, out=M[o:o + q, o:o + q])
                    if fpos is not None:
                        flat[fpos] -= vals
                else:
                    M[o:o + q, o:o + q] -= H
                del H
            idx = plan.diag_flat[k]
            flat[idx] += (lam[k] * plan.diag_val[k]) * lam[k]
            flat[idx] += 1.0
        else:
            ok, qk, oj, qj = plan.offs[k], gram.terms[k].q, plan.offs[j], gram.terms[j].q
            blk = M[ok:ok + qk, oj:oj + qj]
            A = gram.dense.get((j, k))
            if A is not None:
                blk += (A * f).T
            if fpos is not None:
                flat[fpos] -= vals
            H = U.add_heavy(None, s)
            if H is not None:
                blk -= (H * f).T
    Axz0 = gram.xz[0]
    LK0 = Axz0 * R0[None, :]
    lam_rows = lam[plan.row_term]
    # L_r0 LK0^T = Lambda_r^T A_r0 diag(R0^2) Axz0^T (L_r0 = Lambda_r^T A_r0 diag(R0) is never formed)
    W = np.ascontiguousarray((Axz0 * (R0 * R0)[None, :]).T)
    N = plan.XZr - plan.Ar0 @ W
    N *= lam_rows[:, None]
    M[:qr, qr:] = N
    M[qr:, qr:] = gram.xx - LK0 @ LK0.T
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
    return OneShotSolution(L=c, LK0=LK0, beta=beta, u=u, b=b, ldL2=ldL2, ldRX2=ldRX2)


__all__ = ["ScalarPlan", "build_scalar_plan", "scalar_pls"]
