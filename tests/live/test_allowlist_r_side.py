"""The R side of the one allowlist (pyreterms/formula/allowlist.py): the vectors the R session assigns, R's
formula walker, the standalone Rscript and lme4 reached through it (live R; the pure half is
tests/unit/test_allowlist.py)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest

from pyreterms.errors import FormulaError
from pyreterms.formula import allowlist

pytestmark = pytest.mark.r


REPO = Path(__file__).resolve().parents[2]


def _r_chr(name: str) -> list[str]:
    from parity.r.session import r_eval

    return list(r_eval(name))


def test_r_session_has_the_python_allowlist(R):
    assert _r_chr("pyreterms_allowed_functions") == list(allowlist.OPERATORS) + [r.name for r in allowlist.FUNCTIONS]
    assert _r_chr("pyreterms_allowed_namespaced") == list(allowlist.NAMESPACED)
    assert _r_chr("pyreterms_allowed_contrasts") == list(allowlist.CONTRASTS)
    assert _r_chr("names(pyreterms_formula_imports)") == ["ns", "bs"]


@pytest.mark.parametrize("text", ["y ~ system('ls') + (1|g)", "y ~ base::system('ls') + (1|g)",
                                  "y ~ splines::splineDesign(x) + (1|g)", "y ~ x + (get('x') | g)"])
def test_r_walker_refuses_what_python_refuses(R, text):
    import rpy2.rinterface as ri

    from parity.r.session import r_call

    bad = r_call("pyreterms_disallowed", r_call("str2lang", ri.StrSexpVector([text])))
    assert bad is not ri.NULL and len(bad) == 1
    with pytest.raises(FormulaError):
        allowlist.check_text(text)


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


def test_comparison_operators_reach_lme4(R):
    """The case that used to be reported as "lme4 refused": R's allowlist lacked ==, &, !."""
    from parity.compare.check import check

    d = pd.DataFrame({"y": [1.0, 3, 2, 5, 4, 6, 2, 8], "x": [0.0, 1, 1, 0, 1, 2, 0.5, 3],
                      "z": [0.5, 0.2, 2, 0.1, 0.9, 0.3, 0.4, 0.7], "g": list("abcdabcd")})
    for f in ("y ~ I(x == 1) + (1 | g)", "y ~ I(x > 0 & z < 1) + I(!(x != 0)) + (1 | g)",
              "y ~ I(x %% 2) + I(x %/% 2) + I(x <= 1) + (1 | g)"):
        rep = check(f, d, level="lformula")
        assert rep.ok and len(rep.components) > 10, [(c.name, c.detail) for c in rep.components if not c.ok]


def test_r_data_sets_only_from_allowlisted_packages(R):
    from parity.r.datasource import load_source

    with pytest.raises(ValueError, match="read only from lme4"):
        load_source("r:tools::sleepstudy")  # installed, but not a data set package: never loaded
    assert len(load_source("r:lme4::sleepstudy")) == 180
