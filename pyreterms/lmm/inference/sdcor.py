"""lme4's parameter scales for profiling (lme4 1.1-31 ``R/vcconv.R``): ``Cv_to_Sv`` (theta, the
Cholesky-factor vector of each term, to standard deviations and correlations, times ``sigma``),
``Sv_to_Cv`` (back, through ``safe_chol``) and the names ``profnames`` gives them
(``.sig01``, ..., ``.sigma``, or with ``signames = FALSE`` ``sd_(Intercept)|Subject``, ``cor_...``, ``sigma``).
Within a term the order is R's: the lower triangle column by column (``[sd1, cor21, sd2]`` for 2 x 2).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_EPS = float(np.finfo(float).eps)


def _lower_tri(nc: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of R's ``lower.tri(m, diag = TRUE)`` (column-major)."""
    rows, cols = [], []
    for c in range(nc):
        for r in range(c, nc):
            rows.append(r)
            cols.append(c)
    return np.array(rows, dtype=int), np.array(cols, dtype=int)


def _split(v: np.ndarray, ncs: Sequence[int]) -> list[np.ndarray]:
    out, k = [], 0
    for nc in ncs:
        m = nc * (nc + 1) // 2
        out.append(np.asarray(v[k:k + m], dtype=float))
        k += m
    return out


def cv_to_sv(theta: np.ndarray, ncs: Sequence[int], s: float) -> np.ndarray:
    """R: ``Cv_to_Sv(theta, n = ncs, s = sigma)``: per term sd/cor of ``s^2 T T'``, then ``s``."""
    out: list[float] = []
    for v, nc in zip(_split(theta, ncs), ncs, strict=True):
        r, c = _lower_tri(nc)
        T = np.zeros((nc, nc))
        T[r, c] = v
        V = (T @ T.T) * s ** 2
        sd = np.sqrt(np.diag(V))
        with np.errstate(divide="ignore", invalid="ignore"):
            isd = 1.0 / sd
            R = isd[:, None] * V * isd[None, :]
        np.fill_diagonal(R, sd)
        R[np.isnan(R)] = 0.0  # R: "NA values in sdcor matrix converted to 0" (a zero sd)
        out += [float(R[i, j]) for i, j in zip(r, c, strict=True)]
    return np.array(out + [s])


def _pivoted_chol(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """R: ``chol(A, pivot = TRUE)`` (LAPACK ``dpstrf``, tol = n eps max(diag)): (upper R, pivot)."""
    A = A.copy()
    n = A.shape[0]
    piv = np.arange(n)
    tol = n * _EPS * float(np.max(np.diag(A)))
    R = np.zeros((n, n))
    for j in range(n):
        d = np.diag(A)[j:] - np.sum(R[:j, j:] ** 2, axis=0)
        k = j + int(np.argmax(d))
        if d[k - j] <= tol:
            break
        if k != j:
            A[[j, k], :] = A[[k, j], :]
            A[:, [j, k]] = A[:, [k, j]]
            R[:, [j, k]] = R[:, [k, j]]
            piv[[j, k]] = piv[[k, j]]
        R[j, j] = np.sqrt(A[j, j] - R[:j, j] @ R[:j, j])
        R[j, j + 1:] = (A[j, j + 1:] - R[:j, j] @ R[:j, j + 1:]) / R[j, j]
    return R, piv


def _safe_chol(m: np.ndarray) -> np.ndarray:
    """R: ``lme4:::safe_chol`` (upper factor)."""
    if np.any(np.isnan(m)) or np.all(m == 0):
        return m
    if m.shape[0] == 1:
        return np.sqrt(m)
    if np.all(m[~np.eye(m.shape[0], dtype=bool)] == 0):
        return np.diag(np.sqrt(np.diag(m)))
    try:
        return np.asarray(np.linalg.cholesky(m).T)
    except np.linalg.LinAlgError:
        R, piv = _pivoted_chol(m)
        return R[:, np.argsort(piv, kind="stable")]


def _mlist2vec(x: np.ndarray) -> np.ndarray:
    """R: ``mlist2vec`` for one matrix: its lower triangle if the upper one is zero, else ``t(x)``'s."""
    nc = x.shape[0]
    r, c = _lower_tri(nc)
    iu = np.triu(np.ones((nc, nc), dtype=bool), 1)
    return x[r, c] if np.all(x[iu] == 0) else x.T[r, c]


def sv_to_cv(v: np.ndarray, ncs: Sequence[int], s: float) -> np.ndarray:
    """R: ``Sv_to_Cv(v, n = ncs, s = sigma)`` (``v`` with sigma last, as ``devfun2`` passes it)."""
    out: list[np.ndarray] = []
    for w, nc in zip(_split(np.asarray(v[:-1], dtype=float), ncs), ncs, strict=True):
        r, c = _lower_tri(nc)
        m = np.zeros((nc, nc))
        m[r, c] = w
        m[c, r] = w
        sd = np.diag(m).copy()
        np.fill_diagonal(m, 1.0)
        cov = m * np.outer(sd, sd) / s ** 2
        out.append(_mlist2vec(_safe_chol(cov).T))
    return np.concatenate(out) if out else np.zeros(0)


def prof_names(cnms: Sequence[tuple[str, Sequence[str]]], signames: bool = True) -> list[str]:
    """R: ``profnames(fit, signames)`` for an LMM: ``.sig01``... ``.sigma``, or ``tnames(old = FALSE,
    prefix = c("sd", "cor"))`` and ``sigma``."""
    ntheta = sum(len(cn) * (len(cn) + 1) // 2 for _, cn in cnms)
    if signames:
        return [f".sig{i + 1:02d}" for i in range(ntheta)] + [".sigma"]
    out = []
    for g, cn in cnms:
        r, c = _lower_tri(len(cn))
        out += [f"sd_{cn[i]}|{g}" if i == j else f"cor_{cn[i]}.{cn[j]}|{g}" for i, j in zip(r, c, strict=True)]
    return out + ["sigma"]


__all__ = ["cv_to_sv", "sv_to_cv", "prof_names"]
