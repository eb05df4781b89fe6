"""Issue 13 (part A, item 4): base R functions added to the formula allowlist (``round``,
``sin``/``cos``/``tan``, ``as.integer``, ``ifelse``, ``relevel``, ``interaction``) against R and lme4 live;
the common ones still outside it refused in one line."""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms as P
from parity.cli.main import main
from pyreterms.errors import FormulaError
from pyreterms.formula.base_functions import r_round

pytestmark = pytest.mark.r


@pytest.mark.parametrize("digits", [0, 1, 2, 3, 5, -1, -2])
def test_round_equals_r_round(digits, R):
    rng = np.random.default_rng(13)
    x = np.r_[rng.normal(0, 50, 400), np.arange(-40, 41) / 8, [0.15, 0.25, 0.35, 2.675, 1.005, -0.5, 0.5, 2.5,
                                                              1e-300, 123456.785, np.nan]]
    from rpy2.robjects import FloatVector

    with R.rlock():
        r = np.array(R.r_eval("round")(FloatVector(x), digits), dtype=np.float64)
    np.testing.assert_array_equal(r_round(x, float(digits)), r)


FORMULAS = [
    "Reaction ~ sin(Days) + cos(Days) + tan(Days / 10) + (1 | Subject)",
    "Reaction ~ round(Days / 3) + round(Days * 0.15, 1) + round(Days * 1.005, 2) + (1 | Subject)",
    "Reaction ~ as.integer(Days / 2) + (1 | Subject)",
    "Reaction ~ ifelse(Days > 4, 1, 0) + ifelse(Days == 2, Days, -1) + (1 | Subject)",
    'Reaction ~ Days + relevel(Subject, ref = "333") + (1 | Subject)',
    "Reaction ~ relevel(Subject, 3) + (1 | Subject)",
    "Reaction ~ Days + interaction(Days > 4, Days > 6) + (1 | Subject)",
    'Reaction ~ Days + relevel(Subject, ref = "999") + (1 | Subject)',  # both refuse
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_formula_functions_agree_with_lme4(formula, capsys):
    assert main(["check", formula, "--data", "r:lme4::sleepstudy", "--failures-only"]) == 0


@pytest.mark.parametrize("fn", ["mean(Days)", "sum(Days)", "paste(Subject)", "sqrt(mean(Days))", "interaction(Subject, Days, sep = ':')",
                                'ifelse(Days > 2, "a", "b")', "system('ls')", "as.character(Days)"])
def test_functions_outside_the_allowlist_are_refused_in_one_line(fn):
    d = P.load_dataset("sleepstudy")
    with pytest.raises(Exception) as e:
        P.lformula(f"Reaction ~ {fn} + (1 | Subject)", d)
    assert "\n" not in str(e.value) and isinstance(e.value, (FormulaError, P.errors.PyretermsError))
