"""R's data conventions in pyreterms without R: read.csv refusals, big integers as doubles (the live half is
tests/live/test_rdata.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pyreterms.design.dataframe import read_csv
from pyreterms.errors import DataError


def test_read_csv_refusals(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "nul.csv").write_bytes(b"y,g\n1,a\n2,b\x00c\n")
    (tmp_path / "latin1.csv").write_bytes(b"y,g\n1,a\n2,\xe9\n")
    for name, msg in [("d", "is a directory"), ("empty.csv", "is empty"), ("nul.csv", "line 3 contains a NUL byte"),
                      ("latin1.csv", "line 3 is not UTF-8"), ("missing.csv", "cannot read")]:
        with pytest.raises(DataError, match=msg) as e:
            read_csv(tmp_path / name)
        assert "\n" not in str(e.value)


def test_big_integers_are_doubles_as_in_r(tmp_path):
    import pyreterms

    d = pyreterms.load_dataset("sleepstudy")
    d["g"] = (np.arange(len(d)) % 6).astype(np.int64) * 3000000000  # codes beyond R's integer range
    d["unused"] = np.int64(2**40)
    lf = pyreterms.lformula("Reaction ~ Days + (1 | g)", d)
    # R: factor(c(0, 3e9, ...)) labels by as.character(double): "3e+09", "1.2e+10"
    assert lf.reTrms.flist[0][1].levels == ("0", "3e+09", "6e+09", "9e+09", "1.2e+10", "1.5e+10")
    d["inexact"] = pd.Series([2**60 + 1] * len(d), dtype=object).values
    with pytest.raises(DataError, match="no exact R representation"):
        pyreterms.lformula("Reaction ~ Days + inexact + (1 | Subject)", d)
    d["nul"] = ["a\x00b"] * len(d)
    with pytest.raises(DataError, match="NUL"):
        pyreterms.lformula("Reaction ~ Days + (1 | nul)", d)


def test_conventions_in_pyreterms():
    """Column names and values as R's model.matrix gives them (R's output pinned in the live tests)."""
    import pyreterms

    d = pyreterms.load_dataset("sleepstudy")[["Reaction", "Days", "Subject"]].copy()
    d["X.a"], d["X.b"] = d.Days.astype(float), d.Days.astype(float) ** 2
    d["fac"] = pd.Categorical(np.tile(["a", "b"], 90))
    d.attrs = {"matrix_columns": {"X": {"columns": ["X.a", "X.b"], "colnames": ["a", "b"]}},
               "contrasts": {"fac": {"matrix": [[1.0], [-1.0]], "colnames": None}}}
    lf = pyreterms.lformula("Reaction ~ -1 + X + fac + (fac | Subject)", d)
    assert lf.X.colnames == ("Xa", "Xb", "faca", "facb")  # first factor of a model without intercept: indicators
    assert lf.reTrms.cnms == (("Subject", ("(Intercept)", "fac1")),)
    np.testing.assert_array_equal(lf.reTrms.terms[0].Xi[:4, 1], [1.0, -1.0, 1.0, -1.0])
    with pytest.raises(DataError, match="not found"):  # the members are not variables of their own
        pyreterms.lformula("Reaction ~ X.a + (1 | Subject)", d)
    # contrasts= wins over the attribute (R: model.matrix's contrasts.arg), fixed part only
    lf2 = pyreterms.lformula("Reaction ~ fac + (fac | Subject)", d, contrasts={"fac": "contr.treatment"})
    assert lf2.X.colnames == ("(Intercept)", "facb") and lf2.reTrms.cnms[0][1] == ("(Intercept)", "fac1")
