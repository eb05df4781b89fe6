"""Helpers of the verbs' live tests (tests/test_verbs_*.py): data into R, R values out."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from parity.r.convert import dataframe_to_r


def put(R: Any, name: str, df: pd.DataFrame) -> None:
    """Assign a pandas DataFrame in R's global environment (row names kept)."""
    import rpy2.robjects as ro

    R.start()
    ro.globalenv[name] = dataframe_to_r(df)


def num(R: Any, code: str) -> np.ndarray:
    """A numeric R value as float64 (NA -> NaN)."""
    return np.asarray(R.r_eval(f"as.numeric({code})"), dtype=np.float64)


def names(R: Any, code: str) -> list[str]:
    return list(R.r_eval(f"as.character(names({code}))"))


def same_as_r(ours: pd.Series, R: Any, code: str) -> None:
    """``ours`` equals the named numeric R vector ``code``: the same names, the same NA positions and the
    values to 1e-10 relative (a prediction at lme4's own theta)."""
    theirs = num(R, code)
    assert list(ours.index) == names(R, code)
    assert np.array_equal(np.isnan(ours.to_numpy()), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    np.testing.assert_allclose(ours.to_numpy()[ok], theirs[ok], rtol=1e-10, atol=0)


def r_fit(R: Any, formula: str, data: str, REML: bool = True, extra: str = "", name: str = "fit") -> np.ndarray:
    """Fit in R (``name <- lmer(...)``) and return lme4's theta."""
    R.r_eval(f"suppressMessages(library(lme4)); {name} <- lmer({formula}, {data}, REML = {'TRUE' if REML else 'FALSE'}"
             f"{', ' + extra if extra else ''})")
    return num(R, f'getME({name}, "theta")')


def same_fit(formula: str, data: pd.DataFrame, theta: np.ndarray, REML: bool = True, **kw: Any) -> Any:
    """pyreterms' fit at lme4's theta (no optimization): every theta-dependent value is lme4's."""
    import pyreterms

    return pyreterms.lmer(formula, data, REML=REML, control={"optimizer": None, "start": tuple(theta)}, **kw)
