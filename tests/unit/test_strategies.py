"""Properties of parity.campaigns.strategies (no R needed): designs are well formed, pyreterms parses or
refuses them with a PyretermsError, the hazards of issue #5 occur, reproducers round-trip."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

import pyreterms
from parity.campaigns.reproducer import load_design, save_design
from parity.r.verbvariant import VerbVariant
from parity.campaigns.hazards import CONTRASTS, FREQUENCIES, FUNCTIONS_PER_DESIGN, function_terms
from parity.campaigns.seeding import STRATIFY_EVERY, focus_of, iter_designs
from parity.campaigns.strategies import HAZARD_NAMES, Design, Hazards, designs, focus_hazards, refused_designs, valid_designs

FUNCTION_NAMES = {"offset", "scale", "poly", "log", "I", "factor", "as", "numeric", "ns", "bs", "cut", "pmin", "pmax"}

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
    assert 10 <= d.n <= 200 or ("hz:int_groups_10_200" in d.tags and d.n <= 420 + 3 * 10)
    assert 1 <= d.n_bars <= 5
    assert d.formula.startswith(("y ~ ", "log(y + 11) ~ "))
    used = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", d.formula)) - FUNCTION_NAMES
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
    assert {1, 2, 3, 4} <= nbars, nbars  # 1-4 drawn bar terms (a hazard may add one more: 5 occurs too)
    # the column kinds a campaign meets: its own stratified stream (parity.campaigns.seeding), which is the
    # same in any process; a raw Hypothesis sample's rarer kinds depend on what the process drew before
    stream = iter_designs(0, Hazards(), 400)
    kinds = {str(d.data[c].dtype) for d in stream for c in d.data.columns}
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
    assert (back.formula, back.weights, back.offset, back.REML, back.contrasts, back.verb_variant) == \
        (d.formula, d.weights, d.offset, d.REML, d.contrasts, d.verb_variant)


@pytest.mark.parametrize("vv", [VerbVariant("~(1 | g)", False), VerbVariant("NA", True), None])
def test_reproducer_keeps_the_verb_variant(tmp_path, vv) -> None:
    d = Design("y ~ x + (1 | g)", pd.DataFrame({"y": [1.0, 2.0, 3.0], "x": [0.0, 1.0, 2.0], "g": ["a", "b", "a"]}),
               verb_variant=vv)
    assert load_design(save_design(d, tmp_path)).verb_variant == vv


# --- issue 11 item 4: every README hazard at a stated frequency, the same designs at every level ---

N_FREQ = 1000
SAMPLE_1000 = []


def _sample_1000() -> list[Design]:
    if not SAMPLE_1000:
        SAMPLE_1000.extend(iter_designs(0, Hazards(), N_FREQ))
    return SAMPLE_1000


def _band(p: float, n: int) -> tuple[float, float]:
    """n * p within +-40%.  Not a binomial band: Hypothesis builds many designs by mutating earlier
    ones, so 1000 designs are not independent draws; over seeds 0-3 each hazard's count was
    0.64-1.21 x n * p (the coins themselves are exact: parity.campaigns.hazards.coin)."""
    return 0.6 * n * p, 1.4 * n * p


def _bar_groups(formula: str) -> set[str]:
    return {v for m in re.finditer(r"\|\|?\s*([^()]+)\)", formula) for v in re.split(r"[:/]", m.group(1).strip())}


OVERRIDES = {"refusal:singleton_factor", "refusal:nlev_ge_n", "refusal:all_na_group"}


def _has_property(h: str, d: Design) -> bool:
    """Whether a design tagged ``hz:h`` really carries hazard h (README "Formula language")."""
    df, groups = d.data, _bar_groups(d.formula)
    if h in ("int_groups_10_200", "mixed_case", "unicode") and d.tags & OVERRIDES:
        return True  # the refusal hazard replaced the first grouping column (1 level, n levels, all NA)
    rhs = d.formula.split("~", 1)[1]
    if h == "ordered_factor":
        return isinstance(df["f"].dtype, pd.CategoricalDtype) and df["f"].cat.ordered and " f " in f" {rhs} +"
    if h == "contrasts":
        return len(d.contrasts) == 1 and d.contrasts[0][0] == "f" and d.contrasts[0][1] in CONTRASTS and \
            re.search(r"(^|\+ )f( \+|$)", rhs.strip()) is not None
    if h == "function":
        names = [t[3:] for t in d.tags if t.startswith("fn:")]
        terms = {name: text for name, _, text in function_terms()}
        return len(names) in FUNCTIONS_PER_DESIGN and all(terms[n] in d.formula for n in names)
    if h == "int_groups_10_200":
        return any(pd.api.types.is_integer_dtype(df[v].dtype) and 10 <= df[v].nunique() <= 200 for v in groups)
    pair = {"mixed_case": {"a", "B"}, "unicode": {"é", "f"}}[h]
    return any(not isinstance(df[v].dtype, pd.CategoricalDtype) and pair <= set(df[v].dropna()) for v in groups)


def test_hazard_frequencies_in_1000_designs() -> None:
    """Each hazard of parity.campaigns.hazards.FREQUENCIES occurs at its stated frequency (within 40%) in
    1000 campaign designs of seed 0, every tagged design has it, and each function term occurs
    at 0.25-2 x its share (mean(FUNCTIONS_PER_DESIGN)/len(function_terms()) of the function-term
    frequency: a design with the hazard carries 1-3 distinct terms)."""
    everything = _sample_1000()
    assert len(everything) == N_FREQ
    for h in FREQUENCIES:  # every tagged design has it, main or focus stream
        bad = [d.formula for d in everything if f"hz:{h}" in d.tags and not _has_property(h, d)]
        assert not bad, (h, bad[:3])
    sample = [d for d in everything if focus_of(d) is None]  # the main stream: stated frequencies
    n_main = len(sample)
    assert abs(n_main - N_FREQ * (STRATIFY_EVERY - 1) / STRATIFY_EVERY) <= 5
    for h, p in FREQUENCIES.items():
        tagged = [d for d in sample if f"hz:{h}" in d.tags]
        lo, hi = _band(p, n_main)
        assert lo <= len(tagged) <= hi, (h, len(tagged), p)
    terms = function_terms()
    share = n_main * FREQUENCIES["function"] * float(np.mean(FUNCTIONS_PER_DESIGN)) / len(terms)
    for name, _, _ in terms:  # small counts, strongly correlated
        k = sum(f"fn:{name}" in d.tags for d in sample)
        assert 0.25 * share <= k <= 2 * share, (name, k, share)


@pytest.mark.parametrize("seed", [0, 1, 11])
def test_every_focus_hazard_twice_in_150_designs(seed) -> None:
    """Stratification (parity.campaigns.seeding): each hazard of focus_hazards() is carried by at least
    150 // (STRATIFY_EVERY * len(foci)) = 2 of the first 150 designs of any seed, in its focus stream,
    whatever the main stream does; a focus design carries its hazard."""
    foci = focus_hazards(Hazards())
    ds = iter_designs(seed, Hazards(), 150)
    need = 150 // (STRATIFY_EVERY * len(foci))
    assert need >= 2
    for f in foci:
        mine = [d for d in ds if focus_of(d) == f]
        assert len(mine) >= need, (f, len(mine))
        for d in mine:
            if f.startswith("fn:"):
                assert f in d.tags
            elif f == "unused_category":
                assert "unused_category" in d.tags
                assert any(isinstance(d.data[v].dtype, pd.CategoricalDtype)
                           and set(d.data[v].cat.categories) - set(d.data[v].dropna()) for v in _bar_groups(d.formula))
            else:
                assert f"hz:{f}" in d.tags and _has_property(f, d), (f, d.formula)
            if f == "contrasts":
                assert d.contrasts[0][1] != "contr.treatment"  # the default would change nothing


def test_gated_functions_follow_pyreterms_allowlist(monkeypatch) -> None:
    """ns/bs/cut/pmin/pmax are drawn exactly when pyreterms evaluates them; I() comparisons can be
    switched off (R's allowlist refused them before it was generated from pyreterms')."""
    import pyreterms.formula.evaluate as ev

    names = {n for n, _, _ in function_terms()}
    assert {"ns", "bs", "cut", "pmin", "pmax"} & names == {"ns", "bs", "cut", "pmin", "pmax"} & ev.ALLOWED_FUNCTIONS
    monkeypatch.setattr(ev, "ALLOWED_FUNCTIONS", set(ev.ALLOWED_FUNCTIONS) | {"ns", "pmin"})
    assert {"ns", "pmin"} <= {n for n, _, _ in function_terms()}
    assert not {"I_gt", "I_eq"} & {n for n, _, _ in function_terms(i_comparisons=False)}
    off = iter_designs(0, Hazards().without("i_comparisons", "ordered_factors", "contrasts_arg"), 200)
    assert not any(t in d.tags for d in off for t in ("fn:I_gt", "fn:I_eq", "hz:ordered_factor", "hz:contrasts"))


def test_same_seed_same_designs_whatever_the_length() -> None:
    """Design k of a seed does not depend on how many designs the campaign runs (nor on its level:
    generation has no level), which Hypothesis' max_examples-dependent generation broke."""
    from parity.campaigns.fuzz import design_key

    short = [design_key(d) for d in iter_designs(11, Hazards(), 40)]
    long = [design_key(d) for d in iter_designs(11, Hazards(), 120)]
    assert short == long[:40] and len(set(long)) == 120


def test_same_designs_in_another_process() -> None:
    """A fresh interpreter with other modules loaded (as `parity fuzz` has) draws the same designs:
    Hypothesis' literals from local modules are switched off (parity.campaigns.seeding)."""
    import subprocess
    import sys

    from parity.campaigns.fuzz import design_key

    code = ("import json, hashlib; from parity.campaigns.seeding import STRATIFY_EVERY, focus_of, iter_designs; from parity.campaigns.fuzz import design_key; "
            "print(json.dumps([hashlib.sha1(repr(design_key(d)).encode()).hexdigest() "
            "for d in iter_designs(5, None, 25)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    import hashlib
    import json

    here = [hashlib.sha1(repr(design_key(d)).encode()).hexdigest() for d in iter_designs(5, None, 25)]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == here


def test_design_reducer_deletes_terms_options_and_rows() -> None:
    """parity.campaigns.shrink.reduce_design (no R): with a predicate that needs one bar, one row with g == 'c'
    and one other row, a 5-bar 150-row design shrinks to 2 rows, 1 bar and only the used columns."""
    import time

    from parity.campaigns.shrink import reduce_design, split_terms

    assert split_terms(" x + log(z + 3) + (x + z | g) + (1 | g:h)") == ["x", "log(z + 3)", "(x + z | g)", "(1 | g:h)"]
    i = np.arange(150)
    data = pd.DataFrame({"y": np.sin(i), "x": (i % 5) - 2.0, "g": [("a", "b", "c")[k % 3] for k in i],
                         "h": [f"h{k % 7}" for k in i], "w": np.ones(150)})
    d = Design("y ~ x + (x | g) + (1 | h) + (1 | g:h) + (1 | h)", data, weights="w", contrasts=(("f", "contr.sum"),))
    calls = []

    def fails(c: Design) -> bool:
        calls.append(c)
        return "(1 | g:h)" in c.formula and (c.data["g"] == "c").any() and c.n >= 2

    out = reduce_design(d, fails, time.perf_counter() + 60)
    assert out.formula == "y ~ (1 | g:h)" and out.n == 2 and (out.data["g"] == "c").any()
    assert out.weights is None and out.contrasts == () and list(out.data.columns) == ["y", "g", "h"]
    assert isinstance(out.data.index, pd.RangeIndex) and len(calls) < 100
