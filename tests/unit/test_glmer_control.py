"""glmerControl and glmer's start without R (pyreterms/glmm/control.py, pyreterms/glmm/start.py): lme4
1.1-31's defaults as printed by ``args(lme4::glmerControl)``, its argument checks, getStart's rules;
the live comparisons are in tests/live/test_glmm_call_surface.py."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

from pyreterms.errors import LmeCheckError, LmeWarning
from pyreterms.glmm.control import GlmerControl, as_glmer_control, glmerControl
from pyreterms.glmm.start import check_start_names, get_start, update_start
from pyreterms.lmm.control import lmerControl


def test_defaults_are_lme4s() -> None:
    c = GlmerControl()
    assert c.optimizer == ("bobyqa", "Nelder_Mead") and c.restart_edge is False and c.boundary_tol == 1e-5
    assert c.calc_derivs is True and c.use_last_params is False and c.tolPwrss == 1e-7 and c.compDev is True
    assert c.nAGQ0initStep is True and c.check_response_not_const == "stop" and c.mod_type == "glmer"
    assert c.check_conv_grad == ("warning", 0.002) and c.check_conv_singular == ("message", 1e-4)
    assert c.check_conv_hess == ("warning", 1e-6)
    assert (c.checks.check_nobs_vs_rankZ, c.checks.check_nobs_vs_nlev, c.checks.check_nlev_gtreq_5,
            c.checks.check_nlev_gtr_1, c.checks.check_nobs_vs_nRE, c.checks.check_rankX, c.checks.check_scaleX,
            c.checks.check_formula_LHS) == ("ignore", "stop", "ignore", "stop", "stop", "message+drop.cols",
                                            "warning", "stop")
    assert dataclasses.asdict(glmerControl()) == dataclasses.asdict(c)


def test_one_optimizer_means_both_stages() -> None:
    assert glmerControl(optimizer="nloptwrap").optimizer == ("nloptwrap", "nloptwrap")
    assert glmerControl(optimizer=("Nelder_Mead", "bobyqa")).optimizer == ("Nelder_Mead", "bobyqa")


def test_argument_checks() -> None:
    with pytest.raises(LmeCheckError, match=r"^unused argument \(foo = 1\)$"):
        glmerControl(foo=1)
    with pytest.raises(LmeCheckError, match="^'arg' should be one of "):
        glmerControl(**{"check.rankX": "bad"})
    assert glmerControl(**{"check.rankX": "stop"}).checks.check_rankX == "stop.deficient"  # match.arg partial
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        glmerControl(**{"use.last.params": True})
    assert [str(w.message) for w in caught] == ["using 'use.last.params'=TRUE and 'calc.derivs'=TRUE with 'glmer' "
                                                "will not give backward-compatible results"]


def test_control_argument_of_glmer() -> None:
    with pytest.warns(LmeWarning, match=r"^please use glmerControl\(\) instead of lmerControl\(\)$"):
        c = as_glmer_control(lmerControl(optimizer="Nelder_Mead", **{"calc.derivs": False}))
    assert c.optimizer == ("Nelder_Mead", "Nelder_Mead") and c.calc_derivs is False and c.restart_edge is False
    assert as_glmer_control({"tolPwrss": 1e-9}).tolPwrss == 1e-9
    with pytest.raises(LmeCheckError, match=r"^'control' is not a list; use glmerControl\(\)$"):
        as_glmer_control("a")  # type: ignore[arg-type]


def test_start_rules() -> None:
    th, delb, cn = np.array([1.0]), np.zeros(3), ["(Intercept)", "b", "c"]
    assert get_start(None, th, delb, cn, all_pars=True).tolist() == [1.0, 0.0, 0.0, 0.0]
    assert get_start(0.5, th, delb, cn, all_pars=False).tolist() == [0.5]
    assert get_start({"fixef": [1, 2, 3]}, th, delb, cn, all_pars=True).tolist() == [1.0, 1.0, 2.0, 3.0]
    # a longer named fixef is taken by X's column names; one of the same length is taken as given
    long = {"fixef": {"c": 3.0, "b": 2.0, "x": 9.0, "(Intercept)": 1.0}}
    assert get_start(long, th, delb, cn, all_pars=True).tolist() == [1.0, 1.0, 2.0, 3.0]
    same = {"fixef": {"c": 3.0, "b": 2.0, "(Intercept)": 1.0}}
    assert get_start(same, th, delb, cn, all_pars=True).tolist() == [1.0, 3.0, 2.0, 1.0]
    for bad, msg in (([1.0, 2.0], r"^incorrect number of theta components \(!=1\)$"),
                     ({"fixef": [1.0]}, r"^incorrect number of fixef components \(!=3\)$"),
                     ({"theta": "a"}, "^all elements of start must be numeric$"),
                     (True, "^'start' must be NULL, a numeric vector or named list of such vectors$")):
        with pytest.raises(LmeCheckError, match=msg):
            get_start(bad, th, delb, cn, all_pars=True)
    with pytest.raises(LmeCheckError, match=r"^bad name\(s\) for start vector \(a, b\); should be 'theta' and/or"):
        check_start_names({"theta": 1, "a": 1, "b": 2}, 1)
    with pytest.raises(LmeCheckError, match=r"^should not specify both start\$fixef and nAGQ==0$"):
        check_start_names({"fixef": [1.0]}, 0)
    assert update_start([0.1], np.array([0.7])).tolist() == [0.7]
    assert update_start({"theta": 0.1, "fixef": [1.0]}, np.array([0.7]))["fixef"] == [1.0]
    assert update_start({"fixef": [1.0]}, np.array([0.7])) == {"fixef": [1.0]}
    assert update_start(None, np.array([0.7])) is None
