"""R's printing of numeric vectors and anova tables: ``formatReal`` (``src/main/format.c``: the common
fixed-or-scientific layout ``format(x, digits)`` chooses), ``format.pval``, ``zapsmall`` and the part of
``printCoefmat`` that ``print.anova`` uses (``stats``).  Written out here because the printed form
is compared with R's line for line; numpy/pandas formatting follows other rules."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

EPS = float(np.finfo(float).eps)


def _sci(x: float, digits: int) -> tuple[bool, int, int]:
    """R's ``scientific()``: (negative, kpower, nsig) of x shown with ``digits`` significant digits."""
    s = f"{abs(x):.{digits - 1}e}"
    mant, ex = s.split("e")
    m = mant.replace(".", "").rstrip("0")
    return x < 0, int(ex), max(1, len(m))


def format_real(xs: Sequence[float] | np.ndarray, digits: int = 7, nsmall: int = 0,
                na: str = "NA") -> list[str]:
    """R: ``format(x, digits = digits, nsmall = nsmall)`` of a double vector (common width, fixed unless
    scientific is narrower, as ``formatReal`` decides with ``scipen = 0``)."""
    vals = [float(v) for v in xs]
    fin = [v for v in vals if math.isfinite(v)]
    naw = max([len(na) for v in vals if math.isnan(v)] + [3 if any(math.isinf(v) and v > 0 for v in vals) else 0]
              + [4 if any(math.isinf(v) and v < 0 for v in vals) else 0] + [0])
    if not fin:
        return [s.rjust(naw) for s in (_special(v, na) for v in vals)]
    neg = 0
    mxsl = rgt = mxe = -(10 ** 9)
    mne = 10 ** 9
    mxns = -(10 ** 9)
    for v in fin:
        if v == 0:
            kp, nsig, ng = 0, 1, False
        else:
            ng, kp, nsig = _sci(v, digits)
        left = kp + 1
        sleft = int(ng) + (1 if left <= 0 else left)
        right = nsig - left
        if ng:
            neg = 1
        rgt = max(rgt, right)
        mxsl = max(mxsl, sleft)
        mxe, mne, mxns = max(mxe, kp), min(mne, kp), max(mxns, nsig)
    rgt = max(rgt, 0)
    wF = mxsl + rgt + (rgt != 0)
    e = 2 if (mxe >= 100 or mne <= -99) else 1
    d = mxns - 1
    w = neg + (d > 0) + d + 4 + e
    if wF <= w:
        rgt = max(rgt, nsmall)
        wF = mxsl + rgt + (rgt != 0)
        out = [f"{v:.{rgt}f}" if math.isfinite(v) else _special(v, na) for v in vals]
        width = max(wF, naw)
    else:
        out = [_sci_str(v, d, e) if math.isfinite(v) else _special(v, na) for v in vals]
        width = max(w, naw)
    return [s.rjust(width) for s in out]


def _sci_str(v: float, d: int, e: int) -> str:
    mant, ex = f"{v:.{d}e}".split("e")
    k = int(ex)
    return f"{mant}e{'-' if k < 0 else '+'}{abs(k):0{e + 1}d}"


def _special(v: float, na: str) -> str:
    if math.isnan(v):
        return na
    return "Inf" if v > 0 else "-Inf"


def zapsmall(x: np.ndarray, digits: int) -> np.ndarray:
    """R 4.2: ``zapsmall(x, digits)`` = ``round(x, max(0, digits - log10(mx)))`` (no ceiling: R's
    ``round`` takes the nearest integer of a fractional ``digits``); NA ignored in the maximum."""
    x = np.asarray(x, dtype=float)
    fin = x[np.isfinite(x)]
    mx = float(np.max(np.abs(fin))) if fin.size else 0.0
    d = max(0.0, digits - math.log10(mx)) if mx > 0 else float(digits)
    return np.round(x, int(math.floor(d + 0.5)))


def format_pval(pv: Sequence[float], digits: int, eps: float = EPS) -> list[str]:
    """R: ``format.pval(pv, digits, eps)`` (no NA: the caller leaves those out, as printCoefmat does)."""
    pv = [float(p) for p in pv]
    is0 = [p < eps for p in pv]
    r = [""] * len(pv)
    rest = [p for p, z in zip(pv, is0, strict=True) if not z]
    rr: list[str] = []
    if rest:
        expo = [math.floor(math.log10(p if p > 0 else 1e-50)) for p in rest]
        fixp = [x >= -3 or (x == -4 and digits > 1) for x in expo]
        rr = [""] * len(rest)
        for flag in (True, False):
            idx = [i for i, f in enumerate(fixp) if f == flag]
            if idx:
                for i, s in zip(idx, format_real([rest[i] for i in idx], digits), strict=True):
                    rr[i] = s
        it = iter(rr)
        r = [next(it) if not z else "" for z in is0]
    if any(is0):
        dg = max(1, digits - 2)
        if rest:
            nc = max(len(s) for s in rr)
            if dg > 1 and dg + 6 > nc:
                dg = max(1, nc - 7)
            sep = "" if (dg == 1 and nc <= 6) else " "
        else:
            sep = "" if dg == 1 else " "
        lt = "<" + sep + format_real([eps], dg)[0]
        r = [lt if z else s for s, z in zip(r, is0, strict=True)]
    return r


def signif_stars(p: float) -> str:
    """R: ``symnum(p, cutpoints = c(0, .001, .01, .05, .1, 1), symbols = c("***", "**", "*", ".", " "))``."""
    if math.isnan(p):
        return ""
    for cut, sym in ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."), (1.0, " ")):
        if p <= cut:
            return sym
    return " "


SIGNIF_LEGEND = ("Signif. codes:  0 \u2018***\u2019 0.001 \u2018**\u2019 0.01 \u2018*\u2019 0.05 "
                 "\u2018.\u2019 0.1 \u2018 \u2019 1")


def print_char_matrix(header: list[str], rows: list[list[str]], rownames: list[str]) -> list[str]:
    """R: ``print.default`` of a character matrix, ``quote = FALSE, right = TRUE``."""
    # no rows: R labels rows "[0,]" (width 4) as for a matrix without row names
    wr = max(len(r) for r in rownames) if rownames else 4
    widths = [max([len(h)] + [len(r[j]) for r in rows]) for j, h in enumerate(header)]
    lines = [" " * wr + "".join(" " + h.rjust(w) for h, w in zip(header, widths, strict=True))]
    for rn, r in zip(rownames, rows, strict=True):
        lines.append(rn.ljust(wr) + "".join(" " + c.rjust(w) for c, w in zip(r, widths, strict=True)))
    return lines


__all__ = ["format_real", "zapsmall", "format_pval", "signif_stars", "SIGNIF_LEGEND", "print_char_matrix"]
