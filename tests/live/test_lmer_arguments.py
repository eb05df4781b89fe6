"""Issue 13: lmer's whole argument surface, each argument against live lme4 1.1-31.

control (every optimizer, optCtrl, the lFormula check levels), start, verbose, subset, na.action,
'.' in formulas, devFunOnly; bad values get lme4's message (compared with R's text live)."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from helpers.optimizer_models import IDS, MODELS

import pyreterms as P
from parity.compare.tolerances import OPTIMUM
from pyreterms.errors import DataError, LmeCheckError, LmeMessage, LmeWarning, PyretermsError
from pyreterms.lmm.neldermead import nelder_mead

pytestmark = pytest.mark.r



def _put(R, name: str, df: pd.DataFrame) -> None:
    import rpy2.robjects as ro

    from parity.r.convert import dataframe_to_r

    with R.rlock():
        ro.globalenv[name] = dataframe_to_r(df)


def _r_fit(R, formula: str, reml: bool, control: str, extra: str = "") -> np.ndarray:
    """c(feval, theta, criterion) of lme4's fit on the data ``d`` (R's messages/warnings muffled)."""
    crit = "REML" if reml else "dev"
    code = (f"local({{m <- suppressWarnings(suppressMessages(lmer({formula}, d, REML = {str(reml).upper()}, "
            f"control = {control}{extra}))); c(m@optinfo$feval, getME(m, 'theta'), m@devcomp$cmp[['{crit}']])}})")
    return np.array(R.r_eval(code), dtype=np.float64)


def _r_error(R, code: str) -> str:
    """lme4's error message for ``code`` (R: conditionMessage of the error)."""
    return str(R.r_eval(f"tryCatch({{{code}; 'NO ERROR'}}, error = function(e) conditionMessage(e))")[0])


def _fit(formula: str, d: pd.DataFrame, reml: bool, **kw: object) -> P.lmm.fit.LmerFit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return P.lmer(formula, d, REML=reml, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ optimizers
@pytest.mark.parametrize("formula,data,reml", MODELS, ids=IDS)
def test_nelder_mead_same_path_as_lme4(R, formula, data, reml):
    """lme4's Nelder_Mead ported exactly: the same number of evaluations and the same theta."""
    d = P.load_dataset(data)
    _put(R, "d", d)
    r = _r_fit(R, formula, reml, 'lmerControl(optimizer = "Nelder_Mead")')
    fit = _fit(formula, d, reml, control=P.lmerControl(optimizer="Nelder_Mead"))
    assert fit.opt.feval == int(r[0])
    np.testing.assert_allclose(fit.theta, r[1:-1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fit.crit, r[-1], rtol=1e-12)


@pytest.mark.parametrize("algorithm", ["NLOPT_LN_BOBYQA", "NLOPT_LN_NELDERMEAD", "NLOPT_LN_SBPLX"])
@pytest.mark.parametrize("formula,data,reml", MODELS, ids=IDS)
def test_nloptwrap_algorithms(R, algorithm, formula, data, reml):
    """nloptwrap with optCtrl = list(algorithm = ...): NLopt is the same library on both sides.  The
    simplex methods take the same decisions (same evaluations, same theta); BOBYQA's quadratic models
    amplify last-bit deviance differences, so its theta is judged by parity's theta rule: within
    1e-6, else lme4's own devfun at our theta within 1e-8 relative of lme4's optimum."""
    d = P.load_dataset(data)
    _put(R, "d", d)
    r = _r_fit(R, formula, reml, f'lmerControl(optCtrl = list(algorithm = "{algorithm}"))')
    fit = _fit(formula, d, reml, control=P.lmerControl(optCtrl={"algorithm": algorithm}))
    if algorithm != "NLOPT_LN_BOBYQA":
        assert fit.opt.feval == int(r[0])
        np.testing.assert_allclose(fit.theta, r[1:-1], rtol=1e-10, atol=1e-12)
        return
    if np.all(np.abs(fit.theta - r[1:-1]) <= OPTIMUM.atol + OPTIMUM.rtol * np.abs(r[1:-1])):
        return
    from rpy2.robjects import FloatVector

    R.r_eval(f"dfun <- lmer({formula}, d, REML = {str(reml).upper()}, devFunOnly = TRUE)")
    at_ours = float(R.r_eval("dfun")(FloatVector(fit.theta))[0])
    assert abs(at_ours - r[-1]) <= 1e-8 * abs(r[-1]), (fit.theta, r[1:-1], at_ours, r[-1])


def test_nloptwrap_newuoa_one_parameter_is_invalid_args(R):
    """NEWUOA needs >= 2 parameters: nloptr returns status -2 and lme4 warns with it (no evaluations)."""
    d = P.load_dataset("Dyestuff")
    _put(R, "d", d)
    r = _r_fit(R, "Yield ~ 1 + (1 | Batch)", True,
               'lmerControl(optCtrl = list(algorithm = "NLOPT_LN_NEWUOA_BOUND"))')
    with pytest.warns(LmeWarning, match="convergence code -2 from nloptwrap: NLOPT_INVALID_ARGS"):
        fit = P.lmer("Yield ~ 1 + (1 | Batch)", d,
                     control=P.lmerControl(optCtrl={"algorithm": "NLOPT_LN_NEWUOA_BOUND"}))
    assert fit.opt.feval == int(r[0]) == 0
    np.testing.assert_allclose(fit.theta, r[1:-1], rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["nlminbwrap"])
@pytest.mark.parametrize("formula,data,reml", MODELS, ids=IDS)
def test_nlminb_stand_in_reaches_lme4s_optimum(R, optimizer, formula, data, reml):
    """No Python port of PORT's nlminb: the stand-in (README "Known differences") must reach lme4's
    optimum: criterion to 1e-8 relative (parity's rule for the criterion at the optimum; measured
    <= 2e-14), theta to 1e-4 (measured <= 1.1e-5). (bobyqa, now minqa's own: test_bobyqa_minqa.py.)"""
    d = P.load_dataset(data)
    _put(R, "d", d)
    r = _r_fit(R, formula, reml, f'lmerControl(optimizer = "{optimizer}")')
    fit = _fit(formula, d, reml, control=P.lmerControl(optimizer=optimizer))
    assert abs(fit.crit - r[-1]) <= 1e-8 * abs(r[-1])
    np.testing.assert_allclose(fit.theta, r[1:-1], atol=1e-4)


def test_optimizer_null_evaluates_at_start(R):
    d = P.load_dataset("sleepstudy")
    _put(R, "d", d)
    for start in ("NULL", "list(theta = c(0.5, 0.1, 0.3))"):
        r = _r_fit(R, "Reaction ~ Days + (Days | Subject)", True, "lmerControl(optimizer = NULL)",
                   f", start = {start}")
        st = None if start == "NULL" else {"theta": [0.5, 0.1, 0.3]}
        fit = _fit("Reaction ~ Days + (Days | Subject)", d, True, control=P.lmerControl(optimizer=None), start=st)
        np.testing.assert_array_equal(fit.theta, r[1:-1])
        np.testing.assert_allclose(fit.crit, r[-1], rtol=1e-12)
        assert fit.opt.conv == 1000 and fit.opt.message == "no optimization"


def test_user_optimizer_callable(R):
    """A user function with lme4's optimizer contract (here: lme4's Nelder_Mead with its own xst)."""
    d = P.load_dataset("sleepstudy")
    _put(R, "d", d)
    R.r_eval("myopt <- function(fn, par, lower, upper, control) { r <- lme4::Nelder_Mead(fn, par, lower, upper, "
             "control = list(xst = rep(0.05, length(par)))); list(par = r$par, fval = r$fval, conv = 0, "
             "message = 'mine', feval = r$feval) }")
    r = _r_fit(R, "Reaction ~ Days + (Days | Subject)", True, "lmerControl(optimizer = myopt)")

    def myopt(fn, par, lower, upper, control):
        res = nelder_mead(fn, par, lower, upper, {"xst": np.full(par.size, 0.05)})
        return {"par": res["par"], "fval": res["fval"], "conv": 0, "message": "mine", "feval": res["feval"]}

    fit = _fit("Reaction ~ Days + (Days | Subject)", d, True, control=P.lmerControl(optimizer=myopt))
    assert fit.opt.feval == int(r[0])
    np.testing.assert_allclose(fit.theta, r[1:-1], rtol=1e-10)


def test_bad_optimizer_messages_are_lme4s(R):
    d = P.load_dataset("sleepstudy")
    _put(R, "d", d)
    for r_val, py_val in (('"foo"', "foo"), ("3", 3)):
        msg = _r_error(R, f"lmer(Reaction ~ Days + (1 | Subject), d, control = lmerControl(optimizer = {r_val}))")
        with pytest.raises(LmeCheckError) as e:
            P.lmer("Reaction ~ Days + (1 | Subject)", d, control=P.lmerControl(optimizer=py_val))
        assert str(e.value) == msg
    msg = _r_error(R, "lmer(Reaction ~ Days + (1 | Subject), d, control = lmerControl(optimizer = "
                      "function(fn, par) 1))")
    with pytest.raises(LmeCheckError) as e:
        P.lmer("Reaction ~ Days + (1 | Subject)", d, control=P.lmerControl(optimizer=lambda fn, par: 1))
    assert str(e.value) == msg
    msg = _r_error(R, 'lmer(Reaction ~ Days + (1 | Subject), d, control = lmerControl(optimizer = "none"))')
    with pytest.raises(LmeCheckError, match="deprecated use of optimizer=='none'") as e:
        P.lmerControl(optimizer="none")
    assert str(e.value) == msg
    msg = _r_error(R, "lmerControl(optCtrl = 3)")
    with pytest.raises(LmeCheckError) as e:
        P.lmerControl(optCtrl=3)
    assert str(e.value) == msg
    msg = _r_error(R, "lmer(Reaction ~ Days + (1 | Subject), d, control = 3)")
    with pytest.raises(LmeCheckError) as e:
        P.lmer("Reaction ~ Days + (1 | Subject)", d, control=3)  # type: ignore[arg-type]
    assert str(e.value) == msg


# ------------------------------------------------------------------ lmerControl
def test_lmercontrol_fields_and_defaults_are_lme4s(R):
    """Every field of lmerControl() with lme4's default (R: str(lmerControl()))."""
    r = R.r_eval("local({c <- lmerControl(); c(c$optimizer, c$restart_edge, c$boundary.tol, c$calc.derivs, "
                 "c$use.last.params, unlist(c$checkControl), c$checkConv$check.conv.grad$action, "
                 "c$checkConv$check.conv.grad$tol, c$checkConv$check.conv.singular$action, "
                 "c$checkConv$check.conv.singular$tol, c$checkConv$check.conv.hess$action, "
                 "c$checkConv$check.conv.hess$tol, length(c$optCtrl))})")
    r_names = list(R.r_eval("names(lmerControl()$checkControl)"))
    c = P.lmerControl()
    py_checks = [getattr(c.checks, nm.replace(".", "_")) for nm in r_names]
    py = [c.optimizer, str(c.restart_edge).upper(), repr(c.boundary_tol), str(c.calc_derivs).upper(),
          str(c.use_last_params).upper(), *py_checks, c.check_conv_grad[0], repr(c.check_conv_grad[1]),
          c.check_conv_singular[0], repr(c.check_conv_singular[1]), c.check_conv_hess[0],
          repr(c.check_conv_hess[1]), str(len(c.opt_ctrl))]
    assert _same_loose(list(r), py), (list(r), py)
    formals = set(R.r_eval("names(formals(lmerControl))")) - {"mod.type"}
    py_names = set(P.lmm.control._R_NAMES) | {f.replace("_", ".") for f in ("restart_edge",)} | set(r_names)
    missing = {nm for nm in formals if nm not in py_names and nm.replace(".", "_") not in
               {f.name for f in P.lmm.control.fields(P.LmerControl)}}
    assert not missing, missing


def _same_loose(r: list[str], py: list[object]) -> bool:
    for a, b in zip(r, py, strict=True):
        try:
            if float(a) != float(b):  # type: ignore[arg-type]
                return False
        except (TypeError, ValueError):
            if a != str(b):
                return False
    return True


def test_check_level_validation_messages(R):
    d = P.load_dataset("sleepstudy")
    _put(R, "d", d)
    msg = _r_error(R, 'lmer(Reaction ~ Days + (1 | Subject), d, control = lmerControl(check.nlev.gtr.1 = "bogus"))')
    with pytest.raises(LmeCheckError) as e:
        P.lmer("Reaction ~ Days + (1 | Subject)", d, control=P.lmerControl(**{"check.nlev.gtr.1": "bogus"}))
    assert str(e.value) == msg
    for cc in ("check.conv.grad", "check.conv.singular", "check.conv.hess"):
        msg = _r_error(R, f'lmer(Reaction ~ Days + (Days | Subject), d, control = lmerControl({cc} = "bogus"))')
        with pytest.raises(LmeCheckError) as e:
            _fit("Reaction ~ Days + (Days | Subject)", d, True, control=P.lmerControl(**{cc: "bogus"}))
        assert str(e.value) == msg
    msg = _r_error(R, 'lmerControl(check.rankX = "bogus")')
    with pytest.raises(LmeCheckError) as e:
        P.lmerControl(**{"check.rankX": "bogus"})
    assert str(e.value) == msg
    for r_arg, py_kw in (('check.response.not.const = "stop"', {"check.response.not.const": "stop"}),
                         ("bogus = 1", {"bogus": 1})):  # (check.response.not.const is glmerControl's only)
        msg = _r_error(R, f"lmerControl({r_arg})")
        with pytest.raises(LmeCheckError) as e:
            P.lmerControl(**py_kw)
        assert str(e.value) == msg
    # match.arg's partial matching
    assert P.lmerControl(check_rankX="silent").checks.check_rankX == str(
        R.r_eval('lmerControl(check.rankX = "silent")$checkControl$check.rankX')[0])


def _outcome(R, code: str) -> tuple[str, str]:
    """("error"|"warning"|"message"|"ok", text) of lme4's first condition."""
    out = R.r_eval(f"tryCatch({{{code}; c('ok', '')}}, error = function(e) c('error', conditionMessage(e)), "
                   "warning = function(w) c('warning', conditionMessage(w)), "
                   "message = function(m) c('message', sub('\\n$', '', conditionMessage(m))))")
    return str(out[0]), str(out[1])


def _py_outcome(fn) -> tuple[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            fn()
        except (LmeMessage, LmeWarning) as w:
            return ("message" if isinstance(w, LmeMessage) else "warning"), str(w)
        except PyretermsError as e:
            return "error", str(e)
    return "ok", ""


def _small_groups() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    g = np.repeat(["a", "b", "c"], 4)
    return pd.DataFrame({"y": rng.normal(size=12), "x": rng.normal(size=12), "g": g,
                         "one": ["z"] * 12, "big": rng.normal(size=12) * 1e5, "id": [f"i{k:02d}" for k in range(12)],
                         "x2": 0.0})


CHECKS = [
    ("y ~ x + (1 | one)", "check.nlev.gtr.1", ["stop", "warning", "ignore", "message"]),
    ("y ~ x + (1 | id)", "check.nobs.vs.nlev", ["stop", "warning", "ignore", "message"]),
    ("y ~ x + (1 | g)", "check.nlev.gtreq.5", ["stop", "warning", "ignore", "message"]),
    ("y ~ x + (x | g)", "check.nobs.vs.nRE", ["stop", "warning", "ignore"]),
    ("y ~ x + (1 | g) + (1 | id)", "check.nobs.vs.rankZ", ["stop", "warning", "ignore", "stopSmall"]),
    ("y ~ x + I(2 * x) + (1 | g)", "check.rankX", ["message+drop.cols", "silent.drop.cols", "warn+drop.cols",
                                                    "stop.deficient", "ignore"]),
    ("y ~ x + big + (1 | g)", "check.scaleX", ["warning", "stop", "silent.rescale", "message+rescale",
                                               "warn+rescale", "ignore"]),
]


@pytest.mark.parametrize("formula,check,levels", CHECKS, ids=[c[1] for c in CHECKS])
def test_lformula_check_levels_match_lme4(R, formula, check, levels):
    """Each lFormula check at each level: the same stop / warning / message / nothing, same text."""
    d = _small_groups()
    _put(R, "d", d)
    extra = {"check.nobs.vs.nlev": "ignore", "check.nobs.vs.nRE": "ignore"}
    for level in levels:
        ctl = {**{k: v for k, v in extra.items() if k != check}, check: level}
        r_ctl = ", ".join(f'{k} = "{v}"' for k, v in ctl.items())
        r = _outcome(R, f"lFormula({formula}, d, control = lmerControl({r_ctl}))")
        py = _py_outcome(lambda c=ctl: P.lformula(formula, d, control=P.lmerControl(**c)))
        assert py == r, (level, py, r)


# ------------------------------------------------------------------ data arguments
def _same_optimum(fit: object, r: np.ndarray, devfun: object) -> None:
    """The same model on both sides: pyreterms' deviance at lme4's theta is lme4's criterion (1e-12),
    and both optimizers stop at the same optimum (criterion to 1e-9 relative: nloptwrap's noise)."""
    np.testing.assert_allclose(devfun(r[1:-1]), r[-1], rtol=1e-12)  # type: ignore[operator]
    np.testing.assert_allclose(fit.crit, r[-1], rtol=1e-9)  # type: ignore[attr-defined]


def test_subset_matches_lme4(R):
    d = P.load_dataset("sleepstudy")
    d["z"] = np.where(d["Days"] > 3, 1.0, np.nan)
    _put(R, "d", d)
    for expr in ("Days > 2 & Reaction > 250", "z > 0", "Days %in% c(1, 3, 5)", "!(Days == 0)",
                 'Subject != "308"', 'Days >= 2 | Subject == "309"', "!(Days < 2 | Days > 7)",
                 "Subject %in% c(308, 309, 330)"):
        r = _r_fit(R, "Reaction ~ Days + (Days | Subject)", True, "lmerControl()", f", subset = {expr}")
        nobs = int(R.r_eval(f"nobs(lmer(Reaction ~ Days + (Days | Subject), d, subset = {expr}))")[0])
        fit = _fit("Reaction ~ Days + (Days | Subject)", d, True, subset=expr)
        assert fit.problem.n == nobs
        _same_optimum(fit, r, P.lmer("Reaction ~ Days + (Days | Subject)", d, subset=expr, devFunOnly=True))
        rn = list(R.r_eval(f"rownames(lFormula(Reaction ~ Days + (Days | Subject), d, subset = {expr})$fr)"))
        assert list(fit.lf.fr.rownames) == rn


def test_na_action_matches_lme4(R):
    d = P.load_dataset("sleepstudy")
    d.iloc[2, d.columns.get_loc("Reaction")] = np.nan
    _put(R, "d", d)
    msg = _r_error(R, "lmer(Reaction ~ Days + (1 | Subject), d, na.action = na.fail)")
    with pytest.raises(DataError) as e:
        P.lmer("Reaction ~ Days + (1 | Subject)", d, na_action="na.fail")
    assert str(e.value) == msg
    msg = _r_error(R, "lmer(Reaction ~ Days + (1 | Subject), d, na.action = na.pass)")
    with pytest.raises(LmeCheckError) as e:
        P.lmer("Reaction ~ Days + (1 | Subject)", d, **{"na.action": "na.pass"})
    assert str(e.value) == msg
    for act in ("na.omit", "na.exclude"):
        r = _r_fit(R, "Reaction ~ Days + (1 | Subject)", True, "lmerControl()", f", na.action = {act}")
        fit = _fit("Reaction ~ Days + (1 | Subject)", d, True, na_action=act)
        _same_optimum(fit, r, P.lmer("Reaction ~ Days + (1 | Subject)", d, na_action=act, devFunOnly=True))
        cls = str(R.r_eval(f"class(attr(lFormula(Reaction ~ Days + (1 | Subject), d, na.action = {act})$fr, "
                           "'na.action'))")[0])
        assert fit.lf.fr.na_action == cls
    # na.pass with complete data: a plain fit
    d2 = P.load_dataset("sleepstudy")
    _put(R, "d", d2)
    r = _r_fit(R, "Reaction ~ Days + (1 | Subject)", True, "lmerControl()", ", na.action = na.pass")
    _same_optimum(_fit("Reaction ~ Days + (1 | Subject)", d2, True, na_action="na.pass"), r,
                  P.lmer("Reaction ~ Days + (1 | Subject)", d2, na_action="na.pass", devFunOnly=True))


DOT_FORMULAS = [
    "Reaction ~ . + (1 | Subject)",
    "Reaction ~ . - Subject + (1 | Subject)",
    "Reaction ~ . - Subject - w + (Days | Subject)",
    "log(Reaction) ~ . - Subject + (1 | Subject)",
    "Reaction ~ .^2 - Subject + (1 | Subject)",
]


@pytest.mark.parametrize("formula", DOT_FORMULAS)
def test_dot_expands_as_terms_formula(R, formula):
    d = P.load_dataset("sleepstudy")
    rng = np.random.default_rng(1)
    d["w"] = np.abs(rng.normal(size=len(d)))
    d["ch"] = ["a", "b"] * (len(d) // 2)
    _put(R, "d", d)
    r_cols = list(R.r_eval(f"suppressMessages(colnames(lFormula({formula}, d)$X))"))
    r_fr = list(R.r_eval(f"names(lFormula({formula}, d)$fr)"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lf = P.lformula(formula, d)
    assert [c.strip("`") for c in lf.X.colnames] == [c.strip("`") for c in r_cols]
    assert list(lf.fr.names) == r_fr


def test_start_values_and_messages(R):
    d = P.load_dataset("sleepstudy")
    _put(R, "d", d)
    for r_start, py_start in (("c(1, 2)", [1.0, 2.0]), ("list(foo = 1)", {"foo": 1.0}), ('"a"', "a"),
                              ("list(theta = 1, beta = 2)", {"theta": 1.0, "beta": 2.0})):
        msg = _r_error(R, f"lmer(Reaction ~ Days + (1 | Subject), d, start = {r_start})")
        with pytest.raises(LmeCheckError) as e:
            P.lmer("Reaction ~ Days + (1 | Subject)", d, start=py_start)
        assert str(e.value) == msg
    for r_start, py_start in (("c(0.5, 0, 0.5)", [0.5, 0, 0.5]),
                              ("list(theta = c(2, 0.1, 0.2))", {"theta": [2, .1, .2]})):
        r = _r_fit(R, "Reaction ~ Days + (Days | Subject)", True, "lmerControl()", f", start = {r_start}")
        fit = _fit("Reaction ~ Days + (Days | Subject)", d, True, start=py_start)
        assert fit.opt.feval == int(r[0])
        np.testing.assert_allclose(fit.theta, r[1:-1], rtol=1e-6)


def test_dev_fun_only_equals_lme4s_devfun(R):
    d = P.load_dataset("sleepstudy")
    _put(R, "d", d)
    thetas = [[1.0, 0.0, 1.0], [0.9667, 0.0152, 0.2309], [0.2, -0.5, 3.0], [0.0, 0.0, 0.0]]
    for reml in (True, False):
        R.r_eval(f"df_ <- lmer(Reaction ~ Days + (Days | Subject), d, REML = {str(reml).upper()}, devFunOnly = TRUE)")
        f = P.lmer("Reaction ~ Days + (Days | Subject)", d, REML=reml, devFunOnly=True)
        for th in thetas:
            r = float(R.r_eval(f"df_(c({', '.join(map(repr, th))}))")[0])
            np.testing.assert_allclose(f(th), r, rtol=1e-10)


def test_verbose_prints_nlopt_iterations(R, capsys):
    d = P.load_dataset("Dyestuff")
    _put(R, "d", d)
    R.console_output()
    R.r_eval("invisible(lmer(Yield ~ 1 + (1 | Batch), d, verbose = 1))")
    r_lines = [ln for ln in R.console_output().splitlines() if ln.startswith("iteration:")]
    P.lmer("Yield ~ 1 + (1 | Batch)", d, verbose=1)
    py_lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("iteration:")]
    assert py_lines == r_lines


def test_weights_offset_contrasts_reml_together(R):
    """lmer's remaining arguments in one call: weights, offset, contrasts, REML = FALSE."""
    d = P.load_dataset("cake")
    rng = np.random.default_rng(3)
    d["w"] = rng.uniform(0.5, 2.0, len(d))
    d["o"] = rng.normal(0, 1, len(d))
    _put(R, "d", d)
    r = _r_fit(R, "angle ~ recipe + temperature + (1 | recipe:replicate)", False, "lmerControl()",
               ", weights = w, offset = o, contrasts = list(recipe = 'contr.sum')")
    kw = {"weights": "w", "offset": "o", "contrasts": {"recipe": "contr.sum"}}
    fit = _fit("angle ~ recipe + temperature + (1 | recipe:replicate)", d, False, **kw)
    dev = P.lmer("angle ~ recipe + temperature + (1 | recipe:replicate)", d, REML=False, dev_fun_only=True, **kw)
    _same_optimum(fit, r, dev)
    assert fit.lf.X.contrasts == (("recipe", "contr.sum"), ("temperature", "contr.poly"))


def test_verbose_prints_nelder_mead_progress(R, capsys):
    """verbose = 1 with Nelder_Mead: lme4's C++ prints the best point every 20 evaluations."""
    d = P.load_dataset("sleepstudy")
    _put(R, "d", d)
    R.console_output()
    R.r_eval('invisible(lmer(Reaction ~ Days + (Days | Subject), d, verbose = 1, '
             'control = lmerControl(optimizer = "Nelder_Mead")))')
    r_lines = [ln for ln in R.console_output().splitlines() if ln.startswith("(NM)")]
    _fit("Reaction ~ Days + (Days | Subject)", d, True, verbose=1, control=P.lmerControl(optimizer="Nelder_Mead"))
    py_lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("(NM)")]
    assert py_lines == r_lines and len(r_lines) >= 5


def test_check_formula_lhs_ignore_allows_a_one_sided_formula(R):
    """check.formula.LHS other than "stop": lFormula builds the design without a response (lme4 does);
    lmer then has no response to fit (lme4 fails obscurely, pyreterms says why)."""
    d = P.load_dataset("sleepstudy")
    _put(R, "d", d)
    lf_r = 'lFormula(~ Days + (Days | Subject), d, control = lmerControl(check.formula.LHS = "ignore"))'
    r_fr = list(R.r_eval(f"names({lf_r}$fr)"))
    r_x = np.array(R.r_eval(f"{lf_r}$X"))
    r_zt = np.array(R.r_eval(f"as.matrix({lf_r}$reTrms$Zt)"))
    lf = P.lformula("~ Days + (Days | Subject)", d, control=P.lmerControl(**{"check.formula.LHS": "ignore"}))
    assert list(lf.fr.names) == r_fr and lf.y is None
    np.testing.assert_array_equal(lf.X.X, r_x)
    np.testing.assert_array_equal(lf.reTrms.Zt.toarray(), r_zt)
    assert _r_error(R, "lFormula(~ Days + (1 | Subject), d)").startswith("!checkLHS")
    with pytest.raises(PyretermsError, match="no response"):
        P.lformula("~ Days + (1 | Subject)", d)
    with pytest.raises(DataError, match="no response"):
        P.lmer("~ Days + (1 | Subject)", d, control=P.lmerControl(check_formula_LHS="ignore"))


def test_check_conv_option_messages_are_lme4s(R):
    for r_val, py_val in (('list(action = "warning")', {"action": "warning"}), ("list(tol = 1)", {"tol": 1}),
                          ("3", 3), ('list(action = "warning", tol = -1)', {"action": "warning", "tol": -1})):
        msg = _r_error(R, f"lmerControl(check.conv.grad = {r_val})")
        with pytest.raises(LmeCheckError) as e:
            P.lmerControl(**{"check.conv.grad": py_val})
        assert str(e.value) == msg


@pytest.mark.parametrize("kw", [{"verbose": "a"}, {"control": {"optCtrl": {"maxeval": "a"}}},
                                {"control": {"optimizer": "Nelder_Mead", "optCtrl": {"FtolAbs": "x"}}},
                                {"start": [1, 2, 3, 4]}, {"subset": "Days >"}, {"na_action": "foo"},
                                {"control": {"optCtrl": {"algorithm": "NLOPT_GN_DIRECT"}}}])
def test_bad_arguments_are_one_line_typed_errors(kw):
    d = P.load_dataset("sleepstudy")
    with pytest.raises(PyretermsError) as e:
        _fit("Reaction ~ Days + (1 | Subject)", d, True, **kw)
    assert "\n" not in str(e.value)
