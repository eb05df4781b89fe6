"""confint() and profile() against live lme4 1.1-31.

* Wald: computed at lme4's fitted theta, equal to lme4's to rtol 1e-10 (NA rows for the variance
  parameters as lme4 gives them), names and column labels as R's.
* the pieces of the profile, each at R's own inputs: ``devfun2`` at the rows of R's profile (1e-10
  relative on the deviance), the splines (``interpSpline``/``backSpline``/``predict``) on R's profile
  table giving R's ``confint(profile)`` (1e-10 relative).
* the whole profile (our ML refit, our optimizer runs): the same number of rows per parameter as R's
  and interval ends within 1e-4 relative of lme4's (measured: <= 6e-6 on these models).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import pyreterms
from parity.adapter.pyreterms_fit import at_theta
from pyreterms.errors import LmeMessage
from pyreterms.lmm.inference.confint import ConfintError, confint, confint_profile
from pyreterms.lmm.inference.interpspline import back_spline, interp_spline
from pyreterms.lmm.inference.profile import Profile, _Dev2, profile
from pyreterms.lmm.inference.refit import ml_version

pytestmark = pytest.mark.r


def _r_matrix(R, expr: str) -> pd.DataFrame:
    import rpy2.robjects as ro

    R.r_eval(f"m_ <- {expr}")
    vals = np.asarray(ro.r("unname(as.matrix(m_))"), dtype=float)
    return pd.DataFrame(vals, index=list(ro.r("rownames(m_)")), columns=list(ro.r("colnames(m_)")))


def _rel_ends(mine: pd.DataFrame, r: pd.DataFrame) -> float:
    a, b = mine.to_numpy(float), r.to_numpy(float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    assert np.array_equal(np.isinf(a), np.isinf(b))
    ok = np.isfinite(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(a[ok] - b[ok]) / np.maximum(np.abs(b[ok]), 1e-300)
    zero = b[ok] == 0
    rel[zero] = np.abs(a[ok][zero])
    return float(rel.max()) if rel.size else 0.0


WALD = [("Reaction ~ Days + (Days | Subject)", "sleepstudy", True),
        ("angle ~ recipe + temperature + (1 | recipe:replicate)", "cake", False),
        ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", True)]


@pytest.mark.parametrize("formula,data,reml", WALD, ids=[w[1] for w in WALD])
def test_wald_matches_lme4(R, formula, data, reml):
    R.r_eval(f"suppressMessages(library(lme4)); fw <- lmer({formula}, {data}, REML = {str(reml).upper()})")
    th = np.array(R.r_eval('getME(fw, "theta")'), dtype=float)
    fit = at_theta(pyreterms.lmer(formula, pyreterms.load_dataset(data), REML=reml), th)
    for args, rargs in [({}, ""), ({"level": 0.9}, ", level = 0.9"), ({"oldNames": False}, ", oldNames = FALSE"),
                        ({"parm": "beta_"}, ', parm = "beta_"'), ({"parm": "theta_"}, ', parm = "theta_"'),
                        ({"parm": [1, 2]}, ", parm = 1:2")]:
        mine = confint(fit, method="Wald", **args)
        r = _r_matrix(R, f'confint(fw, method = "Wald"{rargs})')
        assert list(mine.index) == list(r.index), args
        assert list(mine.columns) == list(r.columns), args
        a, b = mine.to_numpy(), r.to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b))
        ok = ~np.isnan(b)
        if ok.any():
            assert np.max(np.abs(a[ok] - b[ok])) / np.max(np.abs(b[ok])) <= 1e-10, args
    pd.testing.assert_frame_equal(fit.confint(method="Wald"), confint(fit, method="Wald"))


def test_confint_refusals():
    fit = pyreterms.lmer("Yield ~ 1 + (1 | Batch)", pyreterms.load_dataset("Dyestuff"))
    with pytest.raises(ConfintError, match="should be one of"):
        confint(fit, method="wald")
    with pytest.raises(pyreterms.DataError, match="boot_type must be"):
        confint(fit, method="boot", nsim=2, seed=1, boot_type="bca")
    with pytest.raises(ConfintError, match="level"):
        confint(fit, method="Wald", level=1.5)


def test_splines_match_r(R):
    import rpy2.robjects as ro

    rng = np.random.default_rng(7)
    for k in range(5):
        x = np.sort(rng.uniform(-3, 5, 8 + 3 * k))
        y = np.cumsum(rng.uniform(0.05, 1.0, x.size)) * (1 if k % 2 else -1)
        ro.globalenv["x_"], ro.globalenv["y_"] = ro.FloatVector(x), ro.FloatVector(y)
        R.r_eval("library(splines); f_ <- interpSpline(x_, y_); b_ <- backSpline(f_)")
        f, b = interp_spline(x, y), back_spline(interp_spline(x, y))
        for mine, rn in ((f.coefficients, "coef(f_)"), (b.coefficients, "coef(b_)")):
            r = np.array(R.r_eval(rn), dtype=float)
            assert np.array_equal(np.isnan(mine), np.isnan(r))
            ok = ~np.isnan(r)
            assert np.max(np.abs(mine[ok] - r[ok])) / np.max(np.abs(r[ok])) <= 1e-10
        z = np.concatenate([np.linspace(y.min() - 1, y.max() + 1, 41), [y[0], y[-1]]])
        ro.globalenv["z_"] = ro.FloatVector(z)
        pr = np.array(R.r_eval("predict(b_, z_)$y"), dtype=float)
        mine = b.predict(z)
        assert np.array_equal(np.isnan(mine), np.isnan(pr))
        ok = ~np.isnan(pr)
        assert np.max(np.abs(mine[ok] - pr[ok])) / np.max(np.abs(pr[ok])) <= 1e-10


PROFILED = [("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
            ("Yield ~ 1 + (1 | Batch)", "Dyestuff"),
            ("Yield ~ 1 + (1 | Batch)", "Dyestuff2"),  # singular: the lower end is the bound 0
            ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin")]


def _r_profile(R, formula: str, data: str) -> None:
    R.r_eval(f"suppressMessages(library(lme4)); fp <- lmer({formula}, {data}); pp <- profile(fp); "
             "cip <- confint(pp); ppd <- as.data.frame(pp)")


@pytest.mark.parametrize("formula,data", PROFILED, ids=[p[1] for p in PROFILED])
def test_pieces_at_r_profile(R, formula, data):
    """devfun2 at R's profile rows and confint.thpr on R's profile table, both to 1e-10."""
    import rpy2.robjects as ro

    _r_profile(R, formula, data)
    fit = pyreterms.lmer(formula, pyreterms.load_dataset(data))
    th_ml = np.array(R.r_eval('getME(lme4:::refitML(fp), "theta")'), dtype=float)
    base = float(R.r_eval("-2 * c(logLik(lme4:::refitML(fp)))")[0])
    ml = ml_version(fit, th_ml)
    ncs = tuple(len(cn) for _, cn in ml.lf.reTrms.cnms)
    dd = _Dev2(ml.problem, ncs)
    names = list(ro.r("names(ppd)"))
    nvp = sum(n * (n + 1) // 2 for n in ncs) + 1
    tab = pd.DataFrame({c: (np.asarray(ro.r(f'ppd[["{c}"]]'), dtype=float) if c != ".par"
                            else list(ro.r('as.character(ppd[[".par"]])'))) for c in names})
    vp = tab[tab[".par"].isin(names[1:nvp + 1])]
    got = np.array([dd(row) for row in vp[names[1:nvp + 1]].to_numpy(float)])
    want = base + vp[".zeta"].to_numpy(float) ** 2
    assert np.max(np.abs(got - want) / want) <= 1e-10
    # confint.thpr on R's own table
    fwd = {}
    bak = {}
    for nm in dict.fromkeys(tab[".par"]):
        sub = tab[tab[".par"] == nm]
        fwd[nm] = interp_spline(sub[nm].to_numpy(float), sub[".zeta"].to_numpy(float))
        bak[nm] = back_spline(fwd[nm])
    lower = np.array(R.r_eval('attr(pp, "lower")'), dtype=float)
    upper = np.array(R.r_eval('attr(pp, "upper")'), dtype=float)
    prof = Profile(table=tab, forward=fwd, backward=bak, lower=lower, upper=upper)
    mine = confint_profile(prof)
    r = _r_matrix(R, "cip")
    assert list(mine.index) == list(r.index) and list(mine.columns) == list(r.columns)
    assert _rel_ends(mine, r) <= 1e-10


@pytest.mark.parametrize("formula,data", PROFILED, ids=[p[1] for p in PROFILED])
def test_profile_confint_matches_lme4(R, formula, data):
    import rpy2.robjects as ro

    _r_profile(R, formula, data)
    fit = pyreterms.lmer(formula, pyreterms.load_dataset(data))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LmeMessage)
        pp = profile(fit)
        mine = confint(fit)
    r = _r_matrix(R, "cip")
    assert list(mine.index) == list(r.index) and list(mine.columns) == list(r.columns) == ["2.5 %", "97.5 %"]
    assert _rel_ends(mine, r) <= 1e-4
    for nm in r.index:  # lme4's grid rules: the same number of points per parameter
        assert int((pp.table[".par"] == nm).sum()) == int(ro.r(f'sum(ppd$.par == "{nm}")')[0]), nm
    assert list(pp.table.columns) == list(ro.r("names(pp)"))


def test_profile_subset_and_new_names(R):
    _r_profile(R, "Reaction ~ Days + (Days | Subject)", "sleepstudy")
    fit = pyreterms.lmer("Reaction ~ Days + (Days | Subject)", pyreterms.load_dataset("sleepstudy"))
    with pytest.warns(LmeMessage, match="Computing profile confidence intervals"):
        mine = confint(fit, parm=["sd_Days|Subject", "Days"], oldNames=False, level=0.9)
    r = _r_matrix(R, 'suppressMessages(confint(fp, parm = c("sd_Days|Subject", "Days"), oldNames = FALSE, '
                     "level = 0.9))")
    assert list(mine.index) == list(r.index) and list(mine.columns) == list(r.columns) == ["5 %", "95 %"]
    assert _rel_ends(mine, r) <= 1e-4


def test_profile_fallback_on_a_near_singular_fit(R):
    """A correlation profile that is not monotone: lme4 warns and interpolates linearly; so do we."""
    import rpy2.robjects as ro

    from parity.r.convert import dataframe_to_r
    from test_fit_live import _near_singular

    d = _near_singular()
    ro.globalenv["dns"] = dataframe_to_r(d)
    R.r_eval('wl <- character(0); fns <- lmer(y ~ x + (x | g), dns); cins <- withCallingHandlers('
             'suppressMessages(confint(fns)), warning = function(w) {wl <<- c(wl, conditionMessage(w)); '
             'invokeRestart("muffleWarning")})')
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        mine = confint(pyreterms.lmer("y ~ x + (x | g)", d), quiet=True)
    key = {"non-monotonic profile for .sig02", "bad spline fit for .sig02: falling back to linear interpolation"}
    ours, theirs = {str(w.message) for w in rec}, set(ro.r("wl"))
    # R also says "collapsing to unique 'x' values" (approxfun): its profile has exact ties of .zeta = 0
    # where max(0, devdiff) clamps; ours clamps at other points (rounding), so ties need not occur
    assert key <= ours and key <= theirs and ours <= theirs
    assert _rel_ends(mine, _r_matrix(R, "cins")) <= 1e-4
