"""Issue 5 evidence: a fixed-seed campaign of 300 generated designs against live lme4, every hazard
on, compared at the lFormula level, with zero disagreements (and no crash on either side)."""
from __future__ import annotations

import pytest

from parity.fuzz import FuzzConfig, run_campaign

pytestmark = pytest.mark.r


def test_300_design_campaign_agrees(tmp_path):
    res = run_campaign(FuzzConfig(examples=300, seed=11, level="lformula"), out_dir=tmp_path, progress=False)
    statuses = [o.status for o in res.outcomes]
    assert len(statuses) == 300
    assert statuses.count("error") == 0
    assert res.ok, res.by_component()
    assert statuses.count("both-refused") > 0 and statuses.count("agree") > 200
