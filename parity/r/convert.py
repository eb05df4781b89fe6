"""Conversion between pandas/Python and R objects, without ``pandas2ri``.

Python -> R (:func:`dataframe_to_r`) builds the R ``data.frame`` column by column with explicit
types, so nothing is silently turned into character (pandas2ri's fallback for int categories and
int64 overflow) and factor levels keep the order given by the ``pd.Categorical``:

=====================================  =====================================================
pandas column                          R column
=====================================  =====================================================
float (any width, nullable Float*)     ``double``; NaN/NA -> ``NA_real_`` (not ``NaN``)
int/uint (any width, nullable Int*)    ``integer``; NA -> ``NA_integer_``; values outside
                                       -2147483647..2147483647 -> ``double`` (as R's read.csv
                                       gives them); inexact as a double -> ``DataError``
bool / nullable ``boolean``            ``logical``; NA -> ``NA``
``pd.Categorical``                     ``factor`` (``c("ordered","factor")`` if ordered), levels
                                       = categories as strings the way R writes them (ints
                                       ``"1"``, doubles ``as.character()``-style, bools ``"TRUE"``);
                                       code -1 -> ``NA``
str / object holding only str          ``character``; None/NaN/NA -> ``NA_character_``; NUL
                                       characters -> ``DataError`` (R cannot hold them)
object holding only Python numbers     ``double`` (big ints as above)
anything else                          ``DataError`` (one line)
=====================================  =====================================================

R -> Python (:func:`r_to_value`) produces :mod:`parity.r.values`; every array is copied out of R's
memory.  :func:`parity.r.frame.r_dataframe_to_pandas` reads an R ``data.frame`` (factors -> ``pd.Categorical``
with R's levels and ordered flag; row names -> index of strings).

``contrasts`` attributes and numeric matrix columns travel both ways under the conventions of
:mod:`pyreterms.design.dataframe` (``df.attrs``); a frame read from R remembers its R object, which
:func:`dataframe_to_r` returns while the frame is unchanged (:mod:`parity.r.attrs`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import scipy.sparse as sp

from parity.r import attrs as rattrs
from parity.r import session as rsession
from parity.r.values import RError, RFactor, RList, RMatrix, RNull, RSparse, RValue, RVector
from pyreterms.design.dataframe import (
    CONTRASTS_ATTR,
    check_strings,
    contrast_matrix_value,
    matrix_columns,
    object_numbers,
    r_integers,
)
from pyreterms.errors import DataError
from pyreterms.formula.parser import format_double

__all__ = [
    "INT_MAX", "NA_REAL_BITS", "dataframe_to_r", "column_to_r", "categories_to_levels", "py_to_r",
    "r_to_value",
]

INT_MAX = 2**31 - 1
_NA_INTEGER = -(2**31)  # R's NA_integer_ (INT_MIN)
#: R's NA_real_: a NaN whose low word is 1954
NA_REAL_BITS = np.uint64(0x7FF00000000007A2)


def _ri() -> Any:
    rsession.start()
    import rpy2.rinterface as ri

    return ri


# --------------------------------------------------------------------------------------------
# Python -> R


def _float_vector(values: np.ndarray) -> Any:
    arr = np.array(values, dtype=np.float64, copy=True)
    mask = np.isnan(arr)
    if mask.any():
        arr.view(np.uint64)[mask] = NA_REAL_BITS
    return _ri().FloatSexpVector.from_memoryview(np.ascontiguousarray(arr).data)


def _int32_vector(values: np.ndarray, mask: np.ndarray | None, logical: bool = False) -> Any:
    arr = np.array(values, dtype=np.int32, copy=True)
    if mask is not None and mask.any():
        arr[mask] = _NA_INTEGER
    ri = _ri()
    cls = ri.BoolSexpVector if logical else ri.IntSexpVector
    if len(arr) == 0:
        return cls([])
    return cls.from_memoryview(np.ascontiguousarray(arr).data)


def _str_vector(values: Sequence[str | None]) -> Any:
    ri = _ri()
    return ri.StrSexpVector([ri.NA_Character if v is None else v for v in values])


def _is_missing(v: object) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, float) and math.isnan(v)


def categories_to_levels(categories: pd.Index, column: str = "?") -> list[str]:
    """Category values -> R level strings (R: ``as.character(levels)``): ints as ``"1"``,
    doubles with 15 significant digits (``format_double``), bools as ``"TRUE"``/``"FALSE"``."""
    out: list[str] = []
    for v in categories.tolist():
        if isinstance(v, (bool, np.bool_)):
            out.append("TRUE" if v else "FALSE")
        elif isinstance(v, (int, np.integer)):
            out.append(str(int(v)))
        elif isinstance(v, (float, np.floating)):
            out.append(format_double(float(v)))
        elif isinstance(v, str):
            out.append(v)
        else:
            raise DataError(f"column {column!r}: categorical category {v!r} of type "
                            f"{type(v).__name__} cannot be an R factor level")
    if len(set(out)) != len(out):
        dup = sorted({x for x in out if out.count(x) > 1})
        raise DataError(f"column {column!r}: categories collide after conversion to R level "
                        f"strings: {dup}")
    check_strings(column, list(out))
    return out


def column_to_r(s: pd.Series, name: str = "?") -> Any:
    """One pandas column -> an R vector or factor with an explicit type (see module docstring)."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        levels = categories_to_levels(dtype.categories, name)
        codes = np.asarray(s.cat.codes, dtype=np.int64)
        rcodes = _int32_vector(codes + 1, codes < 0)
        ri = _ri()
        return rsession.helper("make_factor")(
            rcodes, _str_vector(levels), ri.BoolSexpVector([bool(dtype.ordered)]))
    if pd.api.types.is_bool_dtype(dtype):
        mask = s.isna().to_numpy()
        vals = s.to_numpy(dtype=np.int32, na_value=0) if mask.any() else s.to_numpy().astype(np.int32)
        return _int32_vector(vals, mask, logical=True)
    if pd.api.types.is_integer_dtype(dtype):
        mask = s.isna().to_numpy()
        if len(s) and not mask.all():
            lo, hi = int(s.min()), int(s.max())
            if lo < -INT_MAX or hi > INT_MAX:  # R has no 64-bit integers: an R double, or refused
                r_integers(name, np.array(s.dropna().tolist()))
                return _float_vector(np.array([np.nan if m else float(v)
                                               for v, m in zip(s.tolist(), mask, strict=False)]))
        vals = s.to_numpy(dtype=np.int64, na_value=0)
        return _int32_vector(vals, mask)
    if pd.api.types.is_float_dtype(dtype):
        return _float_vector(s.to_numpy(dtype=np.float64, na_value=np.nan))
    if isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype):
        raw = s.tolist()
        if pd.api.types.is_object_dtype(dtype):
            nums = object_numbers(name, raw)
            if nums is not None:
                return _float_vector(nums)
        check_strings(name, raw)
        values: list[str | None] = []
        for v in raw:
            if _is_missing(v):
                values.append(None)
            elif isinstance(v, str):
                values.append(v)
            else:
                raise DataError(f"column {name!r}: object column holds a {type(v).__name__} "
                                f"({str(v)[:40]!r}); only str (or missing) values convert to R character")
        return _str_vector(values)
    raise DataError(f"column {name!r}: pandas dtype {dtype} has no R counterpart here "
                    f"(use float, int, bool, str or Categorical)")


def dataframe_to_r(df: pd.DataFrame) -> Any:
    """pandas DataFrame -> R ``data.frame`` built column by column (R: ``data.frame(...,
    check.names = FALSE, stringsAsFactors = FALSE)``).  Row names: ``str(label)`` unless the
    index is the default ``RangeIndex(0..n-1)``, which becomes R's automatic ``1..n``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    robj = rattrs.r_object_for(df)
    if robj is not None:  # read from R and unchanged: lme4 gets R's own object
        return robj
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names):
        raise DataError(f"duplicate column names: {sorted({n for n in names if names.count(n) > 1})}")
    check_strings("(column names)", list[object](names))
    mats = matrix_columns(df)
    members = {c for cols, _ in mats.values() for c in cols}
    contrasts = df.attrs.get(CONTRASTS_ATTR) or {}
    idx = df.index
    if isinstance(idx, pd.RangeIndex) and idx.start == 0 and idx.step == 1:
        rn = None
    else:
        labels = [str(x) for x in idx.tolist()]
        if len(set(labels)) != len(labels):
            raise ValueError("the DataFrame index has duplicate labels; R row names must be unique")
        rn = _str_vector(labels)
    with rsession.rlock():
        cols = []
        for j, n in enumerate(names):
            if n in members:
                continue
            v = column_to_r(df.iloc[:, j], n)
            if n in contrasts:
                if not isinstance(df.dtypes.iloc[j], pd.CategoricalDtype):
                    raise DataError(f"contrasts given for column '{n}', which is not a factor")
                levels = tuple(categories_to_levels(df.dtypes.iloc[j].categories, n))
                rattrs.set_contrasts(v, contrasts[n], levels, n, _float_vector)
            cols.append((n, v))
        for n, (member_cols, colnames) in mats.items():
            parts = [df[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in member_cols]
            cols.append((n, rattrs.matrix_to_r(np.column_stack(parts), colnames, _float_vector)))
        rlist = rsession.r_list(cols)
        if not cols:
            rlist.do_slot_assign("names", _ri().StrSexpVector([]))
        return rsession.helper("make_df")(rlist, rn if rn is not None else _ri().NULL,
                                          _ri().IntSexpVector([len(df)]))


def py_to_r(value: Any) -> Any:
    """Small Python values -> R: None -> NULL, bool/int/float/str and lists or 1-d arrays of them
    -> atomic vectors, dict -> named list, DataFrame -> data.frame."""
    ri = _ri()
    if value is None:
        return ri.NULL
    if isinstance(value, pd.DataFrame) or (isinstance(value, np.ndarray) and value.ndim == 2):
        mat = contrast_matrix_value(value)
        if mat is not None:  # a numeric matrix (a contrasts matrix): R double matrix with colnames
            return rattrs.matrix_to_r(mat[0], mat[1], _float_vector)
        if isinstance(value, pd.DataFrame):
            return dataframe_to_r(value)
    if isinstance(value, Mapping):
        return rsession.r_list([(str(k), py_to_r(v)) for k, v in value.items()])
    if isinstance(value, (str, bool, int, float, np.generic)):
        value = [value]
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise TypeError(f"cannot convert a {arr.ndim}-d array to an R vector")
    if arr.dtype == bool:
        return _int32_vector(arr.astype(np.int32), None, logical=True)
    if np.issubdtype(arr.dtype, np.integer):
        if len(arr) and (arr.min() < -INT_MAX or arr.max() > INT_MAX):
            raise OverflowError("integer value outside R's integer range")
        return _int32_vector(arr, None)
    if np.issubdtype(arr.dtype, np.floating):
        return _float_vector(arr)
    return column_to_r(pd.Series(list(value), dtype=object), "value")


# --------------------------------------------------------------------------------------------
# R -> Python


def _attr(obj: Any, name: str) -> Any:
    try:
        a = obj.do_slot(name)
    except LookupError:
        return None
    return None if a is _ri().NULL else a


def _names(x: tuple[str | None, ...] | None) -> tuple[str, ...] | None:
    """R names as the R values hold them: an NA name stays None (the values' annotation is narrower)."""
    return cast("tuple[str, ...] | None", x)


def _strings(obj: Any) -> tuple[str | None, ...] | None:
    """A character vector as a tuple (NA -> None).  Long vectors are packed in R into one UTF-8
    string plus byte lengths (element-wise access through rpy2 costs ~5 us per string)."""
    if obj is None:
        return None
    ri = _ri()
    if len(obj) < 64:
        return tuple(None if v is ri.NA_Character else str(v) for v in obj)
    packed = rsession.helper("pack_strings")(obj)
    blob = str(packed[0][0]).encode("utf-8")
    lens = np.array(packed[1], dtype=np.int64)
    na = np.array(packed[2], dtype=np.int32).astype(bool)
    ends = np.cumsum(lens).tolist()
    starts = [0] + ends[:-1]
    return tuple(None if m else blob[a:b].decode("utf-8")
                 for a, b, m in zip(starts, ends, na.tolist(), strict=False))


def _copy_out(obj: Any, dtype: type) -> np.ndarray:
    """A copy of a REALSXP (float64) or INTSXP/LGLSXP (int32) vector's data, read through cffi.

    Not ``obj.memoryview()``: in rpy2 3.5.x each call decrements ``None``'s reference count once
    (a refcount bug in its buffer export), which after enough conversions deallocates ``None`` and
    aborts the interpreter ("Fatal Python error: none_dealloc") -- a long campaign hits that."""
    from rpy2.rinterface_lib import openrlib

    n = len(obj)
    if n == 0:
        return np.zeros(0, dtype=dtype)
    cdata = obj.__sexp__._cdata
    if dtype is np.float64:
        ptr, size = openrlib.rlib.REAL(cdata), 8
    elif obj.typeof == _ri().RTYPES.LGLSXP:
        ptr, size = openrlib.rlib.LOGICAL(cdata), 4
    else:
        ptr, size = openrlib.rlib.INTEGER(cdata), 4
    return np.frombuffer(openrlib.ffi.buffer(ptr, n * size), dtype=dtype).copy()


def _atomic(obj: Any) -> tuple[np.ndarray, str]:
    """Copy an atomic R vector out of R memory: (array, RVector kind)."""
    ri = _ri()
    t = obj.typeof
    rt = ri.RTYPES
    if t == rt.REALSXP:
        return _copy_out(obj, np.float64), "double"
    if t in (rt.INTSXP, rt.LGLSXP):
        a = _copy_out(obj, np.int32)
        na = a == _NA_INTEGER
        if t == rt.INTSXP:
            if na.any():
                f = a.astype(np.float64)
                f[na] = np.nan
                return f, "integer"
            return a.astype(np.int64), "integer"
        if na.any():
            o = np.array([bool(v) for v in a], dtype=object)
            o[na] = None
            return o, "logical"
        return a.astype(bool), "logical"
    if t == rt.STRSXP:
        return np.array(list(_strings(obj) or ()), dtype=object), "character"
    raise TypeError(f"not an atomic vector of a supported type (R typeof {t})")


def _unsupported(obj: Any, strict: bool, why: str) -> RValue:
    try:
        cls = "/".join(obj.rclass)
    except Exception:  # pragma: no cover
        cls = type(obj).__name__
    msg = f"cannot convert R object of class {cls}: {why}"
    if strict:
        raise TypeError(msg)
    return RError(msg, "unconvertible")


def _dgc(obj: Any) -> RSparse:
    i = np.array(obj.do_slot("i"), dtype=np.int32, copy=True)
    p = np.array(obj.do_slot("p"), dtype=np.int32, copy=True)
    x = np.array(obj.do_slot("x"), dtype=np.float64, copy=True)
    dim = tuple(int(d) for d in obj.do_slot("Dim"))
    dn = obj.do_slot("Dimnames")
    ri = _ri()
    rn = None if dn[0] is ri.NULL else _strings(dn[0])
    cn = None if dn[1] is ri.NULL else _strings(dn[1])
    return RSparse(sp.csc_matrix((x, i, p), shape=dim), rn, cn)  # type: ignore[arg-type]


def r_to_value(obj: Any, strict: bool = True) -> RValue:
    """Any R object -> a :mod:`parity.r.values` value (recursively for lists).

    ``Matrix`` sparse classes are coerced in R to ``dgCMatrix`` first, dense ``Matrix`` classes to
    base matrices.  A data.frame becomes an RList of its columns.  Attributes other than names,
    dim, dimnames, levels and class are dropped.  R objects of class ``"pyreterms_error"`` (see
    reference.R) become ``RError``.  Unsupported objects (closures, environments, >2-d arrays,
    ...) raise ``TypeError`` if ``strict``, else become ``RError(kind="unconvertible")``.
    """
    ri = _ri()
    with rsession.rlock():
        if obj is ri.NULL or obj is None or getattr(obj, "typeof", None) == ri.RTYPES.NILSXP:
            return RNull
        rclass = tuple(obj.rclass)
        if "pyreterms_error" in rclass:
            return RError(str(obj[0]), "error")
        if obj.typeof == ri.RTYPES.S4SXP:
            if rsession.helper("is_sparse")(obj)[0]:
                return _dgc(obj if rclass == ("dgCMatrix",) else rsession.helper("as_dgC")(obj))
            if rsession.helper("is_dense")(obj)[0]:
                return r_to_value(rsession.helper("as_base_matrix")(obj), strict)
            return _unsupported(obj, strict, "S4 object")
        if "factor" in rclass and obj.typeof == ri.RTYPES.INTSXP:
            codes = _copy_out(obj, np.int32).astype(np.int64)
            codes = np.where(codes == _NA_INTEGER, -1, codes - 1)
            levels = _strings(_attr(obj, "levels")) or ()
            return RFactor(codes, tuple(str(lev) for lev in levels), "ordered" in rclass)
        if obj.typeof == ri.RTYPES.VECSXP:
            names = _strings(_attr(obj, "names"))
            items = []
            for k in range(len(obj)):
                nm = names[k] if names is not None else None
                items.append((nm if nm != "" else None, r_to_value(obj[k], strict)))
            return RList(tuple(items))
        if obj.typeof in (ri.RTYPES.REALSXP, ri.RTYPES.INTSXP, ri.RTYPES.LGLSXP, ri.RTYPES.STRSXP):
            arr, kind = _atomic(obj)
            dim = _attr(obj, "dim")
            if dim is not None:
                d = tuple(int(v) for v in dim)
                if len(d) != 2:
                    return _unsupported(obj, strict, f"{len(d)}-d array")
                dn = _attr(obj, "dimnames")
                rn = cn = None
                if dn is not None:
                    rn = None if dn[0] is ri.NULL else _strings(dn[0])
                    cn = None if dn[1] is ri.NULL else _strings(dn[1])
                return RMatrix(arr.reshape(d, order="F"), _names(rn), _names(cn))
            return RVector(arr, _names(_strings(_attr(obj, "names"))), kind)
        return _unsupported(obj, strict, f"R type {obj.typeof}")
