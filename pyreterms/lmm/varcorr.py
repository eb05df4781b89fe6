"""``VarCorr(fit)`` and ``as.data.frame(VarCorr(fit))`` (R: lme4's ``VarCorr.merMod``, ``mkVarCorr`` and
``as.data.frame.VarCorr.merMod``), one definition for the LMM and GLMM fits: each term's covariance
``sc^2 T T'`` (``T`` its block of ``Lambda``), standard deviations and correlations."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def varcorr(names: Sequence[str], cnms: Sequence[tuple[str, Sequence[str]]],
            tlist: Sequence[tuple[str, np.ndarray]], sc: float) -> list[dict[str, Any]]:
    """Per term ``{"name", "group", "cnms", "cov", "stddev", "correlation"}`` (R: ``mkVarCorr(sc, cnms,
    nc, theta, nms)``); a correlation with a zero standard deviation is NaN off the diagonal, as in R."""
    out = []
    for nm, (g, cn), (_, T) in zip(names, cnms, tlist, strict=True):
        L = sc * T
        V = L @ L.T
        sd = np.sqrt(np.diag(V))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = V / np.outer(sd, sd)
        np.fill_diagonal(corr, 1.0)
        out.append({"name": nm, "group": g, "cnms": cn, "cov": V, "stddev": sd, "correlation": corr})
    return out


def varcorr_df(vcs: list[dict[str, Any]], sigma: float | None, order: str = "cov.last") -> pd.DataFrame:
    """R: ``as.data.frame(VarCorr(fit), order = )``: grp, var1, var2, vcov, sdcor; ``"cov.last"`` puts each
    term's covariances after its variances, ``"lower.tri"`` reads the lower triangle column by column.
    A ``Residual`` row when ``sigma`` is given (a model with a scale parameter)."""
    rows: list[tuple[Any, ...]] = []
    for vc in vcs:
        cn, V, C, sd = vc["cnms"], vc["cov"], vc["correlation"], vc["stddev"]
        diag = [(vc["name"], cn[i], None, V[i, i], sd[i]) for i in range(len(cn))]
        off = [(vc["name"], cn[c], cn[r], V[r, c], C[r, c]) for c in range(len(cn)) for r in range(c + 1, len(cn))]
        if order == "cov.last":
            rows += diag + off
        else:
            rows += [diag[c] if r == c else (vc["name"], cn[c], cn[r], V[r, c], C[r, c])
                     for c in range(len(cn)) for r in range(c, len(cn))]
    if sigma is not None:
        rows.append(("Residual", None, None, sigma ** 2, sigma))
    return pd.DataFrame(rows, columns=["grp", "var1", "var2", "vcov", "sdcor"])
