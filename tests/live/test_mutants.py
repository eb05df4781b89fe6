"""Mutation power (issue 11 item 5): a 150-design campaign at a fixed seed catches every mutant of
``parity.campaigns.mutants`` (live R), and shrinks each catch to a reproducer of at most 30 rows; pyreterms
itself agrees with lme4 on that reproducer where the mutant does not.

Each campaign stops at the first catching design (``FuzzConfig.stop_at_first``), so the cost is
designs-to-catch plus the shrink budget.  Set ``PARITY_MUTANT_REPORT=file.json`` to record, per
mutant, the designs needed and the reproducer's size (the README table comes from such a run).
"""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from parity.compare.check import check
from parity.campaigns.fuzz import KNOWN_ISSUES, FuzzConfig, run_campaign
from parity.campaigns.mutants import MUTANTS
from parity.campaigns.mutants_patch import MUTANT_CRASHES, PATCH_MUTANTS, check_target
from parity.campaigns.strategies import HAZARD_NAMES, Hazards

pytestmark = [pytest.mark.r, pytest.mark.slow]  # campaigns: minutes

EXAMPLES, SEED = 150, int(os.environ.get("PARITY_MUTANT_SEED", "1"))
#: lFormula() accepts negative weights, pyreterms refuses them: reported, excluded here
HAZARDS = Hazards().without("negative_weights")
IGNORE = frozenset(KNOWN_ISSUES)
MAX_N = 30
#: shrink budget per mutant, seconds of R calls (fit-level attempts each cost one lmer() fit)
SHRINK_SECONDS = {"lformula": 12.0, "fit": 35.0}


def _config(**kw) -> FuzzConfig:
    base = dict(examples=EXAMPLES, seed=SEED, level="lformula", hazards=HAZARDS, ignore=IGNORE,
                max_failures=1, stop_at_first=True)
    base.update(kw)
    base.setdefault("shrink_seconds", SHRINK_SECONDS[base["level"]])
    return FuzzConfig(**base)


def _record(name: str, level: str, res, f) -> None:
    path = os.environ.get("PARITY_MUTANT_REPORT")
    if not path:
        return
    doc = json.loads(open(path).read()) if os.path.exists(path) else {}
    d = f.shrunk.design
    doc[f"{name}@{level}"] = {"designs_to_catch": len(res.outcomes), "component": f.component,
                              "first_n": f.first.design.n, "n": d.n, "bars": d.n_bars, "formula": d.formula,
                              "shrink_seconds": round(f.shrink_seconds, 1), "shrink_calls": f.shrink_calls}
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False)


def _assert_caught_and_shrunk(mutant, level: str, tmp_path, hazards: Hazards) -> None:
    budget = EXAMPLES
    MUTANT_CRASHES.clear()
    res = run_campaign(_config(impl=mutant.spec, level=level, hazards=hazards, examples=budget),
                       out_dir=tmp_path, progress=False)
    assert not res.ok, f"{mutant.name} was not caught in {budget} designs at seed {SEED}"
    assert not MUTANT_CRASHES, MUTANT_CRASHES[:3]  # caught by what it computes, not by crashing
    assert len(res.outcomes) <= budget and res.failures
    f = res.failures[0]
    d = f.shrunk.design
    _record(mutant.name, level, res, f)
    assert f.component in f.shrunk.failing
    if mutant.components:
        assert set(f.shrunk.failing) & set(mutant.components), (f.component, f.shrunk.failing)
    assert d.n <= MAX_N, (mutant.name, d.formula, d.n, f.first.design.n)
    assert f.reproducer is not None and (f.reproducer / "repro.py").is_file()
    # the catch is the mutant's doing: pyreterms itself agrees with lme4 there
    rep = check(d.formula, d.data, REML=d.REML, level=level, **d.arrays())
    assert all(c.ok for c in rep.components if c.name in f.shrunk.failing), \
        [(c.name, c.detail) for c in rep.components if c.name in f.shrunk.failing and not c.ok]


@pytest.fixture(scope="module")
def baseline(hazards):
    return run_campaign(_config(examples=50, stop_at_first=False, shrink_seconds=10.0, hazards=hazards),
                        progress=False)


def test_pyreterms_passes_the_campaign(baseline) -> None:
    assert len(baseline.outcomes) == 50
    assert baseline.ok, {f.component: (f.shrunk.design.formula, f.shrunk.said()) for f in baseline.failures}
    assert baseline.count("agree") >= 25


def test_at_least_30_mutants_of_the_required_classes() -> None:
    names = {m.name for m in MUTANTS}
    assert len(MUTANTS) >= 30 and len(names) == len(MUTANTS)
    for required in ("contrasts_ignored", "contr_poly_scaled_wrongly", "scale_population_sd",
                     "int_levels_as_strings", "collation_case_insensitive", "weights_ignored", "singular_tolerance"):
        assert required in names


@pytest.mark.parametrize("target", sorted({t for _, _, _, t, _ in PATCH_MUTANTS}))
def test_every_patch_target_exists(target: str) -> None:
    check_target(target)  # a renamed pyreterms function once turned two mutants into crashes


def test_a_missing_target_is_refused() -> None:
    with pytest.raises((AttributeError, ImportError)):
        check_target("pyreterms.modelmatrix:contrast_matrix")


def r_accepts_comparisons() -> bool:
    """Whether reference.R's allowlist lets ``I(x > 0)`` reach lme4 (it refused comparisons until the
    allowlist became one Python definition; pyreterms accepts them)."""
    from parity.compare.check import r_components

    i = np.arange(12)
    d = pd.DataFrame({"y": np.sin(i), "x": (i % 5) - 2.0, "g": [f"g{k}" for k in i % 3]})
    err = r_components("y ~ I(x > 0) + (1 | g)", d, REML=True, level="lformula").get("error")
    return err is None or "not allowed" not in getattr(err, "message", "")


@pytest.fixture(scope="module")
def hazards() -> Hazards:
    """Every hazard but negative weights, and I() comparisons only where R accepts them (a refusal by
    R's allowlist alone would stop every campaign at a design pyreterms itself 'fails')."""
    return HAZARDS if r_accepts_comparisons() else HAZARDS.without("i_comparisons")


@pytest.mark.parametrize("mutant", [m for m in MUTANTS if m.name != "comparison_as_numeric"], ids=lambda m: m.name)
def test_campaign_catches_mutant(mutant, hazards, tmp_path) -> None:
    _assert_caught_and_shrunk(mutant, mutant.level, tmp_path, hazards)


def test_comparison_mutant_caught_once_r_allows_comparisons(hazards, tmp_path) -> None:
    """``I(x > 0)``: caught by the campaign when R's allowlist has comparisons; until then R refuses
    every such design (checked here, so this test turns into the real check after the merge)."""
    mutant = next(m for m in MUTANTS if m.name == "comparison_as_numeric")
    if "i_comparisons" in {h for h in HAZARD_NAMES if not getattr(hazards, h)}:
        assert not r_accepts_comparisons()
        i = np.arange(12)
        d = pd.DataFrame({"y": np.sin(i), "x": (i % 5) - 2.0, "g": [f"g{k}" for k in i % 3]})
        rep = check("y ~ I(x > 0) + (1 | g)", d, impl=mutant.spec)
        assert [c.name for c in rep.components if not c.ok] == ["decision (accept/refuse)"]
    else:
        _assert_caught_and_shrunk(mutant, mutant.level, tmp_path, hazards)


@pytest.mark.parametrize("name", ["treatment_baseline_last"])
def test_fit_level_campaign_shrinks_lformula_mutants(name, hazards, tmp_path) -> None:
    """At the fit level a failure in an lFormula() component is shrunk with lFormula() calls."""
    _assert_caught_and_shrunk(next(m for m in MUTANTS if m.name == name), "fit", tmp_path, hazards)
