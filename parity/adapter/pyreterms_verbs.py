"""Fit-level components of lme4's verbs (issue 14), named as ``r_scripts/reference.R`` names lme4's.

R equivalents: ``predict(fit)``, ``predict(fit, re.form = NA)``, ``predict(fit, newdata = nd,
allow.new.levels = TRUE)``, ``predict(fit, newdata = nd, re.form = NA)``, ``simulate(fit, nsim = 2,
seed = 101)``, ``hatvalues(fit)``, ``confint(fit, method = "Wald")``, ``anova(fit)`` and
``coef(summary(fit))``.  ``nd`` is :func:`newdata` here and ``pyreterms_newdata()`` in R: the same rows
on both sides.  Every value is taken from the fit moved to the oracle's theta
(:func:`parity.adapter.pyreterms_fit.at_theta`), as the other theta-dependent components.
"""
from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from parity.adapter.rbuild import dbl_vector as _dbl
from parity.r.values import RError, RMatrix, RNull, RValue
from parity.r.verbvariant import current as current_variant
from parity.r.verbvariant import default_variant
from pyreterms.design.frame import r_rownames
from pyreterms.formula.bars import findbars, fixed_formula
from pyreterms.formula.nodes import Call, Name, Node
from pyreterms.formula.parser import parse

#: the level a grouping variable of the new row takes (R: pyreterms_newdata)
NEW_LEVEL = "..new.."


def _all_vars(node: Node, out: list[str]) -> None:
    """R: ``all.vars(expr)`` (variables only; function names are not nodes here)."""
    if isinstance(node, Name):
        if node.id not in out:
            out.append(node.id)
    elif isinstance(node, Call):
        for a in node.argv:
            _all_vars(a, out)


def grouping_vars(formula: str) -> list[str]:
    """The variables of the grouping factors (``all.vars`` of each bar's right-hand side) that the
    fixed-effects part does not use."""
    tree = parse(formula)
    assert isinstance(tree, Call)
    out: list[str] = []
    for bar in findbars(tree.argv[-1]):
        _all_vars(bar.args[1].value, out)
    fixed: list[str] = []
    _all_vars(fixed_formula(tree), fixed)  # R: all.vars(nobars(formula)); a new level in X is an error
    return [v for v in out if v not in fixed]


def newdata(data: pd.DataFrame, frame_rownames: tuple[str, ...], formula: str, new_level: bool = True) -> pd.DataFrame:
    """R: ``pyreterms_newdata(data, lFormula()$fr, formula)`` in ``r_scripts/reference.R``: the first
    (at most 3) rows of ``data`` in the model frame, then a copy of the first with a new level of every
    grouping variable the fixed part does not use (``"..new.."``; numeric: ``max + 1``; logical:
    unchanged), row name ``"new"`` (only the first rows when ``new_level`` is false)."""
    rn = r_rownames(data)
    keep = set(frame_rownames)
    idx = [i for i, r in enumerate(rn) if r in keep][:3]
    nd = data.iloc[idx].copy()
    nd.index = [rn[i] for i in idx]
    if not new_level:
        return nd
    nr = nd.iloc[[0]].copy()
    nr.index = ["new"]
    for v in grouping_vars(formula):
        if v not in data.columns:
            continue
        col = data[v]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = list(col.cat.categories) + [NEW_LEVEL]
            nd[v] = pd.Categorical(nd[v].astype(object), categories=cats, ordered=col.cat.ordered)
            nr[v] = pd.Categorical([NEW_LEVEL], categories=cats, ordered=col.cat.ordered)
        elif pd.api.types.is_bool_dtype(col):
            continue
        elif pd.api.types.is_numeric_dtype(col):
            nr[v] = col.max(skipna=True) + 1
        else:
            nr[v] = NEW_LEVEL
    return pd.concat([nd, nr])


def _series(s: pd.Series) -> RValue:
    return _dbl(s.to_numpy(dtype=float), tuple(str(k) for k in s.index))


def _frame(df: pd.DataFrame) -> RValue:
    return RMatrix(df.to_numpy(dtype=float), tuple(str(k) for k in df.index) or None,
                   tuple(str(c) for c in df.columns) or None)


def _guard(fn: Callable[[], RValue]) -> RValue:
    """A verb that refuses gives its message (R: ``pyreterms_failed``)."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 (the implementation's answer, compared with R's)
        return RError(str(e).splitlines()[0] if str(e) else type(e).__name__, getattr(e, "kind", type(e).__name__))


def verb_components(fit, data: pd.DataFrame, formula: str) -> dict[str, RValue]:
    """The verb components of ``fit`` (already at the oracle's theta when one is given); ``formula`` is
    the one given to R (the default variant is made from it, as :mod:`parity.r.oracle` does)."""
    nd = newdata(data, tuple(fit.lf.fr.rownames), fit.lf.formula)
    out: dict[str, RValue] = {}
    out["predict(fit)"] = _guard(lambda: _series(fit.predict()))
    out["predict(fit, re.form = NA)"] = _guard(lambda: _series(fit.predict(re_form="NA")))
    out["predict(fit, newdata = nd, allow.new.levels = TRUE)"] = _guard(
        lambda: _series(fit.predict(nd, allow_new_levels=True)))
    out["predict(fit, newdata = nd, re.form = NA)"] = _guard(lambda: _series(fit.predict(nd, re_form="NA")))
    out["simulate(fit, nsim = 2, seed = 101)"] = _guard(lambda: _frame(fit.simulate(nsim=2, seed=101)))
    out["hatvalues(fit)"] = _guard(lambda: _series(fit.hatvalues()))
    out['confint(fit, method = "Wald")'] = _guard(lambda: _frame(fit.confint(method="Wald")))
    out["anova(fit)"] = _guard(lambda: _frame(fit.anova()))
    out["coef(summary(fit))"] = _guard(lambda: _frame(fit.summary().coefficients))
    vv = current_variant() or default_variant(formula)
    rf = vv.py_re_form()
    ndv = newdata(data, tuple(fit.lf.fr.rownames), fit.lf.formula, vv.new_level)
    # R: NULL where lme4 1.1-31 would take the random part from getData(fit) (rows were dropped)
    getdata_rows = vv.re_form.startswith("~(") and fit.lf.fr.n < len(data)
    out["predict(fit, re.form = rf)"] = RNull if getdata_rows else _guard(lambda: _series(fit.predict(re_form=rf)))
    out["predict(fit, newdata = ndv, re.form = rf, allow.new.levels = TRUE)"] = _guard(
        lambda: _series(fit.predict(ndv, re_form=rf, allow_new_levels=True)))
    return out


__all__ = ["NEW_LEVEL", "grouping_vars", "newdata", "verb_components"]
