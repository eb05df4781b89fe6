"""lmer's scalar arguments read as R reads them: ``if (REML)``, ``if (devFunOnly)`` and
``as.integer(verbose)``, with R's own messages where R stops.

R equivalent: ``lme4::mkLmerDevfun`` (``REMLpass <- if (REML) p else 0L``), ``lme4::lmer``
(``if (devFunOnly) return(devfun)``) and the optimizer wrappers (``verbose <- as.integer(verbose)``,
then ``if (verbose > 10)``); the coercions are R's C ``asLogical2`` (``if``) and ``as.integer``
(``coerceVector``).  Written here because no library reproduces R's truthiness of strings
("T", "true", ...) and its three distinct messages.

``pandas.NA`` (or ``None`` inside a sequence) stands for R's ``NA``.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from pyreterms.errors import LmeCheckError, LmeWarning

__all__ = ["r_if", "r_as_integer", "verbose_level"]

#: R's StringTrue / StringFalse (src/main/util.c)
_STRING_TRUE = ("T", "True", "TRUE", "true")
_STRING_FALSE = ("F", "False", "FALSE", "false")


def _elements(value: Any) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray, pd.Series)):
        return [value]
    return list(np.asarray(value, dtype=object).ravel())


def _is_na(x: Any) -> bool:
    return x is None or x is pd.NA


def r_if(value: Any, check: str) -> bool:
    """R: ``if (value)``.  Raises :class:`LmeCheckError` with R's message: "argument is of length
    zero", "the condition has length > 1", "argument is not interpretable as logical" (a string
    that is not "TRUE"/"true"/"T"/"True" or their FALSE forms, NaN) or "missing value where
    TRUE/FALSE needed" (NA)."""
    if value is None:
        raise LmeCheckError("argument is of length zero", check=check)
    xs = _elements(value)
    if len(xs) == 0:
        raise LmeCheckError("argument is of length zero", check=check)
    if len(xs) > 1:
        raise LmeCheckError("the condition has length > 1", check=check)
    x = xs[0]
    if _is_na(x):
        raise LmeCheckError("missing value where TRUE/FALSE needed", check=check)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, str):
        if x in _STRING_TRUE:
            return True
        if x in _STRING_FALSE:
            return False
        raise LmeCheckError("argument is not interpretable as logical", check=check)
    if isinstance(x, (int, float, np.integer, np.floating)):
        if math.isnan(float(x)):
            raise LmeCheckError("argument is not interpretable as logical", check=check)
        return float(x) != 0.0
    raise LmeCheckError("argument is not interpretable as logical", check=check)


def r_as_integer(value: Any) -> list[int | None]:
    """R: ``as.integer(value)`` (None = NA): numbers truncated towards zero, TRUE/FALSE 1/0, strings
    read as numbers; a string that is no number is NA with R's warning "NAs introduced by coercion"."""
    out: list[int | None] = []
    coerced = False
    for x in _elements(value):
        if _is_na(x):
            out.append(None)
        elif isinstance(x, (bool, np.bool_)):
            out.append(int(bool(x)))
        elif isinstance(x, (int, float, np.integer, np.floating)):
            out.append(None if not math.isfinite(float(x)) or abs(float(x)) >= 2**31 else int(float(x)))
        else:
            try:
                f = float(str(x).strip())
            except ValueError:
                f = math.nan
            if not math.isfinite(f) or abs(f) >= 2**31:
                coerced = True
                out.append(None)
            else:
                out.append(int(f))
    if coerced:
        warnings.warn("NAs introduced by coercion", LmeWarning, stacklevel=3)
    return out


def verbose_level(verbose: Any) -> int:
    """R: the optimizer wrappers' ``verbose <- as.integer(verbose)`` then ``if (verbose > 10)``:
    the integer level, or R's message for NA ("missing value where TRUE/FALSE needed"), a vector
    ("the condition has length > 1") or NULL ("argument is of length zero")."""
    if verbose is None:
        raise LmeCheckError("argument is of length zero", check="verbose")
    vals = r_as_integer(verbose)
    if len(vals) == 0:
        raise LmeCheckError("argument is of length zero", check="verbose")
    if len(vals) > 1:
        raise LmeCheckError("the condition has length > 1", check="verbose")
    if vals[0] is None:
        raise LmeCheckError("missing value where TRUE/FALSE needed", check="verbose")
    return vals[0]
