"""lme4's small example data sets, shipped as CSV + JSON so that no R is needed to use them.

The files in ``pyreterms/data`` are written by ``r_scripts/export_datasets.R`` (R: ``lme4::sleepstudy``
etc.); ``datasets.json`` records every column's R type, factor levels in R's order and the
``ordered`` flag, and the R/lme4 versions they came from.  :func:`load_dataset` rebuilds the
data.frame as pandas: index = R's row names as strings, factors as ``pd.Categorical`` with R's
levels and ordered flag, doubles as float64, integers as int64 (``Int64`` if NA), logicals as bool
(``boolean`` if NA), character as ``str``.  The same helpers (:func:`make_categorical`,
:func:`string_index`, :func:`string_column`) are used by ``parity.convert`` when R data frames are
read live, so both routes give identical frames.  This module does not import rpy2.
"""
from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pyreterms.design.dataframe import read_csv
from pyreterms.errors import DataError

__all__ = [
    "DATA_DIR", "list_datasets", "dataset_info", "data_versions", "load_dataset",
    "make_categorical", "string_index", "string_column",
]

DATA_DIR: Path = Path(__file__).resolve().parent / "data"
_NA = "NA"


def make_categorical(codes: Sequence[int] | np.ndarray, levels: Sequence[str], ordered: bool) -> pd.Categorical:
    """An R factor as pandas (R: ``factor(levels = levels, ordered = ordered)``); code -1 = NA."""
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64),
                                     categories=pd.Index(list(levels), dtype="str"),
                                     ordered=bool(ordered))


def string_index(labels: Sequence[str]) -> pd.Index:
    """Row names as a pandas index of strings (R: ``rownames(df)``)."""
    return pd.Index([str(x) for x in labels], dtype="str")


def string_column(values: Sequence[str | None]) -> Any:
    """An R character vector as a pandas string array (NA -> missing)."""
    return pd.array(list(values), dtype="str")


@functools.lru_cache(maxsize=1)
def _meta() -> dict[str, Any]:
    path = DATA_DIR / "datasets.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; run: Rscript r_scripts/export_datasets.R")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def list_datasets() -> list[str]:
    """Names of the shipped data sets (R: ``data(package = "lme4")``, the small ones)."""
    return list(_meta()["datasets"])


def dataset_info(name: str) -> dict[str, Any]:
    """The datasets.json entry of ``name`` (columns, types, levels, nrow, file)."""
    ds = _meta()["datasets"]
    if name not in ds:
        raise ValueError(f"unknown data set {name!r}; available: {', '.join(ds)}")
    return ds[name]


def data_versions() -> dict[str, str]:
    """R, lme4 and Matrix versions the data files were exported from."""
    m = _meta()
    return {"R": m["R"], "lme4": m["lme4"], "Matrix": m["Matrix"]}


def _parse_column(name: str, col: dict[str, Any], text: list[str]) -> Any:
    kind = col["type"]
    na = [t == _NA for t in text]
    if kind == "double":
        return np.array([np.nan if m else float(t) for t, m in zip(text, na, strict=False)], dtype=np.float64)
    if kind == "integer":
        if any(na):
            return pd.array([None if m else int(t) for t, m in zip(text, na, strict=False)], dtype="Int64")
        return np.array([int(t) for t in text], dtype=np.int64)
    if kind == "logical":
        vals = [None if m else {"TRUE": True, "FALSE": False}[t] for t, m in zip(text, na, strict=False)]
        return pd.array(vals, dtype="boolean") if any(na) else np.array(vals, dtype=bool)
    if kind == "character":
        return string_column([None if m else t for t, m in zip(text, na, strict=False)])
    if kind == "factor":
        levels = [str(lv) for lv in col["levels"]]
        pos = {lv: k for k, lv in enumerate(levels)}
        try:
            codes = [-1 if m else pos[t] for t, m in zip(text, na, strict=False)]
        except KeyError as e:
            raise ValueError(f"column {name!r}: value {e.args[0]!r} is not one of its levels") from None
        return make_categorical(codes, levels, col["ordered"])
    raise ValueError(f"column {name!r}: unknown type {kind!r} in datasets.json")


def load_dataset(name: str) -> pd.DataFrame:
    """Load a shipped lme4 data set (R: ``lme4::<name>``) as pandas, exactly as R has it."""
    info = dataset_info(name)
    raw = pd.read_csv(DATA_DIR / info["file"], dtype=str, keep_default_na=False, na_filter=False)
    names = [c["name"] for c in info["columns"]]
    if list(raw.columns) != ["rownames"] + names:
        raise ValueError(f"{info['file']}: columns {list(raw.columns)} do not match datasets.json")
    cols = {c["name"]: _parse_column(c["name"], c, raw[c["name"]].tolist()) for c in info["columns"]}
    df = pd.DataFrame(cols, index=string_index(raw["rownames"].tolist()))
    if len(df) != info["nrow"]:
        raise ValueError(f"{info['file']}: {len(df)} rows, datasets.json says {info['nrow']}")
    return df


def load_data(spec: str) -> pd.DataFrame:
    """A ``--data`` value: a built-in data set name (:func:`load_dataset`) or a CSV file read as R's
    ``read.csv`` would (:func:`pyreterms.design.dataframe.read_csv`); DataError otherwise."""
    if spec in list_datasets():
        return load_dataset(spec)
    if os.path.exists(spec):
        try:
            return read_csv(spec)
        except DataError as e:
            raise DataError(f"--data {spec}: {e}") from None
    raise DataError(f"--data {spec}: neither a built-in data set ({', '.join(list_datasets())}) nor a file")
