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
