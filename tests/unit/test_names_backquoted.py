"""Backquoted and shadowing names as R prints them, without R (the live half is tests/live/test_names.py; the
data and formulas are tests/helpers/names_data.py)."""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms
from helpers.names_data import R_NAMES, backquoted_data


def test_shadowing_without_r():
    d = backquoted_data()
    lf = pyreterms.lformula("`Reaction Time` ~ F + (F | Subject)", d)
    assert lf.fr.names == ("Reaction Time", "F", "Subject")
    assert lf.X.colnames == ("(Intercept)", "Fb", "Fc")
    assert lf.reTrms.cnms == (("Subject", ("(Intercept)", "Fb", "Fc")),)
    lf = pyreterms.lformula("`Reaction Time` ~ Days + (1 | F)", d)
    assert [g for g, _ in lf.reTrms.flist] == ["F"] and lf.reTrms.flist[0][1].nlevels == 3
    # without a column F, F is FALSE (as in R): a constant term R's model.frame keeps as a logical
    d2 = d.drop(columns=["F"])
    lf = pyreterms.lformula("`Reaction Time` ~ Days + I(Days * F) + (1 | Subject)", d2)
    assert np.all(lf.fr.get("I(Days * F)") == 0)
    # lme4 1.1-31 pastes `g g` without backquotes when expanding ||, and R cannot parse that
    with pytest.raises(pyreterms.errors.FormulaError, match="cannot be expanded"):
        pyreterms.lformula("`Reaction Time` ~ Days + (`my x` || `g g`)", d)


@pytest.mark.parametrize("formula", list(R_NAMES))
def test_backquoted_names_as_r_prints_them(formula):
    lf = pyreterms.lformula(formula, backquoted_data())
    fr, X, cnms, flist, zt = R_NAMES[formula]
    assert lf.fr.names == fr
    assert lf.X.colnames == X
    if cnms is not None:
        assert lf.reTrms.cnms == cnms
    assert tuple(g for g, _ in lf.reTrms.flist) == flist
    assert tuple(n for n, _ in lf.reTrms.Ztlist) == zt
