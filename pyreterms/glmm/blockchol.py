"""The sparse Cholesky factor of PIRLS' ``A = Lambda' Z' W Z Lambda + I`` as lme4's ``merPredD::updateDecomp``
needs it (``src/predModule.cpp``, where CHOLMOD factors ``Lambdat Ut Ut' Lambda + I``), built without
creating scipy objects per PIRLS iteration.

What does not change between iterations is computed once (:class:`CrossPattern`): the positions of
``Z' W Z``'s non-zeros and, for each, the observations and ``Z`` products that add to it, so that one
``np.bincount`` per iteration gives ``Z' W Z``.  When every term is scalar (the usual GLMM), ``Lambda`` is
diagonal and ``A = diag(lam) Z'WZ diag(lam) + I`` is a scaled scatter; otherwise ``Lambda`` is applied as
a sparse matrix built once per theta.

The factor (:class:`BlockChol`) uses the leading block of ``A`` that is diagonal (the first term's block
when its levels never share an observation, as for every scalar term: lme4 puts the term with the most
levels first): ``L = [[D, 0], [L21, L22]]`` with ``D = sqrt(diag(A11))``, ``L21 = A21 D^-1`` and
``L22 L22' = A22 - L21 L21'``, the Schur complement, factored the same way when its own leading block is
diagonal (nested factors) and by LAPACK otherwise (:class:`ElimPlan`, analysed once).  The Cholesky factor
is unique, so this is the factor a dense or a CHOLMOD Cholesky gives, to rounding; a one-term scalar model
has a diagonal L, and grouseticks' three nested terms (q = 584: INDEX in BROOD in LOCATION) need no dense
block at all.  Written out because
scipy has no sparse Cholesky and CHOLMOD (scikit-sparse) is not a dependency.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.linalg as la
import scipy.sparse as sp

Arr = npt.NDArray[np.float64]
IArr = npt.NDArray[np.int64]


class NotPositiveDefinite(ArithmeticError):
    """A is not (numerically) positive definite or not finite (the caller words lme4's error)."""


@dataclass
class BlockChol:
    """``L = [[diag(d), 0], [L21, L22]]``, lower triangular, ``L L' = A``; ``L22`` is dense or, when the
    Schur complement again has a diagonal leading block (nested factors), blocked in turn."""

    d: Arr
    L21: Arr
    L22: Arr | BlockChol

    @classmethod
    def factor(cls, A: Arr, q1: int, plan: ElimPlan | None = None) -> BlockChol:
        """Factor the dense symmetric ``A`` whose leading ``q1 x q1`` block is diagonal."""
        return cls.from_blocks(np.diag(A)[:q1].copy(), A[q1:, :q1], A[q1:, q1:], plan)

    @classmethod
    def from_blocks(cls, a11: Arr, A21: Arr, A22: Arr, plan: ElimPlan | None = None) -> BlockChol:
        """Factor ``A = [[diag(a11), A21'], [A21, A22]]`` (``plan``: how to form ``L21 L21'`` and how to
        factor the Schur complement); a non-finite A shows in ``a11`` or in the Schur complement."""
        if not np.all(np.isfinite(a11)) or np.any(a11 <= 0):
            raise NotPositiveDefinite("A11 not finite and positive")
        d = np.sqrt(a11)
        L21 = A21 / d
        schur = plan.schur if plan is not None else None
        S = A22 - (L21 @ L21.T if schur is None else schur.gram(L21))
        rest = plan.rest if plan is not None else None
        if rest is not None:
            q1 = rest.q1
            return cls(d, L21, cls.from_blocks(np.diag(S)[:q1].copy(), S[q1:, :q1], S[q1:, q1:], rest))
        try:
            L22 = la.cholesky(S, lower=True) if S.size else S
        except (la.LinAlgError, ValueError):  # ValueError: non-finite entries
            raise NotPositiveDefinite("A22 - L21 L21' not finite and positive definite") from None
        return cls(d, L21, L22)

    @property
    def q1(self) -> int:
        return int(self.d.size)

    @property
    def q(self) -> int:
        return self.q1 + self.L21.shape[0]

    def solve(self, b: Arr) -> Arr:
        """``L^-1 b`` (b a vector or a matrix)."""
        q1 = self.q1
        x1 = b[:q1] / (self.d if b.ndim == 1 else self.d[:, None])
        if self.q == q1:
            return x1
        r = b[q1:] - self.L21 @ x1
        x2 = self.L22.solve(r) if isinstance(self.L22, BlockChol) else la.solve_triangular(
            self.L22, r, lower=True, check_finite=False)
        return np.concatenate([x1, x2])

    def solve_t(self, b: Arr) -> Arr:
        """``L'^-1 b`` (b a vector)."""
        q1 = self.q1
        if self.q == q1:
            return b / self.d
        x2 = self.L22.solve_t(b[q1:]) if isinstance(self.L22, BlockChol) else la.solve_triangular(
            self.L22.T, b[q1:], lower=False, check_finite=False)
        return np.concatenate([(b[:q1] - self.L21.T @ x2) / self.d, x2])

    def diag(self) -> Arr:
        return np.concatenate([self.d, self.L22.diag() if isinstance(self.L22, BlockChol) else np.diag(self.L22)])

    def ldL2(self) -> float:
        """``log det(L L') = 2 sum log diag(L)``."""
        return float(2 * np.sum(np.log(self.diag())))

    def dense(self) -> Arr:
        q1, q = self.q1, self.q
        L = np.zeros((q, q))
        L[np.arange(q1), np.arange(q1)] = self.d
        L[q1:, :q1] = self.L21
        L[q1:, q1:] = self.L22.dense() if isinstance(self.L22, BlockChol) else np.tril(self.L22)
        return L


class SchurPlan:
    """``L21 L21'`` from the non-zeros of ``L21`` (q2 x q1; its pattern is ``A21``'s): every pair of
    non-zeros in one column adds to one entry, one ``np.bincount`` (the dense product costs q2^2 q1)."""

    def __init__(self, rows: IArr, cols: IArr, q2: int) -> None:
        order = np.lexsort((rows, cols))
        rows, cols = rows[order], cols[order]
        counts = np.bincount(cols, minlength=int(cols.max(initial=-1)) + 1).astype(np.int64)
        starts = np.cumsum(counts) - counts
        rep = counts[cols]
        self.e1 = np.repeat(np.arange(rows.size, dtype=np.int64), rep)
        within = np.arange(self.e1.size, dtype=np.int64) - np.repeat(np.cumsum(rep) - rep, rep)
        self.e2 = np.repeat(starts[cols], rep) + within
        self.rows, self.cols, self.q2 = rows, cols, q2
        self.pos = rows[self.e1] * q2 + rows[self.e2]
        # pairs grouped by position, in their order within each (stable): bincount's sums are unchanged and
        # the compiled kernel sums each position in one run, without a dense q2 x q2 buffer
        by = np.argsort(self.pos, kind="stable")
        self.e1, self.e2, self.pos = self.e1[by], self.e2[by], self.pos[by]

    @property
    def pairs(self) -> int:
        return int(self.e1.size)

    def gram(self, L21: Arr) -> Arr:
        v = L21[self.rows, self.cols]
        g = np.bincount(self.pos, weights=v[self.e1] * v[self.e2], minlength=self.q2 * self.q2)
        return np.asarray(g, dtype=np.float64).reshape(self.q2, self.q2)


#: a Schur complement's diagonal leading block is split off again when it has at least this many rows
MIN_SPLIT = 16


@dataclass
class ElimPlan:
    """The symbolic part of :meth:`BlockChol.from_blocks` for one level: the diagonal block's size, the
    sparse ``L21 L21'`` (None: dense product) and the plan for the Schur complement (None: dense LAPACK)."""

    q1: int
    schur: SchurPlan | None
    rest: ElimPlan | None

    @classmethod
    def build(cls, r: IArr, c: IArr, q: int) -> ElimPlan:
        """From the symmetric pattern ``(r, c)`` of a q x q matrix (both triangles, the whole diagonal)."""
        off = r != c
        q1 = int(np.min(np.maximum(r[off], c[off]))) if np.any(off) else q
        q2 = q - q1
        in21 = (r >= q1) & (c < q1)
        sch = SchurPlan(r[in21] - q1, c[in21], q2)
        rest = None
        if q2 > 0:
            in22 = (r >= q1) & (c >= q1)
            u = np.unique(np.concatenate([(r[in22] - q1) * q2 + (c[in22] - q1), sch.pos]))
            r2, c2 = u // q2, u % q2
            off2 = r2 != c2
            q1b = int(np.min(np.maximum(r2[off2], c2[off2]))) if np.any(off2) else q2
            if q1b >= MIN_SPLIT or q1b == q2:
                rest = cls.build(r2, c2, q2)
        return cls(q1, sch if 4 * sch.pairs < q2 * q2 * q1 else None, rest)


class CrossPattern:
    """What ``Z' W Z`` and ``Lambda`` keep between PIRLS iterations (R: the symbolic analysis CHOLMOD does
    once in ``merPredD``'s constructor): ``Zt`` is q x n, ``Lambdat0`` Lambdat's pattern (CSC storage
    order = ``Lind``'s order).

    When every term is scalar, ``Lambda`` is the diagonal ``lam`` and ``A = diag(lam) Z'WZ diag(lam) + I``.
    Otherwise the products are taken with ``U = Z Lambda`` (lme4's ``Ut = Lambdat Zt``), whose values are
    formed once per theta on their fixed pattern, and ``lam`` is all ones: ``A = U'WU + I``, with the same
    code (and the same compiled kernel) as the diagonal case, and no sparse matrix product per iteration.
    ``Z``/``Zt`` below are then ``U``/``Ut``."""

    def __init__(self, Zt: sp.spmatrix, Lambdat0: sp.spmatrix, Lind: IArr) -> None:
        Zc = sp.csc_matrix(Zt)
        Zc.sort_indices()
        q, n = Zc.shape
        self.q, self.n = q, n
        Lt = sp.csc_matrix(Lambdat0)
        self._Lt = Lt.copy()
        self._Lind = np.asarray(Lind, dtype=np.int64)
        lrow = Lt.indices.astype(np.int64)
        lcol = np.repeat(np.arange(q, dtype=np.int64), np.diff(Lt.indptr))
        self.diagonal = bool(np.all(lrow == lcol))
        self._lrow = lrow
        if self.diagonal:
            Uc = Zc
        else:
            Uc = self._u_pattern(Zc, Lt)
        self._Uc = Uc
        self.Zt = sp.csr_matrix(Uc)  # Zt @ dense
        self.Z = sp.csr_matrix(Uc.T)  # Z @ dense (linPred)
        if not self.diagonal:  # where U's values (CSC order) go in the two CSR copies
            order = sp.csc_matrix((np.arange(1.0, Uc.nnz + 1.0), Uc.indices, Uc.indptr), shape=Uc.shape)
            self._t_perm = sp.csr_matrix(order).data.astype(np.int64) - 1
            self._z_perm = sp.csr_matrix(order.T).data.astype(np.int64) - 1
        counts = np.diff(Uc.indptr).astype(np.int64)
        obs_of = np.repeat(np.arange(n, dtype=np.int64), counts)  # observation of each stored entry
        rep = counts[obs_of]  # each entry pairs with every entry of its column
        e1 = np.repeat(np.arange(Uc.nnz, dtype=np.int64), rep)
        first = np.repeat(Uc.indptr[:-1].astype(np.int64)[obs_of], rep)
        within = np.arange(e1.size, dtype=np.int64) - np.repeat(np.cumsum(rep) - rep, rep)
        e2 = first + within
        r, s = Uc.indices[e1].astype(np.int64), Uc.indices[e2].astype(np.int64)
        flat, self._inv = np.unique(r * q + s, return_inverse=True)
        self._inv = self._inv.ravel()
        self._obs = obs_of[e1]
        self._e1, self._e2 = e1, e2
        self._coef = Uc.data[e1] * Uc.data[e2]
        self._flat = flat
        self._r, self._s = flat // q, flat % q
        # the pattern of A (positive stand-ins: no cancellation), and its leading diagonal block
        pr = np.concatenate([self._r, np.arange(q)]).astype(np.int64)  # A = ... + I: the whole diagonal
        pc = np.concatenate([self._s, np.arange(q)]).astype(np.int64)
        u = np.unique(pr * q + pc)
        self.plan = ElimPlan.build(u // q, u % q, q)
        self.q1 = q1 = self.plan.q1
        # where each non-zero of U'WU goes in the blocks
        r, c, q2 = self._r, self._s, q - q1
        self._i11 = np.flatnonzero((r < q1) & (c < q1))
        self._t11 = r[self._i11]
        self._i21 = np.flatnonzero((r >= q1) & (c < q1))
        self._t21 = (r[self._i21] - q1) * q1 + c[self._i21]
        self._i22 = np.flatnonzero((r >= q1) & (c >= q1))
        self._t22 = (r[self._i22] - q1) * q2 + (c[self._i22] - q1)
        # what the compiled kernel reads for lam: theta[Lind] at lrow, or all ones (theta = [1.0]) with U
        self.kernel_Lind = self._Lind if self.diagonal else np.zeros(q, dtype=np.int64)
        self.kernel_lrow = self._lrow if self.diagonal else np.arange(q, dtype=np.int64)
        self.lam = np.zeros(q) if self.diagonal else np.ones(q)
        self.Lt = self._Lt

    def _u_pattern(self, Zc: sp.csc_matrix, Lt: sp.csc_matrix) -> sp.csc_matrix:
        """``Ut = Lambdat Zt``'s pattern (q x n, CSC, sorted rows) and the products that make each value:
        ``Ut[c, i] = sum_r Lambdat[c, r] Zt[r, i]`` over Zt's entry ``_zk`` and Lambdat's entry ``_lm``."""
        q, n = Zc.shape
        zr = Zc.indices.astype(np.int64)
        zobs = np.repeat(np.arange(n, dtype=np.int64), np.diff(Zc.indptr))
        cnt = np.diff(Lt.indptr).astype(np.int64)[zr]  # Lambdat's entries in column r
        zk = np.repeat(np.arange(Zc.nnz, dtype=np.int64), cnt)
        within = np.arange(zk.size, dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        lm = np.repeat(Lt.indptr[:-1].astype(np.int64)[zr], cnt) + within
        keys, uidx = np.unique(zobs[zk] * q + Lt.indices[lm].astype(np.int64), return_inverse=True)
        self._zk, self._lm, self._uidx, self._zdata = zk, lm, uidx.ravel(), Zc.data.astype(np.float64)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(keys // q, minlength=n))]).astype(np.int64)
        return sp.csc_matrix((np.ones(keys.size), keys % q, indptr), shape=(q, n))

    def set_theta(self, theta: Arr) -> None:
        """``Lambdat@x = theta[Lind]``: the diagonal ``lam`` (all terms scalar), or the sparse Lambdat and
        ``U``'s values (their products summed in a fixed order) with the pair products ``_coef``."""
        vals = np.asarray(theta, dtype=np.float64)[self._Lind]
        if self.diagonal:
            self.lam = np.zeros(self.q)
            self.lam[self._lrow] = vals
            return
        self.Lt = self._Lt.copy()
        self.Lt.data = vals
        ud = np.bincount(self._uidx, weights=self._zdata[self._zk] * vals[self._lm], minlength=self._Uc.nnz)
        ud = np.asarray(ud, dtype=np.float64)
        self.Zt.data[:] = ud[self._t_perm]
        self.Z.data[:] = ud[self._z_perm]
        self._coef = ud[self._e1] * ud[self._e2]

    def lam_t(self, M: Arr) -> Arr:
        """``diag(lam) @ M`` (vector or matrix): ``Lambdat @ M`` when Lambda is diagonal, M itself with U."""
        return self.lam * M if M.ndim == 1 else self.lam[:, None] * M

    def lam_(self, u: Arr) -> Arr:
        """``Lambda @ u`` (``b`` from ``u``)."""
        return self.lam * u if self.diagonal else np.asarray(self.Lt.T @ u)

    def z_lam(self, u: Arr) -> Arr:
        """``Z Lambda u`` (``U u`` when Lambda is not diagonal)."""
        return np.asarray(self.Z @ (self.lam * u))

    def ut_times(self, sqrtXwt: Arr, M: Arr) -> Arr:
        """``Lambdat Zt diag(sqrtXwt) M`` (lme4's ``Ut``-products: ``LamtUt * M``)."""
        WM = sqrtXwt * M if M.ndim == 1 else sqrtXwt[:, None] * M
        return self.lam_t(np.asarray(self.Zt @ WM))

    def blocks(self, sqrtXwt: Arr) -> tuple[Arr, Arr, Arr]:
        """``diag(A11)``, ``A21`` and ``A22`` of :meth:`A` (``A11`` is diagonal), without the q x q array."""
        q, q1 = self.q, self.q1
        G = self._G(sqrtXwt)
        v = self.lam[self._r] * self.lam[self._s] * G
        a11 = np.zeros(q1)
        a11[self._t11] = v[self._i11]
        a11 += 1.0
        A21 = np.zeros((q - q1) * q1)
        A21[self._t21] = v[self._i21]
        A22 = np.zeros((q - q1) ** 2)
        A22[self._t22] = v[self._i22]
        A22 = A22.reshape(q - q1, q - q1)
        A22[np.diag_indices(q - q1)] += 1.0
        return a11, A21.reshape(q - q1, q1), A22

    def _G(self, sqrtXwt: Arr) -> Arr:
        """The non-zeros of ``Zt W Z`` (``Ut W U`` when Lambda is not diagonal; at ``_flat``)."""
        w2 = sqrtXwt * sqrtXwt
        g = np.bincount(self._inv, weights=self._coef * w2[self._obs], minlength=self._flat.size)
        return np.asarray(g, dtype=np.float64)

    def A(self, sqrtXwt: Arr) -> Arr:
        """``Lambdat Zt W Z Lambda + I``, dense (W = sqrtXwt^2)."""
        q = self.q
        G = self._G(sqrtXwt)
        A = np.zeros(q * q)
        A[self._flat] = self.lam[self._r] * self.lam[self._s] * G
        A = A.reshape(q, q)
        A[np.diag_indices(q)] += 1.0
        return A
