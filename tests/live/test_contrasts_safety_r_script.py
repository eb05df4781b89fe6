"""``--contrasts`` through the Python API and r_scripts/reference.R: R's ``contrasts<-`` never sees a
value outside R's five contrast functions (live R; the CLI half is tests/unit/test_contrasts_safety.py)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.r


LEVELS = ["canary_aaa", "canary_bbb"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"y": [1.0, 2.5, 3.0, 4.5, 5.0, 6.5], "f": LEVELS * 3, "g": list("aabbcc")})


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
