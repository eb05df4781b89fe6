"""R's contrast functions (``contr.treatment``, ``contr.poly``, ``contr.sum``, ``contr.helmert``,
``contr.SAS``), returning the matrix and its column names (None where R gives none).

R equivalent: ``stats::contr.*``.  ``contr.poly`` follows ``make.poly``: the QR of the centred
Vandermonde matrix, ``Q diag(R)`` normalised, which does not depend on QR sign conventions.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pyreterms.errors import DataError

CONTRASTS = ("contr.treatment", "contr.poly", "contr.sum", "contr.helmert", "contr.SAS")


def contrast_matrix(name: str, levels: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...] | None]:
    n = len(levels)
    if n < 2:
        raise DataError("contrasts can be applied only to factors with 2 or more levels")
    if name == "contr.treatment":
        return np.eye(n)[:, 1:], tuple(levels[1:])
    if name == "contr.SAS":
        return np.eye(n)[:, :-1], tuple(levels[:-1])
    if name == "contr.sum":
        m = np.vstack([np.eye(n - 1), -np.ones((1, n - 1))])
        return m, None
    if name == "contr.helmert":
        m = np.zeros((n, n - 1))
        for j in range(n - 1):
            m[: j + 1, j] = -1.0
            m[j + 1, j] = j + 1.0
        return m, None
    if name == "contr.poly":
        scores = np.arange(1, n + 1, dtype=np.float64)
        y = scores - scores.mean()
        V = y[:, None] ** np.arange(n)[None, :]
        q, r = np.linalg.qr(V)
        raw = q * np.diag(r)[None, :]
        Z = raw / np.sqrt((raw ** 2).sum(axis=0))[None, :]
        names = [".L", ".Q", ".C"] + [f"^{k}" for k in range(4, n)]
        return Z[:, 1:], tuple(names[: n - 1])
    raise DataError(f"unknown contrasts {name!r} (known: {', '.join(CONTRASTS)})")


def contrast_spec(name: str, spec: object, levels: tuple[str, ...]) -> tuple[np.ndarray, tuple[str, ...] | None, str]:
    """A contrasts value as R's ``contrasts()`` resolves it: a function name (:func:`contrast_matrix`),
    a numeric matrix (a 2-D array, or a DataFrame indexed by the levels whose columns are R's colnames)
    or an already checked ``(matrix, colnames)`` pair.  Returns (matrix, colnames, label for
    ``attr(X, "contrasts")``; ``"matrix"`` for a matrix)."""
    if isinstance(spec, str):
        m, cn = contrast_matrix(spec, levels)
        return m, cn, spec
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], np.ndarray):
        m, cn = spec
    else:
        m, cn = resolve_contrasts(name, spec, levels)
    if m.shape[0] != len(levels):
        raise DataError(f"contrasts for '{name}': {m.shape[0]} rows for {len(levels)} levels")
    return m, cn, "matrix"


def resolve_contrasts(name: str, value: Any, levels: tuple[str, ...]) -> Any:
    """A contrasts value (name, 2-D array, or DataFrame indexed by levels) checked against the levels."""
    if isinstance(value, str):
        if value not in CONTRASTS:
            raise DataError(f"contrasts for '{name}': {value!r} is not one of {', '.join(CONTRASTS)}")
        return value
    colnames = None
    if isinstance(value, dict):
        if set(value) - {"matrix", "colnames"} or "matrix" not in value:
            raise DataError(f"contrasts for '{name}': use {{'matrix': rows, 'colnames': names or None}}")
        cn = value.get("colnames")
        if cn is not None and not all(isinstance(c, str) for c in cn):
            raise DataError(f"contrasts for '{name}': colnames must be strings")
        colnames = None if cn is None else tuple(cn)
        value = value["matrix"]
    if isinstance(value, pd.DataFrame):
        default_index = isinstance(value.index, pd.RangeIndex) and value.index.start == 0 and value.index.step == 1
        if not default_index and [str(i) for i in value.index] != list(levels):
            raise DataError(f"contrasts for '{name}': the matrix rows {list(map(str, value.index))} "
                            f"are not the factor's levels {list(levels)}")
        if not all(isinstance(c, str) for c in value.columns):
            raise DataError(f"contrasts for '{name}': matrix column names must be strings")
        colnames = tuple(value.columns)
        value = value.to_numpy()
    try:
        m = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"contrasts for '{name}': not a numeric matrix or a contrast name") from None
    if m.ndim != 2 or m.shape[0] != len(levels) or m.shape[1] < 1:
        raise DataError(f"contrasts for '{name}': a {len(levels)} x k matrix is needed (one row per "
                        f"level), not {'x'.join(map(str, m.shape))}")
    if not np.isfinite(m).all():
        raise DataError(f"contrasts for '{name}': the matrix has non-finite values")
    if m.shape[1] >= len(levels):
        raise DataError(f"contrasts for '{name}': at most {len(levels) - 1} columns for {len(levels)} levels")
    if colnames is not None and len(colnames) != m.shape[1]:
        raise DataError(f"contrasts for '{name}': {len(colnames)} colnames for {m.shape[1]} columns")
    return (m, colnames)
