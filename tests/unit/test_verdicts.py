"""Issue 10 item 2 and issue 11: no verdict without a check.

Verdicts are agree, disagree, both refused *for the same reason* (lme4's stop and pyreterms' check,
compared by refusal class) and not compared (the harness declined: allowlist, unrepresentable data,
time limit; exit 3, counted separately).  A formula that does not parse is bad input (exit 2).
No R here; tests/live/test_verdicts_refusals.py checks the refusal classes against lme4 itself."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import importlib

check_mod = importlib.import_module("parity.compare.check")  # the module (parity.compare.check is also a function name)


def _import_all_parity_modules() -> None:
    """Every parity module is imported before any test here patches ``check.r_components``: a module first
    imported under the patch (the CLI imports its sub-commands' modules lazily) would bind the patched
    function for the rest of the session (the audit campaign then 'asked R' and failed in a later test)."""
    import pkgutil

    import parity
    for m in pkgutil.walk_packages(parity.__path__, "parity."):
        if m.name == "parity.__main__":  # runs the CLI
            continue
        try:
            importlib.import_module(m.name)
        except ImportError:  # an optional extra that is not installed: its modules cannot bind anything
            pass


_import_all_parity_modules()
from parity.compare.check import check
from parity.cli.main import main
from parity.compare.tolerances import ComponentResult
from parity.compare.notcompared import EXIT_NOT_COMPARED, NotCompared
from parity.r.values import RError, RVector
from parity.compare.verdicts import (DECISION, NOT_COMPARED, REFUSAL_CLASSES, BadFormula, Verdict, decision_result,
                             exit_code, refusal_class, verdict_of)
from pyreterms.errors import LmeCheckError, UnsupportedInput

#: (class, lme4 1.1-31's message, pyreterms' message) -- lme4's texts as R prints them (live-checked by
#: tests/live/test_verdicts_refusals.py), pyreterms' as it raises them
MESSAGES = [
    # glmer (R 4.2.2 family initialize / lme4 1.1-31 updateGlmerDevfun, checkResponse): same text both sides
    *[(cls, msg, msg) for cls, msg in (
        ("nAGQ > 1 with more than one scalar term",
         "nAGQ > 1 is only available for models with a single, scalar random-effects term"),
        ("constant response", "Response is constant"),
        ("binomial y outside [0, 1]", "y values must be 0 <= y <= 1"),
        ("negative Poisson response", "negative values not allowed for the 'Poisson' family"),
        ("non-positive Gamma response", "non-positive values not allowed for the 'Gamma' family"),
        ("non-positive inverse.gaussian response",
         "positive values only are allowed for the 'inverse.gaussian' family"),
        ("no valid starting values (gaussian log/inverse link)", "cannot find valid starting values: please specify some"),
        # lme4's PIRLS, merPredD and Nelder_Mead stops, met by the GLMM campaign (tests/live/test_glmm_campaign.py)
        ("PIRLS: NaN", "PIRLS loop resulted in NaN value"),
        ("PIRLS: no convergence", "pwrssUpdate did not converge in (maxit) iterations"),
        ("RX Cholesky failed", "Downdated VtV is not positive definite"),
        ("Nelder-Mead: no feasible simplex", "cannot generate feasible simplex"),
        # glmer's own stops (lme4 1.1-31, printed by R; tests/live/test_glmm_call_surface.py checks both sides' text)
        ("restart_edge (glmer)", "restart_edge not implemented for optimizeGlmer yet"),
        ("bad control argument", "unused argument (foo = 1)"),
        ("bad start", "bad name(s) for start vector (foo, bar); should be 'theta' and/or 'fixef'"),
        ("control not a list", "'control' is not a list; use glmerControl()"),
        ("bad start", "incorrect number of fixef components (!=4)"),
        ("bad control argument", "'arg' should be one of \u201cmessage+drop.cols\u201d, \u201csilent.drop.cols\u201d"),
        ("convergence check stop",
         "Model failed to converge with max|grad| = 6.20309e-05 (tol = 1e-10, component 1)"),
        ("bad start", "should not specify both start$fixef and nAGQ==0"))],
    ("response longer than the frame (matrix response, non-binomial family)", "updateXwts: dimension mismatch",
     "updateXwts: dimension mismatch (the response has 2 columns; a cbind() response is for the binomial family only)"),
    ("nlev < 2", "grouping factors must have > 1 sampled level", "grouping factors must have > 1 sampled level"),
    ("(1 || g) not expandable", "<text>:1:12: unexpected '|'\n1: ~( 1|g)+(0+|\n                   ^",
     "(1 || g) cannot be expanded: lme4 1.1-31 builds the text '(0+|g)' for '||' without covariates and R fails "
     "with \"unexpected '|'\"; write (1 | g) instead"),
    ("(x || g) with a non-syntactic name not expandable", "<text>:1:8: unexpected symbol\n1: ~( 1|g g\n           ^",
     "(`my x` || `g g`) cannot be expanded: lme4 1.1-31 pastes the text '~(1|g g)+(0+`my x`|g g)', which R cannot "
     "parse (the grouping factor's name loses its backquotes)"),
    ("nobs <= nlev", "number of levels of each grouping factor must be < number of observations (problems: id)",
     "number of levels of each grouping factor must be < number of observations (problems: id)"),
    ("nobs <= nRE", "number of observations (=12) <= number of random effects (=12) for term (x | gbig); the "
     "random-effects parameters and the residual variance (or scale parameter) are probably unidentifiable",
     "number of observations (=12) <= number of random effects (=12) for term (x | gbig); the random-effects "
     "parameters and the residual variance (or scale parameter) are probably unidentifiable"),
    ("no random effects", "No random effects terms specified in formula", "No random effects terms specified in formula"),
    ("random-effects term without columns", "length(theta) > 0L is not TRUE", "random-effects term (0 | g) has no columns"),
    ("NA in Z", "NA in Z (random-effects model matrix): please use \"na.action='na.omit'\" or "
     "\"na.action='na.exclude'\"", "NA in Z (random-effects model matrix): please use \"na.action='na.omit'\" or "
     "\"na.action='na.exclude'\""),
    ("response not numeric", "response must be numeric", "response must be numeric (the response 'yc' is not)"),
    ("non-finite response", "NA/NaN/Inf in 'y'", "NA/NaN/Inf in 'y'"),
    ("non-finite X", "NA/NaN/Inf in foreign function call (arg 1)",
     "infinite values in the fixed-effects model matrix (column x_inf): lme4's rank check stops with "
     "'NA/NaN/Inf in foreign function call'"),
    ("negative weights", "all(weights >= 0) is not TRUE", "negative weights not allowed"),
    ("empty frame", "0 (non-NA) cases", "0 (non-NA) cases"),
    ("unknown variable", "object 'nosuch' not found", "object 'nosuch' not found (no such column in the data)"),
    ("contrasts need 2 levels", "contrasts can be applied only to factors with 2 or more levels",
     "contrasts can be applied only to factors with 2 or more levels (variable 'f1' has 1)"),
    ("poly degree", "'degree' must be less than number of unique points",
     "'degree' must be less than number of unique points"),
    ("poly NA", "missing values are not allowed in 'poly'", "missing values are not allowed in 'poly'"),
    ("non-numeric argument", "non-numeric argument to mathematical function", "non-numeric argument to log"),
    ("variable lengths differ", "variable lengths differ (found for '(offset)')",
     "variable lengths differ (found for '(offset)'): 3 values for 12 rows"),
    ("invalid power", "invalid power in formula", "invalid power in formula: x^1.5"),
    ("invalid model formula", "invalid model formula in ExtractVars",
     "invalid model formula: the number 2 cannot be a term (only 0 or 1)"),
    ("objective not finite at the start", "objective in x0 returns NA",
     "objective in x0 returns NA (REML criterion undefined: n - p = 12 - 12 = 0 residual degrees of freedom)"),
    ("formula parse", "cannot parse formula: <text>:1:12: unexpected end of input",
     "cannot read formula 'y ~ (x | g': expected ')' but found end of formula at position 11"),
    # lmer's other arguments (lme4's texts, equal on both sides: tests/live/test_lmer_arguments.py checks them live)
    ("nlev < 5", "grouping factors with < 5 sampled levels may give unreliable estimates",
     "grouping factors with < 5 sampled levels may give unreliable estimates"),
    ("X rank deficient (stop.deficient)", "the fixed-effects model matrix is column rank deficient (rank(X) = 2 < 3 "
     "= p);\nthe fixed effects will be jointly unidentifiable", "the fixed-effects model matrix is column rank "
     "deficient (rank(X) = 2 < 3 = p);\nthe fixed effects will be jointly unidentifiable"),
    ("X badly scaled (check.scaleX stop)", "Some predictor variables are on very different scales: consider rescaling",
     "Some predictor variables are on very different scales: consider rescaling"),
    ("invalid control level", "unknown check level for 'check.nlev.gtr.1'",
     "unknown check level for 'check.nlev.gtr.1'"),
    ("bad start", "incorrect components in start list: foo", "incorrect components in start list: foo"),
    ("bad optimizer", "couldn't find optimizer function foo", "couldn't find optimizer function foo"),
    ("missing values (na.fail)", "missing values in object", "missing values in object"),
    # lmer's arguments read by R's if()/as.integer() and model.frame/model.matrix (equal on both sides:
    # tests/live/test_lmer_arguments_badvalues.py checks them live)
    ("not a logical", "argument is not interpretable as logical", "argument is not interpretable as logical"),
    ("NA condition", "missing value where TRUE/FALSE needed", "missing value where TRUE/FALSE needed"),
    ("condition of length > 1", "the condition has length > 1", "the condition has length > 1"),
    ("condition of length 0", "argument is of length zero", "argument is of length zero"),
    ("unknown na.action", 'could not find function "na.bogus"', 'could not find function "na.bogus"'),
    ("offset not numeric", "'offset' must be numeric", "'offset' must be numeric"),
    ("contrasts on a non-factor", "contrasts apply only to factors", "contrasts apply only to factors"),
    ("optimx not installed", "'optimx' package must be installed order to use 'optimizer=\"optimx\"'",
     "'optimx' package must be installed order to use 'optimizer=\"optimx\"'"),
    ("relevel: unknown level", "'ref' must be an existing level", "'ref' must be an existing level"),
]


def _err(msg: str, kind: str = "error") -> RError:
    return RError(msg, kind)


@pytest.mark.parametrize("cls,r_msg,py_msg", MESSAGES, ids=[m[0] for m in MESSAGES])
def test_refusal_class_of_both_spellings(cls, r_msg, py_msg) -> None:
    assert refusal_class(r_msg) == cls
    assert refusal_class(py_msg) == cls
    d = decision_result(_err(py_msg, "lme4-check"), _err(r_msg))
    assert d.ok and f"same reason ({cls})" in d.detail
    assert verdict_of([d]) is Verdict.BOTH_REFUSED


def test_every_class_has_a_message_here() -> None:
    assert {c for c, _ in REFUSAL_CLASSES} - {m[0] for m in MESSAGES} <= {"rank of Z", "invalid grouping factor",
                                                                         "theta length"}


@pytest.mark.parametrize("i", range(len(MESSAGES)), ids=[m[0] for m in MESSAGES])
def test_refusals_for_different_reasons_disagree(i) -> None:
    """Each class against the next one: both refuse, for different reasons -- a disagreement."""
    cls, r_msg, _ = MESSAGES[i]
    other_cls, _, py_msg = MESSAGES[(i + 1) % len(MESSAGES)]
    d = decision_result(_err(py_msg, "data"), _err(r_msg))
    assert not d.ok and f"here: {other_cls}, lme4: {cls}" in d.detail
    assert verdict_of([d]) is Verdict.DISAGREE and exit_code(verdict_of([d])) == 1


def test_unknown_refusal_never_agrees() -> None:
    d = decision_result(_err("something odd happened", "data"), _err("something odd happened"))
    assert not d.ok and "no known class" in d.detail
    d = decision_result(_err("grouping factors must have > 1 sampled level", "lme4-check"), _err("Error in foo: bar"))
    assert not d.ok


def test_crash_never_agrees() -> None:
    d = decision_result(_err("grouping factors must have > 1 sampled level", "ZeroDivisionError"),
                        _err("grouping factors must have > 1 sampled level"))
    assert not d.ok and "crashed" in d.detail


def test_one_sided_refusals_disagree() -> None:
    assert not decision_result(_err("No random effects terms specified in formula", "formula"), None).ok
    assert not decision_result(None, _err("No random effects terms specified in formula")).ok


@pytest.mark.parametrize("pe,re_,kind", [
    (None, _err("reached elapsed time limit", "timeout"), "time limit"),
    (_err("No random effects terms specified in formula", "formula"), _err("reached elapsed time limit", "timeout"),
     "time limit"),
    (_err("function 'system' is not allowed in formulas", "formula"),
     _err("formula uses function 'system' which is not allowed", "not-allowed"), "allowlist"),
    (_err("an R attribute was lost on the way", "unsupported"), None, "unrepresentable"),
    # a stored golden keeps R's refusal as a character vector: still the harness, never lme4's answer
    (None, RVector(np.array(["formula uses function 'system' which is not allowed"], dtype=object), None, "character"),
     "allowlist"),
])
def test_harness_refusals_are_not_compared(pe, re_, kind) -> None:
    d = decision_result(pe, re_)
    assert d.name == NOT_COMPARED and not d.ok and d.detail.startswith(kind)
    v = verdict_of([d])
    assert v is Verdict.NOT_COMPARED and exit_code(v) == EXIT_NOT_COMPARED == 3


def test_verdict_of() -> None:
    ok = ComponentResult("x", True, 0.0, 0.0, 0.0, 0.0, "")
    bad = ComponentResult("y", False, 1.0, 1.0, 0.0, 0.0, "")
    assert verdict_of([ok]) is Verdict.AGREE
    assert verdict_of([ok, bad]) is Verdict.DISAGREE
    assert verdict_of([]) is Verdict.DISAGREE  # nothing compared is never agreement
    assert verdict_of([ok, ComponentResult(NOT_COMPARED, False, 0, 0, 0, 0, "time limit: x")]) is Verdict.NOT_COMPARED


def _df() -> pd.DataFrame:
    i = np.arange(24)
    return pd.DataFrame({"y": np.sin(i), "x": (i % 5) - 2.0, "g": [f"g{k}" for k in i % 4]})


def _no_r(*a, **k):
    raise AssertionError("R must not be asked")


def _no_impl(*a, **k):
    raise AssertionError("the implementation must not run")


def test_allowlist_is_not_compared_and_nothing_runs(monkeypatch) -> None:
    monkeypatch.setattr(check_mod, "r_components", _no_r)
    for f in ['y ~ x + system("touch /tmp/x") + (1 | g)', 'y ~ eval(parse(text = "1")) + (1 | g)',
              'y ~ x + I(get("x")) + (1 | g)']:
        rep = check(f, _df(), impl=_no_impl)
        assert rep.verdict is Verdict.NOT_COMPARED and not rep.ok, f
        assert rep.components[0].detail.startswith("allowlist") and "lme4 was not asked" in rep.components[0].detail
        assert rep.as_json()["verdict"] == "not compared"


MALFORMED = ["y ~ (x | g", "y ~ x + (1 | g))", "y ~", "~", "y", "y ~ x +", "y ~ (x | )", "y ~ x + (| g)",
             "y ~ x; system('ls')", 'y ~ x + __import__("os")', "y ~ x + [1]", "y ~ x + (function() 1)()", ""]


@pytest.mark.parametrize("f", MALFORMED)
def test_malformed_formula_is_bad_input(f, monkeypatch) -> None:
    monkeypatch.setattr(check_mod, "r_components", _no_r)
    with pytest.raises(BadFormula):
        check(f, _df(), impl=_no_impl)


def test_cli_exit_codes_for_malformed_and_injected(tmp_path, monkeypatch, capsys) -> None:
    """Issue 11: 'parity check' of a malformed formula exits 2 (one line), of an injected one 3 --
    never 0.  R is never asked."""
    monkeypatch.setattr(check_mod, "r_components", _no_r)
    csv = tmp_path / "d.csv"
    _df().to_csv(csv, index=False)
    for f in MALFORMED:
        assert main(["check", f, "--data", str(csv)]) == 2, f
        err = capsys.readouterr().err
        assert err.startswith("parity: error: ") and err.count("\n") == 1, err
    for f in ['y ~ x + system("ls") + (1 | g)', 'y ~ x + file.remove("a") + (1 | g)', "y ~ x %o% x + (1 | g)",
              'y ~ x + base::system("ls") + (1 | g)']:
        out = tmp_path / "o.json"
        assert main(["check", f, "--data", str(csv), "--json", str(out)]) == 3, f
        assert json.loads(out.read_text())["verdict"] == "not compared"
        assert "NOT COMPARED" in capsys.readouterr().out


def test_r_time_limit_is_not_compared() -> None:
    rep = check("y ~ x + (1 | g)", _df(), impl=_no_impl,
                r={"error": RError("reached elapsed time limit", "timeout")})
    assert rep.verdict is Verdict.NOT_COMPARED and rep.components[0].detail.startswith("time limit")


def test_not_compared_raised_by_the_implementation_side() -> None:
    def declines(formula, data, **kw):
        raise NotCompared("a column cannot be carried without loss", "unrepresentable")

    rep = check("y ~ x + (1 | g)", _df(), impl=declines, r={"error": RVector(np.array(["x"], dtype=object), None,
                                                                              "character")})
    assert rep.verdict is Verdict.NOT_COMPARED and "unrepresentable" in rep.components[0].detail

    def unsupported(formula, data, **kw):
        raise UnsupportedInput("an R attribute was lost")

    rep = check("y ~ x + (1 | g)", _df(), impl=unsupported,
                r={"error": RError("No random effects terms specified in formula", "error")})
    assert rep.verdict is Verdict.NOT_COMPARED


def test_different_refusal_from_an_implementation_disagrees() -> None:
    def wrong_reason(formula, data, **kw):
        raise LmeCheckError("grouping factors must have > 1 sampled level")

    rep = check("y ~ x", _df(), impl=wrong_reason,
                r={"error": RVector(np.array(["No random effects terms specified in formula"], dtype=object), None,
                                    "character")})
    assert rep.verdict is Verdict.DISAGREE and not rep.ok
    (d,) = rep.components
    assert d.name == DECISION and "different reasons (here: nlev < 2, lme4: no random effects)" in d.detail


# --------------------------------------------------------------------------------------------
# summaries: fuzz (text, JSON, HTML, exit code) and replay count "not compared" separately

def _outcome(status: str, comps: tuple, error: str = ""):
    from parity.compare.check import CheckReport
    from parity.campaigns.fuzz import DesignOutcome
    from parity.campaigns.strategies import Design

    rep = CheckReport("y ~ x + (1 | g)", "t", "fit", True, comps, {})
    return DesignOutcome(Design("y ~ x + (1 | g)", _df(), description="t"), status,
                         tuple(c.name for c in comps if not c.ok and c.name != NOT_COMPARED), rep, 0.1, 0.1, error)


def _result(outcomes):
    from parity.campaigns.fuzz import FuzzConfig, FuzzResult

    return FuzzResult(FuzzConfig(examples=len(outcomes), level="fit"), tuple(outcomes), (), "", 1.0, {})


def test_fuzz_summary_counts_not_compared(tmp_path) -> None:
    from rich.console import Console

    from parity.cli.fuzz import campaign_exit_code, print_summary, write_json
    from parity.report.html import write_html

    ok = ComponentResult('getME(fit, "theta")', True, 0.0, 0.0, 0.0, 1e-6, "")
    nc = ComponentResult(NOT_COMPARED, False, np.nan, np.nan, 0.0, 0.0, "time limit: lme4 did not finish")
    dec = ComponentResult(DECISION, True, np.nan, np.nan, 0.0, 0.0, "both refuse for the same reason (nlev < 2)")
    res = _result([_outcome("agree", (ok,)), _outcome("not-compared", (nc,), nc.detail),
                   _outcome("both-refused", (dec,))])
    j = res.as_json()
    assert j["counts"] == {"designs": 3, "agree": 1, "both_refused": 1, "disagree": 0, "not_compared": 1, "error": 0}
    assert j["not_compared_by_kind"] == {"time limit": 1}
    assert j["agreed_by_rule"]["theta exact"] == 1
    assert res.ok and campaign_exit_code(res) == 3
    con = Console(record=True, width=150)
    print_summary(res, con)
    text = con.export_text()
    assert "not compared (harness declined; not agreement)" in text and "1 design(s) not compared" in text
    write_json(res, tmp_path / "f.json")
    assert json.loads((tmp_path / "f.json").read_text())["counts"]["not_compared"] == 1
    write_html(res, tmp_path / "f.html")
    assert "Not compared: 1 design(s)" in (tmp_path / "f.html").read_text()
    assert campaign_exit_code(_result([_outcome("agree", (ok,))])) == 0


def test_run_design_allowlist_is_not_compared_without_r(monkeypatch) -> None:
    from parity.campaigns import fuzz
    from parity.campaigns.strategies import Design

    monkeypatch.setattr(fuzz, "_r_side", _no_r)
    o = fuzz.run_design(Design('y ~ x + system("ls") + (1 | g)', _df()), _no_impl)
    assert o.status == "not-compared" and o.failing == () and o.error.startswith("allowlist")


def test_replay_summary_counts_verdicts(capsys) -> None:
    from parity.goldens.record_replay import ReplayResult, _print_summary

    ok = ComponentResult("x", True, 0.0, 0.0, 0.0, 0.0, "")
    nc = ComponentResult(NOT_COMPARED, False, np.nan, np.nan, 0.0, 0.0, "allowlist: system")
    dec = ComponentResult(DECISION, True, np.nan, np.nan, 0.0, 0.0, "both refuse for the same reason")
    bad = ComponentResult("y", False, 1.0, 1.0, 0.0, 0.0, "differs")
    rs = [ReplayResult("a", "fit", (ok,)), ReplayResult("b", "fit", (nc,)), ReplayResult("c", "fit", (dec,)),
          ReplayResult("d", "fit", (ok, bad))]
    assert [r.verdict.value for r in rs] == ["agree", "not compared", "both refused", "disagree"]
    _print_summary(rs)
    assert "4 case(s): 1 agree, 1 both refused for the same reason, 1 disagree, 1 not compared" in capsys.readouterr().out


def test_fuzz_summary_and_exit_code_with_glmm_explanations(tmp_path) -> None:
    """A GLMM campaign's disagreements explained by README Known differences 13 are reported with their reason
    and do not fail the campaign; one left unexplained does (exit 1); an exception always does."""
    from rich.console import Console

    from parity.cli.fuzz import campaign_exit_code, print_summary, write_json

    ok = ComponentResult('getME(fit, "theta")', True, 0.0, 0.0, 0.0, 1e-6, "")
    bad = ComponentResult("logLik(gfit)", False, 1.0, 1.0, 0.0, 0.0, "differs")
    a, b = _outcome("disagree", (bad,)), _outcome("disagree", (bad,))
    res = _result([_outcome("agree", (ok,)), a, b])
    assert campaign_exit_code(res) == 1
    both = [(a, "lme4's criterion jumps by 0.0076"), (b, "stage 1's criterion is zero to rounding")]
    assert campaign_exit_code(res, both) == 0
    assert campaign_exit_code(res, [(a, "a reason"), (b, None)]) == 1
    assert campaign_exit_code(_result([_outcome("error", ()), a]), [(a, "a reason")]) == 1
    con = Console(record=True, width=150)
    print_summary(res, con, both)
    text = con.export_text()
    assert "of which explained" in text and "every disagreement explained" in text and "jumps by 0.0076" in text
    con = Console(record=True, width=150)
    print_summary(res, con, [(a, "a reason"), (b, None)])
    text = con.export_text()
    assert "not explained" in text and "disagreements found" in text
    write_json(res, tmp_path / "g.json", [(a, "a reason"), (b, None)])
    j = json.loads((tmp_path / "g.json").read_text())
    assert j["unexplained"] == 1 and [e["why"] for e in j["explained"]] == ["a reason", None]
