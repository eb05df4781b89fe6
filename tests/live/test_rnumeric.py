"""R's long double summaries (pyreterms.rmath.longdouble) against R itself, bit for bit, and lme4's start
theta (``mkLmerDevfun``'s moment heuristic) against lme4's ``pp$theta`` after ``mkLmerDevfun``."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from pyreterms.rmath.longdouble import r_col_mean, r_group_means, r_mean, r_sum, r_var

pytestmark = pytest.mark.r


def _vectors() -> list[np.ndarray]:
    """Vectors whose double-precision summaries differ from R's in the last bits, or whose R answer
    is exactly 0 (equal group means, constant vectors), or that overflow a double sum."""
    rng = np.random.default_rng(20261126)
    out = [np.repeat([0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15], 7),
           np.full(13, 0.1), np.array([1e308, 1e308, -1e308, 5.0]), np.array([2.5]),
           np.array([1e16, 1.0, -1e16, 3.0, 0.1, 0.2, 0.3])]
    for k in range(60):
        n = int(rng.integers(2, 300))
        scale = 10.0 ** rng.integers(-8, 9)
        x = rng.normal(0, 1, n) * scale + rng.choice([0.0, 1e6 * scale])
        if k % 3 == 0:
            x = np.round(x, int(rng.integers(0, 4)))
        out.append(x)
    return out


def test_mean_var_sum_colmeans_bit_for_bit(R):
    from rpy2.robjects import FloatVector

    fns = {name: R.r_eval(f"function(x) {name}(x)") for name in ("mean", "var", "sum")}
    colmeans = R.r_eval("function(x) colMeans(cbind(x))")
    ours = {"mean": r_mean, "var": r_var, "sum": r_sum}
    mism = []
    npdiff = 0
    for i, x in enumerate(_vectors()):
        rx = FloatVector(x)
        for name, f in fns.items():
            want = float(f(rx)[0])
            got = ours[name](x)
            if not (got == want or (np.isnan(got) and np.isnan(want))):
                mism.append((i, name, got, want))
            if name == "mean" and np.isfinite(want) and float(np.mean(x, dtype=np.float64)) != want:
                npdiff += 1
        want = float(colmeans(rx)[0])
        if not (r_col_mean(x) == want or (np.isnan(want) and np.isnan(r_col_mean(x)))):
            mism.append((i, "colMeans", r_col_mean(x), want))
    assert not mism, mism[:5]
    assert npdiff > 5  # the vectors do tell R's arithmetic from numpy's


def test_group_means_as_ave(R):
    from rpy2.robjects import FloatVector, IntVector

    ave = R.r_eval("function(y, f) { f <- factor(f); as.numeric(unlist(lapply(split(y, f), mean))) }")
    rng = np.random.default_rng(7)
    for n, nl in ((49, 2), (500, 37), (3000, 5), (700, 300)):
        y = np.round(rng.normal(size=n) * 10 ** rng.integers(-3, 4), 3)
        codes = rng.integers(0, nl, n)
        codes[:nl] = np.arange(nl)  # every level present
        want = np.asarray(ave(FloatVector(y), IntVector(codes)))
        assert np.array_equal(r_group_means(y, codes, nl), want)


@pytest.mark.parametrize("formula", ["y ~ (1 | k/g)", "y ~ (1 | g) + (1 | k)", "y ~ x + (1 | g)"])
def test_moment_start_is_lme4s(R, formula):
    """lme4 starts at exactly 0 when the group means are equal (long double arithmetic); a
    double-precision remainder of 1e-16 used to start BOBYQA elsewhere (seed-11 campaign design)."""
    import pyreterms
    from pyreterms.lmm.optimize import moment_start

    y = np.tile([0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15], 7)
    rng = np.random.default_rng(3)
    cases = [pd.DataFrame({"y": y, "g": np.tile(["a", "b"], 25)[:49], "k": np.tile(["u", "v"], 25)[:49],
                           "x": rng.normal(size=49)})]
    cases.append(cases[0].assign(y=rng.normal(size=49).round(2), g=rng.choice(list("abcdef"), 49)))
    start = R.r_eval("""function(formula, d) {
        d$g <- factor(d$g); d$k <- factor(d$k)
        lf <- lme4::lFormula(as.formula(formula), d, REML = FALSE)
        environment(do.call(lme4::mkLmerDevfun, lf))$pp$theta }""")
    from parity.r.convert import dataframe_to_r

    for d in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lf = pyreterms.lformula(formula, d, REML=False)
        rt = lf.reTrms
        ms = moment_start(lf.y, [f.codes for _, f in rt.flist],
                          all(tuple(cn) == ("(Intercept)",) for _, cn in rt.cnms), len(rt.lower),
                          np.asarray(rt.lower))
        ours = np.asarray(rt.theta, dtype=float) if ms is None else ms
        want = np.asarray(start(formula, dataframe_to_r(d)))
        assert np.array_equal(ours, want), (ours, want)


def test_scale_column_bit_for_bit(R):
    """``scale(x)`` as R computes it (colMeans, then sum(x^2) in long double)."""
    from rpy2.robjects import FloatVector

    from pyreterms.formula.evaluate import _scale

    rs = R.r_eval("function(x) as.numeric(scale(x))")
    for x in _vectors():
        if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 1e150:
            continue
        assert np.array_equal(_scale(x, True, True)[0], np.asarray(rs(FloatVector(x))), equal_nan=True)
