"""Issue 13: ``parity check --call 'lmer(...)'`` (parity.r.rcall): the call read with the allowlist and
run on both sides (live against lme4), and everything outside the allowlist refused in one line."""
from __future__ import annotations

import json

import numpy as np
import pytest

import pyreterms as P
from parity.cli.main import main
from parity.r.rcall import BadCall, parse_lmer_call

pytestmark = pytest.mark.r


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> str:
    d = P.load_dataset("sleepstudy")
    d["x"] = d["Days"] - 3.0
    d.loc[d.index[5], "Reaction"] = np.nan
    path = tmp_path_factory.mktemp("call") / "ss.csv"
    d.to_csv(path, index=False)
    return str(path)


CALLS = [
    ('lmer(Reaction ~ x + (x | Subject), data = d, subset = x > -2, control = lmerControl(optimizer = '
     '"Nelder_Mead", check.nlev.gtr.1 = "ignore"), start = list(theta = c(1, 0, 1)))', 143),
    # (na.exclude pads fitted/residuals with NA in lme4: another change; na.omit here)
    ("lmer(Reaction ~ x + (1 | Subject), d, FALSE, na.action = na.omit)", 179),
    ('lmer(Reaction ~ x + (1 | Subject), data = d, control = lmerControl(optimizer = "nloptwrap", '
     'optCtrl = list(algorithm = "NLOPT_LN_NELDERMEAD")), subset = Subject %in% c(308, 309, 330, 331, 332))', 49),
    ("lmer(Reaction ~ x + (1 | Subject), data = d, subset = x < -1 | x > 2)", 108),
    ("lmer(Reaction ~ x + (x | Subject), data = d, control = lmerControl(optimizer = NULL), "
     "start = c(0.9, 0.1, 0.2))", 179),
    ('lmer(Reaction ~ . - Days + (1 | Subject), data = d, control = lmerControl(check.conv.grad = '
     '.makeCC("warning", tol = 1e-3)))', 179),
]


@pytest.mark.parametrize("call,nobs", CALLS, ids=[f"call{i}" for i in range(len(CALLS))])
def test_call_runs_the_same_call_on_both_sides(call, nobs, csv, tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["check", "--call", call, "--data", f"d={csv}", "--json", str(out), "--failures-only"])
    rep = json.loads(out.read_text())
    comps = {c["name"]: c for c in rep["components"]}
    assert code == 0, [c for c in rep["components"] if not c["ok"]]
    assert 'getME(fit, "n")' in comps and comps['getME(fit, "n")']["ok"]
    # the call's arguments reached both sides: the number of observations is the subset's
    fit = P.lmer(rep["formula"], P.load_dataset("sleepstudy").assign(x=lambda d: d["Days"] - 3.0)
                 .pipe(lambda d: d.assign(Reaction=d["Reaction"].where(d.index != d.index[5]))),
                 **parse_lmer_call(call).py_kwargs())  # REML among them when the call gives it
    assert fit.problem.n == nobs


@pytest.mark.parametrize("call,why", [
    ("lmer(y ~ x + (1 | g), data = d, foo = 1)", "'foo' is not an argument of lmer"),
    ('lmer(y ~ x + (1 | g), data = d, subset = system("rm -rf /") > 0)', "'system' is not allowed"),
    ("lmer(y ~ x + (1 | g), data = d, control = lmerControl(optimizer = myopt))", "must be a constant"),
    ("lmer(y ~ x + (1 | g), data = d, control = list(optimizer = 1))", "control must be lmerControl"),
    ("lmer(y ~ x + (1 | g), data = d, na.action = function(x) x)", "cannot read it"),
    ("lmer(y ~ x + (1 | g), data = d, start = list(theta = eval(1)))", "must be a constant"),
    ("glmer(y ~ x + (1 | g), data = d)", "must be a call of lmer"),
    ("lmer(y ~ x + (1 | g), data = read.csv('x'))", "data must be a name"),
    ('lmer(y ~ x + (1 | g), data = d, contrasts = list(g = "Sys.getpid"))', "not allowed"),
])
def test_call_outside_the_allowlist_is_refused(call, why):
    with pytest.raises(BadCall, match=why.replace("(", r"\(")) as e:
        parse_lmer_call(call)
    assert "\n" not in str(e.value)


def test_call_cli_refusals_are_one_line(csv, capsys):
    code = main(["check", "--call", "lmer(y ~ x + (1 | g), data = d, foo = 1)", "--data", f"d={csv}"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.count("\n") == 0 and "foo" in err
    code = main(["check", "Reaction ~ x + (1 | Subject)", "--call", "lmer(Reaction ~ x + (1 | Subject), d)",
                 "--data", f"d={csv}"])
    assert code != 0 and "give it alone" in capsys.readouterr().err


OPTIMIZER_CONTROLS = [
    'lmerControl(optimizer = "bobyqa")',
    'lmerControl(optimizer = "nlminbwrap")',
    'lmerControl(optCtrl = list(algorithm = "NLOPT_LN_COBYLA"))',
    'lmerControl(optCtrl = list(algorithm = "NLOPT_LN_NEWUOA_BOUND"))',
    'lmerControl(optimizer = "Nelder_Mead", optCtrl = list(FtolAbs = 1e-8))',
]


@pytest.mark.parametrize("control", OPTIMIZER_CONTROLS)
@pytest.mark.parametrize("formula,data,reml", [
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy", False),
    ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", True),
])
def test_every_optimizer_is_judged_by_the_default_rules(control, formula, data, reml):
    """parity's fit rules (theta by lme4's own criterion, lme4 against itself with the same control)
    judge the optimizers whose path is not lme4's (Known differences 11): the verdict is agree."""
    from parity.compare.check import check
    from parity.r.rcall import active

    d = P.load_dataset(data)
    call = parse_lmer_call(f"lmer({formula}, data = d, REML = {str(reml).upper()}, control = {control})")
    with active(call):
        rep = check(formula, d, REML=reml, level="fit", data_label=data)
    assert rep.ok, [(c.name, c.detail) for c in rep.components if not c.ok]


@pytest.mark.parametrize("fn", ["lmer", "glmer"])
def test_na_action_r_knows_is_never_called(fn, csv, capsys, tmp_path, monkeypatch):
    """R calls na.action with the model frame: a function R knows outside na.omit/na.exclude/na.fail/na.pass
    (here one that leaves a trace, ``file.create``) is refused before anything runs, for glmer calls as for
    lmer's; a name R does not know, as a symbol or a string, is both sides' refusal of the same class."""
    fam = ", family = poisson" if fn == "glmer" else ""
    resp = "Days" if fn == "glmer" else "Reaction"
    monkeypatch.chdir(tmp_path)  # R's working directory too (one process): where file.create would write
    code = main(["check", "--call", f"{fn}({resp} ~ x + (1 | Subject), data = d{fam}, na.action = file.create)",
                 "--data", f"d={csv}"])
    err = capsys.readouterr().err.strip()
    assert not any(tmp_path.iterdir())
    assert code == 2 and "na.action = file.create" in err and err.count("\n") == 0
    for given in ("nosuchfun", '"nosuchfun"'):
        js = tmp_path / f"{fn}.json"
        code = main(["check", "--call", f"{fn}({resp} ~ x + (1 | Subject), data = d{fam}, na.action = {given})",
                     "--data", f"d={csv}", "--json", str(js)])
        rep = json.loads(js.read_text())
        assert code == 0 and rep["verdict"] == "both refused", (given, rep["verdict"])
