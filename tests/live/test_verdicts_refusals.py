"""The refusal classes and verdicts against live lme4: same-reason refusals agree, a different reason is a
disagreement, pyreterms agrees on a design (the classification without R is tests/unit/test_verdicts.py)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parity.adapter.pyreterms_lformula import pyreterms_impl
from parity.compare.check import check
from parity.compare.verdicts import Verdict
from pyreterms.errors import LmeCheckError

pytestmark = pytest.mark.r


def _df() -> pd.DataFrame:
    i = np.arange(24)
    return pd.DataFrame({"y": np.sin(i), "x": (i % 5) - 2.0, "g": [f"g{k}" for k in i % 4]})


def _refusal_data() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(dict(
        y=rng.normal(size=12), x=rng.normal(size=12), g=[f"g{k}" for k in np.tile([1, 2, 3], 4)],
        single=["a"] * 12, id=[f"i{k:02d}" for k in range(12)], gbig=[f"b{k}" for k in np.tile(range(6), 2)],
        s=list("abc") * 4, xna=[np.nan] + list(rng.normal(size=11)), all_na=[np.nan] * 12,
        x_inf=[np.inf] + list(rng.normal(size=11)), yc=["a", "b"] * 6, f1=["z"] * 12,
        y2=[np.inf] + list(rng.normal(size=11)), w=[-1.0] + [1.0] * 11))


LIVE = [("y ~ x + (1 | single)", "nlev < 2", {}), ("y ~ x + (1 || g)", "(1 || g) not expandable", {}),
        ("y ~ x + (1 | id)", "nobs <= nlev", {}),
        ("y ~ x + (x | gbig)", "nobs <= nRE", {}), ("y ~ nosuch + (1 | g)", "unknown variable", {}),
        ("y ~ x + (1 | nosuch)", "unknown variable", {}), ("y ~ x_inf + (1 | g)", "non-finite X", {}),
        ("y ~ all_na + (1 | g)", "empty frame", {}), ("y ~ x", "no random effects", {}),
        ("yc ~ x + (1 | g)", "response not numeric", {}), ("y ~ f1 + (1 | g)", "contrasts need 2 levels", {}),
        ("y ~ poly(x, 20) + (1 | g)", "poly degree", {}), ("y ~ x + (0 | g)", "random-effects term without columns", {}),
        ("y ~ x^1.5 + (1 | g)", "invalid power", {}), ("y ~ 2 + (1 | g)", "invalid model formula", {}),
        ("y ~ log(s) + (1 | g)", "non-numeric argument", {}), ("y ~ poly(xna, 2) + (1 | g)", "poly NA", {}),
        ("y2 ~ x + (1 | g)", "non-finite response", {}), ("y ~ x + (1 | g)", "negative weights", {"weights": "w"}),
        ("y ~ x + (1 | g)", "variable lengths differ", {"offset": np.arange(3.0)}),
        ("y ~ id + (1 | g)", "objective not finite at the start", {})]  # REML with n = p = 12


@pytest.mark.parametrize("f,cls,kw", LIVE, ids=[f"{c}: {f}" for f, c, _ in LIVE])
def test_same_reason_refusals_agree_with_lme4(f, cls, kw) -> None:
    d = _refusal_data()
    if "weights" in kw:
        kw = {"weights": d[kw["weights"]].to_numpy(float)}
    rep = check(f, d, level="fit", **kw)
    (dec,) = rep.components
    assert rep.verdict is Verdict.BOTH_REFUSED, dec.detail
    assert f"same reason ({cls})" in dec.detail


def test_different_reason_is_a_disagreement_live() -> None:
    def wrong_reason(formula, data, **kw):
        raise LmeCheckError("number of levels of each grouping factor must be < number of observations (problems: g)")

    rep = check("y ~ x + (1 | single)", _refusal_data(), impl=wrong_reason, level="lformula")
    assert rep.verdict is Verdict.DISAGREE and "different reasons" in rep.components[0].detail


def test_pyreterms_agrees_on_a_design() -> None:
    rep = check("y ~ x + (1 | g)", _df(), level="lformula", impl=pyreterms_impl)
    assert rep.verdict is Verdict.AGREE and rep.ok
