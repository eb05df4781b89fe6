"""update.formula, update() and refit() against R/lme4 live."""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms
from pyreterms.verbs.update import update_formula
from verbs_rhelp import num, put, r_fit, same_fit

pytestmark = pytest.mark.r

#: parity's theta rule: fitted thetas agree to 1e-6 (parity.compare.rules)
THETA_ATOL = 1e-6

CASES = [
    ("y ~ x + (1|g)", ". ~ . - x"), ("y ~ x + (1|g)", "log(.) ~ .:z"), ("y ~ x*z + (1|g)", ". ~ . - x:z"),
    ("y ~ x + (1|g)", "~ . + w"), ("y ~ x + (1|g)", ". ~ . - (1|g) + (x|g)"), ("y ~ x", ". ~ . - 1"),
    ("y ~ x + offset(o)", ". ~ . - x"), ("y ~ a + b", ". ~ (.)^2"), ("y ~ offset(o) + x", ". ~ . + z"),
    ("y ~ x", ". ~ . - x"), ("y ~ x + (1|g)", ". ~ . - 1 - x"), ("y ~ 0 + x", ". ~ . + z"),
    ("y ~ offset(o) + x", ". ~ . - 1"), ("~ x", "~ . + z"), ("y ~ x", "~ . + z"),
    ("Reaction ~ Days + (Days | Subject)", ". ~ . - Days"), ("y ~ a*b*c", ". ~ . - a:b:c - b"),
    ("y ~ x + (1|g) + (0 + x|g)", ". ~ . - (0 + x|g)"), ("y ~ x", "sqrt(.) ~ . + I(x^2)"),
]


@pytest.mark.parametrize("old,new", CASES)
def test_update_formula_is_rs(R, old, new):
    theirs = R.r_eval(f"deparse1(update.formula({old}, {new}))")[0]
    assert update_formula(old, new) == theirs


@pytest.fixture(scope="module")
def ss(R):
    d = pyreterms.load_dataset("sleepstudy")
    put(R, "d", d)
    r_fit(R, "Reaction ~ Days + (Days | Subject)", "d")
    return pyreterms.lmer("Reaction ~ Days + (Days | Subject)", d)


@pytest.mark.parametrize("ours,theirs", [
    ({"formula": ". ~ . - Days"}, ". ~ . - Days"),
    ({"formula": ". ~ . - (Days | Subject) + (1 | Subject)"}, ". ~ . - (Days | Subject) + (1 | Subject)"),
    ({"REML": False}, "REML = FALSE"),
    ({"formula": "log(.) ~ .", "REML": False}, "log(.) ~ ., REML = FALSE"),
])
def test_update_refits_like_lme4(R, ss, ours, theirs):
    new = ss.update(**ours)
    R.r_eval(f"fu <- update(fit, {theirs})")
    assert new.formula() == R.r_eval("deparse1(formula(fu))")[0]
    assert new.is_REML == bool(R.r_eval("isREML(fu)")[0])
    np.testing.assert_allclose(new.theta, num(R, 'getME(fu, "theta")'), atol=THETA_ATOL, rtol=0)
    np.testing.assert_allclose(new.fixef().to_numpy(), num(R, "fixef(fu)"), rtol=1e-6)


def test_update_with_new_data(R, ss):
    d = pyreterms.load_dataset("sleepstudy")
    sub = d[d["Days"] < 7]
    put(R, "sub", sub)
    new = ss.update(data=sub)
    R.r_eval("fu <- update(fit, data = sub)")
    assert new.nobs() == int(num(R, "nobs(fu)")[0])
    np.testing.assert_allclose(new.theta, num(R, 'getME(fu, "theta")'), atol=THETA_ATOL, rtol=0)


def test_refit_with_a_new_response(R):
    P = pyreterms.load_dataset("Penicillin")
    put(R, "P", P)
    th = r_fit(R, "diameter ~ 1 + (1 | plate) + (1 | sample)", "P")
    fit = same_fit("diameter ~ 1 + (1 | plate) + (1 | sample)", P, th)
    y = fit.simulate(1, seed=9)["sim_1"]
    R.r_eval("fr <- refit(fit, simulate(fit, 1, seed = 9)[[1]])")
    new = fit.refit(y)
    np.testing.assert_allclose(new.theta, num(R, 'getME(fr, "theta")'), atol=THETA_ATOL, rtol=0)
    np.testing.assert_allclose(new.fixef().to_numpy(), num(R, "fixef(fr)"), rtol=1e-6)
    np.testing.assert_allclose(new.lf.y, num(R, 'getME(fr, "y")'), rtol=1e-10, atol=0)  # simulate's tolerance
