"""Issue 4: lmer parity against live lme4 1.1-31 (deviance at given thetas, the optimizer, getME)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pyreterms
from parity.compare.check import check, r_components
from pyreterms.datasets import load_dataset

pytestmark = pytest.mark.r


def _bad(rep):
    return [(c.name, c.detail) for c in rep.components if not c.ok]


def _near_singular(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(12), 8)
    x = np.tile(np.linspace(-1, 1, 8), 12)
    y = 2 + 0.5 * x + rng.normal(0, 1.0, 12)[g] + rng.normal(0, 0.02, 12)[g] * x + rng.normal(0, 0.5, len(g))
    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical([f"g{k:02d}" for k in g])})


def _weighted_sleep() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    d = load_dataset("sleepstudy")
    rng = np.random.default_rng(11)
    return d, rng.uniform(0.5, 2.0, len(d)), rng.normal(0, 5, len(d))


FITS = [
    ("ss3 REML", "Reaction ~ Days + (Days | Subject)", "ss3", True),
    ("ss3 ML", "Reaction ~ Days + (Days | Subject)", "ss3", False),
    ("sleepstudy REML", "Reaction ~ Days + (Days | Subject)", "sleepstudy", True),
    ("sleepstudy ML", "Reaction ~ Days + (Days | Subject)", "sleepstudy", False),
    ("sleepstudy uncorrelated", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "sleepstudy", True),
    ("sleepstudy ||", "Reaction ~ Days + (Days || Subject)", "sleepstudy", False),
    ("Dyestuff", "Yield ~ 1 + (1 | Batch)", "Dyestuff", True),
    ("Dyestuff2 singular", "Yield ~ 1 + (1 | Batch)", "Dyestuff2", True),
    ("Penicillin crossed", "diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", True),
    ("Pastes nested", "strength ~ 1 + (1 | batch/cask)", "Pastes", True),
    ("cake", "angle ~ recipe + temperature + (1 | recipe:replicate)", "cake", False),
    ("near-singular slopes", "y ~ x + (x | g)", "near", True),
]


def _data(name, ss3):
    if name == "ss3":
        return ss3
    if name == "near":
        return _near_singular()
    return load_dataset(name)


@pytest.mark.parametrize("label,formula,data,reml", FITS, ids=[f[0] for f in FITS])
def test_fit_level_parity(label, formula, data, reml, ss3):
    rep = check(formula, _data(data, ss3), REML=reml, level="fit")
    assert not _bad(rep), _bad(rep)
    names = {c.name for c in rep.components}
    for nm in ("X", "Z", "Zt", "u", "b", "Lambdat", "RX", "theta", "beta", "devcomp", "ST", "Tlist", "Ztlist"):
        assert f'getME(fit, "{nm}")' in names
    assert "devfun(theta)" in names and 'ldL2(getME(fit, "L"))' in names


def test_weights_and_offset_parity():
    d, w, o = _weighted_sleep()
    rep = check("Reaction ~ Days + (Days | Subject)", d, REML=True, level="fit", weights=w, offset=o)
    assert not _bad(rep), _bad(rep)


def test_singular_fit_message():
    fit = pyreterms.lmer("Yield ~ 1 + (1 | Batch)", load_dataset("Dyestuff2"))
    assert fit.isSingular() and fit.theta[0] == 0.0
    r = r_components("Yield ~ 1 + (1 | Batch)", load_dataset("Dyestuff2"), REML=True, level="fit")
    assert list(r["lmer(): messages"].x) == ["boundary (singular) fit: see help('isSingular')"]


@pytest.mark.parametrize("formula,data,reml", [
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy", True),
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy", False),
    ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", False),
    ("strength ~ 1 + (1 | batch/cask)", "Pastes", True),
    ("y ~ x + (x | g)", "near", False),
])
def test_deviance_at_random_thetas(formula, data, reml, ss3):
    """devfun(theta) to 1e-10 relative; beta, u, b, mu, ldL2, ldRX2, pwrss to 1e-9 relative,
    at random thetas and thetas on the boundary (zeros in the diagonal)."""
    d = _data(data, ss3)
    lf = pyreterms.lformula(formula, d, reml)
    fit = pyreterms.lmm.fit.lmer_from_parts(lf)
    rng = np.random.default_rng(7)
    lower = lf.reTrms.lower
    thetas = []
    for _ in range(3):
        th = np.where(np.isfinite(lower), rng.uniform(0, 2, lower.size), rng.normal(0, 1, lower.size))
        thetas.append(th)
    boundary = np.array(thetas[0])
    boundary[np.isfinite(lower)] = 0.0
    thetas.append(boundary)
    partial = np.array(thetas[1])
    partial[np.flatnonzero(np.isfinite(lower))[0]] = 0.0
    thetas.append(partial)
    r = r_components(formula, d, REML=reml, level="fit", thetas=thetas)
    for k, th in enumerate(thetas, start=1):
        pre = f"devfun(thetas[[{k}]])"
        s = fit.problem.solve(th)
        dev_r = float(r[pre].x[0])
        assert abs(fit.problem.deviance(th) - dev_r) <= 1e-10 * abs(dev_r), (k, th)
        pairs = {"pp$beta(1)": s.beta, "pp$u(1)": s.u, "pp$b(1)": s.b, "resp$mu": s.mu,
                 "pp$ldL2()": [s.ldL2], "pp$ldRX2()": [s.ldRX2], "pwrss": [s.pwrss]}
        for name, ours in pairs.items():
            theirs = np.asarray(r[f"{pre}; {name}"].x, dtype=float)
            ours = np.asarray(ours, dtype=float)
            scale = max(np.abs(theirs).max(), 1e-300)
            assert np.abs(ours - theirs).max() <= 1e-9 * scale, (k, name)


def test_seed_numbers(ss3):
    """The project's seed numbers (lme4 1.1-31, to the digits shown)."""
    fit = pyreterms.lmer("Reaction ~ Days + (Days | Subject)", ss3)
    b = fit.getME("b").ravel()
    assert np.array_equal(np.round(b, 3), [-44.157, -2.412, 32.863, -0.400, 11.294, 2.812])
    co = fit.coef()["Subject"]
    assert np.array_equal(np.round(co["(Intercept)"].to_numpy(), 2), [205.30, 282.32, 260.75])
    assert np.array_equal(np.round(co["Days"].to_numpy(), 2), [2.41, 4.42, 7.63])
    r = r_components("Reaction ~ Days + (Days | Subject)", ss3, REML=True, level="fit")
    assert np.array_equal(np.round(np.asarray(r['getME(fit, "b")'].x).ravel(), 3), np.round(b, 3))


def test_summary_layout_matches_lme4(R, ss3):
    """summary() prints the same sections, in the same order, as lme4's print(summary(fit))."""
    from parity.r.convert import dataframe_to_r

    fit = pyreterms.lmer("Reaction ~ Days + (Days | Subject)", ss3)
    ours = str(fit.summary()).splitlines()
    with R.rlock():
        R.helpers()  # make sure the session is up
        import rpy2.robjects as ro

        ro.globalenv["d_ss3"] = dataframe_to_r(ss3)
        theirs = list(ro.r('capture.output(print(summary(lmer(Reaction ~ Days + (Days | Subject), d_ss3))))'))
    heads = ["Linear mixed model fit by REML", "Formula:", "REML criterion at convergence:", "Scaled residuals:",
             "Random effects:", "Number of obs:", "Fixed effects:", "Correlation of Fixed Effects:"]
    pos_ours = [next(i for i, l in enumerate(ours) if l.startswith(h)) for h in heads]
    pos_theirs = [next(i for i, l in enumerate(theirs) if l.startswith(h)) for h in heads]
    assert pos_ours == sorted(pos_ours) and pos_theirs == sorted(pos_theirs)
    for h in ("Formula:", "Number of obs:"):
        assert ours[pos_ours[heads.index(h)]] == theirs[pos_theirs[heads.index(h)]]
