"""Properties of parity.strategies (no R needed): designs are well formed, pyreterms parses or
refuses them with a PyretermsError, the hazards of issue #5 occur, reproducers round-trip."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

import pyreterms
from parity.reproducer import load_design, save_design
from parity.strategies import HAZARD_NAMES, Design, Hazards, designs, refused_designs, valid_designs

FAST = settings(max_examples=60, database=None, deadline=None, suppress_health_check=list(HealthCheck))


def _sample(strategy, n: int, s: int = 0) -> list[Design]:
    out: list[Design] = []

    @seed(s)
    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(d: Design) -> None:
        out.append(d)

    collect()
    return out


@FAST
@given(designs())
def test_designs_are_well_formed(d: Design) -> None:
    assert isinstance(d.data.index, pd.RangeIndex) and d.data.index.start == 0
    assert 10 <= d.n <= 200
    assert 1 <= d.n_bars <= 4
    assert d.formula.startswith("y ~ ")
    used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", d.formula)) - {"offset"}
    assert used <= set(d.data.columns), used - set(d.data.columns)
    for col in (d.weights, d.offset):
        assert col is None or col in d.data.columns
    assert isinstance(d.REML, bool) and isinstance(d.expect_refusal, bool)


@settings(max_examples=150, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(designs())
def test_pyreterms_parses_or_refuses_with_a_pyreterms_error(d: Design) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            lf = pyreterms.lformula(d.formula, d.data, d.REML, weights=d.weights, offset=d.offset)
        except pyreterms.PyretermsError:
            return
    assert lf.reTrms.Zt.shape[1] == lf.fr.n


#: hazard tags that must all occur in 400 designs (issue #5's list)
REQUIRED_TAGS = {
    "double_bar", "nested", "implicit_nesting", "interaction_group", "unobserved_combos", "crossed_or_nested_factors",
    "factor_slope", "zeros_in_slope", "singleton_group", "tied_nl", "tied_nl_reordered", "reordered",
    "awkward_levels", "digits_levels", "unicode_levels", "colon_levels", "categorical", "categorical_order",
    "unused_category", "int_groups", "int_groups_ge10", "float_groups", "na_response", "na_covariate", "na_group",
    "rank_deficient", "weights", "offset", "scale_warning",
}


def test_hazards_occur_in_a_sample() -> None:
    sample = _sample(designs(), 400, s=1)
    seen = set().union(*(d.tags for d in sample))
    assert REQUIRED_TAGS <= seen, REQUIRED_TAGS - seen
    nbars = {d.n_bars for d in sample}
    assert nbars == {1, 2, 3, 4}
    kinds = {str(d.data[c].dtype) for d in sample for c in d.data.columns}
    assert {"category", "str", "object", "int64", "Int64", "float64", "bool"} <= kinds, kinds
    # 3-component terms (needed to see the column-major theta order) and refusals occur
    assert any("x + z |" in d.formula or "x + f |" in d.formula for d in sample)
    assert 0.03 < np.mean([d.expect_refusal for d in sample]) < 0.4


def test_refusal_and_valid_strategies() -> None:
    ref = _sample(refused_designs(), 100)
    assert all(d.expect_refusal and any(t.startswith("refusal:") for t in d.tags) for d in ref)
    kinds = {t for d in ref for t in d.tags if t.startswith("refusal:")}
    assert len(kinds) == 5, kinds
    ok = _sample(valid_designs(), 60)
    assert not any(t.startswith("refusal:") for d in ok for t in d.tags)


def test_hazards_can_be_switched_off() -> None:
    hz = Hazards().without("na_groups", "na_response", "na_covariates", "categoricals", "double_bar",
                           "awkward_levels", "weights")
    sample = _sample(designs(hz), 150, s=2)
    tags = set().union(*(d.tags for d in sample))
    assert not tags & {"na_group", "na_response", "na_covariate", "categorical", "double_bar",
                       "awkward_levels", "weights"}
    assert not any("||" in d.formula for d in sample)
    assert not any(isinstance(d.data[c].dtype, pd.CategoricalDtype) for d in sample for c in d.data.columns)
    with pytest.raises(ValueError, match="unknown hazard"):
        Hazards().without("no_such_hazard")
    assert "na_groups" in HAZARD_NAMES


@FAST
@given(designs())
def test_reproducer_files_round_trip(tmp_path_factory, d: Design) -> None:
    path = save_design(d, tmp_path_factory.mktemp("d"))
    back = load_design(path)
    pd.testing.assert_frame_equal(back.data, d.data, check_exact=True)
    assert (back.formula, back.weights, back.offset, back.REML) == (d.formula, d.weights, d.offset, d.REML)
