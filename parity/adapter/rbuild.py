"""R vectors and factors built from Python sequences, the building blocks of the pyreterms adapters.

R equivalent: ``as.character``, ``as.integer``, ``as.double``, ``factor`` on the values an adapter
returns; ``parity.adapter.impl`` has the public helpers for other implementations.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from parity.r.values import RFactor, RList, RNull, RValue, RVector

__all__ = ["chr_vector", "int_vector", "dbl_vector", "factor_value", "conv_messages"]


def chr_vector(values: Iterable[Any]) -> RVector:
    """A character vector; None and NaN (pandas' missing) are NA."""
    def one(v: Any) -> str | None:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        return str(v)

    return RVector(np.array([one(v) for v in values], dtype=object), None, "character")


def int_vector(values: Any, names: Sequence[str] | None = None) -> RVector:
    return RVector(np.asarray(values, dtype=np.int64), tuple(names) if names is not None else None, "integer")


def dbl_vector(values: Any, names: Sequence[str] | None = None) -> RVector:
    return RVector(np.asarray(values, dtype=np.float64), tuple(names) if names is not None else None, "double")


def factor_value(f: Any) -> RFactor:
    """A pyreterms factor as R's (codes are 1-based already)."""
    return RFactor(np.asarray(f.codes, dtype=np.int64), tuple(f.levels), bool(f.ordered))


def conv_messages(msgs: Sequence[str]) -> RValue:
    """``fit@optinfo$conv$lme4$messages`` as lme4's ``checkConv`` builds it: ``NULL`` without messages; a
    character vector, except that ``checkHess`` starts its messages as ``list()``, so a "Model is nearly
    unidentifiable" message (appended with ``c()``) makes the whole value a list of strings."""
    if not msgs:
        return RNull
    if any(m.startswith("Model is nearly unidentifiable") for m in msgs):
        return RList(tuple((None, chr_vector([m])) for m in msgs))
    return chr_vector(msgs)
