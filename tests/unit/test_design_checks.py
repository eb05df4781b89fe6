"""pyreterms.design.checks -- lme4's ``checkNlevels``, ``checkZdims``, ``checkZrank`` and ``checkCtrlLevels``:
the same decisions and lme4 1.1-31's texts, word for word (no R at test time).

The expected texts were produced once with Rscript (R 4.2.2, lme4 1.1-31, a UTF-8 locale)::

    cc <- lmerControl()$checkControl
    lme4:::checkNlevels(list(g = factor(c(1, 1, 1))), 3, cc)                              # NLEV1
    lme4:::checkNlevels(list(g = factor(1:6), h = factor(c(1, 1, 2, 2, 3, 3))), 6, cc)    # NLEVN
    lme4:::checkNlevels(list(h = factor(c(1, 1, 2, 2, 3, 3))), 6,
                        lmerControl(check.nlev.gtreq.5 = "warning")$checkControl)       # NLEV5 (warning)
    lme4:::checkZdims(list("x | g" = Matrix(diag(6), sparse = TRUE)), 6, cc)             # ZDIMS
    lme4:::checkZrank(t(Matrix(cbind(diag(3), diag(3)), sparse = TRUE)), 3,
                      lmerControl(check.nobs.vs.rankZ = "stop")$checkControl)           # ZRANK
    lme4:::checkCtrlLevels("check.nlev.gtr.1", "bogus")                                  # CTRL
    lme4:::checkCtrlLevels("check.nobs.vs.rankZ", "bogus", smallOK = TRUE)              # CTRL_SMALL
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from pyreterms.design.checks import (CheckControl, as_check_control, check_ctrl_level, check_nlevels, check_zdims,
                                     check_zrank)
from pyreterms.errors import LmeCheckError, LmeWarning

UNIDENT = "; the random-effects parameters and the residual variance (or scale parameter) are probably unidentifiable"
NLEV1 = "grouping factors must have > 1 sampled level"
NLEVN = "number of levels of each grouping factor must be < number of observations (problems: g)"
NLEV5 = "grouping factors with < 5 sampled levels may give unreliable estimates"
ZDIMS = "number of observations (=6) <= number of random effects (=6) for term (x | g)" + UNIDENT
ZRANK = "number of observations (=3) <= rank(Z) (=3)" + UNIDENT
CTRL = ("invalid control level \u2018bogus\u2019 in check.nlev.gtr.1: valid options are "
        "{\u2018message\u2019,\u2018warning\u2019,\u2018stop\u2019,\u2018ignore\u2019}")
CTRL_SMALL = ("invalid control level \u2018bogus\u2019 in check.nobs.vs.rankZ: valid options are "
              "{\u2018message\u2019,\u2018warning\u2019,\u2018stop\u2019,\u2018ignore\u2019,\u2018messageSmall\u2019,"
              "\u2018warningSmall\u2019,\u2018stopSmall\u2019,\u2018ignoreSmall\u2019}")


def _raises(msg: str):  # noqa: ANN202
    return pytest.raises(LmeCheckError, match="^" + re.escape(msg) + "$")


def test_nlevels_stops_as_lme4() -> None:
    with _raises(NLEV1):
        check_nlevels([("g", 1)], 3, CheckControl())
    with _raises(NLEVN):
        check_nlevels([("g", 6), ("h", 3)], 6, CheckControl())


def test_nlevels_below_five_warns_when_asked() -> None:
    ctrl = CheckControl(check_nlev_gtreq_5="warning")
    with pytest.warns(LmeWarning, match="^" + NLEV5 + "$"):
        assert check_nlevels([("h", 3)], 6, ctrl) == [NLEV5]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_nlevels([("h", 3)], 6, CheckControl()) == []  # lme4's default: ignore


def test_zdims_stops_as_lme4() -> None:
    with _raises(ZDIMS):
        check_zdims([("x | g", 6)], 6, CheckControl())
    assert check_zdims([("x | g", 5)], 6, CheckControl()) == []


def test_zrank_stops_as_lme4_and_is_ignored_by_default() -> None:
    Zt = sp.csc_matrix(np.vstack([np.eye(3), np.eye(3)]))  # t(Z), Z = cbind(diag(3), diag(3)): rank 3
    with _raises(ZRANK):
        check_zrank(Zt, 3, CheckControl(check_nobs_vs_rankZ="stop"))
    assert check_zrank(Zt, 3, CheckControl()) == []


def test_invalid_levels_are_lme4s_message() -> None:
    with _raises(CTRL):
        check_ctrl_level("check.nlev.gtr.1", "bogus")
    with _raises(CTRL_SMALL):
        check_ctrl_level("check.nobs.vs.rankZ", "bogus", small_ok=True)
    with _raises(CTRL):
        check_nlevels([("g", 3)], 6, CheckControl(check_nlev_gtr_1="bogus"))


def test_control_from_r_names() -> None:
    """R's check names (``check.nlev.gtr.1``) map to the fields; unset ones keep lme4's defaults."""
    assert as_check_control({"check.nlev.gtr.1": "warning"}).check_nlev_gtr_1 == "warning"
    assert as_check_control(None) == CheckControl()
