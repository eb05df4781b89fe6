"""R: ``lme4:::anova.merMod`` (lme4 1.1-31): the likelihood-ratio table of several fits (models ordered
by their number of parameters, REML fits refitted by ML when ``refit = TRUE``) or, for one fit, the
sequential F table of the fixed effects (``Sum Sq``, ``Mean Sq``, ``F value`` per fixed term).

The result is an :class:`AnovaTable` (a pandas DataFrame with lme4's row and column names) whose
``str()`` is R's ``print`` of it (``stats:::print.anova`` -> ``printCoefmat``).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd

from pyreterms.design.model import FixedX, ModelFrame
from pyreterms.errors import LmeMessage, LmeWarning, PyretermsError
from pyreterms.formula.bars import fixed_formula
from pyreterms.formula.parser import Call, parse
from pyreterms.formula.terms import make_terms
from pyreterms.lmm.inference.fitview import InferenceFit
from pyreterms.lmm.inference.refit import refit_ml
from pyreterms.lmm.inference.rformat import (
    SIGNIF_LEGEND,
    format_pval,
    format_real,
    print_char_matrix,
    signif_stars,
    zapsmall,
)


class AnovaFormula(Protocol):
    """What ``anova`` reads of a fit's formula stage (``lFormula`` / ``glFormula``)."""

    @property
    def formula(self) -> str: ...

    @property
    def fr(self) -> ModelFrame: ...

    @property
    def X(self) -> FixedX: ...  # noqa: N802 - lme4's name


class AnovaFit(Protocol):
    """What ``anova`` reads of a fit: an ``lmerMod`` (:class:`pyreterms.lmm.fit.LmerFit`) or a
    ``glmerMod`` (:class:`pyreterms.glmm.fit.GlmerFit`, never REML)."""

    @property
    def lf(self) -> AnovaFormula: ...

    @property
    def is_REML(self) -> bool: ...

    def npar(self) -> int: ...

    def logLik(self) -> float: ...  # noqa: N802 - R's name

    def AIC(self) -> float: ...  # noqa: N802 - R's name

    def BIC(self) -> float: ...  # noqa: N802 - R's name

    def sigma(self) -> float: ...

    def getME(self, name: str) -> Any: ...  # noqa: N802 - R's name


class AnovaError(PyretermsError):
    """``anova`` refused its input (lme4's message where lme4 stops)."""


class AnovaTable(pd.DataFrame):  # type: ignore[misc]  # pandas-stubs absent: DataFrame is Any
    """R: an ``anova`` data frame; ``heading`` is R's ``attr(, "heading")``; ``str()`` prints as R."""

    _metadata = ["heading"]
    heading: tuple[str, ...]

    @property
    def _constructor(self) -> Any:
        return AnovaTable

    def __str__(self) -> str:
        return format_anova(pd.DataFrame(self), tuple(getattr(self, "heading", ())))

    def __repr__(self) -> str:
        return self.__str__()


def _table(df: pd.DataFrame, heading: tuple[str, ...]) -> AnovaTable:
    t = AnovaTable(df)
    t.heading = heading
    return t


def anova(*fits: AnovaFit, refit: bool = True, model_names: Sequence[str] | None = None,
          data_name: str | None = None) -> AnovaTable:
    """R: ``anova(fit1, fit2, ..., refit = TRUE, model.names = NULL)``.

    Python has no call to deparse, so the models are named by ``model_names`` (default ``MODEL1``,
    ``MODEL2``, ... in the order given, lme4's own fallback names); ``data_name`` fills the heading's
    ``Data:`` line (default ``data``).  lme4's check that all models use the same data *object* is
    replaced by the same number of observations and identical model-frame row names."""
    if not fits:
        raise AnovaError("anova needs at least one fitted model")
    if len(fits) == 1:
        if model_names is not None:
            raise AnovaError("model names vector and model list have different lengths")
        return _anova_one(fits[0])
    if len({f.lf.fr.n for f in fits}) > 1:
        raise AnovaError("models were not all fitted to the same size of dataset")
    names = [f"MODEL{i + 1}" for i in range(len(fits))] if model_names is None else [str(m) for m in model_names]
    if model_names is not None and (len(set(names)) < len(names) or max(len(m) for m in names) > 200
                                    or any(m[:4] == "new(" for m in names)):
        warnings.warn("failed to find model names, assigning generic names", LmeWarning, stacklevel=2)
        names = [f"MODEL{i + 1}" for i in range(len(fits))]
    if len(names) != len(fits):
        raise AnovaError("model names vector and model list have different lengths")
    if len({f.lf.fr.rownames for f in fits}) > 1:
        raise AnovaError("all models must be fit to the same data object")
    mods = list(fits)
    reml = [f.is_REML for f in mods]
    if refit:
        if any(reml):
            warnings.warn("refitting model(s) with ML (instead of REML)", LmeMessage, stacklevel=2)
        mods = [cast(AnovaFit, refit_ml(cast(InferenceFit, f))) if r else f for f, r in zip(mods, reml, strict=True)]
    elif any(reml) and not all(reml):
        warnings.warn("some models fit with REML = TRUE, some not", LmeWarning, stacklevel=2)
    npar = np.array([f.npar() for f in mods], dtype=float)
    ii = np.argsort(npar, kind="stable")  # R's order() is stable
    mods = [mods[i] for i in ii]
    names = [names[i] for i in ii]
    npar = npar[ii]
    llk = np.array([f.logLik() for f in mods])
    chisq = 2 * np.maximum(0, np.concatenate([[np.nan], np.diff(llk)]))
    dfc = np.concatenate([[np.nan], np.diff(npar)])
    with np.errstate(invalid="ignore"):
        from scipy.stats import chi2  # here, not at import: scipy.stats costs ~0.4 s of `import pyreterms`

        pv = np.where(dfc == 0, np.nan, chi2.sf(chisq, dfc))
    df = pd.DataFrame({"npar": npar, "AIC": [f.AIC() for f in mods], "BIC": [f.BIC() for f in mods],
                       "logLik": llk, "deviance": -2 * llk, "Chisq": chisq, "Df": dfc, "Pr(>Chisq)": pv},
                      index=names)
    heading = (f"Data: {data_name or 'data'}", "Models:") + tuple(
        f"{nm}: {f.lf.formula}" for nm, f in zip(names, mods, strict=True))
    return _table(df, heading)


def fixed_term_labels(formula: str) -> tuple[str, ...]:
    """R: ``attr(terms(fit), "term.labels")`` (the fixed part: ``terms.merMod(fixed.only = TRUE)``)."""
    tree = parse(formula)
    assert isinstance(tree, Call)
    return make_terms(fixed_formula(tree)).term_labels


def _anova_one(fit: AnovaFit) -> AnovaTable:
    """``anova(fit)``: ``ss = (RX beta)^2`` (``object@pp$RX() %*% object@beta``) summed per term of
    ``attr(X, "assign")``."""
    asgn = np.asarray(fit.lf.X.assign, dtype=int)
    names = list(fit.lf.X.colnames)
    ss_col = (np.asarray(fit.getME("RX"), dtype=np.float64) @ np.asarray(fit.getME("beta"), dtype=np.float64)) ** 2
    labels = fixed_term_labels(fit.lf.formula)
    uniq = list(dict.fromkeys(asgn.tolist()))  # unique(asgn), in order of appearance
    nmeffects = [labels[a - 1] for a in uniq if a > 0]
    if "(Intercept)" in names:
        nmeffects = ["(Intercept)"] + nmeffects
    groups = sorted(set(asgn.tolist()))  # split() orders by the factor levels (sorted)
    ss = np.array([ss_col[asgn == g].sum() for g in groups])
    dfs = np.array([int(np.sum(asgn == g)) for g in groups])  # R: lengths(), an integer column
    if len(ss) != len(nmeffects):
        raise AnovaError("length(ss) == length(nmeffects) is not TRUE")
    ms = ss / dfs
    fval = ms / fit.sigma() ** 2
    df = pd.DataFrame({"npar": dfs, "Sum Sq": ss, "Mean Sq": ms, "F value": fval}, index=nmeffects)
    if "(Intercept)" in nmeffects:
        df = df.drop(index="(Intercept)")
    return _table(df, ("Analysis of Variance Table",))


def _pvalues(cf: list[list[str]], header: list[str], xm: np.ndarray, ina: np.ndarray, dig_tst: int) -> bool:
    """printCoefmat's P-value column (``format.pval``) and significance stars; True when starred."""
    ok = ~ina[:, -1]
    pvals = xm[:, -1]
    if not ok.any():
        return False
    for k, s in zip(np.flatnonzero(ok).tolist(), format_pval(pvals[ok], dig_tst), strict=True):
        cf[k][-1] = s
    if not np.any(pvals[ok] < 0.1):
        return False
    sym = [signif_stars(p) for p in pvals]
    w = max(len(s) for s in sym)
    for r in range(len(cf)):
        cf[r].append(sym[r].ljust(w))
    header.append("")
    return True


def format_anova(x: pd.DataFrame, heading: tuple[str, ...], digits: int = 5) -> str:
    """R: ``stats:::print.anova(x)`` (``digits = max(getOption("digits") - 2, 3)`` = 5) via ``printCoefmat``
    with ``cs.ind = NULL``, ``na.print = ""`` and significance stars."""
    cn = list(x.columns)
    nc = len(cn)
    has_p = cn[-1].startswith(("P(", "Pr("))
    zap = list(range(nc - 1 if has_p else nc))
    tst = [i for i, c in enumerate(cn) if c[1:7] == " value"]
    tst += [i for i, c in enumerate(cn) if c in ("F", "Cp", "Chisq")]
    zap = [i for i in zap if i not in tst and not cn[i].endswith("Df")]
    xm = x.to_numpy(dtype=float).copy()
    ina = np.isnan(xm)
    cf = [["" for _ in range(nc)] for _ in range(len(x))]
    for i in zap:
        xm[:, i] = zapsmall(xm[:, i], digits)
    dig_tst = max(1, min(5, digits - 1))
    for j in range(nc):
        if has_p and j == nc - 1:
            continue
        col = np.round(xm[:, j], dig_tst) if j in tst else xm[:, j]
        for r, s in enumerate(format_real(col, digits)):
            cf[r][j] = s
    # printCoefmat: entries whose rounding turned them into zero (or not) are reformatted
    for j in range(nc - (1 if has_p else 0)):
        if j in tst:
            continue
        for r in range(len(x)):
            if not ina[r, j] and (xm[r, j] == 0) != (float(cf[r][j]) == 0):
                cf[r][j] = format_real([xm[r, j]], max(1, digits - 1))[0]
    for r in range(len(x)):
        for j in range(nc):
            if ina[r, j]:
                cf[r][j] = ""
    lines = list(heading)
    header = cn[:]
    stars = _pvalues(cf, header, xm, ina, dig_tst) if has_p else False
    lines += print_char_matrix(header, cf, [str(i) for i in x.index])
    if stars:
        lines += ["---", SIGNIF_LEGEND]
    return "\n".join(lines) + "\n"


__all__ = ["anova", "AnovaTable", "AnovaError", "format_anova", "fixed_term_labels"]
