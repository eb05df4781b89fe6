"""fitted/residuals/predict as Series indexed like the data rows (NA-padded under na.exclude), and the
other merMod accessors, against lme4 1.1-31 live."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import pyreterms
from parity.rsession import RCallError
from pyreterms.errors import DataError
from pyreterms.glmm.glmer import glmer
from verbs_rhelp import names, num, put, r_fit, same_fit

pytestmark = pytest.mark.r


def _with_na() -> pd.DataFrame:
    d = pyreterms.load_dataset("sleepstudy").copy()
    rng = np.random.default_rng(3)
    d["w"] = rng.uniform(0.5, 2.0, len(d))
    d.loc[d.index[[2, 50, 51, 177]], "Reaction"] = np.nan
    d.loc[d.index[[10, 99]], "Days"] = np.nan
    return d


def _exclude(fit):
    """The fit as lmer(..., na.action = na.exclude) has it (only the frame's na.action class differs)."""
    return replace(fit, lf=replace(fit.lf, fr=replace(fit.lf.fr, na_action="exclude")))


@pytest.fixture(scope="module")
def na_fits(R):
    d = _with_na()
    put(R, "d", d)
    f = "Reaction ~ Days + (Days | Subject)"
    th = r_fit(R, f, "d", extra="weights = w, na.action = na.exclude", name="fx")
    R.r_eval("fo <- update(fx, na.action = na.omit, start = getME(fx, 'theta'), "
             "control = lmerControl(optimizer = NULL))")
    fit = same_fit(f, d, th, weights="w")
    return fit, _exclude(fit)


def _same(ours: pd.Series, R, code: str) -> None:
    theirs = num(R, code)
    assert list(ours.index) == names(R, code)
    assert np.array_equal(np.isnan(ours.to_numpy()), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    np.testing.assert_allclose(ours.to_numpy()[ok], theirs[ok], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("which", ["omit", "exclude"])
def test_fitted_residuals_predict_rows(R, na_fits, which):
    fit = na_fits[0] if which == "omit" else na_fits[1]
    r = "fo" if which == "omit" else "fx"
    _same(fit.fitted(), R, f"fitted({r})")
    _same(fit.residuals(), R, f"residuals({r})")
    _same(fit.residuals(type="pearson", scaled=True), R, f"residuals({r}, type = 'pearson', scaled = TRUE)")
    _same(fit.predict(), R, f"predict({r})")
    _same(fit.predict(re_form="NA"), R, f"predict({r}, re.form = NA)")
    _same(fit.hatvalues(), R, f"hatvalues({r})")
    _same(fit.cooks_distance(), R, f"cooks.distance({r})")


def test_series_still_work_as_arrays(na_fits):
    fit = na_fits[0]
    assert np.allclose(fit.fitted() + fit.residuals(), fit.lf.y)
    assert np.asarray(fit.fitted()).shape == (fit.nobs(),)


def test_counts_and_matrices(R, na_fits):
    fit = na_fits[0]
    assert fit.nobs() == int(num(R, "nobs(fo)")[0])
    assert fit.df_residual() == int(num(R, "df.residual(fo)")[0])
    g = fit.ngrps()
    assert list(g.index) == names(R, "ngrps(fo)") and list(g) == list(num(R, "ngrps(fo)"))
    np.testing.assert_array_equal(fit.weights(), num(R, "weights(fo)"))
    X = fit.model_matrix()
    assert list(X.columns) == list(R.r_eval("colnames(model.matrix(fo))"))
    assert list(X.index) == list(R.r_eval("rownames(model.matrix(fo))"))
    np.testing.assert_array_equal(X.to_numpy(), np.asarray(R.r_eval("as.matrix(model.matrix(fo))")))
    Z = fit.model_matrix("random")
    np.testing.assert_array_equal(Z.toarray(), np.asarray(R.r_eval("as.matrix(model.matrix(fo, type = 'random'))")))
    assert fit.formula() == R.r_eval("deparse1(formula(fo))")[0]
    assert fit.formula(fixed_only=True) == R.r_eval("deparse1(formula(fo, fixed.only = TRUE))")[0]
    assert list(fit.terms()) == list(R.r_eval('attr(terms(fo), "term.labels")'))
    mf = fit.model_frame()
    assert list(mf.columns) == list(R.r_eval("names(model.frame(fo))"))
    assert list(mf.index) == list(R.r_eval("rownames(model.frame(fo))"))


def test_hatvalues_crossed(R):
    P = pyreterms.load_dataset("Penicillin")
    put(R, "P", P)
    th = r_fit(R, "diameter ~ 1 + (1 | plate) + (1 | sample)", "P")
    fit = same_fit("diameter ~ 1 + (1 | plate) + (1 | sample)", P, th)
    _same(fit.hatvalues(), R, "hatvalues(fit)")
    _same(fit.cooks_distance(), R, "cooks.distance(fit)")


@pytest.mark.parametrize("arg", ["fixe", "glmer", "Lambd", "dev", "", "eta", "Lambdat"])
def test_getme_matches_names_as_match_arg(R, arg):
    """``getME(fit, name)`` takes an exact name or a unique prefix (R's ``match.arg``); an ambiguous or
    unknown name stops with lme4's message, the same text for the LMM and the GLMM fits."""
    d = pyreterms.load_dataset("sleepstudy")
    put(R, "d", d)
    th = r_fit(R, "Reaction ~ Days + (1 | Subject)", "d", name="gm")
    fit = same_fit("Reaction ~ Days + (1 | Subject)", d, th)
    cb = pyreterms.load_dataset("cbpp")
    gfit = glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", cb, "binomial")
    try:
        r_names = list(R.r_eval(f'as.character(names(getME(gm, "{arg}")))')) or None
    except RCallError as e:
        msg = str(e).strip().splitlines()[-1].strip()
        for f in (fit, gfit):
            with pytest.raises(DataError) as ours:
                f.getME(arg)
            assert str(ours.value) in msg
        return
    ours = fit.getME(arg)
    assert (list(ours.index) if hasattr(ours, "index") else None) == r_names
    gfit.getME(arg)


def test_getme_ztlist_keeps_repeated_names(R):
    """``getME(fit, "Ztlist")`` for ``(1 | g) + (1 | g)``: R's list has both blocks under one name, for
    the GLMM fit as for the LMM fit."""
    cb = pyreterms.load_dataset("cbpp")
    f = "cbind(incidence, size - incidence) ~ period + (1 | herd) + (1 | herd)"
    R.r_eval(f"suppressWarnings(gz <- lme4::glmer({f}, lme4::cbpp, binomial))")
    gfit = glmer(f, cb, "binomial")
    ours = gfit.getME("Ztlist")
    assert [n for n, _ in ours] == list(R.r_eval('names(getME(gz, "Ztlist"))'))
    for k, (_, m) in enumerate(ours):
        np.testing.assert_array_equal(m.toarray(), np.asarray(R.r_eval(f'as.matrix(getME(gz, "Ztlist")[[{k + 1}]])')))
