"""The PIRLS-stop explanation rules (parity.campaigns.glmm_explain_pirls) on hand-made inputs, without R: each
condition of each rule, when it alone fails, leaves the disagreement unexplained."""
from __future__ import annotations

import numpy as np
import pytest

from parity.campaigns.glmm_explain_pirls import (
    DOWNDATED,
    cholesky_rounding_bound,
    explain_downdated_rounding,
    explain_pirls_stop,
    explain_stage1_endpoint,
    explain_stage1_rounding,
    explain_zero_criterion,
)
from parity.compare.glmm_check import GLMM_FTOL_ABS

THETA = ('getME(gfit, "theta")', "logLik(gfit)", "glmer(): warnings")
# lme4's optimum, ours, then both with PIRLS converged: lme4's criterion jumps by 0.0076 at ours
JUMPY = (388.5000642791, 388.5076922174, 388.5000642791, 388.5000684444)


def test_pirls_stop_explains_a_jumpy_criterion_with_equally_good_optima() -> None:
    why = explain_pirls_stop(THETA, True, *JUMPY)
    assert why is not None and "jumps by 0.00762" in why


@pytest.mark.parametrize("change", ["refusal", "glformula", "at lme4's parameters", "other messages", "no jump",
                                    "ours worse", "nan"])
def test_pirls_stop_needs_every_condition(change: str) -> None:
    failing, only_cc, vals = list(THETA), True, list(JUMPY)
    if change == "refusal":
        failing.append("decision (accept/refuse)")
    elif change == "glformula":
        failing.append("glFormula()$X")
    elif change == "at lme4's parameters":  # computed at lme4's opt$par from lme4's lp0 on both sides
        failing.append("fitted(gfit)")
    elif change == "other messages":
        only_cc = False
    elif change == "no jump":  # the criterion is converged at both optima: a plain optimizer difference
        vals = [vals[0], vals[3] + 1e-6, vals[2], vals[3]]
    elif change == "ours worse":
        vals[3] = vals[2] + 2 * GLMM_FTOL_ABS
    else:
        vals[1] = float("nan")
    assert explain_pirls_stop(failing, only_cc, *vals) is None


def test_pirls_stop_vcov_needs_the_jump_at_lme4s_optimum() -> None:
    """vcov is deriv12's Hessian at lme4's optimum: explained only when lme4's criterion jumps there."""
    failing = (*THETA, "vcov(gfit)")
    assert explain_pirls_stop(failing, True, *JUMPY) is None  # JUMPY jumps at our optimum only
    jump_at_lme4 = (62.8066170494, 62.8070875321, 62.8072780969, 62.8072742547)
    assert explain_pirls_stop(failing, True, *jump_at_lme4) is not None


def test_pirls_stop_needs_a_failing_component() -> None:
    assert explain_pirls_stop((), True, *JUMPY) is None


BOBYQA3 = "convergence code 3 from bobyqa: bobyqa -- a trust region step failed to reduce q"


def test_stage1_rounding() -> None:
    w = ([BOBYQA3, "x"], ["x"])
    assert "zero to rounding" in (explain_stage1_rounding(["glmer(): warnings"], w, 1.36e-14, 1.36e-14) or "")
    # a criterion that is not zero, another component, another warning: not explained
    assert explain_stage1_rounding(["glmer(): warnings"], w, 1e-3, 1.36e-14) is None
    assert explain_stage1_rounding(["glmer(): warnings", "logLik(gfit)"], w, 0.0, 0.0) is None
    assert explain_stage1_rounding(["glmer(): warnings"], (["Model failed to converge"], []), 0.0, 0.0) is None
    assert explain_stage1_rounding(["glmer(): warnings"], (["x"], ["x"]), 0.0, 0.0) is None


def test_zero_criterion() -> None:
    """Stage 2 on a separated binomial fit: the outputs of where Nelder_Mead stopped, on a criterion ~1e-14."""
    boundary = ["isSingular(gfit)", "gfit@optinfo$conv$lme4$messages", "glmer(): warnings", "glmer(): messages"]
    assert "zero to rounding" in (explain_zero_criterion(boundary, 3.5e-14, 3.6e-14) or "")
    # a criterion that is not zero at one optimum, a component computed at lme4's parameters, nothing failing
    assert explain_zero_criterion(boundary, 3.5e-14, 1e-3) is None
    assert explain_zero_criterion([*boundary, "fitted(gfit)"], 0.0, 0.0) is None
    assert explain_zero_criterion(["decision (accept/refuse)"], 0.0, 0.0) is None
    assert explain_zero_criterion([], 0.0, 0.0) is None
    assert explain_zero_criterion(boundary, float("nan"), 0.0) is None


def test_stage1_endpoint() -> None:
    stage1 = (38.1634261487, 38.1625305236, 38.1748241887, 38.1739316772)  # ours better, jumps of 0.0114
    assert "agrees with our fit in every component" in (explain_stage1_endpoint(stage1, []) or "")
    assert explain_stage1_endpoint(stage1, ["logLik(gfit)"]) is None  # lme4 from our stage 1 differs from us
    assert explain_stage1_endpoint((1.0, 1.0, 1.0, 1.0), []) is None  # no jump
    assert explain_stage1_endpoint((38.16, 38.20, 38.17, 38.21), []) is None  # ours worse
    assert explain_stage1_endpoint((38.16, float("inf"), 38.17, 38.17), []) is None


def test_downdated_rounding() -> None:
    p = 3
    bound = cholesky_rounding_bound(p)
    assert bound == pytest.approx(20 * p ** 1.5 * np.finfo(float).eps)
    fail = ["decision (accept/refuse)"]
    assert explain_downdated_rounding(fail, DOWNDATED, DOWNDATED, 1e-68, 1e-50, p) is not None
    assert explain_downdated_rounding(fail, DOWNDATED, DOWNDATED, 1e-3, 1.0, p) is None  # well conditioned
    assert explain_downdated_rounding(fail, DOWNDATED, "", 1e-60, 1e-50, p) is None  # lme4 fits the start
    assert explain_downdated_rounding(fail, "PIRLS loop resulted in NaN value", DOWNDATED, 1e-60, 1e-50, p) is None
    assert explain_downdated_rounding(fail + ["logLik(gfit)"], DOWNDATED, DOWNDATED, 1e-60, 1e-50, p) is None
    assert explain_downdated_rounding(fail, DOWNDATED, DOWNDATED, float("nan"), 1e-50, p) is None
