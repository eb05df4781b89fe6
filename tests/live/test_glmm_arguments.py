"""glmer's arguments against lme4: ``offset()`` in the formula and the ``offset`` argument, a vector-valued
random-effects term, binomial proportions with ``weights``, ``glmerControl(nAGQ0initStep = FALSE)``.
The nAGQ = 0 devfun to 1e-12 relative; the fit within 1e-4 (theta, fixef) and 1e-7 relative (-2 logLik)."""
from __future__ import annotations

import numpy as np
import pytest

from pyreterms.glmm import family as fam
from pyreterms.glmm.devfun import GlmerDevfun
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.glmer import glmer

pytestmark = pytest.mark.r

MAKE = ("suppressMessages(library(lme4)); set.seed(2); gd <- data.frame(g = factor(rep(1:15, each = 10)), "
        "x = rnorm(150)); b0 <- rnorm(15, sd = 0.5); b1 <- rnorm(15, sd = 0.3); "
        "gd$c <- rpois(150, exp(1 + (0.2 + b1[gd$g])*gd$x + b0[gd$g])); gd$e <- runif(150, 1, 3); "
        "cb <- cbpp; cb$prop <- cb$incidence/cb$size")


@pytest.fixture(scope="module")
def frames(R):
    from parity.r.frame import r_dataframe_to_pandas

    R.r_eval(MAKE)
    return {"gd": r_dataframe_to_pandas(R.r_eval("gd")), "cb": r_dataframe_to_pandas(R.r_eval("cb"))}


CASES = [  # (formula, data, R family, our family, R extra arguments, our keyword arguments)
    ("c ~ x + (1 | g) + offset(log(e))", "gd", "poisson", fam.poisson(), "", {}),
    ("c ~ x + (1 | g)", "gd", "poisson", fam.poisson(), ", offset = log(e)", {"offset": "log_e"}),
    ("c ~ x + (1 + x | g)", "gd", "poisson", fam.poisson(), "", {}),
    ("prop ~ period + (1 | herd)", "cb", "binomial", fam.binomial(), ", weights = size", {"weights": "size"}),
    ("incidence ~ period + (1 | herd)", "cb", "poisson", fam.poisson(),
     ", control = glmerControl(nAGQ0initStep = FALSE)", {"control": {"nAGQ0initStep": False}}),
]


@pytest.mark.parametrize(("formula", "data", "rfam", "f", "rextra", "kw"), CASES)
def test_glmer_arguments_as_lme4(R, frames, formula, data, rfam, f, rextra, kw) -> None:
    from rpy2.robjects import FloatVector

    df = frames[data]
    kw = dict(kw)
    if kw.get("offset") == "log_e":
        kw["offset"] = np.log(df["e"].to_numpy())
    control = kw.pop("control", None)
    glf = glformula(formula, df, f, **kw)
    assert isinstance(glf, GLFormula)
    if control is None:
        r0 = R.r_eval(f"glmer({formula}, {data}, {rfam}{rextra}, nAGQ = 0, devFunOnly = TRUE)")
        theta0 = np.array(R.r_eval("function(f) environment(f)$pp$theta")(r0))
        dv = GlmerDevfun(glf)
        for s in (1.0, 0.8, 0.3):
            assert dv.devfun0(theta0 * s) == pytest.approx(float(r0(FloatVector(theta0 * s))[0]), rel=1e-12, abs=0)
    fit = glmer(formula, df, f, control=control, **kw)
    R.r_eval(f"g <- glmer({formula}, {data}, {rfam}{rextra})")
    np.testing.assert_allclose(fit.theta, np.array(R.r_eval("getME(g, 'theta')")), rtol=0, atol=1e-4)
    np.testing.assert_allclose(fit.beta, np.array(R.r_eval("fixef(g)")), rtol=0, atol=1e-4)
    assert fit.fval == pytest.approx(-2 * float(R.r_eval("logLik(g)")[0]), rel=1e-7, abs=0)
