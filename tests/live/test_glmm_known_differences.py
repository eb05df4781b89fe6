"""README "Known differences from lme4", GLMMs: the differences the GLMM campaign meets, pinned on the
designs it found (``tests/data/glmm_singular_hessian/``, ``tests/data/glmm_agq_scale_nan/``, ...), and an
overflowed relative covariance factor (15), live."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from glmm_rhelp import r_data

from parity.adapter.pyreterms_glmm import glmm_family, pyreterms_glmm_impl
from parity.campaigns.glmm_explain import explain_disagreement, singular_to_rounding
from parity.campaigns.glmm_fuzz import load_glmm_design, run_glmm_design
from parity.r.glmm_oracle import glmm_r_components
from pyreterms.glmm.glformula import glformula
from pyreterms.glmm.glmer import glmer_at

pytestmark = pytest.mark.r

DATA = Path(__file__).resolve().parents[1] / "data"


def test_hessian_singular_to_rounding_decides_checkconv(R, monkeypatch: pytest.MonkeyPatch) -> None:
    """A nearly separated cloglog fit (beta -23): lme4's deriv12 Hessian has an eigenvalue of ~1e-7, far inside
    its rounding (~5e-5).  At lme4's own parameters pyreterms' Hessian has that eigenvalue negative: chol()
    fails and checkConv adds "unable to evaluate scaled gradient", where lme4's chol() succeeded.  Which side
    of zero the eigenvalue falls is rounding: the numpy PIRLS (the reference) lands on the other side from
    lme4; the compiled one (two scalar terms on one factor: the nested elimination) either agrees with lme4
    or disagrees for the same reason."""
    d = load_glmm_design(DATA / "glmm_singular_hessian")
    a = d.glmm_args()
    r = glmm_r_components(d.formula, d.data, level="glmer", **a)
    H_r = np.array(r["harness: Hessian"].x)
    dev = float(np.array(r["harness: fval"].x)[0])
    glf = glformula(d.formula, d.data, glmm_family(d.family, d.link), weights=a["weights"], offset=a["offset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at = glmer_at(glf, np.array(r["harness: pars"].x), nAGQ=d.nAGQ, lp0=np.array(r["harness: lp0"].x))
    for H in (H_r, at.hessian):
        sing, lam, noise = singular_to_rounding(H, dev)
        assert sing and abs(lam) < noise / 10, (lam, noise)
    # the other eigenvalues agree (the Hessians differ by rounding only)
    np.testing.assert_allclose(np.linalg.eigvalsh(at.hessian)[1:], np.linalg.eigvalsh(H_r)[1:], rtol=1e-5)
    rounding = {"gfit@optinfo$conv$lme4$messages", "glmer(): warnings"}
    o = run_glmm_design(d, pyreterms_glmm_impl)  # the compiled PIRLS (the default)
    if o.status != "agree":
        assert set(o.failing) <= rounding and "decided by rounding" in (explain_disagreement(o) or "")
    monkeypatch.setenv("PYRETERMS_GLMM_KERNEL", "0")
    o = run_glmm_design(d, pyreterms_glmm_impl)
    assert o.status == "disagree" and set(o.failing) <= rounding
    assert "decided by rounding" in (explain_disagreement(o) or "")


def test_agq_with_a_scale_family_has_no_finite_criterion(R) -> None:
    """Gamma(identity) at nAGQ = 12: lme4's AGQ deviance is NaN (optimum Inf, logLik -Inf), pyreterms' too; stage 2
    cannot move, the parameters are stage 1's (NLopt's vs minqa's bobyqa) and agree to 1e-6, the deviance
    residuals' sum differs by ~1e-8 relative."""
    d = load_glmm_design(DATA / "glmm_agq_scale_nan")
    o = run_glmm_design(d, pyreterms_glmm_impl)
    assert o.status == "disagree" and o.failing == ("deviance(gfit)",), o.failing
    r = glmm_r_components(d.formula, d.data, level="glmer", **d.glmm_args())
    assert np.isinf(np.array(r["harness: fval"].x)[0]) and np.isnan(np.array(r["gdevfun(pars)"].x)[0])
    assert np.isneginf(np.array(r["logLik(gfit)"].x)[0])
    assert "not finite" in (explain_disagreement(o) or "")


def _explained(name: str, expect_failing: set[str] | None = None) -> tuple:
    d = load_glmm_design(DATA / name)
    o = run_glmm_design(d, pyreterms_glmm_impl)
    assert o.status == "disagree", (o.status, o.failing)
    if expect_failing is not None:
        assert set(o.failing) == expect_failing, o.failing
    return d, o, explain_disagreement(o) or ""


def test_pirls_stop_decides_where_stage_2_stops(R) -> None:
    """A Poisson `(x | g)` fit: lme4's stage-2 criterion at our optimum is 0.0076 above its value with PIRLS run
    to convergence (PIRLS stopped on pwrss while ldL2 still moved); the same function in pyreterms, from lme4's
    lp0, gives lme4's value to 1e-10 (the same jumpy function), and converged our optimum is within FtolAbs of
    lme4's."""
    d, o, why = _explained("glmm_pirls_stop")
    a = d.glmm_args()
    r = glmm_r_components(d.formula, d.data, level="glmer", **a)
    py = pyreterms_glmm_impl(d.formula, d.data, level="glmer", **a)
    ours = np.concatenate([np.array(py['getME(gfit, "theta")'].x), np.array(py['getME(gfit, "beta")'].x)])
    here = glmm_r_components(d.formula, d.data, level="glmer", pars=[ours.tolist()], converged_tol=1e-13, **a)
    df_ours = float(np.array(here["gdevfun(pars[[1]])"].x)[0])
    conv_ours = float(np.array(here["harness: converged gdevfun(pars[[1]])"].x)[0])
    assert abs(df_ours - conv_ours) > 1e-3
    glf = glformula(d.formula, d.data, glmm_family(d.family, d.link), weights=a["weights"], offset=a["offset"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at = glmer_at(glf, ours, nAGQ=d.nAGQ, lp0=np.array(r["harness: lp0"].x), calc_derivs=False)
    assert abs(at.fval - df_ours) <= 1e-10 * abs(df_ours)
    assert "jumps by" in why and "optima of the same criterion" in why, why


def test_stage1_endpoint_reproduced_by_lme4(R) -> None:
    """Nested cauchit, n = 42: stage 1 stops at theta2 3.90 (ours) vs 4.79 (lme4) on a criterion that jumps by
    0.01 with PIRLS's stop; lme4's own glmer, with stage 1's optimizer returning our stage-1 optimum, agrees with
    our whole fit."""
    _, _, why = _explained("glmm_stage1_endpoint")
    assert "agrees with our fit in every component" in why, why


def test_stage1_warning_on_a_zero_criterion(R) -> None:
    """Separated cloglog data: the nAGQ = 0 deviance is ~1e-14 at both stage-1 optima; only stage 1's bobyqa
    warning differs."""
    _, _, why = _explained("glmm_stage1_zero_criterion", {"glmer(): warnings"})
    assert "zero to rounding" in why, why


def test_downdated_vtv_decided_by_rounding(R) -> None:
    """Separated cauchit data: lme4 stops with "Downdated VtV is not positive definite" at stage 1's start theta,
    where X'WX - RZX'RZX (working weights ~1e-40) is singular to rounding."""
    _, _, why = _explained("glmm_downdated_rounding", {"decision (accept/refuse)"})
    assert "whether its Cholesky fails is rounding" in why, why


def test_fixed_stage1_at_lme4s_own_optimum_reproduces_lme4(R) -> None:
    """The stage-1 endpoint rule's R side: glmer with stage 1's optimizer returning lme4's own stage-1 optimum
    (pyreterms_fixed_stage1) runs stage 2 as glmer does, so it ends where lme4's ordinary fit ends."""
    f = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    cbpp = r_data(R, "cbpp")
    r = glmm_r_components(f, cbpp, family="binomial", level="glmer", stage1_theta=True)
    s1 = np.array(r["harness: stage1 theta"].x)
    assert s1.shape == (1,) and abs(s1[0] - np.array(r['getME(gfit, "theta")'].x)[0]) > 1e-6  # stage 2 moved it
    again = glmm_r_components(f, cbpp, family="binomial", level="glmer", stage1=s1.tolist())
    np.testing.assert_allclose(np.array(again["harness: pars"].x), np.array(r["harness: pars"].x), rtol=0, atol=1e-7)
    moved = glmm_r_components(f, cbpp, family="binomial", level="glmer", stage1=[s1[0] * 1.5])
    assert np.max(np.abs(np.array(moved["harness: pars"].x) - np.array(r["harness: pars"].x))) > 1e-6


def test_overflowed_relative_covariance_is_inf_in_lme4_and_a_stop_here(R) -> None:
    """README "Known differences" 15: at a theta whose square overflows (1e155 and beyond) lme4's CHOLMOD
    factors the infinite ``Lambda' Z' W Z Lambda + I`` with infinite pivots and its devfun returns Inf; pyreterms
    stops with "PIRLS: non-finite working weights", both paths.  At 1e100 (finite) both stop alike."""
    import pyreterms as p
    from pyreterms.glmm import family as fam
    from pyreterms.glmm.devfun import GlmerDevfun
    from pyreterms.glmm.glformula import GLFormula
    from pyreterms.glmm.pirls import PirlsError

    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    R.r_eval("suppressMessages(library(lme4))")
    f = R.r_eval(f"glmer({formula}, lme4::cbpp, binomial, nAGQ = 0, devFunOnly = TRUE)")
    run = R.r_eval("function(f, th) tryCatch(f(th), error = function(e) conditionMessage(e))")
    glf = glformula(formula, p.load_dataset("cbpp"), fam.binomial())
    assert isinstance(glf, GLFormula)
    for kernel in (True, False):
        dv = GlmerDevfun(glf, kernel=kernel)
        for th in (1e155, 1e200):
            assert float(R.r_call(run, f, th)[0]) == np.inf
            with pytest.raises(PirlsError, match="non-finite working weights"), np.errstate(all="ignore"):
                dv.devfun0(np.array([th]))
        assert list(R.r_call(run, f, 1e100)) == ["Downdated VtV is not positive definite"]
        with pytest.raises(PirlsError, match="Downdated VtV is not positive definite"), np.errstate(all="ignore"):
            dv.devfun0(np.array([1e100]))
