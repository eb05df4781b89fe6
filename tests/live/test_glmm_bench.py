"""``parity bench-glmm``: lme4's glmer and pyreterms' glmer timed side by side in one run (live)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from parity.bench.glmm import GLMM_BENCH_CASES, format_glmm_table, run_glmm_case
from parity.compare.tolerances import CRITERION

pytestmark = pytest.mark.r


def test_cbpp_row_measures_both_sides_and_agrees(R) -> None:
    case = next(c for c in GLMM_BENCH_CASES if c.name == "cbpp")
    res = run_glmm_case(case, 1, 600.0)
    r, p = res["lme4"], res["pyreterms"]
    assert "error" not in r and r["fit_s"] > 0 and p["fit_s"] > 0 and res["ratio"] == r["fit_s"] / p["fit_s"]
    assert r["feval"] > 0 and p["feval"] > 0 and p["n"] == 56
    assert r["cpu_s"] > 0 and p["cpu_s"] > 0 and res["cpu_ratio"] == r["cpu_s"] / p["cpu_s"]
    assert res["criterion_rel_diff"] <= CRITERION.rtol, res  # the same optimum, from lme4's deviance
    row = format_glmm_table({"cases": [res]}).splitlines()[2]
    assert row.startswith("| cbpp | 56 | binomial, 1 | 1 | ") and f"| {r['feval']}/{p['feval']} |" in row


def test_bench_glmm_cli_refuses_an_unknown_case() -> None:
    p = subprocess.run([sys.executable, "-m", "parity", "bench-glmm", "--case", "nope"], capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 2 and "unknown case(s) ['nope']" in p.stderr, p.stderr


def test_bench_glmm_cli_measures_beside_background_load(tmp_path) -> None:
    """``--background-load 0 1``: one table per load, each row recording the load it was measured beside."""
    out = tmp_path / "b.json"
    p = subprocess.run([sys.executable, "-m", "parity", "bench-glmm", "--case", "cbpp", "--repeat", "1",
                        "--background-load", "0", "1", "--json", str(out)], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "Background load during the measurement: none" in p.stdout
    assert "Background load during the measurement: 1 CPU-bound process" in p.stdout
    assert p.stdout.count("| cbpp | 56 | binomial, 1 | 1 | ") == 2
    rep = json.loads(out.read_text())
    assert rep["background_load"] == [0, 1]
    assert [c["background_load"]["k"] for c in rep["cases"]] == [0, 1]
    assert rep["cases"][1]["background_load"]["kinds"] == ["python"]
    assert all(c["criterion_rel_diff"] <= CRITERION.rtol for c in rep["cases"])


def test_bench_glmm_cli_refuses_a_negative_load() -> None:
    p = subprocess.run([sys.executable, "-m", "parity", "bench-glmm", "--background-load", "-1"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "--background-load must be >= 0" in p.stderr, p.stderr
