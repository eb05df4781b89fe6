"""Issue 5 evidence: fixed-seed campaigns of 300 generated designs against live lme4, every hazard
on, with zero disagreements (and no crash on either side): one at the lFormula level and one at the
fit level (which compares the lFormula components too, then the fit; explained differences pass
only by the documented rules, README "Known differences" 1, 6 and 8, or, for the optimizer's
stopping point only, by the evidence of item 9 checked live for each design: :func:`fit_campaign_verdict`)."""
from __future__ import annotations

import os

import pytest

from parity.compare.check import VOLATILE, criterion_components
from parity.campaigns.fuzz import FuzzConfig, run_campaign
from parity.compare.optreplay import exact_fit_evidence, lme4_optimizer_on_our_values
from parity.goldens.cases import known_verb_refusals

pytestmark = [pytest.mark.r, pytest.mark.slow]  # campaigns: minutes


def test_300_design_campaign_agrees(tmp_path):
    res = run_campaign(FuzzConfig(examples=300, seed=11, level="lformula"), out_dir=tmp_path, progress=False)
    statuses = [o.status for o in res.outcomes]
    assert len(statuses) == 300
    assert statuses.count("error") == 0
    assert res.ok, res.by_component()
    assert statuses.count("both-refused") > 0 and statuses.count("agree") > 200


#: the outputs decided by where the optimizer stops: theta, the optimized criteria, and the outcomes of
#: lme4's convergence checks at that point
STOPPING_POINT = {'getME(fit, "theta")', *criterion_components(REML=True), *VOLATILE}
#: on an exact fit every criterion is a log of rounding noise, the other one at lme4's theta too
EXACT_FIT_CRITERIA = STOPPING_POINT | {"deviance(fit, REML = FALSE)"}


def fit_campaign_verdict(examples: int, out_dir) -> tuple:
    """The seed-11 fit-level campaign of ``examples`` designs: (result, explained, unexplained, known gaps).

    A disagreement is explained only as README "Known differences" 10 (an exact fit: lme4's pwrss at its
    optimum and pyreterms' at its own are both within n eps ||y||^2, so the criteria are logs of noise;
    :func:`parity.compare.optreplay.exact_fit_evidence`, live) or 9 (a rounding-decided stop of
    lme4's own optimizer): just the stopping-point outputs differ, and lme4's ``optimizeLmer`` fed
    pyreterms' deviance values (which must agree with lme4's devfun at every evaluated theta to the
    at-theta tolerance) asks for nothing else and stops at exactly pyreterms' point
    (:func:`parity.compare.optreplay.lme4_optimizer_on_our_values`, checked live for each such design).  Which
    designs do this depends on the CPU (BLAS kernels move the last bits), so no design list is pinned."""
    res = run_campaign(FuzzConfig(examples=examples, seed=11, level="fit", shrink=False), out_dir=out_dir,
                       progress=False)
    explained, unexplained = [], []
    known_gaps = []  # pyreterms refuses predict(newdata = ): parity.goldens.cases.KNOWN_VERB_REFUSALS
    for o in res.outcomes:
        if o.status != "disagree":
            continue
        d = o.design
        if o.report is not None and known_verb_refusals([(c.name, c.detail) for c in o.report.components
                                                         if not c.ok]):
            known_gaps.append((d.formula, d.n, o.failing))
            continue
        if not set(o.failing) <= EXACT_FIT_CRITERIA:
            unexplained.append((d.formula, d.n, o.failing))
            continue
        ex = exact_fit_evidence(d.formula, d.data, REML=d.REML, **d.arrays())
        if ex.exact:  # README Known differences 10: the criteria are logs of noise on both sides
            explained.append((d.formula, d.n, o.failing, ex.detail()))
            continue
        if not set(o.failing) <= STOPPING_POINT:
            unexplained.append((d.formula, d.n, o.failing))
            continue
        rep = lme4_optimizer_on_our_values(d.formula, d.data, REML=d.REML, **d.arrays())
        (explained if rep.explained else unexplained).append((d.formula, d.n, o.failing, rep.detail()))
    return res, explained, unexplained, known_gaps


def test_fit_campaign_agrees(tmp_path):
    """300 designs (CI's simulated-CPU legs: ``PARITY_FIT_CAMPAIGN_EXAMPLES=100``)."""
    n = int(os.environ.get("PARITY_FIT_CAMPAIGN_EXAMPLES", "300"))
    res, explained, unexplained, known_gaps = fit_campaign_verdict(n, tmp_path)
    statuses = [o.status for o in res.outcomes]
    assert len(statuses) == n
    assert statuses.count("error") == 0
    assert not unexplained, unexplained
    # Each explained design carries its own live evidence (above); this count only guards against a
    # systemic drift making rounding-decided stops common. How many there are depends on the CPU: 2 of
    # 300 on the AMD EPYC reference machine, 3 of 100 on CI's runner with numpy's AVX2/AVX-512 paths off
    # (our last bits then differ more from R's). A regression in the deviance itself would fail the
    # at-theta comparison inside each replay, so it could not hide here.
    assert len(explained) <= max(3, n // 20), explained
    # a design whose only difference is a known predict(newdata = ) refusal agrees on everything else
    assert statuses.count("both-refused") > 0 and statuses.count("agree") + len(known_gaps) > 2 * n // 3
    rule = res.theta_rule()
    # the rules are exercised, and most designs need none of them
    assert rule["equally good optimum"] > 0
    assert sum(rule.values()) < statuses.count("agree")
