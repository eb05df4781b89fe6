"""What the inference functions read of a fit (R: a ``merMod``): a Protocol, so that
:mod:`pyreterms.lmm.fit` can call them without an import cycle.  New fits (``refitML``, the profile's
refits) are made with :func:`dataclasses.replace` on the fit given."""
from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from pyreterms.design.model import LFormula
from pyreterms.lmm.deviance import LmerProblem, PLSState
from pyreterms.lmm.optimize import LmerControl, OptResult


class MerModView(Protocol):
    """What every consumer of a fit reads (R: a ``merMod``): its stages, its state and the likelihood
    summaries; :class:`InferenceFit` and the summary's ``FitView`` add what each needs."""

    @property
    def lf(self) -> LFormula: ...

    @property
    def problem(self) -> LmerProblem: ...

    @property
    def state(self) -> PLSState: ...

    @property
    def opt(self) -> OptResult: ...

    @property
    def is_REML(self) -> bool: ...

    def sigma(self) -> float: ...

    def vcov(self) -> pd.DataFrame: ...

    def npar(self) -> int: ...

    def logLik(self, REML: bool | None = None) -> float: ...

    def AIC(self) -> float: ...

    def BIC(self) -> float: ...


class InferenceFit(MerModView, Protocol):
    """R: an ``lmerMod`` (:class:`pyreterms.lmm.fit.LmerFit`) as the inference functions read it."""

    @property
    def control(self) -> LmerControl: ...

    @property
    def theta(self) -> np.ndarray: ...

    def fixef(self) -> pd.Series: ...

    def refit(self, newresp: np.ndarray) -> InferenceFit: ...
