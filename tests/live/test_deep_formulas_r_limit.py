"""Deeply nested formulas against R: deparse1's line breaks, MAX_DEPTH - 1 terms agree with lme4, and R's own
limit just beyond (live R / Rscript; the refusals without R are tests/unit/test_deep_formulas.py)."""
from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

from pyreterms.formula.parser import MAX_DEPTH, deparse, parse

pytestmark = pytest.mark.r


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"y": rng.normal(size=40), "x": rng.normal(size=40), "z": rng.normal(size=40),
                         "g": np.repeat(list("abcd"), 10)})


def plus_terms(k: int, term: str = "x") -> str:
    return "y ~ " + " + ".join([term] * k) + " + (1 | g)"


LONG = [plus_terms(599), "y ~ " + " + ".join(f"log(x{i})" for i in range(200)) + " + (1 | g)",
        "y ~ I(" + "+".join(["x"] * 400) + ") + (1 | g)", "y ~ " + ":".join(["abc"] * 300) + " * z + (1 | g)",
        "y ~ cut(x, breaks = c(" + ", ".join(str(i) for i in range(300)) + "))",
        "y ~ " + " - ".join(["x"] * 200) + " * " + " + ".join(["w"] * 200)]


def test_long_deparse_breaks_lines_as_r(R):
    """deparse1() of text longer than width.cutoff = 500: R breaks lines and joins them with " "."""
    import rpy2.rinterface as ri

    from parity.r.session import r_call

    for f in LONG:
        r = r_call("deparse1", r_call("str2lang", ri.StrSexpVector([f])))[0]
        assert deparse(parse(f)) == r


def test_599_terms_agree_with_lme4(R):
    from parity.compare.check import check

    rep = check(plus_terms(599), _data(), level="lformula")
    assert rep.ok and len(rep.components) > 10, [(c.name, c.detail[:200]) for c in rep.components if not c.ok]


def test_r_fails_just_beyond_the_limit_and_passes_below():
    """The limit is R's own (measured with Rscript): lme4 accepts MAX_DEPTH - 1 terms and fails at 640."""
    code = ('suppressPackageStartupMessages(library(lme4)); set.seed(1); d <- data.frame(y = rnorm(40), '
            'x = rnorm(40), g = gl(4, 10)); for (k in c({ok}, 640)) cat(tryCatch({{lFormula(as.formula(paste("y ~", '
            'paste(rep("x", k), collapse = " + "), "+ (1|g)")), d); "ok"}}, error = function(e) conditionMessage(e)), '
            '"\\n")').format(ok=MAX_DEPTH - 1)
    p = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=300)
    lines = p.stdout.splitlines()
    assert lines[0].strip() == "ok"
    assert "C stack usage" in lines[1]
