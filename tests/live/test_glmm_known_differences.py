"""README "Known differences from lme4", GLMMs: the two differences the GLMM campaign meets, pinned on the
designs it found (``tests/data/glmm_singular_hessian/``, ``tests/data/glmm_agq_scale_nan/``), live."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from parity.adapter.pyreterms_glmm import glmm_family, pyreterms_glmm_impl
from parity.campaigns.glmm_explain import explain_disagreement, singular_to_rounding
from parity.campaigns.glmm_fuzz import load_glmm_design, run_glmm_design
from parity.r.glmm_oracle import glmm_r_components
from pyreterms.glmm.glformula import glformula
from pyreterms.glmm.glmer import glmer_at

pytestmark = pytest.mark.r

DATA = Path(__file__).resolve().parents[1] / "data"


def test_hessian_singular_to_rounding_decides_checkconv(R) -> None:
    """A nearly separated cloglog fit (beta -23): lme4's deriv12 Hessian has an eigenvalue of ~1e-7, far inside
    its rounding (~5e-5).  At lme4's own parameters pyreterms' Hessian has that eigenvalue negative: chol()
    fails and checkConv adds "unable to evaluate scaled gradient", where lme4's chol() succeeded."""
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
    o = run_glmm_design(d, pyreterms_glmm_impl)
    assert o.status == "disagree" and set(o.failing) <= {"gfit@optinfo$conv$lme4$messages", "glmer(): warnings"}
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
