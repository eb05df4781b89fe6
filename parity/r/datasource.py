"""Where the harness's data come from: a CSV file or an R data set.

``load_source("data/x.csv")`` reads a CSV with pandas (string columns stay strings; default index).
``load_source("r:lme4::sleepstudy")`` reads the data set through the embedded R (R:
``data(sleepstudy, package = "lme4")``), so factor levels and ordered flags arrive as R has them.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from parity.r import session as rsession
from parity.r.frame import r_dataframe_to_pandas
from pyreterms.design.dataframe import read_csv

__all__ = ["load_source", "parse_spec"]

_R_SPEC = re.compile(r"^r:([A-Za-z][A-Za-z0-9.]*)::([A-Za-z.][A-Za-z0-9._]*)$")


def parse_spec(spec: str) -> tuple[str, str | Path]:
    """``("r", "PKG::NAME")`` or ``("csv", Path)``; ValueError with a one-line reason otherwise."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("empty data source; give a CSV path or r:PKG::NAME")
    spec = spec.strip()
    if spec.startswith("r:"):
        m = _R_SPEC.match(spec)
        if not m:
            raise ValueError(f"bad R data source {spec!r}; expected r:PKG::NAME, e.g. r:lme4::sleepstudy")
        return "r", f"{m.group(1)}::{m.group(2)}"
    path = Path(spec)
    if path.is_dir():
        raise ValueError(f"{spec} is a directory, not a CSV file")
    if not path.is_file():
        raise ValueError(f"data file not found: {spec}")
    return "csv", path


def load_source(spec: str) -> pd.DataFrame:
    """Load a data source: a CSV path, or ``r:PKG::NAME`` (an R data.frame, read through R).

    Raises ValueError (one line) for a malformed spec, a missing file, an unknown package or
    data set, or an R data set that is not a data.frame; :class:`parity.compare.notcompared.NotCompared` for
    R data that pandas cannot carry without loss.  The frame of an R data set remembers its R object
    (``parity.r.attrs``): lme4 is handed that object while the frame is unchanged.
    """
    kind, what = parse_spec(spec)
    if kind == "csv":
        return read_csv(what)  # one-line DataError (a ValueError) for what R would read differently
    pkg, name = str(what).split("::")
    rsession.start()
    import rpy2.rinterface as ri

    try:
        obj = rsession.r_call(rsession.helper("get_data"), ri.StrSexpVector([pkg]),
                              ri.StrSexpVector([name]))
    except rsession.RCallError as e:
        raise ValueError(str(e).splitlines()[0]) from None
    if "data.frame" not in tuple(obj.rclass):
        raise ValueError(f"R data set {pkg}::{name} is a {'/'.join(obj.rclass)}, not a data.frame")
    return r_dataframe_to_pandas(obj)
