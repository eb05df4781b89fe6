"""R: ``simulate(fit, nsim, seed, use.u)`` for a GLMM (``lme4:::simulate.merMod`` -> ``lme4::.simulateFun``
and ``lme4:::simfunList``, lme4 1.1-31), with R's own random numbers (:class:`pyreterms.rmath.rng.RRNG`,
:func:`pyreterms.rmath.discrete.rbinom` / ``rpois``, :func:`pyreterms.rmath.continuous.rgamma` /
``rinvgauss``), so a seed gives lme4's values.

R expression producing the value::

    simulate(fit, nsim = 10, seed = 42)            # data.frame sim_1 .. sim_10, attr "seed"
    simulate(fit, nsim = 3, seed = 1, use.u = TRUE)

The order of draws is ``.simulateFun``'s: ``set.seed(seed)``; ``etapred = predict(fit, re.form =
NA)`` (``use.u = TRUE``: ``re.form = NULL``, all random effects kept); new random effects ``u <-
rnorm(ncol(U) * nsim)`` with ``U = t(Lambdat %*% Zt)`` (not scaled by sigma); ``musim =
linkinv(etapred + U %*% u)``; then the family's ``simfun`` with ``ftd = rep_len(musim, n * nsim)``:

- binomial, numeric response: ``rbinom(n * nsim, size = wts, prob = ftd) / wts`` (``wts`` the prior
  weights; non-integer ones stop);
- binomial, factor response: ``levels(y)[1 + rbinom(n * nsim, 1, ftd)]`` as a factor;
- binomial, ``cbind(s, f)`` response: ``wts`` the prior weights (the row totals ``s + f``, times
  the ``weights`` given to ``glmer``);
  ``.simulateFun`` calls the simfun with ``nsim = 1``, so its loop draws ``Y <- rbinom(n * nsim,
  wts, ftd)`` once; ``cbind(Y, wts - Y)`` is split into ``nsim`` two-column blocks;
- poisson: ``rpois(n * nsim, ftd)`` (warning "ignoring prior weights" when any differs from 1);
- Gamma: ``shape <- sigma(fit) * wts; rgamma(n * nsim, shape, rate = shape / ftd)`` (lme4's
  ``Gamma_simfun``; message "using weights to scale shape parameter" when a weight differs from 1);
- gaussian (a non-identity link): ``rnorm(n * nsim, ftd, sd = sigma(fit))`` (warning "ignoring prior
  weights");
- inverse.gaussian: statmod's ``rinvgauss(n * nsim, mean = ftd, shape = wts / sigma(fit))`` (message "using
  weights as inverse variances").

Rows dropped for NA come back as NaN under ``na.exclude``.  Refused (``UnsupportedInput``) where
lme4 1.1-31 itself breaks: ``use.u = TRUE`` with dropped rows (lme4 stops with "invalid 'row.names'
length" or recycles misaligned values) and a ``cbind`` response under ``na.exclude`` with dropped
rows (lme4 pads the matrices wrongly).  Not ported: ``newdata``, a partial ``re.form``.
"""
from __future__ import annotations

import warnings
from typing import Any, Protocol

import numpy as np
import pandas as pd

from pyreterms.errors import DataError, LmeMessage, LmeWarning, UnsupportedInput
from pyreterms.formula.values import Factor, NumMatrix
from pyreterms.glmm.family import Family
from pyreterms.glmm.glformula import GLFormula
from pyreterms.rmath.continuous import rgamma, rinvgauss
from pyreterms.rmath.discrete import rbinom, rpois
from pyreterms.rmath.rng import RRNG
from pyreterms.verbs.accessors import row_order

__all__ = ["GlmmFitLike", "simulate_glmm"]


class GlmmFitLike(Protocol):
    """What simulate() reads of a fitted GLMM (:class:`pyreterms.glmm.fit.GlmerFit`, whose
    ``simulate`` method calls :func:`simulate_glmm`; a protocol, so that module can import this one)."""

    @property
    def glf(self) -> GLFormula: ...

    @property
    def theta(self) -> np.ndarray: ...

    @property
    def family(self) -> Family: ...

    def predict(self, newdata: pd.DataFrame | None = None, re_form: Any = None, allow_new_levels: bool = False,
                type: str = "link") -> pd.Series: ...  # noqa: A002 (R's name)

    def weights(self, type: str = "prior") -> np.ndarray: ...  # noqa: A002 (R's name)

    def sigma(self) -> float: ...


def _generator(nsim: Any, seed: int | None, rng: RRNG | None) -> RRNG:
    """The seed handling of :func:`pyreterms.verbs.simulate.simulate` (R's ``set.seed`` / global
    ``.Random.seed``)."""
    if isinstance(nsim, bool) or not isinstance(nsim, (int, np.integer)) or nsim < 1:
        raise DataError(f"nsim must be a positive integer (not {nsim!r})")
    gen = rng
    if gen is None:
        gen = RRNG(seed)
        if seed is None:
            gen.runif(1)  # R: no .Random.seed yet -> runif(1) seeds from the clock and draws once
    elif seed is not None:
        gen.set_seed(seed)
    return gen


def _musim(fit: GlmmFitLike, gen: RRNG, nsim: int, use_u: bool) -> np.ndarray:
    """``linkinv(etapred + sim.reff)`` as an ``n x nsim`` array (column k: simulation k)."""
    if use_u:
        eta = fit.predict(re_form=None, type="link").dropna().to_numpy()
        return np.asarray(fit.family.linkinv(np.repeat(eta[:, None], nsim, axis=1)))
    etapred = fit.predict(re_form="NA", type="link").dropna().to_numpy()
    rt = fit.glf.reTrms
    lam = rt.Lambdat.copy()
    lam.data = np.asarray(fit.theta, dtype=np.float64)[np.asarray(rt.Lind)]
    U = (lam @ rt.Zt).T.tocsc()
    u = gen.rnorm(U.shape[1] * nsim).reshape(nsim, U.shape[1]).T
    return np.asarray(fit.family.linkinv(etapred[:, None] + np.asarray(U @ u)))


def _frame(fit: GlmmFitLike, cols: dict[Any, Any], state: np.ndarray) -> pd.DataFrame:
    fr = fit.glf.fr
    out = pd.DataFrame(cols, index=list(fr.rownames))
    if fr.na_action == "exclude" and fr.dropped_rows:
        out = out.reindex(row_order(fr))
    out.attrs["seed"] = state
    return out


def _continuous_or_count(fit: GlmmFitLike, family: str, gen: RRNG, N: int, ftd: np.ndarray,
                         wts: np.ndarray) -> np.ndarray:
    """lme4's ``poisson_simfun``, ``Gamma_simfun``, ``gaussian_simfun``, ``inverse.gaussian_simfun``: ``N``
    draws at the means ``ftd`` (prior weights ``wts``, recycled as R recycles them)."""
    unit = bool(np.all(wts == 1))
    if family == "poisson":
        if not unit:
            warnings.warn("ignoring prior weights", LmeWarning, stacklevel=3)
        return rpois(gen, N, ftd)
    if family == "gaussian":
        if not unit:
            warnings.warn("ignoring prior weights", LmeWarning, stacklevel=3)
        return gen.rnorm(N, ftd, fit.sigma())
    if family == "Gamma":
        if not unit:
            warnings.warn("using weights to scale shape parameter", LmeMessage, stacklevel=3)
        shape = fit.sigma() * wts
        return rgamma(gen, N, shape, np.resize(shape, N) / ftd)  # R: shape / ftd recycles shape
    if not unit:
        warnings.warn("using weights as inverse variances", LmeMessage, stacklevel=3)
    return rinvgauss(gen, N, ftd, wts / fit.sigma())


def simulate_glmm(fit: GlmmFitLike, nsim: int = 1, seed: int | None = None, use_u: bool = False,
                  rng: RRNG | None = None) -> pd.DataFrame:
    """R: ``simulate(fit, nsim, seed, use.u)`` for a ``glmerMod`` (every family lme4 simulates): a
    DataFrame ``sim_1 .. sim_nsim`` indexed by the fit's row names; for a ``cbind`` response the
    columns are ``(sim_k, colname)`` pairs (lme4: a two-column matrix per simulation).
    ``.attrs["seed"]`` is R's ``attr(, "seed")``; ``rng`` carries R's RNG state between calls."""
    family = fit.family.family
    if family not in ("binomial", "poisson", "Gamma", "gaussian", "inverse.gaussian"):
        raise UnsupportedInput(f"simulate() for a GLMM of family '{family}' is not supported")
    if not isinstance(use_u, (bool, np.bool_)):
        raise DataError(f"use.u must be TRUE or FALSE (not {use_u!r})")
    if use_u and fit.glf.fr.dropped_rows:
        raise UnsupportedInput("simulate(use.u = TRUE) on a GLMM fit with rows dropped for NA is not supported "
                               "(lme4 1.1-31 stops there: \"invalid 'row.names' length\")")
    gen = _generator(nsim, seed, rng)
    state = gen.random_seed.copy()
    mu = _musim(fit, gen, nsim, bool(use_u))
    n = mu.shape[0]
    ftd = mu.T.ravel()  # rep_len(musim, n * nsim): simulation by simulation
    names = [f"sim_{k + 1}" for k in range(nsim)]
    wts = fit.weights("prior")
    if family in ("poisson", "Gamma", "gaussian", "inverse.gaussian"):
        y = _continuous_or_count(fit, family, gen, n * nsim, ftd, wts).reshape(nsim, n)
        return _frame(fit, {nm: y[k] for k, nm in enumerate(names)}, state)
    if np.any(np.mod(wts, 1) != 0):  # the binomial simfun's first check, for every response kind
        raise DataError("cannot simulate from non-integer prior.weights")
    yraw = fit.glf.fr.columns[0][1]
    if isinstance(yraw, NumMatrix) and yraw.values.ndim == 2 and yraw.values.shape[1] == 2:
        fr = fit.glf.fr
        if fr.na_action == "exclude" and fr.dropped_rows:
            raise UnsupportedInput("simulate() of a cbind() binomial GLMM under na.exclude with dropped rows is "
                                   "not supported (lme4 1.1-31 pads its two-column matrices wrongly, with a warning)")
        # wts: the prior weights (the row totals times any weights= given), as weights(object) in
        # .simulateFun (rowSums(r) there only with newdata, not ported)
        first = rbinom(gen, n * nsim, wts, ftd)  # one draw: .simulateFun calls the simfun with nsim = 1
        fail = np.resize(wts, n * nsim) - first
        cn = list(yraw.colnames or ("", ""))
        cols: dict[Any, Any] = {}
        for k, nm in enumerate(names):
            cols[(nm, cn[0])] = first[k * n:(k + 1) * n]
            cols[(nm, cn[1])] = fail[k * n:(k + 1) * n]
        return _frame(fit, cols, state)
    if isinstance(yraw, Factor):  # factor(levels(y)[1 + rbinom(ntot, 1, ftd)], levels = levels(y))
        draws = rbinom(gen, n * nsim, 1, ftd).astype(np.int64).reshape(nsim, n)
        return _frame(fit, {nm: pd.Categorical.from_codes(draws[k], categories=list(yraw.levels))
                            for k, nm in enumerate(names)}, state)
    y = (rbinom(gen, n * nsim, wts, ftd) / np.resize(wts, n * nsim)).reshape(nsim, n)
    return _frame(fit, {nm: y[k] for k, nm in enumerate(names)}, state)
