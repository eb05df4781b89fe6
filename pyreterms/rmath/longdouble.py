"""R's summary arithmetic: ``mean``, ``var``, ``sum`` and ``colMeans`` as R 4.2 computes them.

R accumulates these in ``long double`` (80-bit extended precision on x86-64, the same type as numpy's
``longdouble`` there), one element after another, and ``mean``/``var`` make a second, correcting
pass.  numpy's ``mean``/``var`` sum pairwise in double precision, which differs in the last bits.
That matters where lme4 takes a decision on the result: ``mkLmerDevfun``'s start
``sqrt(var(ave(y, f)) / (var(y) - sum(v)))`` is exactly 0 in R when the group means are equal, and
a last-bit remainder (1e-16) in double precision starts BOBYQA at a different point with a step
scaled to it.  Written by hand because no library reproduces R's accumulation order; the sources are
R's ``src/main/summary.c`` (``real_mean``, ``rsum``), ``src/library/stats/src/cov.c``
(``cov_na_1`` with its ``MEAN_`` macro, ``use = "everything"``) and ``src/main/array.c``
(``do_colsum``).
"""
from __future__ import annotations

import numpy as np

__all__ = ["r_sum", "r_mean", "r_var", "r_col_mean", "r_group_means"]

_LD = np.longdouble


def _seq_sum(x: np.ndarray) -> np.longdouble:
    """Left-to-right sum in long double (``np.add.accumulate`` is sequential, unlike ``np.sum``)."""
    if x.size == 0:
        return _LD(0.0)
    return np.add.accumulate(x.astype(_LD))[-1]


def r_sum(x: np.ndarray) -> float:
    """R: ``sum(x)`` for a double vector (``rsum``: long double accumulator)."""
    return float(_seq_sum(np.asarray(x, dtype=np.float64)))


def r_col_mean(x: np.ndarray) -> float:
    """R: ``colMeans`` of one column (``do_colsum``: long double sum, one division, no second pass)."""
    x = np.asarray(x, dtype=np.float64)
    return float(_seq_sum(x) / _LD(x.size))


def r_mean(x: np.ndarray) -> float:
    """R: ``mean(x)`` for a double vector (``real_mean``): ``s = sum / n`` in long double, then
    ``s += sum(x - s) / n`` in long double, rounded to double once at the end."""
    x = np.asarray(x, dtype=np.float64)
    n = _LD(x.size)
    s = _seq_sum(x)
    if np.isfinite(float(s)):
        s = s / n
    else:  # R retries with the terms divided by n (an overflowed sum)
        s = _seq_sum(x.astype(_LD) / n)
    if np.isfinite(float(s)):
        s = s + _seq_sum(x.astype(_LD) - s) / n
    return float(s)


def r_var(x: np.ndarray) -> float:
    """R: ``var(x)`` for a double vector (``cov_na_1``): the two-pass mean of ``MEAN_`` rounded to
    double, then ``sum((x - m) * (x - m)) / (n - 1)`` in long double.  NA for ``n < 2`` (nan here)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 2 or np.isnan(x).any():
        return float("nan")
    xl = x.astype(_LD)
    tmp = _seq_sum(xl) / _LD(n)
    if np.isfinite(float(tmp)):
        tmp = tmp + _seq_sum(xl - tmp) / _LD(n)
    m = _LD(float(tmp))  # xm[i] = (double) tmp, read back into a long double xxm
    d = xl - m
    return float(_seq_sum(d * d) / _LD(n - 1))


def _padded_rows(v: np.ndarray, starts: np.ndarray, sizes: np.ndarray, width: int) -> np.ndarray:
    """Groups of ``v`` as rows of a zero-padded (groups x width) long double matrix (adding an exact
    0 leaves a sum unchanged, so a row's left-to-right sum is the group's sequential sum)."""
    M = np.zeros((starts.size, width), dtype=_LD)
    col = np.arange(width)
    take = col[None, :] < sizes[:, None]
    M[take] = v[(starts[:, None] + col[None, :])[take]]
    return M


def r_group_means(y: np.ndarray, codes: np.ndarray, nlevels: int) -> np.ndarray:
    """R: ``ave(y, f)``'s per-level values, ``lapply(split(y, f), mean)``: :func:`r_mean` of each
    level's values in data order (NaN for an empty level, as ``mean(numeric(0))``).  Levels of up to
    64 observations are summed as rows of one padded matrix, larger ones one by one."""
    y = np.asarray(y, dtype=np.float64)
    codes = np.asarray(codes)
    order = np.argsort(codes, kind="stable")  # split() keeps data order within a level
    ys = y[order]
    bounds = np.searchsorted(codes[order], np.arange(nlevels + 1))
    starts, sizes = bounds[:-1], np.diff(bounds)
    out = np.full(nlevels, np.nan)
    small = np.flatnonzero((sizes > 0) & (sizes <= 64))
    if small.size:
        w = int(sizes[small].max())
        st, sz = starts[small], sizes[small]
        n = sz.astype(_LD)
        P = _padded_rows(ys.astype(_LD), st, sz, w)
        s = np.add.accumulate(P, axis=1)[:, -1] / n
        fin = np.isfinite(s.astype(np.float64))
        # second pass (x - s), padded with exact zeros after the differences are formed
        M = P - s[:, None]
        M[np.arange(w)[None, :] >= sz[:, None]] = 0
        corr = np.add.accumulate(M, axis=1)[:, -1] / n
        s = np.where(fin, s + corr, s)
        out[small] = s.astype(np.float64)
        if not fin.all():  # an overflowed level: R's retry, one by one
            for k in small[~fin]:
                out[k] = r_mean(ys[starts[k]:starts[k] + sizes[k]])
    for k in np.flatnonzero(sizes > 64):
        out[k] = r_mean(ys[starts[k]:starts[k] + sizes[k]])
    return out
