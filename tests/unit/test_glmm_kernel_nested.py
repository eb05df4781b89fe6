"""The compiled PIRLS on nested scalar random effects (``ElimPlan.rest`` levels: the Schur complement eliminated
level by level, pyreterms.glmm.linjit.nested_chol) against the numpy path (BlockChol.from_blocks' recursion),
which stays the reference: the deviance functions at given parameters (nAGQ = 0 and the Laplace value) and
the state they leave (u, beta, ldL2, L, RX, RZX) to <= 1e-10 relative.  The two paths sum in different
orders (BLAS products and LAPACK's triangular solves against the kernel's loops), so this is rounding, not
bit identity; the one-level kernel's bit-level checks stay in test_glmm_kernel.py."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pyreterms.glmm import family as fam
from pyreterms.glmm.blockchol import ElimPlan
from pyreterms.glmm.devfun import GlmerDevfun
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.kernel import KernelModel
from pyreterms.glmm.pirls import PirlsError

RTOL = 1e-10


def _nested_frame() -> pd.DataFrame:
    """plot (120) in site (30) in region (6), 3 observations a plot, crossed with 4 periods; a centred
    covariate; Poisson counts and binomial successes of 10 trials simulated from the nested model."""
    rng = np.random.default_rng(20261127)
    region = np.repeat(np.arange(6), 60)
    site = np.repeat(np.arange(30), 12)
    plot = np.repeat(np.arange(120), 3)
    n = plot.size
    period = rng.integers(0, 4, n)
    x = rng.normal(size=n)
    eta = (0.4 + 0.3 * x + rng.normal(0, 0.5, 6)[region] + rng.normal(0, 0.4, 30)[site]
           + rng.normal(0, 0.3, 120)[plot] + rng.normal(0, 0.2, 4)[period])
    size = np.full(n, 10.0)
    return pd.DataFrame({
        "region": pd.Categorical([f"r{i}" for i in region]), "site": pd.Categorical([f"s{i:02d}" for i in site]),
        "plot": pd.Categorical([f"p{i:03d}" for i in plot]), "period": pd.Categorical([f"t{i}" for i in period]),
        "x": x, "count": rng.poisson(np.exp(eta)).astype(float),
        "succ": rng.binomial(10, 1 / (1 + np.exp(-(eta - 0.4)))).astype(float), "size": size})


DATA = _nested_frame()
POIS, BINO = "count ~ x + ", "cbind(succ, size - succ) ~ x + "
# (formula, family, the nested levels after the first: (q1, dense L32 L32') each; a last level with no rows
# after it has no product, and ElimPlan marks it dense)
DESIGNS = [
    (POIS + "(1 | site) + (1 | region)", fam.poisson(), [(6, True)]),
    (POIS + "(1 | plot) + (1 | site) + (1 | region)", fam.poisson(), [(30, False), (6, True)]),
    (BINO + "(1 | site) + (1 | region)", fam.binomial(), [(6, True)]),
    (BINO + "(1 | plot) + (1 | site) + (1 | region)", fam.binomial(), [(30, False), (6, True)]),
    (BINO + "(1 | plot) + (1 | site) + (1 | region)", fam.binomial("probit"), [(30, False), (6, True)]),
    # two scalar terms on one factor (what ``(x || site)`` expands to): the slopes' Schur complement is diagonal
    (POIS + "(1 | site) + (0 + x | site)", fam.poisson(), [(30, True)]),
    # sites crossed with periods: the second level's L32 L32' is the dense product, the periods a dense block
    (POIS + "(1 | plot) + (1 | site) + (1 | period)", fam.poisson(), [(30, True)]),
]


def _glf(formula: str, f: fam.Family) -> GLFormula:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glf = glformula(formula, DATA, f)
    assert isinstance(glf, GLFormula)
    return glf


def _levels(plan: ElimPlan) -> list[tuple[int, bool]]:
    out = []
    rest = plan.rest
    while rest is not None:
        out.append((rest.q1, rest.schur is None))
        rest = rest.rest
    return out


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    """The largest difference relative to the reference's largest magnitude."""
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return float(np.max(np.abs(a - b))) / scale if scale else float(np.max(np.abs(a - b), initial=0.0))


def _same_state(k: GlmerDevfun, n: GlmerDevfun) -> None:
    assert k.pp.chol.ldL2() == pytest.approx(n.pp.chol.ldL2(), rel=RTOL, abs=0)
    for name, a, b in [("u", k.pp.delu, n.pp.delu), ("beta", k.pp.delb, n.pp.delb), ("L", k.pp.L, n.pp.L),
                       ("RX", k.pp.RX, n.pp.RX), ("RZX", k.pp.RZX, n.pp.RZX), ("eta", k.resp.eta, n.resp.eta)]:
        assert a.shape == b.shape, name
        assert _rel(a, b) <= RTOL, (name, _rel(a, b))
    # the kernel's dense L22 is a lower-triangular factor: nothing above the diagonal
    L = k.pp.L
    assert np.all(np.triu(L, 1) == 0)


def _value(fn: object, pars: np.ndarray) -> float | str:
    try:
        with np.errstate(all="ignore"):
            return float(fn(pars))  # type: ignore[operator]
    except PirlsError as e:
        return f"refused: {e}"


@pytest.mark.parametrize(("formula", "f", "levels"), DESIGNS,
                         ids=[f"{d[0].split('~')[1]}-{d[1].family}-{d[1].link}" for d in DESIGNS])
def test_nested_deviances_at_given_parameters_are_the_numpy_paths(formula: str, f: fam.Family,
                                                                  levels: list[tuple[int, bool]]) -> None:
    glf = _glf(formula, f)
    dk, dn = GlmerDevfun(glf, kernel=True), GlmerDevfun(glf, kernel=False)
    assert _levels(dk.pp.pat.plan) == levels  # the structure the design is meant to exercise
    assert dk.kern is not None and dn.kern is None
    assert KernelModel.build(dk.pp, dk.resp) is not None
    _same_state(dk, dn)
    rng = np.random.default_rng(11)
    compared = 0
    for th in [np.full(dk.nth, 1.0), *(rng.uniform(0.05, 2.0, dk.nth) for _ in range(4))]:  # nAGQ = 0
        a, b = _value(dk.devfun0, th), _value(dn.devfun0, th)
        assert isinstance(a, float) and isinstance(b, float), (a, b)
        assert a == pytest.approx(b, rel=RTOL, abs=0)
        _same_state(dk, dn)
        compared += 1
    dk.to_stage2()
    dn.to_stage2()
    beta0 = dn.pp.delb.copy()
    for _ in range(4):  # nAGQ = 1: beta in the offset, u-only PIRLS, the Laplace value
        pars = np.concatenate([rng.uniform(0.05, 2.0, dk.nth), beta0 + rng.normal(0, 0.1, beta0.size)])
        a, b = _value(dk.devfun, pars), _value(dn.devfun, pars)
        assert isinstance(a, float) and isinstance(b, float), (a, b)
        assert a == pytest.approx(b, rel=RTOL, abs=0)
        _same_state(dk, dn)
        compared += 1
    assert compared == 9


def test_nested_refusal_is_the_numpy_paths() -> None:
    """A huge theta overflows the working weights: both paths refuse with the same message."""
    glf = _glf(POIS + "(1 | plot) + (1 | site) + (1 | region)", fam.poisson())
    dk, dn = GlmerDevfun(glf, kernel=True), GlmerDevfun(glf, kernel=False)
    assert dk.kern is not None
    th = np.array([1e200, 1.0, 1.0])
    ref = _value(dn.devfun0, th)
    assert isinstance(ref, str)
    assert _value(dk.devfun0, th) == ref
