"""What the two one-shot paths of the deviance share: the solution they return, the dense ``dpotrf`` +
PLS solve of their factor buffer, and the protocol both plans follow.

A one-shot plan (:class:`pyreterms.lmm.scalar.ScalarPlan`: every term scalar, block 0 eliminated in
closed form; :class:`pyreterms.lmm.dense.DensePlan`: all of Omega dense) writes ``Omega(theta)`` --
or its Schur complement -- into ONE dense buffer and factors it with one LAPACK call; the blocked
path (:mod:`pyreterms.lmm.cholesky`) is the general fallback.

R equivalent: ``merPredD::updateDecomp`` + ``merPredD::solve`` (lme4 1.1-31, ``src/predModule.cpp``),
JSS paper eq. 18 and 49-53 with ``[X y]`` appended as the last block row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from scipy.linalg.blas import dtrsv
from scipy.linalg.lapack import dpotrf

_sum = np.add.reduce


@dataclass(eq=False)
class OneShotSolution:
    """Result of a one-shot plan's ``pls``: the factor buffer (valid until the next call with the same
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
    # (the reductions called directly: the same pairwise sums as ``.sum()``, a microsecond less each --
    # small models spend their evaluation in per-call overheads like these)
    d = c.diagonal()
    lg = np.log(d[:Q - 1])  # positive: dpotrf succeeded (NaN stays NaN)
    ld = 2.0 * float(_sum(lg[:qr]))
    ldRX2 = 2.0 * float(_sum(lg[qr:]))
    rhs = np.zeros(Q)
    rhs[-1] = d[-1]
    z = -dtrsv(c, rhs, lower=1, trans=1, overwrite_x=1)[:Q - 1]
    return c, ld, ldRX2, z[:qr], z[qr:]


def sparse_if_mostly_zero(X: np.ndarray) -> sp.csc_matrix | None:
    """X as CSC when under 30% of it is nonzero (``X beta`` is then O(nnz); the sums per row run in
    column order, exactly as the dense product's would), else None."""
    if not X.size:
        return None
    if np.count_nonzero(X) >= 0.3 * X.size:  # (one pass, no temporaries: most X are dense)
        return None
    Xc = np.ascontiguousarray(X)
    flat = np.flatnonzero(Xc)  # row-major positions: X as CSR, then one O(nnz) transposition
    n, p = Xc.shape
    rows, cols = np.divmod(flat, p)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_matrix((Xc.ravel()[flat], cols, indptr), shape=X.shape).tocsc()  # rows sorted per column


class OneShotPlan(Protocol):
    """A one-shot path: ``Q`` (order of the buffer), ``qr`` (term rows in it), ``XZ`` or
    ``X_sparse``/``ZtT`` (for ``mu``) and ``pls(theta, M)``: factor into the C-ordered ``Q x Q`` buffer ``M`` and solve,
    or None when a pivot fails (the blocked path then decides)."""

    @property
    def Q(self) -> int: ...

    @property
    def qr(self) -> int: ...

    @property
    def X_sparse(self) -> sp.csc_matrix | None: ...

    @property
    def ZtT(self) -> sp.csr_matrix | None: ...  # None only when XZ is set

    @property
    def XZ(self) -> np.ndarray | None: ...

    def pls(self, theta: np.ndarray, M: np.ndarray) -> OneShotSolution | None: ...


__all__ = ["OneShotSolution", "OneShotPlan", "factor_solve", "sparse_if_mostly_zero"]
