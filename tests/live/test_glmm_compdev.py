"""``glmerControl(compDev = FALSE)``: lme4's R-level PIRLS (``glmerPwrssUpdate``'s R branch,
:func:`pyreterms.glmm.pirls.r_laplace`) against lme4 1.1-31.  Its deviance functions at given parameters
(both stages, lp0 taken from lme4's devfun environment for the second) to 1e-12 relative; the whole fit through
``parity check``, where only the Hessian-dependent outputs may differ, and only because lme4's own Hessian is
singular to its rounding: the R branch re-estimates beta inside PIRLS in the second stage (``uOnly = nrow(GQmat)
== 0``), so the deviance is flat in beta (README "Known differences from lme4", GLMMs)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from parity.compare.glmm_check import check_glmm
from pyreterms.glmm import family as fam
from pyreterms.glmm.control import glmerControl
from pyreterms.glmm.glmer import glmer, glmer_at
from pyreterms.glmm.glformula import GLFormula, glformula

pytestmark = pytest.mark.r
RTOL = 1e-12
CB = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
MODELS = [(CB, "binomial", fam.binomial()), ("incidence ~ period + (1 | herd)", "poisson", fam.poisson()),
          (CB, 'binomial(link = "probit")', fam.binomial("probit"))]


def _cbpp(R):
    from parity.r.frame import r_dataframe_to_pandas

    return r_dataframe_to_pandas(R.r_eval("lme4::cbpp"))


def _r_devfun(R, formula: str, rfam: str, nAGQ: int):
    R.r_eval("suppressMessages(library(lme4))")
    return R.r_eval(f"glmer({formula}, data = lme4::cbpp, family = {rfam}, nAGQ = {nAGQ}, devFunOnly = TRUE, "
                    f"control = glmerControl(compDev = FALSE))")


@pytest.mark.parametrize(("formula", "rfam", "f"), MODELS)
def test_r_level_devfuns_match_lme4(R, formula: str, rfam: str, f: fam.Family) -> None:
    from rpy2.robjects import FloatVector

    data = _cbpp(R)
    ctrl = glmerControl(compDev=False)
    d0 = glmer(formula, data, f, nAGQ=0, devFunOnly=True, control=ctrl)
    r0 = _r_devfun(R, formula, rfam, 0)
    for th in (1.0, 0.5, 0.0, 2.0, 0.64):
        assert d0(np.array([th])) == pytest.approx(float(r0(FloatVector([th]))[0]), rel=RTOL, abs=0), th
    glf = glformula(formula, data, f)
    assert isinstance(glf, GLFormula)
    from pyreterms.glmm.devfun import GlmerDevfun

    dv = GlmerDevfun(glf, compDev=False)
    r1 = _r_devfun(R, formula, rfam, 1)  # after lme4's stage 1: lp0 from its environment
    dv.lp0 = np.asarray(R.r_eval("environment")(r1)["lp0"], dtype=np.float64)
    dv.base_offset = np.asarray(R.r_eval("function(f) environment(f)$baseOffset")(r1), dtype=np.float64)
    rng = np.random.default_rng(4)
    for k in range(5):
        pars = np.concatenate([[0.3 + k * 0.3], rng.normal(-1, 1, glf.X.X.shape[1])])
        assert dv.devfun1(pars) == pytest.approx(float(r1(FloatVector(pars))[0]), rel=RTOL, abs=0), k
        # flat in beta: the R branch solves for beta again inside PIRLS (lme4 itself)
        shifted = pars + np.r_[0.0, rng.normal(0, 0.5, pars.size - 1)]
        assert dv.devfun1(shifted) == pytest.approx(dv.devfun1(pars), rel=1e-9, abs=0)
    dv.set_agq(5)  # the R branch ignores the quadrature: Laplace at every nAGQ
    assert dv.devfun(pars) == dv.devfun1(pars)


def _check(data, nAGQ: int, fam_r: str = "binomial", formula: str = CB):
    from parity.r.glmer_call import parse_glmer_call

    call = parse_glmer_call(f"glmer({formula}, cb, {fam_r}, nAGQ = {nAGQ}, control = glmerControl(compDev = FALSE))")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return check_glmm(call.formula, data, family=call.family, link=call.link, nAGQ=call.nAGQ, data_label="cb",
                          call=call)


@pytest.mark.parametrize(("formula", "fam_r"), [(CB, "binomial"), ("incidence ~ period + (1 | herd)", "poisson")])
def test_r_level_fit_agrees_but_for_its_flat_hessian(R, formula: str, fam_r: str) -> None:
    """nAGQ = 0 agrees in every component; nAGQ = 1 in every one but checkConv's verdict, which lme4's own
    Hessian (singular to its rounding: flat in beta) cannot decide."""
    data = _cbpp(R)
    rep0 = _check(data, 0, fam_r, formula)
    assert rep0.ok, [c for c in rep0.components if not c.ok]
    rep = _check(data, 1, fam_r, formula)
    failing = [c.name for c in rep.components if not c.ok]
    assert failing and set(failing) <= {"gfit@optinfo$conv$lme4$messages", "glmer(): warnings"}, failing
    assert {c.name for c in rep.components if c.ok} >= {'getME(gfit, "u")', "gdevfun(pars)", "vcov(gfit)",
                                                         "deviance(gfit)", 'getME(gfit, "theta")'}
    # lme4's Hessian at its optimum and ours at the same parameters (and lp0): their difference exceeds lme4's
    # smallest eigenvalue, so that eigenvalue's sign and size (checkConv's verdict) are not the model's
    R.r_eval("suppressMessages(library(lme4))")
    g = R.r_eval(f"suppressWarnings(glmer({formula}, lme4::cbpp, {fam_r}, control = glmerControl(compDev = FALSE)))")
    H = np.array(R.r_eval("function(g) g@optinfo$derivs$Hessian")(g))
    pars = np.array(R.r_eval("function(g) c(getME(g, 'theta'), fixef(g))")(g))
    lp0 = np.array(R.r_eval("environment")(_r_devfun(R, formula, fam_r, 1))["lp0"])
    glf = glformula(formula, data, fam.binomial() if fam_r == "binomial" else fam.poisson())
    assert isinstance(glf, GLFormula)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at = glmer_at(glf, pars, nAGQ=1, lp0=lp0, control=glmerControl(compDev=False))
    assert at.hessian is not None
    lam = np.linalg.eigvalsh((H + H.T) / 2)
    assert np.abs(at.hessian - H).max() > np.abs(lam).min()
    assert np.abs(lam).min() < 1e-4 * np.abs(lam).max()  # flat in beta, on lme4's own Hessian
