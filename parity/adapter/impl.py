"""Helpers for writing an implementation to audit: numpy / pandas / scipy results as R values.

An implementation under audit (``parity check --impl module:function``, contract in
:mod:`parity.adapter.pyreterms_lformula`) returns a ``dict`` mapping component names -- the R expressions of
``r_scripts/reference.R``, e.g. ``"fixef(fit)"`` -- to :mod:`parity.r.values` values.  These helpers
build those values the way the R bridge (:mod:`parity.r.convert`) reads R's objects, so that the
structure compares equal when the content does:

=====================  ===============================================================  ===========================
helper                 R object                                                         from
=====================  ===============================================================  ===========================
:func:`r_vector`       an atomic vector with ``names`` (``c(...)``)                       sequence, ndarray, Series
:func:`r_index`        an integer index vector, 1-based (``Lind``, ``Gp`` offsets...)     0-based Python indices
:func:`r_matrix`       a base ``matrix`` with ``dimnames``                                ndarray, DataFrame
:func:`r_sparse`       a ``dgCMatrix`` with ``Dimnames``                                  any ``scipy.sparse``
:func:`r_factor`       a ``factor`` / ``ordered``                                         Categorical, Series
:func:`r_list`         a ``list``                                                         dict or (name, value) pairs
:func:`r_varcorr`      ``as.data.frame(VarCorr(fit))`` (columns grp var1 var2 vcov sdcor)  rows
:func:`r_ranef`        ``lapply(ranef(fit), as.matrix)``                                  group -> DataFrame
=====================  ===============================================================  ===========================

:class:`Unsupported` is how an implementation says "I do not model this input" (weights, a
formula feature it lacks): the design is reported *not compared*, never a disagreement (R side: the
implementation's error of kind ``"unsupported"``, :func:`parity.compare.verdicts.harness_refusal`).  Any
other exception is the implementation refusing the design, judged against lme4's decision.
``parity init-impl NAME`` writes a runnable, documented skeleton that uses these helpers.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from parity.r.values import RFactor, RList, RMatrix, RNull, RSparse, RValue, RVector, as_rvector

__all__ = ["Unsupported", "r_vector", "r_index", "r_matrix", "r_sparse", "r_factor", "r_list", "r_varcorr",
           "r_ranef", "r_null", "FIXEF", "SIGMA", "VARCORR", "RANEF", "LOGLIK", "X", "ZT", "FLIST", "CNMS",
           "THETA_FIT", "LF_THETA"]

# component names (reference.R) an implementation most often provides
FIXEF = "fixef(fit)"
SIGMA = "sigma(fit)"
VARCORR = "as.data.frame(VarCorr(fit))"
RANEF = "ranef(fit)"
LOGLIK = "logLik(fit)"
THETA_FIT = 'getME(fit, "theta")'
X = "lFormula()$X"
ZT = "lFormula()$reTrms$Zt"
FLIST = "lFormula()$reTrms$flist"
CNMS = "lFormula()$reTrms$cnms"
LF_THETA = "lFormula()$reTrms$theta"

Names = Sequence[str] | None
DimNames = tuple[Names, Names] | None


class Unsupported(Exception):
    """The implementation does not model this input: the design is *not compared* (with this reason)."""

    kind = "unsupported"


def _names(v: Iterable[Any] | None) -> tuple[str, ...] | None:
    return None if v is None else tuple(str(x) for x in v)


def r_vector(values: Any, names: Names = None, kind: str | None = None) -> RVector:
    """An atomic R vector (R: ``c(...)``; ``kind`` one of double, integer, logical, character,
    guessed from the dtype when None).  Missing values: NaN for double, None for character."""
    if isinstance(values, pd.Series):
        values = values.to_numpy()
    if kind == "character" or (kind is None and np.asarray(values).dtype.kind in "OUS"):
        vals = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                for v in np.asarray(values, dtype=object).ravel()]
        return RVector(np.array(vals, dtype=object), _names(names), "character")
    return as_rvector(values, kind, None if names is None else _names(names))


def r_index(zero_based: Any, names: Names = None) -> RVector:
    """An R integer index vector from 0-based Python positions (adds 1: R counts from 1)."""
    a = np.asarray(zero_based)
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"r_index takes integer positions, not {a.dtype}")
    return RVector(np.asarray(a, dtype=np.int64).ravel() + 1, _names(names), "integer")


def _dimnames(dimnames: DimNames, shape: tuple[int, int]) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    if dimnames is None:
        return None, None
    if len(dimnames) != 2:
        raise ValueError("dimnames is (rownames, colnames); either may be None")
    rn, cn = _names(dimnames[0]), _names(dimnames[1])
    if rn is not None and len(rn) != shape[0]:
        raise ValueError(f"{len(rn)} row names for {shape[0]} rows")
    if cn is not None and len(cn) != shape[1]:
        raise ValueError(f"{len(cn)} column names for {shape[1]} columns")
    return rn, cn


def r_matrix(x: Any, dimnames: DimNames = None) -> RMatrix:
    """A base R matrix (R: ``matrix(x, dimnames = list(rn, cn))``); a DataFrame brings its index
    and columns as dimnames unless ``dimnames`` is given.  A 1-d array is one column."""
    if isinstance(x, pd.DataFrame):
        if dimnames is None:
            dimnames = (list(x.index), list(x.columns))
        x = x.to_numpy(dtype=np.float64)
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ValueError(f"r_matrix takes a 2-d array, not {a.ndim}-d")
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return RMatrix(a, *_dimnames(dimnames, a.shape))


def r_sparse(x: Any, dimnames: DimNames = None) -> RSparse:
    """A ``dgCMatrix`` (R: ``Matrix::sparseMatrix``) from any scipy sparse matrix or array (or a
    dense array); stored entries that are exactly 0 are dropped, as ``drop0`` would in R."""
    m = sp.csc_matrix(x, dtype=np.float64)
    m.eliminate_zeros()
    m.sort_indices()
    return RSparse(m, *_dimnames(dimnames, m.shape))


def r_factor(x: Any, ordered: bool | None = None) -> RFactor:
    """An R factor from a pandas Categorical (or categorical Series): levels are the categories in
    their order (R: ``factor(x, levels = categories)``), NA is code -1 (R: ``NA_integer_``)."""
    if isinstance(x, pd.Series):
        if not isinstance(x.dtype, pd.CategoricalDtype):
            raise TypeError("r_factor takes a pandas Categorical (use pd.Categorical(x, categories=...))")
        x = x.array
    if not isinstance(x, pd.Categorical):
        raise TypeError(f"r_factor takes a pandas Categorical, not {type(x).__name__}")
    return RFactor(np.asarray(x.codes, dtype=np.int64), tuple(str(c) for c in x.categories),
                   bool(x.ordered) if ordered is None else ordered)


def r_list(items: Mapping[str, RValue] | Iterable[tuple[str | None, RValue]]) -> RList:
    """An R list (R: ``list(name = value, ...)``), in the given order."""
    pairs = items.items() if isinstance(items, Mapping) else items
    return RList(tuple((k, v) for k, v in pairs))


def r_null() -> Any:
    """R's ``NULL``."""
    return RNull


def r_varcorr(rows: Iterable[tuple[str, str | None, str | None, float, float]]) -> RList:
    """``as.data.frame(VarCorr(fit))`` from rows ``(grp, var1, var2, vcov, sdcor)`` in lme4's order
    (per term its variances, then its covariances; the residual last with var1 = var2 = None)."""
    rows = list(rows)
    cols = list(zip(*rows, strict=False)) if rows else [(), (), (), (), ()]
    return RList((("grp", r_vector(cols[0], kind="character")), ("var1", r_vector(cols[1], kind="character")),
                  ("var2", r_vector(cols[2], kind="character")), ("vcov", r_vector(cols[3], kind="double")),
                  ("sdcor", r_vector(cols[4], kind="double"))))


def r_ranef(blocks: Mapping[str, pd.DataFrame]) -> RList:
    """``lapply(ranef(fit), as.matrix)``: per grouping factor a matrix, rows the levels, columns the
    term's column names (e.g. ``(Intercept)``, ``Days``)."""
    return RList(tuple((g, r_matrix(df)) for g, df in blocks.items()))
