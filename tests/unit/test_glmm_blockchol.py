"""pyreterms.glmm.blockchol: the blocked factor equals LAPACK's Cholesky of the same A (scipy), and A equals
``Lambdat Zt W Z Lambda + I`` formed with scipy.sparse products (as merPredD::updateDecomp forms it), for
scalar terms (diagonal Lambda) and a vector term."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as la
import scipy.sparse as sp

import pyreterms
from pyreterms.glmm.blockchol import BlockChol, CrossPattern, NotPositiveDefinite
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.pirls import MerPred, PirlsError

CB = "cbind(incidence, size - incidence) ~ period + "


def _glf(rhs: str) -> GLFormula:
    cb = pyreterms.load_dataset("cbpp").copy()
    cb["obs"] = [f"o{i:02d}" for i in range(len(cb))]
    cb["obs"] = cb["obs"].astype("category")
    glf = glformula(CB + rhs, cb, "binomial")
    assert isinstance(glf, GLFormula)
    return glf


def _spd_with_diagonal_block(q1: int, q2: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = q1 + q2
    A = np.zeros((q, q))
    A[:q1, :q1] = np.diag(rng.uniform(1, 3, q1))
    B = rng.standard_normal((q2, q1)) * (rng.uniform(size=(q2, q1)) < 0.3)
    A[q1:, :q1], A[:q1, q1:] = B, B.T
    M = rng.standard_normal((q2, q2))
    A[q1:, q1:] = M @ M.T + q1 * np.eye(q2) + B @ np.diag(1 / np.diag(A[:q1, :q1])) @ B.T
    return A


@pytest.mark.parametrize(("q1", "q2"), [(7, 0), (0, 6), (30, 9), (1, 1)])
def test_blocked_factor_is_lapacks_cholesky(q1: int, q2: int) -> None:
    A = _spd_with_diagonal_block(q1, q2, q1 * 10 + q2)
    ch = BlockChol.factor(A, q1)
    L = la.cholesky(A, lower=True)
    np.testing.assert_allclose(ch.dense(), L, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(ch.diag(), np.diag(L), rtol=1e-13)
    assert ch.ldL2() == pytest.approx(2 * np.sum(np.log(np.diag(L))), rel=1e-13)
    b = np.random.default_rng(1).standard_normal(q1 + q2)
    np.testing.assert_allclose(ch.solve(b), la.solve_triangular(L, b, lower=True), rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(ch.solve_t(b), la.solve_triangular(L.T, b, lower=False), rtol=1e-11, atol=1e-13)
    B2 = np.column_stack([b, 2 * b])
    np.testing.assert_allclose(ch.solve(B2), la.solve_triangular(L, B2, lower=True), rtol=1e-11, atol=1e-13)


def test_not_positive_definite_and_non_finite_are_refused() -> None:
    with pytest.raises(NotPositiveDefinite):
        BlockChol.factor(np.array([[1.0, 2.0], [2.0, 1.0]]), 1)
    with pytest.raises(NotPositiveDefinite):
        BlockChol.factor(np.array([[np.nan, 0.0], [0.0, 1.0]]), 2)


@pytest.mark.parametrize(("rhs", "q1", "diagonal"), [
    ("(1 | herd)", 15, True),                      # one scalar term: L diagonal
    ("(1 | obs) + (1 | herd)", 56, True),           # observation-level term first: 56 diagonal, 15 dense
    ("(1 | herd) + (1 | period)", 15, True),
    ("(1 + size | herd) + (1 | period)", 1, False),  # a vector term: Lambda not diagonal (1 x 1 leading block)
])
def test_A_is_lambdat_zt_w_z_lambda_plus_identity(rhs: str, q1: int, diagonal: bool) -> None:
    glf = _glf(rhs)
    rt = glf.reTrms
    pat = CrossPattern(rt.Zt, rt.Lambdat.tocsc(), np.asarray(rt.Lind))
    assert (pat.q1, pat.diagonal) == (q1, diagonal)
    rng = np.random.default_rng(5)
    theta = np.where(rt.lower == 0, rng.uniform(0.2, 2, rt.theta.size), rng.uniform(-0.5, 0.5, rt.theta.size))
    pat.set_theta(theta)
    w = rng.uniform(0.1, 3, glf.X.X.shape[0])
    Lt = rt.Lambdat.tocsc().copy()
    Lt.data = theta[np.asarray(rt.Lind)]
    LtU = (Lt @ (sp.csc_matrix(rt.Zt) @ sp.diags(w))).tocsr()
    ref = (LtU @ LtU.T).toarray() + np.eye(pat.q)
    np.testing.assert_allclose(pat.A(w), ref, rtol=1e-13, atol=1e-13)
    M = rng.standard_normal((w.size, 3))
    np.testing.assert_allclose(pat.ut_times(w, M), LtU @ M, rtol=1e-12, atol=1e-12)
    u = rng.standard_normal(pat.q)
    np.testing.assert_allclose(pat.z_lam(u), sp.csc_matrix(rt.Zt).T @ (Lt.T @ u), rtol=1e-12, atol=1e-12)
    ch = BlockChol.factor(pat.A(w), pat.q1)
    np.testing.assert_allclose(ch.dense(), la.cholesky(ref, lower=True), rtol=1e-12, atol=1e-13)
    a11, A21, A22 = pat.blocks(w)  # the blocks the iterations use are A's
    A = pat.A(w)
    np.testing.assert_array_equal(a11, np.diag(A)[:q1])
    np.testing.assert_array_equal(A21, A[q1:, :q1])
    np.testing.assert_array_equal(A22, A[q1:, q1:])
    np.testing.assert_array_equal(A[:q1, :q1], np.diag(a11))
    ch2 = BlockChol.from_blocks(a11, A21, A22, pat.plan)
    np.testing.assert_allclose(ch2.dense(), la.cholesky(ref, lower=True), rtol=1e-12, atol=1e-13)


def test_non_finite_weights_give_lme4s_pirls_error() -> None:
    glf = _glf("(1 | herd)")
    rt = glf.reTrms
    pp = MerPred(glf.X.X, rt.Zt.tocsc(), rt.Lambdat.tocsc(), np.asarray(rt.Lind), rt.theta.copy())
    w = np.ones(glf.X.X.shape[0])
    w[3] = np.inf
    with pytest.raises(PirlsError, match="non-finite working weights"), np.errstate(invalid="ignore"):
        pp.update_decomp(w, np.zeros_like(w))


def test_nested_terms_are_eliminated_level_by_level() -> None:
    """(1 | obs) + (1 | herd): obs is nested in herd, so after the 56 observation-level rows the Schur
    complement's herd block is diagonal too and L has no dense block; L still equals LAPACK's factor."""
    glf = _glf("(1 | obs) + (1 | herd)")
    rt = glf.reTrms
    pat = CrossPattern(rt.Zt, rt.Lambdat.tocsc(), np.asarray(rt.Lind))
    assert pat.plan.q1 == 56 and pat.plan.rest is not None and pat.plan.rest.q1 == 15
    pat.set_theta(np.array([0.7, 1.3]))
    w = np.random.default_rng(2).uniform(0.5, 2, glf.X.X.shape[0])
    ch = BlockChol.from_blocks(*pat.blocks(w), pat.plan)
    assert isinstance(ch.L22, BlockChol)
    np.testing.assert_allclose(ch.dense(), la.cholesky(pat.A(w), lower=True), rtol=1e-12, atol=1e-13)
