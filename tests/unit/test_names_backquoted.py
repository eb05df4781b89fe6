"""Backquoted and shadowing names as R prints them, without R (the live half is tests/live/test_names.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pyreterms


def _data() -> pd.DataFrame:
    d = pyreterms.load_dataset("sleepstudy").rename(columns={"Reaction": "Reaction Time"})
    n = len(d)
    d["F"] = pd.Categorical(np.array(["a", "b", "c"])[np.arange(n) % 3])
    d["T"] = d["Subject"]
    d["pi"] = d["Days"] * 2.0
    d["my x"] = np.round(np.sin(np.arange(n)) * 3, 3)
    d["g g"] = d["Subject"]
    d["h"] = pd.Categorical(np.array(["u", "v"])[np.arange(n) % 2])
    d["my f"] = d["h"]
    return d


FORMULAS = [
    "`Reaction Time` ~ F + (F | Subject)",
    "`Reaction Time` ~ Days + (1 | F)",
    "`Reaction Time` ~ pi + (1 | T)",
    "`Reaction Time` ~ Days + I(pi / 2) + (Days | T)",
    "log(`Reaction Time`) ~ `my x` + I(`my x`^2) + (`my x` | `g g`)",
    "`Reaction Time` ~ Days + (1 | `g g`:h) + (1 | `g g`/h)",
    "`Reaction Time` ~ Days + (`my x` || Subject)",
    "`Reaction Time` ~ `my f` * Days + (`my f` | Subject) + (0 + pi | F)",
]


def test_shadowing_without_r():
    d = _data()
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


# R 4.2.2 / lme4 1.1-31: names(lf$fr), colnames(lf$X), lf$reTrms$cnms, names(lf$reTrms$flist),
# names(lf$reTrms$Ztlist) for FORMULAS[4] and FORMULAS[5] with the data of _data()
R_NAMES = {
    FORMULAS[4]: (("log(`Reaction Time`)", "my x", "I(`my x`^2)", "g g"), ("(Intercept)", "`my x`", "I(`my x`^2)"),
                  (("g g", ("(Intercept)", "`my x`")),), ("g g",), ("`my x` | `g g`",)),
    FORMULAS[5]: (("Reaction Time", "Days", "g g", "h"), ("(Intercept)", "Days"), None,
                  ("`g g`:h", "h:`g g`", "g g"), ("1 | `g g`:h", "1 | h:`g g`", "1 | `g g`")),
}


@pytest.mark.parametrize("formula", list(R_NAMES))
def test_backquoted_names_as_r_prints_them(formula):
    lf = pyreterms.lformula(formula, _data())
    fr, X, cnms, flist, zt = R_NAMES[formula]
    assert lf.fr.names == fr
    assert lf.X.colnames == X
    if cnms is not None:
        assert lf.reTrms.cnms == cnms
    assert tuple(g for g, _ in lf.reTrms.flist) == flist
    assert tuple(n for n, _ in lf.reTrms.Ztlist) == zt
