"""Properties of parity.campaigns.glmm_strategies (no R): GLMM designs are well formed, their responses are
valid draws of their family (or deliberately invalid, and then pyreterms refuses them with lme4's refusal
class), the hard cases occur and are what their tags say, and a seed gives the same designs."""
from __future__ import annotations

import itertools
import re
import warnings
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

from parity.adapter.pyreterms_glmm import glmm_family
from parity.campaigns import seeding
from parity.campaigns.glmm_fuzz import glmm_campaign_designs, load_glmm_design, write_glmm_reproducer
from parity.campaigns.glmm_strategies import (
    FAMILY_LINKS,
    GLMM_FOCUS,
    GLMM_FREQUENCIES,
    INVALID_KINDS,
    GlmmDesign,
    glmm_designs,
)
from parity.campaigns.seeding import STRATIFY_EVERY, focus_of
from parity.campaigns.strategies import design_key
from parity.compare.verdicts import refusal_class
from pyreterms.errors import PyretermsError
from pyreterms.glmm.glformula import glformula
from pyreterms.glmm.glmer import glmer

N = 300


@pytest.fixture(scope="module")
def campaign() -> list[GlmmDesign]:
    return list(itertools.islice(glmm_campaign_designs(0), N))


def _y(d: GlmmDesign) -> np.ndarray:
    if d.formula.startswith("cbind("):
        return d.data["s"].to_numpy(float)
    return d.data["y"].to_numpy(float)


def test_designs_are_well_formed(campaign) -> None:
    assert len(campaign) == N and len({design_key(d) for d in campaign}) == N
    for d in campaign:
        assert isinstance(d, GlmmDesign) and (d.family, d.link) in set(FAMILY_LINKS)
        glmm_family(d.family, d.link)  # a family pyreterms (and R) constructs
        assert 30 <= d.n <= 300
        names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", d.formula)) - {"cbind", "offset"}
        assert names <= set(d.data.columns), (d.formula, list(d.data.columns))
        assert d.nAGQ in (0, 1) or "agq" in {t[3:] for t in d.tags if t.startswith("hz:")} \
            or "invalid:agq_two_terms" in d.tags
        if d.nAGQ > 1 and "invalid:agq_two_terms" not in d.tags:
            assert d.formula.endswith("+ (1 | g)") or d.formula.endswith("~ 1 + (1 | g)"), d.formula
        assert (d.weights is not None) == ("response:prop" in d.tags)


def test_responses_are_draws_of_their_family(campaign) -> None:
    """Valid designs: y in the family's support (binomial successes within the totals, integer counts,
    positive Gamma/inverse.gaussian responses)."""
    checked = 0
    for d in campaign:
        if any(t.startswith("invalid:") for t in d.tags):
            continue
        y = _y(d)
        y = y[~np.isnan(y)]
        if d.family == "binomial":
            top = d.data["m"].to_numpy(float) if d.weights else 1.0
            if d.formula.startswith("cbind("):
                assert np.all(d.data["fl"] >= 0) and np.all(y >= 0)
            else:
                assert np.all((0 <= y) & (y <= 1)), d.formula
                if d.weights:
                    assert np.allclose((y * top[~np.isnan(_y(d))]) % 1, 0)
        elif d.family == "poisson":
            assert np.all(y >= 0) and np.all(y == np.round(y))
        elif d.family in ("Gamma", "inverse.gaussian"):
            assert np.all(y > 0)
        checked += 1
    assert checked > N // 2


def test_hard_cases_are_what_their_tags_say(campaign) -> None:
    for d in campaign:
        tags = d.tags
        if "separation:complete" in tags:
            x, y = d.data["x"].to_numpy(float), _y(d)
            ok = ~np.isnan(x) & ~np.isnan(y)
            assert np.array_equal(y[ok] == 1, x[ok] > 0)
        if "separation:quasi" in tags:
            f = d.data["f"].astype(str).to_numpy()
            lev = sorted(set(d.data["f"].dropna().astype(str)))[0]
            yq = _y(d)[f == lev]
            assert np.all(yq[~np.isnan(yq)] == 0)
        if "hz:zero_inflated" in tags:
            assert d.family == "poisson" and np.mean(_y(d) == 0) > 0.2
        if "hz:offset" in tags:
            assert "o" in d.data.columns and (d.offset == "o" or "offset(o)" in d.formula)
        if "hz:na_rows" in tags:
            assert d.data.isna().any().any()


def test_invalid_responses_are_refused_by_pyreterms_with_lme4s_class(campaign) -> None:
    """Without R: glformula (or, for the refusals glmer makes, glmer's own checks) refuses each deliberately
    invalid response with a message of a known refusal class."""
    seen = Counter()
    for d in campaign:
        kind = next((t[8:] for t in d.tags if t.startswith("invalid:")), None)
        if kind is None:
            continue
        assert d.family in INVALID_KINDS[kind]
        a = d.glmm_args()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(PyretermsError) as e:
                fam = glmm_family(d.family, d.link)
                glformula(d.formula, d.data, fam, weights=a["weights"], offset=a["offset"])
                glmer(d.formula, d.data, fam, nAGQ=d.nAGQ, weights=a["weights"], offset=a["offset"])
        assert refusal_class(str(e.value)) is not None, (kind, str(e.value))
        seen[kind] += 1
    assert sum(seen.values()) >= 10 and len(seen) >= 3, seen


def test_every_focus_hazard_and_family_occurs(campaign) -> None:
    foci = Counter(focus_of(d) for d in campaign)
    assert set(foci) - {None} == set(GLMM_FOCUS)
    per = N // STRATIFY_EVERY // len(GLMM_FOCUS)
    assert all(foci[f] >= per - 1 for f in GLMM_FOCUS), foci
    for d in campaign:  # a focus design carries its hazard
        f = focus_of(d)
        if f is not None and f != "invalid_response" or f == "invalid_response" and d.expect_refusal:
            assert f"hz:{f}" in d.tags, (f, sorted(d.tags))
    hz = Counter(t[3:] for d in campaign for t in d.tags if t.startswith("hz:"))
    assert set(hz) == set(GLMM_FREQUENCIES), hz
    fams = Counter(d.family for d in campaign)
    assert set(fams) == {"binomial", "poisson", "Gamma", "inverse.gaussian", "gaussian"}, fams
    links = {(d.family, d.link) for d in campaign}
    assert len(links) >= len(set(FAMILY_LINKS)) - 4, sorted(set(FAMILY_LINKS) - links)
    nagq = Counter(d.nAGQ for d in campaign)
    assert nagq[0] > 0 and nagq[1] > N // 2 and sum(v for k, v in nagq.items() if k > 1) > 0
    forms = Counter(t for d in campaign for t in d.tags if t.startswith("response:"))
    assert set(forms) == {"response:01", "response:prop", "response:cbind"}, forms


def test_most_valid_designs_pass_pyreterms_glformula(campaign) -> None:
    ok = bad = 0
    for d in campaign:
        if d.expect_refusal:
            continue
        a = d.glmm_args()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                glformula(d.formula, d.data, glmm_family(d.family, d.link), weights=a["weights"], offset=a["offset"])
            ok += 1
        except PyretermsError:
            bad += 1
    assert ok > 0.9 * (ok + bad), (ok, bad)


def test_same_seed_same_designs(campaign) -> None:
    seeding._STREAMS.clear()  # regenerate every stream from scratch
    again = list(itertools.islice(glmm_campaign_designs(0), 60))
    assert [design_key(d) for d in again] == [design_key(d) for d in campaign[:60]]
    other = list(itertools.islice(glmm_campaign_designs(1), 10))
    assert [design_key(d) for d in other] != [design_key(d) for d in campaign[:10]]


def test_design_key_tells_families_apart(campaign) -> None:
    d = campaign[0]
    assert design_key(replace(d, link="probit" if d.link != "probit" else "logit")) != design_key(d)
    assert design_key(replace(d, nAGQ=d.nAGQ + 1)) != design_key(d)


def test_reproducer_round_trips(tmp_path, campaign) -> None:
    for k, d in enumerate(campaign[:12]):
        out = write_glmm_reproducer(tmp_path / str(k), d, component="fixef(gfit)", level="glmer")
        back = load_glmm_design(out)
        assert design_key(back) == design_key(d)
        r = (out / "repro.R").read_text()
        assert f"nAGQ = {d.nAGQ}L" in r and f"family = {d.family}(" in r and "print(fixef(gfit))" in r


def test_unknown_focus_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown GLMM focus"):
        glmm_designs(focus="nope")
