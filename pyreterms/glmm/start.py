"""glmer's ``start`` argument: lme4 1.1-31's checks in ``glmer`` (``start.bad``), ``getStart`` and
``updateStart`` (``R/lmer.R``, ``R/utilities.R``), with lme4's messages.

``start`` is None (R's NULL), a numeric theta vector, or a dict with ``theta`` and/or ``fixef`` (a
named fixef is a :class:`pandas.Series` or a dict of name -> number; lme4 reorders it by the columns
of X only when it is longer than beta and names them all).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pyreterms.errors import LmeCheckError

__all__ = ["check_start_names", "get_start", "update_start"]


def _q(s: str) -> str:
    return f"'{s}'"  # R's shQuote


def check_start_names(start: Any, nAGQ: int) -> None:
    """R: glmer's ``if (is.list(start))`` block: "bad name(s) for start vector (...); should be 'theta'
    and/or 'fixef'" and "should not specify both start$fixef and nAGQ==0"."""
    if not isinstance(start, Mapping):
        return
    bad = [str(k) for k in start if k not in ("theta", "fixef")]
    if bad:
        raise LmeCheckError(f"bad name(s) for start vector ({', '.join(bad)}); should be {_q('theta')} and/or "
                            f"{_q('fixef')}", check="start")
    if start.get("fixef") is not None and nAGQ == 0:
        raise LmeCheckError("should not specify both start$fixef and nAGQ==0", check="start")


def _numeric(v: Any) -> bool:
    """R: ``is.numeric(v)`` (logical, character and NULL are not)."""
    if isinstance(v, (bool, np.bool_, str)) or v is None:
        return False
    if isinstance(v, (int, float, np.integer, np.floating)):
        return True
    if isinstance(v, Mapping):
        return all(_numeric(x) for x in v.values()) and len(v) > 0
    if isinstance(v, pd.Series):
        return v.dtype.kind in "iuf"
    if isinstance(v, (Sequence, np.ndarray)):
        a = np.asarray(v, dtype=object).ravel()
        return a.size > 0 and all(_numeric(x) for x in a)
    return False


def _values(v: Any) -> tuple[np.ndarray, list[str] | None]:
    """Numbers and names (None when unnamed) of a numeric vector given as a list, array, Series or dict."""
    if isinstance(v, Mapping):
        return np.array([float(x) for x in v.values()]), [str(k) for k in v]
    if isinstance(v, pd.Series):
        return np.array(v.to_numpy(dtype=np.float64)), [str(k) for k in v.index]
    return np.array(np.ravel(np.array(v, dtype=np.float64))), None


def get_start(start: Any, theta0: np.ndarray, delb: np.ndarray, x_names: Sequence[str],
              all_pars: bool) -> np.ndarray:
    """R: ``lme4:::getStart(start, pred, returnVal = if (all_pars) "all" else "theta")`` with
    ``pred$theta = theta0``, ``pred$delb = delb`` and ``colnames(pred$X) = x_names``."""
    theta = np.array(theta0, dtype=np.float64)
    fixef = np.array(delb, dtype=np.float64)
    if start is not None and not isinstance(start, Mapping):
        if not _numeric(start):
            raise LmeCheckError("'start' must be NULL, a numeric vector or named list of such vectors", check="start")
        theta = _values(start)[0]
    elif isinstance(start, Mapping):
        if not all(_numeric(v) for v in start.values()):
            raise LmeCheckError("all elements of start must be numeric", check="start")
        bad = [str(k) for k in start if k not in ("theta", "fixef")]
        if bad:
            raise LmeCheckError("incorrect components in start list: " + "".join(bad), check="start")
        if start.get("theta") is not None:
            theta = _values(start["theta"])[0]
        if all_pars and start.get("fixef") is not None:
            vals, names = _values(start["fixef"])
            p = fixef.size
            if p < vals.size and p == len(x_names) and names is not None and all(n in names for n in x_names):
                vals = np.array([vals[names.index(n)] for n in x_names])  # R: sFE[cnX]
            fixef = vals
        if all_pars and fixef.size != np.asarray(delb).size:
            raise LmeCheckError(f"incorrect number of fixef components (!={np.asarray(delb).size})", check="start")
    if start is not None and theta.size != np.asarray(theta0).size:
        raise LmeCheckError(f"incorrect number of theta components (!={np.asarray(theta0).size})", check="start")
    return np.concatenate([theta, fixef]) if all_pars else theta


def update_start(start: Any, theta: np.ndarray) -> Any:
    """R: ``lme4:::updateStart(start, theta)``: a numeric start becomes stage 1's theta; a list's
    ``theta`` (when given) is replaced by it, its ``fixef`` kept; NULL stays NULL."""
    if start is not None and not isinstance(start, Mapping):
        return np.array(theta, dtype=np.float64)
    if isinstance(start, Mapping):
        out = dict(start)
        if out.get("theta") is not None:
            out["theta"] = np.array(theta, dtype=np.float64)
        return out
    return start
