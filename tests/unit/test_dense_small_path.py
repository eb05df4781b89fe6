"""The small-model dense path: its shortcuts give the same bits as the general products.

(No R: these compare two pyreterms computations that must agree exactly -- the shortcut exists for
speed only; parity with lme4 is checked by the fit goldens and the live tier.)"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import pyreterms
from pyreterms.datasets import load_dataset
from pyreterms.lmm.dense import DensePlan
from pyreterms.lmm.gram import build_gram, gram_xy

SCALAR = [("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin"),
          ("strength ~ 1 + (1 | batch/cask)", "Pastes"),
          ("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "sleepstudy")]


def _fit(formula: str, data: str) -> pyreterms.LmerFit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pyreterms.lmer(formula, load_dataset(data))


@pytest.mark.parametrize(("formula", "data"), SCALAR)
def test_diagonal_lambda_matches_general_products(formula: str, data: str) -> None:
    fit = _fit(formula, data)
    plan = fit.problem.plan
    assert isinstance(plan, DensePlan) and plan.lam_diag is not None
    general = dataclasses.replace(plan, lam_diag=None, H=None)
    rng = np.random.default_rng(3)
    for theta in [fit.theta, fit.theta * 0.5, rng.uniform(0.0, 3.0, fit.theta.size), np.zeros(fit.theta.size)]:
        a = plan.pls(theta, np.empty((plan.Q, plan.Q)))
        b = general.pls(theta, np.empty((plan.Q, plan.Q)))
        assert a is not None and b is not None
        assert (a.ldL2, a.ldRX2) == (b.ldL2, b.ldRX2)
        for x, y in ((a.beta, b.beta), (a.u, b.u), (a.b, b.b)):
            np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(np.tril(a.L), np.tril(b.L))  # the factor (what the state reads)


def test_non_finite_theta_takes_the_general_products() -> None:
    fit = _fit(*SCALAR[0])
    plan = fit.problem.plan
    assert isinstance(plan, DensePlan)
    general = dataclasses.replace(plan, lam_diag=None, H=None)
    theta = np.array([np.inf, 1.0])
    with np.errstate(all="ignore"):
        a = plan.pls(theta, np.empty((plan.Q, plan.Q)))
        b = general.pls(theta, np.empty((plan.Q, plan.Q)))
    assert (a is None) == (b is None)


def test_gram_blocks_built_only_when_needed() -> None:
    fit = _fit("Reaction ~ Days + (Days | Subject)", "sleepstudy")
    prob = fit.problem
    assert prob.gram_src.blocks is None  # the dense path never needed them
    assert prob.deviance_gram(fit.theta) == pytest.approx(fit.crit, rel=1e-12)  # the blocked factor builds them
    assert prob.gram_src.blocks is not None


def test_gram_xy_is_the_stacked_term_blocks() -> None:
    fit = _fit("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin")
    src = fit.problem.gram_src
    full = build_gram(src.Xy, src.w, src.Zt, src.terms, src.pair_cap)
    xz, xx = gram_xy(src.Xy, src.w, src.Zt)
    np.testing.assert_array_equal(xz, np.hstack(full.xz))
    np.testing.assert_array_equal(xx, full.xx)
