"""predict(fit, newdata) with data-dependent variables (R's ``attr(terms, "predvars")``) against lme4
1.1-31's predict.merMod, live: orthogonal and raw ``poly`` (degree 1-3), ``ns``/``bs`` (df, knots,
``splines::``), ``scale`` (and ``I(scale())`` / ``base::scale()``, which R evaluates afresh on new data), in
the fixed part and in random slopes, with new x beyond the fit's range, NA rows and new levels, for
``re.form`` NULL / NA / a bar formula.  Also the constants themselves against lme4's ``predvars.fixed``."""
from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

import pyreterms
from pyreterms.errors import DataError, LmeWarning
from pyreterms.formula.predvars import PolyCoefs, ScaleConstants, SplineKnots
from pyreterms.verbs.predict import predict
from verbs_rhelp import num, put, r_fit, same_as_r, same_fit

pytestmark = pytest.mark.r

# (formula, bar formula for re.form): the bar is one of the fit's own terms
CASES = [
    ("Reaction ~ poly(Days, 1) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ poly(Days, 2) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ poly(Days, 3) + (Days | Subject)", "~ (Days | Subject)"),
    ("Reaction ~ stats::poly(Days, degree = 2) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ poly(Days, 3, raw = TRUE) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ poly(log(Days + 1), 2) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ ns(Days, df = 3) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ ns(Days, knots = c(3, 6)) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ splines::ns(Days, df = 2) + (Days | Subject)", "~ (Days | Subject)"),
    ("Reaction ~ ns(Days, df = 3):f + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ bs(Days, df = 5) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ splines::bs(Days, knots = c(2.5, 5), degree = 2) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ bs(Days, degree = 1, knots = 4) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ bs(Days, df = 4, Boundary.knots = c(1, 8)) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ 0 + ns(Days, df = 4, intercept = TRUE, Boundary.knots = c(1, 8)) + (1 | Subject)",
     "~ (1 | Subject)"),
    ("Reaction ~ scale(Days) + (scale(Days) | Subject)", "~ (scale(Days) | Subject)"),
    ("Reaction ~ scale(Days, center = FALSE) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ scale(Days, scale = FALSE) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ I(scale(Days)) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ base::scale(Days) + (1 | Subject)", "~ (1 | Subject)"),
    ("Reaction ~ Days + (poly(Days, 2) | Subject)", "~ (poly(Days, 2) | Subject)"),
    ("Reaction ~ Days + (ns(Days, 2) | Subject)", "~ (ns(Days, 2) | Subject)"),
    ("Reaction ~ Days + (bs(Days, df = 3) | Subject)", "~ (bs(Days, df = 3) | Subject)"),
]

# new x beyond the fit's range [0, 9] on both sides, an NA x, a new Subject, an NA Subject
NEW = pd.DataFrame({"Days": [-2.0, 0.0, 0.5, np.nan, 4.25, 9.0, 12.5, 3.0],
                    "Subject": ["308", "999", "309", "330", "372", "308", "351", None],
                    "f": ["a", "b", "a", "b", "b", "a", "b", "a"]},
                   index=[f"r{k}" for k in range(8)])


def _r_re_form(re_form: str | None) -> str:
    return {None: "NULL", "NA": "NA"}.get(re_form, re_form)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def data(R) -> Iterator[pd.DataFrame]:
    d = pd.DataFrame(pyreterms.load_dataset("sleepstudy"))
    d["f"] = np.where(d["Subject"].astype(str) < "340", "a", "b")
    # unqualified ns()/bs(), as a user who wrote library(splines) has them (for this module only: other
    # tests ask R without splines on the search path)
    had = "package:splines" in list(R.r_eval("search()"))
    R.r_eval("suppressMessages(library(splines))")
    put(R, "d", d)
    put(R, "nd", NEW)
    yield d
    if not had:
        R.r_eval('detach("package:splines")')


_fits: dict[str, tuple[object, str]] = {}


def _fit(R, data: pd.DataFrame, formula: str) -> tuple[object, str]:
    """pyreterms' fit at lme4's theta, and the name of lme4's fit in R (one per formula)."""
    if formula not in _fits:
        rname = f"pvfit{len(_fits)}"
        th = r_fit(R, formula, "d", name=rname)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LmeWarning)  # bs() beyond its Boundary.knots: see the test below
            _fits[formula] = (same_fit(formula, data, th), rname)
    return _fits[formula]


@pytest.mark.parametrize("formula,bar", CASES, ids=[c[0].split("~ ", 1)[1] for c in CASES])
def test_predict_newdata(R, data, formula, bar):
    fit, rf = _fit(R, data, formula)
    same_as_r(predict(fit), R, f"predict({rf})")  # the fit itself (its frame) is lme4's
    for re_form in (None, "NA", bar):
        same_as_r(predict(fit, NEW, re_form=re_form, allow_new_levels=True), R,
                  f"predict({rf}, newdata = nd, re.form = {_r_re_form(re_form)}, allow.new.levels = TRUE)")


@pytest.mark.parametrize("formula", ["Reaction ~ poly(Days, 2) + (poly(Days, 2) | Subject)",
                                     "Reaction ~ ns(Days, df = 3) + (scale(Days) | Subject)"])
def test_known_levels_only(R, data, formula):
    """allow.new.levels = FALSE on new data whose Subjects are all in the fit."""
    fit, rf = _fit(R, data, formula)
    nd = NEW.iloc[[0, 2, 3, 4, 5, 6]]
    put(R, "nd2", nd)
    for re_form in (None, "NA"):
        same_as_r(predict(fit, nd, re_form=re_form), R,
                  f"predict({rf}, newdata = nd2, re.form = {_r_re_form(re_form)})")


@pytest.mark.parametrize("formula", [c[0] for c in CASES])
def test_constants_are_lme4s_predvars(R, data, formula):
    """Each kept constant equals the one in lme4's ``attr(terms(fit@frame), "predvars.fixed")`` or
    ``"predvars.random"`` (the variable's call, found by its deparsed text)."""
    fit, rf = _fit(R, data, formula)
    R.r_eval(f"pv_all <- c(as.list(attr(terms({rf}@frame), 'predvars.fixed'))[-1], "
             f"as.list(attr(terms({rf}@frame), 'predvars.random'))[-1]); "
             f"pv_names <- c(attr(terms({rf}@frame), 'varnames.fixed'), "
             f"vapply(as.list(attr(terms({rf}, random.only = TRUE), 'variables'))[-1], deparse1, ''))")
    r_fixed = [str(s) for s in R.r_eval(
        "pv_fixed <- Filter(function(k) !identical(pv_all[[k]], str2lang(pv_names[k])), seq_along(pv_all)); "
        "unique(pv_names[pv_fixed])")]
    ours = dict(fit.lf.fr.predvars)
    assert sorted(ours) == sorted(r_fixed)
    for name, pv in ours.items():
        k = f"pv_all[[match({name!r}, pv_names)]]"
        if isinstance(pv, PolyCoefs):
            np.testing.assert_allclose(pv.alpha, num(R, f"{k}$coefs$alpha"), rtol=1e-10, atol=0)
            np.testing.assert_allclose(pv.norm2, num(R, f"{k}$coefs$norm2"), rtol=1e-10, atol=0)
        elif isinstance(pv, SplineKnots):
            assert np.array_equal(pv.knots, num(R, f"{k}$knots"))  # quantile type 7: exact
            assert np.array_equal(pv.boundary, num(R, f"{k}$Boundary.knots"))
            assert pv.intercept == bool(R.r_eval(f"{k}$intercept")[0])
            if pv.degree is not None:
                assert pv.degree == int(num(R, f"{k}$degree")[0])
        else:
            assert isinstance(pv, ScaleConstants)
            for attr, val in (("center", pv.center), ("scale", pv.scale)):
                if val is None:
                    assert R.r_eval(f"is.logical({k}${attr})")[0]  # the call's own FALSE
                else:
                    np.testing.assert_allclose(val, num(R, f"{k}${attr}"), rtol=1e-14, atol=0)


def test_bs_beyond_boundary_knots_warns_as_r_does(R, data):
    formula = "Reaction ~ bs(Days, df = 4, Boundary.knots = c(1, 8)) + (1 | Subject)"
    theirs = R.r_eval(f"tryCatch(lmer({formula}, d), warning = function(w) conditionMessage(w))")[0]
    with pytest.warns(LmeWarning) as rec:
        pyreterms.lmer(formula, data)
    assert theirs in [str(w.message) for w in rec]


@pytest.mark.parametrize("ours_kw,r_args", [({"nsim": 2, "seed": 3}, "nsim = 2, seed = 3"),
                                            ({"nsim": 2, "seed": 4, "use_u": True}, "nsim = 2, seed = 4, use.u = TRUE")])
def test_simulate_newdata_with_predvars(R, data, ours_kw, r_args):
    """simulate(newdata) draws through mkNewReTrms, which evaluates the random-effects variables with
    lme4's predvars.random."""
    fit, rf = _fit(R, data, "Reaction ~ poly(Days, 2) + (poly(Days, 2) | Subject)")
    nd = NEW.iloc[[0, 1, 2, 4, 5, 6]]
    put(R, "nd3", nd)
    ours = fit.simulate(newdata=nd, allow_new_levels=True, **ours_kw)
    R.r_eval(f"s <- simulate({rf}, newdata = nd3, allow.new.levels = TRUE, {r_args})")
    assert list(ours.index) == list(R.r_eval("rownames(s)"))
    np.testing.assert_allclose(ours.to_numpy(), np.asarray(R.r_eval("as.matrix(s)")), rtol=1e-10, atol=0)


@pytest.mark.parametrize("formula", ["Reaction ~ poly(Days, 2) + (1 | Subject)",
                                     "Reaction ~ ns(Days, df = 3) + (scale(Days) | Subject)"])
def test_constants_come_from_every_row_of_the_data(R, data, formula):
    """R evaluates the variables, so fixes the constants, on all rows of the data, before ``subset`` and
    ``na.action`` drop any: a subset and rows with an NA response change the frame, not the constants."""
    d = pyreterms.load_dataset("sleepstudy").copy()
    d.loc[d.index[[3, 17, 29, 58]], "Reaction"] = np.nan
    put(R, "dna", d)
    R.r_eval(f"pvsub <- lmer({formula}, dna, subset = Days < 7)")
    fit = same_fit(formula, d, num(R, 'getME(pvsub, "theta")'), subset="Days < 7")
    assert fit.lf.fr.n == int(num(R, "nobs(pvsub)")[0])
    put(R, "nd", NEW)
    for re_form in (None, "NA"):
        same_as_r(predict(fit, NEW, re_form=re_form, allow_new_levels=True), R,
                  f"predict(pvsub, newdata = nd, re.form = {_r_re_form(re_form)}, allow.new.levels = TRUE)")


@pytest.mark.parametrize("formula", ["Reaction ~ poly(Days, 3) + (1 | Subject)",
                                     "Reaction ~ ns(Days, df = 3) + (ns(Days, df = 2) | Subject)",
                                     "Reaction ~ bs(Days, df = 5) + (1 | Subject)",
                                     "Reaction ~ scale(Days) + (1 | Subject)",
                                     "Reaction ~ I(scale(Days)) + (1 | Subject)"])
def test_one_row_and_all_na_newdata(R, data, formula):
    """One new row beyond the range (``I(scale())`` of one value is NaN in R too) and new data whose x
    are all NA."""
    fit, rf = _fit(R, data, formula)
    for nd in (pd.DataFrame({"Days": [12.0], "Subject": ["308"]}),
               pd.DataFrame({"Days": [np.nan, np.nan], "Subject": ["308", "309"]})):
        put(R, "nd4", nd)
        for re_form in (None, "NA"):
            code = f"predict({rf}, newdata = nd4, re.form = {_r_re_form(re_form)})"
            err = R.r_eval(f"tryCatch({{ {code}; '' }}, error = function(e) conditionMessage(e))")[0]
            if err:  # R: splineDesign() of no x stops ("length of 'derivs' is larger than length of 'x'")
                with pytest.raises(DataError, match=re.escape(err)):
                    predict(fit, nd, re_form=re_form)
                continue
            same_as_r(predict(fit, nd, re_form=re_form), R, code)
