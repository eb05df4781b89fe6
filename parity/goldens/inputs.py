"""The input frames of a golden directory: ``DIR/inputs/DATASET.{json,npz}`` (one per data set).

A golden stores R's answers for one exact input.  Replay must hand the implementation that very
frame, never a regeneration: the synthetic data of the case table come from numpy's floating-point
generator, and ``np.exp`` differs by an ulp between numpy's AVX2 and AVX-512 code paths.  So

* :func:`replay_input` reads the stored frame and checks it against the hash the case was recorded
  with (integrity), nothing else;
* :func:`record_input` (used by ``parity record``) generates the case table's data and reuses the
  stored frame when it is the same data -- bit for bit, or up to a few ulps in float columns (the
  generator run on another CPU) -- so that re-recording on any machine gives R the same input; data
  that really changed (columns, types, levels, values) are refused unless ``refresh`` is set, and
  then every case of the directory using that data set is re-recorded (``parity record
  --refresh-inputs``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from parity.goldens.cases import data_hash
from parity.goldens.frames import FrameIntegrityError, frame_files, load_frame, save_frame

__all__ = ["INPUTS", "ULPS", "InputChanged", "input_dir", "stored_input", "replay_input", "record_input",
           "frame_difference"]

INPUTS = "inputs"
#: float columns regenerated on another CPU may differ from the stored ones by this many ulps
ULPS = 4


class InputChanged(ValueError):
    """The case table now generates different data than the golden directory's stored input."""


def input_dir(golden_dir: str | Path) -> Path:
    return Path(golden_dir) / INPUTS


def stored_input(golden_dir: str | Path, name: str) -> pd.DataFrame:
    """The stored input frame of data set ``name`` (FileNotFoundError / FrameIntegrityError)."""
    return load_frame(input_dir(golden_dir), name)


def replay_input(golden_dir: str | Path, name: str, case_hash: str) -> tuple[pd.DataFrame | None, str]:
    """(frame, "") for replay, or (None, reason) when the stored input is missing, damaged, or not
    the frame the case was recorded with."""
    try:
        df = stored_input(golden_dir, name)
    except FileNotFoundError:
        return None, (f"no stored input for data set {name!r} in {input_dir(golden_dir)} (golden recorded by an "
                      "older parity: re-record it with parity record)")
    except (FrameIntegrityError, ValueError, KeyError) as e:
        return None, f"stored input for data set {name!r} is unreadable: {e}"

    dh = data_hash(df)
    if dh != case_hash:
        return None, (f"stored input of data set {name!r} (hash {dh[:12]}) is not the frame this case was recorded "
                      f"with ({case_hash[:12]}): re-record the case")
    return df, ""


def frame_difference(a: pd.DataFrame, b: pd.DataFrame, ulps: int = ULPS) -> str | None:
    """None if ``a`` and ``b`` are the same data (row labels, columns, dtypes, categories, NA, strings
    and integers exactly; float64 values up to ``ulps`` units in the last place, NaN/Inf in the same
    places); else what differs first."""
    if list(map(str, a.columns)) != list(map(str, b.columns)):
        return f"columns {list(a.columns)} vs {list(b.columns)}"
    if len(a) != len(b) or not a.index.equals(b.index) or type(a.index) is not type(b.index):
        return "row labels differ"
    for c in a.columns:
        x, y = a[c], b[c]
        if str(x.dtype) != str(y.dtype):
            return f"column {c!r}: dtype {x.dtype} vs {y.dtype}"
        if isinstance(x.dtype, pd.CategoricalDtype):
            if (list(x.cat.categories) != list(y.cat.categories) or x.cat.ordered != y.cat.ordered
                    or not np.array_equal(x.cat.codes, y.cat.codes)):
                return f"column {c!r}: factor levels or codes differ"
        elif x.dtype == np.float64:
            u, v = x.to_numpy(), y.to_numpy()
            inf_u, inf_v = np.where(np.isinf(u), np.sign(u), 0.0), np.where(np.isinf(v), np.sign(v), 0.0)
            if not np.array_equal(np.isnan(u), np.isnan(v)) or not np.array_equal(inf_u, inf_v):
                return f"column {c!r}: NaN/Inf in different places"
            ok = np.isfinite(u)
            tol = ulps * np.spacing(np.maximum(np.abs(u[ok]), np.abs(v[ok])))
            bad = np.abs(u[ok] - v[ok]) > tol
            if bad.any():
                i = int(np.flatnonzero(ok)[np.argmax(bad)])
                return f"column {c!r}: row {i}: {u[i]!r} vs {v[i]!r} (more than {ulps} ulps)"
        elif [None if pd.isna(t) else t for t in x.tolist()] != [None if pd.isna(t) else t for t in y.tolist()]:
            return f"column {c!r}: values differ"
    return None


def record_input(golden_dir: str | Path, name: str, generated: pd.DataFrame, refresh: bool = False) -> pd.DataFrame:
    """The frame ``parity record`` hands to R (and stores) for data set ``name``.

    No stored input, or ``refresh``: the generated frame is stored and returned.  Otherwise the stored
    frame is returned if the generated one is the same data (see :func:`frame_difference`), and
    :class:`InputChanged` is raised if it is not."""
    js, _ = frame_files(input_dir(golden_dir), name)
    if refresh or not js.is_file():
        save_frame(input_dir(golden_dir), name, generated)
        return stored_input(golden_dir, name)
    stored = stored_input(golden_dir, name)
    diff = frame_difference(stored, generated)
    if diff is not None:
        raise InputChanged(f"data set {name!r} now differs from the input stored in {input_dir(golden_dir)} "
                           f"({diff}); add --refresh-inputs to store the new data and re-record every case of "
                           "that directory using it")
    return stored
