"""The port of minqa 1.2.5's BOBYQA (pyreterms.lmm.bobyqa_minqa) against live ``minqa::bobyqa``: on test
functions and on lme4's own deviance functions, R records every point its objective is called with (the
first ``fn(par)``, each Fortran evaluation, the final ``fn(par)``), and the port must call its objective
with the same points in the same order, bit for bit, and return R's ``par``, ``fval``, ``feval``, ``ierr``
and ``msg``.  Both sides evaluate the *same R function* (the port calls it through rpy2), so the objective
values are identical and any difference is the optimizer's.  Then lmer with ``optimizer = "bobyqa"`` on
pyreterms' own deviance: lme4's evaluation counts and optimum."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers.optimizer_models import IDS, MODELS

import pyreterms as P
from pyreterms.errors import LmeWarning
from pyreterms.lmm.bobyqa_minqa import bobyqa

pytestmark = pytest.mark.r

REC = """
function(fn, par, lower = -Inf, upper = Inf, control = list()) {
  X <- list(); f2 <- function(x) { X[[length(X) + 1L]] <<- as.double(x); fn(x) }
  w <- character(0)
  r <- withCallingHandlers(minqa::bobyqa(par, f2, lower, upper, control),
                           warning = function(c) { w <<- c(w, conditionMessage(c)); invokeRestart("muffleWarning") })
  list(X = do.call(rbind, X), par = r$par, fval = r$fval, feval = r$feval, ierr = r$ierr, msg = r$msg, warn = w)
}
"""

# name: (R objective, par, lower, upper, control)
FUNCTIONS = {
    "n1-quadratic-lower0": ("function(x) (x - 0.3)^2 + 1", [1.0], [0.0], None, {}),
    "n2-quadratic": ("function(x) (x[1] - 1)^2 + (x[2] - 2)^2 + x[1] * x[2]", [0.5, 0.5], None, None, {}),
    "n2-rosenbrock": ("function(x) 100 * (x[2] - x[1]^2)^2 + (1 - x[1])^2", [-1.2, 1.0], None, None, {}),
    "n2-start-on-lower-bound": ("function(x) (x[1] - 0.2)^2 + 3 * (x[2] - 1)^2 + x[1] * x[2]", [0.0, 0.5],
                                [0.0, 0.0], None, {}),
    "n3-lower-bound-active": ("function(x) sum((x - c(-1, 2, 0.5))^2 * c(1, 3, 10))", [1.0, 1.0, 1.0],
                              [0.0, 0.0, 0.0], None, {}),
    "n3-npt7-unbounded-maxfun": ("function(x) sum((x - c(1, 2, 3))^2) + prod(x)", [0.5, 0.5, 0.5], None, None,
                                 {"npt": 7, "maxfun": 400}),
    "n3-infinite-region": ("function(x) if (x[1] > 1.3) Inf else sum((x - c(1.5, -1, 2))^2)", [1.0, 0.5, 0.5],
                           None, None, {}),
    "n4-rosenbrock-box-upper-active": ("function(x) sum(100 * (x[-1] - x[-4]^2)^2 + (1 - x[-4])^2)",
                                       [0.5, 0.5, 0.5, 0.5], [0, 0, 0, 0], [2, 2, 2, 0.8], {}),
    "n5-maxfun-reached": ("function(x) sum((1:5) * (x - (1:5)/3)^2) + x[1] * x[5]", [1.0] * 5, None, None,
                          {"maxfun": 30}),
    "n6-quartic-lower0": ("function(x) sum((x - 1)^4) + sum(x^2)", [2.0, 0.5, 1.0, 3.0, 0.1, 1.5], [0.0] * 6, None,
                          {}),
    "n2-narrow-box-rhobeg": ("function(x) (x[1] - 0.05)^2 + (x[2] - 1)^2", [0.1, 1.0], [0.0, 0.0], [0.2, 3.0],
                             {}),
}


def _r_run(R, fn_code: str, par, lower, upper, control) -> dict:
    import rpy2.robjects as ro

    rec = R.r_eval(REC)
    lo = -np.inf if lower is None else ro.FloatVector(lower)
    up = np.inf if upper is None else ro.FloatVector(upper)
    r = rec(R.r_eval(fn_code) if isinstance(fn_code, str) else fn_code, ro.FloatVector(par), lo, up,
            ro.ListVector(control))
    return {"X": np.array(r.rx2("X"), dtype=np.float64), "par": np.array(r.rx2("par"), dtype=np.float64),
            "fval": float(r.rx2("fval")[0]), "feval": int(r.rx2("feval")[0]), "ierr": int(r.rx2("ierr")[0]),
            "msg": str(r.rx2("msg")[0]), "warn": list(r.rx2("warn"))}


def _py_run(R, rfun, par, lower, upper, control) -> tuple[dict, np.ndarray, list[str]]:
    import rpy2.robjects as ro

    pts: list[np.ndarray] = []

    def fn(x: np.ndarray) -> float:
        pts.append(np.array(x, dtype=np.float64))
        return float(np.array(rfun(ro.FloatVector(x)))[0])

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = bobyqa(fn, np.array(par, dtype=np.float64), -np.inf if lower is None else np.array(lower),
                     np.inf if upper is None else np.array(upper), control)
    return res, np.array(pts), [str(w.message) for w in caught if issubclass(w.category, LmeWarning)]


def _assert_same_path(r: dict, res: dict, pts: np.ndarray, warns: list[str]) -> int:
    """Same points (bitwise), same result; returns the number of points."""
    assert pts.shape == r["X"].shape, (pts.shape, r["X"].shape)
    same = np.all(pts == r["X"], axis=1)
    assert same.all(), f"first differing evaluation {int(np.argmin(same))} of {len(same)}"
    assert res["feval"] == r["feval"] == len(pts) - 2
    np.testing.assert_array_equal(res["par"], r["par"])
    assert res["fval"] == r["fval"]
    assert (res["ierr"], res["msg"]) == (r["ierr"], r["msg"])
    assert warns == r["warn"]
    return len(pts)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_same_points_as_minqa_on_test_functions(R, name):
    code, par, lower, upper, control = FUNCTIONS[name]
    r = _r_run(R, code, par, lower, upper, control)
    res, pts, warns = _py_run(R, R.r_eval(code), par, lower, upper, control)
    n_points = _assert_same_path(r, res, pts, warns)
    assert n_points > len(par) + 3  # the optimizer ran beyond its initial interpolation set


def test_the_cases_reach_each_exit(R):
    """The table covers minqa's exits and warnings, as R reports them."""
    seen = {}
    for name, (code, par, lower, upper, control) in FUNCTIONS.items():
        r = _r_run(R, code, par, lower, upper, control)
        seen[name] = (r["ierr"], r["warn"])
    assert seen["n5-maxfun-reached"] == (1, ["maxfun < 10 * length(par)^2 is not recommended."])
    assert seen["n3-npt7-unbounded-maxfun"][0] == 1
    assert seen["n2-narrow-box-rhobeg"][1] == ["All upper - lower must be >= 2*rhobeg. Changing rhobeg"]
    assert seen["n2-quadratic"] == (0, [])


LME4_DEVFUNS = {
    "sleepstudy-REML": 'lmer(Reaction ~ Days + (Days | Subject), sleepstudy, devFunOnly = TRUE)',
    "sleepstudy-ML": 'lmer(Reaction ~ Days + (Days | Subject), sleepstudy, REML = FALSE, devFunOnly = TRUE)',
    "Penicillin": 'lmer(diameter ~ 1 + (1 | plate) + (1 | sample), Penicillin, devFunOnly = TRUE)',
    "Pastes": 'lmer(strength ~ 1 + (1 | batch/cask), Pastes, devFunOnly = TRUE)',
    "cbpp-nAGQ0": ('glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial, nAGQ = 0, '
                   'devFunOnly = TRUE)'),
    "grouseticks-nAGQ0": ('glmer(TICKS ~ YEAR + (1 | BROOD) + (1 | LOCATION), grouseticks, poisson, nAGQ = 0, '
                          'devFunOnly = TRUE)'),
}


@pytest.mark.parametrize("name", list(LME4_DEVFUNS))
def test_same_points_as_minqa_on_lme4_devfuns(R, name):
    """lme4's own deviance functions, optimized as optwrap runs bobyqa (start theta0, lower bounds, upper
    Inf, default control). Each side gets its own fresh devfun (a glmer devfun keeps PIRLS state)."""
    R.r_eval("suppressMessages(library(lme4))")
    d_r = R.r_eval(f"suppressWarnings({LME4_DEVFUNS[name]})")
    d_py = R.r_eval(f"suppressWarnings({LME4_DEVFUNS[name]})")
    env = R.r_eval("environment")(d_r)
    theta0 = np.array(R.r_eval("function(e) e$pp$theta")(env), dtype=np.float64)
    lower = list(np.array(R.r_eval("function(e) e$lower")(env), dtype=np.float64))
    r = _r_run(R, d_r, list(theta0), lower, None, {})
    res, pts, warns = _py_run(R, d_py, list(theta0), lower, None, {})
    n_points = _assert_same_path(r, res, pts, warns)
    assert n_points > len(theta0) + 3




@pytest.mark.parametrize("formula,data,reml", MODELS, ids=IDS)
def test_lmer_bobyqa_reaches_lme4s_optimum(R, formula, data, reml):
    """lmer(optimizer = "bobyqa") on pyreterms' own deviance (equal to lme4's to ~1e-15 relative, not bit for
    bit, so the two paths may part in their last steps): the criterion to 1e-11 relative, theta to 1e-6
    absolute (measured: 2.2e-7 on sleepstudy ML, <= 1.4e-7 elsewhere), evaluation counts within 2 of lme4's
    (measured: equal on 5 of the 7 models, 62 vs 64 and 63 vs 61 on the others)."""
    from test_lmer_arguments import _put, _r_fit

    d = P.load_dataset(data)
    _put(R, "d", d)
    r = _r_fit(R, formula, reml, 'lmerControl(optimizer = "bobyqa")')
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = P.lmer(formula, d, REML=reml, control=P.lmerControl(optimizer="bobyqa"))
    assert abs(fit.crit - r[-1]) <= 1e-11 * abs(r[-1])
    np.testing.assert_allclose(fit.theta, r[1:-1], rtol=0, atol=1e-6)
    assert abs(fit.opt.feval - int(r[0])) <= 2
    assert fit.opt.message == "Normal exit from bobyqa"


def test_lmer_bobyqa_maxfun_warnings_as_lme4(R):
    """optCtrl maxfun = 20: minqa's warning, optwrap's "convergence code 1 from bobyqa: <msg>" and checkConv's
    message, in lme4's order and words; optinfo's code, message and count (theta after 20 evaluations
    measured equal to ~1e-10: the deviances differ in their last bits)."""
    r = list(R.r_eval('''local({w <- character(0); m <- withCallingHandlers(lmer(Reaction ~ Days + (Days | Subject),
      sleepstudy, control = lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 20))),
      warning = function(c) {w <<- c(w, conditionMessage(c)); invokeRestart("muffleWarning")})
      c(w, m@optinfo$conv$opt, m@optinfo$message, m@optinfo$feval, unlist(m@optinfo$warnings),
        format(getME(m, "theta"), digits = 17))})'''))
    d = P.load_dataset("sleepstudy")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = P.lmer("Reaction ~ Days + (Days | Subject)", d,
                     control=P.lmerControl(optimizer="bobyqa", optCtrl={"maxfun": 20}))
    assert [str(w.message) for w in caught] == r[:3]
    assert (str(fit.opt.conv), fit.opt.message, str(fit.opt.feval)) == tuple(r[3:6])
    assert r[6] == "maxfun < 10 * length(par)^2 is not recommended."
    np.testing.assert_allclose(fit.theta, [float(t) for t in r[7:]], rtol=1e-8)
