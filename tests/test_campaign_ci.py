"""Issue 5 evidence: fixed-seed campaigns of 300 generated designs against live lme4, every hazard
on, with zero disagreements (and no crash on either side): one at the lFormula level and one at the
fit level (which compares the lFormula components too, then the fit; explained differences pass
only by the documented rules, README "Known differences" 1, 6 and 8, or are listed in ``KNOWN_FIT``
with the README item and the test that pins them)."""
from __future__ import annotations

import pytest

from parity.check import criterion_components
from parity.fuzz import FuzzConfig, run_campaign

pytestmark = pytest.mark.r


def test_300_design_campaign_agrees(tmp_path):
    res = run_campaign(FuzzConfig(examples=300, seed=11, level="lformula"), out_dir=tmp_path, progress=False)
    statuses = [o.status for o in res.outcomes]
    assert len(statuses) == 300
    assert statuses.count("error") == 0
    assert res.ok, res.by_component()
    assert statuses.count("both-refused") > 0 and statuses.count("agree") > 200


#: explained disagreements of the seed-11 fit campaign: (formula, n) -> the README "Known differences"
#: item and the test that pins it; only the optimizer's own outputs may differ there
KNOWN_FIT = {
    ("y ~ (x + z | g/h) + (x | g/h) + (x | g/h)", 10):
        "README Known differences 9; tests/test_theta_rule.py::test_rare_early_stop_is_lme4s_optimizer_on_our_values",
}
OPTIMIZER_COMPONENTS = {'getME(fit, "theta")', *criterion_components(REML=True)}


def test_300_design_fit_campaign_agrees(tmp_path):
    res = run_campaign(FuzzConfig(examples=300, seed=11, level="fit", shrink=False), out_dir=tmp_path,
                       progress=False)
    statuses = [o.status for o in res.outcomes]
    assert len(statuses) == 300
    assert statuses.count("error") == 0
    unexplained = [(o.design.formula, o.design.n, o.failing) for o in res.outcomes if o.status == "disagree"
                   and not ((o.design.formula, o.design.n) in KNOWN_FIT and set(o.failing) <= OPTIMIZER_COMPONENTS)]
    assert not unexplained, unexplained
    assert statuses.count("both-refused") > 0 and statuses.count("agree") > 200
    explained = res.theta_rule()
    # the rules are exercised, and most designs need none of them
    assert explained["equally good optimum"] > 0
    assert sum(explained.values()) < statuses.count("agree")
