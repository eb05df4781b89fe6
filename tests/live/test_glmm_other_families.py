"""Gamma, inverse.gaussian, gaussian with a log link and Poisson with the sqrt/identity links: the nAGQ = 0
deviance function (1e-12 relative) and the glmer fit (theta/fixef 1e-4 absolute, logLik/AIC 1e-7 relative)
against lme4 on a synthetic data set made in R; lme4's PIRLS failure with the same message."""
from __future__ import annotations

import numpy as np
import pytest

from pyreterms.glmm import family as fam
from pyreterms.glmm.devfun import GlmerDevfun
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.glmer import glmer
from pyreterms.glmm.pirls import PirlsError

pytestmark = pytest.mark.r

MAKE = ("suppressMessages(library(lme4)); set.seed(1); gd <- data.frame(g = factor(rep(1:12, each = 8)), "
        "x = rnorm(96)); b <- rnorm(12, sd = 0.4); "
        "gd$y <- rgamma(96, shape = 3, scale = exp(0.5 + 0.3*gd$x + b[gd$g])/3); "
        "gd$c <- rpois(96, exp(1 + 0.2*gd$x + b[gd$g])); gd")
CASES = [("y ~ x + (1 | g)", "Gamma(link = \"log\")", fam.Gamma("log")),
         ("y ~ x + (1 | g)", "inverse.gaussian(link = \"log\")", fam.inverse_gaussian("log")),
         ("y ~ x + (1 | g)", "gaussian(link = \"log\")", fam.gaussian("log")),
         ("c ~ x + (1 | g)", "poisson(link = \"sqrt\")", fam.poisson("sqrt"))]


@pytest.fixture(scope="module")
def gd(R):
    from parity.r.frame import r_dataframe_to_pandas

    return r_dataframe_to_pandas(R.r_eval(MAKE))


@pytest.mark.parametrize(("formula", "rfam", "f"), CASES)
def test_family_glmm_matches_lme4(R, gd, formula: str, rfam: str, f: fam.Family) -> None:
    from rpy2.robjects import FloatVector

    glf = glformula(formula, gd, f)
    assert isinstance(glf, GLFormula)
    dv = GlmerDevfun(glf)
    r0 = R.r_eval(f"glmer({formula}, gd, {rfam}, nAGQ = 0, devFunOnly = TRUE)")
    for th in (1.0, 0.5, 0.0, 1.5):
        assert dv.devfun0(np.array([th])) == pytest.approx(float(r0(FloatVector([th]))[0]), rel=1e-12, abs=0)
    fit = glmer(formula, gd, f)
    R.r_eval(f"g <- glmer({formula}, gd, {rfam})")
    np.testing.assert_allclose(fit.theta, np.array(R.r_eval("getME(g, 'theta')")), rtol=0, atol=1e-4)
    np.testing.assert_allclose(fit.beta, np.array(R.r_eval("fixef(g)")), rtol=0, atol=1e-4)
    assert fit.logLik() == pytest.approx(float(R.r_eval("logLik(g)")[0]), rel=1e-7, abs=0)
    assert fit.AIC() == pytest.approx(float(R.r_eval("AIC(g)")[0]), rel=1e-7, abs=0)


def test_pirls_nan_as_lme4(R, gd) -> None:
    msg = str(R.r_eval("tryCatch(glmer(c ~ x + (1 | g), gd, poisson(link = \"identity\")), "
                       "error = function(e) conditionMessage(e))")[0])
    assert msg == "PIRLS loop resulted in NaN value"
    with pytest.raises(PirlsError, match=f"^{msg}$"):
        glmer("c ~ x + (1 | g)", gd, fam.poisson("identity"))
