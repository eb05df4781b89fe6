"""pyreterms.design.frame -- R's ``model.frame`` as lme4 calls it (``subbars`` formula, subset, weights,
``na.action``, ``drop.unused.levels = TRUE``, then ``factorize(char.only = TRUE)``), against R 4.2.2 +
lme4 1.1-31 (no R at test time).

The expected values were produced once with Rscript::

    d <- data.frame(<FRAME below>); rownames(d) <- paste0("r", 1:10)
    fr <- lme4::lFormula(y ~ x + f + log(z) + s + (1 | g), d, weights = w, subset = z != 6)$fr
    names(fr); rownames(fr); names(attr(fr, "na.action")); fr$x; fr[["log(z)"]]; fr[["(weights)"]]
    levels(fr$f); as.integer(fr$f); levels(fr$s); as.integer(fr$s); levels(fr$g)
    d2 <- data.frame(y = c(1, NA, 3), x = 1:3)
    model.frame(y ~ x, d2, na.action = na.fail)     # error: "missing values in object"
    model.frame(y ~ x, d2, na.action = na.exclude)  # rows 1 3; class(attr(, "na.action")) "exclude"
    model.frame(y ~ x, d2, na.action = na.pass)     # rows 1 2 3
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyreterms.design.frame import model_frame
from pyreterms.errors import DataError
from pyreterms.formula.bars import subbars
from pyreterms.formula.deparse import deparse
from pyreterms.formula.parser import parse
from pyreterms.formula.values import Factor

FRAME = pd.DataFrame({
    "y": [1.5, 2.25, np.nan, 4, 5.5, 3, 2, 7, 6.5, 1],
    "x": [0.1, 0.4, 0.3, np.nan, 0.9, 1.2, 0.7, 0.2, 0.5, 0.8],
    "z": np.arange(1.0, 11.0),
    "f": pd.Categorical(list("bacbabacba"), categories=["c", "a", "b", "unused"]),
    "s": list("qpqprqprqp"),
    "g": ["g1", "g2", "g3"] * 3 + ["g1"],
    "w": [1.0, 2.0] * 5,
}, index=[f"r{i}" for i in range(1, 11)])


def _frame():
    return model_frame(subbars(parse("y ~ x + f + log(z) + s + (1 | g)")), FRAME, weights="w", subset="z != 6")


def test_columns_rows_and_dropped_rows_are_lme4s() -> None:
    fr, _ = _frame()
    assert fr.names == ("y", "x", "f", "log(z)", "s", "g", "(weights)")
    assert fr.rownames == ("r1", "r2", "r5", "r7", "r8", "r9", "r10")
    assert fr.dropped_rows == ("r3", "r4")  # names(attr(fr, "na.action")): the NA rows, not the subset's
    np.testing.assert_array_equal(fr.get("x"), [0.1, 0.4, 0.9, 0.7, 0.2, 0.5, 0.8])
    # R: fr[["log(z)"]] printed with %.17g
    np.testing.assert_array_equal(fr.get("log(z)"), [0.0, 0.69314718055994529, 1.6094379124341003,
                                                     1.9459101490553132, 2.0794415416798357, 2.1972245773362196,
                                                     2.3025850929940459])
    np.testing.assert_array_equal(fr.get("(weights)"), [1, 2, 1, 1, 2, 1, 2])


def test_factors_drop_unused_levels_and_characters_become_factors() -> None:
    fr, _ = _frame()
    f, s, g = fr.get("f"), fr.get("s"), fr.get("g")
    assert isinstance(f, Factor) and isinstance(s, Factor) and isinstance(g, Factor)
    assert f.levels == ("c", "a", "b")  # "unused" dropped, R's level order kept
    np.testing.assert_array_equal(f.codes + 1, [3, 2, 2, 2, 1, 3, 2])  # R: as.integer(fr$f)
    assert s.levels == ("p", "q", "r")
    np.testing.assert_array_equal(s.codes + 1, [2, 1, 3, 1, 3, 2, 1])
    assert g.levels == ("g1", "g2", "g3")


def test_the_variables_come_back_response_first() -> None:
    """R: ``attr(terms(fr), "variables")``: the frame's columns before ``(weights)``."""
    fr, variables = _frame()
    assert tuple(deparse(v) for v in variables) == fr.names[:-1]


@pytest.mark.parametrize("na_action,rows,dropped", [("na.omit", ("1", "3"), ("2",)), ("na.exclude", ("1", "3"), ("2",)),
                                                    ("na.pass", ("1", "2", "3"), ())])
def test_na_actions_are_rs(na_action: str, rows: tuple[str, ...], dropped: tuple[str, ...]) -> None:
    d = pd.DataFrame({"y": [1.0, np.nan, 3.0], "x": [1.0, 2.0, 3.0]})
    fr, _ = model_frame(parse("y ~ x"), d, na_action=na_action)
    assert fr.rownames == rows and fr.dropped_rows == dropped
    assert fr.na_action == ("exclude" if na_action == "na.exclude" else "omit")


def test_na_fail_and_unknown_actions_are_one_line_errors() -> None:
    d = pd.DataFrame({"y": [1.0, np.nan, 3.0], "x": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="^missing values in object$"):
        model_frame(parse("y ~ x"), d, na_action="na.fail")
    with pytest.raises(DataError, match='^could not find function "na.rm"$'):  # R's message (model.frame: get(na.action))
        model_frame(parse("y ~ x"), d, na_action="na.rm")
