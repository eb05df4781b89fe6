"""Text of lme4's ``print(summary(lmer(...)))`` (``print.summary.merMod``, ``.prt.*``,
``formatVC``, ``printCoefmat``), with R's number formatting (``formatReal``) approximated closely.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from pyreterms.lmm.inference.fitview import MerModView


class FitView(MerModView, Protocol):
    """What the summary reads of a fit (:class:`pyreterms.lmm.fit.LmerFit`; R: a ``merMod``)."""

    @property
    def crit(self) -> float: ...

    def residuals(self, type: str = "response", scaled: bool = False) -> pd.Series: ...

    def deviance(self, REML: bool | None = None) -> float: ...

    def VarCorr(self) -> list[dict[str, Any]]: ...


def _sig_needed(x: float, digits: int) -> tuple[int, int]:
    """(significant digits needed <= digits, decimal exponent) of x shown with ``digits`` digits."""
    if x == 0 or not math.isfinite(x):
        return 1, 0
    s = f"{abs(x):.{digits - 1}e}"
    mant, exp = s.split("e")
    mant = mant.replace(".", "").rstrip("0")
    return max(1, len(mant)), int(exp)


def format_real(xs: Sequence[float] | np.ndarray, digits: int = 7, nsmall: int = 0) -> list[str]:
    """R: ``format(x, digits = digits, nsmall = nsmall)`` for a numeric vector (fixed notation):
    common number of decimals so the element needing most shows ``digits`` significant digits."""
    xs = [float(v) for v in xs]
    rgt = 0
    for v in xs:
        sig, e = _sig_needed(v, digits)
        rgt = max(rgt, sig - 1 - e)
    rgt = max(rgt, nsmall)
    out = ["NaN" if math.isnan(v) else ("Inf" if v == math.inf else "-Inf" if v == -math.inf
                                       else f"{v:.{rgt}f}") for v in xs]
    w = max((len(s) for s in out), default=0)
    return [s.rjust(w) for s in out]


def zapsmall(x: np.ndarray, digits: int) -> np.ndarray:
    """R 4.2: ``zapsmall(x, digits)`` = ``round(x, max(0, digits - log10(max(abs(x)))))``, where
    ``round`` takes the nearest integer number of digits (``fround``: ``floor(digits + 0.5)``)."""
    x = np.asarray(x, dtype=float)
    mx = np.max(np.abs(x)) if x.size else 0.0
    return np.round(x, int(math.floor(max(0.0, digits - math.log10(mx)) + 0.5)) if mx > 0 else digits)


def _print_matrix(header: list[str], rows: list[list[str]], rownames: list[str],
                  right: bool = False) -> list[str]:
    """R's ``print`` of a character matrix with ``quote = FALSE``."""
    wr = max([len(r) for r in rownames] + [0])
    cols: list[Sequence[str]] = list(zip(*rows, strict=False)) if rows else [[] for _ in header]
    widths = [max([len(h)] + [len(c) for c in col]) for h, col in zip(header, cols, strict=False)]

    def just(s: str, w: int) -> str:
        return s.rjust(w) if right else s.ljust(w)

    lines = [" " * wr + "".join(" " + just(h, w) for h, w in zip(header, widths, strict=False))]
    for rn, r in zip(rownames, rows, strict=False):
        lines.append(rn.ljust(wr) + "".join(" " + just(c, w) for c, w in zip(r, widths, strict=False)))
    return lines


def _abbreviate(s: str, minlength: int) -> str:
    """R: ``abbreviate(s, minlength)`` (drop lower-case vowels from the end, then lower case)."""
    if len(s) <= minlength:
        return s
    chars = list(s)
    for cls in ("aeiou", "abcdefghijklmnopqrstuvwxyz"):
        i = len(chars) - 1
        while len(chars) > minlength and i > 0:
            if chars[i] in cls and chars[i - 1] != " ":
                del chars[i]
            i -= 1
    return "".join(chars[:max(minlength, 0)] if len(chars) > minlength else chars)


def format_varcorr(fit: FitView, digits: int = 4) -> list[str]:
    """R: ``formatVC(VarCorr(fit), digits, comp = c("Variance", "Std.Dev."))`` printed."""
    vcs = fit.VarCorr()
    sds = [list(v["stddev"]) for v in vcs] + [[fit.sigma()]]
    flat = [x for s in sds for x in s]
    var_s, sd_s = format_real([x * x for x in flat], digits), format_real(flat, digits)
    groups, names = [], []
    for v in vcs:
        groups += [v["name"]] + [""] * (len(v["cnms"]) - 1)
        names += list(v["cnms"])
    groups.append("Residual")
    names.append("")
    header = ["Groups", "Name", "Variance", "Std.Dev."]
    rows = [[g, n, a, b] for g, n, a, b in zip(groups, names, var_s, sd_s, strict=False)]
    maxlen = max(len(s) for s in sds)
    if maxlen > 1:
        corr_rows = []
        for v in vcs:
            C = np.round(v["correlation"], max(2, digits - 2))
            k = C.shape[0]
            cc = np.array(format_real(C.ravel(), 7, nsmall=max(2, digits - 2))).reshape(k, k)
            for r in range(k):
                row = [cc[r, c] if r > c else "" for c in range(k)] + [""] * (maxlen - k)
                corr_rows.append(row[: maxlen - 1])
        corr_rows += [[""] * (maxlen - 1)] * (len(rows) - len(corr_rows))
        header += ["Corr"] + [""] * (maxlen - 2)
        rows = [r + c for r, c in zip(rows, corr_rows, strict=False)]
    return _print_matrix(header, rows, [""] * len(rows))


def format_coefmat(est: np.ndarray, se: np.ndarray, names: list[str], digits: int = 4) -> list[str]:
    """R: ``printCoefmat(cbind(Estimate, Std. Error, t value), digits = 4)``."""
    cs = np.column_stack([est, se])
    acs = np.abs(cs[np.isfinite(cs) & (cs != 0)])
    digmin = 1 + (np.floor(np.log10([acs.min(), acs.max()])) if acs.size else np.zeros(2))
    rd = int(max(1, np.max(digits - digmin)))
    csf: np.ndarray = np.array(format_real(np.round(cs, rd).ravel(), digits)).reshape(cs.shape)
    tv = format_real(np.round(est / se, max(1, min(5, digits - 1))), digits)
    rows = [[csf[i, 0], csf[i, 1], tv[i]] for i in range(len(names))]
    return _print_matrix(["Estimate", "Std. Error", "t value"], rows, names, right=True)


def format_summary(fit: FitView, digits: int = 4, data_name: str | None = None, weights_name: str | None = None,
                   offset_name: str | None = None) -> str:
    """The lines of lme4's ``print(summary(fit))`` (``.prt.call``: ``Data:``, ``Weights:``, ``Offset:``
    lines when the call names them)."""
    out: list[str] = []
    reml = fit.is_REML
    out.append(f"Linear mixed model fit by {'REML' if reml else 'maximum likelihood '} ['lmerMod']")
    out.append(f"Formula: {fit.lf.formula}")
    if data_name:
        out.append(f"   Data: {data_name}")
    if weights_name:
        out.append(f"Weights: {weights_name}")
    if offset_name:
        out.append(f" Offset: {offset_name}")
    out.append("")
    if reml:
        out.append(f"REML criterion at convergence: {round(fit.crit, 1):.15g}")
    else:
        vals = [round(v, 1) for v in (fit.AIC(), fit.BIC(), fit.logLik(), fit.deviance())]
        strs = format_real(vals, 7) + [str(fit.problem.n - fit.npar())]
        hdr = ["AIC", "BIC", "logLik", "deviance", "df.resid"]
        w = [max(len(x) for x in hdr + strs)] * len(hdr)
        out.append(" ".join(h.rjust(x) for h, x in zip(hdr, w, strict=False)) + " ")
        out.append(" ".join(s.rjust(x) for s, x in zip(strs, w, strict=False)) + " ")
    out.append("")
    r = fit.residuals(type="pearson", scaled=True).dropna().to_numpy()  # R: quantile(, na.rm = TRUE)
    q = zapsmall(np.quantile(r, [0, 0.25, 0.5, 0.75, 1]), digits + 1)
    qs = format_real(q, digits)
    hdr = ["Min", "1Q", "Median", "3Q", "Max"]
    w = [max(len(x) for x in hdr + qs)] * len(hdr)
    out += ["Scaled residuals: ", " ".join(h.rjust(x) for h, x in zip(hdr, w, strict=False)) + " ",
            " ".join(s.rjust(x) for s, x in zip(qs, w, strict=False)) + " ", ""]
    out.append("Random effects:")
    out += format_varcorr(fit, digits)
    grps = "; ".join(f"{g}, {f.nlevels}" for g, f in fit.lf.reTrms.flist)
    out.append(f"Number of obs: {fit.problem.n}, groups:  {grps}")
    p = fit.problem.p
    if p > 0:
        V = fit.vcov().values
        se = np.sqrt(np.diag(V))
        names = list(fit.lf.X.colnames)
        out += ["", "Fixed effects:"] + format_coefmat(fit.state.beta, se, names, digits)
        if 1 < p <= 12:
            C = V / np.outer(se, se)
            cc = np.array(format_real(np.round(C, 3).ravel(), 7, nsmall=3)).reshape(p, p)
            rows = [[cc[i, j] if i > j else "" for j in range(p - 1)] for i in range(1, p)]
            out += ["", "Correlation of Fixed Effects:"]
            out += _print_matrix([_abbreviate(n, 6) for n in names[:-1]], rows,
                                 [_abbreviate(n, 11) for n in names[1:]])
    msgs = [m for m in fit.opt.conv_lme4.messages]
    if msgs:
        out.append("optimizer (nloptwrap) convergence code: 0 (OK)")
        out += msgs
    return "\n".join(out) + "\n"
