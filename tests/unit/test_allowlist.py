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


# ---------------------------------------------------------------------------------- live R side


def _r_chr(name: str) -> list[str]:
    from parity.r.session import r_eval

    return list(r_eval(name))


@pytest.mark.r
def test_r_session_has_the_python_allowlist(R):
    assert _r_chr("pyreterms_allowed_functions") == list(allowlist.OPERATORS) + [r.name for r in allowlist.FUNCTIONS]
    assert _r_chr("pyreterms_allowed_namespaced") == list(allowlist.NAMESPACED)
    assert _r_chr("pyreterms_allowed_contrasts") == list(allowlist.CONTRASTS)
    assert _r_chr("names(pyreterms_formula_imports)") == ["ns", "bs"]


@pytest.mark.r
@pytest.mark.parametrize("text", ["y ~ system('ls') + (1|g)", "y ~ base::system('ls') + (1|g)",
                                  "y ~ splines::splineDesign(x) + (1|g)", "y ~ x + (get('x') | g)"])
def test_r_walker_refuses_what_python_refuses(R, text):
    from parity.r.session import r_call

    import rpy2.rinterface as ri

    bad = r_call("pyreterms_disallowed", r_call("str2lang", ri.StrSexpVector([text])))
    assert bad is not ri.NULL and len(bad) == 1
    with pytest.raises(FormulaError):
        allowlist.check_text(text)


@pytest.mark.r
def test_standalone_rscript_sources_the_generated_file(tmp_path: Path):
    code = ('source("r_scripts/reference.R"); d <- data.frame(y = c(1, 3, 2, 5, 4, 6), x = c(0, 1, 1, 0, 1, 2), '
            'g = rep(c("a", "b", "c"), 2)); r <- pyreterms_reference("y ~ I(x == 1) + (1 | g)", d); '
            'cat(colnames(r[["lFormula()$X"]]), sep = ","); cat("\\n"); '
            'cat(pyreterms_reference("y ~ system(\\"ls\\") + (1 | g)", d)$error)')
    p = subprocess.run(["Rscript", "-e", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "(Intercept),I(x == 1)TRUE"
    assert lines[1] == "formula uses function 'system' which is not allowed"


@pytest.mark.r
def test_comparison_operators_reach_lme4(R):
    """The case that used to be reported as "lme4 refused": R's allowlist lacked ==, &, !."""
    from parity.compare.check import check

    d = pd.DataFrame({"y": [1.0, 3, 2, 5, 4, 6, 2, 8], "x": [0.0, 1, 1, 0, 1, 2, 0.5, 3],
                      "z": [0.5, 0.2, 2, 0.1, 0.9, 0.3, 0.4, 0.7], "g": list("abcdabcd")})
    for f in ("y ~ I(x == 1) + (1 | g)", "y ~ I(x > 0 & z < 1) + I(!(x != 0)) + (1 | g)",
              "y ~ I(x %% 2) + I(x %/% 2) + I(x <= 1) + (1 | g)"):
        rep = check(f, d, level="lformula")
        assert rep.ok and len(rep.components) > 10, [(c.name, c.detail) for c in rep.components if not c.ok]


def test_dataset_references():
    assert allowlist.check_dataset("lme4", "sleepstudy") == ("lme4", "sleepstudy")
    for pkg, name in [("utils", "head"), ("lme4", "x; system('ls')"), ("base", "T"), ("lme4", ".1a")]:
        with pytest.raises(ValueError):
            allowlist.check_dataset(pkg, name)


@pytest.mark.r
def test_r_data_sets_only_from_allowlisted_packages(R):
    from parity.r.datasource import load_source

    with pytest.raises(ValueError, match="read only from lme4"):
        load_source("r:tools::sleepstudy")  # installed, but not a data set package: never loaded
    assert len(load_source("r:lme4::sleepstudy")) == 180
