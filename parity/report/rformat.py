"""Values in the parity reports as R prints them: numbers as ``format(x, digits = 7)`` (R's default
``getOption("digits")``), character vectors as R code (``c("308", "309")``), logicals as
``TRUE``/``FALSE``, nothing as ``NULL``, and matrices, vectors and factors as R's ``print`` lays them
out (base matrices, Matrix's sparse matrices with ``.`` for structural zeros, ``[1]`` vector labels,
``Levels:``).  The layout is :mod:`pyreterms.explainer.rprint` (R's formatReal / printMatrix /
Matrix's printSpMatrix, checked against R by the explain tests): one implementation of R's printed
form, used by ``pyreterms explain`` and by these reports, so no numpy or Python repr reaches a report.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from parity.r.values import RError, RFactor, RList, RMatrix, RNull, RSparse, RValue, RVector
from pyreterms.design.frame import r_rownames
from pyreterms.explainer.rprint import format_real, print_dense, print_sparse, print_vector

__all__ = ["r_number", "r_string", "r_chars", "r_scalar", "r_path", "r_lines", "data_table"]

_SYNTACTIC = re.compile(r"^((([A-Za-z]|[.][A-Za-z._])[A-Za-z0-9._]*)|[.])$")


def r_number(x: object) -> str:
    """R: ``format(x, digits = 7)`` of one number (``0.001``, ``1.234568e-12``, ``NaN``, ``-Inf``)."""
    v = float(x)  # type: ignore[arg-type]
    return format_real([v])[0].strip()


def r_string(s: object) -> str:
    """R: ``deparse("text")``: double quotes, backslash escapes; ``NA`` for a missing string."""
    if s is None:
        return "NA"
    t = str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{t}"'


def r_scalar(v: object) -> str:
    """One value of any kind as R prints it: ``NULL``, ``TRUE``, a number, a quoted string."""
    if v is None:
        return "NULL"
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return r_number(v)
    if isinstance(v, str):
        return r_string(v)
    if isinstance(v, (list, tuple)):
        return r_chars(v) if all(isinstance(x, str) for x in v) else \
            "c(" + ", ".join(r_scalar(x) for x in v) + ")"
    return r_string(v)


def r_chars(xs: Iterable[object], limit: int | None = None) -> str:
    """A character vector as R code, ``c("308", "309")`` (``character(0)`` when empty); with
    ``limit``, the first ``limit`` and how many there are."""
    xs = list(xs)
    shown = xs if limit is None else xs[:limit]
    if not xs:
        return "character(0)"
    text = r_string(xs[0]) if len(xs) == 1 else "c(" + ", ".join(r_string(x) for x in shown) + ")"
    return text if len(shown) == len(xs) else f"{text} (the first {len(shown)} of {len(xs)})"


def r_path(keys: Sequence[str | int]) -> str:
    """Where in a list, as R indexes it: ``$name`` for a syntactic name, ``[["a b"]]`` otherwise,
    ``[[k]]`` (1-based) for an unnamed element."""
    out = []
    for k in keys:
        if isinstance(k, int):
            out.append(f"[[{k}]]")
        elif _SYNTACTIC.match(k):
            out.append(f"${k}")
        else:
            out.append(f"[[{r_string(k)}]]")
    return "".join(out)


def _r_logical(v: object) -> str:
    return "NA" if v is None or (isinstance(v, float) and math.isnan(v)) else ("TRUE" if v else "FALSE")


def _names(ns: Sequence[object] | None, n: int) -> list[str] | None:
    return None if ns is None else [str(x) for x in list(ns)[:n]]


def r_lines(v: RValue | None, limit: int = 12) -> list[str]:
    """R's printed form of (the first ``limit`` rows and columns, or elements, of) a value, after a
    one-line caption of what it is (dimensions, stored entries, length)."""
    if v is None or v is RNull:
        return ["NULL"]
    if isinstance(v, RError):
        return [f"refused: {v.message}"]
    if isinstance(v, RSparse):
        nr, nc = v.x.shape
        r, c = min(nr, limit), min(nc, limit)
        part = "" if (r, c) == (nr, nc) else f"; [1:{r}, 1:{c}]"
        head = f"{nr} x {nc} sparse Matrix, {v.x.nnz} stored entries{part}:"
        lines = print_sparse(v.x.tocsc()[:r, :c], _names(v.rownames, r), _names(v.colnames, c))
        # capture.output(print(M)): the "[[ suppressing ... ]]" line is R's message() (stderr), not print's
        return [head] + [ln for ln in lines if not ln.startswith("  [[ suppressing")]
    if isinstance(v, RMatrix):
        nr, nc = v.x.shape
        r, c = min(nr, limit), min(nc, limit)
        part = "" if (r, c) == (nr, nc) else f"; [1:{r}, 1:{c}]"
        head = f"{nr} x {nc} matrix{part}:"
        if v.x.dtype == object:
            return [head] + [" ".join(r_scalar(x) for x in row) for row in v.x[:r, :c].tolist()]
        return [head] + print_dense(np.asarray(v.x[:r, :c], dtype=float), _names(v.rownames, r),
                                    _names(v.colnames, c), integer=v.x.dtype.kind in "iub")
    if isinstance(v, RVector):
        n = len(v.x)
        k = min(n, limit)
        head = f"{v.kind} vector of length {n}{'' if k == n else f'; [1:{k}]'}:"
        if v.kind in ("double", "integer"):
            xs = np.asarray(v.x[:k], dtype=float)
            integer = v.kind == "integer" and not np.isnan(xs).any()
            return [head] + print_vector(xs, _names(v.names, k), integer=integer)
        if v.kind == "logical":
            return [head, "c(" + ", ".join(_r_logical(x) for x in v.x[:k].tolist()) + ")"]
        return [head, r_chars(v.x[:k].tolist())]
    if isinstance(v, RFactor):
        n = len(v.codes)
        k = min(n, limit)
        labels = ["<NA>" if c < 0 else v.levels[c] for c in np.asarray(v.codes[:k]).tolist()]
        return [f"{'ordered ' if v.ordered else ''}factor of length {n}{'' if k == n else f'; [1:{k}]'}:",
                "[1] " + " ".join(labels), f"Levels: {' '.join(v.levels[:limit])}"
                + ("" if len(v.levels) <= limit else f" ... ({len(v.levels)} levels)")]
    if isinstance(v, RList):
        names = [("" if nm is None else nm) for nm in v.names()]
        return [f"list of length {len(v.items)}, names {r_chars(names, limit)}"]
    return [type(v).__name__]


def data_table(df: pd.DataFrame, limit: int = 12) -> tuple[list[str], list[str], list[list[str]]]:
    """(column names, row names, cells) of the first ``limit`` rows of a data frame as R's
    ``print(head(d, limit))`` shows them: R's row names (``1..n`` for a default index), numbers
    per column as ``format(x, digits = 7)``, factors and strings unquoted, ``NA`` for missing."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"data_table needs a pandas DataFrame, not {type(df).__name__}")
    head = df.head(limit)
    rows = list(r_rownames(df)[:len(head)])
    cols: list[list[str]] = []
    for name in head.columns:
        s = head[name]
        if pd.api.types.is_bool_dtype(s):
            cols.append([_r_logical(x) for x in s.tolist()])
        elif pd.api.types.is_numeric_dtype(s):
            xs = np.asarray(s, dtype=float)
            if np.all(np.isnan(xs) | (xs == np.round(xs))) and pd.api.types.is_integer_dtype(s):
                cols.append(["NA" if math.isnan(x) else str(int(x)) for x in xs.tolist()])
            else:
                cols.append([c.strip() if c.strip() != "NaN" else "NA" for c in format_real(xs)])
        else:
            cols.append(["NA" if (x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))) else str(x)
                         for x in s.tolist()])
    cells = [[cols[j][i] for j in range(len(cols))] for i in range(len(rows))]
    return [str(c) for c in head.columns], rows, cells
