"""R: ``predict(fit, newdata, re.form, allow.new.levels, type)`` (``lme4:::predict.merMod`` and
``lme4:::mkNewReTrms``, lme4 1.1-31) for a linear mixed model.

R expressions producing the values (later parity components):

- ``predict(fit)`` = ``fitted(fit)`` (NA-padded under na.exclude)
- ``predict(fit, re.form = NA)`` / ``re.form = ~0``: ``X %*% fixef(fit) + offset``
- ``predict(fit, re.form = ~(1 | g))``: the fixed part plus the random effects of the named terms only
- ``predict(fit, newdata = nd, re.form = ..., allow.new.levels = ...)``: one value per row of ``nd``
  (``na.action = na.pass``: a row with NA in a variable it uses gives NA), named by ``rownames(nd)``

New data: factors get the fit's levels, new values appended (``get.orig.levs``); new levels of a
grouping factor stop ("new levels detected in newdata: ...") unless ``allow_new_levels``, when their
random effects are 0; an NA grouping value stops likewise unless ``allow_new_levels``; offsets come
from ``offset()`` terms of the formula only (as in lme4, ``offset=`` of the fit is not applied to new
data).  ``type`` ("link" | "response") is the same for an LMM.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from pyreterms.design.frame import r_rownames
from pyreterms.design.modelmatrix import model_matrix
from pyreterms.design.reterms import grouping_factor
from pyreterms.errors import DataError, FormulaError
from pyreterms.formula.bars import bar_parts, findbars, fixed_formula
from pyreterms.formula.dot import expand_dot, has_dot
from pyreterms.formula.evaluate import take
from pyreterms.formula.nodes import Call, Name, Node, call, walk
from pyreterms.formula.parser import deparse, parse
from pyreterms.formula.terms import extract_vars, make_terms
from pyreterms.formula.values import Factor
from pyreterms.verbs.accessors import fitted, model_frame, napredict
from pyreterms.verbs.newdata import new_frame, orig_levels, orig_ordered
from pyreterms.verbs.view import FitLike

#: ``re.form`` for "no random effects" (R: ``NA`` or ``~0``)
NO_RE = "NA"


def parse_re_form(re_form: Any) -> list[Call] | None | str:
    """``None`` (all random effects), ``NO_RE`` (none: R's ``NA``/``~0``) or the bar terms of a
    formula ``"~ (1 | g)"`` (R: ``isRE(re.form)`` and ``findbars(re.form)``)."""
    if re_form is None:
        return None
    if isinstance(re_form, float) and math.isnan(re_form):
        return NO_RE
    if not isinstance(re_form, str):
        raise FormulaError(f"re_form must be None, 'NA', '~0' or a formula string (not {type(re_form).__name__})")
    if re_form.strip() == "NA":
        return NO_RE
    tree = parse(re_form)
    if not (isinstance(tree, Call) and tree.fn == "~"):
        raise FormulaError(f"re_form must be a one-sided formula such as '~ (1 | g)' (not {re_form!r})")
    rhs = tree.argv[-1]
    if len(tree.argv) == 1 and deparse(rhs) in ("0", "-1"):
        return NO_RE
    return findbars(rhs)


def _fit_bars(fit: FitLike) -> list[Call]:
    return findbars(parse(fit.lf.formula).argv[-1])  # type: ignore[union-attr]


def _fixed_rhs(fit: FitLike) -> Node:
    """The fixed part's right-hand side; a ``.`` expands as R's ``model.matrix(RHS, mfnew)`` expands it in
    ``predict.merMod``: against the fit's frame variables (``(weights)``/``(offset)`` are not among them)."""
    fixed = fixed_formula(parse(fit.lf.formula))  # type: ignore[arg-type]
    if has_dot(fixed.argv[-1]):
        fixed = expand_dot(fixed, [nm for nm in fit.lf.fr.names if nm not in ("(weights)", "(offset)")])
    return fixed.argv[-1]


def levelfun_error(new: list[str]) -> DataError:
    """lme4's ``levelfun`` message: the new levels pasted, cut at 60 characters at a comma."""
    s = ", ".join(new)
    if len(s) > 60:
        s = s[:60]
        cut = s.rfind(",")
        s = (s[:cut] if cut >= 0 else s) + ", ..."
    return DataError(f"new levels detected in newdata: {s}")


def _random_part(fit: FitLike, bars: list[Call], newdata: pd.DataFrame, allow_new_levels: bool) -> np.ndarray:
    """R: ``drop(newRE$b %*% newRE$Zt)`` of ``mkNewReTrms(fit, newdata, re.form)``."""
    n = len(newdata)
    levels = orig_levels(fit.lf.fr)
    ordered = orig_ordered(fit.lf.fr)
    fit_ctr: dict[str, object] = {k: getattr(v, "contrasts", None) for k, v in fit.lf.fr.columns
                                  if getattr(v, "contrasts", None) is not None}
    ranef = fit.ranef()
    re_vars: list[Node] = []  # R evaluates re.form in the frame of the fit's random-effects variables
    for b in _fit_bars(fit):
        extract_vars(b.args[0].value, re_vars)
        extract_vars(b.args[1].value, re_vars)
    names = {deparse(v) for v in re_vars}
    parts = []
    for bar in bars:
        lhs, grp = bar_parts(bar)
        gvars: list[Node] = []
        extract_vars(grp, gvars)
        miss = [deparse(v) for v in gvars if deparse(v) not in names]
        if miss:
            raise DataError(f"couldn't evaluate grouping factor {deparse(grp)} within model frame:error =Error in "
                            f"is.factor(x) : object '{miss[0]}' not found Try adding grouping factor to data "
                            "frame explicitly if possible")
        nodes: list[Node] = []
        extract_vars(lhs, nodes)
        xnodes = list(nodes)
        extract_vars(grp, nodes)
        fr, _ = new_frame(nodes, newdata, levels, fit.lf.fr.predvars, ordered)
        try:
            ff = grouping_factor(grp, fr)
        except DataError:  # every grouping value NA
            ff = None
        xfr, xbad = (new_frame(xnodes, newdata, levels, fit.lf.fr.predvars, ordered) if xnodes
                     else (fr, np.zeros(n, dtype=bool)))
        ok = np.flatnonzero(~xbad)
        mm = model_matrix(make_terms(call("~", lhs)), type(xfr)(tuple((k, take(v, ok)) for k, v in xfr.columns),
                                                                 tuple(xfr.rownames[i] for i in ok)),
                          fit_ctr)  # R: mkNewReTrms re-applies the fit's contrasts (orig.random.cntr)
        Xi = np.full((n, mm.X.shape[1]), np.nan)
        Xi[ok] = mm.X
        parts.append((deparse(bar), deparse(grp), ff, Xi, mm.colnames))
    if not allow_new_levels and any(ff is None or (ff.codes < 0).any() for _, _, ff, _, _ in parts):
        raise DataError("NAs are not allowed in prediction data for grouping variables unless "
                        "allow.new.levels is TRUE")
    for _, g, _, _, _ in parts:
        if g not in ranef:
            raise DataError("grouping factors specified in re.form that were not present in original model")
    out = np.zeros(n)
    for _, g, ff, Xi, cnms in parts:
        re_g = ranef[g]
        miss = [c for c in cnms if c not in re_g.columns]
        if miss:
            raise DataError("random effects specified in re.form that were not present in original model "
                            + ", ".join(miss))
        if ff is None:
            continue
        known = {lv: i for i, lv in enumerate(re_g.index)}
        new = [lv for lv in ff.levels if lv not in known]
        if new and not allow_new_levels:
            raise levelfun_error(new)
        vals = np.column_stack([re_g.loc[:, c].to_numpy(dtype=float)[:, 0] if re_g.loc[:, c].ndim == 2
                                else re_g.loc[:, c].to_numpy(dtype=float) for c in cnms])
        vals = np.vstack([vals, np.zeros((1, len(cnms)))])  # row for new levels and NA: random effect 0
        lvmap = np.array([known.get(lv, len(re_g)) for lv in ff.levels] + [len(re_g)], dtype=np.int64)
        rows = lvmap[np.where(ff.codes < 0, len(ff.levels), ff.codes)]
        out = out + (Xi * vals[rows]).sum(axis=1)
    return out


def _mknewretrms_refusals(fit: FitLike, bars: list[Call]) -> None:
    """The two stops of ``lme4:::mkNewReTrms`` on variables the new rows do not define (``bars``: the
    ``re.form`` terms; with new data and ``re.form = NULL`` lme4 takes all of the fit's, ``reOnly``).

    1. ``get.orig.levs(object, random.only = TRUE, FUN = contrasts)`` takes the contrasts of every factor
       of the fit's random-effects frame: a factor with a single level there (a grouping variable that
       only appears nested, ``k/g`` with one ``g``) stops "contrasts not defined for 0 degrees of freedom".
    2. Every variable of the fit's random-effects terms that ``re.form`` does not mention is set to
       ``NA``; the fit's contrasts are then re-applied to each factor among the terms' left-hand-side
       variables, and a factor that is all ``NA`` stops ``contrasts<-``.

    They happen whenever the random part goes through ``mkNewReTrms``: with new data, and on the fit's own
    rows with a ``re.form`` formula (lme4 then reads ``getData(fit)``)."""
    fit_bars = _fit_bars(fit)
    factors = {k: v for k, v in fit.lf.fr.columns if isinstance(v, Factor)}
    random_vars: list[Node] = []
    for b in fit_bars:
        extract_vars(b.args[0].value, random_vars)
        extract_vars(b.args[1].value, random_vars)
    if any(len(factors[deparse(v)].levels) == 1 for v in random_vars if deparse(v) in factors):
        raise DataError("contrasts not defined for 0 degrees of freedom")
    mentioned = {n.id for b in bars for n in walk(b) if isinstance(n, Name)}  # R: all.vars(re.form)
    lhs_names = {n.id for b in fit_bars for n in walk(bar_parts(b)[0]) if isinstance(n, Name)}
    if (lhs_names & factors.keys()) - mentioned:
        raise DataError("contrasts can be applied only to factors with 2 or more levels")


def fit_contrasts(fit: FitLike) -> dict[str, object]:
    """R's ``contrasts.arg = attr(X, "contrasts")`` of ``predict.merMod``: a contrast function's name as
    recorded, and for a ``"matrix"`` entry the matrix itself, which the fit's frame factor carries (the
    data's ``contrasts`` attribute); a matrix given as ``contrasts=`` to the fit is not kept: refused."""
    cols = dict(fit.lf.fr.columns)
    out: dict[str, object] = {}
    for name, label in fit.lf.X.contrasts:
        if label != "matrix":
            out[name] = label
            continue
        spec = getattr(cols.get(name), "contrasts", None)
        if spec is None:
            raise DataError(f"predict with newdata: the contrasts matrix the fit used for '{name}' (given as "
                            "contrasts=) is not kept; give it as the data's contrasts attribute instead")
        out[name] = spec
    return out


def _fixed_part(fit: FitLike, newdata: pd.DataFrame) -> np.ndarray:
    """R: ``X %*% fixef(fit) + offset`` with ``X = model.matrix(RHS, model.frame(..., newdata,
    na.action = na.pass, xlev = orig.fixed.levs))`` minus ``col.dropped``."""
    n = len(newdata)
    terms = make_terms(call("~", _fixed_rhs(fit)))
    fr, bad = new_frame(list(terms.variables), newdata, orig_levels(fit.lf.fr), fit.lf.fr.predvars,
                        orig_ordered(fit.lf.fr))
    ok = np.flatnonzero(~bad)
    frok = type(fr)(tuple((k, take(v, ok)) for k, v in fr.columns), tuple(fr.rownames[i] for i in ok))
    mm = model_matrix(terms, frok, fit_contrasts(fit))
    dropped = {nm for nm, _ in fit.lf.X.col_dropped}
    names = [c for c in mm.colnames if c not in dropped]
    if names != list(fit.lf.X.colnames):
        extra = [c for c in names if c not in fit.lf.X.colnames]
        raise DataError("non-conformable arguments: the model matrix of newdata has the columns "
                        f"{', '.join(names)}" + (f" (not in the fit: {', '.join(extra)}; a new level of a "
                                                 "fixed-effects factor?)" if extra else ""))
    X = mm.X[:, [mm.colnames.index(c) for c in names]]
    pred = np.full(n, np.nan)
    pred[ok] = X @ fit.state.beta
    for i in terms.offsets:
        pred[ok] = pred[ok] + np.asarray(fr.get(terms.varnames[i]), dtype=np.float64)[ok]
    return pred


def predict(fit: FitLike, newdata: pd.DataFrame | None = None, re_form: Any = None,
            allow_new_levels: bool = False, type: str = "link") -> pd.Series:  # noqa: A002 (R's name)
    """R: ``predict(fit, newdata, re.form, allow.new.levels, type)`` (see the module docstring).
    ``re_form``: None (all random effects), ``"NA"`` or ``"~0"`` (none), or a formula string."""
    if type not in ("link", "response"):
        raise DataError(f"'arg' should be one of \"link\", \"response\" (not {type!r})")
    form = parse_re_form(re_form)
    if newdata is None:
        if form is None:
            return fitted(fit)
        pred = fit.lf.X.X @ fit.state.beta + fit.lf.offset
        if form != NO_RE:
            _mknewretrms_refusals(fit, form)  # type: ignore[arg-type]
            pred = pred + _own_random_part(fit, form)  # type: ignore[arg-type]
        return napredict(fit.lf.fr, pred)
    if not isinstance(newdata, pd.DataFrame):
        raise DataError(f"newdata must be a pandas DataFrame, not {newdata.__class__.__name__}")
    pred = _fixed_part(fit, newdata)
    if form != NO_RE:
        bars = _fit_bars(fit) if form is None else form
        _mknewretrms_refusals(fit, bars)  # type: ignore[arg-type]
        pred = pred + _random_part(fit, bars, newdata, allow_new_levels)  # type: ignore[arg-type]
    return pd.Series(pred, index=list(r_rownames(newdata)), dtype=float)


def _own_random_part(fit: FitLike, bars: list[Call]) -> np.ndarray:
    """The random part of ``re.form`` on the fit's own rows (R: ``mkNewReTrms(fit, NULL, re.form)``).

    A bar term of the fit contributes its block of ``Zt`` times the modes lme4 looks up for it: per
    column name, the *first* column of ``ranef(fit)[[group]]`` with that name (R's ``re_x[[rname]][,
    cnms]`` on a data frame whose names repeat when several terms share a grouping factor, e.g.
    ``(1 + x | g) + (1 | g)``: the second term's ``(Intercept)`` reads the first term's modes).  Any
    other term is evaluated on the model frame like new data."""
    rt = fit.lf.reTrms
    ranef = fit.ranef()
    out = np.zeros(fit.lf.fr.n)
    for bar in bars:
        name = deparse(bar)
        k = next((i for i, t in enumerate(rt.terms) if t.name == name), None)
        if k is None:  # R: mkNewReTrms on the data (the frame holds the same values)
            out = out + _random_part(fit, [bar], model_frame(fit), allow_new_levels=False)
            continue
        t = fit.problem.terms[k]
        group, cnms = rt.cnms[k]
        re_g = ranef[group]
        cols = list(re_g.columns)
        vals = np.column_stack([re_g.iloc[:, cols.index(c)].to_numpy(dtype=float) for c in cnms])
        out = out + rt.Zt[t.start:t.stop].T @ vals.reshape(-1)
    return out


__all__ = ["predict", "parse_re_form", "NO_RE"]
