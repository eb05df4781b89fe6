"""Issue 2: the seed example end to end, exactly as lme4 1.1-31 builds it (live R)."""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms
from parity.campaigns.mutants import shifted, without
from parity.compare.check import check, r_components
from parity.r.values import RSparse

pytestmark = pytest.mark.r

SEED = "Reaction ~ Days + (Days | Subject)"


def _dense(v):
    return v.x.toarray() if isinstance(v, RSparse) else np.asarray(v.x)


def test_seed_Ji_Xi_Zt_exact(ss3):
    lf = pyreterms.lformula(SEED, ss3)
    r = r_components(SEED, ss3, REML=True, level="lformula")
    term = lf.reTrms.terms[0]
    J_r = r["lapply(reTrms$flist[assign], function(f) t(fac2sparse(f)))"]["Days | Subject"]
    assert term.J.shape == (30, 3) == J_r.x.shape
    assert np.array_equal(term.J.toarray(), J_r.x.toarray())
    Xi_r = r["lme4:::mmList(formula, lFormula()$fr)"]["Days | Subject"]
    assert term.Xi.T.shape == (2, 30)
    assert np.array_equal(term.Xi, Xi_r.x)
    assert term.cnms == tuple(Xi_r.colnames) == ("(Intercept)", "Days")
    Zt_r = r["lFormula()$reTrms$Zt"]
    assert lf.reTrms.Zt.shape == (6, 30)
    assert lf.reTrms.Zt_rownames == tuple(Zt_r.rownames) == ("309", "309", "330", "330", "371", "371")
    assert lf.reTrms.Zt_colnames == tuple(Zt_r.colnames)
    a, b = lf.reTrms.Zt, Zt_r.x
    assert a.nnz == b.nnz == 57
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)
    # Z_i = (J_i^T * X_i^T)^T: the row-wise Khatri-Rao product of J_i and X_i
    kr = np.vstack([np.kron(term.J.toarray()[j], term.Xi[j]) for j in range(30)])
    assert np.array_equal(kr, a.T.toarray())


def test_seed_every_reTrms_component_exact(ss3):
    rep = check(SEED, ss3, level="lformula")
    bad = [(c.name, c.detail) for c in rep.components if not c.ok]
    assert not bad, bad
    names = {c.name for c in rep.components}
    for comp in ("Zt", "Ztlist", "Lambdat", "Lind", "theta", "lower", "Gp", "cnms", "flist", "nl"):
        assert f"lFormula()$reTrms${comp}" in names
    for c in rep.components:
        if c.name.startswith("lFormula()$reTrms"):
            assert c.max_abs_diff == 0.0, (c.name, c.max_abs_diff)  # every one has numbers to compare


def test_small_khatri_rao_example(R):
    """f = gl(3, 2), X_i = cbind(1, rep(c(-1, 1), 3)): lme4's 6 x 6 Z_i^T."""
    from parity.r.convert import r_to_value
    from pyreterms.design.reterms import khatri_rao_t
    from pyreterms.formula.values import Factor

    ff = Factor(np.array([0, 0, 1, 1, 2, 2]), ("1", "2", "3"))
    Xi = np.column_stack([np.ones(6), np.tile([-1.0, 1.0], 3)])
    ours = khatri_rao_t(ff, Xi)
    theirs = r_to_value(R.r_eval("as(KhatriRao(fac2sparse(gl(3, 2)), t(cbind(1, rep(c(-1, 1), 3)))), 'CsparseMatrix')"))
    assert ours.shape == theirs.x.shape == (6, 6)
    assert np.array_equal(ours.toarray(), theirs.x.toarray())
    assert np.array_equal(ours.indices, theirs.x.indices) and np.array_equal(ours.indptr, theirs.x.indptr)


def test_full_sleepstudy_lformula(sleepstudy):
    rep = check(SEED, sleepstudy, level="lformula")
    bad = [(c.name, c.detail) for c in rep.components if not c.ok]
    assert not bad, bad
    lf = pyreterms.lformula(SEED, sleepstudy)
    assert lf.reTrms.Zt.shape == (36, 180)
    assert lf.reTrms.flist[0][1].levels[:3] == ("308", "309", "310")


def test_harness_fails_on_a_missing_component(ss3):
    """A component one side lacks is a disagreement, never a pass."""
    lacks_lind = without("lFormula()$reTrms$Lind")

    rep = check(SEED, ss3, level="lformula", impl=lacks_lind)
    assert not rep.ok
    assert any(c.name == "lFormula()$reTrms$Lind" and not c.ok for c in rep.components)


def test_harness_catches_off_by_one_lind(ss3):
    shifted_lind = shifted("lFormula()$reTrms$Lind")

    rep = check(SEED, ss3, level="lformula", impl=shifted_lind)
    assert [c.name for c in rep.components if not c.ok] == ["lFormula()$reTrms$Lind"]
