"""R's printed form of the objects a porting walkthrough shows: numbers as ``format(x, digits = 7)``
(R's ``formatReal``, src/main/format.c), base matrices and vectors as ``print`` lays them out
(src/main/printmatrix.c, printvector.c, width 80) and sparse matrices as the Matrix package shows
them (``printSpMatrix`` / ``formatSparseM``: ``.`` for structural zeros, aligned at the decimal point,
column names dropped with a ``[[ suppressing ... ]]`` note when there are 10 or more columns).

Written here rather than taken from numpy/pandas because the point of the walkthrough is that its
text can be put next to R's console output and compared character by character.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

WIDTH = 80  # getOption("width")
DIGITS = 7  # getOption("digits")

#: a numeric vector: a sequence of numbers or a float64 array (a column of a matrix)
Numbers: TypeAlias = Sequence[float] | npt.NDArray[np.float64]


def _scientific(x: float, digits: int) -> tuple[int, int, int, bool]:
    """R's ``scientific()``: (neg, kpower, nsig, roundingwidens) of x shown with ``digits`` digits."""
    if x == 0.0:
        return 0, 0, 1, False
    neg = int(x < 0)
    r = abs(x)
    mant, exp = f"{r:.{digits - 1}e}".split("e")
    kpower = int(exp)
    nsig = max(1, len(mant.replace(".", "").rstrip("0")))
    rgt = min(max(digits - kpower, 0), 22)
    widens = 0 < kpower <= 22 and r < 10.0 ** kpower - 0.5 / 10.0 ** rgt
    return neg, kpower, nsig, widens


@dataclass(frozen=True)
class RealFormat:
    """``format.info(x, digits)``: width, digits after the point (or in the mantissa), exponent flag."""

    w: int
    d: int
    e: int


def format_info(xs: Numbers, digits: int = DIGITS, nsmall: int = 0) -> RealFormat:
    """R: ``formatReal`` (src/main/format.c) for a double vector."""
    neg = 0
    rgt = mxsl = mxe = mxns = -(10 ** 9)
    mne = 10 ** 9
    nonfinite_w = 0
    finite = False
    for x in xs:
        x = float(x)
        if not math.isfinite(x):
            nonfinite_w = max(nonfinite_w, 2 if math.isnan(x) else (4 if x < 0 else 3))
            continue
        finite = True
        neg_i, kp, nsig, widens = _scientific(x, digits)
        left = kp + 1 - int(widens)
        sleft = neg_i + (1 if left <= 0 else left)
        neg |= neg_i
        rgt = max(rgt, nsig - left)
        mxsl, mxns = max(mxsl, sleft), max(mxns, nsig)
        mxe, mne = max(mxe, kp), min(mne, kp)
    if not finite:
        return RealFormat(nonfinite_w, 0, 0)
    rgt = max(rgt, 0)
    wF = mxsl + rgt + (rgt != 0)
    e = 2 if (mxe >= 100 or mne <= -99) else 1
    d = mxns - 1
    w = neg + (d > 0) + d + 4 + e
    if wF <= w:  # R_print.scipen = 0
        e = 0
        if nsmall > rgt:
            rgt = nsmall
            wF = mxsl + rgt + (rgt != 0)
        d, w = rgt, wF
    return RealFormat(max(w, nonfinite_w), d, e)


def _encode(x: float, f: RealFormat) -> str:
    if math.isnan(x):
        return "NaN".rjust(f.w)
    if math.isinf(x):
        return ("Inf" if x > 0 else "-Inf").rjust(f.w)
    if f.e:
        s = f"{x:#.{f.d}e}" if f.d else f"{x:.0e}"
        return s.rjust(f.w)
    return f"{x:.{f.d}f}".rjust(f.w)


def format_real(xs: Numbers, digits: int = DIGITS) -> list[str]:
    """R: ``format(x, digits = digits)`` of a double vector (common width, right-justified)."""
    f = format_info(xs, digits)
    return [_encode(float(x), f) for x in xs]


def format_int(xs: Numbers) -> list[str]:
    """R: ``format()`` of an integer vector."""
    s = [str(int(x)) for x in xs]
    w = max((len(v) for v in s), default=0)
    return [v.rjust(w) for v in s]


# ------------------------------------------------------------------------------------------ matrices
def _print_char_matrix(cells: list[list[str]], rownames: Sequence[str] | None, colnames: Sequence[str]) -> list[str]:
    """R: ``print(cx, quote = FALSE, right = TRUE)`` of a character matrix (printmatrix.c): row
    names left-justified (``[i,]`` labels, when there are no row names, right-justified), columns
    right-justified, wrapped in blocks that fit ``WIDTH``."""
    just = str.ljust if rownames is not None else str.rjust
    rownames = _row_labels(rownames, len(cells))
    nr, nc = len(rownames), len(colnames)
    rlabw = max((len(r) for r in rownames), default=0)
    w = [max([len(colnames[j])] + [len(cells[i][j]) for i in range(nr)]) + 1 for j in range(nc)]
    out: list[str] = []
    jmin = 0
    if nc == 0:
        return [" " * rlabw] + [just(r, rlabw) for r in rownames]
    while jmin < nc:
        width, jmax = rlabw, jmin
        while True:
            width += w[jmax]
            jmax += 1
            if not (jmax < nc and width + w[jmax] < WIDTH):
                break
        out.append(" " * rlabw + "".join(colnames[j].rjust(w[j]) for j in range(jmin, jmax)))
        for i in range(nr):
            out.append(just(rownames[i], rlabw) + "".join(cells[i][j].rjust(w[j]) for j in range(jmin, jmax)))
        jmin = jmax
    return out


def _row_labels(rownames: Sequence[str] | None, n: int) -> list[str]:
    return list(rownames) if rownames is not None else [f"[{i + 1},]" for i in range(n)]


def _format_columns(m: np.ndarray, integer: bool) -> list[list[str]]:
    cols = [format_int(m[:, j]) if integer else format_real(m[:, j]) for j in range(m.shape[1])]
    return [[cols[j][i] for j in range(m.shape[1])] for i in range(m.shape[0])]


def print_dense(m: np.ndarray, rownames: Sequence[str] | None = None, colnames: Sequence[str] | None = None,
                integer: bool = False) -> list[str]:
    """R: ``print(m)`` of a base numeric matrix."""
    m = np.asarray(m, dtype=float)
    cn = list(colnames) if colnames is not None else [f"[,{j + 1}]" for j in range(m.shape[1])]
    return _print_char_matrix(_format_columns(m, integer), rownames, cn)


def _sq(s: str) -> str:
    return f"\u2018{s}\u2019"  # sQuote in a UTF-8 session


def print_sparse(M: sp.spmatrix, rownames: Sequence[str] | None = None, colnames: Sequence[str] | None = None,
                 rclass: str = "dgCMatrix") -> list[str]:
    """R: ``show(M)`` of a Matrix ``sparseMatrix`` (``printSpMatrix2`` -> ``formatSpMatrix`` ->
    ``formatSparseM``, align = "fancy").  Stored zeros print as ``0``, structural zeros as ``.``.
    The ``[[ suppressing ... ]]`` line is R's ``message()`` (stderr), kept in its console position."""
    M = sp.csc_matrix(M)
    nr, nc = M.shape
    dense = M.toarray()
    stored = np.zeros((nr, nc), dtype=bool)
    coo = M.tocoo()
    stored[coo.row, coo.col] = True
    lines = [f'{nr} x {nc} sparse Matrix of class "{rclass}"']
    show_cn = colnames is not None and nc < 10
    if colnames is not None and not show_cn and any(colnames):
        shown = ", ".join(_sq(c) for c in (colnames if nc <= 3 else colnames[:3]))
        lines.append(f"  [[ suppressing {nc} column name{'' if nc == 1 else 's'} {shown} ... ]]")
    cells = _format_columns(dense, integer=False)
    if not stored.all():
        dots = []
        for j in range(nc):
            f = format_info(dense[:, j])
            pad = (f.d + (f.d > 0)) if f.e == 0 else f.d + f.e + 4
            dots.append(".".ljust(pad + 1) if pad > 0 else ".")
        for i in range(nr):
            for j in range(nc):
                if not stored[i, j]:
                    cells[i][j] = dots[j]
    cn = list(colnames) if show_cn and colnames is not None else [""] * nc
    return lines + _print_char_matrix(cells, rownames, cn)


# ------------------------------------------------------------------------------------------ vectors
def print_vector(x: Numbers, names: Sequence[str] | None = None, integer: bool = False) -> list[str]:
    """R: ``print(x)`` of a numeric vector (printvector.c / printNamedVector), width 80."""
    s = format_int(x) if integer else format_real(x)
    n = len(s)
    if n == 0:
        return ["integer(0)" if integer else "numeric(0)"]
    if names is None:
        labw = len(f"[{n}]")
        w = len(s[0])
        perline = max(1, (WIDTH - labw) // (w + 1))
        return [f"[{i + 1}]".rjust(labw) + "".join(" " + v for v in s[i:i + perline]) for i in range(0, n, perline)]
    w = max(len(s[0]), max(len(nm) for nm in names))
    perline = max(1, WIDTH // (w + 1))
    out = []
    for i in range(0, n, perline):
        out.append(" ".join(nm.rjust(w) for nm in names[i:i + perline]) + " ")
        out.append(" ".join(v.rjust(w) for v in s[i:i + perline]) + " ")
    return out
