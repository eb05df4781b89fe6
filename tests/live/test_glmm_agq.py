"""nAGQ > 1 (adaptive Gauss-Hermite quadrature; pyreterms.glmm.ghrule, pyreterms.glmm.agq) against lme4 1.1-31.

- ``GHrule(k)`` equals lme4's bit for bit for k = 0..100 (nodes, weights, ``ldnorm``).
- The AGQ deviance function equals lme4's ``glmer(..., nAGQ = k, devFunOnly = TRUE)`` at given
  ``c(theta, beta)`` to 1e-10 relative (measured: <= 5e-16) for every k in 2..25 and k = 26, 40, 60, 100 on
  cbpp (binomial), a
  Poisson model on cbpp and one on grouseticks (118 broods, HEIGHT ~ 500 beside the intercept); lp0 (the
  PIRLS start) is taken from lme4's devfun environment, since it comes out of
  lme4's stage-1 bobyqa (minqa), which is not ours.
- The full fit: stage 2 starts from stage 1's optimum on our nAGQ = 0 deviance (equal to lme4's to
  the last bits, not bitwise), so theta and beta are compared
  within 1e-7 absolute (measured: <= 8e-10), the objective within 1e-10 relative (measured: <= 5e-15),
  ``deviance()`` within 1e-8 relative (measured: <= 3e-10) and lme4's devfun at our parameters equals our
  objective to 1e-12 relative."""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms as p
from pyreterms.errors import DataError
from pyreterms.glmm import family as fam
from pyreterms.glmm.devfun import GlmerDevfun
from pyreterms.glmm.ghrule import GHrule
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.glmer import glmer

pytestmark = pytest.mark.r

MODELS = [  # (formula, R family, our family, data set)
    ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial", fam.binomial(), "cbpp"),
    ("incidence ~ period + (1 | herd)", "poisson", fam.poisson(), "cbpp"),
    ("TICKS ~ YEAR + HEIGHT + (1 | BROOD)", "poisson", fam.poisson(), "grouseticks"),
]


def _lme4(R) -> None:
    R.r_eval("suppressMessages(library(lme4))")


def test_ghrule_is_lme4s(R) -> None:
    _lme4(R)
    for k in range(0, 101):
        theirs = np.array(R.r_eval(f"lme4::GHrule({k})"), dtype=np.float64).reshape(k, 3, order="F") \
            if k else np.zeros((0, 3))
        np.testing.assert_array_equal(GHrule(k), theirs)
    assert str(R.r_eval("tryCatch(lme4::GHrule(101), error = function(e) conditionMessage(e))")[0]) \
        == "ord < 101L is not TRUE"
    with pytest.raises(DataError, match="^ord < 101L is not TRUE$"):
        GHrule(101)


def _data(R, name: str):
    from parity.r.frame import r_dataframe_to_pandas

    return r_dataframe_to_pandas(R.r_eval(f"lme4::{name}"))


@pytest.mark.parametrize(("formula", "rfam", "f", "data"), MODELS)
def test_agq_devfun_matches_lme4_for_every_order(R, formula: str, rfam: str, f: fam.Family, data: str) -> None:
    from rpy2.robjects import FloatVector

    _lme4(R)
    glf = glformula(formula, _data(R, data), f)
    assert isinstance(glf, GLFormula)
    for k in [*range(2, 26), 26, 40, 60, 100]:
        dv = GlmerDevfun(glf)
        rdev = R.r_eval(f"glmer({formula}, data = lme4::{data}, family = {rfam}, nAGQ = {k}, devFunOnly = TRUE)")
        env = R.r_eval("environment")(rdev)
        dv.lp0 = np.asarray(env["lp0"], dtype=np.float64)
        dv.set_agq(k)
        np.testing.assert_array_equal(dv.GQmat, np.asarray(env["GQmat"]))
        start = np.concatenate([np.array(R.r_eval("function(f) environment(f)$pp$theta")(rdev)),
                                np.array(R.r_eval("function(f) environment(f)$pp$delb")(rdev))])
        rng = np.random.default_rng(k)
        for j in range(4):
            pars = start * (1 + (0 if j == 0 else rng.normal(0, 0.1, start.size)))
            ours = dv.devfun(pars)
            theirs = float(rdev(FloatVector(pars))[0])
            assert ours == pytest.approx(theirs, rel=1e-10, abs=0), (k, j)


@pytest.mark.parametrize("k", [2, 5, 25, 60])
@pytest.mark.parametrize(("formula", "rfam", "f", "data"), MODELS[:2])
def test_agq_fit_matches_lme4(R, formula: str, rfam: str, f: fam.Family, data: str, k: int) -> None:
    from rpy2.robjects import FloatVector

    _lme4(R)
    fit = glmer(formula, _data(R, data), f, nAGQ=k)
    R.r_eval(f"g <- glmer({formula}, data = lme4::{data}, family = {rfam}, nAGQ = {k})")
    np.testing.assert_allclose(fit.theta, np.array(R.r_eval("getME(g, 'theta')")), rtol=0, atol=1e-7)
    np.testing.assert_allclose(fit.beta, np.array(R.r_eval("fixef(g)")), rtol=0, atol=1e-7)
    assert fit.fval == pytest.approx(float(R.r_eval("g@devcomp$cmp[['dev']]")[0]), rel=1e-10, abs=0)
    assert fit.deviance() == pytest.approx(float(R.r_eval("deviance(g)")[0]), rel=1e-8, abs=0)
    assert fit.nAGQ == int(R.r_eval("g@devcomp$dims[['nAGQ']]")[0])
    rdev = R.r_eval(f"glmer({formula}, data = lme4::{data}, family = {rfam}, nAGQ = {k}, devFunOnly = TRUE)")
    assert float(rdev(FloatVector(np.concatenate([fit.theta, fit.beta])))[0]) == pytest.approx(fit.fval, rel=1e-12)


def _r_error(R, call: str) -> str:
    return str(R.r_eval(f"tryCatch({call}, error = function(e) conditionMessage(e))")[0])


def test_agq_refusals_as_lme4(R) -> None:
    _lme4(R)
    R.r_eval("cb <- cbpp; cb$obs <- factor(seq_len(nrow(cb)))")
    d = p.load_dataset("cbpp").assign(obs=[str(i + 1) for i in range(56)])
    y = "cbind(incidence, size - incidence)"
    for rhs in ("period + (1 | herd) + (1 | obs)", "period + (1 | herd) + (1 | herd)"):
        msg = _r_error(R, f"glmer({y} ~ {rhs}, cb, binomial, nAGQ = 2)")
        with pytest.raises(DataError, match=f"^{msg}$"):
            glmer(f"{y} ~ {rhs}", d, "binomial", nAGQ=2)
    msg = _r_error(R, f"glmer({y} ~ period + (1 | herd), cb, binomial, nAGQ = 101)")
    with pytest.raises(DataError, match=f"^{msg}$"):
        glmer(f"{y} ~ period + (1 | herd)", d, "binomial", nAGQ=101)
    with pytest.raises(DataError, match="non-negative integer"):
        glmer(f"{y} ~ period + (1 | herd)", d, "binomial", nAGQ=2.5)  # type: ignore[arg-type]
