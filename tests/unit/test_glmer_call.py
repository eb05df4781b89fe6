"""``parity check --call 'glmer(...)'``'s reader without R (parity/r/glmer_call.py): R's argument matching,
the family forms, glmerControl/lmerControl, start, the constants both sides then read as R does, and
refusals of anything outside the allowlist (one-line BadCall)."""
from __future__ import annotations

import pandas as pd
import pytest

from parity.r.callargs import BadCall
from parity.r.glmer_call import GLMER_CONTROL_ARGS, GLMER_FORMALS, is_glmer_call, parse_glmer_call
from pyreterms.glmm.control import GlmerControl
from pyreterms.lmm.control import LmerControl

F = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def test_formals_are_lme4_1_1_31s_in_order() -> None:
    # args(lme4::glmer) and args(lme4::glmerControl) of lme4 1.1-31 (printed in R)
    assert GLMER_FORMALS == ("formula", "data", "family", "control", "start", "verbose", "nAGQ", "subset", "weights",
                             "na.action", "offset", "contrasts", "mustart", "etastart", "devFunOnly")
    assert GLMER_CONTROL_ARGS[-5:] == ("mod.type", "tolPwrss", "compDev", "nAGQ0initStep", "check.response.not.const")


@pytest.mark.parametrize(("fam", "family", "link"), [
    ("binomial", "binomial", None), ('"poisson"', "poisson", None), ('binomial(link = "probit")', "binomial", "probit"),
    ('binomial("cloglog")', "binomial", "cloglog"), ('stats::poisson("sqrt")', "poisson", "sqrt"),
    ('Gamma(link = "log")', "Gamma", "log"), ("inverse.gaussian", "inverse.gaussian", None),
])
def test_family_forms(fam: str, family: str, link: str | None) -> None:
    c = parse_glmer_call(f"glmer({F}, data = cbpp, family = {fam})")
    assert (c.family, c.link) == (family, link)
    assert c.extra_arguments()["family"] == fam


def test_positional_and_partial_matching_as_r() -> None:
    c = parse_glmer_call(f"gm1 <- glmer({F}, cbpp, binomial, nAG = 3, devF = TRUE, verb = 2)")
    assert (c.data, c.family, c.nAGQ, c.dev_fun_only, c.verbose) == ("cbpp", "binomial", 3, True, 2)
    c = parse_glmer_call(f"lme4::glmer({F}, cbpp, binomial, glmerControl(tolPwrss = 1e-9), 0.5)")
    assert c.control == {"tolPwrss": 1e-9} and c.start == [0.5]


def test_control_and_start() -> None:
    c = parse_glmer_call(f'glmer({F}, cbpp, binomial, control = glmerControl("nloptwrap", check.conv.grad = '
                         f'.makeCC("stop", tol = 1e-3), optCtrl = list(maxfun = 500)), start = list(theta = 0.5, '
                         f'fixef = c(b = 1, a = 2)))')
    assert c.control == {"optimizer": "nloptwrap", "check.conv.grad": {"action": "stop", "tol": 1e-3},
                         "optCtrl": {"maxfun": 500}}
    ctrl = c.py_control()
    assert isinstance(ctrl, GlmerControl) and ctrl.optimizer == ("nloptwrap", "nloptwrap")
    assert ctrl.check_conv_grad == ("stop", 1e-3) and dict(ctrl.opt_ctrl) == {"maxfun": 500}
    assert c.start == {"theta": [0.5], "fixef": {"b": 1.0, "a": 2.0}}
    c = parse_glmer_call(f"glmer({F}, cbpp, binomial, control = lmerControl(calc.derivs = FALSE))")
    assert c.control_fn == "lmerControl" and isinstance(c.py_control(), LmerControl)


def test_fit_runs_without_devfunonly_true() -> None:
    c = parse_glmer_call(f"glmer({F}, cbpp, binomial, devFunOnly = TRUE, verbose = NA)")
    kw = c.py_kwargs()
    assert "devFunOnly" not in kw and kw["verbose"] is pd.NA
    assert c.r_text["verbose"] == "NA" and c.r_text["devFunOnly"] == "TRUE"
    c = parse_glmer_call(f'glmer({F}, cbpp, binomial, devFunOnly = "yes")')
    assert c.py_kwargs()["devFunOnly"] == "yes"  # read by both sides as R's if() reads it


@pytest.mark.parametrize("text", [
    f"lmer({F}, cbpp)",
    f"glmer({F}, cbpp, binomial, mustart = m + 1)",
    f"glmer({F}, cbpp, quasibinomial)",
    f"glmer({F}, cbpp, binomial, nAGQ = 1.5)",
    f"glmer({F}, cbpp, binomial, nAGQ = -1)",
    f"glmer({F}, cbpp, binomial, control = list(tolPwrss = 1e-8))",
    f"glmer({F}, cbpp, binomial, control = glmerControl(foo = 1))",
    f"glmer({F}, cbpp, binomial, control = glmerControl(optimizer = c('a', 'b', 'c')))",
    f"glmer({F}, cbpp, binomial, weights = system('x'))",
    f"glmer({F}, data = read.csv('x'))",
    f"glmer({F}, cbpp, binomial, family = poisson)",
    # R's `contrasts<-` would look the name up and call it (seen: Sys.getpid, "unused arguments")
    f'glmer({F}, cbpp, binomial, contrasts = list(period = "Sys.getpid"))',
    f"glmer({F}, cbpp, binomial, contrasts = list(period = Sys.getpid))",
])
def test_refused_in_one_line(text: str) -> None:
    with pytest.raises(BadCall) as ei:
        parse_glmer_call(text)
    assert "\n" not in str(ei.value)


def test_mustart_etastart_are_columns() -> None:
    c = parse_glmer_call(f"glmer({F}, cbpp, binomial, mustart = m, etastart = e)")
    assert (c.mustart, c.etastart) == ("m", "e")
    assert c.extra_arguments()["mustart"] == "m"


def test_is_glmer_call() -> None:
    assert is_glmer_call(f"gm <- glmer({F}, cbpp)") and is_glmer_call(f"lme4::glmer({F}, cbpp)")
    assert not is_glmer_call(f"lmer({F}, cbpp)") and not is_glmer_call(f"glmerx({F}, cbpp)")
