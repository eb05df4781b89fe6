"""Issue 18 item 5: a fixed-seed campaign of
300 generated GLMM designs (parity.campaigns.glmm_strategies: families, links, nAGQ, offsets, separation,
boundary fits, overdispersion, zero inflation, invalid responses) against live lme4, each judged as ``parity
check --family`` judges it.  A disagreement is explained only as README "Known differences from lme4" (GLMMs)
explains it, checked live for the design (:mod:`parity.campaigns.glmm_explain`)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from parity.campaigns.fuzz import FuzzConfig, run_campaign
from parity.campaigns.glmm_explain import explain_disagreement
from parity.campaigns.glmm_fuzz import GLMM
from parity.campaigns.workers import spawn_environment

pytestmark = [pytest.mark.r, pytest.mark.slow]  # a campaign: minutes

SEED = 11


def glmm_campaign_verdict(examples: int, out_dir) -> tuple:
    """The seed-11 GLMM campaign: (result, explained, unexplained)."""
    res = run_campaign(FuzzConfig(examples=examples, seed=SEED, level="glmer", shrink=False), out_dir=out_dir,
                       progress=False, kind=GLMM)
    explained, unexplained = [], []
    for o in res.outcomes:
        if o.status != "disagree":
            continue
        why = explain_disagreement(o)
        row = (o.design.formula, o.design.family, o.design.link, o.design.nAGQ, o.design.n, o.failing)
        (explained if why else unexplained).append((*row, why) if why else row)
    return res, explained, unexplained


def test_300_design_glmm_campaign_runs(tmp_path) -> None:
    """The 300-design campaign agrees with lme4 with no unexplained difference (issue 18 item 5): every design
    judged (no error, nothing "not compared"), both sides refuse some designs for the same reason, at least two
    thirds agree, every hard case is drawn, and every disagreement is explained by a rule of README "Known
    differences from lme4" 13 with its live evidence (at most 1 design in 15)."""
    n = int(os.environ.get("PARITY_GLMM_CAMPAIGN_EXAMPLES", "300"))
    t0 = time.perf_counter()
    res, explained, unexplained = glmm_campaign_verdict(n, tmp_path)
    statuses = [o.status for o in res.outcomes]
    assert len(statuses) == n
    assert statuses.count("error") == 0, [(o.design.formula, o.error) for o in res.outcomes if o.status == "error"]
    assert statuses.count("not-compared") == 0
    assert not unexplained, unexplained
    # each explained design carries its own live evidence; the count guards against the rule becoming common
    assert len(explained) <= max(3, n // 15), explained
    assert statuses.count("both-refused") > 0 and statuses.count("agree") > 2 * n // 3, statuses
    # the hard cases were drawn and lme4 both fitted and refused GLMMs
    tags = {t for o in res.outcomes for t in o.design.tags}
    assert {"hz:separation", "hz:boundary", "hz:overdispersion", "hz:zero_inflated", "hz:invalid_response",
            "hz:agq", "hz:nagq0", "hz:offset"} <= tags
    print(f"GLMM campaign: {n} designs in {time.perf_counter() - t0:.0f} s; "
          f"{statuses.count('agree')} agree ({res.glmm_theta_rule()} by the GLMM theta rule), "
          f"{statuses.count('both-refused')} both refused, {len(explained)} explained: {explained}; "
          f"{len(unexplained)} not explained")


def _fuzz(tmp_path, name: str, *extra: str) -> subprocess.CompletedProcess:
    # the environment from before this process started R: with R's library directories first on
    # LD_LIBRARY_PATH, the child's spawned workers load the system's libpython (seen under pytest-xdist:
    # "'_thread.RLock' object has no attribute '_recursion_count'")
    with spawn_environment():
        return _run_fuzz(tmp_path, name, *extra)


def _run_fuzz(tmp_path, name: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "parity", "fuzz", "--glmm", "--examples", "8", "--seed", "3",
                           "--quiet", "--no-shrink", "--json", str(tmp_path / f"{name}.json"), "--out",
                           str(tmp_path / name), *extra], capture_output=True, text=True, timeout=900)


def test_cli_fuzz_glmm_same_seed_same_report(tmp_path) -> None:
    """``parity fuzz --glmm``: the same seed gives the same designs and verdicts, in process and with 2 workers."""
    runs = {name: _fuzz(tmp_path, name, *extra) for name, extra in (("a", ()), ("b", ("--workers", "2")))}
    reps = {}
    for name, p in runs.items():
        assert p.returncode in (0, 1), p.stdout[-2000:] + p.stderr[-2000:]
        assert (tmp_path / f"{name}.json").exists(), (name, p.returncode, p.stdout[-3000:] + p.stderr[-3000:])
        reps[name] = json.loads((tmp_path / f"{name}.json").read_text())
        assert reps[name]["kind"] == "glmm" and reps[name]["level"] == "glmer"
        assert reps[name]["counts"]["designs"] == 8 and reps[name]["counts"]["error"] == 0

    def key(rep: dict) -> list:
        return [(d["formula"], d["family"], d["link"], d["nAGQ"], d["n"], d["status"], d["failing"])
                for d in rep["designs"]]

    assert key(reps["a"]) == key(reps["b"])
    bad = subprocess.run([sys.executable, "-m", "parity", "fuzz", "--glmm", "--level", "fit", "--examples", "1"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "not a level of GLMM designs" in bad.stderr, bad.stderr
