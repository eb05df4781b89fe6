"""Typed, pickle-free storage of a pandas data frame: the exact input frame of a golden.

A frame ``NAME`` is stored as two files beside each other:

* ``NAME.npz``: the numeric column arrays as raw bytes (float64 keeps NaN payloads, -0.0 and Inf
  bit for bit; int64; bool; factor codes as int64 with -1 = NA; nullable Int64/boolean as values +
  mask); written deterministically (fixed zip timestamps), so re-saving the same frame gives the same
  bytes;
* ``NAME.json``: ``{"format", "nrow", "index", "columns": [spec, ...], "data_hash"}`` where a column
  spec names the column, its ``kind`` (``float``, ``int``, ``bool``, ``Int64``, ``boolean``,
  ``category``, ``str``, ``object``), the pandas dtype spelling and either an npz key or, for
  character data, an inline JSON list (``null`` = NA).  A ``category`` column stores its categories
  as a nested column spec (so their dtype and order survive) and the ``ordered`` flag.  The index is
  ``{"t": "range", "start", "stop", "step"}`` or a nested column spec of the row labels.

This is what R receives as a data.frame (R: ``data.frame`` with factor levels, ordered flags, NA,
integer vs double columns, row names).  :func:`load_frame` rebuilds a frame whose
:func:`parity.goldens.cases.data_hash` equals the saved one (checked on load: a mismatch raises
:class:`FrameIntegrityError`).  No R, no rpy2.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parity.goldens.cases import data_hash

__all__ = ["save_frame", "load_frame", "frame_files", "write_npz", "FrameIntegrityError", "FRAME_FORMAT"]

FRAME_FORMAT = "parity-frame/1"


class FrameIntegrityError(ValueError):
    """A stored frame does not rebuild to the data hash recorded with it."""


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with fixed zip timestamps (same arrays -> same bytes; ``np.load`` reads it)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def _kind(dt: Any) -> str:
    if isinstance(dt, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dt):
        return "bool" if dt == np.bool_ else "boolean"
    if pd.api.types.is_integer_dtype(dt):
        return "int" if isinstance(dt, np.dtype) else "Int64"
    if pd.api.types.is_float_dtype(dt):
        if dt != np.float64:
            raise TypeError(f"float column of dtype {dt} cannot be stored exactly (only float64)")
        return "float"
    if isinstance(dt, pd.StringDtype):
        return "str"
    if pd.api.types.is_object_dtype(dt):
        return "object"
    raise TypeError(f"cannot store a column of dtype {dt}")


def _str_or_none(v: Any) -> str | None:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if not isinstance(v, str):
        raise TypeError(f"character column holds a non-string value {v!r}")
    return v


class _Enc:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def arr(self, a: np.ndarray) -> str:
        key = f"c{len(self.arrays)}"
        self.arrays[key] = np.ascontiguousarray(a)
        return key

    def column(self, values: pd.Series | pd.Index, name: Any = None) -> dict:
        dt = values.dtype
        k = _kind(dt)
        spec: dict[str, Any] = {"name": None if name is None else str(name), "kind": k, "dtype": str(dt)}
        if k == "float":
            spec["x"] = self.arr(np.asarray(values, dtype=np.float64))
        elif k == "int":
            spec["x"] = self.arr(np.asarray(values, dtype=np.int64))
            spec["dtype"] = str(np.dtype(dt))
        elif k == "bool":
            spec["x"] = self.arr(np.asarray(values, dtype=np.bool_))
        elif k in ("Int64", "boolean"):
            arr = pd.array(values)
            spec["mask"] = self.arr(np.asarray(arr.isna(), dtype=np.bool_))
            fill = 0 if k == "Int64" else False
            spec["x"] = self.arr(arr.to_numpy(dtype=np.int64 if k == "Int64" else np.bool_, na_value=fill))
        elif k == "category":
            cat = values.array if isinstance(values, pd.Series) else values.values
            spec["codes"] = self.arr(np.asarray(cat.codes, dtype=np.int64))
            spec["categories"] = self.column(cat.categories)
            spec["ordered"] = bool(cat.ordered)
        else:  # str / object: characters inline (JSON keeps every code point exactly)
            if k == "str":
                spec["na_value"] = "nan" if dt.na_value is not pd.NA else "NA"
                spec["storage"] = dt.storage
            spec["x"] = [_str_or_none(v) for v in values.tolist()]
        return spec


def _decode(spec: dict, z: dict[str, np.ndarray]) -> Any:
    """A column spec back to a pandas array (ExtensionArray or numpy array) of the stored dtype."""
    k = spec["kind"]
    if k == "float":
        return np.array(z[spec["x"]], dtype=np.float64)
    if k == "int":
        return np.array(z[spec["x"]], dtype=np.dtype(spec["dtype"]))
    if k == "bool":
        return np.array(z[spec["x"]], dtype=np.bool_)
    if k in ("Int64", "boolean"):
        cls = pd.arrays.IntegerArray if k == "Int64" else pd.arrays.BooleanArray
        x = np.array(z[spec["x"]], dtype=np.int64 if k == "Int64" else np.bool_)
        return cls(x, np.array(z[spec["mask"]], dtype=np.bool_))
    if k == "category":
        cats = pd.Index(_decode(spec["categories"], z), dtype=spec["categories"]["dtype"])
        return pd.Categorical.from_codes(np.array(z[spec["codes"]], dtype=np.int64), categories=cats,
                                         ordered=bool(spec["ordered"]))
    if k == "str":
        dt = pd.StringDtype(storage=spec.get("storage", "python"),
                            na_value=np.nan if spec.get("na_value", "nan") == "nan" else pd.NA)
        return pd.array(spec["x"], dtype=dt)
    if k == "object":
        return np.array(spec["x"], dtype=object)
    raise ValueError(f"unknown stored column kind {k!r}")


def frame_files(directory: str | Path, name: str) -> tuple[Path, Path]:
    """The (``NAME.json``, ``NAME.npz``) paths of a stored frame."""
    d = Path(directory)
    return d / f"{name}.json", d / f"{name}.npz"


def save_frame(directory: str | Path, name: str, df: pd.DataFrame) -> str:
    """Store ``df`` as ``NAME.json`` + ``NAME.npz`` in ``directory``; returns its data hash."""
    if not df.columns.is_unique:
        raise ValueError(f"frame {name!r} has duplicated column names")
    enc = _Enc()
    cols = [enc.column(df[c], c) for c in df.columns]
    ix = df.index
    index = ({"t": "range", "start": int(ix.start), "stop": int(ix.stop), "step": int(ix.step)}
             if isinstance(ix, pd.RangeIndex) else {"t": "labels", **enc.column(ix, ix.name)})
    dh = data_hash(df)
    doc = {"format": FRAME_FORMAT, "nrow": len(df), "index": index, "columns": cols, "data_hash": dh}
    js, npz = frame_files(directory, name)
    js.parent.mkdir(parents=True, exist_ok=True)
    write_npz(npz, enc.arrays)
    js.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    back = load_frame(directory, name)  # never store what does not read back identically
    if data_hash(back) != dh or list(back.dtypes.astype(str)) != list(df.dtypes.astype(str)):
        raise FrameIntegrityError(f"frame {name!r} does not survive storage (dtypes {list(df.dtypes.astype(str))})")
    return dh


def load_frame(directory: str | Path, name: str) -> pd.DataFrame:
    """The stored frame ``NAME`` exactly as saved (dtypes, categories, NA, row labels).

    Raises FileNotFoundError if it is not stored, :class:`FrameIntegrityError` if it does not hash
    to the value recorded with it."""
    js, npz = frame_files(directory, name)
    if not js.is_file() or not npz.is_file():
        raise FileNotFoundError(f"no stored input frame {name!r} in {js.parent}")
    try:
        doc = json.loads(js.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != FRAME_FORMAT:
            raise FrameIntegrityError(f"{js}: not a {FRAME_FORMAT} file")
        with np.load(npz, allow_pickle=False) as f:
            z = {k: f[k] for k in f.files}
        ix = doc["index"]
        index = (pd.RangeIndex(ix["start"], ix["stop"], ix["step"]) if ix["t"] == "range"
                 else pd.Index(_decode(ix, z), dtype=ix["dtype"], name=ix["name"]))
        df = pd.DataFrame({c["name"]: pd.Series(_decode(c, z), index=index,
                                                dtype=object if c["kind"] == "object" else None)
                           for c in doc["columns"]}, index=index)
    except FrameIntegrityError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, OSError) as e:  # damaged json/npz
        raise FrameIntegrityError(f"stored frame {name!r} in {js.parent} is unreadable "
                                  f"({type(e).__name__}: {e})") from None
    if len(df) != doc["nrow"]:
        raise FrameIntegrityError(f"stored frame {name!r}: {len(df)} rows, recorded {doc['nrow']}")
    dh = data_hash(df)
    if dh != doc["data_hash"]:
        raise FrameIntegrityError(f"stored frame {name!r} does not match its recorded hash "
                                  f"({dh[:12]} vs {doc['data_hash'][:12]}): the input file is damaged")
    return df
