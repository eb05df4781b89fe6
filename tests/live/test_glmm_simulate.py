"""simulate() for binomial and Poisson GLMMs (pyreterms.glmm.simulate) against lme4 1.1-31, live:
at lme4's parameters (``glmer_at`` from lme4's ``opt$par`` and devfun ``lp0``), ``simulate(g, nsim,
seed)`` and ``use.u = TRUE`` give lme4's values exactly (==), and ``attr(, "seed")`` too, through
``GlmerFit.simulate``; without a seed the stream continues and ends where R's does; the responses:
0/1, factor, proportion with weights, cbind(successes, failures) with and without weights; Poisson
with small and large means and two random-effect terms.  R's values are copied out of R at once
(:func:`_copy`), never held as views of R memory."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pyreterms.errors import DataError, LmeMessage, UnsupportedInput
from pyreterms.glmm import family as fam
from pyreterms.glmm.fit import GlmerFit
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.glmer import glmer_at
from pyreterms.glmm.simulate import simulate_glmm
from pyreterms.rmath.rng import RRNG

pytestmark = pytest.mark.r

BIN01 = ("set.seed(2); bd <- data.frame(g = factor(rep(1:15, each = 10)), x = rnorm(150)); "
         "bd$y <- rbinom(150, 1, plogis(0.3 + bd$x + rnorm(15)[bd$g])); "
         "bd$yf <- factor(ifelse(bd$y == 1, 'yes', 'no')); bd")
CB = "cb <- lme4::cbpp; cb$prop <- cb$incidence / cb$size; cb$w <- rep(c(1, 2), 28); cb"
GT = "gt <- lme4::grouseticks; gt"
CBN = ("cbn <- lme4::cbpp; cbn$w <- rep(c(1, 2), 28); cbn$incidence[c(3, 20)] <- NA; "
       "cbn$size[41] <- NA; cbn")
W = (", weights = size", {"weights": "size"})
WP = (", weights = w", {"weights": "w"})
NAX = (", na.action = na.exclude", {"na_action": "na.exclude"})
GD = ("set.seed(1); gd <- data.frame(g = factor(rep(1:12, each = 8)), x = rnorm(96), w = rep(c(1, 2), 48)); "
      "gd$y <- rgamma(96, shape = 3, scale = exp(0.5 + 0.3*gd$x + rnorm(12, sd = 0.4)[gd$g])/3); gd")
WG = (", weights = w", {"weights": "w"})
CASES = [  # (formula, R family, our family, data setup, data name, extra glmer args (R, ours))
    ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial", fam.binomial(), CB, "cb", None),
    ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial", fam.binomial(), CB, "cb", WP),
    ("prop ~ period + (1 | herd)", "binomial", fam.binomial(), CB, "cb", W),
    ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial", fam.binomial(), CBN, "cbn", NAX),
    ("incidence ~ period + (1 | herd)", "poisson", fam.poisson(), CBN, "cbn", NAX),
    ("incidence ~ period + (1 | herd)", "poisson", fam.poisson(), CB, "cb", WP),
    ("incidence ~ period + (1 | herd)", "poisson", fam.poisson(), CBN, "cbn", None),
    ("y ~ x + (1 | g)", "binomial", fam.binomial(), BIN01, "bd", None),
    ("yf ~ x + (1 | g)", "binomial", fam.binomial(), BIN01, "bd", None),
    ("y ~ x + (1 | g)", "binomial(link = \"probit\")", fam.binomial("probit"), BIN01, "bd", None),
    ("incidence ~ period + (1 | herd)", "poisson", fam.poisson(), CB, "cb", None),
    ("TICKS ~ YEAR + (1 | BROOD)", "poisson", fam.poisson(), GT, "gt", None),
    ("TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION)", "poisson", fam.poisson(), GT, "gt", None),
    ("y ~ x + (1 | g)", "Gamma(link = \"log\")", fam.Gamma("log"), GD, "gd", None),
    ("y ~ x + (1 | g)", "Gamma(link = \"log\")", fam.Gamma("log"), GD, "gd", WG),
    ("y ~ x + (1 | g)", "Gamma", fam.Gamma(), GD, "gd", None),
    ("y ~ x + (1 | g)", "gaussian(link = \"log\")", fam.gaussian("log"), GD, "gd", None),
    ("y ~ x + (1 | g)", "gaussian(link = \"log\")", fam.gaussian("log"), GD, "gd", WG),
    ("y ~ x + (1 | g)", "inverse.gaussian(link = \"log\")", fam.inverse_gaussian("log"), GD, "gd", None),
    ("y ~ x + (1 | g)", "inverse.gaussian(link = \"log\")", fam.inverse_gaussian("log"), GD, "gd", WG),
]
IDS = ["cbind", "cbind-weights", "prop-weights", "cbind-na-exclude", "poisson-na-exclude", "poisson-weights",
       "poisson-na-omit", "zero-one", "factor", "probit", "poisson-cbpp", "poisson-ticks", "poisson-2re",
       "gamma-log", "gamma-log-weights", "gamma-inverse", "gaussian-log", "gaussian-log-weights", "invgauss-log",
       "invgauss-log-weights"]


Extra = tuple[str, dict[str, str]] | None


def _copy(x: Any, dtype: Any = np.float64) -> np.ndarray:
    """A copy of an R vector's values, taken while its rpy2 object is alive.  Not ``np.asarray``:
    that gives a view of R's memory which does not keep the R object alive; once the rpy2 object is
    gone, R's garbage collector frees the vector and later R allocations overwrite the view (this
    file's cbind case once compared against such foreign numbers in a full-suite run)."""
    return np.array(x, dtype=dtype, copy=True)


def _fit_at_lme4(R, formula: str, rfam: str, f: fam.Family, setup: str, data: str, extra: Extra) -> GlmerFit:
    from parity.r.frame import r_dataframe_to_pandas

    R.r_eval("suppressMessages(library(lme4))")
    d = r_dataframe_to_pandas(R.r_eval(setup))
    rx, kw = extra or ("", {})
    R.r_eval(f"g <- glmer({formula}, {data}, {rfam}{rx}); "
             f"f <- glmer({formula}, {data}, {rfam}{rx}, devFunOnly = TRUE)")
    glf = glformula(formula, d, f, **kw)
    assert isinstance(glf, GLFormula)
    pars = _copy(R.r_eval("g@optinfo$val"))
    return glmer_at(glf, pars, 1, lp0=_copy(R.r_eval("environment(f)$lp0")))


def _r_sim(R, nsim: int, seed: int, use_u: bool) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
    """lme4's simulate(g, ...) as a list of numbers per simulation (a cbind matrix column-major,
    a factor as its 0-based codes), the seed attribute and the row names."""
    s = R.r_eval(f"s <- simulate(g, nsim = {nsim}, seed = {seed}, use.u = {'TRUE' if use_u else 'FALSE'}); "
                 "lapply(s, function(v) if (is.factor(v)) as.integer(v) - 1L else as.numeric(v))")
    cols = [_copy(v) for v in s]
    return cols, _copy(R.r_eval("attr(s, 'seed')"), np.int32), list(R.r_eval("rownames(s)"))


def _ours(sim: pd.DataFrame, nsim: int) -> list[np.ndarray]:
    out = []
    for k in range(nsim):
        nm = f"sim_{k + 1}"
        if isinstance(sim.columns, pd.MultiIndex):
            out.append(np.concatenate([sim[c].to_numpy(dtype=np.float64) for c in sim.columns if c[0] == nm]))
        elif isinstance(sim[nm].dtype, pd.CategoricalDtype):
            out.append(sim[nm].cat.codes.to_numpy(dtype=np.float64))
        else:
            out.append(sim[nm].to_numpy(dtype=np.float64))
    return out


@pytest.mark.parametrize(("formula", "rfam", "f", "setup", "data", "extra"), CASES, ids=IDS)
def test_simulate_as_lme4(R, formula: str, rfam: str, f: fam.Family, setup: str, data: str,
                          extra: Extra) -> None:
    fit = _fit_at_lme4(R, formula, rfam, f, setup, data, extra)
    rwarn = R.r_eval("function(nsim, seed) { w <- character(0); withCallingHandlers("
                     "simulate(g, nsim = nsim, seed = seed), warning = function(c) {"
                     "w <<- c(w, conditionMessage(c)); invokeRestart('muffleWarning')}); w }")
    rmsg = R.r_eval("function(nsim, seed) { w <- character(0); withCallingHandlers("
                    "simulate(g, nsim = nsim, seed = seed), message = function(c) {"
                    "w <<- c(w, sub('\\n$', '', conditionMessage(c))); invokeRestart('muffleMessage')}); w }")
    for nsim, seed, use_u in [(1, 1, False), (3, 42, False), (2, -7, True), (5, 20261126, False)]:
        if use_u and fit.glf.fr.dropped_rows:  # lme4 1.1-31 stops; we refuse in one line
            trouble = R.r_call(R.r_eval(
                "function(nsim, seed) { w <- character(0); tryCatch(withCallingHandlers("
                "simulate(g, nsim = nsim, seed = seed, use.u = TRUE), warning = function(c) {"
                "w <<- c(w, conditionMessage(c)); invokeRestart('muffleWarning')}), "
                "error = function(e) w <<- c(w, conditionMessage(e))); w }"), nsim, seed)
            # lme4 stops (one response column) or returns misaligned values with a warning (cbind)
            assert {"invalid 'row.names' length", "longer object length is not a multiple of shorter object "
                    "length"} & set(trouble)
            with pytest.raises(UnsupportedInput, match=r"^simulate\(use.u = TRUE\) on a GLMM fit with rows dropped"):
                simulate_glmm(fit, nsim=nsim, seed=seed, use_u=use_u)
            continue
        if isinstance(fit.glf.y, np.ndarray) and fit.glf.fr.na_action == "exclude" and "cbind" in formula:
            # lme4 1.1-31 returns misaligned 53-row matrices and warns; we refuse in one line
            assert list(R.r_call(rwarn, nsim, seed)) == [
                "number of items to replace is not a multiple of replacement length"] * nsim
            with pytest.raises(UnsupportedInput, match=r"^simulate\(\) of a cbind\(\) binomial GLMM under na.exclude"):
                simulate_glmm(fit, nsim=nsim, seed=seed)
            continue
        want, seed_attr, rownames = _r_sim(R, nsim, seed, use_u)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            sim = fit.simulate(nsim=nsim, seed=seed, use_u=use_u)  # the method: simulate_glmm(fit, ...)
        assert [str(x.message) for x in w if not issubclass(x.category, LmeMessage)] == list(
            R.r_call(rwarn, nsim, seed))
        if not use_u:
            assert [str(x.message) for x in w if issubclass(x.category, LmeMessage)] == list(
                R.r_call(rmsg, nsim, seed))
        got = _ours(sim, nsim)
        assert len(got) == len(want)
        for k in range(nsim):
            if f.family in ("Gamma", "gaussian", "inverse.gaussian"):
                # a continuous draw carries sigma(fit) (and with use.u the conditional modes u): our PIRLS's at
                # lme4's parameters, equal to ~1e-15 but not bit for bit; the stream (every rejection) is R's
                np.testing.assert_allclose(got[k], want[k], rtol=1e-12, atol=0, err_msg=f"{(nsim, seed, k)}")
            else:
                assert np.array_equal(got[k], want[k], equal_nan=True), (nsim, seed, use_u, k)
        assert np.array_equal(sim.attrs["seed"], seed_attr)
        assert [str(i) for i in sim.index] == rownames


def test_simulate_glmm_bad_input(R) -> None:
    fit = _fit_at_lme4(R, *CASES[0][:4], "cb", None)
    with pytest.raises(DataError, match="^nsim must be a positive integer"):
        simulate_glmm(fit, nsim=0, seed=1)
    with pytest.raises(DataError, match="^use.u must be"):
        simulate_glmm(fit, nsim=1, seed=1, use_u="yes")  # type: ignore[arg-type]


@pytest.mark.parametrize("case", ["poisson-ticks", "cbind", "cbind-weights", "prop-weights", "factor"])
def test_simulate_without_seed_continues_the_stream(R, case: str) -> None:
    """No seed: the draws continue R's global stream (``rng`` plays ``.Random.seed``), and after
    simulate() the stream stands where R's does (as many draws as lme4 makes)."""
    fit = _fit_at_lme4(R, *CASES[IDS.index(case)])
    want = R.r_eval("set.seed(5); invisible(runif(3)); s <- simulate(g, nsim = 3); "
                    "list(lapply(s, function(v) if (is.factor(v)) as.integer(v) - 1L else as.numeric(v)), "
                    "attr(s, 'seed'), .Random.seed)")
    gen = RRNG(5)
    gen.runif(3)
    sim = fit.simulate(nsim=3, rng=gen)
    got = _ours(sim, 3)
    for k in range(3):
        assert np.array_equal(got[k], _copy(want[0][k])), k
    assert np.array_equal(sim.attrs["seed"], _copy(want[1], np.int32))
    assert np.array_equal(gen.random_seed, _copy(want[2], np.int32))


def test_non_integer_prior_weights_stop_as_in_lme4(R) -> None:
    """The binomial simfun stops on non-integer prior weights, a cbind() response included."""
    setup = CB + "; cb$wh <- rep(c(0.5, 1), 28); cb$wz <- cb$size * cb$wh; cb"
    for formula, w in [("cbind(incidence, size - incidence) ~ period + (1 | herd)", "wh"),
                       ("prop ~ period + (1 | herd)", "wz")]:
        fit = _fit_at_lme4(R, formula, "binomial", fam.binomial(), setup, "cb", (f", weights = {w}", {"weights": w}))
        msg = R.r_eval("tryCatch(simulate(g, nsim = 2, seed = 1), error = conditionMessage)")
        assert list(msg) == ["cannot simulate from non-integer prior.weights"]
        with pytest.raises(DataError, match=r"^cannot simulate from non-integer prior\.weights$"):
            simulate_glmm(fit, nsim=2, seed=1)
