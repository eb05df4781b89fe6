"""anova() against live lme4 1.1-31 (anova.merMod): the likelihood-ratio table of several fits and the
one-fit F table.  At lme4's thetas the tables agree to rtol 1e-10 (norm-wise per column); with our own
ML refits (minqa's BOBYQA, ported, as lme4's refitML) to the optimizer tolerance stated below; the
printed form equals R's print line for line."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import pyreterms
from parity.adapter.pyreterms_fit import at_theta
from pyreterms.errors import LmeMessage
from pyreterms.lmm.inference.anova import AnovaError, AnovaTable, anova
from pyreterms.lmm.inference.refit import ml_version, refit_ml

pytestmark = pytest.mark.r

SLEEP = [("fm1", "Reaction ~ Days + (Days | Subject)"), ("fm0", "Reaction ~ Days + (1 | Subject)"),
         ("fmx", "Reaction ~ 1 + (1 | Subject)")]
COLS = ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]


def _r_table(R, expr: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    import rpy2.robjects as ro

    R.r_eval(f"a_ <- suppressMessages({expr})")
    cols = list(ro.r("colnames(a_)"))
    df = pd.DataFrame({c: np.asarray(ro.r(f'as.numeric(a_[["{c}"]])'), dtype=float) for c in cols},
                      index=list(ro.r("rownames(a_)")))
    heading = list(ro.r('attr(a_, "heading")'))
    printed = list(ro.r("capture.output(print(a_))"))
    return df, heading, printed


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(b)
    if not ok.any():
        return 0.0
    return float(np.max(np.abs(a[ok] - b[ok])) / max(np.max(np.abs(b[ok])), 1e-300))


def _fit_sleep(R) -> list:
    R.r_eval("suppressMessages(library(lme4)); " + "; ".join(f"{n} <- lmer({f}, sleepstudy)" for n, f in SLEEP))
    d = pyreterms.load_dataset("sleepstudy")
    return [pyreterms.lmer(f, d) for _, f in SLEEP]


def test_lrt_table_at_lme4_thetas(R):
    """Our table from fits placed at lme4's refitML thetas == lme4's anova (every column, 1e-10)."""
    fits = _fit_sleep(R)
    ml = []
    for (n, _), f in zip(SLEEP, fits):
        th = np.array(R.r_eval(f'getME(lme4:::refitML({n}), "theta")'), dtype=float)
        ml.append(ml_version(f, th))
    r, heading, printed = _r_table(R, "anova(fm1, fm0, fmx)")
    mine = anova(*ml, model_names=[n for n, _ in SLEEP], data_name="sleepstudy")
    assert isinstance(mine, AnovaTable)
    assert list(mine.columns) == COLS == list(r.columns)
    assert list(mine.index) == list(r.index) == ["fmx", "fm0", "fm1"]
    for c in COLS:
        assert _rel(mine[c].to_numpy(), r[c].to_numpy()) <= 1e-10, c
    assert list(mine.heading) == heading
    assert str(mine).splitlines() == printed


def test_lrt_table_with_our_refits(R):
    """REML fits refitted by ML here (message as lme4's): logLik within 1e-8 relative of lme4's (the
    criterion tolerance), Chisq within 1e-6 relative (a difference of two criteria), p within 1e-5."""
    fits = _fit_sleep(R)
    with pytest.warns(LmeMessage, match=r"refitting model\(s\) with ML \(instead of REML\)"):
        mine = anova(*fits, model_names=[n for n, _ in SLEEP], data_name="sleepstudy")
    r, _, printed = _r_table(R, "anova(fm1, fm0, fmx)")
    for c, tol in (("npar", 0), ("AIC", 1e-8), ("BIC", 1e-8), ("logLik", 1e-8), ("deviance", 1e-8),
                   ("Chisq", 1e-6), ("Df", 0), ("Pr(>Chisq)", 1e-5)):
        assert _rel(mine[c].to_numpy(), r[c].to_numpy()) <= tol, (c, _rel(mine[c].to_numpy(), r[c].to_numpy()))
    assert str(mine).splitlines() == printed


def test_refit_false_keeps_reml_and_warns_on_a_mix(R):
    d = pyreterms.load_dataset("sleepstudy")
    R.r_eval("suppressMessages(library(lme4)); g1 <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy); "
             "g0 <- lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = FALSE)")
    f1 = pyreterms.lmer("Reaction ~ Days + (Days | Subject)", d)
    f0 = pyreterms.lmer("Reaction ~ Days + (1 | Subject)", d, REML=False)
    th1 = np.array(R.r_eval('getME(g1, "theta")'), dtype=float)
    th0 = np.array(R.r_eval('getME(g0, "theta")'), dtype=float)
    with pytest.warns(pyreterms.LmeWarning, match="some models fit with REML = TRUE, some not"):
        mine = anova(at_theta(f1, th1), at_theta(f0, th0), refit=False, model_names=["g1", "g0"])
    R.r_eval("w_ <- NULL; withCallingHandlers(anova(g1, g0, refit = FALSE), "
             "warning = function(w) {w_ <<- conditionMessage(w); invokeRestart('muffleWarning')})")
    assert list(R.r_eval("w_")) == ["some models fit with REML = TRUE, some not"]
    r, _, _ = _r_table(R, "anova(g1, g0, refit = FALSE)")
    for c in COLS:
        assert _rel(mine[c].to_numpy(), r[c].to_numpy()) <= 1e-10, c


@pytest.mark.parametrize("formula,data", [
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy"),
    ("angle ~ recipe * temperature + (1 | recipe:replicate)", "cake"),
    ("angle ~ 0 + recipe + temperature + (1 | replicate)", "cake"),
    ("Yield ~ 1 + (1 | Batch)", "Dyestuff"),  # no fixed term: an empty table
])
def test_one_model_f_table(R, formula, data):
    R.r_eval(f"suppressMessages(library(lme4)); fa <- lmer({formula}, {data})")
    th = np.array(R.r_eval('getME(fa, "theta")'), dtype=float)
    fit = at_theta(pyreterms.lmer(formula, pyreterms.load_dataset(data)), th)
    mine = anova(fit)
    r, heading, printed = _r_table(R, "anova(fa)")
    assert list(mine.columns) == list(r.columns) == ["npar", "Sum Sq", "Mean Sq", "F value"]
    assert list(mine.index) == list(r.index)
    assert np.array_equal(mine["npar"].to_numpy(), r["npar"].to_numpy())
    for c in ["Sum Sq", "Mean Sq", "F value"]:
        assert _rel(mine[c].to_numpy(), r[c].to_numpy()) <= 1e-10, c
    assert list(mine.heading) == heading
    assert str(mine).splitlines() == printed


def test_refusals(R):
    d = pyreterms.load_dataset("sleepstudy")
    f1 = pyreterms.lmer("Reaction ~ Days + (1 | Subject)", d, REML=False)
    f2 = pyreterms.lmer("Reaction ~ Days + (1 | Subject)", d[d.Days < 9], REML=False)
    R.r_eval("suppressMessages(library(lme4)); h1 <- lmer(Reaction ~ Days + (1 | Subject), sleepstudy, REML = FALSE);"
             "h2 <- lmer(Reaction ~ Days + (1 | Subject), subset(sleepstudy, Days < 9), REML = FALSE)")
    msg = str(R.r_eval("tryCatch(anova(h1, h2), error = function(e) conditionMessage(e))")[0])
    with pytest.raises(AnovaError, match=msg):
        anova(f1, f2)
    with pytest.raises(AnovaError, match="different lengths"):
        anova(f1, f1, model_names=["a"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert list(anova(f1, f1, model_names=["a", "b"]).index) == ["a", "b"]


REFIT = [("pen", "diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin"),
                     ("pas", "strength ~ 1 + (1 | batch/cask)", "Pastes")]


@pytest.mark.parametrize(("name", "formula", "data"), [(n, f, "sleepstudy") for n, f in SLEEP[:2]] + REFIT)
def test_refitml_runs_minqas_bobyqa_from_lme4s_reml_theta(R, name, formula, data):
    """refitML started at lme4's REML theta: the ML theta within 10 x minqa's rhoend (1e-6 rhobeg) of
    lme4's refitML (both run minqa's BOBYQA; the paths part only by the deviances' last bits).  NLopt's
    BOBYQA, used before, ended 4e-5 away on sleepstudy's vector term."""
    R.r_eval(f"suppressMessages(library(lme4)); m_ <- lmer({formula}, {data}); r_ <- lme4:::refitML(m_)")
    th_reml = np.array(R.r_eval('getME(m_, "theta")'), dtype=float)
    th_r = np.array(R.r_eval('getME(r_, "theta")'), dtype=float)
    ml = refit_ml(at_theta(pyreterms.lmer(formula, pyreterms.load_dataset(data)), th_reml))
    rhoend = 1e-6 * min(0.95, 0.2 * float(np.max(np.abs(th_reml))))
    assert np.max(np.abs(ml.theta - th_r)) <= 10 * rhoend
