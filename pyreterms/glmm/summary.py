"""Text of lme4's ``print(summary(glmer(...)))`` (``summary.merMod`` + ``print.summary.merMod``, lme4
1.1-31: ``methTitle``/``.prt.methTit``, ``.prt.family``, ``.prt.call``, ``.prt.aictab``, ``.prt.resids``,
``formatVC``, ``.prt.grps``, ``printCoefmat`` with z values and ``Pr(>|z|)``, the correlation of the
fixed effects, ``.prt.warn``'s convergence lines), with R's number formatting from
:mod:`pyreterms.lmm.inference.rformat`.

Standard errors are ``sqrt(diag(vcov(fit)))``: the finite-difference Hessian's (stage 2 ran) or
``unsc()``'s (nAGQ = 0), as ``vcov.merMod`` chooses.  Not printed: the "Subset:" call line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from pyreterms.lmm.inference.rformat import (
    SIGNIF_LEGEND,
    format_pval,
    format_real,
    print_char_matrix,
    signif_stars,
    zapsmall,
)
from pyreterms.lmm.summary import _abbreviate, _print_matrix  # R's abbreviate and print of a character matrix

WIDTH = 80  # getOption("width")


def method_title(nAGQ: int) -> str:
    """R: ``methTitle(dims)`` for a GLMM (nAGQ = 0 is titled as quadrature, as lme4 does)."""
    how = "(Laplace Approximation)" if nAGQ == 1 else f"(Adaptive Gauss-Hermite Quadrature, nAGQ = {nAGQ})"
    return f"Generalized linear mixed model fit by maximum likelihood {how}"


def strwrap(text: str, width: int, exdent: int = 0) -> list[str]:
    """R: ``strwrap(text, width, exdent)`` for one paragraph of words (lines shorter than ``width``)."""
    lines: list[str] = []
    cur = ""
    for word in text.split():
        if not cur:
            cur = (" " * exdent if lines else "") + word
        elif len(cur) + 1 + len(word) < width:
            cur += " " + word
        else:
            lines.append(cur)
            cur = " " * exdent + word
    return lines + ([cur] if cur else [])


def cat_fill(items: list[str], width: int = WIDTH) -> str:
    """R: ``cat(..., sep = "", fill = TRUE)``: a newline before an item that would pass ``width``."""
    out, w = "", 0
    for it in items:
        if w > 0 and w + len(it) > width:
            out += "\n"
            w = 0
        out += it
        w += len(it)
    return out + "\n"


def title_lines(nAGQ: int) -> str:
    """R: ``.prt.methTit(methTitle(dims), "glmerMod")``."""
    mtit, cls = method_title(nAGQ), "glmerMod"
    if len(mtit) + 5 + len(cls) > WIDTH:
        return cat_fill(strwrap(mtit, WIDTH - 2, exdent=2) + [" [", cls, "]"])
    return f"{mtit} ['{cls}']\n"


def _named_vector(names: list[str], values: list[str], gap: int = 1) -> list[str]:
    """R: ``print`` of a named vector (``printNamedVector``: one common width, right-justified, each entry
    followed by ``print.gap`` spaces, ``width %/% (w + gap)`` entries per line)."""
    w = max(len(x) for x in names + values)
    per = max(1, WIDTH // (w + gap))
    out: list[str] = []
    for i in range(0, len(names), per):
        out.append("".join(h.rjust(w) + " " * gap for h in names[i:i + per]))
        out.append("".join(v.rjust(w) + " " * gap for v in values[i:i + per]))
    return out


def format_varcorr(vcs: list[dict[str, Any]], sigma: float, use_sc: bool, digits: int = 4,
                   variance: bool = True) -> list[str]:
    """R: ``formatVC(VarCorr(fit), digits, comp = c("Variance", "Std.Dev."), useScale)`` printed
    (a "Residual" row only with a scale parameter; ``variance = False``: ``comp = "Std.Dev."``)."""
    sds = [list(v["stddev"]) for v in vcs] + ([[sigma]] if use_sc else [])
    flat = [x for s in sds for x in s]
    var_s, sd_s = format_real([x * x for x in flat], digits), format_real(flat, digits)
    groups: list[str] = []
    names: list[str] = []
    for v in vcs:
        groups += [v["name"]] + [""] * (len(v["cnms"]) - 1)
        names += list(v["cnms"])
    if use_sc:
        groups.append("Residual")
        names.append("")
    header = ["Groups", "Name", "Variance", "Std.Dev."] if variance else ["Groups", "Name", "Std.Dev."]
    rows = [[g, n, a, b] if variance else [g, n, b] for g, n, a, b in zip(groups, names, var_s, sd_s, strict=True)]
    maxlen = max(len(s) for s in sds)
    if maxlen > 1:
        dig = max(2, digits - 2)
        corr_rows: list[list[str]] = []
        for v in vcs:
            C = np.round(v["correlation"], dig)
            k = C.shape[0]
            cc = np.array(format_real(C.ravel(), 7, nsmall=dig)).reshape(k, k)
            for r in range(k):
                row = [str(cc[r, c]) if r > c else "" for c in range(k)] + [""] * (maxlen - k)
                corr_rows.append(row[: maxlen - 1])
        corr_rows += [[""] * (maxlen - 1)] * (len(rows) - len(corr_rows))
        header += ["Corr"] + [""] * (maxlen - 2)
        rows = [r + c for r, c in zip(rows, corr_rows, strict=True)]
    return _print_matrix(header, rows, [""] * len(rows))


def format_coefmat_z(est: np.ndarray, se: np.ndarray, names: list[str], use_sc: bool, digits: int = 4) -> list[str]:
    """R: ``printCoefmat(cbind(Estimate, Std. Error, z value, Pr(>|z|)), digits = 4)`` with significance
    stars and their legend (``dig.tst = 3``; ``eps.Pvalue = .Machine$double.eps``)."""
    dig_tst = max(1, min(5, digits - 1))
    cs = np.column_stack([est, se])
    acs = np.abs(cs[np.isfinite(cs) & (cs != 0)])
    digmin = 1 + (np.floor(np.log10([acs.min(), acs.max()])) if acs.size else np.zeros(2))
    rd = int(max(1, np.max(digits - digmin)))
    csf = np.array(format_real(np.round(cs, rd).ravel(), digits)).reshape(cs.shape)
    for i, j in zip(*np.nonzero((cs != 0) & np.isfinite(cs)), strict=True):  # printCoefmat's not.both.0
        if float(csf[i, j]) == 0:
            csf[i, j] = format_real([cs[i, j]], max(1, digits - 1))[0]
    z = est / se
    zs = format_real(np.round(z, dig_tst), digits)
    pv = 2 * ndtr(-np.abs(z))
    ok = ~np.isnan(pv)
    ps = ["NA"] * len(pv)
    for k, s in zip(np.flatnonzero(ok).tolist(), format_pval(pv[ok], dig_tst), strict=True):
        ps[k] = s
    stars = bool(ok.any()) and bool(np.any(pv[ok] < 0.1))
    header = ["Estimate", "Std. Error", f"{'t' if use_sc else 'z'} value", "Pr(>|z|)"]
    rows = [[str(csf[i, 0]), str(csf[i, 1]), zs[i], ps[i]] for i in range(len(names))]
    if stars:
        sym = [signif_stars(float(p)) for p in pv]
        w = max(len(s) for s in sym)
        header.append("")
        rows = [r + [s.ljust(w)] for r, s in zip(rows, sym, strict=True)]
    out = print_char_matrix(header, rows, names)
    if stars:
        out += ["---", SIGNIF_LEGEND]
    return out


def _call_lines(fit: Any, data_name: str | None, weights_name: str | None, offset_name: str | None,
                control_name: str | None = None) -> list[str]:
    """``.prt.methTit``, ``.prt.family`` and ``.prt.call`` (Formula, Data, Weights, Offset, Control)."""
    glf = fit.glf
    out = [title_lines(fit.nAGQ).rstrip("\n"), f" Family: {glf.family.family}  ( {glf.family.link} )",
           f"Formula: {glf.formula}"]
    for label, name in (("   Data:", data_name), ("Weights:", weights_name), (" Offset:", offset_name),
                        ("Control:", control_name)):
        if name:
            out.append(f"{label} {name}")
    return out


def format_print(fit: Any, digits: int = 4, data_name: str | None = None, weights_name: str | None = None,
                 offset_name: str | None = None) -> str:
    """The text of lme4's ``print(fit)`` (``print.merMod``): the title, family and call lines, the AIC
    table to 4 decimals, the random effects' standard deviations, the fixed effects
    (``print.gap = 2``) and, when there are any, the one-line convergence summary."""
    out = _call_lines(fit, data_name, weights_name, offset_name)
    vals = [round(v, 4) for v in (fit.AIC(), fit.BIC(), fit.logLik(), fit.fval)]
    out += _named_vector(["AIC", "BIC", "logLik", "deviance", "df.resid"],
                         format_real(vals + [float(fit.df_residual())], 7)[:4] + [str(fit.df_residual())])
    out.append("Random effects:")
    out += format_varcorr(fit.VarCorr(), fit.sigma(), fit.use_sc, digits, variance=False)
    grps = "; ".join(f"{g}, {f.nlevels}" for g, f in fit.glf.reTrms.flist)
    out.append(f"Number of obs: {fit.nobs()}, groups:  {grps}")
    if fit.beta.size:
        out.append("Fixed Effects:")
        out += _named_vector(list(fit.fixef_names), [x.strip() for x in format_real(fit.beta, digits)], gap=2)
    else:
        out.append("No fixed effect coefficients")
    if fit.conv_code > 0 or fit.conv_messages or fit.opt_warnings:  # .prt.warn(optinfo, summary = TRUE)
        ok = "(OK)" if fit.conv_code == 0 else ""
        out.append(f"optimizer ({fit.optimizer}) convergence code: {fit.conv_code} {ok} ; "
                   f"{len(fit.opt_warnings)} optimizer warnings; {len(fit.conv_messages)} lme4 warnings ")
    return "\n".join(out) + "\n"


def format_summary(fit: Any, digits: int = 4, data_name: str | None = None, weights_name: str | None = None,
                   offset_name: str | None = None, control_name: str | None = None) -> str:
    """The text of lme4's ``print(summary(fit))`` for a :class:`~pyreterms.glmm.fit.GlmerFit`
    (``data_name`` etc.: what R prints on the ``Data:``/``Weights:``/``Offset:``/``Control:`` lines, the
    call's deparsed arguments, e.g. ``control_name="glmerControl(calc.derivs = FALSE)"``)."""
    glf = fit.glf
    out = _call_lines(fit, data_name, weights_name, offset_name, control_name)
    out.append("")
    vals = [round(v, 1) for v in (fit.AIC(), fit.BIC(), fit.logLik(), fit.fval)]
    out += _named_vector(["AIC", "BIC", "logLik", "deviance", "df.resid"],
                         format_real(vals, 7) + [str(fit.df_residual())])
    out.append("")
    r = fit.residuals(type="pearson", scaled=True).dropna().to_numpy()
    q = zapsmall(np.quantile(r, [0, 0.25, 0.5, 0.75, 1]), digits + 1)
    out += ["Scaled residuals: "] + _named_vector(["Min", "1Q", "Median", "3Q", "Max"], format_real(q, digits)) + [""]
    out.append("Random effects:")
    out += format_varcorr(fit.VarCorr(), fit.sigma(), fit.use_sc, digits)
    grps = "; ".join(f"{g}, {f.nlevels}" for g, f in glf.reTrms.flist)
    out.append(f"Number of obs: {fit.nobs()}, groups:  {grps}")
    p = fit.beta.size
    if p > 0:
        V = fit.vcov().to_numpy()
        se = np.sqrt(np.diag(V))
        names = list(fit.fixef_names)
        out += ["", "Fixed effects:"] + format_coefmat_z(fit.beta, se, names, fit.use_sc, digits)
        if 1 < p <= 12:
            C = V / np.outer(se, se)
            cc = np.array(format_real(np.round(C, 3).ravel(), 7, nsmall=3)).reshape(p, p)
            rows = [[str(cc[i, j]) if i > j else "" for j in range(p - 1)] for i in range(1, p)]
            out += ["", "Correlation of Fixed Effects:"]
            out += _print_matrix([_abbreviate(n, 6) for n in names[:-1]], rows, [_abbreviate(n, 11) for n in names[1:]])
    if fit.conv_code > 0 or fit.conv_messages or fit.opt_warnings:  # .prt.warn(optinfo, summary = FALSE)
        ok = "(OK)" if fit.conv_code == 0 else ""
        out += [f"optimizer ({fit.optimizer}) convergence code: {fit.conv_code} {ok}", *fit.conv_messages,
                *fit.opt_warnings, ""]
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class GlmerSummary:
    """R: ``summary(fit)`` of a ``glmerMod``: the coefficient table (``Estimate``, ``Std. Error``,
    ``z value`` (``t value`` with a scale parameter), ``Pr(>|z|)``), ``AICtab`` and the printed text
    (``str(summary)``)."""

    coefficients: pd.DataFrame
    AICtab: dict[str, float]
    text: str

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def summarize(fit: Any, data_name: str | None = None, weights_name: str | None = None,
              offset_name: str | None = None, control_name: str | None = None) -> GlmerSummary:
    """R: ``summary(fit)`` (see :class:`GlmerSummary`)."""
    V = fit.vcov().to_numpy()
    se = np.sqrt(np.diag(V))
    z = fit.beta / se
    zname = f"{'t' if fit.use_sc else 'z'} value"
    coefs = pd.DataFrame({"Estimate": fit.beta, "Std. Error": se, zname: z, "Pr(>|z|)": 2 * ndtr(-np.abs(z))},
                         index=list(fit.fixef_names))
    aictab = {"AIC": fit.AIC(), "BIC": fit.BIC(), "logLik": fit.logLik(), "deviance": fit.fval,
              "df.resid": float(fit.df_residual())}
    return GlmerSummary(coefs, aictab, format_summary(fit, data_name=data_name, weights_name=weights_name,
                                                      offset_name=offset_name, control_name=control_name))
