"""R values <-> (JSON descriptor, numpy arrays), exactly: the storage format of goldens' components.

Descriptors are documented in :mod:`parity.goldens.record_replay`; arrays hold raw float64/int64/int32/bool bytes,
so NaN payloads (R's ``NA_real_`` vs ``NaN``), ``-Inf`` and signed zeros survive bit for bit.
:func:`identical` is R's ``identical()`` on these values.  No R, no rpy2.
"""
from __future__ import annotations

from typing import cast

import numpy as np
import scipy.sparse as sp

from parity.r.values import RError, RFactor, RList, RMatrix, RNull, RSparse, RValue, RVector

__all__ = ["Writer", "decode", "identical"]


def _names(n) -> list | None:
    return None if n is None else [None if v is None else str(v) for v in n]


def _tnames(n) -> tuple | None:
    return None if n is None else tuple(n)


class Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def arr(self, a: np.ndarray) -> str:
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(a)
        return key

    def inline_or_arr(self, a: np.ndarray) -> str | list:
        if a.dtype == object:
            return [None if v is None else (bool(v) if isinstance(v, (bool, np.bool_)) else str(v))
                    for v in a.tolist()]
        return self.arr(a)

    def encode(self, v: RValue) -> dict:
        if v is RNull:
            return {"t": "null"}
        if isinstance(v, RError):
            return {"t": "error", "message": v.message, "kind": v.kind}
        if isinstance(v, RSparse):
            m = v.x.tocsc()
            return {"t": "sparse", "i": self.arr(m.indices.astype(np.int32)), "p": self.arr(m.indptr.astype(np.int32)),
                    "x": self.arr(m.data.astype(np.float64)), "dim": list(m.shape),
                    "rownames": _names(v.rownames), "colnames": _names(v.colnames)}
        if isinstance(v, RMatrix):
            x = np.asarray(v.x)
            return {"t": "matrix", "x": self.inline_or_arr(x.ravel(order="F")), "dim": list(x.shape),
                    "rownames": _names(v.rownames), "colnames": _names(v.colnames)}
        if isinstance(v, RVector):
            return {"t": "vector", "kind": v.kind, "x": self.inline_or_arr(np.asarray(v.x)),
                    "names": _names(v.names)}
        if isinstance(v, RFactor):
            return {"t": "factor", "codes": self.arr(np.asarray(v.codes, dtype=np.int64)),
                    "levels": [str(lev) for lev in v.levels], "ordered": bool(v.ordered)}
        if isinstance(v, RList):
            return {"t": "list", "items": [[k, self.encode(x)] for k, x in v.items]}
        raise TypeError(f"cannot store a {type(v).__name__}")


def decode(d: dict, arrays) -> RValue:
    def get(slot):  # an npz key, or an inline JSON list (character / logical with NA)
        return arrays[slot] if isinstance(slot, str) else np.array(slot if slot else [], dtype=object)

    t = d["t"]
    if t == "null":
        return RNull
    if t == "error":
        return RError(d["message"], d["kind"])
    if t == "sparse":
        m = sp.csc_matrix((np.array(get(d["x"])), np.array(get(d["i"])), np.array(get(d["p"]))),
                          shape=tuple(d["dim"]))
        return RSparse(m, _tnames(d["rownames"]), _tnames(d["colnames"]))
    if t == "matrix":
        x = np.array(get(d["x"])).reshape(tuple(d["dim"]), order="F")
        return RMatrix(x, _tnames(d["rownames"]), _tnames(d["colnames"]))
    if t == "vector":
        return RVector(np.array(get(d["x"])), _tnames(d["names"]), d["kind"])
    if t == "factor":
        return RFactor(np.array(get(d["codes"])), tuple(d["levels"]), bool(d["ordered"]))
    if t == "list":
        return RList(tuple((k, decode(x, arrays)) for k, x in d["items"]))
    raise ValueError(f"unknown stored value type {t!r}")



def identical(a: RValue, b: RValue) -> bool:
    """Exact equality incl. float bits, names and types (R: ``identical(a, b)``)."""
    if type(a) is not type(b):
        return False
    if a is RNull:
        return True
    if isinstance(a, RError):
        return a == b
    if isinstance(a, RList):
        bl = cast(RList, b)  # the same class as a (checked above)
        return a.names() == bl.names() and all(identical(x, y) for x, y in zip(a.values(), bl.values(), strict=False))
    if isinstance(a, RFactor):
        return (a.levels == b.levels and a.ordered == b.ordered  # type: ignore[union-attr]
                and _same_array(a.codes, b.codes))  # type: ignore[union-attr]
    if isinstance(a, RVector):
        return a.kind == b.kind and _tnames(a.names) == _tnames(b.names) and _same_array(a.x, b.x)  # type: ignore[union-attr]
    if isinstance(a, (RMatrix, RSparse)):
        if (a.shape != b.shape or _tnames(a.rownames) != _tnames(b.rownames)  # type: ignore[union-attr]
                or _tnames(a.colnames) != _tnames(b.colnames)):  # type: ignore[union-attr]
            return False
        if isinstance(a, RSparse):
            x, y = a.x.tocsc(), b.x.tocsc()  # type: ignore[union-attr]
            return (_same_array(x.indptr.astype(np.int64), y.indptr.astype(np.int64))
                    and _same_array(x.indices.astype(np.int64), y.indices.astype(np.int64))
                    and _same_array(x.data, y.data))
        return _same_array(a.x, b.x)  # type: ignore[union-attr]
    return False


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype == object:
        return all(x is y or (type(x) is type(y) and x == y)
                   for x, y in zip(a.ravel().tolist(), b.ravel().tolist(), strict=False))
    return a.tobytes() == b.tobytes()
