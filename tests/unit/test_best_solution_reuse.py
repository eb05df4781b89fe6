"""The fit's final solve reads the best evaluation's factor (kept by swapping buffers) instead of
factoring once more: the state must be bit-identical to a solve from scratch, and the buffer that
holds it must survive the evaluations after it (deriv12's points).

(No R: both sides are pyreterms computations that must agree exactly -- the reuse exists for speed
only; parity with lme4 is checked by the fit goldens and the live tier.)"""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import pyreterms
from pyreterms.lmm.deviance import LmerProblem, Workspace
from pyreterms.lmm.oneshot import sparse_if_mostly_zero
from pyreterms.lmm.scalar import ScalarPlan
from pyreterms.lmm.threads import blas_threads


def _crossed(n: int = 3000, a: int = 200, b: int = 160, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g, h = rng.integers(0, a, n), rng.integers(0, b, n)
    y = 1.0 + rng.normal(0, 0.7, a)[g] + rng.normal(0, 0.4, b)[h] + rng.normal(0, 1.0, n)
    x = rng.normal(size=n)
    return pd.DataFrame({"y": y + 0.3 * x, "x": x, "g": pd.Categorical(g), "h": pd.Categorical(h)})


def _fit(formula: str, data: pd.DataFrame) -> pyreterms.LmerFit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pyreterms.lmer(formula, data, control={"blas_threads": 1})


def _fresh_state(prob: LmerProblem, theta: np.ndarray) -> object:
    with blas_threads(1):  # as in the fit (one and two BLAS threads round differently)
        return dataclasses.replace(prob, ws=Workspace()).solve(theta)


@pytest.mark.parametrize("formula", ["y ~ x + (1 | g) + (1 | h)", "y ~ 1 + (1 | g)"])
def test_state_from_best_evaluation_equals_a_fresh_solve(formula: str) -> None:
    fit = _fit(formula, _crossed())
    prob = fit.problem
    assert prob.best_solved(fit.opt.par)  # the optimum was kept ...
    ref = _fresh_state(prob, fit.opt.par)  # ... and reading it gives the fresh solve's bits
    for name in ("beta", "u", "b", "mu", "RX", "RZX", "cu"):
        np.testing.assert_array_equal(getattr(fit.state, name), getattr(ref, name), err_msg=name)
    for name in ("wrss", "ussq", "pwrss", "ldL2", "ldRX2", "dev"):
        assert getattr(fit.state, name) == getattr(ref, name), name


def test_kept_buffer_survives_later_evaluations() -> None:
    fit = _fit("y ~ x + (1 | g) + (1 | h)", _crossed())
    prob = dataclasses.replace(fit.problem, ws=Workspace())
    assert isinstance(prob.plan, ScalarPlan)
    best = fit.opt.par
    worse = [best * f for f in (0.5, 2.0, 3.0)]
    with blas_threads(1):
        prob.deviance(best)
        worse_devs = [prob.deviance(th) for th in worse]
        best_state = prob.solve(best)
    for th, dev in zip(worse, worse_devs, strict=True):  # higher deviances: evaluated in the other buffer, the best one untouched
        assert dev > prob.deviance(best), th
    ref = _fresh_state(fit.problem, best)
    for name in ("RX", "RZX", "cu", "b"):  # the first three are read from the kept factor buffer
        np.testing.assert_array_equal(getattr(best_state, name), getattr(ref, name), err_msg=name)
    assert not prob.best_solved(worse[0])


def test_prefetch_leaves_out_the_kept_solve() -> None:
    fit = _fit("y ~ x + (1 | g) + (1 | h)", _crossed())
    prob = fit.problem
    prob.ws.solved = None
    prob.prefetch([fit.opt.par * 0.9, fit.opt.par * 1.1], solve_at=fit.opt.par)
    assert prob.ws.solved is None  # nothing computed for the solve: the kept one serves it


@pytest.mark.parametrize("density", [0.0, 0.05, 0.29, 0.5])
def test_sparse_x_equals_scipy_conversion(density: float) -> None:
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 7)) * (rng.uniform(size=(400, 7)) < density)
    got = sparse_if_mostly_zero(X)
    if np.count_nonzero(X) >= 0.3 * X.size:
        assert got is None
        return
    ref = sp.csc_matrix(X)
    assert got is not None and got.has_sorted_indices
    np.testing.assert_array_equal(got.indptr, ref.indptr)
    np.testing.assert_array_equal(got.indices, ref.indices)
    np.testing.assert_array_equal(got.data, ref.data)
