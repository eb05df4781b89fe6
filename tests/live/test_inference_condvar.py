"""ranef(fit, condVar = TRUE) against live lme4 1.1-31: postVar per term, compared at lme4's fitted theta
(rtol 1e-10, norm-wise), on sleepstudy, Penicillin (crossed), Pastes (nested), two terms on one factor,
and a large-q crossed design where no q x q matrix may be formed (peak memory measured)."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

import pyreterms
from parity.r.convert import dataframe_to_r
from parity.adapter.pyreterms_fit import at_theta
from pyreterms.lmm.inference.condvar import CondRanef, post_var_terms

pytestmark = pytest.mark.r

CASES = [
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
    ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin"),
    ("strength ~ 1 + (1 | batch/cask)", "Pastes"),
    ("Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)", "sleepstudy"),
    ("Reaction ~ Days + (Days || Subject)", "sleepstudy"),
    ("Reaction ~ Days + (1 | Subject) + (1 | Subject)", "sleepstudy"),  # R's names repeat
    # a vector-valued first term with a crossed second one (the off-diagonal path of the blocks)
    ("Reaction ~ Days + (Days | Subject) + (1 | fD)", "sleepstudy_fD"),
]


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _compare(R, fit, rname: str = "r") -> None:
    import rpy2.robjects as ro

    cr = fit.ranef(condVar=True)
    assert list(cr) == list(ro.r(f"names({rname})"))
    for g, c in cr.items():
        assert isinstance(c, CondRanef)
        modes = np.asarray(ro.r(f'as.matrix({rname}[["{g}"]])'))
        assert list(c.modes.columns) == list(ro.r(f'colnames({rname}[["{g}"]])'))
        assert list(c.modes.index) == list(ro.r(f'rownames({rname}[["{g}"]])'))
        assert _rel(c.modes.to_numpy(), modes) <= 1e-9
        pv = ro.r(f'attr({rname}[["{g}"]], "postVar")')
        mine = c.postVar_R()
        if not isinstance(mine, np.ndarray):  # lme4 1.1-31: several terms on one factor -> a named list
            pairs = list(mine.items()) if isinstance(mine, dict) else list(mine)
            assert [k for k, _ in pairs] == list(pv.names)
            for i, (_, v) in enumerate(pairs):
                rv = np.asarray(pv[i])
                assert v.shape == rv.shape
                assert _rel(v, rv) <= 1e-10
        else:
            rv = np.asarray(pv)
            assert mine.shape == rv.shape
            assert _rel(mine, rv) <= 1e-10
        assert c.postVar is not None and len(c.terms) >= 1


@pytest.mark.parametrize("formula,data", CASES, ids=[c[0] for c in CASES])
def test_postvar_matches_lme4(R, formula, data):
    if data == "sleepstudy_fD":
        d = pyreterms.load_dataset("sleepstudy")
        d["fD"] = pd.Categorical(d["Days"].astype(int).astype(str))
        R.r_eval("sleepstudy_fD <- transform(lme4::sleepstudy, fD = factor(Days))")
    else:
        d = pyreterms.load_dataset(data)
    R.r_eval(f"suppressMessages(library(lme4)); fm <- lmer({formula}, {data}); r <- ranef(fm, condVar = TRUE)")
    th = np.array(R.r_eval('getME(fm, "theta")'), dtype=float)
    fit = at_theta(pyreterms.lmer(formula, d), th)
    _compare(R, fit)


def test_condvar_false_is_the_plain_ranef():
    fit = pyreterms.lmer("Reaction ~ Days + (Days | Subject)", pyreterms.load_dataset("sleepstudy"))
    plain = fit.ranef()
    assert isinstance(plain["Subject"], pd.DataFrame)
    alias = fit.ranef(cond_var=True)["Subject"]
    pd.testing.assert_frame_equal(alias.modes, plain["Subject"])
    assert alias.postVar.shape == (18, 2, 2)


def _large(seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n, n1, n2 = 16000, 6000, 150
    g1 = rng.integers(0, n1, n)
    g2 = rng.integers(0, n2, n)
    y = rng.normal(0, 1, n1)[g1] + 0.5 * rng.normal(0, 1, n2)[g2] + rng.normal(0, 1, n)
    return pd.DataFrame({"y": y, "g1": pd.Categorical([f"a{k:05d}" for k in g1]),
                         "g2": pd.Categorical([f"b{k:04d}" for k in g2])})


def test_large_q_without_a_dense_inverse(R):
    """q ~ 5900: a dense q x q inverse would need ~280 MB; the blocks need a few MB (measured)."""
    d = _large()
    formula = "y ~ 1 + (1 | g1) + (1 | g2)"
    theta = np.array([0.9, 0.45])
    fit = pyreterms.lmer(formula, d, control={"optimizer": None, "start": theta})
    q = fit.problem.q
    assert q > 5000
    tracemalloc.start()
    pv = post_var_terms(fit.problem, fit.theta, fit.sigma())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 0.05 * q * q * 8, (peak, q)  # far below one q x q matrix
    import rpy2.robjects as ro

    ro.globalenv["dl"] = dataframe_to_r(d)
    R.r_eval(f"fmL <- lmer({formula}, dl, control = lmerControl(optimizer = NULL), start = c(0.9, 0.45)); "
             "rL <- ranef(fmL, condVar = TRUE)")
    assert np.array_equal(np.array(R.r_eval('getME(fmL, "theta")')), theta)
    for k, g in enumerate(["g1", "g2"]):
        rv = np.array(R.r_eval(f'attr(rL[["{g}"]], "postVar")'))
        assert _rel(np.transpose(pv[k], (1, 2, 0)), rv) <= 1e-10
