"""``pyreterms.glmer`` (two-stage fit, nAGQ 0 and 1) against ``lme4::glmer`` with glmerControl's defaults.

Stage 1's bobyqa is NLopt's, not minqa's, so the parameters are judged as parity's theta rule does: by
lme4's own deviance function at our parameters, which must be within 1e-7 relative of lme4's optimum
(and our objective equal to lme4's devfun there to 1e-12); fixef within 1e-4 absolute of lme4's."""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms as p
from pyreterms.errors import DataError, LmeCheckError
from pyreterms.glmm import family as fam
from pyreterms.glmm.glformula import glformula
from pyreterms.glmm.glmer import glmer

pytestmark = pytest.mark.r

FITS = [
    ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial", fam.binomial(), "cbpp"),
    ("cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial(link = \"probit\")",
     fam.binomial("probit"), "cbpp"),
    ("incidence ~ period + (1 | herd)", "poisson", fam.poisson(), "cbpp"),
    ("TICKS ~ YEAR + (1 | BROOD)", "poisson", fam.poisson(), "grouseticks"),
]


def _data(R, name: str):
    from parity.r.frame import r_dataframe_to_pandas

    return r_dataframe_to_pandas(R.r_eval(f"lme4::{name}"))


@pytest.mark.parametrize("nAGQ", [1, 0])
@pytest.mark.parametrize(("formula", "rfam", "f", "data"), FITS)
def test_glmer_matches_lme4(R, formula: str, rfam: str, f: fam.Family, data: str, nAGQ: int) -> None:
    from rpy2.robjects import FloatVector

    fit = glmer(formula, _data(R, data), f, nAGQ=nAGQ)
    R.r_eval("suppressMessages(library(lme4))")
    R.r_eval(f"g <- suppressWarnings(glmer({formula}, data = lme4::{data}, family = {rfam}, nAGQ = {nAGQ}))")
    r = {k: np.array(R.r_eval(e), dtype=np.float64) for k, e in (
        ("theta", "getME(g, 'theta')"), ("fixef", "fixef(g)"), ("deviance", "deviance(g)"),
        ("logLik", "logLik(g)"), ("AIC", "AIC(g)"), ("BIC", "BIC(g)"), ("ranef", "ranef(g)[[1]][[1]]"))}
    np.testing.assert_allclose(fit.fixef().to_numpy(), r["fixef"], rtol=0, atol=1e-4)
    assert list(fit.fixef().index) == list(R.r_eval("names(fixef(g))"))
    np.testing.assert_allclose(fit.theta, r["theta"], rtol=0, atol=1e-4)
    assert fit.logLik() == pytest.approx(float(r["logLik"][0]), rel=1e-7, abs=0)
    assert fit.AIC() == pytest.approx(float(r["AIC"][0]), rel=1e-7, abs=0)
    assert fit.BIC() == pytest.approx(float(r["BIC"][0]), rel=1e-7, abs=0)
    assert fit.deviance() == pytest.approx(float(r["deviance"][0]), rel=1e-5, abs=0)
    np.testing.assert_allclose(next(iter(fit.ranef().values())).iloc[:, 0].to_numpy(), r["ranef"], rtol=0, atol=1e-4)
    if nAGQ == 1:  # our parameters on lme4's Laplace deviance function (theta rule)
        rdev = R.r_eval(f"glmer({formula}, data = lme4::{data}, family = {rfam}, devFunOnly = TRUE)")
        ours_on_lme4 = float(rdev(FloatVector(np.concatenate([fit.theta, fit.beta])))[0])
        assert ours_on_lme4 == pytest.approx(fit.fval, rel=1e-12, abs=0)
        assert ours_on_lme4 <= -2 * float(r["logLik"][0]) * (1 + 1e-7)


def test_glmer_cbpp_feval_as_lme4(R) -> None:
    """Stage 2 (lme4's Nelder_Mead, ported) takes lme4's number of evaluations on cbpp (285)."""
    fit = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", p.load_dataset("cbpp"), "binomial")
    R.r_eval("suppressMessages(library(lme4)); g <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd),"
             " cbpp, binomial)")
    assert fit.feval == int(R.r_eval("g@optinfo$feval")[0])


def test_glformula_checks_as_lme4(R) -> None:
    d = p.load_dataset("cbpp")
    with pytest.raises(DataError, match="^\"quasi\" families cannot be used in glmer$"):
        glformula("incidence ~ period + (1 | herd)", d, "quasipoisson")
    with pytest.raises(DataError, match=r"^y values must be 0 <= y <= 1$"):
        glformula("incidence ~ period + (1 | herd)", d, "binomial")
    with pytest.raises(DataError, match="^response must be numeric$"):
        glformula("as.factor(incidence) ~ period + (1 | herd)", d, "poisson")
    with pytest.raises(DataError, match="^response must be numeric or factor$"):
        glformula("ch ~ period + (1 | herd)", d.assign(ch=np.where(d["incidence"] > 0, "a", "b")), "binomial")
    with pytest.raises(LmeCheckError, match="^Response is constant$"):
        glformula("size ~ period + (1 | herd)", d.assign(size=3.0), "poisson")
    with pytest.raises(DataError, match="^nAGQ > 1 is only available for models with a single, scalar"):
        glmer("incidence ~ period + (1 | herd) + (1 | period)", d, "poisson", nAGQ=5)
    # as many levels as observations is legal for a GLMM (allow.n = TRUE), not for an LMM
    obs = d.assign(obs=[str(i) for i in range(len(d))])
    glf = glformula("incidence ~ period + (1 | obs)", obs, "poisson")
    assert glf.reTrms.q == len(d)
    R.r_eval("suppressMessages(library(lme4)); cb <- cbpp; cb$obs <- factor(seq_len(nrow(cb)) - 1)")
    assert int(R.r_eval("nrow(glFormula(incidence ~ period + (1 | obs), cb, poisson)$reTrms$Zt)")[0]) == len(d)
    # gaussian with the identity link is lFormula's result, as in lme4
    assert hasattr(glformula("incidence ~ period + (1 | herd)", d, "gaussian"), "REML")


def test_glmer_negative_weights_and_gaussian_shortcut_as_lme4(R) -> None:
    d = p.load_dataset("cbpp")
    R.r_eval("suppressMessages(library(lme4)); cb <- cbpp; cb$w <- c(-1, rep(1, 55))")
    msg = str(R.r_eval("tryCatch(glmer(incidence ~ period + (1 | herd), cb, poisson, weights = w), "
                       "error = function(e) conditionMessage(e))")[0])
    with pytest.raises(DataError, match=f"^{msg.replace('(', '[(]').replace(')', '[)]')}$"):
        glmer("incidence ~ period + (1 | herd)", d.assign(w=[-1.0] + [1.0] * 55), "poisson", weights="w")
    wmsg = str(R.r_eval("tryCatch(glmer(incidence ~ period + (1 | herd), cb, gaussian), "
                        "warning = function(w) conditionMessage(w))")[0])
    with pytest.warns(UserWarning) as rec:
        fit = glmer("incidence ~ period + (1 | herd)", d, "gaussian")
    assert wmsg in [str(w.message) for w in rec]
    lmm = p.lmer("incidence ~ period + (1 | herd)", d)
    assert fit.theta.tolist() == lmm.theta.tolist()


NESTED = ["TICKS ~ YEAR + HEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
          "TICKS ~ YEAR + HEIGHT + (1 | BROOD) + (1 | LOCATION)"]


@pytest.mark.parametrize("nAGQ", [1, 0])
@pytest.mark.parametrize("formula", NESTED)
def test_glmer_nested_grouseticks_matches_lme4(R, formula: str, nAGQ: int) -> None:
    """Nested scalar terms (INDEX in BROOD in LOCATION), fitted by the compiled PIRLS: lme4's fit to the
    tolerances of :func:`test_glmer_matches_lme4`, and the theta rule for the Laplace fit."""
    from rpy2.robjects import FloatVector

    from pyreterms.glmm.devfun import GlmerDevfun

    data = _data(R, "grouseticks")
    dk = GlmerDevfun(glformula(formula, data, "poisson"))
    assert dk.kern is not None and dk.pp.pat.plan.rest is not None  # nested, and in the kernel
    fit = glmer(formula, data, "poisson", nAGQ=nAGQ)
    R.r_eval("suppressMessages(library(lme4))")
    R.r_eval(f"g <- suppressWarnings(glmer({formula}, data = lme4::grouseticks, family = poisson, nAGQ = {nAGQ}))")
    r = {k: np.array(R.r_eval(e), dtype=np.float64) for k, e in (
        ("theta", "getME(g, 'theta')"), ("fixef", "fixef(g)"), ("deviance", "deviance(g)"), ("logLik", "logLik(g)"))}
    np.testing.assert_allclose(fit.fixef().to_numpy(), r["fixef"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(fit.theta, r["theta"], rtol=0, atol=1e-4)
    assert fit.logLik() == pytest.approx(float(r["logLik"][0]), rel=1e-7, abs=0)
    assert fit.deviance() == pytest.approx(float(r["deviance"][0]), rel=1e-5, abs=0)
    if nAGQ == 1:
        rdev = R.r_eval(f"glmer({formula}, data = lme4::grouseticks, family = poisson, devFunOnly = TRUE)")
        ours_on_lme4 = float(rdev(FloatVector(np.concatenate([fit.theta, fit.beta])))[0])
        assert ours_on_lme4 == pytest.approx(fit.fval, rel=1e-12, abs=0)
        assert ours_on_lme4 <= -2 * float(r["logLik"][0]) * (1 + 1e-7)
