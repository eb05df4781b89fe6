"""Issues 3 and 4: the whole case table (parity/goldens/cases.py) compared live with lme4 1.1-31.

Every case at the lFormula level (exact where lme4 is deterministic; both-refuse counts as agreement
and the reasons are shown), and every fittable case at the lmer level."""
from __future__ import annotations

import pytest

from parity.goldens.cases import CASES, case_data, only_known_gaps
from parity.compare.check import check
from parity.r.rcall import active

pytestmark = pytest.mark.r


def _bad(rep):
    return [(c.name, c.detail) for c in rep.components if not c.ok]


def test_case_table_is_large_enough():
    assert len(CASES) >= 60
    assert len({c.data for c in CASES}) >= 4
    assert sum(c.fit for c in CASES) >= 15


#: cases refused before anything runs (parity.compare.verdicts.preflight): a formula that does not parse is bad
#: input; one outside the allowlist is not compared (lme4 is never asked)
BAD_INPUT = {"hz-refuse-import", "hz-refuse-paren", "hz-refuse-empty-bar", "hz-refuse-no-rhs"}
NOT_COMPARED = {"hz-refuse-system"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_lformula(case):
    from parity.compare.verdicts import BadFormula, Verdict

    data = case_data(case)
    if case.id in BAD_INPUT:
        with pytest.raises(BadFormula):
            check(case.formula, data, level="lformula", data_label=case.data, **case.call_kwargs(data))
        return
    with active(case.lmer_call()):  # the case's other lmer arguments on both sides (parity.r.rcall)
        rep = check(case.formula, data, level="lformula", data_label=case.data, **case.call_kwargs(data))
    if case.id in NOT_COMPARED:
        assert rep.verdict is Verdict.NOT_COMPARED and not rep.ok
        return
    assert not _bad(rep), _bad(rep)


FIT_CASES = [c for c in CASES if c.fit]


@pytest.mark.parametrize("case", FIT_CASES, ids=[c.id for c in FIT_CASES])
def test_case_fit(case):
    data = case_data(case)
    with active(case.lmer_call()):
        rep = check(case.formula, data, level="fit", data_label=case.data, **case.call_kwargs(data))
    bad = _bad(rep)
    assert only_known_gaps(case.id, bad), bad  # the verbs' known gaps: parity.goldens.cases.KNOWN_VERB_GAPS
