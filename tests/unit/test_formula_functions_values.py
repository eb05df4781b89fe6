"""ns / bs / cut / pmin / pmax / quantile against R's printed values (pasted in), names in the model matrix
and frame, one-line refusals of unsupported settings (no R; the live half is tests/live/test_formula_functions.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pyreterms
from pyreterms.errors import DataError, FormulaError
from pyreterms.formula.splines import bs, cut, ns, quantile7, spline_design

X6 = np.array([0.5, 1, 2, 3.25, 7, 10])


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def test_ns_bs_against_printed_r_values():
    # R: x <- c(0.5, 1, 2, 3.25, 7, 10); unclass(ns(x, 3))[4, ]
    assert _rel(ns(X6, 3)[3], [0.076649250014327625, 0.594088411799032712, -0.345731856859799958]) < 1e-12
    # unclass(bs(x, df = 4))[3, ]
    assert _rel(bs(X6, 4)[2], [0.736464341029762770, 0.220494780933393419, 0.017598175004073652, 0.0]) < 1e-12
    # unclass(ns(x, knots = c(2, 5), intercept = TRUE))[5, ]
    assert _rel(ns(X6, None, [2, 5], True)[4],
                [0.069332106338419963, 0.456267528266505407, 0.293967584401822912, 0.178712255752724314]) < 1e-12


def test_cut_labels_and_codes_against_printed_r_values():
    codes, labs = cut(X6, [3])
    assert labs == ("(0.49,3.67]", "(3.67,6.83]", "(6.83,10]") and (codes + 1).tolist() == [1, 1, 1, 1, 3, 3]
    codes, labs = cut(X6, [0, 1, 5, 10], right=False, include_lowest=True)
    assert labs == ("[0,1)", "[1,5)", "[5,10]") and (codes + 1).tolist() == [1, 2, 2, 2, 3, 3]
    assert cut(np.array([1.0, 1, 1]), [2])[1] == ("(0.999,1]", "(1,1.001]")
    assert cut(np.array([0.001234, 0.001235, 0.5]), [2])[1] == ("(0.000735,0.251]", "(0.251,0.5]")
    with pytest.raises(DataError, match="'breaks' are not unique"):
        cut(X6, [0, 1, 1, 5])
    with pytest.raises(DataError, match="invalid number of intervals"):
        cut(X6, [1])


def test_quantile_type7_and_spline_design_partition_of_unity():
    assert quantile7(np.array([3.0, 1, 2, 10]), np.array([0, 0.25, 0.5, 1])).tolist() == [1.0, 1.75, 2.5, 10.0]
    knots = np.r_[[0.0] * 4, 1, 2.5, [4.0] * 4]
    B = spline_design(knots, np.linspace(0, 4, 17))
    assert np.allclose(B.sum(axis=1), 1.0, rtol=0, atol=1e-14)


def test_names_in_model_matrix_and_frame():
    d = pyreterms.load_dataset("sleepstudy")
    lf = pyreterms.lformula("Reaction ~ ns(Days, 3) + cut(Days, 3) + (1 | Subject)", d)
    assert lf.fr.names == ("Reaction", "ns(Days, 3)", "cut(Days, 3)", "Subject")
    # R: colnames(lFormula(...)$X) (lme4 1.1-31, sleepstudy)
    assert lf.X.colnames == ("(Intercept)", "ns(Days, 3)1", "ns(Days, 3)2", "ns(Days, 3)3", "cut(Days, 3)(3,6]",
                             "cut(Days, 3)(6,9.01]")
    lf = pyreterms.lformula("Reaction ~ splines::bs(Days, df = 4) + (1 | Subject)", d)
    assert lf.X.colnames == ("(Intercept)", "splines::bs(Days, df = 4)1", "splines::bs(Days, df = 4)2",
                             "splines::bs(Days, df = 4)3", "splines::bs(Days, df = 4)4")


def test_pmin_pmax_propagate_na_and_constants_broadcast():
    d = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "x": [0.0, 5, np.nan, 2, 9, 1], "g": list("aabbcc")})
    lf = pyreterms.lformula("y ~ pmin(x, 3) + pmax(x, 1, 2) + (1 | g)", d)
    assert lf.fr.get("pmin(x, 3)").tolist() == [0, 3, 2, 3, 1]
    assert lf.fr.get("pmax(x, 1, 2)").tolist() == [2, 5, 2, 9, 2]
    assert lf.fr.rownames == ("1", "2", "4", "5", "6")


@pytest.mark.parametrize("formula,msg", [
    ("y ~ ns(x, df = 1.5) + (1 | g)", "non-integer df"),
    ("y ~ cut(x, 2, labels = TRUE) + (1 | g)", "labels must be FALSE or strings"),
    ("y ~ pmin(x, 1, na.rm = TRUE) + (1 | g)", "na.rm = TRUE is not supported"),
])
def test_unsupported_settings_are_refused_in_one_line(formula, msg):
    d = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "x": [0.0, 5, 3, 2, 9, 1], "g": list("aabbcc")})
    with pytest.raises((FormulaError, pyreterms.errors.UnsupportedInput), match=msg):
        pyreterms.lformula(formula, d)
