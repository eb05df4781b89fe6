"""What the verbs read of a fit (:class:`pyreterms.lmm.fit.LmerFit`; R: a ``merMod``).

A Protocol rather than an import of ``LmerFit``: ``pyreterms.lmm.fit`` calls into these modules, so
importing it back would make an import cycle.
"""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from pyreterms.lmm.optimize import LmerControl
from pyreterms.lmm.summary import FitView


class FitLike(FitView, Protocol):
    """A fitted ``lmerMod``: the summary's view plus what predict/simulate/refit need."""

    @property
    def theta(self) -> np.ndarray: ...

    @property
    def control(self) -> LmerControl: ...

    def fixef(self) -> pd.Series: ...

    def ranef(self) -> dict[str, pd.DataFrame]: ...

    def getME(self, name: str) -> Any: ...

    def VarCorr_df(self, order: str = "cov.last") -> pd.DataFrame: ...
