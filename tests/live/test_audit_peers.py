"""Issue 15 item 2: audits of the real Python peers against live lme4 (statsmodels MixedLM, formulae).

Small campaigns (CI time): each claim of README "What the Python peers get wrong" is checked here
on its shrunk reproducer, and so are the statements of agreement."""
from __future__ import annotations

import pandas as pd
import pytest

from parity.compare.check import check, r_components
from parity.compare.selection import Selection

pytestmark = [pytest.mark.r, pytest.mark.slow]  # campaigns: minutes

SM_ONLY = Selection.of(["lFormula()$X", "lFormula()$reTrms$Zt", "fixef(fit)", "logLik(fit)", "devfun(theta)",
                        "devfun(theta); pp$beta(1)"])


def _sm():
    from parity.audit.statsmodels_adapter import fit

    return fit


def _fm():
    from parity.audit.formulae_adapter import fit

    return fit


@pytest.mark.parametrize("REML", [True, False])
def test_statsmodels_agrees_on_sleepstudy_where_the_optimum_is_interior(R, sleepstudy, REML: bool) -> None:
    """MixedLM's criterion and GLS beta at lme4's theta agree to lme4's at-theta tolerances, and so
    do its X, Z, fixed effects and log-likelihood at its own optimum."""
    for f in ("Reaction ~ Days + (Days | Subject)", "Reaction ~ Days + (Days || Subject)"):
        rep = check(f, sleepstudy, REML=REML, level="fit", impl=_sm(), selection=SM_ONLY)
        assert rep.ok, [(c.name, c.detail) for c in rep.components if not c.ok]


def test_statsmodels_stops_short_of_a_zero_variance(R) -> None:
    """Finding: lme4's REML optimum is on the boundary (variance 0); MixedLM stops inside, with a lower
    REML log-likelihood and a positive variance.  At the boundary itself MixedLM's loglike is +inf
    (lme4's criterion there is finite) and its GLS beta is 0."""
    d = pd.DataFrame({"y": [0.15, 0.0, 0.025], "g": ["a", "b", "a"]})
    r = r_components("y ~ (1 | g)", d, REML=True, level="fit")
    assert bool(r["isSingular(fit)"].x[0])
    py = _sm()("y ~ (1 | g)", d, REML=True, level="fit", theta=r['getME(fit, "theta")'].x)
    ll_py, ll_r = float(py["logLik(fit)"].x[0]), float(r["logLik(fit)"].x[0])
    assert ll_py < ll_r - 1e-5
    vc = "as.data.frame(VarCorr(fit))"
    assert float(r[vc]["vcov"].x[0]) == 0.0 and float(py[vc]["vcov"].x[0]) > 0.0
    assert float(r["devfun(theta)"].x[0]) == pytest.approx(-2 * ll_r, rel=1e-12)  # finite in lme4
    assert py["devfun(theta)"].x[0] == float("-inf")  # -2 loglike: MixedLM's loglike is +inf there
    assert py["devfun(theta); pp$beta(1)"].x.tolist() == [0.0] != r["devfun(theta); pp$beta(1)"].x.tolist()


@pytest.mark.parametrize("impl", [_sm, _fm])
def test_peers_use_treatment_contrasts_for_ordered_factors(R, impl) -> None:
    """Finding: an ordered factor (pandas ordered Categorical, R's ordered()) gets R's contr.poly
    columns (f.L, f.Q) in lme4 and treatment columns (fb, fc) in both peers."""
    d = pd.DataFrame({"y": [0.0, 0.025, 0.05, 0.3, 0.1, 0.2], "g": list("babbaa"),
                      "f": pd.Categorical(list("bcabca"), categories=list("abc"), ordered=True)})
    level = "fit" if impl is _sm else "lformula"
    rep = check("y ~ f + (1 | g)", d, level=level, impl=impl(), selection=Selection.of(["lFormula()$X"]))
    x = next(c for c in rep.components if c.name == "lFormula()$X")
    assert not x.ok and "\"fb\" vs R \"f.L\"" in x.detail


def test_formulae_keeps_a_collinear_column_lme4_drops(R) -> None:
    """Finding: formulae keeps a fixed-effects column that duplicates another; lme4 drops it
    (chkRank.drop.cols, with a message)."""
    d = pd.DataFrame({"y": [0.1, 0.4, 0.2, 0.3], "g": list("abab"), "x2": [1.0, 2.0, 3.0, 5.0]})
    d["x3"] = 2 * d["x2"]
    rep = check("y ~ x2 + x3 + (1 | g)", d, level="lformula", impl=_fm(), selection=Selection.of(["lFormula()$X"]))
    assert not rep.ok and "dim 4 x 3 vs R 4 x 2" in rep.components[0].detail


def test_formulae_keeps_unobserved_interaction_levels(R) -> None:
    """Finding: for an interaction grouping g:h formulae has a column for every combination of
    levels, observed or not; lme4's grouping factor has the observed combinations only."""
    d = pd.DataFrame({"y": [0.3, 0.1, 0.5, 0.2, 0.9, 0.4], "g": list("pqpppp"), "h": list("uuuvvv")})
    rep = check("y ~ (1 | g:h)", d, level="lformula", impl=_fm(), selection=Selection.of(["lFormula()$reTrms$Zt"]))
    assert not rep.ok and "dim 4 x 6 vs R 3 x 6" in rep.components[0].detail  # q:v never occurs


def test_formulae_codes_a_logical_slope_as_one_number(R) -> None:
    """Finding: ``(0 + lg | h)`` with a logical lg: lme4 (model.matrix on a logical) gives two
    columns lgFALSE, lgTRUE per level; formulae one numeric column ``lg``."""
    d = pd.DataFrame({"y": [0.3, 0.1, 0.5, 0.2, 0.9, 0.4], "h": list("uvuvuv"), "lg": [True, False, False] * 2})
    rep = check("y ~ (0 + lg | h)", d, level="lformula", impl=_fm(), selection=Selection.of(["lFormula()$reTrms$Zt"]))
    assert not rep.ok and "dim 2 x 6 vs R 4 x 6" in rep.components[0].detail
    rep = check("y ~ (lg | h)", d, level="lformula", impl=_fm(), selection=Selection.of(["lFormula()$reTrms$Zt"]))
    assert rep.ok  # with an intercept both have (Intercept) and lgTRUE


def test_formulae_fails_on_an_interaction_before_its_main_effect(R) -> None:
    """Finding: ``f:f2 + f`` (two factors, the interaction first) makes formulae raise IndexError;
    lme4 builds the model (the same columns as for ``f + f:f2``)."""
    d = pd.DataFrame({"y": [0.3, 0.1, 0.5, 0.2, 0.9, 0.4], "g": list("pqpqpq"), "f": list("ababab"),
                      "f2": list("uvvuuv")})
    rep = check("y ~ (1 | g) + f:f2 + f", d, level="lformula", impl=_fm(), selection=Selection.of(["lFormula()$X"]))
    assert not rep.ok and "refused here (list index out of range) but lme4 accepts" in rep.components[0].detail
    assert check("y ~ (1 | g) + f + f:f2", d, level="lformula", impl=_fm(),
                 selection=Selection.of(["lFormula()$X"])).ok


def test_formulae_campaign_z_agrees_and_findings_are_grouped(R) -> None:
    """A small formulae campaign: designs it does not claim are not compared with a reason, its Z
    agrees with lme4's Zt in most compared designs, every Zt disagreement belongs to a finding (grouped
    by cause), and each finding comes with a shrunk design that still disagrees."""
    from parity.audit.campaign import PEERS, run_audit

    res = run_audit(PEERS["formulae"], examples=20, seed=1, shrink_seconds=5)
    j = res.as_json()
    assert j["counts"]["compared"] == 20
    assert any("formulae does not parse" in w for w in j["not_compared_by_reason"])
    agree, disagree = j["components"]["lFormula()$reTrms$Zt"]
    assert agree > disagree and agree + disagree <= 20
    assert sum(f.designs for f in res.findings if "lFormula()$reTrms$Zt" in f.cause) == disagree
    assert res.findings and all(f.shrunk.design.n <= f.first.design.n for f in res.findings)
    assert all(f.shrunk.status == "disagree" for f in res.findings)


def test_statsmodels_campaign_runs_reml_and_ml(R) -> None:
    from parity.audit.campaign import PEERS, run_audit

    res = run_audit(PEERS["statsmodels"], examples=8, seed=1, shrink_seconds=3, max_findings=2)
    assert len(res.outcomes) == 8 and {o.design.REML for o in res.outcomes} == {True, False}
    assert any("not translated" in w for w in res.refused_by_reason())
    assert all(o.status != "error" for o in res.outcomes)


def test_formulae_agrees_on_factor_slopes_and_unused_categories(R) -> None:
    """The README's statement of agreement: factor slopes with and without intercept, and a
    Categorical with an unused category, give lme4's X and Zt."""
    d = pd.DataFrame({"y": [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.7, 0.6], "g": list("pqpqpqpq"),
                      "f": pd.Categorical(list("abcabcab"), categories=list("abcd"))})
    both = Selection.of(["lFormula()$X", "lFormula()$reTrms$Zt"])
    for f in ("y ~ f + (f | g)", "y ~ (0 + f | g)"):
        rep = check(f, d, level="lformula", impl=_fm(), selection=both)
        assert rep.ok, [(c.name, c.detail) for c in rep.components if not c.ok]
