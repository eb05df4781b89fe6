"""The GLMM campaign's explanation rules (parity.campaigns.glmm_explain), without R: a Hessian singular to its
own rounding explains only Hessian outputs, and only when the messages differ in Hessian-dependent texts; a
non-finite criterion explains only deviance(gfit)."""
from __future__ import annotations

import numpy as np

from parity.campaigns.glmm_explain import (
    eigen_noise,
    explain_gradient_digits,
    explain_nonfinite_criterion,
    explain_pirls_start,
    explain_singular_hessian,
    only_hessian_messages,
    singular_to_rounding,
)

SING = "Hessian is numerically singular: parameters are not uniquely determined"
GRAD = "unable to evaluate scaled gradient"
MSGS = "gfit@optinfo$conv$lme4$messages"
WARN = "glmer(): warnings"
# lme4's Hessian of the separated cloglog design of the seed-11 campaign (eigenvalues 1.2e-7, 1.96, 2.24, 6.58)
Q = np.linalg.qr(np.arange(1.0, 17.0).reshape(4, 4) + np.eye(4))[0]
H_SING = Q @ np.diag([1.192093e-07, 1.960062, 2.244546, 6.581965]) @ Q.T
H_OK = Q @ np.diag([0.05, 1.960062, 2.244546, 6.581965]) @ Q.T


def test_eigen_noise_is_the_frobenius_norm_of_the_entry_bounds() -> None:
    e = 16 * np.finfo(float).eps * 53.0 / 1e-8
    E = np.full((4, 4), e)
    np.fill_diagonal(E, 4 * e)
    assert np.isclose(eigen_noise(53.0, 4), np.linalg.norm(E), rtol=1e-12)
    assert np.isclose(eigen_noise(530.0, 4), 10 * eigen_noise(53.0, 4), rtol=1e-12)


def test_singular_to_rounding() -> None:
    sing, lam, noise = singular_to_rounding(H_SING, 53.0)
    assert sing and abs(lam - 1.192093e-07) < 1e-9 and noise > 1e-5
    assert not singular_to_rounding(H_OK, 53.0)[0]
    assert not singular_to_rounding(H_SING, 1e-3)[0]  # a tiny deviance: rounding cannot reach 1.2e-7


def test_only_hessian_messages() -> None:
    assert only_hessian_messages([GRAD, SING], [SING])
    assert only_hessian_messages(["Model failed to converge with max|grad| = 0.0096 (tol = 0.002, component 1)"], [])
    assert not only_hessian_messages(["boundary (singular) fit: see help('isSingular')", SING], [SING])


def test_explain_singular_hessian() -> None:
    ok = explain_singular_hessian((MSGS, WARN), ([GRAD, SING], [SING]), ([GRAD, SING], [SING]), H_SING, 53.0)
    assert ok is not None and "decided by rounding" in ok
    assert explain_singular_hessian(("vcov(gfit)",), ([], []), ([], []), H_SING, 53.0) is not None
    # not a Hessian output, a non-Hessian message, a Hessian that is not singular, no Hessian: not explained
    assert explain_singular_hessian(("fixef(gfit)", MSGS), ([GRAD], []), ([], []), H_SING, 53.0) is None
    assert explain_singular_hessian((MSGS,), (["boundary (singular) fit: see help('isSingular')"], []), ([], []),
                                    H_SING, 53.0) is None
    assert explain_singular_hessian((MSGS,), ([GRAD], []), ([], []), H_OK, 53.0) is None
    assert explain_singular_hessian((MSGS,), ([GRAD], []), ([], []), None, 53.0) is None


def test_explain_nonfinite_criterion() -> None:
    assert explain_nonfinite_criterion(("deviance(gfit)",), np.inf, np.nan) is not None
    assert explain_nonfinite_criterion(("deviance(gfit)",), 19.1, np.nan) is None
    assert explain_nonfinite_criterion(("deviance(gfit)",), np.inf, 19.1) is None
    assert explain_nonfinite_criterion(("deviance(gfit)", 'getME(gfit, "theta")'), np.inf, np.nan) is None


def _grad(g: float) -> str:
    return f"Model failed to converge with max|grad| = {g:g} (tol = 0.002, component 1)"


def test_explain_gradient_digits() -> None:
    H = np.diag([2.0, 3.0, 50.0])
    p = np.array([1.0, 2.0, 3.0])
    ok = explain_gradient_digits((MSGS, WARN), ([_grad(0.0169631)], [_grad(0.016963)]),
                                 ([_grad(0.0169631)], [_grad(0.016963)]), H, p + 1e-7, p)
    assert ok is not None and "max|grad|" in ok
    # the stopping points agree exactly: only the 6-digit print is allowed, not a real difference
    assert explain_gradient_digits((MSGS,), ([_grad(0.0170)], [_grad(0.0169)]), ([], []), H, p, p) is None
    # a different message, a gradient message on one side only, another component: not explained
    assert explain_gradient_digits((MSGS,), ([_grad(0.0169631)], [SING]), ([], []), H, p + 1e-7, p) is None
    assert explain_gradient_digits((MSGS,), ([_grad(0.0169631)], []), ([], []), H, p + 1e-7, p) is None
    assert explain_gradient_digits(("fixef(gfit)", MSGS), ([_grad(0.0169631)], [_grad(0.016963)]), ([], []), H,
                                   p + 1e-7, p) is None
    # a Hessian without a Cholesky factor: no bound
    assert explain_gradient_digits((MSGS,), ([_grad(0.0169631)], [_grad(0.016963)]), ([], []), -H, p + 1e-7,
                                   p) is None


def test_explain_pirls_start() -> None:
    """The seed-11 design y ~ x + (x | g) (Poisson, n = 114): lme4's devfun at our optimum 365.084195274985...,
    ours from lme4's lp0 the same; our own criterion (from our lp0) 365.08423758857657 is what differed."""
    crit = ("logLik(gfit)", "AIC(gfit)", "BIC(gfit)")
    assert explain_pirls_start(crit, 365.084195274985, 365.08419527498506) is not None
    assert explain_pirls_start(crit, 365.08423758857657, 365.08419527498506) is None  # not the same from lme4's start
    assert explain_pirls_start((*crit, 'getME(gfit, "theta")'), 365.084195274985, 365.084195274985) is None
    assert explain_pirls_start(crit, 365.0, float("nan")) is None
