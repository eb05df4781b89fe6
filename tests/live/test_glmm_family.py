"""R's family objects (pyreterms.glmm.family) against R's own ``binomial()``, ``poisson()``, ``Gamma()``,
``inverse.gaussian()``, ``gaussian(link = ...)``: linkfun, linkinv, mu.eta, variance, dev.resids, aic,
validmu, valideta and initialize, on many inputs (extremes included), to 1e-14 relative."""
from __future__ import annotations

import numpy as np
import pytest

from pyreterms.errors import DataError
from pyreterms.glmm import family as fam

pytestmark = pytest.mark.r

CASES = [("binomial", "logit"), ("binomial", "probit"), ("binomial", "cloglog"), ("binomial", "cauchit"),
         ("binomial", "log"), ("poisson", "log"), ("poisson", "sqrt"), ("poisson", "identity"),
         ("Gamma", "inverse"), ("Gamma", "log"), ("Gamma", "identity"), ("inverse.gaussian", "1/mu^2"),
         ("gaussian", "log"), ("gaussian", "inverse")]
RTOL = 1e-14


def _family(name: str, link: str) -> fam.Family:
    ctor = {"binomial": fam.binomial, "poisson": fam.poisson, "Gamma": fam.Gamma,
            "inverse.gaussian": fam.inverse_gaussian, "gaussian": fam.gaussian}[name]
    return ctor(link)


def _r(R, name: str, link: str, what: str, *args: np.ndarray):
    from rpy2.robjects import FloatVector

    f = R.r_eval(f"function(...) {{ f <- {name}(link = \"{link}\"); f${what}(...) }}")
    return np.asarray(f(*[FloatVector(a) for a in args]), dtype=np.float64)


def _close(a: np.ndarray, b: np.ndarray) -> None:
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=0)


def _eta(name: str, link: str) -> np.ndarray:
    rng = np.random.default_rng(18)
    if link in ("logit", "probit", "cloglog", "cauchit", "identity") and name == "binomial":
        return np.concatenate([np.linspace(-40, 40, 161), rng.normal(0, 3, 200), [-1e3, 1e3, 0.0, 1e-300]])
    if link == "log":
        base = np.concatenate([np.linspace(-40, 5, 91), rng.normal(0, 3, 200)])
        return base if name != "binomial" else -np.abs(base) - 1e-9
    return np.concatenate([np.linspace(0.05, 40, 100), rng.uniform(0.01, 10, 200)])  # positive links


def _mu(name: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    if name == "binomial":
        return np.concatenate([np.linspace(1e-12, 1 - 1e-12, 201), rng.uniform(0, 1, 200), [1e-300, 0.5]])
    return np.concatenate([np.linspace(1e-6, 50, 201), rng.gamma(2, 3, 200)])


@pytest.mark.parametrize(("name", "link"), CASES)
def test_link_functions_match_r(R, name: str, link: str) -> None:
    f = _family(name, link)
    eta, mu = _eta(name, link), _mu(name)
    _close(f.linkinv(eta), _r(R, name, link, "linkinv", eta))
    _close(f.mu_eta(eta), _r(R, name, link, "mu.eta", eta))
    _close(f.linkfun(mu), _r(R, name, link, "linkfun", mu))
    _close(f.variance(mu), _r(R, name, link, "variance", mu))
    assert f.valideta(eta) == bool(_r(R, name, link, "valideta", eta)[0])
    assert f.validmu(mu) == bool(_r(R, name, link, "validmu", mu)[0])
    for bad in (np.array([0.0, 1.0]), np.array([-1.0, 2.0])):
        assert f.validmu(bad) == bool(_r(R, name, link, "validmu", bad)[0])
        assert f.valideta(bad) == bool(_r(R, name, link, "valideta", bad)[0])


def _y(name: str, mu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    if name == "binomial":
        m = rng.integers(1, 20, mu.size).astype(float)
        return rng.binomial(m.astype(int), np.clip(mu, 0, 1)) / m, m
    if name == "poisson":
        return rng.poisson(mu).astype(float), rng.uniform(0.5, 2, mu.size)
    return rng.gamma(3, mu / 3) + 1e-3, rng.uniform(0.5, 2, mu.size)


@pytest.mark.parametrize(("name", "link"), CASES)
def test_dev_resids_and_aic_match_r(R, name: str, link: str) -> None:
    f = _family(name, link)
    mu = _mu(name)[1:-1] if name == "binomial" else _mu(name)
    y, wt = _y(name, mu)
    dr = f.dev_resids(y, mu, wt)
    _close(dr, _r(R, name, link, "dev.resids", y, mu, wt))
    n = wt if name == "binomial" else np.ones_like(y)
    dev = float(np.sum(dr))
    ours = f.aic(y, n, mu, wt, dev)
    theirs = float(_r(R, name, link, "aic", y, n, mu, wt, np.array([dev]))[0])
    assert ours == pytest.approx(theirs, rel=RTOL, abs=0)


def _r_init(R, name: str, link: str, y: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    from rpy2.robjects import FloatVector
    from rpy2.robjects import r as rr

    ry = rr.matrix(FloatVector(y.ravel(order="F")), ncol=y.shape[1]) if y.ndim == 2 else FloatVector(y)
    f = R.r_eval(f"""function(y, weights) {{ family <- {name}(link = "{link}"); nobs <- NROW(y)
        etastart <- NULL; start <- NULL; mustart <- NULL
        eval(family$initialize); list(y = as.numeric(y), weights = weights, n = n, mustart = mustart) }}""")
    out = f(ry, FloatVector(w))
    return {k: np.asarray(out.rx2(k), dtype=np.float64) for k in ("y", "weights", "n", "mustart")}


@pytest.mark.parametrize(("name", "link"), CASES)
def test_initialize_matches_r(R, name: str, link: str) -> None:
    f = _family(name, link)
    rng = np.random.default_rng(3)
    if name == "binomial":
        inputs = [np.column_stack([rng.integers(0, 9, 30), rng.integers(0, 9, 30)]).astype(float),
                  rng.integers(0, 2, 30).astype(float)]
    elif name == "poisson":
        inputs = [rng.poisson(3, 30).astype(float)]
    else:
        inputs = [rng.gamma(2, 2, 30) + 0.01]
    for y in inputs:
        w = rng.uniform(0.5, 3, 30).round() if y.ndim == 1 and name == "binomial" else rng.uniform(0.5, 2, 30)
        ours = dict(zip(("y", "weights", "n", "mustart"), f.initialize(y, w), strict=True))
        theirs = _r_init(R, name, link, y, w)
        for k in ours:
            _close(np.asarray(ours[k]), theirs[k])


def test_initialize_errors_as_r() -> None:
    with pytest.raises(DataError, match=r"^y values must be 0 <= y <= 1$"):
        fam.binomial().initialize(np.array([0.0, 2.0]), np.ones(2))
    with pytest.raises(DataError, match="negative values not allowed for the 'Poisson' family"):
        fam.poisson().initialize(np.array([0.0, -2.0]), np.ones(2))
    with pytest.raises(DataError, match="non-positive values not allowed for the 'Gamma' family"):
        fam.Gamma().initialize(np.array([0.0, 2.0]), np.ones(2))
    with pytest.raises(DataError, match="quasi"):
        fam.as_family("quasipoisson")
    with pytest.raises(DataError, match="link \"probit\" not available for poisson family"):
        fam.poisson("probit")
