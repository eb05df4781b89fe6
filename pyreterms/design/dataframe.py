"""How R data that pandas has no slot for are carried in a pandas DataFrame, and the number and
string rules shared by pyreterms' model frame and parity's R conversion.

Two documented conventions (README "Data conventions"), both in ``DataFrame.attrs``:

* ``df.attrs["contrasts"] = {"fac": value}``: the factor's ``contrasts`` attribute (R:
  ``contrasts(d$fac) <- value``).  ``value`` is a contrast function name (``"contr.sum"``, one of
  :data:`pyreterms.design.contrasts.CONTRASTS`) or ``{"matrix": rows, "colnames": names or None}`` with one
  row (a list of numbers) per level; without colnames R names the model-matrix columns ``fac1``,
  ``fac2`` ..., with them ``facp``, ``facq``.  (A 2-D array or a DataFrame indexed by the levels is
  accepted too, but plain lists keep ``pd.concat`` working: pandas compares ``attrs`` with ``==``.)
  ``model.matrix`` uses it wherever the factor is
  coded by contrasts (fixed part and bar terms such as ``(fac | g)``) unless ``contrasts=`` names the
  factor; as in R's ``model.frame(drop.unused.levels = TRUE)`` the attribute is dropped when the model
  frame loses a level of the factor.
* ``df.attrs["matrix_columns"] = {"X": {"columns": ["X.a", "X.b"], "colnames": ["a", "b"]}}``: a numeric
  matrix column ``X`` of an R data frame, stored in the listed pandas columns; ``colnames`` is R's
  ``colnames(d$X)`` or None.  In a formula ``X`` is the matrix (model-matrix columns ``Xa``, ``Xb``,
  or ``X1``, ``X2`` without colnames, ``X`` for one unnamed column), the member columns are not
  variables of their own.

Number and string rules (R: ``read.csv``/``type.convert`` and R's vector types): R has no 64-bit
integers, so integers outside ``-2147483647..2147483647`` become doubles, as R's ``read.csv`` gives
them; from the API, an integer that a double cannot hold exactly is refused (the two sides would see
different numbers).  R strings cannot hold NUL characters (R would truncate them): refused.
"""
from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pyreterms.design.contrasts import resolve_contrasts
from pyreterms.errors import DataError
from pyreterms.formula.values import Factor

__all__ = [
    "INT_MAX", "CONTRASTS_ATTR", "MATRIX_ATTR", "ContrastsFactor", "r_integers", "object_numbers",
    "check_strings", "contrasts_attr", "contrast_matrix_value", "matrix_columns", "read_csv", "read_contrasts_csv",
    "resolve_contrasts",
]

INT_MAX = 2**31 - 1
_EXACT = 2**53
CONTRASTS_ATTR = "contrasts"
MATRIX_ATTR = "matrix_columns"


def r_integers(name: str, values: np.ndarray, *, exact: bool = True) -> np.ndarray:
    """An integer column as R holds it: int64 when every value fits R's integer type, else float64
    (R double).  With ``exact``, a value a double cannot hold exactly raises :class:`DataError`."""
    if values.size == 0:
        return values.astype(np.int64)
    lo, hi = int(values.min()), int(values.max())
    if -INT_MAX <= lo and hi <= INT_MAX:
        return values.astype(np.int64)
    as_float = values.astype(np.float64)
    if exact and (lo < -_EXACT or hi > _EXACT):
        bad = [int(v) for v in values.tolist() if int(float(v)) != int(v)]
        if bad:
            raise DataError(f"column '{name}': integer {bad[0]} has no exact R representation "
                            "(R has no 64-bit integers and a double holds it only approximately)")
    return as_float


def object_numbers(name: str, values: list[object], *, exact: bool = True) -> np.ndarray | None:
    """An object column holding only Python numbers (and missing values) as float64 (R double), or
    None when it holds anything else.  Integers follow :func:`r_integers`."""
    out = np.empty(len(values), dtype=np.float64)
    seen = False
    for i, v in enumerate(values):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            out[i] = np.nan
        elif isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            return None
        else:
            seen = True
            if isinstance(v, (int, np.integer)) and exact and abs(int(v)) > _EXACT and int(float(v)) != int(v):
                raise DataError(f"column '{name}': integer {int(v)} has no exact R representation "
                                "(R has no 64-bit integers and a double holds it only approximately)")
            try:
                out[i] = float(v)
            except OverflowError:
                raise DataError(f"column '{name}': integer {int(v)} is too large for an R double") from None
    return out if seen else None


def check_strings(name: str, values: list[object]) -> None:
    """Refuse strings R cannot hold as they are: NUL characters (R truncates at them) and lone
    surrogates (text that was not valid UTF-8)."""
    blob = "\x01".join([v for v in values if isinstance(v, str)])  # one C-level scan, not one per value
    if "\x00" in blob:
        raise DataError(f"column '{name}': a string holds a NUL character, which R strings cannot hold")
    try:
        blob.encode("utf-8")
    except UnicodeEncodeError as e:
        near = blob[max(e.start - 10, 0):e.end + 10]
        raise DataError(f"column '{name}': a string is not valid UTF-8 (near {near!r})") from None


@dataclass(frozen=True)
class ContrastsFactor(Factor):
    """An R factor with a ``contrasts`` attribute: a contrast function name or (matrix, colnames)."""

    contrasts: Any = None

    def take(self, rows: np.ndarray) -> Factor:
        return ContrastsFactor(self.codes[rows], self.levels, self.ordered, self.contrasts)

    def drop_unused(self) -> Factor:
        """R's ``model.frame(drop.unused.levels = TRUE)``: losing a level drops the attribute."""
        plain = Factor(self.codes, self.levels, self.ordered)
        dropped = plain.drop_unused()
        return self if dropped is plain else dropped


def contrast_matrix_value(value: Any) -> tuple[np.ndarray, tuple[str, ...] | None] | None:
    """A numeric contrasts matrix as (finite float64 matrix with >= 1 row and column, colnames or None):
    a 2-D array (no colnames) or a DataFrame (colnames = its string column labels); None otherwise."""
    colnames = None
    if isinstance(value, pd.DataFrame):
        if not all(isinstance(c, str) for c in value.columns):
            return None
        colnames = tuple(value.columns)
        if not all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in value.dtypes):
            return None
        value = value.to_numpy(dtype=np.float64)
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
        return None
    m = np.asarray(value, dtype=np.float64)
    if m.ndim != 2 or 0 in m.shape or not np.isfinite(m).all():
        return None
    return m, colnames


def read_contrasts_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A contrasts matrix from a CSV file: a header row of column names (R's colnames), one row per
    factor level in level order, numeric values; an optional first non-numeric column holds the level
    labels (then checked against the factor's levels)."""
    df = read_csv(path)
    if df.shape[1] and not pd.api.types.is_numeric_dtype(df.dtypes.iloc[0]):
        df = df.set_index(df.columns[0])
        df.index = [str(i) for i in df.index]
    df.columns = [str(c) for c in df.columns]
    if contrast_matrix_value(df) is None:
        raise DataError(f"{os.fspath(path)}: not a numeric contrasts matrix (finite numbers, a header of column names)")
    return df


def contrasts_attr(df: pd.DataFrame, name: str, levels: tuple[str, ...]) -> Any:
    """The ``contrasts`` attribute of factor column ``name`` under the convention, validated:
    a contrast function name, or ``(matrix, colnames or None)``; None when there is none."""
    spec = df.attrs.get(CONTRASTS_ATTR)
    if not spec or name not in spec:
        return None
    return resolve_contrasts(name, spec[name], levels)


def matrix_columns(df: pd.DataFrame) -> dict[str, tuple[list[str], tuple[str, ...] | None]]:
    """The matrix columns declared by the convention: name -> (pandas member columns, R colnames)."""
    spec = df.attrs.get(MATRIX_ATTR)
    if not spec:
        return {}
    if not isinstance(spec, dict):
        raise DataError(f"df.attrs['{MATRIX_ATTR}'] must be a dict name -> {{'columns': [...], 'colnames': ...}}")
    out: dict[str, tuple[list[str], tuple[str, ...] | None]] = {}
    for name, entry in spec.items():
        cols = entry.get("columns") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not cols or not all(isinstance(c, str) for c in cols):
            raise DataError(f"matrix column {name!r}: 'columns' must list the pandas columns holding it")
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(f"matrix column '{name}': no column {missing[0]!r} in the data")
        if name in df.columns:
            raise DataError(f"matrix column '{name}' has the name of an ordinary column")
        cn = entry.get("colnames")
        if cn is not None and (len(cn) != len(cols) or not all(isinstance(c, str) for c in cn)):
            raise DataError(f"matrix column '{name}': 'colnames' must be None or {len(cols)} strings")
        out[name] = (list(cols), None if cn is None else tuple(cn))
    return out


def _one_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def read_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """A CSV file as R's ``read.csv`` sees it, or a one-line :class:`DataError`: directories, empty
    and unreadable files, NUL bytes (R drops them with a warning: different data) and text that is
    not UTF-8 are refused; integers beyond R's integer range become doubles (R: ``type.convert``)."""
    p = os.fspath(path)
    if os.path.isdir(p):
        raise DataError(f"{p} is a directory, not a CSV file")
    try:
        with open(p, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        raise DataError(f"cannot read {p}: {e.strerror or _one_line(e)}") from None
    if not raw.strip():
        raise DataError(f"{p} is empty")
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise DataError(f"{p} line {line} contains a NUL byte (R's read.csv would drop it: different data)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataError(f"{p} line {line} is not UTF-8 text (byte 0x{raw[e.start]:02x})") from None
    try:
        df = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OverflowError) as e:
        raise DataError(f"cannot read CSV {p}: {_one_line(e)}") from None
    if df.columns.duplicated().any():  # pandas renames them 'x.1'; R's read.csv would too, but say so
        raise DataError(f"{p}: duplicated column names")
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_integer_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
            if not s.isna().any():
                df[c] = r_integers(str(c), s.to_numpy(), exact=False)
        elif s.dtype == object:
            nums = object_numbers(str(c), s.tolist(), exact=False)
            if nums is not None:
                df[c] = nums
    return df
