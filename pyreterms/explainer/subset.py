"""``--subset EXPR`` for ``pyreterms explain``: R's ``subset(d, EXPR)`` (``subset.data.frame``).

The condition is read and evaluated by the same code as ``lformula(subset=)``
(:func:`pyreterms.design.frame.subset_mask`: pyreterms' own R reader, the formula allowlist and
evaluator, evaluated on all rows of the data as R evaluates it in ``d``); nothing is passed to
Python's ``eval``.  Rows where the condition is NA are dropped (R: ``r & !is.na(r)``), and the kept
rows keep R's row names (``1..n`` for a CSV file or a default index, whatever labels the data
frame has otherwise), so the model frame and ``X`` print the row names R prints.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pyreterms.datasets import string_index
from pyreterms.design.frame import DataColumns, r_rownames, subset_mask
from pyreterms.errors import DataError, PyretermsError
from pyreterms.formula.evaluate import Evaluator


def _message(expr: str, e: PyretermsError) -> str:
    msg = str(e)
    own = f"subset {expr!r}"  # subset_mask's messages already name the expression
    return f"--{msg}" if msg.startswith(own) else f"--subset {expr!r}: {msg}"


def subset_rows(df: pd.DataFrame, expr: str) -> pd.DataFrame:
    """R: ``subset(df, EXPR)``: the rows where ``EXPR`` is TRUE, with R's row names as the index
    (strings).  A condition R would refuse, or one the formula allowlist does not accept, raises a
    one-line :class:`pyreterms.DataError` starting ``--subset``."""
    try:
        keep = subset_mask(expr, Evaluator(DataColumns(df), len(df)))  # type: ignore[arg-type]
    except PyretermsError as e:
        raise DataError(_message(expr, e)) from None
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        raise DataError(f"--subset {expr!r} keeps no rows")
    names = r_rownames(df)
    out = df.iloc[rows].copy()
    out.index = string_index([names[i] for i in rows.tolist()])
    return out
