"""The command line's shared pieces, below every sub-command: one-line bad input (exit 2) and the readers of
the options several sub-commands take (``--data``, ``--contrasts``, ``--weights``/``--offset`` columns,
``--only``/``--ignore``, a report path that must be writable).

It imports no sub-command and nothing of ``parity.cli.main``, so ``parity.cli.main`` and every sub-command's
module (``parity.cli.fuzz``, ``parity.goldens.record_replay``, ``parity.bench.run``, ``parity.adapter.initimpl``,
``parity.audit.cli``) import it at the top: the dependency points down.

R equivalent: none (the harness's command line).
"""
from __future__ import annotations

import argparse
import os
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from parity.compare.selection import Selection
from parity.r.datasource import load_source
from parity.r.session import checked_contrasts
from pyreterms.design.contrasts import CONTRASTS
from pyreterms.design.dataframe import read_contrasts_csv

__all__ = ["BadInput", "one_line", "OneLineParser", "writable", "contrasts_arg", "load_data", "numeric_column",
           "add_selection_args", "selection_of"]


class BadInput(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


def one_line(text: object) -> str:
    """A message on one line (the lines of a multi-line message joined by '; ')."""
    return "; ".join(ln.strip() for ln in str(text).splitlines() if ln.strip())


class OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors in one line (``parity check: error: ...``), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see --help)\n")


def writable(path: str | None, flag: str) -> None:
    """BadInput unless ``path`` (the value of ``flag``; None: not given) can be written: not a directory,
    and its nearest existing parent a writable directory (missing ones may be created by the writer)."""
    if path is None:
        return
    if os.path.isdir(path):
        raise BadInput(f"{flag} {path}: is a directory")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):  # missing directories may be created by the writer
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise BadInput(f"{flag} {path}: cannot write there ({parent} is not a writable directory)")


def _contrasts_value(v: str) -> str | np.ndarray:
    """A --contrasts value: a contrast function name, or a CSV file holding a numeric matrix."""
    if v in CONTRASTS or not v.lower().endswith(".csv"):
        return v  # names are checked by parity.r.session.checked_contrasts
    if not os.path.isfile(v):
        raise BadInput(f"--contrasts: no contrasts matrix file {v!r}")
    try:
        return read_contrasts_csv(v)
    except ValueError as e:
        raise BadInput(f"--contrasts: {e}") from None


def contrasts_arg(items: list[str] | None) -> dict[str, Any] | None:
    """``--contrasts NAME=contr.xxx NAME=matrix.csv ...`` as a dict, checked by the one gate
    (:func:`parity.r.session.checked_contrasts`); None when not given."""
    if not items:
        return None
    contrasts: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise BadInput(f"--contrasts takes NAME=contr.xxx or NAME=matrix.csv, not {item!r}")
        k, v = item.split("=", 1)
        contrasts[k] = _contrasts_value(v)
    try:
        checked_contrasts(contrasts)
    except ValueError as e:
        raise BadInput(f"--contrasts: {e}") from None
    return contrasts


def load_data(spec: str) -> pd.DataFrame:
    """``--data FILE.csv`` or ``--data r:PKG::NAME`` (parity.r.datasource); BadInput when it cannot be read."""
    try:
        return load_source(spec)
    except (ValueError, OSError) as e:
        raise BadInput(f"--data {spec}: {e}") from None


def numeric_column(data: pd.DataFrame, spec: str, col: str | None, what: str) -> np.ndarray | None:
    """A --weights/--offset column as float64 (numeric columns only), or None."""
    if col is None:
        return None
    if col not in data.columns:
        raise BadInput(f"no column '{col}' in {spec}")
    s = data[col]
    if not (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)):
        raise BadInput(f"{what} column '{col}' is not numeric")
    return s.to_numpy(dtype=float, na_value=float("nan"))


def add_selection_args(p: argparse.ArgumentParser) -> None:
    """``--only`` / ``--ignore`` (glob patterns on component names, parity.compare.selection)."""
    p.add_argument("--only", nargs="+", default=None, metavar="PATTERN",
                   help="compare only components matching these globs (e.g. 'fixef(fit)' 'as.data.frame(VarCorr*');"
                        " a name without wildcards must be provided")
    p.add_argument("--ignore", nargs="+", default=None, metavar="PATTERN",
                   help="do not compare components matching these globs")


def selection_of(args: argparse.Namespace) -> Selection:
    """The parity.compare.selection.Selection of the parsed ``--only`` / ``--ignore``."""
    return Selection.of(getattr(args, "only", None), getattr(args, "ignore", None))
