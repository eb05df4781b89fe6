"""R data the pandas round trip would lose: the R object itself, factor ``contrasts`` attributes and
matrix columns (the conventions of :mod:`pyreterms.design.dataframe`), and refusals for the rest.

* :func:`attach_r_object` remembers, on a DataFrame read from ``r:PKG::NAME``, the R data.frame it came
  from; :func:`r_object_for` gives it back only for that very DataFrame with unchanged contents, so
  ``parity check --data r:PKG::NAME`` hands lme4 the R object (attributes, classes and matrix columns
  intact), never a stale or subset copy.
* :func:`column_from_r` converts one R data.frame column, carrying ``contrasts`` and matrix columns
  into ``df.attrs`` and raising :class:`parity.compare.notcompared.NotCompared` (kind ``"unrepresentable"``)
  for what pandas cannot hold without loss (classed vectors such as ``Date``, list and data-frame
  columns, non-numeric matrices, other attributes).
* :func:`matrix_to_r` / :func:`set_contrasts` rebuild matrix columns and contrasts attributes when
  a pandas frame goes to R (R: ``d$X <- m``, ``contrasts(d$f) <- value``).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from parity.compare.notcompared import NotCompared
from parity.r.values import RMatrix
from pyreterms.design.dataframe import CONTRASTS_ATTR, MATRIX_ATTR, resolve_contrasts

__all__ = ["attach_r_object", "r_object_for", "column_from_r", "matrix_to_r", "set_contrasts",
           "R_OBJECT_ATTR"]

R_OBJECT_ATTR = "r_object"
#: attributes of a data.frame column that pandas carries (or that cannot change lme4's result)
_CARRIED = {"names", "class", "levels", "contrasts", "dim", "dimnames", "comment"}


class RObject:
    """The R data.frame a DataFrame was read from, with a fingerprint of that DataFrame.  Copies of the
    DataFrame share it (``attrs`` are copied) but their fingerprint check fails unless unchanged."""

    def __init__(self, sexp: Any, df: pd.DataFrame) -> None:
        self.sexp = sexp
        self.fingerprint = fingerprint(df)

    def __deepcopy__(self, memo: dict) -> RObject:
        return self

    def __copy__(self) -> RObject:
        return self

    def __repr__(self) -> str:
        return "<R data.frame>"


def fingerprint(df: pd.DataFrame) -> tuple:
    """Contents, names, types, index and the conventions' attrs of a DataFrame."""
    try:
        h = pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes()
    except TypeError:
        h = df.to_csv().encode()
    conv = repr({k: df.attrs.get(k) for k in (CONTRASTS_ATTR, MATRIX_ATTR)})
    return (tuple(map(str, df.columns)), tuple(map(str, df.dtypes)), len(df), h, conv)


def attach_r_object(df: pd.DataFrame, sexp: Any) -> pd.DataFrame:
    df.attrs[R_OBJECT_ATTR] = RObject(sexp, df)
    return df


def r_object_for(df: pd.DataFrame) -> Any:
    """The R data.frame ``df`` was read from, if ``df`` still holds exactly what was read; else None."""
    h = df.attrs.get(R_OBJECT_ATTR)
    if not isinstance(h, RObject) or h.fingerprint != fingerprint(df):
        return None
    return h.sexp


def _attr_names(obj: Any) -> list[str]:
    try:
        return [str(a) for a in obj.list_attrs()]
    except Exception:  # noqa: BLE001
        return []


def column_from_r(name: str, obj: Any, cols: dict[str, Any], attrs: dict[str, Any],
                  convert_value: Any, taken: set[str]) -> bool:
    """Handle the R columns plain conversion cannot: a numeric matrix (-> member columns plus
    ``attrs["matrix_columns"]``) and a factor's ``contrasts`` attribute (-> ``attrs["contrasts"]``).
    Returns True if the column was fully handled here; raises NotCompared for unrepresentable data."""
    rclass = tuple(obj.rclass)
    extra = [a for a in _attr_names(obj) if a not in _CARRIED]
    if extra:
        raise NotCompared(f"column '{name}' has R attribute(s) {', '.join(extra)} that pandas cannot carry",
                          "unrepresentable")
    if set(rclass) - {"factor", "ordered", "matrix", "array", "AsIs", "integer", "numeric", "character",
                      "logical", "double"}:
        raise NotCompared(f"column '{name}' is of R class {'/'.join(rclass)}, which pandas cannot carry "
                          "without changing it", "unrepresentable")
    if "dim" in _attr_names(obj) and "factor" not in rclass:
        v = convert_value(obj)
        if not isinstance(v, RMatrix) or v.x.dtype.kind not in "fi":
            raise NotCompared(f"column '{name}' is a non-numeric matrix (only numeric matrix columns "
                              "are carried)", "unrepresentable")
        k = v.x.shape[1]
        colnames = None if v.colnames is None else tuple(str(c) for c in v.colnames)
        members = [f"{name}.{colnames[j] if colnames else j + 1}" for j in range(k)]
        clash = [m for m in members if m in taken or m in cols]
        if clash or len(set(members)) != k:
            raise NotCompared(f"matrix column '{name}': pandas column name {(clash or members)[0]!r} "
                              "is taken", "unrepresentable")
        for j, m in enumerate(members):
            cols[m] = np.asarray(v.x[:, j], dtype=np.float64)
        attrs.setdefault(MATRIX_ATTR, {})[name] = {"columns": members,
                                                   "colnames": None if colnames is None else list(colnames)}
        return True
    if "factor" in rclass and "contrasts" in _attr_names(obj):
        c = convert_value(obj.do_slot("contrasts"))
        levels = tuple(str(x) for x in obj.do_slot("levels"))
        if isinstance(c, RMatrix) and c.x.dtype.kind in "fi":
            mat = np.asarray(c.x, dtype=np.float64)
            value: Any = {"matrix": mat.tolist(),
                          "colnames": None if c.colnames is None else [str(x) for x in c.colnames]}
        elif hasattr(c, "x") and getattr(c, "kind", "") == "character" and len(c.x) == 1:
            value = str(c.x[0])
        else:
            raise NotCompared(f"factor '{name}' has a contrasts attribute pandas cannot carry", "unrepresentable")
        try:
            resolve_contrasts(name, value, levels)
        except ValueError as e:
            raise NotCompared(f"factor '{name}': {e}", "unrepresentable") from None
        attrs.setdefault(CONTRASTS_ATTR, {})[name] = value
    return False


def matrix_to_r(values: np.ndarray, colnames: tuple[str, ...] | None, float_vector: Any) -> Any:
    """An n x k float matrix -> an R double matrix (R: ``matrix(x, n, k, dimnames = list(NULL, colnames))``)."""
    import rpy2.rinterface as ri

    vec = float_vector(np.asarray(values, dtype=np.float64).ravel(order="F"))
    vec.do_slot_assign("dim", ri.IntSexpVector([int(values.shape[0]), int(values.shape[1])]))
    if colnames is not None:
        dn = ri.ListSexpVector([ri.NULL, ri.StrSexpVector(list(colnames))])
        vec.do_slot_assign("dimnames", dn)
    return vec


def set_contrasts(rfactor: Any, spec: Any, levels: tuple[str, ...], name: str, float_vector: Any) -> None:
    """R: ``contrasts(f) <- spec`` for a validated spec (a contrast name is stored as the name, a
    matrix as the matrix with the levels as row names, as ``contrasts<-`` stores them)."""
    import rpy2.rinterface as ri

    spec = resolve_contrasts(name, spec, levels)
    if isinstance(spec, str):
        rfactor.do_slot_assign("contrasts", ri.StrSexpVector([spec]))
        return
    m, cn = spec
    rm = matrix_to_r(m, cn, float_vector)
    rm.do_slot_assign("dimnames", ri.ListSexpVector([ri.StrSexpVector(list(levels)),
                                                     ri.NULL if cn is None else ri.StrSexpVector(list(cn))]))
    rfactor.do_slot_assign("contrasts", rm)
