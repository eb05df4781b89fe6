"""glmer's whole calling surface against lme4 1.1-31: ``start``, ``devFunOnly``, ``verbose`` and every
``glmerControl`` argument, each R stop and warning with lme4's text (issue 18 items 1 and 3).

Each case runs the same arguments on both sides.  Refusals: the error message must be lme4's, and the
warnings before it too.  Fits: theta/fixef within 1e-4 and -2 logLik within 1e-7 relative (the GLMM
tolerances of ``test_glmm_arguments.py``: stage 1 is NLopt's BOBYQA where lme4 runs minqa's).
Deviance functions (``devFunOnly``) at given parameters: 1e-10 relative where both sides' PIRLS start
is deterministic (``nAGQ0initStep = FALSE`` and nAGQ = 0)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from pyreterms.errors import LmeWarning
from pyreterms.glmm.control import glmerControl
from pyreterms.glmm.fit import GlmerFit
from pyreterms.glmm.glmer import glmer
from pyreterms.lmm.control import lmerControl

pytestmark = pytest.mark.r

F = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
RUN = """pyt_run <- function(txt) {
  w <- character(); e <- NA_character_
  v <- tryCatch(withCallingHandlers(eval(parse(text = txt), globalenv()),
         warning = function(x) { w <<- c(w, conditionMessage(x)); invokeRestart("muffleWarning") },
         message = function(m) invokeRestart("muffleMessage")),
       error = function(x) { e <<- conditionMessage(x); NULL })
  th <- if (inherits(v, "merMod")) unname(getME(v, "theta")) else numeric(0)
  fe <- if (inherits(v, "merMod")) unname(fixef(v)) else numeric(0)
  ll <- if (inherits(v, "merMod")) -2 * as.numeric(logLik(v)) else NA_real_
  list(error = e, warnings = w, theta = th, fixef = fe, dev = ll)
}
suppressMessages(library(lme4)); cb <- cbpp; cb$one <- 1; cb$big <- cb$size * 1e6"""


@pytest.fixture(scope="module")
def cb(R):
    from parity.r.frame import r_dataframe_to_pandas

    R.r_eval(RUN)
    return r_dataframe_to_pandas(R.r_eval("cb"))


def _r(R, call: str) -> dict[str, Any]:
    res = R.r_eval(f"pyt_run({_rstr(call)})")
    out = dict(zip(res.names, res, strict=True))
    err = out["error"][0]
    return {"error": None if err is R.r_eval("NA_character_")[0] or str(err) == "NA" else str(err),
            "warnings": [str(w) for w in out["warnings"]], "theta": np.array(out["theta"]),
            "fixef": np.array(out["fixef"]), "dev": float(out["dev"][0])}


def _rstr(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _py(cb, formula: str = F, **kw: Any) -> tuple[Any, str | None, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value, err = glmer(formula, cb, "binomial", **kw), None
        except Exception as e:  # noqa: BLE001 - the message is what is compared
            value, err = None, str(e)
    return value, err, [str(w.message) for w in caught if issubclass(w.category, LmeWarning)]


REFUSED = [  # (R arguments, our keyword arguments[, formula])
    ("start = list(theta = 1, foo = 2, bar = 3)", {"start": {"theta": 1, "foo": 2, "bar": 3}}),
    ("nAGQ = 0, start = list(fixef = c(1, 1, 1, 1))", {"nAGQ": 0, "start": {"fixef": [1, 1, 1, 1]}}),
    ("start = c(1, 2)", {"start": [1.0, 2.0]}),
    ("start = list(theta = c(1, 2))", {"start": {"theta": [1.0, 2.0]}}),
    ("start = list(fixef = c(1, 2))", {"start": {"fixef": [1.0, 2.0]}}),
    ("start = list(theta = 'a')", {"start": {"theta": "a"}}),
    ("start = 'a'", {"start": "a"}),
    ("start = TRUE", {"start": True}),
    ("verbose = 'a'", {"verbose": "a"}),
    ("verbose = c(1, 2)", {"verbose": [1, 2]}),
    ("verbose = NULL", {"verbose": None}),
    ("nAGQ = 0, control = glmerControl(restart_edge = TRUE)", {"nAGQ": 0, "control": glmerControl(restart_edge=True)}),
    ("control = glmerControl(restart_edge = TRUE)", {"control": glmerControl(restart_edge=True)}),
    ("nAGQ = 0, control = glmerControl(nAGQ0initStep = FALSE)",
     {"nAGQ": 0, "control": glmerControl(nAGQ0initStep=False)}),
    ("control = 'a'", {"control": "a"}),
    ("control = glmerControl(check.response.not.const = 'bad')",
     {"control": {"check.response.not.const": "bad"}}),
    ("control = glmerControl(check.nobs.vs.nRE = 'stop')", {"control": {"check.nobs.vs.nRE": "stop"}},
     "cbind(incidence, size - incidence) ~ period + (period | herd)"),
    ("control = glmerControl(check.nlev.gtreq.5 = 'stop')", {"control": {"check.nlev.gtreq.5": "stop"}},
     "cbind(incidence, size - incidence) ~ 1 + (1 | period)"),
    ("control = glmerControl(check.scaleX = 'stop')", {"control": {"check.scaleX": "stop"}},
     "cbind(incidence, size - incidence) ~ big + (1 | herd)"),
    ("control = glmerControl(check.rankX = 'stop.deficient')", {"control": {"check.rankX": "stop.deficient"}},
     "cbind(incidence, size - incidence) ~ size + big + (1 | herd)"),
    ("control = glmerControl(check.nlev.gtr.1 = 'stop')", {"control": {"check.nlev.gtr.1": "stop"}},
     "cbind(incidence, size - incidence) ~ period + (1 | one)"),
    ("control = glmerControl(optimizer = 'foo')", {"control": {"optimizer": "foo"}}),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_refusals_as_lme4(R, cb, case) -> None:
    rargs, kw = case[0], case[1]
    formula = case[2] if len(case) > 2 else F
    r = _r(R, f"glmer({formula}, cb, binomial, {rargs})")
    _, err, warns = _py(cb, formula, **kw)
    assert r["error"] is not None, "lme4 accepted it"
    assert err == r["error"]
    assert warns == r["warnings"]


def test_glmercontrol_argument_errors_as_lme4(R, cb) -> None:
    for rargs, kw in (("foo = 1", {"foo": 1}), ("check.rankX = 'bad'", {"check.rankX": "bad"}),
                      ("check.conv.grad = list(action = 'warning', tol = -1)",
                       {"check.conv.grad": {"action": "warning", "tol": -1}}),
                      ("optCtrl = 3", {"optCtrl": 3})):
        r = _r(R, f"glmerControl({rargs})")
        with pytest.raises(Exception) as ei:
            glmerControl(**kw)
        assert str(ei.value) == r["error"], rargs


FITS = [  # (R arguments, our keyword arguments)
    ("start = 0.5", {"start": 0.5}),
    ("start = list(theta = 0.5)", {"start": {"theta": 0.5}}),
    ("start = list(fixef = c(-1.4, -1, -1.1, -1.6))", {"start": {"fixef": [-1.4, -1, -1.1, -1.6]}}),
    ("start = list(fixef = c(period2 = -1, period3 = -1.1, period4 = -1.6, '(Intercept)' = -1.4, foo = 3))",
     {"start": {"fixef": {"period2": -1, "period3": -1.1, "period4": -1.6, "(Intercept)": -1.4, "foo": 3}}}),
    ("start = list(theta = 0.5, fixef = c(-1.4, -1, -1.1, -1.6)), control = glmerControl(nAGQ0initStep = FALSE)",
     {"start": {"theta": 0.5, "fixef": [-1.4, -1, -1.1, -1.6]}, "control": glmerControl(nAGQ0initStep=False)}),
    ("verbose = TRUE", {"verbose": True}),
    ("verbose = '0'", {"verbose": "0"}),
    ("control = glmerControl(optimizer = 'nloptwrap')", {"control": glmerControl(optimizer="nloptwrap")}),
    ("control = glmerControl(optimizer = 'nlminbwrap')", {"control": glmerControl(optimizer="nlminbwrap")}),
    ("verbose = 1, control = glmerControl(optimizer = 'nlminbwrap')",
     {"verbose": 1, "control": glmerControl(optimizer="nlminbwrap")}),
    ("control = glmerControl(optimizer = c('Nelder_Mead', 'bobyqa'))",
     {"control": glmerControl(optimizer=("Nelder_Mead", "bobyqa"))}),
    ("control = glmerControl(optimizer = 'bobyqa')", {"control": glmerControl(optimizer="bobyqa")}),
    ("control = glmerControl(use.last.params = TRUE, calc.derivs = FALSE)",
     {"control": glmerControl(use_last_params=True, calc_derivs=False)}),
    ("control = glmerControl(tolPwrss = 1e-9, boundary.tol = 0)", {"control": {"tolPwrss": 1e-9, "boundary.tol": 0}}),
    ("control = glmerControl(sparseX = TRUE, standardize.X = TRUE, check.nlev.gtreq.5 = 'warning')",
     {"control": {"sparseX": True, "standardize.X": True, "check.nlev.gtreq.5": "warning"}}),
    ("control = lmerControl()", {"control": lmerControl()}),
    ("nAGQ = 0, start = 0.3", {"nAGQ": 0, "start": 0.3}),
    ("nAGQ = 3, start = list(theta = 0.6)", {"nAGQ": 3, "start": {"theta": 0.6}}),
]


@pytest.mark.parametrize(("rargs", "kw"), FITS, ids=[c[0] for c in FITS])
def test_fits_as_lme4(R, cb, rargs, kw) -> None:
    r = _r(R, f"glmer({F}, cb, binomial, {rargs})")
    fit, err, warns = _py(cb, **kw)
    assert r["error"] is None and err is None, (r["error"], err)
    assert isinstance(fit, GlmerFit)
    np.testing.assert_allclose(fit.theta, r["theta"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(fit.beta, r["fixef"], rtol=0, atol=1e-4)
    assert fit.fval == pytest.approx(r["dev"], rel=1e-7, abs=0)
    assert sorted(warns) == sorted(r["warnings"])


def test_use_last_params_warning_as_lme4(R, cb) -> None:
    r = _r(R, "glmerControl(use.last.params = TRUE)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        glmerControl(use_last_params=True)
    assert [str(w.message) for w in caught] == r["warnings"] and len(r["warnings"]) == 1


def test_check_level_warnings_as_lme4(R, cb) -> None:
    """check.* levels set to "warning": lme4's texts (allow.n wording of glFormula's checks)."""
    for formula, rargs, kw in (
            ("cbind(incidence, size - incidence) ~ period + (period | herd)",
             "control = glmerControl(check.nobs.vs.nRE = 'warning', calc.derivs = FALSE)",
             {"control": {"check.nobs.vs.nRE": "warning", "calc.derivs": False}}),
            ("one ~ period + (1 | herd)", "control = glmerControl(check.response.not.const = 'warning', "
             "calc.derivs = FALSE)", {"control": {"check.response.not.const": "warning", "calc.derivs": False}})):
        r = _r(R, f"glmer({formula}, cb, binomial, {rargs})")
        _, _, warns = _py(cb, formula, **kw)
        first = r["warnings"][:1]
        assert first and warns[:1] == first, (warns, r["warnings"])


def test_devfunonly_as_lme4(R, cb) -> None:
    """devFunOnly: nAGQ = 0 (before any optimization) and nAGQ = 1 with nAGQ0initStep = FALSE (no stage 1)
    are lme4's functions at given parameters to 1e-10 relative; with stage 1 (default) the devfun starts
    PIRLS where each side's stage 1 stopped, so the values agree to PIRLS's tolerance only (1e-6)."""
    from rpy2.robjects import FloatVector

    for rargs, kw, points, rel in (
            ("nAGQ = 0", {"nAGQ": 0}, [[0.3], [0.64], [1.5]], 1e-10),
            ("control = glmerControl(nAGQ0initStep = FALSE)", {"control": glmerControl(nAGQ0initStep=False)},
             [[0.64, -1.4, -1.0, -1.1, -1.6], [0.3, -1.0, -0.5, -1.0, -2.0]], 1e-10),
            ("nAGQ = 5, control = glmerControl(nAGQ0initStep = FALSE)",
             {"nAGQ": 5, "control": glmerControl(nAGQ0initStep=False)}, [[0.64, -1.4, -1.0, -1.1, -1.6]], 1e-10),
            ("", {}, [[0.64, -1.4, -1.0, -1.1, -1.6]], 1e-6)):
        rf = R.r_eval(f"glmer({F}, cb, binomial, devFunOnly = TRUE{', ' + rargs if rargs else ''})")
        pf, err, _ = _py(cb, devFunOnly=True, **kw)
        assert err is None and callable(pf)
        for p in points:
            assert pf(p) == pytest.approx(float(rf(FloatVector(p))[0]), rel=rel, abs=0), (rargs, p)
    rf = R.r_eval(f"glmer({F}, cb, binomial, devFunOnly = TRUE, control = glmerControl(restart_edge = TRUE))")
    pf, err, _ = _py(cb, devFunOnly=True, control=glmerControl(restart_edge=True))
    assert callable(pf) and err is None  # lme4 returns the devfun before optimizeGlmer's restart_edge stop


def test_convergence_check_levels_as_lme4(R, cb) -> None:
    """check.conv.grad = .makeCC("stop", tol = 1e-10): both stop with lme4's text (the gradient's value is
    each side's own optimizer output: compared up to it)."""
    r = _r(R, f"glmer({F}, cb, binomial, control = glmerControl(check.conv.grad = .makeCC('stop', tol = 1e-10)))")
    _, err, _ = _py(cb, control={"check.conv.grad": {"action": "stop", "tol": 1e-10}})
    assert r["error"] is not None and err is not None
    head = "Model failed to converge with max|grad| = "
    assert r["error"].startswith(head) and err.startswith(head)
    assert r["error"].split(" (tol")[1] == err.split(" (tol")[1]


def test_cli_check_call_glmer(R, tmp_path) -> None:
    """``parity check --call 'glmer(...)'``: the call's arguments reach both sides (an agreement, a verdict of
    both refusing, compDev = FALSE's R-level PIRLS at nAGQ = 0, a flag given twice)."""
    import json
    import subprocess
    import sys

    def run(call: str, *more: str) -> tuple[subprocess.CompletedProcess, dict]:
        out = tmp_path / "r.json"
        out.unlink(missing_ok=True)
        p = subprocess.run([sys.executable, "-m", "parity", "check", "--call", call, "--data", "cb=r:lme4::cbpp",
                            "--json", str(out), *more], capture_output=True, text=True, timeout=600)
        return p, (json.loads(out.read_text()) if out.is_file() else {})

    p, rep = run('gm <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, binomial(link = "probit"),'
                 ' control = glmerControl(optimizer = "nloptwrap", use.last.params = TRUE), start = list(theta = 0.5),'
                 " subset = herd != 3)")
    assert p.returncode == 0 and rep["verdict"] == "agree", p.stdout[-3000:] + p.stderr[-2000:]
    assert rep["family"] == "binomial" and rep["link"] == "probit"
    assert rep["call_arguments"]["subset"] == "herd != 3"
    p, rep = run("glmer(incidence ~ period + (1 | herd), cb, poisson, control = glmerControl(restart_edge = TRUE))")
    assert rep["verdict"] == "both refused", p.stdout[-3000:]
    p, rep = run("glmer(incidence ~ period + (1 | herd), cb, poisson, nAGQ = 0, control = glmerControl(compDev = FALSE))")
    assert rep["verdict"] == "agree", p.stdout[-3000:]
    p, _ = run("glmer(incidence ~ period + (1 | herd), cb, poisson)", "--family", "poisson")
    assert p.returncode == 2 and "not --family/--link/--nAGQ too" in p.stderr
