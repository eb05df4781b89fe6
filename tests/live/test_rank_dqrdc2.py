"""lme4's rank check (``chkRank.drop.cols``) rests on R's ``qr(X, tol = 1e-7, LAPACK = FALSE)``
(LINPACK ``dqrdc2``, limited pivoting).  Our port (pyreterms.design.rank) against R itself: rank and
pivot exactly, on matrices built to sit on either side of the tolerance, with zero and huge columns."""
from __future__ import annotations

import numpy as np
import pytest

from pyreterms.design.rank import drop_rank_deficient, dqrdc2_rank_pivot

pytestmark = pytest.mark.r


def _matrices() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    out: list[np.ndarray] = []
    for k in range(40):
        n = int(rng.integers(3, 40))
        p = int(rng.integers(1, 7))
        X = rng.normal(size=(n, p))
        if p >= 3:  # a column that is (nearly) a combination of two others
            eps = [0.0, 1e-12, 1e-9, 5e-8, 2e-7, 1e-5][k % 6]
            X[:, 2] = X[:, 0] - 2 * X[:, 1] + eps * rng.normal(size=n)
        if k % 5 == 0:
            X[:, -1] = 0.0
        if k % 7 == 0:  # huge entries: sqrt(x @ x) overflows, BLAS dnrm2 does not
            X *= 10.0 ** int(rng.integers(150, 300))
        if k % 11 == 0:
            X *= 1e-160
        X[:, 0] = 1.0 if k % 2 else X[:, 0]
        out.append(X)
    out.append(np.array([[1, 1e160, 2e160], [1, 2e160, 4e160], [1, 3e160, 6e160], [1, 4e160, 8e160]]))
    out.append(np.zeros((4, 2)))
    out.append(np.ones((2, 4)))  # n < p
    return out


def test_rank_and_pivot_equal_r(R):
    from rpy2.robjects import FloatVector

    rqr = R.r_eval("function(x, n) { q <- qr(matrix(x, nrow = n), tol = 1e-7, LAPACK = FALSE); "
                   "c(q$rank, q$pivot - 1L) }")
    mism = []
    for i, X in enumerate(_matrices()):
        n = X.shape[0]
        got = np.asarray(rqr(FloatVector(X.ravel(order="F")), n), dtype=int)
        rank, piv = dqrdc2_rank_pivot(X)
        if rank != got[0] or list(piv) != list(got[1:]):
            mism.append((i, (rank, list(piv)), (int(got[0]), list(got[1:]))))
    assert not mism, mism


def test_huge_columns_are_dropped_as_lme4_drops_them(R):
    X = np.array([[1, 1e160, 2e160], [1, 2e160, 4e160], [1, 3e160, 6e160], [1, 4e160, 8e160]])
    keep_r = R.r_eval("function(x) { X <- matrix(x, 4); colnames(X) <- c('a', 'b', 'c'); "
                      "colnames(lme4:::chkRank.drop.cols(X, 'silent.drop.cols', 1e-7)) }")
    from rpy2.robjects import FloatVector

    _, keep, msg = drop_rank_deficient(X, ("a", "b", "c"))
    assert [("a", "b", "c")[j] for j in keep] == list(keep_r(FloatVector(X.ravel(order="F"))))
    assert msg is not None and "dropping 1 column" in msg


def test_dnrm2_bit_for_bit_with_rs_blas(R):
    """The column norm dqrdc2 starts from is R's BLAS dnrm2: R's ``qr(x)$qr[1, 1]`` is ``-sign(x[1])
    * dnrm2(x)`` for a one-column x with n >= 2.  Our port equals it bit for bit over 40 orders of
    magnitude either side, mid-range columns with one huge or one tiny entry included."""
    from rpy2.robjects import FloatVector

    from pyreterms.rmath.blas import dnrm2

    f = R.r_eval("function(x) -sign(x[1]) * qr(matrix(x), LAPACK = FALSE)$qr[1, 1]")
    rng = np.random.default_rng(11)
    mism = []
    for k in range(300):
        n = int(rng.integers(2, 2000))
        x = rng.normal(size=n) * 10.0 ** int(rng.integers(-150, 150))
        if k % 5 == 0:
            x[rng.integers(0, n)] = 1e300
        if k % 7 == 0:
            x[rng.integers(0, n)] = 1e-300
        if x[0] == 0.0:
            x[0] = 1.0
        r = float(f(FloatVector(x))[0])
        if dnrm2(x) != r:
            mism.append((k, n, dnrm2(x), r))
    assert not mism, mism[:5]
