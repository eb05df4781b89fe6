"""anova and Wald confint of GLMM fits (pyreterms.glmm.fit.GlmerFit.anova / .confint) against lme4 1.1-31.

At lme4's parameters (``glmer_at``, tests/live/glmm_rhelp.py) the one-fit F table (``ss = (RX beta)^2``,
``F = ms / sigma^2``) and the likelihood-ratio table are computed at given parameters: compared to 1e-10
relative, and printed line for line as R prints them.  Wald intervals use ``vcov``, which (nAGQ >= 1) comes
from lme4's finite-difference Hessian: they are compared to HESS_RTOL of the largest standard error
(tests/live/test_glmm_verbs.py states why), nAGQ = 0 to 1e-10.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from glmm_rhelp import CASES, CBPP_B, IDS, fit_at_lme4, num

from pyreterms.glmm import family as fam
from pyreterms.lmm.inference.confint import ConfintError

pytestmark = pytest.mark.r
RTOL = 1e-10
HESS_RTOL = 2e-5


def _r_table(R, expr: str) -> tuple[pd.DataFrame, list[str], list[str]]:
    R.r_eval(f"a_ <- suppressMessages({expr})")
    cols = [str(c) for c in R.r_eval("colnames(a_)")]
    df = pd.DataFrame({c: np.array(R.r_eval(f'as.numeric(a_[["{c}"]])'), dtype=float) for c in cols},
                      index=[str(r) for r in R.r_eval("rownames(a_)")])
    heading = [str(h) for h in R.r_eval('attr(a_, "heading")')]
    printed = [str(x) for x in R.r_eval("capture.output(print(a_))")]
    return df, heading, printed


def _same_table(mine: pd.DataFrame, theirs: pd.DataFrame, rtol: float = RTOL) -> None:
    assert list(mine.columns) == list(theirs.columns)
    assert list(mine.index) == list(theirs.index)
    for c in theirs.columns:
        a, b = mine[c].to_numpy(dtype=float), theirs[c].to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), c
        np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], rtol=rtol, atol=0, err_msg=c)


@pytest.mark.parametrize(("formula", "rfam", "f", "data", "k"), CASES, ids=IDS)
def test_one_fit_f_table_as_lme4(R, formula: str, rfam: str, f: fam.Family, data: str, k: int) -> None:
    fit = fit_at_lme4(R, formula, rfam, f, data, k)
    theirs, heading, printed = _r_table(R, "anova(g)")
    mine = fit.anova()
    assert list(mine.columns) == ["npar", "Sum Sq", "Mean Sq", "F value"]
    _same_table(mine, theirs)
    assert list(mine.heading) == heading
    assert str(mine).splitlines() == printed


def test_likelihood_ratio_table_as_lme4(R) -> None:
    """Two binomial fits of cbpp (with and without period), given in the wrong order:
    models ordered by npar, Chisq, Df and p as lme4's, the heading's formulas and the printed table."""
    fits = [fit_at_lme4(R, fm, "binomial", fam.binomial(), "cbpp", 1) for fm in (
        CBPP_B, "cbind(incidence, size - incidence) ~ (1 | herd)")]
    R.r_eval("g1 <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial); "
             "g0 <- glmer(cbind(incidence, size - incidence) ~ (1 | herd), cbpp, binomial)")
    theirs, heading, printed = _r_table(R, "anova(g1, g0)")
    mine = fits[0].anova(fits[1], model_names=["g1", "g0"], data_name="cbpp")
    _same_table(mine, theirs)
    assert list(mine.index) == ["g0", "g1"]
    assert list(mine.heading) == heading
    assert str(mine).splitlines() == printed


@pytest.mark.parametrize(("formula", "rfam", "f", "data", "k"), CASES, ids=IDS)
def test_wald_confint_as_lme4(R, formula: str, rfam: str, f: fam.Family, data: str, k: int) -> None:
    fit = fit_at_lme4(R, formula, rfam, f, data, k)
    for args, kw in (("", {}), (", parm = 'beta_', level = 0.9", {"parm": "beta_", "level": 0.9}),
                     (", oldNames = FALSE", {"oldNames": False})):
        R.r_eval(f"ci_ <- confint(g, method = 'Wald'{args})")
        theirs = num(R, "ci_").reshape(-1, 2, order="F")
        mine = fit.confint(method="Wald", **kw)
        assert list(mine.index) == [str(r) for r in R.r_eval("rownames(ci_)")]
        assert list(mine.columns) == [str(c) for c in R.r_eval("colnames(ci_)")]
        a = mine.to_numpy(dtype=float)
        assert np.array_equal(np.isnan(a), np.isnan(theirs))
        se = np.sqrt(np.diag(num(R, "as.matrix(vcov(g))").reshape(fit.beta.size, -1)))
        atol = RTOL * np.max(np.abs(theirs[~np.isnan(theirs)])) if k == 0 else 2 * HESS_RTOL * float(np.max(se))
        np.testing.assert_allclose(a[~np.isnan(a)], theirs[~np.isnan(theirs)], rtol=0, atol=atol, err_msg=args)


def test_confint_methods_refused(R) -> None:
    fit = fit_at_lme4(R, CBPP_B, "binomial", fam.binomial(), "cbpp", 1)
    for method in ("profile", "boot"):
        with pytest.raises(ConfintError, match=f'confint\\(method = "{method}"\\) for a GLMM is not implemented'):
            fit.confint(method=method)
    msg = str(R.r_eval("tryCatch(confint(g, method = 'foo'), error = function(e) conditionMessage(e))")[0])
    assert msg.startswith("'arg' should be one of ")
    with pytest.raises(ConfintError, match="^'arg' should be one of "):
        fit.confint(method="foo")
