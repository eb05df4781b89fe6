"""Issue 10 item 3: the functions lme4 users write -- splines::ns / bs (and unqualified ns / bs),
cut, pmin / pmax, base::log / exp, stats::poly -- computed as R computes them.

The pure tests compare with numbers printed by R 4.2.2 (tests/unit/test_formula_functions_values.py); these
live tests ask the embedded R for the same values at run time and compare at 1e-12 relative.
The fn-* cases of parity/goldens/cases.py compare whole lFormula()/lmer() objects (tests/live/test_cases_live.py).
"""
from __future__ import annotations

import numpy as np
import pytest



def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# --------------------------------------------------------------------------- pure (R's printed values)


# --------------------------------------------------------------------------- live: R computes the same


def _r_matrix(code: str) -> np.ndarray:
    from parity.r.session import r_eval

    v = r_eval(f"local({{ m <- unclass({code}); m <- as.matrix(m); attributes(m) <- list(dim = dim(m)); m }}, "
               "envir = new.env(parent = asNamespace('splines')))")  # ns/bs visible without attaching splines
    return np.asarray(v, dtype=float)


RX = ("c(-2.1, 0.35, 0.35, 1, 1.7, 2.45, 3, 3.6, 4.05, 4.9, NA, 6.2, 7.75, 8, 9.35, 10.5, 11, 13.25, "
      "14, 15.5, 0.01, 5.5, 6.66, 7.01)")


@pytest.mark.r
@pytest.mark.parametrize("call", [
    "ns(x, 3)", "ns(x, df = 6)", "ns(x, df = 4, intercept = TRUE)", "ns(x, knots = c(0, 5, 11))",
    "ns(x, 3, Boundary.knots = c(0, 12))", "ns(x, knots = 4, Boundary.knots = c(-1, 14))",
    "bs(x, 3)", "bs(x, df = 7)", "bs(x, knots = c(2, 8), degree = 2)", "bs(x, df = 5, intercept = TRUE)",
    "bs(x, degree = 1, knots = c(1, 3, 9))", "splines::ns(x, df = 10)",
])
def test_splines_match_r(R, call):
    from pyreterms.formula.parser import parse
    from pyreterms.formula.evaluate import Evaluator

    r = _r_matrix(f"{{ x <- {RX}; {call} }}")
    x = np.array([np.nan if v == "NA" else float(v) for v in RX[2:-1].split(", ")])
    py = Evaluator({"x": x}, len(x))(parse(call)).values
    assert py.shape == r.shape
    assert (np.isnan(py) == np.isnan(r)).all()
    ok = ~np.isnan(r)
    assert _rel(py[ok], r[ok]) < 1e-12


@pytest.mark.r
@pytest.mark.parametrize("call", [
    "cut(x, 3)", "cut(x, 7)", "cut(x, breaks = c(-3, 0, 2.5, 10, 16))", "cut(x, c(-3, 0, 2.5, 10, 16), right = FALSE)",
    "cut(x, c(-2.1, 0, 2.5, 15.5), include.lowest = TRUE)", "cut(x, c(-2.1, 0, 2.5, 15.5), include.lowest = TRUE, "
    "right = FALSE)", "cut(x, c(0.001, 0.0011, 0.0012, 16), dig.lab = 2)", "cut(x * 1e6, 4)", "cut(x / 1e4, 5)",
    "cut(x, c(-Inf, 0, 5, Inf))", "cut(x, c(-Inf, 2, 1e5), right = FALSE)", "cut(-x, 2, labels = FALSE)",
])
def test_cut_matches_r(R, call):
    from parity.r.session import r_eval
    from pyreterms.formula.evaluate import Evaluator
    from pyreterms.formula.parser import parse

    r = r_eval(f"local({{ x <- {RX}; f <- {call}; list(as.character(levels(f)), as.integer(f)) }})")
    levels, codes = list(r[0]), [None if v == -2147483648 else int(v) for v in r[1]]
    x = np.array([np.nan if v == "NA" else float(v) for v in RX[2:-1].split(", ")])
    f = Evaluator({"x": x}, len(x))(parse(call))
    if "labels = FALSE" in call:  # R's integer codes
        assert levels == [] and [None if np.isnan(v) else int(v) for v in f] == codes
        return
    assert list(f.levels) == levels
    assert [None if c < 0 else int(c) + 1 for c in f.codes] == codes


@pytest.mark.r
def test_unqualified_ns_in_r_needs_splines_and_reference_r_provides_it(R):
    """lme4 alone (search path without splines) cannot find ns(); reference.R evaluates the formula as
    a user who wrote library(splines) has, so the harness asks R the question the user asked."""
    from parity.r.session import r_eval

    attached = list(r_eval("search()"))
    assert "package:splines" not in attached
    msg = r_eval('tryCatch({lme4::lFormula(Reaction ~ ns(Days, 3) + (1 | Subject), lme4::sleepstudy); "ok"}, '
                 'error = function(e) conditionMessage(e))')[0]
    assert msg == 'could not find function "ns"'
    res = r_eval('names(pyreterms_reference("Reaction ~ ns(Days, 3) + (1 | Subject)", lme4::sleepstudy))')
    assert "error" not in list(res) and "lFormula()$X" in list(res)
