"""lme4's accessors of a fitted ``lmerMod`` (lme4 1.1-31, ``methods(class = "merMod")``), as pandas
objects indexed like the data rows.

R expressions producing each value (later parity components):

- ``fitted(fit)``, ``residuals(fit, type, scaled)``: named by ``rownames(model.frame(fit))``, padded
  with NA by ``napredict``/``naresid`` under ``na.action = na.exclude``
- ``nobs(fit)``, ``ngrps(fit)``, ``df.residual(fit)``, ``weights(fit)``, ``formula(fit)``,
  ``model.frame(fit)``, ``model.matrix(fit, type = "fixed" | "random")``, ``terms(fit)``
  (here: the fixed-effects term labels, ``attr(terms(fit, fixed.only = TRUE), "term.labels")``)
- ``hatvalues(fit)`` (``lme4:::hatvalues.merMod``), ``cooks.distance(fit)``
  (``lme4:::cooks.distance.merMod``)
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import solve_triangular
from scipy.sparse.linalg import spsolve_triangular

from pyreterms.design.model import ModelFrame
from pyreterms.errors import DataError
from pyreterms.formula.bars import fixed_formula
from pyreterms.formula.parser import deparse, parse
from pyreterms.formula.terms import make_terms
from pyreterms.formula.values import Character, Factor, Logical, NumMatrix
from pyreterms.verbs.view import FitLike


def row_order(fr: ModelFrame) -> list[str]:
    """The data's row names in data order, kept and dropped rows together (R's ``napredict`` puts the
    NA rows back at their positions).  The frame keeps the two sets apart; their positions are taken
    from integer row names (R's automatic ``1..n``, a pandas integer index), which every data set
    with an ordered integer index satisfies; other names put the dropped rows last."""
    names = list(fr.rownames) + list(fr.dropped_rows)
    try:
        return sorted(names, key=int)
    except ValueError:
        return names


def napredict(fr: ModelFrame, values: np.ndarray) -> pd.Series:
    """R: ``napredict(attr(fr, "na.action"), x)`` (also ``naresid``): a Series named by the frame's
    row names; under ``na.exclude`` the dropped rows come back as NaN."""
    s = pd.Series(np.asarray(values, dtype=np.float64), index=list(fr.rownames), dtype=float)
    if fr.na_action == "exclude" and fr.dropped_rows:
        return s.reindex(row_order(fr))
    return s


def fitted(fit: FitLike) -> pd.Series:
    """R: ``fitted(fit)`` (``lme4:::fitted.merMod``): ``mu`` (offset included), named, NA-padded."""
    return napredict(fit.lf.fr, fit.state.mu)


def residuals(fit: FitLike, type: str = "response", scaled: bool = False) -> pd.Series:  # noqa: A002 (R's name)
    """R: ``residuals(fit, type, scaled)`` (``lme4:::residuals.merMod``, ``residuals.lmResp``):
    "response"/"working" y - mu; "pearson"/"deviance" ``wtres`` = sqrt(prior weights) (y - mu)."""
    if fit.lf.y is None:
        raise DataError("the fit has no numeric response")
    r = fit.lf.y - fit.state.mu
    if type in ("pearson", "deviance"):
        r = r * np.sqrt(fit.lf.weights)
    elif type not in ("response", "working"):
        raise DataError(f"residuals: type must be one of 'working', 'response', 'deviance', 'pearson' (not {type!r})")
    if scaled:
        r = r / fit.sigma()
    return napredict(fit.lf.fr, r)


def nobs(fit: FitLike) -> int:
    """R: ``nobs(fit)`` = ``nrow(fit@frame)`` (rows after NA removal)."""
    return fit.lf.fr.n


def ngrps(fit: FitLike) -> pd.Series:
    """R: ``ngrps(fit)``: levels per grouping factor, named by ``names(flist)``."""
    fl = fit.lf.reTrms.flist
    return pd.Series([f.nlevels for _, f in fl], index=[g for g, _ in fl], dtype=np.int64)


def df_residual(fit: FitLike) -> int:
    """R: ``df.residual(fit)`` = ``nobs(fit) - npar.merMod(fit)`` (p + length(theta) + 1)."""
    return nobs(fit) - fit.npar()


def weights(fit: FitLike) -> np.ndarray:
    """R: ``weights(fit)`` (type = "prior"; "working" exists only for GLMMs): the prior weights."""
    return np.asarray(fit.lf.weights, dtype=np.float64)


def formula(fit: FitLike, fixed_only: bool = False) -> str:
    """R: ``formula(fit)`` (deparsed; ``||`` expanded as lme4 stores it) or ``formula(fit, fixed.only =
    TRUE)``."""
    if not fixed_only:
        return fit.lf.formula
    return deparse(fixed_formula(parse(fit.lf.formula)))  # type: ignore[arg-type]


def terms(fit: FitLike) -> tuple[str, ...]:
    """R: ``attr(terms(fit), "term.labels")`` of the fixed part (``terms.merMod`` with fixed.only = TRUE,
    its default)."""
    return make_terms(fixed_formula(parse(fit.lf.formula))).term_labels  # type: ignore[arg-type]


def model_frame(fit: FitLike) -> pd.DataFrame:
    """R: ``model.frame(fit)``: one column per frame variable (factors as pandas Categoricals, matrix
    variables as ``name.1``, ``name.2``, ...), rows named by the data's row names."""
    fr = fit.lf.fr
    cols: dict[str, object] = {}
    for name, v in fr.columns:
        if isinstance(v, Factor):
            cols[name] = pd.Categorical.from_codes(v.codes, categories=list(v.levels), ordered=v.ordered)
        elif isinstance(v, NumMatrix):
            for j in range(v.values.shape[1]):
                cols[f"{name}.{j + 1}"] = v.values[:, j]
        elif isinstance(v, Logical):
            cols[name] = pd.array([None if n else bool(x) for x, n in zip(v.values, v.na, strict=True)],
                                  dtype="boolean")
        elif isinstance(v, Character):
            cols[name] = v.values
        else:
            cols[name] = np.asarray(v)
    return pd.DataFrame(cols, index=list(fr.rownames))


def model_matrix(fit: FitLike, type: str = "fixed") -> pd.DataFrame | sp.csc_matrix:  # noqa: A002 (R's name)
    """R: ``model.matrix(fit, type)``: "fixed" is ``X`` (a DataFrame with R's column and row names),
    "random" is ``getME(fit, "Z")`` (n x q sparse)."""
    if type == "fixed":
        return pd.DataFrame(fit.lf.X.X, index=list(fit.lf.fr.rownames), columns=list(fit.lf.X.colnames))
    if type == "random":
        return fit.lf.reTrms.Zt.T.tocsc()
    raise DataError(f"model_matrix: type must be 'fixed' or 'random' (not {type!r})")


def hatvalues(fit: FitLike) -> pd.Series:
    """R: ``hatvalues(fit)`` (``lme4:::hatvalues.merMod``): ``colSums(CR^2) + colSums(CL^2)`` with
    ``CL = L^{-1} Lambdat Zt W^{1/2}`` and ``CR = RX^{-T} (X^T W^{1/2} - RZX^T CL)``."""
    sw = np.sqrt(fit.lf.weights)
    L = sp.csr_matrix(fit.getME("L"))
    A = (fit.problem.lambdat(fit.theta) @ fit.lf.reTrms.Zt).toarray() * sw[None, :]
    CL = spsolve_triangular(L, A, lower=True) if A.shape[0] else A
    X = fit.lf.X.X
    RX, RZX = fit.state.RX, fit.state.RZX
    if X.shape[1]:
        CR = solve_triangular(RX, X.T * sw[None, :] - RZX.T @ CL, trans="T", lower=False)
        h = (CR ** 2).sum(axis=0) + (CL ** 2).sum(axis=0)
    else:
        h = (CL ** 2).sum(axis=0)
    return napredict(fit.lf.fr, h)


def cooks_distance(fit: FitLike) -> pd.Series:
    """R: ``cooks.distance(fit)`` (``lme4:::cooks.distance.merMod``):
    ``(r / (1 - h))^2 h / (sigma^2 rank(X))`` with Pearson residuals; infinite values become NaN."""
    p = np.linalg.matrix_rank(fit.lf.X.X) if fit.lf.X.X.shape[1] else 0
    h = hatvalues(fit)
    r = residuals(fit, type="pearson")
    with np.errstate(all="ignore"):
        res = (r / (1 - h)) ** 2 * h / (fit.sigma() ** 2 * p)
    return res.where(~np.isinf(res), np.nan)
