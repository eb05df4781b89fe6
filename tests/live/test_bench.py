"""``parity bench`` end to end on the smallest case (live R): JSON structure and deviance agreement.

No timing assertions: timings are measured by ``parity bench`` itself, not by tests."""
from __future__ import annotations

import json

import pytest

from parity.bench.run import CASES, select_cases
from parity.cli.main import main

pytestmark = pytest.mark.r


def test_default_selection_excludes_the_1m_case() -> None:
    names = [c.name for c in select_cases(None, False)]
    assert "ml1m" not in names and "insteval_dept" in names
    # --all: every case but the huge ones (ml10m), which run only when named
    assert [c.name for c in select_cases(None, True)] == [c.name for c in CASES if not c.huge]
    assert "ml1m" in [c.name for c in select_cases(None, True)]
    assert [c.name for c in select_cases(["ml1m"], False)] == ["ml1m"]
    assert [c.name for c in select_cases(["ml10m"], False)] == ["ml10m"]


def test_unknown_case_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--case", "nope", "--repeat", "1"]) == 2
    assert "unknown case" in capsys.readouterr().err


def test_bench_sleepstudy_json(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert main(["bench", "--case", "sleepstudy", "--repeat", "1", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| sleepstudy |" in table and "Machine:" in table
    res = json.loads(out.read_text())
    assert {"machine", "versions", "repeat", "cases", "memory", "time_limit_s"} <= set(res)
    assert res["versions"]["lme4"].startswith("1.1") and res["machine"]["cores"] >= 1
    assert res["machine"]["python_blas_threads"] == 1
    (case,) = res["cases"]
    assert case["name"] == "sleepstudy" and case["REML"] is True
    py, r = case["pyreterms"], case["lme4"]
    for key in ("lformula_s", "problem_build_s", "deviance_s", "fit_s", "fit_1thread_s"):
        assert py[key] > 0
    assert res["background_load"] == [0] and case["background_load"]["k"] == 0
    for key in ("lformula_s", "deviance_s", "fit_s"):
        assert r[key] > 0
    assert py["feval"] > 0 and r["feval"] > 0 and py["n_devfun"] >= py["feval"]
    assert py["peak_rss_mb"] > 0 and r["gc_max_used_mb"] >= 0
    assert set(case["ratios"]) == {"lformula", "deviance", "fit"}
    assert all(v > 0 for v in case["ratios"].values())
    agree = case["agreement"]
    assert agree["deviance_rel_diff"] <= 1e-10
    assert agree["deviance_rel_diff_theta0"] <= 1e-10
    assert agree["criterion_rel_diff"] <= 1e-6
    assert len(agree["theta"]) == 3
