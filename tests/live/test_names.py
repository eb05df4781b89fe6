"""Issue 10 item 4: R's evaluation rules for names.  Data columns shadow ``F``, ``T``, ``pi``;
backquoted names keep R's spelling in every component (fr names without backquotes for a bare
name, X colnames / cnms / Ztlist names with them, flist names as lme4's ``barnames`` deparse them).  Live; the checks without R are
tests/unit/test_names_backquoted.py."""
from __future__ import annotations

import pytest

import pyreterms
from helpers.names_data import FORMULAS, R_NAMES, backquoted_data


@pytest.mark.r
@pytest.mark.parametrize("formula", FORMULAS)
def test_every_component_agrees_with_lme4(R, formula):
    from parity.compare.check import check

    rep = check(formula, backquoted_data(), level="lformula")
    assert rep.ok and len(rep.components) > 10, [(c.name, c.detail[:300]) for c in rep.components if not c.ok]


@pytest.mark.r
def test_names_straight_from_r(R):
    """The names above, asked from lme4 itself (not copied)."""
    from parity.r.oracle import reference

    for formula in R_NAMES:
        res = dict(reference(formula, backquoted_data(), level="lformula").items)
        lf = pyreterms.lformula(formula, backquoted_data())
        assert tuple(res["lFormula()$fr"].names()) == lf.fr.names
        assert tuple(res["lFormula()$reTrms$flist"].names()) == tuple(g for g, _ in lf.reTrms.flist)
        assert tuple(res["lFormula()$reTrms$Ztlist"].names()) == tuple(n for n, _ in lf.reTrms.Ztlist)


@pytest.mark.r
def test_fit_level_with_shadowing_column(R):
    from parity.compare.check import check

    rep = check("`Reaction Time` ~ F + (F | Subject)", backquoted_data(), level="fit")
    bad = [(c.name, c.detail[:200]) for c in rep.components if not c.ok]
    assert rep.ok and len(rep.components) > 60, bad


@pytest.mark.r
def test_double_bar_with_backquoted_group_both_refuse(R):
    """lme4 1.1-31's expandDoubleVerts pastes deparse(`g g`) = "g g" and fails to parse it."""
    from parity.compare.check import check

    rep = check("`Reaction Time` ~ Days + (`my x` || `g g`)", backquoted_data(), level="lformula")
    assert rep.ok and [c.name for c in rep.components] == ["decision (accept/refuse)"]
    assert "both refuse" in rep.components[0].detail and "unexpected symbol" in rep.components[0].detail
