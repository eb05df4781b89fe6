"""pyreterms.design.modelmatrix -- R's ``model.matrix``: columns, names, ``assign``, contrasts (treatment
coding, full indicator coding of the first factor without an intercept, interactions, logicals), against
R 4.2.2 (no R at test time).

The expected values were produced once with Rscript (``FRAME`` as in tests/unit/test_design_frame.py)::

    dd <- na.omit(d)
    mm <- model.matrix(f, model.frame(f, dd, drop.unused.levels = TRUE))
    colnames(mm); attr(mm, "assign"); names(attr(mm, "contrasts")); sprintf("%.17g", as.vector(mm))
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyreterms.design.frame import model_frame
from pyreterms.design.modelmatrix import model_matrix
from pyreterms.formula.parser import parse
from pyreterms.formula.terms import make_terms

DD = pd.DataFrame({
    "y": [1.5, 2.25, 5.5, 3, 2, 7, 6.5, 1],
    "x": [0.1, 0.4, 0.9, 1.2, 0.7, 0.2, 0.5, 0.8],
    "z": [1.0, 2, 5, 6, 7, 8, 9, 10],
    "f": pd.Categorical(list("baabacba"), categories=["c", "a", "b", "unused"]),
    "s": list("qprqprqp"),
}, index=["r1", "r2", "r5", "r6", "r7", "r8", "r9", "r10"])

X = [0.1, 0.4, 0.9, 1.2, 0.7, 0.2, 0.5, 0.8]
LOGZ = [0.0, 0.69314718055994529, 1.6094379124341003, 1.791759469228055, 1.9459101490553132, 2.0794415416798357,
        2.1972245773362196, 2.3025850929940459]
ONE = [1.0] * 8

#: formula -> (colnames, assign, contrasts' variables, columns) -- R 4.2.2 (the Rscript call above)
R_MM = {
    "~ f * x + s": (
        ("(Intercept)", "fa", "fb", "x", "sq", "sr", "fa:x", "fb:x"), (0, 1, 1, 2, 3, 3, 4, 4), ("f", "s"),
        [ONE, [0, 1, 1, 0, 1, 0, 0, 1], [1, 0, 0, 1, 0, 0, 1, 0], X, [1, 0, 0, 1, 0, 0, 1, 0],
         [0, 0, 1, 0, 0, 1, 0, 0], [0, 0.4, 0.9, 0, 0.7, 0, 0, 0.8], [0.1, 0, 0, 1.2, 0, 0, 0.5, 0]]),
    "~ 0 + f + x:s": (
        ("fc", "fa", "fb", "x:sp", "x:sq", "x:sr"), (1, 1, 1, 2, 2, 2), ("f", "s"),
        [[0, 0, 0, 0, 0, 1, 0, 0], [0, 1, 1, 0, 1, 0, 0, 1], [1, 0, 0, 1, 0, 0, 1, 0],
         [0, 0.4, 0, 0, 0.7, 0, 0, 0.8], [0.1, 0, 0, 1.2, 0, 0, 0.5, 0], [0, 0, 0.9, 0, 0, 0.2, 0, 0]]),
    "~ f:s": (
        ("(Intercept)", "fc:sp", "fa:sp", "fb:sp", "fc:sq", "fa:sq", "fb:sq", "fc:sr", "fa:sr", "fb:sr"),
        (0, 1, 1, 1, 1, 1, 1, 1, 1, 1), ("f", "s"),
        [ONE, [0] * 8, [0, 1, 0, 0, 1, 0, 0, 1], [0] * 8, [0] * 8, [0] * 8, [1, 0, 0, 1, 0, 0, 1, 0],
         [0, 0, 0, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0, 0, 0], [0] * 8]),
    "~ x + I(x > 0.4) + log(z)": (
        ("(Intercept)", "x", "I(x > 0.4)TRUE", "log(z)"), (0, 1, 2, 3), ("I(x > 0.4)",),
        [ONE, X, [0, 0, 1, 1, 1, 0, 1, 1], LOGZ]),
    "~ 0 + s:x + f": (
        ("fc", "fa", "fb", "sp:x", "sq:x", "sr:x"), (1, 1, 1, 2, 2, 2), ("s", "f"),
        [[0, 0, 0, 0, 0, 1, 0, 0], [0, 1, 1, 0, 1, 0, 0, 1], [1, 0, 0, 1, 0, 0, 1, 0],
         [0, 0.4, 0, 0, 0.7, 0, 0, 0.8], [0.1, 0, 0, 1.2, 0, 0, 0.5, 0], [0, 0, 0.9, 0, 0, 0.2, 0, 0]]),
}


@pytest.mark.parametrize("text", list(R_MM))
def test_model_matrix_is_rs(text: str) -> None:
    colnames, assign, contrasted, cols = R_MM[text]
    f = parse(text)
    fr, _ = model_frame(f, DD)
    mm = model_matrix(make_terms(f), fr)
    assert mm.colnames == colnames
    assert mm.assign == assign
    np.testing.assert_array_equal(mm.X, np.array(cols, dtype=float).T)


#: R's attr(mm, "contrasts") names every factor of the matrix, also those coded by indicators only


@pytest.mark.parametrize("text", list(R_MM))
def test_contrasts_attribute_is_rs(text: str) -> None:
    contrasted = R_MM[text][2]
    f = parse(text)
    fr, _ = model_frame(f, DD)
    mm = model_matrix(make_terms(f), fr)
    assert tuple(v for v, _ in mm.contrasts) == contrasted
    assert all(kind == "contr.treatment" for _, kind in mm.contrasts)
