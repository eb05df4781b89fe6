"""Issue 10 items 5 and 6: one honest theta rule (README "Known differences" 1, 6) and tolerances
with a scale (README tolerance table, "Known differences" 8).  Every rule has a unit test that can
fail (no R); the conditioning bound's fixed-effects part is pinned live on a nearly collinear
design, against its exact rational solution, in tests/live/test_tolerance_rules_designs.py."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp


from parity.compare.tolerances import ComponentResult, compare_components
from parity.compare.conditioning import (COND_RULE, SCALE_RULE, condition_number, rounding_floor, within_conditioning,
                                 within_problem_scale)
from parity.compare.rules import FLAT_OPTIMUM_ATOL, equivalence_verdict, rules_used
from parity.r.values import RMatrix, RSparse, RVector

HERE = Path(__file__).resolve().parents[1]  # tests/
THETA = 'getME(fit, "theta")'
EPS = np.finfo(float).eps


def _theta_fail() -> ComponentResult:
    return ComponentResult(THETA, False, 0.5, 0.5, 0.0, 1e-6, "3 value(s) differ")


# ---------------------------------------------------------------- the theta rule (item 5)

def test_flat_optimum_bound_is_ftol_abs_absolute() -> None:
    """README: within lme4's ftol_abs (1e-8, absolute) of lme4's optimum.  A point 5e-6 worse on a
    criterion of 740 passed the old 1e-8 *relative* rule (7.4e-6) and must fail now."""
    assert FLAT_OPTIMUM_ATOL == 1e-8
    assert equivalence_verdict(_theta_fail(), 740.0 + 5e-9, 740.0, "crit").ok
    v = equivalence_verdict(_theta_fail(), 740.0 + 5e-6, 740.0, "crit")
    assert not v.ok
    assert not equivalence_verdict(_theta_fail(), 1e6 + 2e-8, 1e6, "crit").ok  # absolute, whatever the size


def test_spread_rule_uses_the_same_absolute_tolerance() -> None:
    same = [740.0] * 30  # lme4 reproducible: only ftol_abs of slack
    assert not equivalence_verdict(_theta_fail(), 740.0 + 2e-8, 740.0, "crit", same).ok
    v = equivalence_verdict(_theta_fail(), 740.0 + 2e-6, 740.0, "crit", [740.0, 740.0 + 1e-6, 740.0 + 1.5e-6])
    assert v.ok and "not reproducible here" in v.detail


def test_readme_states_the_code_rule() -> None:
    text = (HERE.parent / "README.md").read_text()
    assert "1e-8 absolute" in text and "ftol_abs" in text
    assert not re.search(r"theta rule[^.]*1e-8 relative", text)


def test_rules_used() -> None:
    flat = equivalence_verdict(_theta_fail(), 1.0, 1.0, "crit")
    spread = equivalence_verdict(_theta_fail(), 3.0, 1.0, "crit", [1.0, 2.0, 3.0])
    exact = ComponentResult(THETA, True, 0.0, 0.0, 0.0, 1e-6, "")
    cond = ComponentResult("devfun(theta)", True, 1e-9, 1e-9, 1e-7, 0.0, f"... within the {COND_RULE} eps * kappa")
    scale = ComponentResult('getME(fit, "u")', True, 1e-12, 1.0, 0.0, 1e-11, f"at the {SCALE_RULE} ...")
    assert rules_used([flat]) == ["flat optimum"]
    assert rules_used([spread]) == ["lme4 spread"]
    assert rules_used([exact, cond, scale]) == ["theta exact", "conditioning bound", "scale"]


# ---------------------------------------------------------------- tolerances with a scale (item 6)

def _problem(x2: np.ndarray, y: np.ndarray, theta: float = 1.0) -> dict:
    """lme4-shaped components of ``y ~ x + x2 + (1 | g)``, 4 groups: Lambdat, Zt, X, y, weights."""
    n = len(y)
    g = np.arange(n) % 4
    Zt = sp.csc_matrix((np.ones(n), (g, np.arange(n))), shape=(4, n))
    x = np.linspace(-1.0, 1.0, n)
    X = np.column_stack([np.ones(n), x, x2])
    vec = lambda v: RVector(np.asarray(v, dtype=float), None, "double")  # noqa: E731
    return {'getME(fit, "Lambdat")': RSparse(sp.csc_matrix(theta * np.eye(4))), 'getME(fit, "Zt")': RSparse(Zt),
            'getME(fit, "X")': RMatrix(X), 'getME(fit, "y")': vec(y), 'getME(fit, "offset")': vec(np.zeros(n)),
            "harness: weights(fit)": vec(np.ones(n))}


def test_condition_number_includes_the_fixed_effects_part() -> None:
    """A balanced one-factor design has kappa(Lambda'Z'Z Lambda + I) = 1; nearly collinear x, x2 make
    the PLS system (its RX part) ill-conditioned: the bound must see it."""
    n = 12
    x = np.linspace(-1.0, 1.0, n)
    wiggle = 1e-6 * np.cos(np.arange(n))
    r = _problem(x + wiggle, np.sin(np.arange(n)))
    A = (r['getME(fit, "Lambdat")'].x @ r['getME(fit, "Zt")'].x).toarray()
    ev = np.linalg.eigvalsh(A @ A.T + np.eye(4))
    assert ev[-1] / ev[0] == pytest.approx(1.0)
    k = condition_number(r)
    assert k > 1e10
    well = condition_number(_problem(np.cos(np.arange(n)), np.sin(np.arange(n))))
    assert well < 1e3


def test_conditioning_bound_uses_the_fixed_effects_part() -> None:
    n = 12
    x = np.linspace(-1.0, 1.0, n)
    r = _problem(x + 1e-6 * np.cos(np.arange(n)), np.sin(np.arange(n)))
    beta_r = np.array([0.5, 300.0, -299.0])
    vec = lambda v: RVector(np.asarray(v, dtype=float), None, "double")  # noqa: E731
    r['getME(fit, "beta")'] = vec(beta_r)
    py = {'getME(fit, "beta")': vec(beta_r * (1 + 3e-8))}
    comps = compare_components(py, {'getME(fit, "beta")': r['getME(fit, "beta")']})
    assert not comps[0].ok
    (c,) = within_conditioning(comps, py, r)
    assert c.ok and COND_RULE in c.detail and "fixed-effects parts" in c.detail
    r2 = _problem(np.cos(np.arange(n)), np.sin(np.arange(n)))  # well conditioned: no second chance
    r2['getME(fit, "beta")'] = r['getME(fit, "beta")']
    (c2,) = within_conditioning(comps, py, r2)
    assert not c2.ok


def _modes(r: dict, u_r: np.ndarray, u_py: np.ndarray):
    vec = lambda v: RVector(np.asarray(v, dtype=float), None, "double")  # noqa: E731
    key = "devfun(theta); pp$u(1)"  # the PLS solution: atol 1e-12
    r = dict(r, **{key: vec(u_r)})
    py = {key: vec(u_py)}
    return compare_components(py, {key: r[key]}), py, r


N = 48


def test_rounding_floor_is_n_eps_times_the_rhs_magnitudes() -> None:
    y = 100.0 * np.sin(np.arange(N))
    r = _problem(np.cos(np.arange(N)), y, theta=2.0)
    A = 2.0 * (r['getME(fit, "Zt")'].x).toarray()
    assert rounding_floor(r) == pytest.approx(N * EPS * float((np.abs(A) @ np.abs(y)).max()) * 2.0)


def test_modes_at_rounding_level_pass_by_the_problem_scale() -> None:
    """u, b exactly 0 in exact arithmetic: both sides return noise ~1e-12, above the 1e-12 absolute
    tolerance of the PLS class; judged against the problem's scale (~8e-12 here) they agree."""
    y = 100.0 * np.sin(np.arange(N))
    r = _problem(np.cos(np.arange(N)), y)
    f = rounding_floor(r)
    assert 5e-12 < f < 1e-10
    comps, py, r2 = _modes(r, np.array([3e-12, -2e-12, 1e-12, 0.0]), np.array([-4e-12, 2e-12, 0.0, 1e-12]))
    assert not comps[0].ok
    (c,) = within_problem_scale(comps, py, r2)
    assert c.ok and SCALE_RULE in c.detail


def test_scale_rule_does_not_pass_real_differences() -> None:
    y = 100.0 * np.sin(np.arange(N))
    r = _problem(np.cos(np.arange(N)), y)
    f = rounding_floor(r)
    # R at rounding level, this side far beyond it
    comps, py, r2 = _modes(r, np.array([3e-12, -2e-12, 1e-12, 0.0]), np.array([5 * f, 0.0, 0.0, 0.0]))
    (c,) = within_problem_scale(comps, py, r2)
    assert not c.ok
    # R's values are not rounding noise: the rule does not apply (the relative tolerance stands)
    comps, py, r2 = _modes(r, np.array([1.0, -2.0, 1.5, 0.5]), np.array([1.0 + 1e-7, -2.0, 1.5, 0.5]))
    (c,) = within_problem_scale(comps, py, r2)
    assert not c.ok


def test_scale_rule_per_grouping_factor_of_ranef() -> None:
    """ranef(): one factor's modes at rounding level (~1e-12 noise; ranef's atol is 1e-10), the other's
    real: the rounding-level factor is judged against the floor, the other keeps its relative rule."""
    from parity.r.values import RList

    y = 1e4 * np.sin(np.arange(N))
    r = _problem(np.cos(np.arange(N)), y)
    f = rounding_floor(r)
    assert f > 5e-10
    mat = lambda v: RMatrix(np.asarray(v, dtype=float).reshape(-1, 1), None, ("(Intercept)",))  # noqa: E731
    key = "ranef(fit)"
    rv = RList((("g", mat([1.5, -2.0, 0.5, 0.0])), ("h", mat([2e-10, -1e-10, 0.0, 3e-10]))))
    pv = RList((("g", mat([1.5, -2.0, 0.5, 0.0])), ("h", mat([-3e-10, 2e-10, 1e-10, 0.0]))))
    comps = compare_components({key: pv}, {key: rv})
    assert not comps[0].ok
    (c,) = within_problem_scale(comps, {key: pv}, dict(r, **{key: rv}))
    assert c.ok and SCALE_RULE in c.detail
    pv_bad = RList((("g", mat([1.5 + 1e-6, -2.0, 0.5, 0.0])), ("h", mat([-3e-10, 2e-10, 1e-10, 0.0]))))
    comps = compare_components({key: pv_bad}, {key: rv})
    (c,) = within_problem_scale(comps, {key: pv_bad}, dict(r, **{key: rv}))
    assert not c.ok


def test_predictions_carry_the_accepted_coefficient_differences() -> None:
    """A prediction x'beta that cancels (large covariate, small coefficient) moves, relative to itself,
    by more than eps * kappa when beta moves within its bound; the prediction components then pass by
    what the accepted beta/b differences carry through X and Z, and by no more."""
    n = 12
    x = np.linspace(-1.0, 1.0, n)
    r = _problem(x + 1e-4 * np.cos(np.arange(n)), np.sin(np.arange(n)))  # kappa ~ 1e8
    X = r['getME(fit, "X")'].x
    vec = lambda v: RVector(np.asarray(v, dtype=float), None, "double")  # noqa: E731
    beta_r = np.array([0.5, 300.0, -299.0])
    beta_py = beta_r + np.array([0.0, 300.0 * 5e-8, 0.0])  # within eps * kappa of ||beta||
    b = np.array([0.1, -0.2, 0.05, 0.0])
    r['getME(fit, "beta")'], r['getME(fit, "b")'] = vec(beta_r), vec(b)
    pred_r, pred_py = X @ beta_r, X @ beta_py
    name = "predict(fit, re.form = NA)"
    r[name] = vec(pred_r)
    py = {'getME(fit, "beta")': vec(beta_py), 'getME(fit, "b")': vec(b), name: vec(pred_py)}
    comps = compare_components({name: py[name]}, {name: r[name]})
    assert not comps[0].ok
    k = condition_number(r)
    assert np.linalg.norm(beta_py - beta_r) / np.linalg.norm(beta_r) < EPS * k < np.max(np.abs(pred_py - pred_r) / np.abs(pred_r))
    (c,) = within_conditioning(comps, py, r)
    assert c.ok and "carry through X and Z" in c.detail
    py_far = dict(py, **{name: vec(pred_r + 3 * np.max(np.abs(X) @ np.abs(beta_py - beta_r)))})
    comps_far = compare_components({name: py_far[name]}, {name: r[name]})
    (c_far,) = within_conditioning(comps_far, py_far, r)
    assert not c_far.ok
