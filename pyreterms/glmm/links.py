"""R's link functions (R: ``stats::make.link``, ``binomial()``'s C links in ``src/library/stats/src/family.c``),
and lme4's compiled fast paths for them (``src/glmFamily.cpp``, which PIRLS uses).

Written out rather than taken from statsmodels/scipy because R's clamps (the logit thresholds at |eta| = 30,
the probit/cauchit ``thresh``, ``pmax(..., .Machine$double.eps)``) and lme4's different clamps decide the
last bits and the behaviour at the extremes.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from pyreterms.errors import DataError
from pyreterms.rmath import libm
from pyreterms.rmath.qnorm import qnorm_std

Arr = npt.NDArray[np.float64]
ArrFn = Callable[[Arr], Arr]
EPS = float(np.finfo(np.float64).eps)  # R: .Machine$double.eps; C++: numeric_limits<double>::epsilon()
_THRESH = 30.0  # family.c: THRESH, MTHRESH = -THRESH, INVEPS = 1/DBL_EPSILON
_M_1_SQRT_2PI = 0.398942280401432677939946059934


def dnorm(x: Arr) -> Arr:
    """R: ``dnorm(x)`` (``nmath/dnorm.c``, R >= 4.0: the split product for |x| >= 5)."""
    x = np.abs(x)
    out = np.empty_like(x)
    small = x < 5
    out[small] = _M_1_SQRT_2PI * libm.exp(-0.5 * x[small] * x[small])
    big = ~small
    x1 = np.ldexp(np.rint(np.ldexp(x[big], 16)), -16)
    x2 = x[big] - x1
    out[big] = _M_1_SQRT_2PI * (libm.exp(-0.5 * x1 * x1) * libm.exp((-0.5 * x2 - x1) * x2))
    out[x >= 2 * np.sqrt(np.finfo(np.float64).max)] = 0.0
    return out


def pcauchy(x: Arr) -> Arr:
    """R: ``pcauchy(x)`` (``nmath/pcauchy.c``)."""
    out = 0.5 + libm.atan(x) / np.pi
    big = np.abs(x) > 1
    with np.errstate(divide="ignore"):
        y = libm.atan(1 / x[big]) / np.pi
    out[big] = np.where(x[big] > 0, 1 - y, -y)
    return out


def _tanpi(x: Arr) -> Arr:
    """R 4.2's ``tanpi`` (``nmath/cospi.c``)."""
    x = np.fmod(x, 1.0)
    x = np.where(x <= -0.5, x + 1, np.where(x > 0.5, x - 1, x))
    out = libm.tan(np.pi * x)
    out[x == 0] = 0.0
    out[x == 0.25] = 1.0
    out[x == -0.25] = -1.0
    out[x == 0.5] = np.nan
    return out


def qcauchy(p: Arr) -> Arr:
    """R: ``qcauchy(p)`` (``nmath/qcauchy.c``, lower tail, not log)."""
    upper = p > 0.5
    pp = np.where(upper, 1 - p, p)
    with np.errstate(divide="ignore"):
        out = np.where(upper, 1.0, -1.0) / _tanpi(pp)
    out[p == 0.5] = 0.0
    out[p == 0] = -np.inf
    out[p == 1] = np.inf
    return out


def dcauchy(x: Arr) -> Arr:
    return 1 / (np.pi * (1 + x * x))


def _logit_linkinv(eta: Arr) -> Arr:
    tmp = np.where(eta < -_THRESH, EPS, np.where(eta > _THRESH, 1 / EPS, libm.exp(np.clip(eta, -_THRESH, _THRESH))))
    return tmp / (1 + tmp)


def _logit_mu_eta(eta: Arr) -> Arr:
    e = libm.exp(np.clip(eta, -_THRESH, _THRESH))
    opexp = 1 + e
    return np.where((eta > _THRESH) | (eta < -_THRESH), EPS, e / (opexp * opexp))


def _lme4_logit_mu_eta(eta: Arr) -> Arr:
    """lme4's ``max(eps, dlogis(eta))`` as glmFamily.cpp computes it (``exp(-|eta|)`` once)."""
    e = libm.exp(-np.abs(eta))
    return np.maximum(EPS, e / (1 + e) ** 2)


def _probit_linkinv(eta: Arr) -> Arr:
    thresh = -float(qnorm_std(np.array([EPS]))[0])
    return np.asarray(ndtr(np.minimum(np.maximum(eta, -thresh), thresh)), dtype=np.float64)


def _cauchit_linkinv(eta: Arr) -> Arr:
    thresh = -float(qcauchy(np.array([EPS]))[0])
    return pcauchy(np.minimum(np.maximum(eta, -thresh), thresh))


def _cloglog_mu_eta(eta: Arr) -> Arr:
    eta = np.minimum(eta, 700)
    return np.maximum(libm.exp(eta) * libm.exp(-libm.exp(eta)), EPS)


def _exp_eps(eta: Arr) -> Arr:
    return np.maximum(libm.exp(eta), EPS)


def _always(_: Arr) -> bool:
    return True


def _finite_nonzero(eta: Arr) -> bool:
    return bool(np.all(np.isfinite(eta)) and np.all(eta != 0))


def _finite_positive(eta: Arr) -> bool:
    return bool(np.all(np.isfinite(eta)) and np.all(eta > 0))


@dataclass(frozen=True)
class Link:
    """R: the link part of a ``family`` object (``make.link(name)``): ``linkfun``, ``linkinv``,
    ``mu.eta``, ``valideta``; ``lme4_linkinv``/``lme4_mu_eta`` are lme4's compiled versions
    (``glmFamily.cpp``) used in PIRLS (they clamp differently)."""

    name: str
    linkfun: ArrFn
    linkinv: ArrFn
    mu_eta: ArrFn
    valideta: Callable[[Arr], bool]
    lme4_linkinv: ArrFn
    lme4_mu_eta: ArrFn


def _same(name: str, linkfun: ArrFn, linkinv: ArrFn, mu_eta: ArrFn,
          valideta: Callable[[Arr], bool] = _always) -> Link:
    return Link(name, linkfun, linkinv, mu_eta, valideta, linkinv, mu_eta)


def _clamp01(x: Arr) -> Arr:
    return np.maximum(EPS, np.minimum(1 - EPS, x))


_LINKS: dict[str, Link] = {
    "logit": Link("logit", lambda mu: libm.log(mu / (1 - mu)), _logit_linkinv, _logit_mu_eta, _always,
                  # lme4: max(eps, min(1-eps, plogis(eta))); max(eps, dlogis(eta))
                  lambda eta: _clamp01(1 / (1 + libm.exp(-eta))),
                  _lme4_logit_mu_eta),
    "probit": Link("probit", lambda mu: qnorm_std(mu), _probit_linkinv, lambda eta: np.maximum(dnorm(eta), EPS),
                   _always, lambda eta: np.minimum(1 - EPS, np.asarray(ndtr(eta), dtype=np.float64)), dnorm),
    "cauchit": Link("cauchit", qcauchy, _cauchit_linkinv, lambda eta: np.maximum(dcauchy(eta), EPS), _always,
                    lambda eta: np.minimum(1 - EPS, pcauchy(eta)), dcauchy),
    "cloglog": Link("cloglog", lambda mu: libm.log(-libm.log(1 - mu)),
                    lambda eta: np.maximum(np.minimum(-libm.expm1(-libm.exp(eta)), 1 - EPS), EPS),
                    _cloglog_mu_eta,
                    _always, lambda eta: _clamp01(-libm.expm1(-libm.exp(eta))),
                    lambda eta: np.maximum(EPS, libm.exp(eta - libm.exp(eta)))),
    "log": _same("log", libm.log, _exp_eps, _exp_eps),
    "identity": _same("identity", lambda mu: mu.copy(), lambda eta: eta.copy(), np.ones_like),
    "inverse": _same("inverse", lambda mu: 1 / mu, lambda eta: 1 / eta, lambda eta: -1 / (eta * eta),
                     _finite_nonzero),
    "sqrt": _same("sqrt", np.sqrt, lambda eta: eta * eta, lambda eta: 2 * eta, _finite_positive),
    "1/mu^2": _same("1/mu^2", lambda mu: 1 / mu ** 2, lambda eta: 1 / np.sqrt(eta), lambda eta: -1 / (2 * eta ** 1.5),
                    _finite_positive),
}


def make_link(name: str, family: str, okLinks: tuple[str, ...]) -> Link:
    """R: ``make.link(link)`` as a family constructor calls it, with its error for a link the family
    does not accept."""
    if name not in okLinks or name not in _LINKS:
        raise DataError(f"link \"{name}\" not available for {family} family; available links are "
                        + ", ".join(f"\u2018{k}\u2019" for k in okLinks))
    return _LINKS[name]
