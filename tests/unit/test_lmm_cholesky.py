"""pyreterms.lmm.cholesky -- the blocked Cholesky factor of ``Omega(theta)`` (``update_L``, JSS eq. 18,
MixedModels.jl's ``updateL!``) against a dense factorization of the same matrix (numpy / scipy; no R).

``Omega(theta) = [Lambda'Z'WZ Lambda + I, Lambda'Z'W[X y]; [X y]'WZ Lambda, [X y]'W[X y]]``: its
lower Cholesky factor is unique (positive diagonal), and ``update_L`` factors it in the natural block
order, so the assembled blocks must be the dense factor, ``L L' = Omega``, and the log-determinants,
``R_X`` and ``r_yy`` must be the dense ones (mathematics, not pyreterms' own output).  Each block kind
is met: a scalar first term (``ScalarDiagonal``, with the precomputed fill-in of a second term), a
vector first term (``BlockDiagonal``), later terms (``DenseLower``) and the ``[X y]`` block.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp

import pyreterms
from pyreterms.lmm.cholesky import BlockDiagonal, DenseLower, DowndateError, ScalarDiagonal
from pyreterms.lmm.deviance import LmerProblem

#: (formula, data set, the kind of the first diagonal block)
MODELS = [
    ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", ScalarDiagonal),
    ("strength ~ 1 + (1 | batch/cask)", "Pastes", ScalarDiagonal),
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy", BlockDiagonal),
    ("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "sleepstudy", ScalarDiagonal),
    ("angle ~ temp + (1 | recipe:replicate) + (temp | replicate)", "cake", ScalarDiagonal),
]


def _problem(formula: str, dataset: str) -> LmerProblem:
    lf = pyreterms.lformula(formula, pyreterms.load_dataset(dataset))
    rt = lf.reTrms
    assert lf.y is not None
    return LmerProblem.build(lf.X.X, lf.y, rt.Zt, rt.Lambdat, rt.Lind, rt.Gp, lf.weights, lf.offset, lf.REML,
                             nc=tuple(len(cn) for _, cn in rt.cnms), path="blocked")


def _omega(prob: LmerProblem, theta: np.ndarray) -> np.ndarray:
    """``Omega(theta)`` densely, straight from its definition."""
    ZL = (prob.lambdat(theta) @ prob.Zt).T.toarray()  # n x q: Z Lambda = (Lambda' Z')'

    Xy = np.column_stack([prob.X, prob.y - prob.offset])
    A = np.hstack([ZL, Xy]) * np.sqrt(prob.weights)[:, None]
    om = A.T @ A
    q = ZL.shape[1]
    om[np.arange(q), np.arange(q)] += 1.0
    return om


def _assembled(prob: LmerProblem, theta: np.ndarray) -> np.ndarray:
    F = prob.factor(theta)
    q = prob.q
    L = np.zeros((q + prob.p + 1, q + prob.p + 1))
    L[:q, :q] = F.sparse_L(prob.terms).toarray()
    L[q:, :q] = np.hstack([np.asarray(B.toarray() if sp.issparse(B) else B) for B in F.low[-1]])
    L[q:, q:] = F.LKK
    return L


def _thetas(prob: LmerProblem) -> list[np.ndarray]:
    """theta0 (ones), a random theta (off-diagonal template entries of either sign) and one with a zero
    (a singular Lambda: Omega's term block is still positive definite through the ``+ I``)."""
    rng = np.random.default_rng(7)
    offdiag = np.zeros(prob.ntheta, dtype=bool)
    for t in prob.terms:
        offdiag[[k for r, c, k in zip(t.tmpl_rows, t.tmpl_cols, t.tmpl_theta, strict=True) if r != c]] = True
    random = rng.uniform(0.05, 2.0, prob.ntheta) * np.where(offdiag, rng.choice([-1.0, 1.0], prob.ntheta), 1.0)
    zero = np.ones(prob.ntheta)
    zero[0] = 0.0
    return [np.ones(prob.ntheta), random, zero]


@pytest.mark.parametrize("formula,dataset,first", MODELS, ids=[m[0] for m in MODELS])
def test_blocked_factor_is_the_dense_cholesky(formula: str, dataset: str, first: type) -> None:
    prob = _problem(formula, dataset)
    for theta in _thetas(prob):
        F = prob.factor(theta)
        assert isinstance(F.diag[0], first) and isinstance(F.diag[-1], DenseLower)
        om = _omega(prob, theta)
        L = _assembled(prob, theta)
        dense = np.linalg.cholesky(om)
        scale = np.max(np.abs(dense))
        np.testing.assert_allclose(L, dense, rtol=0, atol=1e-10 * scale)
        np.testing.assert_allclose(L @ L.T, om, rtol=0, atol=1e-10 * np.max(np.abs(om)))
        assert np.all(np.triu(L, 1) == 0.0)


def _logdet_bound(A: np.ndarray) -> float:
    return float(A.shape[0] * np.finfo(float).eps * np.linalg.cond(A))


@pytest.mark.parametrize("formula,dataset,first", MODELS, ids=[m[0] for m in MODELS])
def test_log_determinants_and_pwrss_are_the_dense_ones(formula: str, dataset: str, first: type) -> None:
    prob = _problem(formula, dataset)
    q, p = prob.q, prob.p
    for theta in _thetas(prob):
        F = prob.factor(theta)
        om = _omega(prob, theta)
        # two backward-stable log-determinants differ by at most ~ dim * eps * cond (d log|A| = tr(A^-1 dA))
        sign, ld = np.linalg.slogdet(om[:q, :q])
        assert sign > 0 and abs(F.ldL2 - ld) <= _logdet_bound(om[:q, :q])
        schur = om[q:, q:] - om[q:, :q] @ sla.solve(om[:q, :q], om[:q, q:], assume_a="pos")  # [X y] given u
        sign, ldx = np.linalg.slogdet(schur[:p, :p])
        assert sign > 0 and abs(F.ldRX2 - ldx) <= _logdet_bound(om)
        # r_yy^2: the penalized weighted residual sum of squares at the PLS solution (eq. 35)
        pwrss = schur[p, p] - schur[p, :p] @ np.linalg.solve(schur[:p, :p], schur[:p, p])
        assert F.ryy ** 2 == pytest.approx(pwrss, rel=1e-9)
        np.testing.assert_allclose(F.RX.T @ F.RX, schur[:p, :p], rtol=1e-12, atol=1e-9 * np.max(np.abs(schur)))


def test_a_rank_deficient_x_is_lme4s_downdate_error() -> None:
    """lme4: ``Downdated VtV is not positive definite`` when R_X's Cholesky fails (X with a zero column:
    an exactly zero pivot)."""
    lf = pyreterms.lformula("Reaction ~ Days + (1 | Subject)", pyreterms.load_dataset("sleepstudy"))
    rt = lf.reTrms
    assert lf.y is not None
    X = np.column_stack([lf.X.X, np.zeros(lf.X.X.shape[0])])
    prob = LmerProblem.build(X, lf.y, rt.Zt, rt.Lambdat, rt.Lind, rt.Gp, path="blocked")
    with pytest.raises(DowndateError, match="Downdated VtV is not positive definite"):
        prob.factor(np.ones(1))
