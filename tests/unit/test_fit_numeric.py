"""Numeric tests of the deviance, optimizer and fit that run without R (golden tier).

The blocked-Cholesky deviance is checked against an independent dense formula (reference section
11.F): A = Lambdat Zt diag(sqrt w), L = chol(A A^T + I), RZX = L^{-1} A V, RX = chol(V'V - RZX'RZX), ...
"""
from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
import scipy.sparse as sp

from pyreterms.lmm.deviance import LmerProblem
from pyreterms.lmm.optimize import deriv12, moment_start, nloptwrap, optimize_lmer


def build_terms(n: int, terms: list[tuple[np.ndarray, int, np.ndarray]]):
    """Zt, Lambdat, Lind, Gp, lower for terms (codes, nlevels, Xi) like mkReTrms (level-major)."""
    Zts, Lts, Lind, Gp, lower, off = [], [], [], [0], [], 0
    for codes, nl, Xi in terms:
        nc = Xi.shape[1]
        rows = (codes[:, None] * nc + np.arange(nc)[None, :]).ravel()
        Zt = sp.csc_matrix((Xi.ravel(), (rows, np.repeat(np.arange(n), nc))), shape=(nl * nc, n))
        Zt.eliminate_zeros()
        Zts.append(Zt)
        Gp.append(Gp[-1] + nl * nc)
        tidx, k = {}, 0
        for c in range(nc):
            for r in range(c, nc):
                tidx[(r, c)] = off + k
                lower.append(0.0 if r == c else -np.inf)
                k += 1
        off += k
        ii, pp = [], [0]
        for lev in range(nl):
            for r in range(nc):  # Lambdat column lev*nc + r holds T[r, c], c <= r, at row lev*nc + c
                for c in range(r + 1):
                    ii.append(lev * nc + c)
                    Lind.append(tidx[(r, c)])
                pp.append(len(ii))
        Lts.append(sp.csc_matrix((np.ones(len(ii)), ii, pp), shape=(nl * nc, nl * nc)))
    return (sp.vstack(Zts).tocsc(), sp.block_diag(Lts).tocsc(), np.array(Lind), np.array(Gp),
            np.array(lower))


def dense_reference(X, y, Zt, Lambdat, Lind, theta, w, o, REML):
    """Section 11.F densely: returns dev, beta, u, ldL2, ldRX2, pwrss."""
    Lt = Lambdat.copy()
    Lt.data = theta[Lind]
    Lt = Lt.toarray()
    sw = np.sqrt(w)
    A = Lt @ Zt.toarray() * sw[None, :]
    V, r = X * sw[:, None], sw * (y - o)
    L = np.linalg.cholesky(A @ A.T + np.eye(A.shape[0]))
    cu = np.linalg.solve(L, A @ r)
    RZX = np.linalg.solve(L, A @ V)
    n, p = X.shape
    if p:
        RX = np.linalg.cholesky(V.T @ V - RZX.T @ RZX).T
        beta = np.linalg.solve(RX.T @ RX, V.T @ r - RZX.T @ cu)
        ldRX2 = 2 * np.sum(np.log(np.diag(RX)))
    else:
        beta, ldRX2 = np.zeros(0), 0.0
    u = np.linalg.solve(L.T, cu - RZX @ beta)
    b = Lt.T @ u
    mu = o + X @ beta + Zt.toarray().T @ b
    pwrss = np.sum(w * (y - mu) ** 2) + u @ u
    ldL2 = 2 * np.sum(np.log(np.diag(L)))
    reml = REML and p > 0
    nn = n - p if reml else n
    dev = ldL2 - np.sum(np.log(w)) + (ldRX2 if reml else 0) + nn * (1 + np.log(2 * np.pi * pwrss / nn))
    return dict(dev=dev, beta=beta, u=u, b=b, mu=mu, ldL2=ldL2, ldRX2=ldRX2, pwrss=pwrss, RZX=RZX)


def design(kind: str, rng: np.random.Generator):
    n = 120
    x1, x2 = rng.normal(size=n), rng.uniform(0, 9, size=n).round()
    f1, f2, f3 = rng.integers(0, 15, n), rng.integers(0, 6, n), rng.integers(0, 4, n)
    f1[:15], f2[:6], f3[:4] = np.arange(15), np.arange(6), np.arange(4)
    one = np.ones((n, 1))
    specs = {
        "scalar": [(f1, 15, one)],
        "vector": [(f1, 15, np.column_stack([one, x2]))],
        "crossed": [(f1, 15, one), (f2, 6, one)],
        "nested": [(f1 * 0 + (f1 // 3), 5, one), (f1 // 5, 3, one)],
        "crossed_vec": [(f1, 15, np.column_stack([one, x2])), (f2, 6, np.column_stack([one, x1])),
                        (f3, 4, one)],
        "three_vec_first_scalar": [(f1, 15, one), (f2, 6, np.column_stack([one, x1, x2])),
                                   (f3, 4, np.column_stack([one, x1]))],
        "same_factor": [(f1, 15, one), (f1, 15, x2[:, None])],
    }
    X = np.column_stack([np.ones(n), x1, x2])
    y = 3 + x1 - 0.5 * x2 + rng.normal(size=n) + rng.normal(size=15)[f1] + rng.normal(size=6)[f2]
    return X, y, specs[kind]


KINDS = ["scalar", "vector", "crossed", "nested", "crossed_vec", "three_vec_first_scalar",
         "same_factor"]


@pytest.mark.parametrize("path", ["auto", "blocked", "dense", "dense-sparse-lambda", "rest"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("variant", ["plain", "weights_offset", "p0", "ML"])
def test_deviance_matches_dense(kind: str, variant: str, path: str, monkeypatch) -> None:
    """Every evaluation path (blocked, whole-matrix dense with Lambda dense or sparse, and what
    ``auto`` picks: the rest path for crossed/nested scalar terms) against the independent dense formula."""
    if path == "dense-sparse-lambda":
        import pyreterms.lmm.dense

        monkeypatch.setattr(pyreterms.lmm.dense, "DENSE_LAMBDA_MAX", 0)
        path = "dense"
    rng = np.random.default_rng(zlib.crc32(f"{kind}/{variant}".encode()))
    X, y, specs = design(kind, rng)
    n = len(y)
    Zt, Lt, Lind, Gp, lower = build_terms(n, specs)
    w = rng.uniform(0.3, 3, n) if variant == "weights_offset" else np.ones(n)
    o = rng.normal(size=n) if variant == "weights_offset" else np.zeros(n)
    if variant == "p0":
        X = X[:, :0]
    REML = variant != "ML"
    if path == "rest" and kind not in ("crossed", "nested", "same_factor"):  # >= 2 terms, all scalar
        with pytest.raises(ValueError, match="rest path"):
            LmerProblem.build(X, y, Zt, Lt, Lind, Gp, w, o, REML, path=path)
        return
    prob = LmerProblem.build(X, y, Zt, Lt, Lind, Gp, w, o, REML, path=path)
    assert (prob.plan is None) == (path == "blocked")
    thetas = [np.where(lower == 0, 1.0, 0.0)]
    for _ in range(4):
        th = rng.normal(size=lower.size)
        thetas.append(np.where(lower == 0, np.abs(th) * 2, th))
    th = rng.normal(size=lower.size)
    thetas.append(np.where(lower == 0, 0.0, th))  # all diagonals on the boundary
    th = np.where(lower == 0, np.abs(rng.normal(size=lower.size)), rng.normal(size=lower.size))
    th[np.flatnonzero(lower == 0)[0]] = 0.0
    thetas.append(th)
    for th in thetas:
        ref = dense_reference(X, y, Zt, Lt, Lind, th, w, o, REML)
        st = prob.solve(th)
        assert prob.deviance(th) == pytest.approx(ref["dev"], rel=1e-11)
        assert prob.deviance_gram(th) == pytest.approx(ref["dev"], rel=1e-10)
        assert st.dev == pytest.approx(ref["dev"], rel=1e-11)
        for key in ("beta", "u", "b", "mu"):
            scale = max(1.0, np.max(np.abs(ref[key]), initial=0))
            np.testing.assert_allclose(getattr(st, key), ref[key], atol=1e-9 * scale, rtol=0)
        for key in ("ldL2", "ldRX2", "pwrss"):
            assert getattr(st, key) == pytest.approx(ref[key], rel=1e-10, abs=1e-10)
        np.testing.assert_allclose(st.RZX, ref["RZX"], atol=1e-9 * max(1, np.abs(ref["RZX"]).max(initial=0)))
        L = prob.cholesky_L(th).toarray()
        assert 2 * np.sum(np.log(np.diag(L))) == pytest.approx(ref["ldL2"], rel=1e-11, abs=1e-11)


def test_structure_inferred_without_nc() -> None:
    rng = np.random.default_rng(1)
    X, y, specs = design("crossed_vec", rng)
    Zt, Lt, Lind, Gp, _ = build_terms(len(y), specs)
    prob = LmerProblem.build(X, y, Zt, Lt, Lind, Gp)
    assert [t.nc for t in prob.terms] == [2, 2, 1]
    assert [t.nl for t in prob.terms] == [15, 6, 4]


def test_deriv12_quadratic() -> None:
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    f = lambda x: float(x @ A @ x + x[0])  # noqa: E731
    d = deriv12(f, np.array([0.5, -1.0]))
    np.testing.assert_allclose(d.Hessian, 2 * A, rtol=1e-6)
    np.testing.assert_allclose(d.gradient, 2 * A @ np.array([0.5, -1.0]) + [1, 0], rtol=1e-8)


def test_nloptwrap_bounded() -> None:
    res = nloptwrap(lambda x: float((x[0] + 1) ** 2 + (x[1] - 2) ** 2), np.array([1.0, 0.0]),
                    np.array([0.0, -np.inf]))
    assert res["par"][0] == pytest.approx(0.0, abs=1e-7)
    assert res["par"][1] == pytest.approx(2.0, abs=1e-4)
    assert res["conv"] == 0 and res["message"].startswith("NLOPT_")


def test_optimizer_tiny_design() -> None:
    """Dyestuff-like one-way layout: optimum of the REML criterion and the moment start."""
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(6), 5)
    y = 1500 + rng.normal(scale=40, size=6)[g] + rng.normal(scale=50, size=30)
    X = np.ones((30, 1))
    Zt, Lt, Lind, Gp, lower = build_terms(30, [(g, 6, np.ones((30, 1)))])
    prob = LmerProblem.build(X, y, Zt, Lt, Lind, Gp, REML=True)
    start = moment_start(y, [g], True, 1, lower)
    means = np.bincount(g, weights=y) / 5
    v = np.var(means[g], ddof=1)
    assert start[0] == pytest.approx(np.sqrt(v / (np.var(y, ddof=1) - v)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = optimize_lmer(prob.deviance, start, lower)
    grid = np.linspace(max(0, opt.par[0] - 0.05), opt.par[0] + 0.05, 201)
    assert opt.fval <= min(prob.deviance(np.array([t])) for t in grid) + 1e-8
    assert opt.feval > 0 and opt.n_devfun >= opt.feval + 4


def test_optimizer_singular_message() -> None:
    """No between-group variation: theta ends at 0 with lme4's singular-fit message."""
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(6), 5)
    y = rng.normal(size=30)
    y -= (np.bincount(g, weights=y) / 5)[g] - y.mean()  # identical group means
    Zt, Lt, Lind, Gp, lower = build_terms(30, [(g, 6, np.ones((30, 1)))])
    prob = LmerProblem.build(np.ones((30, 1)), y, Zt, Lt, Lind, Gp)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        opt = optimize_lmer(prob.deviance, np.array([1.0]), lower)
    assert opt.par[0] == 0.0
    assert opt.conv_lme4.messages == ("boundary (singular) fit: see help('isSingular')",)
    assert any("boundary (singular)" in str(w.message) for w in rec)
