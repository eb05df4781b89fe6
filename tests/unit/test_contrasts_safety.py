"""``--contrasts`` reaches R's ``contrasts<-``, which looks a character value up as a function and
calls it: only R's five contrast functions may pass, in the CLI, the Python API and the R script."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
LEVELS = ["canary_aaa", "canary_bbb"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"y": [1.0, 2.5, 3.0, 4.5, 5.0, 6.5], "f": LEVELS * 3, "g": list("aabbcc")})


@pytest.mark.parametrize("fun", ["file.create", "file.remove", "system", "base::file.create", "q"])
def test_cli_refuses_and_runs_nothing(tmp_path: Path, fun: str) -> None:
    _frame().to_csv(tmp_path / "levels.csv", index=False)
    for lev in LEVELS[1:]:
        (tmp_path / lev).write_text("keep me")  # file.remove would delete it
    p = subprocess.run([sys.executable, "-m", "parity", "check", "y ~ f + (1|g)", "--data", "levels.csv",
                        "--level", "lformula", "--contrasts", f"f={fun}"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stderr
    assert "not allowed" in p.stderr and "Traceback" not in p.stderr
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(["levels.csv", *LEVELS[1:]])


@pytest.mark.r
def test_api_and_r_script_refuse(R, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from parity.compare.check import check
    from parity.r.session import r_eval

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="not allowed"):
        check("y ~ f + (1|g)", _frame(), level="lformula", contrasts={"f": "file.create"})
    # the R function itself refuses, whoever calls it
    msg = r_eval('tryCatch({pyreterms_reference("y ~ f + (1|g)", data.frame(y = 1:6, f = rep(c("canary_aaa", '
                 '"canary_bbb"), 3), g = rep(c("a", "b", "c"), each = 2)), contrasts = list(f = "file.create")); '
                 '"ran"}, error = function(e) conditionMessage(e))')
    assert "not allowed" in str(msg)
    assert list(tmp_path.iterdir()) == []
    # the five allowed names still work and agree with lme4
    rep = check("y ~ f + (1|g)", _frame(), level="lformula", contrasts={"f": "contr.sum"})
    assert rep.ok
