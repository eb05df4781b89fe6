"""The elimination order for vector terms (pyreterms.glmm.pirls.component_major): PIRLS in component-major order
gives lme4's deviance, u, L and RZX (in lme4's order) to rounding, and avoids the dense block level-major order
leaves (q - 1 rows for a first vector term)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg as la
from helpers.vector_glmm import vector_glmm_data

from pyreterms.glmm import devfun as devfun_mod
from pyreterms.glmm import family as fam
from pyreterms.glmm.devfun import GlmerDevfun
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.pirls import component_major, permuted


def _glf(formula: str, f: fam.Family, ns: int) -> GLFormula:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glf = glformula(formula, vector_glmm_data(ns), f)
    assert isinstance(glf, GLFormula)
    return glf


def test_component_major_order() -> None:
    Gp = np.array([0, 6, 10, 19])
    assert component_major(Gp, [1, 1, 1], dense_max=0) is None
    np.testing.assert_array_equal(component_major(Gp, [2, 1, 3], dense_max=0),
                                  [0, 2, 4, 1, 3, 5, 6, 7, 8, 9, 10, 13, 16, 11, 14, 17, 12, 15, 18])
    assert component_major(Gp, [2, 1, 3], dense_max=18) is None  # level-major leaves 18 rows: kept
    np.testing.assert_array_equal(component_major(np.array([0, 6, 12]), [1, 2], dense_max=5),
                                  [0, 1, 2, 3, 4, 5, 6, 8, 10, 7, 9, 11])


def test_permuted_lambdat_keeps_lind_with_its_entries() -> None:
    glf = _glf("y ~ Days + (Days | Subject)", fam.binomial(), 20)
    rt = glf.reTrms
    perm = component_major(np.asarray(rt.Gp), [2], dense_max=0)
    assert perm is not None
    Zp, Lp, Lind = permuted(rt.Zt, rt.Lambdat, np.asarray(rt.Lind), perm)
    theta = np.array([1.3, -0.4, 0.7])
    L0 = rt.Lambdat.tocsc().copy()
    L0.data = theta[np.asarray(rt.Lind)]
    Lq = Lp.copy()
    Lq.data = theta[Lind]
    np.testing.assert_array_equal(Lq.toarray(), L0.toarray()[np.ix_(perm, perm)])
    np.testing.assert_array_equal(Zp.toarray(), rt.Zt.toarray()[perm])


@pytest.mark.parametrize(("formula", "f", "ns"), [
    ("y ~ Days + (Days | Subject)", fam.binomial(), 120),
    ("cnt ~ Days + (1 + Days | Subject) + (1 | g)", fam.poisson(), 120),
    ("y ~ Days + (1 + Days + g | Subject)", fam.binomial("probit"), 30),
])
@pytest.mark.parametrize("kernel", [True, False])
def test_component_major_pirls_is_level_major_pirls(formula: str, f: fam.Family, ns: int, kernel: bool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    glf = _glf(formula, f, ns)
    dp = GlmerDevfun(glf, kernel=kernel)
    assert dp.pp.perm is not None  # more than 100 rows after the first diagonal block: component-major
    plan = dp.pp.pat.plan
    sizes = []
    while plan is not None:
        sizes.append(plan.q1)
        plan = plan.rest
    q = dp.pp.pat.q
    assert q - sum(sizes) <= 6 * ns // 5  # no dense block of the q - 1 rows level-major order leaves
    monkeypatch.setattr(devfun_mod, "component_major", lambda *a, **k: None)
    dn = GlmerDevfun(glf, kernel=False)
    assert dn.pp.perm is None
    rng = np.random.default_rng(11)
    nth = dp.nth
    for _ in range(3):
        th = np.where(glf.reTrms.lower == 0, rng.uniform(0.1, 1.5, nth), rng.uniform(-0.5, 0.5, nth))
        np.testing.assert_allclose(dp.devfun0(th), dn.devfun0(th), rtol=1e-10)
    dp.to_stage2()
    dn.to_stage2()
    beta0 = dn.pp.delb.copy()
    for _ in range(3):
        th = np.where(glf.reTrms.lower == 0, rng.uniform(0.1, 1.5, nth), rng.uniform(-0.5, 0.5, nth))
        pars = np.concatenate([th, beta0 + rng.normal(0, 0.05, beta0.size)])
        np.testing.assert_allclose(dp.devfun1(pars), dn.devfun1(pars), rtol=1e-10)
        u, L, RZX = dp.pp.original_order()
        np.testing.assert_allclose(u, dn.pp.delu, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(L, dn.pp.L, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(RZX, dn.pp.RZX, rtol=1e-9, atol=1e-11)
        assert np.allclose(np.tril(L), L)
        A = dn.pp.pat.A(dn.pp.Xwts)
        np.testing.assert_allclose(L @ L.T, A, rtol=1e-12, atol=1e-12 * np.abs(A).max())
        np.testing.assert_allclose(2 * np.sum(np.log(dp.pp.diag_L())), 2 * np.sum(np.log(np.diag(la.cholesky(A, lower=True)))),
                                   rtol=1e-12)
