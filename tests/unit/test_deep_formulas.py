"""Issue 11 item 2 (formula part): wide and deep formulas.

R 4.2.2 + lme4 1.1-31 (Rscript, 8 MiB C stack) accept up to ~630 nested operators (630 ``+`` terms,
627 unary minus inside I(), 629 ``:``) and then stop with "C stack usage ... too close to the
limit"; the R embedded by rpy2 has no stack check and segfaults instead.  R's parser refuses more
than 50 nested brackets ("contextstack overflow").  pyreterms handles everything up to depth
``MAX_DEPTH`` (600) and refuses deeper formulas with a one-line FormulaError before R is called.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import pyreterms
from pyreterms.errors import FormulaError
from pyreterms.formula.parser import MAX_BRACKET_DEPTH, MAX_DEPTH, deparse, depth, parse


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"y": rng.normal(size=40), "x": rng.normal(size=40), "z": rng.normal(size=40),
                         "g": np.repeat(list("abcd"), 10)})


def plus_terms(k: int, term: str = "x") -> str:
    return "y ~ " + " + ".join([term] * k) + " + (1 | g)"


WIDE = [plus_terms(400), plus_terms(MAX_DEPTH - 1), plus_terms(300, "log(z^2)"),
        "y ~ I(" + "-" * (MAX_DEPTH - 4) + "x) + (1 | g)", "y ~ x + (" + "+".join(["x"] * 590) + " | g)",
        "y ~ " + ":".join(["x"] * 590) + " + (1 | g)", "I(" + "+".join(["y"] * 590) + ") ~ x + (1 | g)",
        "y ~ x + " + " + ".join(["(1 | g)"] * 590), "y ~ " + "(" * 49 + "x" + ")" * 49 + " + (1 | g)",
        "y ~ " + "I(" * 49 + "x" + ")" * 49 + " + (1 | g)"]


@pytest.mark.parametrize("formula", WIDE, ids=[f"w{i}" for i in range(len(WIDE))])
def test_wide_and_deep_formulas_within_rs_limits_work(formula):
    t0 = time.perf_counter()
    lf = pyreterms.lformula(formula, _data())
    assert lf.fr.n == 40 and lf.reTrms.q >= 4
    assert time.perf_counter() - t0 < 10


def test_400_terms_give_lme4s_objects():
    lf = pyreterms.lformula(plus_terms(400), _data())
    assert lf.X.colnames == ("(Intercept)", "x")  # repeated terms collapse, as in terms.formula
    assert lf.formula == deparse(parse(plus_terms(400)))


TOO_DEEP = [plus_terms(MAX_DEPTH), plus_terms(1000), plus_terms(20000), "y ~ I(" + "-" * 5000 + "x) + (1 | g)",
            "y ~ I(" + "^".join(["x"] * 3000) + ") + (1 | g)", "y ~ x + " + " + ".join(["(1 | g)"] * 700)]


@pytest.mark.parametrize("formula", TOO_DEEP, ids=[f"d{i}" for i in range(len(TOO_DEEP))])
def test_too_deep_is_one_line_formula_error(formula):
    with pytest.raises(FormulaError, match="too deeply nested") as e:
        pyreterms.lformula(formula, _data())
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("k", [51, 3000])
def test_brackets_beyond_rs_parser_are_refused_like_r(k):
    with pytest.raises(FormulaError, match="contextstack overflow") as e:
        pyreterms.lformula("y ~ " + "(" * k + "x" + ")" * k + " + (1 | g)", _data())
    assert "\n" not in str(e.value)
    assert MAX_BRACKET_DEPTH == 50


def test_depth_counts_nested_calls():
    assert depth(parse("y ~ x")) == 1
    assert depth(parse(plus_terms(3))) == 4  # ~, then 3 nested + (x + x + x + (1 | g))
    assert depth(parse("y ~ I(-(x))")) == 4


@pytest.mark.parametrize("cli", ["pyreterms", "parity"])
def test_clis_exit_2_with_one_line(cli, tmp_path: Path):
    _data().to_csv(tmp_path / "d.csv", index=False)
    if cli == "pyreterms":
        cmd = [sys.executable, "-m", "pyreterms.cli", "lformula", plus_terms(1000), "--data", "d.csv"]
    else:
        cmd = [sys.executable, "-m", "parity", "check", plus_terms(1000), "--data", "d.csv", "--level", "lformula"]
    p = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "too deeply nested" in lines[0]


def test_parity_refuses_before_r_is_started(monkeypatch):
    from parity.r import oracle
    from parity.r import session as rsession

    def boom() -> None:
        raise AssertionError("R was started")

    monkeypatch.setattr(rsession, "start", boom)
    with pytest.raises(FormulaError, match="too deeply nested"):
        oracle.reference(plus_terms(1000), _data())
