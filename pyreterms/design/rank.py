"""lme4's fixed-effects checks: rank deficiency (``chkRank.drop.cols``) and scaling (``checkScaleX``).

R equivalents: ``lme4:::chkRank.drop.cols(X, kind = "message+drop.cols", tol = 1e-7)`` and
``lme4:::checkScaleX(X, "warning")``.  Rank is decided by ``qr(X, tol = 1e-7, LAPACK = FALSE)``,
i.e. LINPACK ``dqrdc2`` with *limited column pivoting*: a column whose norm, after removing the
earlier accepted columns, falls below ``tol`` times its original norm is moved to the end.  numpy
and scipy only offer LAPACK's greedy pivoting (``geqp3``), which can choose other columns, so we
port ``dqrdc2`` (over columns; the row arithmetic is vectorised).
"""
from __future__ import annotations

import numpy as np

from pyreterms.rmath.blas import dnrm2 as _nrm2  # R's BLAS dnrm2: no overflow, R's rounding


def dqrdc2_rank_pivot(X: np.ndarray, tol: float = 1e-7) -> tuple[int, np.ndarray]:
    """R: ``qr(X, tol, LAPACK = FALSE)[c("rank", "pivot")]`` (pivot 0-based)."""
    x = np.array(X, dtype=np.float64, order="F", copy=True)
    n, p = x.shape
    jpvt = np.arange(p)
    qraux = np.array([_nrm2(x[:, j]) for j in range(p)]) if n else np.zeros(p)
    work1 = qraux.copy()
    work2 = qraux.copy()
    work2[work2 == 0.0] = 1.0
    lup = min(n, p)
    k = p + 1  # 1-based as in the Fortran
    for l in range(lup):  # noqa: E741 - dqrdc2's own loop index; 0-based l, Fortran l = l + 1
        while (l + 1) < k and qraux[l] < work2[l] * tol:
            # move column l to the end
            x[:, l:] = np.concatenate([x[:, l + 1:], x[:, l:l + 1]], axis=1)
            for arr in (jpvt, qraux, work1, work2):
                arr[l:] = np.concatenate([arr[l + 1:], arr[l:l + 1]])
            k -= 1
        if l == n - 1:
            break
        col = x[l:, l]
        nrmxl = _nrm2(col)
        if nrmxl == 0.0:
            continue
        if x[l, l] != 0.0:
            nrmxl = abs(nrmxl) * (1.0 if x[l, l] > 0 else -1.0)
        x[l:, l] = col / nrmxl
        x[l, l] = 1.0 + x[l, l]
        if l + 1 < p:
            v = x[l:, l]
            t = -(v @ x[l:, l + 1:]) / x[l, l]
            x[l:, l + 1:] += np.outer(v, t)
            for j in range(l + 1, p):
                if qraux[j] == 0.0:
                    continue
                tt = max(1.0 - (abs(x[l, j]) / qraux[j]) ** 2, 0.0)
                if abs(tt) < 1e-6:
                    qraux[j] = _nrm2(x[l + 1:, j])
                    work1[j] = qraux[j]
                else:
                    qraux[j] = qraux[j] * np.sqrt(tt)
        qraux[l] = x[l, l]
        x[l, l] = -nrmxl
    rank = min(k - 1, n)
    return rank, jpvt


def clearly_full_rank(X: np.ndarray, tol: float = 1e-7, margin: float = 1e4) -> bool:
    """True when dqrdc2 provably pivots nothing: every column keeps more than ``margin * tol`` of
    its norm after projecting out the earlier columns (|R_jj| / ||x_j|| of an unpivoted QR,
    here from the Cholesky factor of the column-scaled Gram matrix).

    dqrdc2 compares its (down-dated or recomputed) norm estimates with ``tol * ||x_j||``; those
    estimates are accurate to far better than the 1e4 margin, so the outcome (rank p, no pivoting)
    is the same.  Anything close to the threshold returns False and takes the exact port."""
    n, p = X.shape
    if n < p or p == 0 or not np.all(np.isfinite(X)):
        return False
    norms = np.sqrt(np.einsum("ij,ij->j", X, X))
    if np.any(norms == 0.0):
        return False
    Xs = X / norms
    try:  # R_jj^2 = pivots of the Cholesky of the scaled Gram matrix (error ~ p * eps << margin * tol)
        L = np.linalg.cholesky(Xs.T @ Xs)
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(np.diag(L) > margin * tol))


def drop_rank_deficient(X: np.ndarray, colnames: tuple[str, ...], tol: float = 1e-7
                        ) -> tuple[np.ndarray, tuple[int, ...], str | None]:
    """R: ``chkRank.drop.cols``: keep ``pivot[1:rank]`` in original order; returns the kept column
    indices and lme4's message (None when X has full column rank)."""
    p = X.shape[1]
    if p == 0:
        return X, (), None
    if clearly_full_rank(X, tol):
        return X, tuple(range(p)), None
    rank, pivot = dqrdc2_rank_pivot(X, tol)
    if rank == p:
        return X, tuple(range(p)), None
    keep = tuple(int(j) for j in pivot[:rank])
    ndrop = p - rank
    msg = ("fixed-effect model matrix is rank deficient so dropping "
           f"{ndrop} column{'s' if ndrop > 1 else ''} / coefficient{'s' if ndrop > 1 else ''}")
    return X[:, list(keep)], keep, msg


def pivot_rest(X: np.ndarray, keep: tuple[int, ...], tol: float = 1e-7) -> list[int]:
    """The dropped columns in ``dqrdc2``'s pivot order (R: ``qr.X$pivot[(rank + 1):p]``, 0-based)."""
    rank, pivot = dqrdc2_rank_pivot(X, tol)
    return [int(j) for j in pivot[rank:]]


def check_scale_x(X: np.ndarray) -> str | None:
    """R: ``checkScaleX(X, "warning")``: warn when the sds of non-0/1 columns span > 1000x."""
    if X.shape[0] < 2:
        return None
    cont = np.flatnonzero(~((X == 0.0) | (X == 1.0)).all(axis=0)).tolist()
    if not cont:
        return None
    sds = X[:, cont].std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        logsd = np.log(sds)
    lim = np.log(1000.0)
    diffs = np.abs(logsd[:, None] - logsd[None, :])
    if np.nanmax(np.abs(logsd)) > lim or (len(cont) > 1 and np.nanmax(diffs) > lim):
        return "Some predictor variables are on very different scales: consider rescaling"
    return None
