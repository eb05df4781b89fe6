"""The GLMM verbs (pyreterms.glmm.fit / predict / summary) against lme4 1.1-31, live.

At lme4's parameters (``glmer_at``: our fit built from lme4's ``opt$par`` and lme4's devfun ``lp0``),
everything computed at given parameters is compared to 1e-10 relative (measured: <= 5e-14): getME's
values, fixef, ranef, VarCorr, sigma, deviance, logLik, AIC, BIC, fitted, the four residual types, working
and prior weights, predict (link/response, re.form, newdata), devcomp.  Two exceptions, stated:
``vcov`` and the summary's standard errors come from lme4's finite-difference Hessian (``deriv12``,
delta = 1e-4), which divides deviance differences by 1e-8: deviances equal to ~1e-16 give Hessians equal
to ~2e-6 of their largest entry, so the Hessian and vcov are compared to 2e-5 of their largest entry, the
standard errors and z values to 2e-5 relative, the p-values to 2e-3 relative (nAGQ = 0 uses ``unsc()``:
1e-10 throughout).
The printed ``summary`` is compared line for line, at lme4's parameters and for our own full fits.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from glmm_rhelp import CASES, CBPP_B, IDS, OWN_FIT_ELSEWHERE, fit_at_lme4
from glmm_rhelp import num as _num
from glmm_rhelp import r_data as _data
from glmm_rhelp import spec as _spec

import pyreterms as p
from pyreterms.errors import DataError
from pyreterms.glmm import family as fam
from pyreterms.glmm.fit import GlmerFit
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.glmer import glmer, glmer_at
from pyreterms.lmm.getme import GETME_NAMES

pytestmark = pytest.mark.r
RTOL = 1e-10
HESS_RTOL = 2e-5

def _close(ours: object, R, expr: str, rtol: float = RTOL) -> None:
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), _num(R, expr).reshape(np.shape(ours)),
                               rtol=rtol, atol=0, err_msg=expr)


def _close_hess(ours: object, R, expr: str) -> None:
    """Finite-difference quantities: within HESS_RTOL of the largest entry (entries near 0 carry the same
    absolute rounding noise as the large ones)."""
    theirs = _num(R, expr).reshape(np.shape(ours))
    np.testing.assert_allclose(np.asarray(ours, dtype=np.float64), theirs, rtol=0,
                               atol=HESS_RTOL * float(np.max(np.abs(theirs))), err_msg=expr)


@pytest.mark.parametrize(("formula", "rfam", "f", "data", "k"), CASES, ids=IDS)
def test_verbs_at_lme4_parameters(R, formula: str, rfam: str, f: fam.Family, data: str, k: int) -> None:
    fit = fit_at_lme4(R, formula, rfam, f, data, k)
    g = next(iter(fit.ranef()))
    _close(fit.fixef(), R, "fixef(g)")
    assert list(fit.fixef().index) == list(R.r_eval("names(fixef(g))"))
    _close(fit.ranef()[g].iloc[:, 0], R, f"ranef(g)${g}[[1]]")
    assert list(fit.ranef()[g].index) == list(R.r_eval(f"rownames(ranef(g)${g})"))
    for gname, cr in fit.ranef(condVar=True).items():
        _close(cr.postVar_R(), R, f"attr(ranef(g, condVar = TRUE)${gname}, 'postVar')")
    vc = fit.VarCorr_df()
    _close(vc["vcov"], R, "as.data.frame(VarCorr(g))$vcov")
    _close(vc["sdcor"], R, "as.data.frame(VarCorr(g))$sdcor")
    assert list(vc["grp"]) == list(R.r_eval("as.data.frame(VarCorr(g))$grp"))
    for name, expr in (("sigma", "sigma(g)"), ("deviance", "deviance(g)"), ("logLik", "logLik(g)"),
                       ("AIC", "AIC(g)"), ("BIC", "BIC(g)"), ("df_residual", "df.residual(g)"), ("nobs", "nobs(g)")):
        _close(getattr(fit, name)(), R, expr)
    _close(fit.fitted(), R, "fitted(g)")
    assert list(fit.fitted().index) == list(R.r_eval("names(fitted(g))"))
    for t in ("deviance", "pearson", "working", "response"):
        _close(fit.residuals(t), R, f"residuals(g, '{t}')")
        _close(fit.residuals(t, scaled=True), R, f"residuals(g, '{t}', scaled = TRUE)")
    _close(fit.weights("working"), R, "weights(g, 'working')")
    _close(fit.weights(), R, "weights(g)")
    _close(fit.predict(), R, "predict(g)")
    _close(fit.predict(type="response"), R, "predict(g, type = 'response')")
    _close(fit.predict(re_form="NA"), R, "predict(g, re.form = NA)")
    _close(fit.predict(re_form="NA", type="response"), R, "predict(g, re.form = NA, type = 'response')")
    bar = fit.glf.reTrms.terms[0].name
    _close(fit.predict(re_form=f"~({bar})", type="response"), R, f"predict(g, re.form = ~({bar}), type = 'response')")
    cmp_r = dict(zip(R.r_eval("names(g@devcomp$cmp)"), _num(R, "g@devcomp$cmp"), strict=True))
    for key, val in fit.devcomp()["cmp"].items():
        if np.isnan(cmp_r[key]):
            assert np.isnan(val), key
        else:
            assert val == pytest.approx(cmp_r[key], rel=RTOL, abs=0), key
    dims_r = dict(zip(R.r_eval("names(g@devcomp$dims)"), _num(R, "g@devcomp$dims"), strict=True))
    assert fit.devcomp()["dims"] == {key: int(v) for key, v in dims_r.items()}
    if k:
        _close_hess(fit.hessian, R, "g@optinfo$derivs$Hessian")
        _close_hess(fit.vcov(), R, "as.matrix(vcov(g))")
    else:
        _close(fit.vcov(), R, "as.matrix(vcov(g))")


@pytest.mark.parametrize(("formula", "rfam", "f", "data", "k"), CASES, ids=IDS)
def test_getme_at_lme4_parameters(R, formula: str, rfam: str, f: fam.Family, data: str, k: int) -> None:
    fit = fit_at_lme4(R, formula, rfam, f, data, k)
    assert list(GETME_NAMES) == list(R.r_eval("eval(formals(lme4:::getME.merMod)$name)"))
    dense = {"X": "getME(g, 'X')", "Zt": "as.matrix(getME(g, 'Zt'))", "Z": "as.matrix(getME(g, 'Z'))",
             "Lambdat": "as.matrix(getME(g, 'Lambdat'))", "Lambda": "as.matrix(getME(g, 'Lambda'))",
             "A": "as.matrix(getME(g, 'A'))", "L": "as.matrix(as(getME(g, 'L'), 'sparseMatrix'))",
             "RX": "getME(g, 'RX')", "RZX": "getME(g, 'RZX')"}
    for name, expr in dense.items():
        ours = fit.getME(name)
        _close(ours.toarray() if hasattr(ours, "toarray") else ours, R, expr)
    for name in ("y", "mu", "u", "b", "beta", "theta", "sigma", "lower", "Gp", "Tp", "n", "N", "p", "q", "k", "m",
                 "n_rtrms", "n_rfacs", "REML", "offset", "fixef"):
        ours = fit.getME(name)
        vals = np.asarray(ours, dtype=np.float64).ravel()
        theirs = _num(R, f"as.numeric(as.matrix(getME(g, '{name}')))")
        if np.all(theirs == 0):
            np.testing.assert_array_equal(vals, theirs, err_msg=name)
        else:
            np.testing.assert_allclose(vals, theirs, rtol=RTOL, atol=0, err_msg=name)
    assert fit.getME("is_REML") is False and bool(R.r_eval("getME(g, 'is_REML')")[0]) is False
    np.testing.assert_array_equal(fit.getME("Lind") + 1, _num(R, "getME(g, 'Lind')"))
    for name in ("Tlist", "ST"):
        for (_, T), rT in zip(fit.getME(name), R.r_eval(f"getME(g, '{name}')"), strict=True):
            np.testing.assert_allclose(T, np.asarray(rT), rtol=RTOL, atol=0)
    for name in ("l_i", "p_i", "m_i"):
        ours = fit.getME(name)
        assert list(ours.values()) == [int(v) for v in _num(R, f"getME(g, '{name}')")], name
    assert fit.getME("q_i") == [int(v) for v in _num(R, "getME(g, 'q_i')")]
    assert [c for _, cn in fit.getME("cnms") for c in cn] == list(R.r_eval("unlist(getME(g, 'cnms'))"))
    for key, Zt in fit.getME("Ztlist").items():
        _close(Zt.toarray(), R, f"as.matrix(getME(g, 'Ztlist')[['{key}']])")
    for key, Xi in fit.getME("mmList").items():
        _close(Xi, R, f"getME(g, 'mmList')[['{key}']]")
    with pytest.raises(DataError) as e:
        fit.getME("eta")
    theirs = R.r_eval("tryCatch(getME(g, 'eta'), error = function(e) conditionMessage(e))")[0]
    assert str(e.value) == theirs


@pytest.mark.parametrize(("formula", "rfam", "f", "data", "k"), CASES, ids=IDS)
def test_summary_printed_as_lme4(R, formula: str, rfam: str, f: fam.Family, data: str, k: int) -> None:
    """``print(summary(fit))`` and ``print(fit)`` line for line, at lme4's parameters and for our own fit
    (printed to 4 digits, the optimizer's ~1e-9 differences do not show)."""
    at = fit_at_lme4(R, formula, rfam, f, data, k)
    theirs = "\n".join(R.r_eval("capture.output(print(summary(g)))")) + "\n"
    name, _, kw = _spec(data)
    names = {"data_name": name, "weights_name": kw.get("weights"), "offset_name": kw.get("offset")}
    assert str(at.summary(**names)) == theirs
    table = at.summary().coefficients
    assert list(table.columns) == list(R.r_eval("colnames(coef(summary(g)))"))
    coefs = table.to_numpy()
    _close(coefs[:, 0], R, "coef(summary(g))[, 1]")
    _close(coefs[:, 1:3], R, "coef(summary(g))[, 2:3]", rtol=HESS_RTOL if k else RTOL)
    # p = 2 pnorm(-|z|): its relative error is ~z^2 times z's (z ~ 7 here)
    _close(coefs[:, 3], R, "coef(summary(g))[, 4]", rtol=100 * HESS_RTOL if k else RTOL)
    ours = glmer(formula, _data(R, name), f, nAGQ=k, **kw)
    assert isinstance(ours, GlmerFit)
    if data in OWN_FIT_ELSEWHERE:
        # a stage 2 started elsewhere can stop up to FtolAbs = 1e-5 away in theta, which shows in the 4th
        # digit of a z value (none now: stage 1 is minqa's bobyqa, as lme4's)
        assert ours.fval == pytest.approx(at.fval, rel=1e-10, abs=0)
        np.testing.assert_allclose(ours.theta, at.theta, rtol=0, atol=1e-4)
        return
    assert str(ours.summary(**names)) == theirs
    printed = "\n".join(R.r_eval("capture.output(print(g))")) + "\n"  # print.merMod: AIC etc. to 4 decimals
    assert at.print_text(**names) == printed
    assert ours.print_text(**names) == printed


def test_predict_newdata_as_lme4(R) -> None:
    """New rows: known and new herds (allow.new.levels), an NA herd; link and response;
    re.form NA; our own fit within the optimizer's tolerance (1e-7 relative, measured ~1e-10)."""
    fit = fit_at_lme4(R, CBPP_B, "binomial", fam.binomial(), "cbpp", 1)
    R.r_eval("nd <- data.frame(herd = factor(c('1', '3', '99', NA, '2'), levels = c(levels(cbpp$herd), '99')), "
             "period = factor(c('1', '4', '2', '3', '2')), incidence = 0, size = 1)")
    nd = pd.DataFrame({"herd": ["1", "3", "99", None, "2"], "period": ["1", "4", "2", "3", "2"],
                       "incidence": 0.0, "size": 1.0})
    for typ in ("link", "response"):
        _close(fit.predict(nd, type=typ, allow_new_levels=True), R,
               f"predict(g, newdata = nd, type = '{typ}', allow.new.levels = TRUE)")
        _close(fit.predict(nd, re_form="NA", type=typ), R, f"predict(g, newdata = nd, re.form = NA, type = '{typ}')")
    msg = str(R.r_eval("tryCatch(predict(g, newdata = nd[1:3, ]), error = function(e) conditionMessage(e))")[0])
    with pytest.raises(DataError, match=f"^{msg}$"):
        fit.predict(nd.iloc[:3])
    with pytest.raises(DataError, match="should be one of"):
        fit.predict(type="probability")
    ours = glmer(CBPP_B, p.load_dataset("cbpp"), "binomial")
    assert isinstance(ours, GlmerFit)
    np.testing.assert_allclose(ours.predict(nd.iloc[:2], type="response"),
                               _num(R, "predict(g, newdata = nd[1:2, ], type = 'response')"), rtol=1e-7, atol=0)


def test_residuals_and_weights_refusals_as_lme4(R) -> None:
    fit = fit_at_lme4(R, CBPP_B, "binomial", fam.binomial(), "cbpp", 1)
    msg = str(R.r_eval("tryCatch(residuals(g, 'partial'), error = function(e) conditionMessage(e))")[0])
    with pytest.raises(DataError, match=f"^{msg}$"):
        fit.residuals("partial")
    with pytest.raises(DataError, match="should be one of"):
        fit.residuals("studentized")
    with pytest.raises(DataError, match="should be one of"):
        fit.weights("prior2")


@pytest.mark.parametrize("k", [1, 0, 3])
def test_singular_fit_message_and_summary_as_lme4(R, k: int) -> None:
    """A singular fit (theta at its bound): lme4's message at fit time and the ``.prt.warn`` lines of the
    summary (``optimizer (...) convergence code: 0 (OK)``, the message, a blank line)."""
    from pyreterms.errors import LmeMessage

    d = _data(R, "cbpp")
    R.r_eval(f"g <- suppressMessages(glmer(incidence ~ period + (1 | period), cbpp, poisson, nAGQ = {k}))")
    msgs = list(R.r_eval("g@optinfo$conv$lme4$messages"))
    assert msgs == ["boundary (singular) fit: see help('isSingular')"]
    with pytest.warns(LmeMessage) as rec:
        fit = glmer("incidence ~ period + (1 | period)", d, "poisson", nAGQ=k)
    assert isinstance(fit, GlmerFit)
    assert [str(w.message) for w in rec if w.category is LmeMessage] == msgs
    assert fit.theta.tolist() == [0.0] == _num(R, "getME(g, 'theta')").tolist()
    assert fit.isSingular() and bool(R.r_eval("isSingular(g)")[0])
    theirs = "\n".join(R.r_eval("capture.output(print(summary(g)))")) + "\n"
    assert str(fit.summary(data_name="cbpp")) == theirs
    assert fit.print_text(data_name="cbpp") == "\n".join(R.r_eval("capture.output(print(g))")) + "\n"


def test_two_terms_at_lme4_parameters(R) -> None:
    """Two grouping factors (grouseticks BROOD and LOCATION): ranef with condVar, VarCorr, fitted,
    residuals and predict to 1e-10 relative (measured <= 2e-14; lme4's CHOLMOD permutes L here, which
    changes the rounding, not the values)."""
    fit = fit_at_lme4(R, "TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION)", "poisson", fam.poisson(), "grouseticks", 1)
    assert list(fit.ranef()) == list(R.r_eval("names(ranef(g))"))
    for gname, cr in fit.ranef(condVar=True).items():
        _close(cr.modes.iloc[:, 0], R, f"ranef(g)${gname}[[1]]")
        _close(cr.postVar_R(), R, f"attr(ranef(g, condVar = TRUE)${gname}, 'postVar')")
    _close(fit.VarCorr_df()["vcov"], R, "as.data.frame(VarCorr(g))$vcov")
    _close(fit.fitted(), R, "fitted(g)")
    _close(fit.residuals("pearson"), R, "residuals(g, 'pearson')")
    _close(fit.predict(re_form="~(1 | LOCATION)"), R, "predict(g, re.form = ~(1 | LOCATION))")
    assert fit.deviance() == pytest.approx(float(R.r_eval("deviance(g)")[0]), rel=RTOL, abs=0)


@pytest.mark.parametrize("formula", [
    "TICKS ~ YEAR + (1 | BROOD) + (0 + HEIGHT | LOCATION)",  # a random-only name on one factor of two
    "TICKS ~ YEAR + (1 | BROOD) + (1 | BROOD)",  # a duplicated name on one factor
])
def test_ranef_and_coef_as_lme4(R, formula: str) -> None:
    """``ranef``/``coef`` frames: names, levels and values as lme4's (R's ``coef.merMod`` fills random-only
    names over all factors with 0 and adds the first column of a duplicated name once per column)."""
    fit = fit_at_lme4(R, formula, "poisson", fam.poisson(), "grouseticks", 1)
    for kind in ("ranef", "coef"):
        ours = getattr(fit, kind)()
        assert list(ours) == list(R.r_eval(f"names({kind}(g))"))
        for gname, df in ours.items():
            assert list(df.columns) == list(R.r_eval(f"colnames({kind}(g)${gname})")), (kind, gname)
            assert list(df.index) == list(R.r_eval(f"rownames({kind}(g)${gname})")), (kind, gname)
            _close(df.to_numpy(), R, f"as.matrix({kind}(g)${gname})")


@pytest.mark.parametrize("order", ["cov.last", "lower.tri"])
def test_varcorr_df_orders_as_lme4(R, order: str) -> None:
    """``as.data.frame(VarCorr(fit), order = )`` for a correlated 2 x 2 term beside a scalar one."""
    fit = fit_at_lme4(R, "cbind(incidence, size - incidence) ~ period + (1 + size | herd) + (1 | period)",
                       "binomial", fam.binomial(), "cbpp", 1)
    ours = fit.VarCorr_df(order=order)
    theirs = f"as.data.frame(VarCorr(g), order = '{order}')"
    for col in ("grp", "var1", "var2"):
        assert ["<NA>" if pd.isna(v) else str(v) for v in ours[col]] == \
            list(R.r_eval(f"{{x <- as.character({theirs}${col}); ifelse(is.na(x), '<NA>', x)}}")), col
    _close(ours["vcov"], R, f"{theirs}$vcov")
    _close(ours["sdcor"], R, f"{theirs}$sdcor")


def test_calc_derivs_false_as_lme4(R) -> None:
    """``glmerControl(calc.derivs = FALSE)``: no Hessian, so ``vcov`` is ``unsc()`` (within the optimizer's
    tolerance of lme4's: 1e-6 relative, measured ~1e-9), no convergence check, the same printed summary."""
    d = _data(R, "cbpp")
    R.r_eval(f"g <- glmer({CBPP_B}, cbpp, binomial, control = glmerControl(calc.derivs = FALSE))")
    assert R.r_eval("is.null(g@optinfo$derivs)")[0]
    fit = glmer(CBPP_B, d, "binomial", control={"calc.derivs": False})
    assert isinstance(fit, GlmerFit) and fit.hessian is None
    _close(fit.vcov(), R, "as.matrix(vcov(g))", rtol=1e-6)
    text = str(fit.summary(data_name="cbpp", control_name="glmerControl(calc.derivs = FALSE)"))
    assert text == "\n".join(R.r_eval("capture.output(print(summary(g)))")) + "\n"


def test_na_exclude_pads_as_lme4(R) -> None:
    """``na.action = na.exclude``: fitted, residuals and predict come back with NA at the dropped rows,
    named as lme4 names them; values at lme4's parameters to 1e-10 relative."""
    from parity.r.frame import r_dataframe_to_pandas

    d = r_dataframe_to_pandas(R.r_eval("cb <- lme4::cbpp; cb$incidence[3] <- NA; cb$period[10] <- NA; cb"))
    form = "incidence ~ period + (1 | herd)"
    R.r_eval(f"g <- glmer({form}, cb, poisson, na.action = na.exclude); "
             f"f <- glmer({form}, cb, poisson, na.action = na.exclude, devFunOnly = TRUE)")
    glf = glformula(form, d, "poisson", na_action="na.exclude")
    assert isinstance(glf, GLFormula)
    fit = glmer_at(glf, _num(R, "g@optinfo$val"), 1, lp0=_num(R, "environment(f)$lp0"))
    for ours, expr in ((fit.fitted(), "fitted(g)"), (fit.residuals(), "residuals(g)"),
                       (fit.residuals("pearson", scaled=True), "residuals(g, 'pearson', scaled = TRUE)"),
                       (fit.predict(), "predict(g)"), (fit.predict(re_form="NA", type="response"),
                                                        "predict(g, re.form = NA, type = 'response')")):
        theirs = _num(R, expr)
        assert list(ours.index) == list(R.r_eval(f"names({expr})")), expr
        np.testing.assert_array_equal(np.isnan(ours.to_numpy()), np.isnan(theirs))
        ok = ~np.isnan(theirs)
        np.testing.assert_allclose(ours.to_numpy()[ok], theirs[ok], rtol=RTOL, atol=0, err_msg=expr)


def test_bad_input_refused_in_one_line(R) -> None:
    """Wrong-sized parameters, a non-frame newdata, unknown names: typed one-line errors, no numpy traceback."""
    glf = glformula("incidence ~ period + (1 | herd)", _data(R, "cbpp"), "poisson")
    assert isinstance(glf, GLFormula)
    with pytest.raises(DataError, match="^glmer_at: pars must hold 5 numbers"):
        glmer_at(glf, [1.0])
    with pytest.raises(DataError, match="^glmer_at: lp0 must hold one number per observation"):
        glmer_at(glf, [1.0, 0, 0, 0, 0], lp0=[1.0, 2.0])
    fit = fit_at_lme4(R, "incidence ~ period + (1 | herd)", "poisson", fam.poisson(), "cbpp", 0)
    with pytest.raises(DataError, match="^newdata must be a pandas DataFrame"):
        fit.predict(newdata=[1, 2])  # type: ignore[arg-type]
    with pytest.raises(DataError, match="^nAGQ must be a non-negative integer"):
        glmer("incidence ~ period + (1 | herd)", _data(R, "cbpp"), "poisson", nAGQ=-1)
    with pytest.raises(DataError, match="^'use.hessian'=TRUE specified, but Hessian is unavailable$"):
        fit.vcov(use_hessian=True)  # nAGQ = 0: no stage 2, no Hessian (lme4's message)
