"""R's family and link functions as compiled element kernels (numba), for the compiled PIRLS
(:mod:`pyreterms.glmm.pirlsjit`): lme4's ``glmFamily.cpp`` (``linkInv``, ``muEta``, ``variance``,
``devResid``, ``aic``) one element at a time, written beside the readable numpy versions in
:mod:`pyreterms.glmm.links` and :mod:`pyreterms.glmm.family`, which stay the reference they are tested
against (``tests/unit/test_glmm_kernel.py``).

Same bits as the numpy path: ``math.log``/``exp``/``expm1``/``atan``/``pow`` compile to calls of the C
library's functions (numba without fastmath and without SVML: no vectorised approximations), the same
functions :mod:`pyreterms.rmath.libm` maps; the probit's ``ndtr`` and ``aic``'s ``gammaln`` are scipy's own
compiled functions (``scipy.special.cython_special``, registered as symbols so the cache stays valid);
sums are numpy's pairwise summation (:func:`pairwise_sum`).  Codes: :data:`LINKS`, :data:`FAMILIES`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import binding as _llvm  # type: ignore[import-untyped]
from numba import types
from numba.extending import get_cython_function_address

from pyreterms.jitcache import jit_numpy_errors, prepare
from pyreterms.lmm.jitblas import pairwise_sum_range

LINKS = {"logit": 0, "probit": 1, "cauchit": 2, "cloglog": 3, "log": 4, "identity": 5, "inverse": 6, "sqrt": 7,
         "1/mu^2": 8}
FAMILIES = {"binomial": 0, "poisson": 1, "Gamma": 2, "inverse.gaussian": 3, "gaussian": 4}

_EPS = float(np.finfo(np.float64).eps)
_M_1_SQRT_2PI = 0.398942280401432677939946059934
_BIG_DNORM = 2 * math.sqrt(float(np.finfo(np.float64).max))

prepare(__file__)


def _register(symbol: str, cython_name: str) -> Any:
    """A scipy.special compiled function as an external symbol (by name: numba's on-disk cache holds no
    address of this process)."""
    _llvm.add_symbol(symbol, get_cython_function_address("scipy.special.cython_special", cython_name))
    return types.ExternalFunction(symbol, types.float64(types.float64))


_ndtr = _register("pyreterms_scipy_ndtr", "__pyx_fuse_1ndtr")
_gammaln = _register("pyreterms_scipy_gammaln", "gammaln")



@jit_numpy_errors
def _nanmax(a: float, b: float) -> float:
    """``np.maximum(a, b)`` (NaN propagates)."""
    if a != a or b != b:
        return a + b
    return a if a >= b else b


@jit_numpy_errors
def _nanmin(a: float, b: float) -> float:
    """``np.minimum(a, b)`` (NaN propagates)."""
    if a != a or b != b:
        return a + b
    return a if a <= b else b


@jit_numpy_errors
def _clamp01(x: float) -> float:
    return _nanmax(_EPS, _nanmin(1 - _EPS, x))


@jit_numpy_errors
def dnorm(x: float) -> float:
    """R's ``dnorm(x)`` (``nmath/dnorm.c``; :func:`pyreterms.glmm.links.dnorm`)."""
    x = abs(x)
    if x >= _BIG_DNORM:
        return 0.0
    if x < 5:
        return _M_1_SQRT_2PI * math.exp(-0.5 * x * x)
    x1 = np.rint(x * 65536.0) / 65536.0
    x2 = x - x1
    return _M_1_SQRT_2PI * (math.exp(-0.5 * x1 * x1) * math.exp((-0.5 * x2 - x1) * x2))


@jit_numpy_errors
def pcauchy(x: float) -> float:
    """R's ``pcauchy(x)`` (:func:`pyreterms.glmm.links.pcauchy`)."""
    if abs(x) > 1:
        y = math.atan(1 / x) / np.pi
        return 1 - y if x > 0 else -y
    return 0.5 + math.atan(x) / np.pi


@jit_numpy_errors
def linkinv(link: int, eta: float) -> float:
    """lme4's ``linkInv`` (the ``lme4_linkinv`` of :mod:`pyreterms.glmm.links`)."""
    if link == 0:
        return _clamp01(1 / (1 + math.exp(-eta)))
    if link == 1:
        return _nanmin(1 - _EPS, _ndtr(eta))
    if link == 2:
        return _nanmin(1 - _EPS, pcauchy(eta))
    if link == 3:
        return _clamp01(-math.expm1(-math.exp(eta)))
    if link == 4:
        return _nanmax(math.exp(eta), _EPS)
    if link == 5:
        return eta
    if link == 6:
        return 1 / eta
    if link == 7:
        return eta * eta
    return 1 / math.sqrt(eta)


@jit_numpy_errors
def mu_eta(link: int, eta: float) -> float:
    """lme4's ``muEta`` (the ``lme4_mu_eta`` of :mod:`pyreterms.glmm.links`)."""
    if link == 0:
        e = math.exp(-abs(eta))
        t = 1 + e
        return _nanmax(_EPS, e / (t * t))
    if link == 1:
        return dnorm(eta)
    if link == 2:
        return 1 / (np.pi * (1 + eta * eta))
    if link == 3:
        return _nanmax(_EPS, math.exp(eta - math.exp(eta)))
    if link == 4:
        return _nanmax(math.exp(eta), _EPS)
    if link == 5:
        return 1.0
    if link == 6:
        return -1 / (eta * eta)
    if link == 7:
        return 2 * eta
    return -1 / (2 * math.pow(eta, 1.5))


@jit_numpy_errors
def variance(fam: int, mu: float) -> float:
    """lme4's ``variance`` (the families' ``lme4_variance``)."""
    if fam == 0:
        return _nanmax(_EPS, mu * (1 - mu))
    if fam == 1:
        return mu
    if fam == 2:
        return mu * mu
    if fam == 3:
        return math.pow(mu, 3.0)
    return 1.0


@jit_numpy_errors
def _ylogy(y: float, mu: float) -> float:
    return y * math.log(y / mu) if y != 0 else 0.0


@jit_numpy_errors
def dev_resid(fam: int, y: float, mu: float, wt: float) -> float:
    """R's ``dev.resids`` for one observation (:mod:`pyreterms.glmm.family`)."""
    if fam == 0:
        return 2 * wt * (_ylogy(y, mu) + _ylogy(1 - y, 1 - mu))
    if fam == 1:
        # branch-free: the log of a harmless argument where y = 0, the value chosen after, so the loop over
        # the observations selects instead of branching on the counts (a sparse count response mispredicts
        # about half of such branches: 1.08 against 0.50 ms at n = 100,000); the value chosen is the
        # branching form's, bit for bit
        pos = y > 0
        r = 2 * (wt * (y * math.log((y if pos else 1.0) / mu) - (y - mu)))
        return r if pos else 2 * (mu * wt)
    if fam == 2:
        return -2 * wt * (math.log(1.0 if y == 0 else y / mu) - (y - mu) / mu)
    d = y - mu
    if fam == 3:
        return wt * (d * d) / (y * (mu * mu))
    return wt * (d * d)


@jit_numpy_errors
def pairwise_sum(a: np.ndarray, lo: int, n: int) -> float:
    """``np.sum(a[lo:lo + n])`` for a contiguous float64 array: numpy's pairwise summation
    (:func:`pyreterms.lmm.jitblas.pairwise_sum_range`, shared with the small-model LMM kernel), 0.0 first as
    ``np.add.reduce`` (a sum of -0.0 values is 0.0, as numpy's)."""
    return 0.0 + pairwise_sum_range(a, lo, n)


@jit_numpy_errors
def _xlogy(x: float, y: float) -> float:
    """scipy's ``xlogy`` (double)."""
    if x == 0 and not y != y:
        return 0.0
    return x * math.log(y)


@jit_numpy_errors
def _xlog1py(x: float, y: float) -> float:
    """scipy's ``xlog1py`` (double)."""
    if x == 0 and not y != y:
        return 0.0
    return x * math.log1p(y)


@jit_numpy_errors
def _binom_ok(k: float, n: float) -> bool:
    """``k`` in ``binom(n, .)``'s support and ``n`` a valid size (the ``p`` checks are made per call)."""
    return n >= 0 and math.floor(n) == n and k >= 0 and k <= n and math.floor(k) == k


@jit_numpy_errors
def binom_logpmf(k: float, n: float, p: float, combiln: float) -> float:
    """``scipy.stats.binom.logpmf(k, n, p)`` (its argument and support checks, then ``_logpmf``) with
    ``combiln = gammaln(n + 1) - (gammaln(k + 1) + gammaln(n - k + 1))`` given (:func:`aic_setup`)."""
    if not (n >= 0 and math.floor(n) == n and p >= 0 and p <= 1) or k != k:
        return np.nan
    if not (k >= 0 and k <= n and math.floor(k) == k):
        return -np.inf
    return combiln + _xlogy(k, p) + _xlog1py(n - k, -p)


@jit_numpy_errors
def pois_logpmf(k: float, mu: float, lgk1: float) -> float:
    """``scipy.stats.poisson.logpmf(k, mu)`` with ``lgk1 = gammaln(k + 1)`` given."""
    if not mu >= 0 or k != k:
        return np.nan
    if not (k >= 0 and math.floor(k) == k):
        return -np.inf
    return _xlogy(k, mu) - lgk1 - mu


@jit_numpy_errors
def has_aic(fam: int) -> bool:
    """Families whose ``aic`` is compiled here (Gamma's, scipy's ``gamma.logpdf``, stays in numpy)."""
    return fam != 2


@jit_numpy_errors
def aic_setup(fam: int, y: np.ndarray, n: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """What ``aic`` computes from the data alone, once per model: rows ``k``, size, the ``gammaln`` terms
    (binomial: ``combiln``; poisson: ``gammaln(y + 1)``) and the weight of each log density."""
    nobs = y.size
    out = np.zeros((4, nobs))
    if fam == 0:
        use_n = False
        for i in range(nobs):
            if n[i] > 1:
                use_n = True
                break
        for i in range(nobs):
            m = n[i] if use_n else wt[i]
            k, size = np.rint(m * y[i]), np.rint(m)
            out[0, i], out[1, i], out[3, i] = k, size, (wt[i] / m if m > 0 else 0.0)
            if _binom_ok(k, size):
                out[2, i] = _gammaln(size + 1) - (_gammaln(k + 1) + _gammaln(size - k + 1))
    elif fam == 1:
        for i in range(nobs):
            k = y[i]
            out[0, i], out[3, i] = k, wt[i]
            if k >= 0 and math.floor(k) == k:
                out[2, i] = _gammaln(k + 1)
    return out


@jit_numpy_errors
def aic(fam: int, setup: np.ndarray, y: np.ndarray, mu: np.ndarray, wt: np.ndarray, dev: float,
        work: np.ndarray, nonzero: np.ndarray) -> float:
    """R's ``family$aic`` as :mod:`pyreterms.glmm.family` computes it (binomial, poisson, inverse.gaussian,
    gaussian; ``setup`` from :func:`aic_setup`); ``work``: scratch of ``y``'s length; ``nonzero``: where ``y !=
    0`` (poisson: every other row's log density is ``(0 - gammaln(1)) - mu``, no log, so it is written for
    every row first and the others' after, instead of a branch per row on the counts)."""
    nobs = y.size
    if fam == 0:
        for i in range(nobs):
            work[i] = setup[3, i] * binom_logpmf(setup[0, i], setup[1, i], mu[i], setup[2, i])
        return -2 * pairwise_sum(work, 0, nobs)
    if fam == 1:
        for i in range(nobs):  # pois_logpmf at k = 0
            m = mu[i]
            work[i] = (((0.0 - setup[2, i]) - m) if m >= 0 else np.nan) * setup[3, i]
        for k in range(nonzero.size):
            i = nonzero[k]
            work[i] = pois_logpmf(setup[0, i], mu[i], setup[2, i]) * setup[3, i]
        return -2 * pairwise_sum(work, 0, nobs)
    if fam == 3:
        sw = pairwise_sum(wt, 0, nobs)
        for i in range(nobs):
            work[i] = math.log(y[i]) * wt[i]
        return sw * (1 + math.log(dev / sw * 2 * np.pi)) + 3 * pairwise_sum(work, 0, nobs) + 2
    for i in range(nobs):
        work[i] = math.log(wt[i])
    return nobs * (math.log(dev / nobs * 2 * np.pi) + 1) + 2 - pairwise_sum(work, 0, nobs)


@jit_numpy_errors
def link_arrays(link: int, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`linkinv` and :func:`mu_eta` over an array (what the tests hold against the numpy links)."""
    a, b = np.empty(eta.size), np.empty(eta.size)
    for i in range(eta.size):
        a[i] = linkinv(link, eta[i])
        b[i] = mu_eta(link, eta[i])
    return a, b


@jit_numpy_errors
def family_arrays(fam: int, y: np.ndarray, mu: np.ndarray, wt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`variance` and :func:`dev_resid` over arrays."""
    a, b = np.empty(y.size), np.empty(y.size)
    for i in range(y.size):
        a[i] = variance(fam, mu[i])
        b[i] = dev_resid(fam, y[i], mu[i], wt[i])
    return a, b
