"""R: ``summary(fit)`` as a structured object (``lme4:::summary.merMod``), whose ``str()`` is lme4's
``print(summary(fit))`` (laid out by :func:`pyreterms.lmm.summary.format_summary`), and the short
``repr`` of a fit.

R expressions producing the fields (later parity components)::

    coef(summary(fit))                         # coefficients: Estimate, Std. Error, t value
    as.data.frame(summary(fit)$varcor)         # varcor
    cov2cor(vcov(fit))                         # correlation (of the fixed effects)
    quantile(residuals(fit, "pearson", scaled = TRUE))   # residuals (Min, 1Q, Median, 3Q, Max)
    ngrps(fit); sigma(fit); logLik(fit); summary(fit)$AICtab
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pyreterms.lmm.summary import format_summary
from pyreterms.verbs.accessors import ngrps, residuals
from pyreterms.verbs.view import FitLike


@dataclass(frozen=True)
class LmerSummary:
    """R: a ``summary.merMod`` object; ``str()`` gives lme4's printed summary."""

    methTitle: str
    formula: str
    data_name: str
    REML: bool
    coefficients: pd.DataFrame
    varcor: pd.DataFrame
    correlation: pd.DataFrame
    residuals: pd.Series
    ngrps: pd.Series
    nobs: int
    sigma: float
    logLik: float
    AICtab: pd.Series
    text: str

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def summarize(fit: FitLike, data_name: str = "data", weights_name: str | None = None,
              offset_name: str | None = None) -> LmerSummary:
    """R: ``summary(fit)``; ``data_name`` is what R prints on the ``Data:`` line (the deparsed
    ``data`` argument of the call; pyreterms does not see the caller's variable name), likewise
    ``weights_name``/``offset_name`` for the ``Weights:``/``Offset:`` lines (default: "weights" /
    "offset" when the fit has prior weights / an ``offset=`` argument)."""
    frame_names = fit.lf.fr.names
    if weights_name is None and "(weights)" in frame_names:
        weights_name = "weights"
    if offset_name is None and "(offset)" in frame_names:
        offset_name = "offset"
    V = fit.vcov()
    se = np.sqrt(np.diag(V.to_numpy()))
    names = list(fit.lf.X.colnames)
    beta = fit.state.beta
    with np.errstate(all="ignore"):
        coefs = pd.DataFrame({"Estimate": beta, "Std. Error": se, "t value": beta / se}, index=names)
        corr = pd.DataFrame(V.to_numpy() / np.outer(se, se), index=names, columns=names)
    r = residuals(fit, type="pearson", scaled=True).dropna()
    q = pd.Series(np.quantile(r.to_numpy(), [0, 0.25, 0.5, 0.75, 1]), index=["Min", "1Q", "Median", "3Q", "Max"])
    if fit.is_REML:
        aic = pd.Series([fit.crit], index=["REML"])
    else:
        aic = pd.Series([fit.AIC(), fit.BIC(), fit.logLik(), fit.deviance(), float(fit.problem.n - fit.npar())],
                        index=["AIC", "BIC", "logLik", "deviance", "df.resid"])
    title = "Linear mixed model fit by " + ("REML" if fit.is_REML else "maximum likelihood ")
    return LmerSummary(methTitle=title, formula=fit.lf.formula, data_name=data_name, REML=fit.is_REML,
                       coefficients=coefs, varcor=fit.VarCorr_df(), correlation=corr, residuals=q,
                       ngrps=ngrps(fit), nobs=fit.problem.n, sigma=fit.sigma(), logLik=fit.logLik(), AICtab=aic,
                       text=format_summary(fit, data_name=data_name, weights_name=weights_name,
                                           offset_name=offset_name))


def short_repr(fit: FitLike) -> str:
    """A one-line description: formula, observations, groups, criterion (R's ``print(fit)`` in short)."""
    grps = ", ".join(f"{g} {f.nlevels}" for g, f in fit.lf.reTrms.flist)
    crit = f"REML criterion {fit.crit:.4f}" if fit.is_REML else f"deviance {fit.crit:.4f}"
    return f"<LmerFit {fit.lf.formula}; n = {fit.problem.n}; groups: {grps}; {crit}>"


def html_repr(fit: FitLike) -> str:
    """The notebook view: the short description and the fixed effects with standard errors."""
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{v:.6g}</td><td>{s:.4g}</td></tr>"
                   for k, v, s in zip(fit.lf.X.colnames, fit.state.beta,
                                      np.sqrt(np.diag(fit.vcov().to_numpy())), strict=True))
    return (f"<div><p><code>{html.escape(short_repr(fit))}</code></p><table><tr><th></th><th>Estimate</th>"
            f"<th>Std. Error</th></tr>{rows}</table></div>")
