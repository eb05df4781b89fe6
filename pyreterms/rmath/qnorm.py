"""R's normal quantile function ``qnorm`` exactly as R 4.2 computes it (``src/nmath/qnorm.c``).

R 4.2's ``qnorm5`` is Wichura's AS 241 (``PPND16``): a rational function of ``q = p - 1/2`` for
``|q| <= .425`` and of ``r = sqrt(-log(min(p, 1-p)))`` otherwise (two pieces, split at ``r = 5``),
with the asymptotic ``r * sqrt(2)`` for ``r >= 816`` (reachable only with ``log_p``).  R 4.3 changed
the far tail (``r > 27``: Newton steps on ``pnorm``), so this port follows the 4.2 source, which is
what the installed R 4.2.2 runs.  It is written by hand (not ``scipy.special.ndtri``, which uses
Cephes' different approximation and differs from R in the last bits) because inversion-method
``rnorm`` (``pyreterms.rmath.rng``) needs R's quantiles bit for bit.

Every operation is ordered as in the C source, on IEEE doubles, with ``log``/``exp``/``expm1``
from the C library (``math``), as R calls them; R 4.2 on x86-64 is built without fused
multiply-add, so numpy's element-wise ``+ * /`` give the same bits.  numpy's own ``log`` may use
SIMD code that differs from the C library's in the last bit, so the tails go through ``math.log``.
"""
from __future__ import annotations

import math
import warnings
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from pyreterms.errors import RWarning

__all__ = ["qnorm", "qnorm5", "qnorm_std"]

_NEGINF = -math.inf
_POSINF = math.inf
_M_SQRT2 = 1.41421356237309504880

#: the polynomial pieces take a float or a float64 array (only ``+ * /``, so both give the C bits)
_FloatOrArray = TypeVar("_FloatOrArray", float, npt.NDArray[np.float64])


def _tail_value(r: float) -> float:
    """AS 241 for ``r = sqrt(-log(min(p, 1-p)))`` (``r > 0``), before the sign: qnorm.c's else-branch."""
    if r <= 5.0:
        return _tail_lo(r)
    if r >= 816:
        return r * _M_SQRT2
    return _tail_hi(r)


def _tail_lo(r: _FloatOrArray) -> _FloatOrArray:  # r <= 5
    r = r + -1.6  # r += -1.6
    return ((((((((r * 7.7454501427834140764e-4 +
                   .0227238449892691845833) * r + .24178072517745061177) *
                 r + 1.27045825245236838258) * r +
                3.64784832476320460504) * r + 5.7694972214606914055) *
              r + 4.6303378461565452959) * r +
             1.42343711074968357734)
            / (((((((r *
                     1.05075007164441684324e-9 + 5.475938084995344946e-4) *
                    r + .0151986665636164571966) * r +
                   .14810397642748007459) * r + .68976733498510000455) *
                 r + 1.6763848301838038494) * r +
                2.05319162663775882187) * r + 1.))


def _tail_hi(r: _FloatOrArray) -> _FloatOrArray:  # 5 < r < 816
    r = r + -5.  # r += -5.
    return ((((((((r * 2.01033439929228813265e-7 +
                   2.71155556874348757815e-5) * r +
                  .0012426609473880784386) * r + .026532189526576123093) *
                r + .29656057182850489123) * r +
               1.7848265399172913358) * r + 5.4637849111641143699) *
             r + 6.6579046435011037772)
            / (((((((r *
                     2.04426310338993978564e-15 + 1.4215117583164458887e-7) *
                    r + 1.8463183175100546818e-5) * r +
                   7.868691311456132591e-4) * r + .0148753612908506148525)
                 * r + .13692988092273580531) * r +
                .59983220655588793769) * r + 1.))


def _central(q: _FloatOrArray) -> _FloatOrArray:
    r = .180625 - q * q
    return (q * (((((((r * 2509.0809287301226727 +
                       33430.575583588128105) * r + 67265.770927008700853) * r +
                     45921.953931549871457) * r + 13731.693765509461125) * r +
                   1971.5909503065514427) * r + 133.14166789178437745) * r +
                 3.387132872796366608)
            / (((((((r * 5226.495278852854561 +
                     28729.085735721942674) * r + 39307.89580009271061) * r +
                   21213.794301586595867) * r + 5394.1960214247511077) * r +
                 687.1870074920579083) * r + 42.313330701600911252) * r + 1.))


def qnorm5(p: float, mu: float = 0.0, sigma: float = 1.0, lower_tail: bool = True,  # noqa: C901 - R's qnorm.c branch for branch
           log_p: bool = False) -> float:
    """R's C ``qnorm5(p, mu, sigma, lower_tail, log_p)`` (nmath/qnorm.c, R 4.2) for one double.

    Out-of-range ``p`` (or ``sigma < 0``) gives NaN and an :class:`RWarning` "NaNs produced", as R.
    """
    p, mu, sigma = float(p), float(mu), float(sigma)
    if math.isnan(p) or math.isnan(mu) or math.isnan(sigma):
        return p + mu + sigma
    # R_Q_P01_boundaries(p, ML_NEGINF, ML_POSINF)
    if log_p:
        if p > 0:
            return _nan_warn()
        if p == 0:
            return _POSINF if lower_tail else _NEGINF
        if p == _NEGINF:
            return _NEGINF if lower_tail else _POSINF
    else:
        if p < 0 or p > 1:
            return _nan_warn()
        if p == 0:
            return _NEGINF if lower_tail else _POSINF
        if p == 1:
            return _POSINF if lower_tail else _NEGINF
    if sigma < 0:
        return _nan_warn()
    if sigma == 0:
        return mu
    # p_ = R_DT_qIv(p)
    if log_p:
        p_ = math.exp(p) if lower_tail else -math.expm1(p)
    else:
        p_ = p if lower_tail else (0.5 - p + 0.5)
    q = p_ - 0.5
    if math.fabs(q) <= .425:
        val = _central(q)
    else:
        if log_p and ((lower_tail and q <= 0) or (not lower_tail and q > 0)):
            r = p
        else:
            if q > 0:  # R_DT_CIv(p): 1 - p
                if log_p:
                    c = -math.expm1(p) if lower_tail else math.exp(p)
                else:
                    c = (0.5 - p + 0.5) if lower_tail else p
            else:
                c = p_
            r = math.log(c)
        r = math.sqrt(-r)
        val = _tail_value(r)
        if q < 0.0:
            val = -val
    return mu + sigma * val


def _nan_warn() -> float:
    warnings.warn("NaNs produced", RWarning, stacklevel=3)
    return math.nan


def qnorm_std(p: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``qnorm5(p, 0, 1, 1, 0)`` element-wise for ``p`` strictly inside (0, 1), as ``norm_rand``'s
    INVERSION calls it (nmath/snorm.c), vectorised: only ``+ * / sqrt`` in numpy, the tails' ``log`` the
    C library's ``log`` (``math.log``)."""
    p = np.asarray(p, dtype=np.float64)
    q = p - 0.5
    mid = np.abs(q) <= .425
    val = np.empty_like(p)
    val[mid] = _central(q[mid])
    tail = ~mid
    qt, pt = q[tail], p[tail]
    c = np.where(qt > 0, 0.5 - pt + 0.5, pt)
    r = np.sqrt(-np.array(list(map(math.log, c.tolist())), dtype=np.float64))  # C library log
    v = np.empty_like(r)
    lo, hi = r <= 5.0, r >= 816
    mid_r = ~lo & ~hi
    v[lo] = _tail_lo(r[lo])
    v[hi] = r[hi] * _M_SQRT2
    v[mid_r] = _tail_hi(r[mid_r])
    val[tail] = np.where(qt < 0.0, -v, v)
    return 0.0 + 1.0 * val


def qnorm(p: npt.ArrayLike, mean: npt.ArrayLike = 0.0, sd: npt.ArrayLike = 1.0, lower_tail: bool = True,
          log_p: bool = False) -> float | npt.NDArray[np.float64]:
    """R: ``qnorm(p, mean = 0, sd = 1, lower.tail = TRUE, log.p = FALSE)`` (nmath/qnorm.c, R 4.2).

    ``p``, ``mean`` and ``sd`` are recycled to the longest as in R (``math2``/``math3`` in
    arithmetic.c); a scalar in all three gives a float, otherwise a float64 array.  NaNs for
    out-of-range arguments come with one :class:`RWarning` "NaNs produced".
    """
    scalar = all(np.ndim(a) == 0 for a in (p, mean, sd))
    arrs = [np.atleast_1d(np.asarray(a, dtype=np.float64)).ravel() for a in (p, mean, sd)]
    n = 0 if any(a.size == 0 for a in arrs) else max(a.size for a in arrs)
    out = np.empty(n)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(n):
            out[i] = qnorm5(arrs[0][i % arrs[0].size], arrs[1][i % arrs[1].size],
                            arrs[2][i % arrs[2].size], bool(lower_tail), bool(log_p))
    if caught:
        warnings.warn("NaNs produced", RWarning, stacklevel=2)
    return float(out[0]) if scalar else out
