"""predict() against lme4 1.1-31's predict.merMod, live: re.form variants, new data with new levels,
NA rows, factor levels missing from the new data, and lme4's error messages."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pyreterms
from parity.rsession import RCallError
from pyreterms.errors import DataError
from verbs_rhelp import num, put, r_fit, same_as_r, same_fit

pytestmark = pytest.mark.r


def _r_error(R, code: str) -> str:
    with pytest.raises(RCallError) as e:
        R.r_eval(f"tryCatch({code}, error = function(e) stop(conditionMessage(e), call. = FALSE))")
    return str(e.value).strip()


@pytest.fixture(scope="module")
def ss(R):
    d = pyreterms.load_dataset("sleepstudy")
    put(R, "d", d)
    th = r_fit(R, "Reaction ~ Days + (Days | Subject)", "d")
    return same_fit("Reaction ~ Days + (Days | Subject)", d, th)


@pytest.mark.parametrize("ours,theirs", [(None, "NULL"), ("NA", "NA"), ("~0", "~0"),
                                         ("~ (1 | Subject)", "~(1 | Subject)"),
                                         ("~ (Days | Subject)", "~(Days | Subject)")])
def test_re_form_on_the_fit_data(R, ss, ours, theirs):
    same_as_r(ss.predict(re_form=ours), R, f"predict(fit, re.form = {theirs})")


NEW = pd.DataFrame({"Days": [0.0, 5.0, np.nan, 3.0, 9.5], "Subject": ["308", "999", "309", None, "372"]},
                   index=["a", "b", "c", "d", "e"])


@pytest.mark.parametrize("re_form", [None, "NA", "~ (1 | Subject)"])
def test_newdata_new_levels_and_na_rows(R, ss, re_form):
    put(R, "nd", NEW)
    rr = {None: "NULL", "NA": "NA"}.get(re_form, re_form)
    same_as_r(ss.predict(newdata=NEW, re_form=re_form, allow_new_levels=True), R,
              f"predict(fit, newdata = nd, re.form = {rr}, allow.new.levels = TRUE)")


@pytest.mark.parametrize("rows", [[0, 1], [0, 3], [0]])
def test_newdata_errors_are_lme4s(R, ss, rows):
    nd = NEW.iloc[rows]
    put(R, "nd", nd)
    theirs = _r_error(R, "predict(fit, newdata = nd)") if rows != [0] else None
    if theirs is None:
        same_as_r(ss.predict(newdata=nd), R, "predict(fit, newdata = nd)")
        return
    with pytest.raises(DataError) as e:
        ss.predict(newdata=nd)
    assert str(e.value) == theirs


def test_missing_column(R, ss):
    nd = pd.DataFrame({"Subject": ["308"]})
    put(R, "nd", nd)
    theirs = _r_error(R, "predict(fit, newdata = nd)")
    with pytest.raises(DataError) as e:
        ss.predict(newdata=nd)
    assert str(e.value).startswith(theirs)  # "object 'Days' not found" (+ our hint)


def test_long_new_level_message_is_cut_like_lme4s(R, ss):
    nd = pd.DataFrame({"Days": np.arange(12.0), "Subject": [f"newsubject{k}" for k in range(12)]})
    put(R, "nd", nd)
    theirs = _r_error(R, "predict(fit, newdata = nd)")
    with pytest.raises(DataError) as e:
        ss.predict(newdata=nd)
    assert str(e.value) == theirs


@pytest.mark.parametrize("re_form", ["~ (1 | g)", "~ (1 | Days)"])
def test_re_form_term_not_in_model(R, ss, re_form):
    nd = NEW.iloc[[0]].assign(g=["x"])
    put(R, "nd", nd)
    # lme4 looks a grouping variable missing from the data up in the formula's environment (R's global
    # one): its message depends on whether another test left a `g` there; pyreterms has no such
    # environment, so compare with lme4 in a clean one
    R.r_eval("if (exists('g', envir = globalenv(), inherits = FALSE)) rm('g', envir = globalenv())")
    theirs = _r_error(R, f"predict(fit, newdata = nd, re.form = {re_form})")
    with pytest.raises(DataError) as e:
        ss.predict(newdata=nd, re_form=re_form)
    assert str(e.value) == " ".join(theirs.split())  # R's message has a line break; ours is one line


def test_crossed_penicillin(R):
    P = pyreterms.load_dataset("Penicillin")
    put(R, "P", P)
    th = r_fit(R, "diameter ~ 1 + (1 | plate) + (1 | sample)", "P")
    fit = same_fit("diameter ~ 1 + (1 | plate) + (1 | sample)", P, th)
    nd = P.iloc[[0, 7, 30, 100]]
    put(R, "nd", nd)
    for ours, theirs in [(None, "NULL"), ("~ (1 | plate)", "~(1 | plate)"), ("~ (1 | sample)", "~(1 | sample)")]:
        same_as_r(fit.predict(newdata=nd, re_form=ours), R, f"predict(fit, newdata = nd, re.form = {theirs})")
        same_as_r(fit.predict(re_form=ours), R, f"predict(fit, re.form = {theirs})")


def test_nested_pastes_subset(R):
    P = pyreterms.load_dataset("Pastes")
    sub = P[P["batch"].isin(["A", "B", "C", "D"])]
    put(R, "Ps", sub)
    th = r_fit(R, "strength ~ 1 + (1 | batch/cask)", "Ps")
    fit = same_fit("strength ~ 1 + (1 | batch/cask)", sub, th)
    nd = sub.iloc[[0, 5, 11, 20]]
    put(R, "nd", nd)
    same_as_r(fit.predict(newdata=nd), R, "predict(fit, newdata = nd)")
    same_as_r(fit.predict(newdata=nd, re_form="~ (1 | batch)"), R, "predict(fit, newdata = nd, re.form = ~(1 | batch))")


def test_fixed_factor_levels_absent_from_newdata(R):
    cake = pyreterms.load_dataset("cake")
    put(R, "cake", cake)
    f = "angle ~ recipe + temperature + (1 | recipe:replicate)"
    th = r_fit(R, f, "cake", REML=False)
    fit = same_fit(f, cake, th, REML=False)
    nd = cake[cake["recipe"] == "C"].iloc[:4]
    put(R, "nd", nd)
    same_as_r(fit.predict(newdata=nd), R, "predict(fit, newdata = nd)")
    same_as_r(fit.predict(newdata=nd, re_form="NA"), R, "predict(fit, newdata = nd, re.form = NA)")


def test_repeated_terms_on_one_factor_read_lme4s_first_matching_modes(R):
    """lme4's ``mkNewReTrms`` reads each re.form term's modes by column name from ``ranef(fit)[[g]]``,
    whose names repeat when terms share ``g``: ``(1 | g)`` then reads the ``(Intercept)`` of
    ``(1 + x | g)``, on the fit's own rows and on new data alike; pyreterms reads them the same way."""
    rng = np.random.default_rng(2)
    n = 80
    g = np.repeat(np.arange(8), 10)
    x = rng.normal(size=n)
    d = pd.DataFrame({"y": rng.normal(size=n) + 0.3 * g + 0.2 * x * g, "x": x,
                      "g": pd.Categorical([f"g{k}" for k in g]), "lg": np.tile([True, False, False, True], 20)})
    put(R, "d", d)
    f = "y ~ x + (1 + x | g) + (1 | g) + (lg | g)"
    th = r_fit(R, f, "d")
    fit = same_fit(f, d, th)
    nd = d.iloc[[0, 9, 41]]
    put(R, "nd", nd)
    for rf in ["~(1 | g)", "~(lg | g)", "~(1 + x | g)", "~(1 | g) + (lg | g)"]:
        same_as_r(fit.predict(re_form=rf), R, f"predict(fit, re.form = {rf})")
        same_as_r(fit.predict(newdata=nd, re_form=rf), R, f"predict(fit, newdata = nd, re.form = {rf})")
    # the first-match reading differs from the term's own modes (Z_k b_k), so the test can fail
    own = fit.lf.reTrms.Zt[fit.problem.terms[1].start:fit.problem.terms[1].stop].T @ \
        fit.state.b[fit.problem.terms[1].start:fit.problem.terms[1].stop]
    assert not np.allclose(fit.predict(re_form="~(1 | g)").to_numpy() - fit.predict(re_form="NA").to_numpy(), own)


@pytest.mark.parametrize("formula", ["y ~ x + I(x > 0) + (lg | g)", "y ~ x + (I(x > 0) | g)", "y ~ x + lg + (lg | g)"])
def test_logical_terms_constant_on_the_new_rows(R, formula):
    """A logical term keeps R's levels c(FALSE, TRUE) on new rows where it takes one value (model.matrix's
    rule), in the fixed part and in a random slope; pyreterms once refused these with a contrasts error."""
    rng = np.random.default_rng(1)
    n = 60
    d = pd.DataFrame({"y": rng.normal(size=n), "x": rng.normal(size=n), "g": [f"g{i % 6}" for i in range(n)],
                      "lg": np.tile([True, False], 30)})
    put(R, "d", d)
    th = r_fit(R, formula, "d")
    fit = same_fit(formula, d, th)
    nd = d.iloc[:3].copy()
    nd["x"] = [1.0, 2.0, 3.0]
    nd["lg"] = True
    put(R, "nd", nd)
    for ours, theirs in [(None, "NULL"), ("NA", "NA")]:
        same_as_r(fit.predict(newdata=nd, re_form=ours), R, f"predict(fit, newdata = nd, re.form = {theirs})")


def test_re_form_leaving_out_a_factor_slope_is_refused_as_lme4_does(R):
    """lme4's mkNewReTrms sets the variables re.form does not mention to NA, then re-applies the fit's
    contrasts to the factors among the terms' left-hand sides: a factor slope left out stops
    ("contrasts can be applied only to factors with 2 or more levels"), with new data and on the fit's
    own rows; a factor inside a call (``factor(f)``) or re.form naming it goes through."""
    rng = np.random.default_rng(3)
    n = 60
    d = pd.DataFrame({"y": rng.normal(size=n), "x": rng.normal(size=n), "g": ["abcdef"[i % 6] for i in range(n)],
                      "h": ["ABCDE"[i % 5] for i in range(n)], "f": ["uv"[i % 2] for i in range(n)]})
    put(R, "d", d)
    nd = d.iloc[:3]
    put(R, "nd", nd)
    seen = {"refused": 0, "answered": 0}
    for formula in ["y ~ x + (0 + f | g) + (1 | h)", "y ~ x + (0 + factor(f) | g) + (1 | h)"]:
        fit = same_fit(formula, d, r_fit(R, formula, "d"))
        for rf in ["~(1 | h)", "~(0 + f | g)", "~(1 | h) + (0 + f | g)"]:
            if "factor(f)" in formula and "f |" in rf:
                continue  # not a term of this fit
            for code, call in [(f"predict(fit, newdata = nd, re.form = {rf})", lambda: fit.predict(newdata=nd,
                                                                                                  re_form=rf)),
                               (f"predict(fit, re.form = {rf})", lambda: fit.predict(re_form=rf))]:
                try:
                    theirs = num(R, code)
                except RCallError:
                    msg = _r_error(R, code)
                    with pytest.raises(DataError) as e:
                        call()
                    assert str(e.value) == msg == "contrasts can be applied only to factors with 2 or more levels"
                    seen["refused"] += 1
                    continue
                same_as_r(call(), R, code)
                seen["answered"] += theirs.size > 0
    assert seen == {"refused": 2, "answered": 6}


def test_single_level_factor_in_the_random_frame_is_refused_as_lme4_does(R):
    """``g`` with one level, used only inside ``k/g``: lme4's get.orig.levs takes contrasts of every
    factor of the random-effects frame and stops for it, whenever the random part is rebuilt
    (mkNewReTrms: new data, or a re.form formula on the fit's rows); re.form = NA goes through."""
    d = pd.DataFrame({"y": [0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.0, 0.025, 0.05], "g": ["a"] * 10,
                      "h": ["1"] * 5 + ["2"] * 5, "k": ["1", "2"] * 5,
                      "x": [-1.0, -0.5, 0.0, 0.0, 1.5, -3.5, -2.5, -1.5, 0.0, 3.0]})
    put(R, "d", d)
    formula = "y ~ (x | h) + (1 | k/g)"
    fit = same_fit(formula, d, r_fit(R, formula, "d"))
    nd = d.iloc[:3]
    put(R, "nd", nd)
    msg = "contrasts not defined for 0 degrees of freedom"
    for code, call in [("predict(fit, newdata = nd)", lambda: fit.predict(newdata=nd)),
                       ("predict(fit, re.form = ~(x | h))", lambda: fit.predict(re_form="~(x | h)"))]:
        assert _r_error(R, code) == msg
        with pytest.raises(DataError, match=msg):
            call()
    same_as_r(fit.predict(newdata=nd, re_form="NA"), R, "predict(fit, newdata = nd, re.form = NA)")
    same_as_r(fit.predict(), R, "predict(fit)")


@pytest.mark.parametrize("nd_ordered", [True, False])
def test_ordered_factor_slope_keeps_the_fits_contrasts_on_new_rows(R, nd_ordered):
    """An ordered factor in a random-effects term has polynomial columns (f.L, f.Q); on new rows lme4
    re-applies the fit's contrasts (mkNewReTrms), whether or not the new data's column is ordered."""
    d = pd.DataFrame({"y": [0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.0, 0.025, 0.05, 0.3, 0.2],
                      "g": ["a", "b"] * 6, "x": [-2.0, -1.0, 0.0, 1.0, 2.0, -2.0, -1.0, 0.0, 1.0, 2.0, 0.5, 1.5],
                      "f": pd.Categorical(list("abcabcabcabc"), categories=["a", "b", "c"], ordered=True)})
    put(R, "d", d)
    formula = "y ~ f + (x + f | g)"
    fit = same_fit(formula, d, r_fit(R, formula, "d"))
    nd = d.iloc[[0, 1, 5]].copy()
    if not nd_ordered:
        nd["f"] = pd.Categorical(nd["f"].astype(str), categories=["a", "b", "c"])
    put(R, "nd", nd)
    for ours, theirs in [(None, "NULL"), ("~(x + f | g)", "~(x + f | g)")]:
        same_as_r(fit.predict(newdata=nd, re_form=ours), R, f"predict(fit, newdata = nd, re.form = {theirs})")
