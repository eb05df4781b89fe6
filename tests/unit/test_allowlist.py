"""Issue 11 item 1: one allowlist (pyreterms/formula/allowlist.py) for everything a user may name; the R side
(r_scripts/allowlist.R, and the vectors rsession assigns) is generated from it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pyreterms.formula import allowlist
from pyreterms.errors import FormulaError
from pyreterms.formula.parser import parse

REPO = Path(__file__).resolve().parents[2]


def test_r_file_is_generated_from_python():
    assert (REPO / "r_scripts" / "allowlist.R").read_text() == allowlist.r_source(), \
        "r_scripts/allowlist.R is stale: run python -m pyreterms.formula.allowlist --write"


def test_contrasts_are_the_ones_pyreterms_implements():
    from pyreterms.design.contrasts import CONTRASTS

    assert set(allowlist.CONTRASTS) == set(CONTRASTS)
    assert allowlist.check_contrasts({"f": "contr.sum"}) == [("f", "contr.sum")]
    for bad in ({"f": "file.remove"}, {"f": "base::contr.sum"}, {"": "contr.sum"}, ["contr.sum"]):
        with pytest.raises(ValueError, match="not allowed|must map"):
            allowlist.check_contrasts(bad)


ACCEPTED = [
    "y ~ ns(x, 3) + (1 | g)", "y ~ splines::ns(x, df = 3) + (1 | g)", "y ~ bs(x, knots = c(1, 2), degree = 2)",
    "y ~ splines::bs(x, 4, Boundary.knots = c(-1, 9), intercept = TRUE)", "y ~ cut(x, 3)",
    "y ~ cut(x, breaks = c(-Inf, 0, 1), labels = c(\"a\", \"b\"), right = FALSE)", "y ~ pmin(x, z, 1) + pmax(x, 0)",
    "y ~ base::log(x, base = 2) + base::exp(z)", "y ~ stats::poly(x, 2)", "y ~ I(x == 1) + I(x > 0 & z < 1) + I(!a)",
    "y ~ log(x, 10) + poly(x, degree = 2, raw = TRUE) + scale(x, center = FALSE)", "y ~ x + F + T + pi",
]

REFUSED = [
    ("y ~ system(\"ls\")", "function 'system' is not allowed"),
    ("y ~ base::system(\"ls\")", "function 'base::system' is not allowed"),
    ("y ~ splines::splineDesign(x)", "not allowed"),
    ("y ~ stats::ns(x, 3)", "ns is allowed only as splines::ns"),
    ("y ~ utils::head(x)", "not allowed"),
    ("y ~ ns(x, df = nchar(\"abc\"))", "must be a constant"),
    ("y ~ x + nchar(\"abc\")", "function .nchar. is not allowed"),
    ("y ~ ns(x, df = z)", "argument 'df' must be a constant"),
    ("y ~ cut(x, breaks = x)", "argument 'breaks' must be a constant"),
    ("y ~ bs(x, foo = 1)", "unsupported argument 'foo'"),
    ("y ~ log(x, 2, 3)", "too many arguments"),
    ("y ~ cut(x)", "argument 'breaks' is missing"),
    ("y ~ c(x, z)", "may hold only constants"),
    ("y ~ ns(x, knots = c(1, z))", "must be a constant"),
    ("y ~ get(\"x\")", "not allowed"),
    ("y ~ eval(x)", "not allowed"),
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted(text):
    allowlist.check_expression(parse(text))


@pytest.mark.parametrize("text,msg", REFUSED)
def test_refused_one_line(text, msg):
    with pytest.raises(FormulaError, match=msg) as e:
        allowlist.check_text(text)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("text", ["y ~ splines:::ns(x)", "y ~ base::pi + x", "y ~ x[1]", "y ~ {x}", "y ~ x$a"])
def test_unsupported_syntax_refused_by_the_reader(text):
    with pytest.raises(FormulaError, match="cannot read formula"):
        parse(text)


def test_lformula_refuses_before_evaluating(tmp_path: Path):
    import pyreterms

    d = pd.DataFrame({"y": [1.0, 2, 3, 4], "x": [1.0, 2, 3, 4], "g": list("aabb")})
    with pytest.raises(FormulaError, match="not allowed"):
        pyreterms.lformula("y ~ x + base::system('touch canary') + (1 | g)", d)


def test_cli_one_line_error():
    p = subprocess.run([sys.executable, "-m", "pyreterms.cli", "lformula", "y ~ x + system('ls') + (1|g)",
                        "--data", "sleepstudy"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "not allowed" in p.stderr and "Traceback" not in p.stderr


def test_dataset_references():
    assert allowlist.check_dataset("lme4", "sleepstudy") == ("lme4", "sleepstudy")
    for pkg, name in [("utils", "head"), ("lme4", "x; system('ls')"), ("base", "T"), ("lme4", ".1a")]:
        with pytest.raises(ValueError):
            allowlist.check_dataset(pkg, name)
