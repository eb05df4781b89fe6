"""R's GLM family objects (R: ``stats::binomial``, ``poisson``, ``Gamma``, ``inverse.gaussian``,
``gaussian``; ``src/library/stats/R/family.R`` and ``src/family.c``), with lme4's compiled variance
(``glmFamily.cpp``: binomial ``max(eps, mu(1 - mu))``) for PIRLS.

The conditional log densities in ``aic`` come from scipy (R uses Loader's saddle-point ``dbinom_raw``/
``dpois_raw``; the two agree to rounding, measured in ``tests/live/test_glmm_family.py``).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyreterms.errors import DataError, LmeWarning
from pyreterms.glmm.links import EPS, Arr, Link, make_link
from pyreterms.rmath import libm

#: (y, weights, nobs) -> (y, weights, n, mustart): R's ``family$initialize`` expression
Initialize = Callable[[np.ndarray, Arr], tuple[Arr, Arr, Arr, Arr]]


@dataclass(frozen=True)
class Family:
    """R: a ``family`` object (``family``, ``link``, ``linkfun``, ``linkinv``, ``mu.eta``, ``variance``,
    ``dev.resids``, ``aic``, ``validmu``, ``valideta``, ``initialize``)."""

    family: str
    link_obj: Link
    variance: Callable[[Arr], Arr]
    dev_resids: Callable[[Arr, Arr, Arr], Arr]
    aic: Callable[[Arr, Arr, Arr, Arr, float], float]
    validmu: Callable[[Arr], bool]
    initialize: Initialize
    lme4_variance: Callable[[Arr], Arr]

    @property
    def link(self) -> str:
        return self.link_obj.name

    def linkfun(self, mu: Arr) -> Arr:
        return self.link_obj.linkfun(np.asarray(mu, dtype=np.float64))

    def linkinv(self, eta: Arr) -> Arr:
        return self.link_obj.linkinv(np.asarray(eta, dtype=np.float64))

    def mu_eta(self, eta: Arr) -> Arr:
        return self.link_obj.mu_eta(np.asarray(eta, dtype=np.float64))

    def valideta(self, eta: Arr) -> bool:
        return self.link_obj.valideta(np.asarray(eta, dtype=np.float64))

    @property
    def has_scale(self) -> bool:
        """lme4: ``!hasNoScale(family)`` (binomial and poisson have no scale parameter)."""
        return self.family not in ("binomial", "poisson")


def _ylogy(y: Arr, mu: Arr) -> Arr:
    """R family.c: ``y_log_y(y, mu) = (y != 0.) ? (y * log(y/mu)) : 0``."""
    y, mu = np.broadcast_arrays(np.asarray(y, dtype=np.float64), np.asarray(mu, dtype=np.float64))
    out = np.zeros(y.shape)
    nz = y != 0  # the C library's log only where it is used
    with np.errstate(divide="ignore", invalid="ignore"):
        out[nz] = y[nz] * libm.log(y[nz] / mu[nz])
    return out


def _binomial_init(y: np.ndarray, weights: Arr) -> tuple[Arr, Arr, Arr, Arr]:
    nobs = y.shape[0]
    if y.ndim == 1 or y.shape[1] == 1:
        y = np.asarray(y, dtype=np.float64).reshape(nobs).copy()
        n = np.ones(nobs)
        y[weights == 0] = 0
        if np.any((y < 0) | (y > 1)):
            raise DataError("y values must be 0 <= y <= 1")
        mustart = (weights * y + 0.5) / (weights + 1)
        m = weights * y
        if np.any(np.abs(m - np.round(m)) > 0.001):
            warnings.warn("non-integer #successes in a binomial glm!", LmeWarning, stacklevel=4)
        return y, weights, n, mustart
    if y.shape[1] == 2:
        if np.any(np.abs(y - np.round(y)) > 0.001):
            warnings.warn("non-integer counts in a binomial glm!", LmeWarning, stacklevel=4)
        y1 = y[:, 0].astype(np.float64)
        n = y1 + y[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            yy = y1 / n
        yy[n == 0] = 0
        weights = weights * n
        return yy, weights, n, (n * yy + 0.5) / (n + 1)
    raise DataError("for the 'binomial' family, y must be a vector of 0 and 1's\nor a 2 column matrix where "
                    "col 1 is no. successes and col 2 is no. failures")


def _poisson_init(y: np.ndarray, weights: Arr) -> tuple[Arr, Arr, Arr, Arr]:
    y = np.asarray(y, dtype=np.float64)
    if np.any(y < 0):
        raise DataError("negative values not allowed for the 'Poisson' family")
    return y, weights, np.ones(y.shape[0]), y + 0.1


def _positive_init(family: str, msg: str) -> Initialize:
    def init(y: np.ndarray, weights: Arr) -> tuple[Arr, Arr, Arr, Arr]:
        y = np.asarray(y, dtype=np.float64)
        if np.any(y <= 0):
            raise DataError(msg)
        return y, weights, np.ones(y.shape[0]), y.copy()
    return init


def _gaussian_init(link: str) -> Initialize:
    def init(y: np.ndarray, weights: Arr) -> tuple[Arr, Arr, Arr, Arr]:
        y = np.asarray(y, dtype=np.float64)
        if (link == "inverse" and np.any(y == 0)) or (link == "log" and np.any(y <= 0)):
            raise DataError("cannot find valid starting values: please specify some")
        return y, weights, np.ones(y.shape[0]), y.copy()
    return init


def _stats() -> Any:
    """``scipy.stats``, imported on first use (at import it costs ~0.4 s of ``import pyreterms``)."""
    import scipy.stats

    return scipy.stats


def _binomial_aic(y: Arr, n: Arr, mu: Arr, wt: Arr, dev: float) -> float:
    m = n if np.any(n > 1) else wt
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = _stats().binom.logpmf(np.round(m * y), np.round(m), mu)
        return float(-2 * np.sum(np.where(m > 0, wt / m, 0.0) * lp))


def _poisson_aic(y: Arr, n: Arr, mu: Arr, wt: Arr, dev: float) -> float:
    return float(-2 * np.sum(_stats().poisson.logpmf(y, mu) * wt))


def _gamma_aic(y: Arr, n: Arr, mu: Arr, wt: Arr, dev: float) -> float:
    disp = dev / np.sum(wt)
    return float(-2 * np.sum(_stats().gamma.logpdf(y, 1 / disp, scale=mu * disp) * wt) + 2)


def _invgauss_aic(y: Arr, n: Arr, mu: Arr, wt: Arr, dev: float) -> float:
    sw = float(np.sum(wt))
    return float(sw * (1 + libm.log(dev / sw * 2 * np.pi)) + 3 * np.sum(libm.log(y) * wt) + 2)


def _gaussian_aic(y: Arr, n: Arr, mu: Arr, wt: Arr, dev: float) -> float:
    nobs = y.size
    return float(nobs * (libm.log(dev / nobs * 2 * np.pi) + 1) + 2 - np.sum(libm.log(wt)))


def _poisson_dev(y: Arr, mu: Arr, wt: Arr) -> Arr:
    r = mu * wt
    p = y > 0
    r[p] = (wt * (y * libm.log(np.where(p, y, 1) / mu) - (y - mu)))[p]
    return 2 * r


def _gamma_dev(y: Arr, mu: Arr, wt: Arr) -> Arr:
    return -2 * wt * (libm.log(np.where(y == 0, 1.0, y / mu)) - (y - mu) / mu)


def _positive(mu: Arr) -> bool:
    return bool(np.all(np.isfinite(mu)) and np.all(mu > 0))


def binomial(link: str = "logit") -> Family:
    """R: ``binomial(link)``."""
    lk = make_link(link, "binomial", ("logit", "probit", "cloglog", "cauchit", "log"))
    return Family("binomial", lk, lambda mu: mu * (1 - mu),
                  lambda y, mu, wt: 2 * wt * (_ylogy(y, mu) + _ylogy(1 - y, 1 - mu)), _binomial_aic,
                  lambda mu: bool(np.all(np.isfinite(mu)) and np.all((mu > 0) & (mu < 1))), _binomial_init,
                  lambda mu: np.maximum(EPS, mu * (1 - mu)))


def poisson(link: str = "log") -> Family:
    """R: ``poisson(link)``."""
    lk = make_link(link, "poisson", ("log", "identity", "sqrt"))
    return Family("poisson", lk, lambda mu: mu.copy(), _poisson_dev, _poisson_aic, _positive, _poisson_init,
                  lambda mu: mu.copy())


def Gamma(link: str = "inverse") -> Family:  # noqa: N802 - R's name
    """R: ``Gamma(link)``."""
    lk = make_link(link, "Gamma", ("inverse", "log", "identity"))
    return Family("Gamma", lk, lambda mu: mu ** 2, _gamma_dev, _gamma_aic, _positive,
                  _positive_init("Gamma", "non-positive values not allowed for the 'Gamma' family"),
                  lambda mu: mu ** 2)


def inverse_gaussian(link: str = "1/mu^2") -> Family:
    """R: ``inverse.gaussian(link)``."""
    lk = make_link(link, "inverse.gaussian", ("inverse", "log", "identity", "1/mu^2"))
    return Family("inverse.gaussian", lk, lambda mu: mu ** 3, lambda y, mu, wt: wt * ((y - mu) ** 2) / (y * mu ** 2),
                  _invgauss_aic, lambda mu: True,
                  _positive_init("inverse.gaussian",
                                 "positive values only are allowed for the 'inverse.gaussian' family"),
                  lambda mu: mu ** 3)


def gaussian(link: str = "identity") -> Family:
    """R: ``gaussian(link)``."""
    lk = make_link(link, "gaussian", ("inverse", "log", "identity"))
    return Family("gaussian", lk, np.ones_like, lambda y, mu, wt: wt * ((y - mu) ** 2), _gaussian_aic,
                  lambda mu: True, _gaussian_init(link), np.ones_like)


_CONSTRUCTORS: dict[str, Callable[..., Family]] = {
    "binomial": binomial, "poisson": poisson, "Gamma": Gamma, "inverse.gaussian": inverse_gaussian,
    "inverse_gaussian": inverse_gaussian, "gaussian": gaussian}


def as_family(family: Any) -> Family:
    """R: ``glFormula``'s family normalisation (a name, a constructor, or a family object); quasi
    families are refused as lme4 does."""
    if isinstance(family, Family):
        return family
    if isinstance(family, str):
        if family in ("quasibinomial", "quasipoisson", "quasi"):
            raise DataError("\"quasi\" families cannot be used in glmer")
        if family not in _CONSTRUCTORS:
            raise DataError(f"unknown family {family!r}: use binomial, poisson, Gamma, inverse.gaussian or gaussian")
        return _CONSTRUCTORS[family]()
    if callable(family):
        fam = family()
        if isinstance(fam, Family):
            return fam
    raise DataError("'family' not recognized: give a family name or a pyreterms.glmm.family object")
