"""An R ``data.frame`` as pandas (R -> Python), carrying what pyreterms can use.

Factors become ``pd.Categorical`` with R's levels and ordered flag; integer -> int64 (``Int64`` if NA);
logical -> bool (``boolean`` if NA); character -> str; row names -> index of strings.  Factor
``contrasts`` attributes and numeric matrix columns go to ``df.attrs`` (:mod:`pyreterms.design.dataframe`
conventions); anything else pandas cannot hold raises ``NotCompared(kind="unrepresentable")``; the
frame remembers its R object (:mod:`parity.r.attrs`).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from parity.compare.notcompared import NotCompared
from parity.r import attrs as rattrs
from parity.r import session as rsession
from parity.r.convert import _attr, _strings, r_to_value
from parity.r.values import RFactor, RVector
from pyreterms.datasets import make_categorical, string_column, string_index

__all__ = ["r_dataframe_to_pandas"]


def r_dataframe_to_pandas(obj: Any) -> pd.DataFrame:
    """R ``data.frame`` -> pandas (see the module docstring)."""
    with rsession.rlock():
        if "data.frame" not in tuple(obj.rclass):
            raise TypeError(f"not an R data.frame (class {'/'.join(obj.rclass)})")
        names = _strings(_attr(obj, "names")) or ()
        cols: dict[str, Any] = {}
        attrs: dict[str, Any] = {}
        taken = {str(nm) for nm in names}
        for k, nm in enumerate(names):
            key = str(nm)
            if rattrs.column_from_r(key, obj[k], cols, attrs, lambda o: r_to_value(o, strict=False), taken):
                continue
            try:
                v = r_to_value(obj[k], strict=True)
            except TypeError as e:
                raise NotCompared(f"column '{key}': {e}", "unrepresentable") from None
            if isinstance(v, RFactor):
                cols[key] = make_categorical(v.codes, v.levels, v.ordered)
            elif isinstance(v, RVector):
                cols[key] = _vector_to_pandas(v)
            else:
                raise NotCompared(f"data.frame column {key!r} is a {type(v).__name__}; only atomic "
                                         "vectors, factors and numeric matrices are carried", "unrepresentable")
        rownames = _strings(rsession.helper("row_names")(obj)) or ()
    df = pd.DataFrame(cols, index=string_index([str(r) for r in rownames]))
    df.attrs.update(attrs)
    return rattrs.attach_r_object(df, obj)


def _vector_to_pandas(v: RVector) -> Any:
    if v.kind == "double":
        return np.asarray(v.x, dtype=np.float64)
    if v.kind == "integer":
        if v.x.dtype == np.int64:
            return np.asarray(v.x, dtype=np.int64)
        return pd.array([None if math.isnan(x) else int(x) for x in v.x], dtype="Int64")
    if v.kind == "logical":
        if v.x.dtype == bool:
            return np.asarray(v.x, dtype=bool)
        return pd.array(list(v.x), dtype="boolean")
    return string_column(list(v.x))
