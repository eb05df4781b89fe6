"""Issue 13 (part A): lmer's arguments with bad values stop with lme4 1.1-31's own message (live),
contrasts for absent/non-factor variables warn or stop as model.matrix.default does, row-index
subsets and weights/offset expressions match lme4, and ``parity check --call`` takes script lines
(assignment, positional arguments, devFunOnly = TRUE) with both sides refusing the same way."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import pyreterms as P
from parity.cli.main import main
from parity.components import DEVFUN_ONLY
from pyreterms.errors import PyretermsError

pytestmark = pytest.mark.r

F = "Reaction ~ Days + (1 | Subject)"


@pytest.fixture(scope="module")
def ss(R):
    import rpy2.robjects as ro

    from parity.r.convert import dataframe_to_r

    d = P.load_dataset("sleepstudy")
    with R.rlock():
        ro.globalenv["d"] = dataframe_to_r(d)
    return d


def _r_outcome(R, args: str) -> tuple[str, list[str]]:
    """lme4's error message (or 'NO ERROR') and warnings for lmer(F, d, <args>)."""
    code = (f"local({{w <- character(); r <- tryCatch(withCallingHandlers({{lmer({F}, d, {args}); 'NO ERROR'}}, "
            "warning = function(c) {w <<- c(w, conditionMessage(c)); invokeRestart('muffleWarning')}), "
            "error = function(e) conditionMessage(e)); c(r, w)})")
    out = [str(x) for x in R.r_eval(code)]
    return out[0], out[1:]


def _py_outcome(d, **kw) -> tuple[str, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            P.lmer(F, d, **kw)
            msg = "NO ERROR"
        except PyretermsError as e:
            msg = str(e)
    return msg, [str(w.message) for w in caught if "lme" in type(w.message).__name__.lower()]


BAD = [
    ('REML = "yes"', {"REML": "yes"}),
    ("REML = NA", {"REML": __import__("pandas").NA}),
    ("REML = c(TRUE, FALSE)", {"REML": [True, False]}),
    ('devFunOnly = "x"', {"devFunOnly": "x"}),
    ('verbose = "a"', {"verbose": "a"}),
    ('start = "a"', {"start": "a"}),
    ('na.action = "na.bogus"', {"na_action": "na.bogus"}),
    ('subset = "x"', {"subset": '"x"'}),
    ("weights = Subject", {"weights": "Subject"}),
    ("weights = Days - 1", {"weights": "Days - 1"}),
    ("offset = c(1, 2, 3)", {"offset": "c(1, 2, 3)"}),
    ("offset = Subject", {"offset": "Subject"}),
    ('control = lmerControl(optimizer = "foo")', {"control": P.lmerControl(optimizer="foo")}),
    ('control = lmerControl(optimizer = "optimx")', {"control": P.lmerControl(optimizer="optimx")}),
    ('contrasts = list(Days = "contr.sum")', {"contrasts": {"Days": "contr.sum"}}),
    ('contrasts = list(Reaction = "contr.sum")', {"contrasts": {"Reaction": "contr.sum"}}),
    ('contrasts = list("contr.sum")', {"contrasts": ["contr.sum"]}),
]


@pytest.mark.parametrize("r_args,py_kw", BAD, ids=[b[0] for b in BAD])
def test_bad_values_stop_with_lme4s_message(r_args, py_kw, ss, R):
    r_msg, _ = _r_outcome(R, r_args)
    py_msg, _ = _py_outcome(ss, **py_kw)
    assert r_msg != "NO ERROR"
    assert py_msg == r_msg and "\n" not in py_msg


@pytest.mark.parametrize("r_args,py_kw", [
    ('contrasts = list(Subject = "contr.sum")', {"contrasts": {"Subject": "contr.sum"}}),
    ('contrasts = list(Subject = "contr.sum", Bogus = "contr.helmert")',
     {"contrasts": {"Subject": "contr.sum", "Bogus": "contr.helmert"}}),
    ('verbose = "a"', {"verbose": "a"}),
    ("weights = Subject", {"weights": "Subject"}),
    ('contrasts = "contr.sum"', {"contrasts": "contr.sum"}),
])
def test_warnings_as_lme4s(r_args, py_kw, ss, R):
    r_msg, r_warn = _r_outcome(R, r_args)
    py_msg, py_warn = _py_outcome(ss, **py_kw)
    assert py_msg == r_msg and py_warn == r_warn and r_warn


@pytest.mark.parametrize("r_args,py_kw", [
    ("subset = 1:100", {"subset": "1:100"}),
    ("subset = -(1:10)", {"subset": "-(1:10)"}),
    ('subset = c(1, 3, 200) + 0', {"subset": "c(1, 3, 200)"}),
    ("weights = Days + 1", {"weights": "Days + 1"}),
    ("offset = log(Days + 1), REML = FALSE", {"offset": "log(Days + 1)", "REML": False}),
    ('REML = "FALSE"', {"REML": "FALSE"}),
    ("REML = 0", {"REML": 0}),
])
def test_accepted_values_fit_as_lme4(r_args, py_kw, ss, R):
    code = f"local({{m <- suppressWarnings(lmer({F}, d, {r_args})); c(nobs(m), fixef(m), deviance(m, REML = isREML(m)))}})"
    try:
        r = np.array(R.r_eval(code), dtype=np.float64)
    except Exception as e:  # c(1, 3, 200): one row per subject -> lme4 refuses
        r_msg, _ = _r_outcome(R, r_args)
        py_msg, _ = _py_outcome(ss, **py_kw)
        assert py_msg == r_msg, e
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = P.lmer(F, ss, **py_kw)
    crit = fit.lf.REML
    ours = np.r_[fit.problem.n, fit.fixef().to_numpy(), fit.deviance(REML=crit) if crit else fit.deviance()]
    np.testing.assert_allclose(ours, r, rtol=1e-6)


CALLS_REFUSED = [
    'fm1 <- lmer(Reaction ~ Days + (1 | Subject), d, REML = "yes")',
    'lmer(Reaction ~ Days + (1 | Subject), d, devFunOnly = "x")',
    'lmer(Reaction ~ Days + (1 | Subject), d, verbose = "a")',
    'lmer(Reaction ~ Days + (1 | Subject), d, start = "a")',
    'lmer(Reaction ~ Days + (1 | Subject), d, na.action = "na.bogus")',
    'lmer(Reaction ~ Days + (1 | Subject), d, subset = "x")',
    'lmer(Reaction ~ Days + (1 | Subject), d, weights = "Subject")',
    'lmer(Reaction ~ Days + (1 | Subject), d, weights = Days - 1)',
    'lmer(Reaction ~ Days + (1 | Subject), d, offset = c(1, 2, 3))',
    'lmer(Reaction ~ Days + (1 | Subject), d, control = lmerControl(optimizer = "foo"))',
    'lmer(Reaction ~ Days + (1 | Subject), d, contrasts = list(Days = "contr.sum"))',
]
CALLS_AGREE = [
    'fm1 = lmer(Reaction ~ Days + (1 | Subject), d, contrasts = list(Subject = "contr.sum"))',
    "fm1 <- lmer(Reaction ~ Days + (1 | Subject), d, FALSE, weights = Days + 1, subset = -(1:10))",
    'lmer(Reaction ~ Days + (Days | Subject), d, subset = 1:100, control = lmerControl("Nelder_Mead"))',
    "lmer(Reaction ~ Days + (1 | Subject), d, offset = log(Days + 1), REML = FALSE)",
    "lmer(Reaction ~ Days + (Days | Subject), d, devFunOnly = TRUE)",
]


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("bad") / "ss.csv"
    P.load_dataset("sleepstudy").to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("call", CALLS_REFUSED + CALLS_AGREE)
def test_call_verdicts(call, csv, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["check", "--call", call, "--data", f"d={csv}", "--json", str(out), "--failures-only"])
    rep = json.loads(out.read_text())
    want = "both refused" if call in CALLS_REFUSED else "agree"
    assert code == 0 and rep["verdict"] == want, [c for c in rep["components"] if not c["ok"]]
    assert rep["call"] == call
    if "devFunOnly = TRUE" in call:
        # the fit, and the returned function's values at four thetas (parity.components.DEVFUN_ONLY)
        assert DEVFUN_ONLY in {c["name"] for c in rep["components"]}
    if "subset" in call:
        assert rep["call_arguments"]["subset"] in call


def test_call_contrast_function_by_name(capsys):
    call = "lmer(angle ~ recipe + temperature + (1 | recipe:replicate), cake, contrasts = list(recipe = contr.sum))"
    assert main(["check", "--call", call, "--data", "r:lme4::cake", "--failures-only"]) == 0


def test_call_system_anywhere_is_refused_before_anything_runs(csv, capsys):
    for call in ['lmer(Reaction ~ Days + (1 | Subject), d, weights = system("touch /tmp/x"))',
                 'lmer(Reaction ~ Days + (1 | Subject), d, offset = system("x"))',
                 'lmer(Reaction ~ Days + (1 | Subject), d, subset = -(1:system("x")))',
                 'fm <- lmer(Reaction ~ Days + system("x") + (1 | Subject), d)',
                 'lmer(Reaction ~ Days + (1 | Subject), d, na.action = system)']:
        code = main(["check", "--call", call, "--data", f"d={csv}"])
        err = capsys.readouterr().err.strip()
        assert code in (2, 3) and "system" in err and err.count("\n") == 0, (call, err)


def test_call_arguments_recorded_in_text_json_and_html(csv, tmp_path, capsys):
    call = ('fm1 <- lmer(Reaction ~ Days + (Days | Subject), d, REML = FALSE, subset = -(1:10), '
            'weights = Days + 1, control = lmerControl("Nelder_Mead"), start = list(theta = c(1, 0, 1)))')
    js, html = tmp_path / "r.json", tmp_path / "r.html"
    code = main(["check", "--call", call, "--data", f"d={csv}", "--json", str(js), "--html", str(html),
                 "--failures-only"])
    out = capsys.readouterr().out
    assert code == 0
    args = json.loads(js.read_text())["call_arguments"]
    assert args == {"REML": "FALSE", "control": 'lmerControl(optimizer = "Nelder_Mead")',
                    "start": "list(theta = c(1, 0, 1))", "subset": "-(1:10)", "weights": "Days + 1"}
    for text in ("subset = -(1:10)", "weights = Days + 1", 'optimizer = "Nelder_Mead"'):
        assert text in out.splitlines()[0]
        assert text.replace('"', "&#34;") in html.read_text() or text in html.read_text()
