"""pyreterms.design.reterms -- lme4's ``mkReTrms``: terms reordered by number of levels, Gp, Lind,
theta, lower, cnms, flist (+ assign), nl, Zt (values and row names) and the Lambdat pattern, against
lme4 1.1-31 (no R at test time; tests/live checks the same fields on many designs).

The expected values were produced once with Rscript (R 4.2.2, lme4 1.1-31)::

    d <- data.frame(<DATA below>)
    rt <- lFormula(y ~ x + (x | g) + (1 | h) + (1 | g:h), d,
                   control = lmerControl(check.nlev.gtreq.5 = "ignore"))$reTrms
    names(rt$Ztlist); rt$Gp; rt$Lind; rt$theta; rt$lower; rt$cnms; names(rt$flist)
    attr(rt$flist, "assign"); lapply(rt$flist, levels); rt$nl; rownames(rt$Zt)
    sprintf("%.17g", as.vector(as.matrix(rt$Zt))); rt$Lambdat@i; rt$Lambdat@p; rt$Lambdat@x
    names(getME(lmer(<same call>), "theta"))
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pyreterms.design.frame import model_frame
from pyreterms.design.model import ReTrms
from pyreterms.design.reterms import mk_reterms
from pyreterms.formula.bars import findbars, subbars
from pyreterms.formula.parser import parse

DATA = pd.DataFrame({
    "y": [3.1, 2.4, 5.0, 4.2, 3.3, 6.1, 2.2, 4.8, 5.5, 3.9, 4.4, 2.9],
    "x": [0.5, 1.5, 2.5, 0.25, 1.25, 2.25, 0.75, 1.75, 2.75, 1, 2, 3],
    "g": ["a", "b", "c"] * 4,
    "h": ["u"] * 6 + ["v"] * 6,
})
FORMULA = "y ~ x + (x | g) + (1 | h) + (1 | g:h)"

#: as.vector(as.matrix(rt$Zt)) (column-major, 14 x 12) -- lme4 1.1-31
ZT = [1, 0, 0, 0, 0, 0, 1, 0.5, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1.5, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0,
      0, 0, 1, 2.5, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0.25, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1.25, 0, 0, 1, 0, 0,
      0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 2.25, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0.75, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1,
      1.75, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2.75, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0,
      1, 0, 0, 0, 0, 1, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 0, 1]


def _reterms() -> ReTrms:
    f = parse(FORMULA)
    fr, _ = model_frame(subbars(f), DATA)
    return mk_reterms(findbars(f.argv[-1]), fr)  # type: ignore[union-attr]


def test_terms_are_ordered_by_levels_as_lme4() -> None:
    rt = _reterms()
    assert tuple(name for name, _ in rt.Ztlist) == ("1 | g:h", "x | g", "1 | h")
    assert rt.cnms == (("g:h", ("(Intercept)",)), ("g", ("(Intercept)", "x")), ("h", ("(Intercept)",)))
    assert tuple(g for g, _ in rt.flist) == ("g:h", "g", "h")
    assert tuple(rt.assign + 1) == (1, 2, 3)
    assert dict(rt.flist)["g:h"].levels == ("a:u", "a:v", "b:u", "b:v", "c:u", "c:v")
    assert dict(rt.flist)["g"].levels == ("a", "b", "c") and dict(rt.flist)["h"].levels == ("u", "v")
    assert rt.nl == (("g:h", 6), ("g", 3), ("h", 2))


def test_parameters_are_lme4s() -> None:
    rt = _reterms()
    np.testing.assert_array_equal(rt.Gp, [0, 6, 12, 14])
    np.testing.assert_array_equal(rt.Lind + 1, [1, 1, 1, 1, 1, 1, 2, 3, 4, 2, 3, 4, 2, 3, 4, 5, 5])
    np.testing.assert_array_equal(rt.theta, [1, 1, 0, 1, 1])
    np.testing.assert_array_equal(rt.lower, [0, 0, -np.inf, 0, 0])
    assert rt.theta_names() == ("g:h.(Intercept)", "g.(Intercept)", "g.x.(Intercept)", "g.x", "h.(Intercept)")


def test_zt_is_lme4s() -> None:
    rt = _reterms()
    assert rt.Zt.shape == (14, 12)
    np.testing.assert_array_equal(rt.Zt.toarray(), np.array(ZT, dtype=float).reshape(12, 14).T)
    assert rt.Zt_rownames == ("a:u", "a:v", "b:u", "b:v", "c:u", "c:v", "a", "a", "b", "b", "c", "c", "u", "v")


def test_lambdat_pattern_is_lme4s() -> None:
    """lme4's Lambdat (dgCMatrix, upper triangular): the same stored entries in the same order at theta0."""
    L = _reterms().Lambdat.tocsc()
    L.sort_indices()
    np.testing.assert_array_equal(L.indices, [0, 1, 2, 3, 4, 5, 6, 6, 7, 8, 8, 9, 10, 10, 11, 12, 13])
    np.testing.assert_array_equal(L.indptr, [0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 12, 13, 15, 16, 17])
    np.testing.assert_array_equal(L.data, [1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1])
