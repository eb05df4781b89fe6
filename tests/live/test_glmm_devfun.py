"""The glmer deviance functions (pyreterms.glmm.devfun: PIRLS + Laplace) against lme4's
``glmer(..., devFunOnly = TRUE)`` at given parameters: nAGQ = 0 (theta; the whole chain from the
initial PIRLS on is ours) and nAGQ = 1 (c(theta, beta); lp0 taken from lme4's devfun environment, since
lme4's stage-1 bobyqa (minqa) is not ours).  Measured agreement: a few 1e-16 relative; asserted 1e-12."""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms as p
from pyreterms.glmm import family as fam
from pyreterms.glmm.devfun import GlmerDevfun
from pyreterms.glmm.glformula import GLFormula, glformula

pytestmark = pytest.mark.r
RTOL = 1e-12

MODELS = [  # (formula, R family, our family, data set)
    ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial", fam.binomial(), "cbpp"),
    ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial(link = \"probit\")",
     fam.binomial("probit"), "cbpp"),
    ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial(link = \"cloglog\")",
     fam.binomial("cloglog"), "cbpp"),
    ("incidence ~ period + (1 | herd)", "poisson", fam.poisson(), "cbpp"),
    ("TICKS ~ YEAR + (1 | BROOD)", "poisson", fam.poisson(), "grouseticks"),
    ("TICKS ~ YEAR + HEIGHT + (1 | BROOD) + (1 | LOCATION)", "poisson", fam.poisson(), "grouseticks"),
]


def _data(R, name: str):
    from parity.r.frame import r_dataframe_to_pandas

    return r_dataframe_to_pandas(R.r_eval(f"lme4::{name}"))


def _glf(R, formula: str, f: fam.Family, data: str) -> GLFormula:
    glf = glformula(formula, _data(R, data), f)
    assert isinstance(glf, GLFormula)
    return glf


def _r_devfun(R, formula: str, rfam: str, data: str, nAGQ: int):
    R.r_eval("suppressMessages(library(lme4))")
    return R.r_eval(f"glmer({formula}, data = lme4::{data}, family = {rfam}, nAGQ = {nAGQ}, devFunOnly = TRUE)")


@pytest.mark.parametrize(("formula", "rfam", "f", "data"), MODELS)
def test_nagq0_devfun_matches_lme4(R, formula: str, rfam: str, f: fam.Family, data: str) -> None:
    from rpy2.robjects import FloatVector

    glf = _glf(R, formula, f, data)
    dv = GlmerDevfun(glf)
    rdev = _r_devfun(R, formula, rfam, data, 0)
    env = R.r_eval("environment")(rdev)
    # lp0 is a PIRLS iterate stopped at tolPwrss = 1e-7: with HEIGHT (values ~500, X ill-conditioned) our
    # dense factorisation and CHOLMOD's round differently and the iterates differ by ~2e-10 relative
    np.testing.assert_allclose(dv.lp0, np.asarray(env["lp0"]), rtol=1e-9, atol=0)
    nth = dv.nth
    for th in (1.0, 0.5, 0.0, 2.0, 0.64, 1.7):
        theta = np.full(nth, th)
        ours = dv.devfun0(theta)
        theirs = float(rdev(FloatVector(theta))[0])
        assert ours == pytest.approx(theirs, rel=RTOL, abs=0), th


@pytest.mark.parametrize(("formula", "rfam", "f", "data"), MODELS)
def test_laplace_devfun_matches_lme4(R, formula: str, rfam: str, f: fam.Family, data: str) -> None:
    from rpy2.robjects import FloatVector

    glf = _glf(R, formula, f, data)
    dv = GlmerDevfun(glf)
    rdev = _r_devfun(R, formula, rfam, data, 1)
    env = R.r_eval("environment")(rdev)
    dv.lp0 = np.asarray(env["lp0"], dtype=np.float64)
    start = np.concatenate([np.array(R.r_eval("function(f) environment(f)$pp$theta")(rdev)),
                            np.array(R.r_eval("function(f) environment(f)$pp$delb")(rdev))])
    rng = np.random.default_rng(18)
    for k in range(6):
        pars = start * (1 + (0 if k == 0 else rng.normal(0, 0.1, start.size)))
        pars[:dv.nth] = np.abs(pars[:dv.nth])
        ours = dv.devfun1(pars)
        theirs = float(rdev(FloatVector(pars))[0])
        assert ours == pytest.approx(theirs, rel=RTOL, abs=0), k


def test_glformula_binomial_responses_as_lme4(R) -> None:
    """0/1, proportions with weights and cbind give lme4's rewritten response and weights."""
    d = p.load_dataset("cbpp")
    d = d.assign(prop=d["incidence"] / d["size"], any=(d["incidence"] > 0).astype(float))
    R.r_eval("suppressMessages(library(lme4)); cb <- cbpp; cb$prop <- cb$incidence/cb$size; "
             "cb$any <- as.numeric(cb$incidence > 0)")
    for formula, w in (("cbind(incidence, size - incidence) ~ period + (1 | herd)", None),
                       ("prop ~ period + (1 | herd)", "size"), ("any ~ period + (1 | herd)", None)):
        glf = glformula(formula, d, "binomial", weights=w)
        assert isinstance(glf, GLFormula)
        wr = f", weights = {w}" if w else ""
        rdev = R.r_eval(f"glmer({formula}, cb, binomial{wr}, nAGQ = 0, devFunOnly = TRUE)")
        resp = R.r_eval("function(f) environment(f)$resp")(rdev)
        for ours, field in ((glf.y, "y"), (glf.weights, "weights"), (glf.offset, "offset")):
            theirs = np.array(R.r_eval(f"function(r) r${field}")(resp))
            np.testing.assert_array_equal(ours, theirs)
