"""``--subset EXPR`` for ``pyreterms explain``: R's ``subset(d, EXPR)`` for a restricted, safe form.

Accepted (anything else is refused with a one-line :class:`pyreterms.DataError`):
``COLUMN %in% c(v1, v2, ...)``, ``COLUMN op constant`` with ``op`` one of ``== != < <= > >=``
(``<``, ``<=``, ``>``, ``>=`` on numeric columns only: R gives NA for factors and compares strings
by locale collation), combined with ``&``, ``|``, ``!`` and parentheses.  The text is read by
pyreterms' own R reader (``pyreterms.parse_r``) and evaluated here on the data frame's columns;
nothing is passed to Python's ``eval``.

R semantics kept: NA compares to NA, ``&``/``|``/``!`` use R's three-valued logic, and rows where the
condition is NA are dropped (``subset.data.frame``: ``r & !is.na(r)``).  ``%in%`` and ``==`` on a
factor or character column compare ``as.character`` values (``Subject %in% c(309, 330)`` matches the
levels "309" and "330", as in R).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pyreterms.errors import DataError, PyretermsError
from pyreterms.formula.parser import parse as parse_r

_CMP = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
        ">=": np.greater_equal}
Logical = tuple[np.ndarray, np.ndarray]  # (value, is NA)


def _err(expr: str, why: str) -> DataError:
    return DataError(f"--subset {expr!r}: {why} (accepted: COLUMN %in% c(...), COLUMN == value, "
                               "numeric COLUMN < value etc., combined with &, |, !)")


def _as_character(v: object) -> str:
    """R's ``as.character`` of a numeric constant (15 significant digits)."""
    if isinstance(v, str):
        return v
    x = float(v)  # type: ignore[arg-type]
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.15g}"


def _kind(node: object) -> str:
    return type(node).__name__


def _constant(node: object, expr: str) -> object:
    k = _kind(node)
    if k == "Num":
        return float(node.value)  # type: ignore[attr-defined]
    if k == "Str":
        return str(node.value)  # type: ignore[attr-defined]
    if k == "Name" and node.id in ("TRUE", "FALSE"):  # type: ignore[attr-defined]
        return 1.0 if node.id == "TRUE" else 0.0  # type: ignore[attr-defined]
    if k == "Call" and node.fn == "-" and len(node.args) == 1:  # type: ignore[attr-defined]
        v = _constant(node.args[0].value, expr)  # type: ignore[attr-defined]
        if isinstance(v, float):
            return -v
    raise _err(expr, "a value must be a number or a string constant")


def _column(df: pd.DataFrame, node: object, expr: str) -> pd.Series:
    if _kind(node) != "Name":
        raise _err(expr, "the left side of a comparison must be a column name")
    name = node.id  # type: ignore[attr-defined]
    if name not in df.columns:
        raise _err(expr, f"no column {name!r} in the data (columns: {', '.join(map(str, df.columns))})")
    return df[name]


def _is_text(col: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col))


def _compare(df: pd.DataFrame, op: str, lhs: object, rhs: object, expr: str) -> Logical:
    col = _column(df, lhs, expr)
    na = col.isna().to_numpy()
    if op == "%in%":
        if _kind(rhs) == "Call" and rhs.fn == "c":  # type: ignore[attr-defined]
            values = [_constant(a.value, expr) for a in rhs.args]  # type: ignore[attr-defined]
        else:
            values = [_constant(rhs, expr)]
        if _is_text(col) or any(isinstance(v, str) for v in values):
            strs = {_as_character(v) for v in values}
            labels = [None if m else (_as_character(x) if isinstance(x, (int, float)) else str(x))
                      for x, m in zip(col.tolist(), na, strict=False)]
            return np.array([lab in strs for lab in labels]), np.zeros(len(col), dtype=bool)
        x = col.to_numpy(dtype=float)
        return np.isin(x, np.array(values, dtype=float)), np.zeros(len(col), dtype=bool)  # NA %in% x is FALSE
    value = _constant(rhs, expr)
    if _is_text(col) or isinstance(value, str):
        if op not in ("==", "!="):
            raise _err(expr, f"'{op}' on the non-numeric column {lhs.id!r} (R: NA for a factor, locale "  # type: ignore[attr-defined]
                             "collation for strings); use == or %in%")
        texts = np.array([("" if m else str(x)) for x, m in zip(col.tolist(), na, strict=False)], dtype=object)
        eq = texts == _as_character(value)
        return (eq if op == "==" else ~eq), na
    x = col.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return _CMP[op](x, float(value)), na | np.isnan(x)  # type: ignore[arg-type]


def _eval(df: pd.DataFrame, node: object, expr: str) -> Logical:
    if _kind(node) != "Call":
        raise _err(expr, "expected a comparison")
    fn, argv = node.fn, [a.value for a in node.args]  # type: ignore[attr-defined]
    if any(a.name for a in node.args):  # type: ignore[attr-defined]
        raise _err(expr, "named arguments are not accepted")
    if fn == "(" and len(argv) == 1:
        return _eval(df, argv[0], expr)
    if fn == "!" and len(argv) == 1:
        v, na = _eval(df, argv[0], expr)
        return ~v, na
    if fn in ("&", "|") and len(argv) == 2:
        (a, na_a), (b, na_b) = _eval(df, argv[0], expr), _eval(df, argv[1], expr)
        if fn == "&":  # FALSE & NA is FALSE
            false = (~a & ~na_a) | (~b & ~na_b)
            return a & b & ~na_a & ~na_b, (na_a | na_b) & ~false
        true = (a & ~na_a) | (b & ~na_b)
        return true, (na_a | na_b) & ~true
    if (fn in _CMP or fn == "%in%") and len(argv) == 2:
        return _compare(df, fn, argv[0], argv[1], expr)
    raise _err(expr, f"'{fn}' is not accepted")


def subset_rows(df: pd.DataFrame, expr: str) -> pd.DataFrame:
    """R: ``subset(df, EXPR)`` for the restricted form described in the module docstring."""
    try:
        tree = parse_r(expr)
    except PyretermsError as e:
        raise _err(expr, f"cannot read it: {e}") from None
    value, na = _eval(df, tree, expr)
    keep = value & ~na
    if not keep.any():
        raise DataError(f"--subset {expr!r} keeps no rows")
    return df[keep]
