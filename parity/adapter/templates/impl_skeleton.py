"""NAME: an implementation of lme4's lFormula()/lmer(), audited against live lme4 with parity.

Written by ``parity init-impl NAME``.  It runs as it is (a toy: one ``(x | g)`` term, numeric
covariates) so that you can see the whole loop work, then replace the bodies marked TODO with calls
to your library.  Check it on lme4's sleepstudy::

    parity check 'Reaction ~ Days + (Days | Subject)' --data r:lme4::sleepstudy --impl NAME:fit \\
        --only 'lFormula()$X' 'lFormula()$reTrms$Zt' 'lFormula()$reTrms$flist' 'lFormula()$reTrms$cnms'

The contract (parity.adapter.pyreterms_lformula): ``fit(formula, data, *, REML, level, weights, offset, contrasts,
theta=None)`` returns a dict mapping component names -- the R expressions of parity's
``r_scripts/reference.R``, e.g. ``"fixef(fit)"``, ``"as.data.frame(VarCorr(fit))"`` -- to values
built with ``parity.adapter.impl`` (``r_vector``, ``r_matrix``, ``r_sparse``, ``r_factor``, ``r_list``,
``r_varcorr``, ``r_ranef``).  Components you do not return are reported "not provided" (counted,
never judged); ``--only`` names the ones you claim.  Raise ``parity.adapter.impl.Unsupported`` for inputs
your library does not model (reported "not compared"); any other exception is your library
refusing the design, judged against lme4's own decision.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import scipy.sparse as sp

from parity.adapter.impl import CNMS, FLIST, ZT, Unsupported, X, r_factor, r_list, r_matrix, r_sparse, r_vector

NAME_RE = re.compile(r"[A-Za-z.][A-Za-z0-9._]*")


def _terms(side: str) -> list[str]:
    """The top-level ``+`` terms of one side of a formula (parentheses respected)."""
    out, depth, cur = [], 0, ""
    for ch in side:
        depth += (ch == "(") - (ch == ")")
        if ch == "+" and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    return [t for t in [*out, cur.strip()] if t]


def _columns(terms: list[str], data: pd.DataFrame) -> tuple[bool, list[str]]:
    """(intercept?, numeric columns) of a list of terms; anything else is not modelled."""
    intercept, cols = True, []
    for t in terms:
        if t == "1":
            continue
        if t in ("0", "-1"):
            intercept = False
        elif NAME_RE.fullmatch(t) and t in data.columns and pd.api.types.is_float_dtype(data[t].dtype):
            cols.append(t)
        else:
            raise Unsupported(f"term {t!r}: this skeleton models numeric (double) columns only")
    return intercept, cols


def _grouping(g: pd.Series) -> pd.Categorical:
    """The grouping factor as R's ``factor(g)`` makes it: unused levels dropped; strings in C
    (code point) order, as parity runs R; integers in numeric order."""
    if isinstance(g.dtype, pd.CategoricalDtype):
        return g.array.remove_unused_categories()
    if pd.api.types.is_integer_dtype(g.dtype):
        levels = sorted(set(g.tolist()))
        return pd.Categorical([str(v) for v in g], categories=[str(v) for v in levels])
    if pd.api.types.is_object_dtype(g.dtype) or pd.api.types.is_string_dtype(g.dtype):
        return pd.Categorical(g.astype(str), categories=sorted(set(g.astype(str))))
    raise Unsupported(f"grouping variable of type {g.dtype} not modelled")


def fit(formula: str, data: pd.DataFrame, *, REML: bool = True, level: str = "fit", weights=None, offset=None,
        contrasts=None, theta=None) -> dict:
    """lFormula()'s X, Zt, flist and cnms for ``y ~ fixed + (x | g)`` (TODO: call your library)."""
    if weights is not None or offset is not None or contrasts:
        raise Unsupported("weights, offsets and contrasts are not modelled")
    if "~" not in formula:
        raise ValueError(f"not a formula: {formula!r}")
    lhs, rhs = (s.strip() for s in formula.split("~", 1))
    fixed, bars = [], []
    for t in _terms(rhs):
        m = re.fullmatch(r"\((.*)\|(.*)\)", t)
        if m:
            bars.append((m.group(1).strip(), m.group(2).strip()))
        else:
            fixed.append(t)
    if len(bars) != 1 or "|" in bars[0][0] or not NAME_RE.fullmatch(bars[0][1]) or bars[0][1] not in data.columns:
        raise Unsupported("this skeleton models exactly one (x | g) term with g a column")
    x_icpt, x_cols = _columns(fixed, data)
    z_icpt, z_cols = _columns(_terms(bars[0][0]), data)
    if lhs not in data.columns:
        raise Unsupported(f"response {lhs!r} is not a column")
    used = list(dict.fromkeys([lhs, *x_cols, *z_cols, bars[0][1]]))
    if data[used].isna().any().any():
        raise Unsupported("missing values are not modelled (lme4 drops those rows)")
    n = len(data)
    # R's row names: a RangeIndex (0-based) becomes "1".."n"; other labels are kept
    rown = ([str(i + 1) for i in range(n)] if isinstance(data.index, pd.RangeIndex)
            else [str(i) for i in data.index])

    # TODO: the fixed-effects model matrix from your library
    Xm = np.column_stack([np.ones(n)] * x_icpt + [data[c].to_numpy(float) for c in x_cols])
    x_names = ["(Intercept)"] * x_icpt + x_cols

    # TODO: the random-effects design from your library: Zt is (levels x columns) rows by observations,
    # level-major (all columns of level 1, then level 2, ...), as lme4's mkReTrms builds it
    f = _grouping(data[bars[0][1]])
    Xi = np.column_stack([np.ones(n)] * z_icpt + [data[c].to_numpy(float) for c in z_cols])
    nc, codes = Xi.shape[1], np.asarray(f.codes)
    rows = (codes[:, None] * nc + np.arange(nc)[None, :]).ravel()
    cols = np.repeat(np.arange(n), nc)
    Zt = sp.csc_matrix((Xi.ravel(), (rows, cols)), shape=(len(f.categories) * nc, n))
    z_rownames = np.repeat(np.asarray(f.categories, dtype=object), nc).tolist()

    g = bars[0][1]
    return {
        X: r_matrix(Xm, (rown, x_names)),
        ZT: r_sparse(Zt, (z_rownames, rown)),
        FLIST: r_list({g: r_factor(f)}),
        CNMS: r_list({g: r_vector(["(Intercept)"] * z_icpt + z_cols, kind="character")}),
        # TODO at level "fit": "fixef(fit)": r_vector(beta, names=x_names), "sigma(fit)": r_vector([s]),
        # "as.data.frame(VarCorr(fit))": r_varcorr(rows), "ranef(fit)": r_ranef({g: DataFrame}), ...
    }
