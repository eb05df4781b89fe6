"""``predict`` for a GLMM (R: ``lme4:::predict.merMod`` with a ``glmerMod``, lme4 1.1-31), reusing the
LMM machinery of :mod:`pyreterms.verbs.predict` for new data (fixed part with the fit's factor levels and
contrasts, random part through ``mkNewReTrms``' rules).

- no ``newdata`` and ``re_form = None``: ``resp$eta`` (type "link", offset and random effects included)
  or ``resp$mu`` (type "response"), named by the frame's rows;
- otherwise ``X beta + offset`` (+ the random effects of ``re_form``: all terms by default, none for
  ``"NA"``/``"~0"``), then R's ``family$linkinv`` for type "response" (R's, not lme4's compiled clamps).
  With ``newdata``, offsets come from ``offset()`` terms of the formula only, as in lme4.
"""
from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd

from pyreterms.design.frame import r_rownames
from pyreterms.errors import DataError
from pyreterms.formula.bars import findbars
from pyreterms.formula.nodes import Call
from pyreterms.formula.parser import deparse, parse
from pyreterms.glmm.glformula import GLFormula
from pyreterms.verbs import predict as lmm_predict
from pyreterms.verbs.accessors import napredict


class _State:
    """The ``fit.state`` the LMM predict machinery reads (``beta``)."""

    def __init__(self, beta: np.ndarray) -> None:
        self.beta = beta


class _FitAdapter:
    """A GLMM fit seen as the LMM predict code sees a fit: ``lf`` (the glFormula: formula, frame, X,
    reTrms, offset), ``state.beta`` and ``ranef()``."""

    def __init__(self, glf: GLFormula, beta: np.ndarray, ranef: dict[str, pd.DataFrame]) -> None:
        self.lf = glf
        self.state = _State(beta)
        self._ranef = ranef

    def ranef(self) -> dict[str, pd.DataFrame]:
        return self._ranef


def _own_random_part(glf: GLFormula, b: np.ndarray, bars: list[Call]) -> np.ndarray:
    """``re_form`` terms on the fit's own rows: each must be one of the fit's terms (its block of ``Z b``)."""
    rt = glf.reTrms
    out = np.zeros(glf.y.size)
    for bar in bars:
        name = deparse(bar)
        k = next((i for i, t in enumerate(rt.terms) if t.name == name), None)
        if k is None:
            raise DataError(f"predict: re_form term ({name}) is not a term of the fit; give newdata to use it")
        lo, hi = int(rt.Gp[k]), int(rt.Gp[k + 1])
        out = out + rt.Zt[lo:hi].T @ b[lo:hi]
    return out


def predict(glf: GLFormula, beta: np.ndarray, b: np.ndarray, eta: np.ndarray, mu: np.ndarray,
            ranef: dict[str, pd.DataFrame], newdata: pd.DataFrame | None = None, re_form: Any = None,
            allow_new_levels: bool = False, type: str = "link") -> pd.Series:  # noqa: A002 (R's name)
    """R: ``predict(fit, newdata, re.form, allow.new.levels, type)`` for a ``glmerMod`` (module docstring)."""
    if type not in ("link", "response"):
        raise DataError(f"'arg' should be one of \u201clink\u201d, \u201cresponse\u201d (not {type!r})")
    form = lmm_predict.parse_re_form(re_form)
    if newdata is None:
        if form is None:
            return napredict(glf.fr, eta if type == "link" else mu)
        pred = glf.X.X @ beta + glf.offset
        if form != lmm_predict.NO_RE:
            pred = pred + _own_random_part(glf, b, cast(list[Call], form))
        return napredict(glf.fr, glf.family.linkinv(pred) if type == "response" else pred)
    if not isinstance(newdata, pd.DataFrame):
        raise DataError(f"newdata must be a pandas DataFrame, not {newdata.__class__.__name__}")
    fit = cast(Any, _FitAdapter(glf, beta, ranef))
    pred = lmm_predict._fixed_part(fit, newdata)
    if form != lmm_predict.NO_RE:
        bars = findbars(parse(glf.formula).argv[-1]) if form is None else cast(list[Call], form)  # type: ignore[union-attr]
        pred = pred + lmm_predict._random_part(fit, bars, newdata, allow_new_levels)
    if type == "response":
        pred = glf.family.linkinv(pred)
    return pd.Series(pred, index=list(r_rownames(newdata)), dtype=float)
