"""Issue 10 item 4: R's evaluation rules for names.  Data columns shadow ``F``, ``T``, ``pi``;
backquoted names keep R's spelling in every component (fr names without backquotes for a bare
name, X colnames / cnms / Ztlist names with them, flist names as lme4's ``barnames`` deparse them).  Live; the checks without R are
tests/unit/test_names_backquoted.py."""
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


# R 4.2.2 / lme4 1.1-31: names(lf$fr), colnames(lf$X), lf$reTrms$cnms, names(lf$reTrms$flist),
# names(lf$reTrms$Ztlist) for FORMULAS[4] and FORMULAS[5] with the data of _data()
R_NAMES = {
    FORMULAS[4]: (("log(`Reaction Time`)", "my x", "I(`my x`^2)", "g g"), ("(Intercept)", "`my x`", "I(`my x`^2)"),
                  (("g g", ("(Intercept)", "`my x`")),), ("g g",), ("`my x` | `g g`",)),
    FORMULAS[5]: (("Reaction Time", "Days", "g g", "h"), ("(Intercept)", "Days"), None,
                  ("`g g`:h", "h:`g g`", "g g"), ("1 | `g g`:h", "1 | h:`g g`", "1 | `g g`")),
}


@pytest.mark.r
@pytest.mark.parametrize("formula", FORMULAS)
def test_every_component_agrees_with_lme4(R, formula):
    from parity.compare.check import check

    rep = check(formula, _data(), level="lformula")
    assert rep.ok and len(rep.components) > 10, [(c.name, c.detail[:300]) for c in rep.components if not c.ok]


@pytest.mark.r
def test_names_straight_from_r(R):
    """The names above, asked from lme4 itself (not copied)."""
    from parity.r.oracle import reference

    for formula in R_NAMES:
        res = dict(reference(formula, _data(), level="lformula").items)
        lf = pyreterms.lformula(formula, _data())
        assert tuple(res["lFormula()$fr"].names()) == lf.fr.names
        assert tuple(res["lFormula()$reTrms$flist"].names()) == tuple(g for g, _ in lf.reTrms.flist)
        assert tuple(res["lFormula()$reTrms$Ztlist"].names()) == tuple(n for n, _ in lf.reTrms.Ztlist)


@pytest.mark.r
def test_fit_level_with_shadowing_column(R):
    from parity.compare.check import check

    rep = check("`Reaction Time` ~ F + (F | Subject)", _data(), level="fit")
    bad = [(c.name, c.detail[:200]) for c in rep.components if not c.ok]
    assert rep.ok and len(rep.components) > 60, bad


@pytest.mark.r
def test_double_bar_with_backquoted_group_both_refuse(R):
    """lme4 1.1-31's expandDoubleVerts pastes deparse(`g g`) = "g g" and fails to parse it."""
    from parity.compare.check import check

    rep = check("`Reaction Time` ~ Days + (`my x` || `g g`)", _data(), level="lformula")
    assert rep.ok and [c.name for c in rep.components] == ["decision (accept/refuse)"]
    assert "both refuse" in rep.components[0].detail and "unexpected symbol" in rep.components[0].detail
