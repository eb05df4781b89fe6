"""Variables of a fitted model evaluated on new data, with the fit's factor levels (R: ``model.frame(
terms, newdata, na.action = na.pass, xlev = get.orig.levs(object, newdata = newdata))`` as
``lme4:::predict.merMod`` and ``lme4:::mkNewReTrms`` call it).

``get.orig.levs``: each factor of the fit's model frame keeps its levels, in their order, and values of
the new data not among them are appended in order of appearance (``setdiff(unique(as.character(
newdata[[n]])), levels)``).  Rows are kept, NA included (``na.pass``); callers mask them.

Data-dependent variables (``poly``, ``ns``, ``bs``, ``scale``) are evaluated with the fit's constants, as
R evaluates ``attr(terms, "predvars")`` (lme4: ``terms(fit, fixed.only = TRUE)`` / ``random.only = TRUE``
carry ``predvars.fixed`` / ``predvars.random``); see :mod:`pyreterms.formula.predvars`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from pyreterms.design.frame import DataColumns, r_rownames
from pyreterms.design.model import ModelFrame
from pyreterms.errors import DataError
from pyreterms.formula.evaluate import Evaluator, make_factor, na_mask
from pyreterms.formula.nodes import Name, Node
from pyreterms.formula.parser import frame_name
from pyreterms.formula.predvars import Predvars
from pyreterms.formula.values import Character, Factor, Value


def with_levels(v: Value, levels: tuple[str, ...], ordered: bool = False) -> Factor:
    """``factor(as.character(v), levels = c(levels, new values in order of appearance), ordered)``."""
    labels = v.labels() if isinstance(v, Factor) else make_factor(v).labels() if not isinstance(v, Character) \
        else v.values
    lv = list(levels)
    pos = {s: i for i, s in enumerate(lv)}
    codes = np.empty(len(labels), dtype=np.int64)
    for i, s in enumerate(labels):
        if s is None:
            codes[i] = -1
            continue
        k = pos.get(s)
        if k is None:
            k = pos[s] = len(lv)
            lv.append(s)
        codes[i] = k
    return Factor(codes, tuple(lv), ordered)


def orig_levels(fr: ModelFrame) -> dict[str, tuple[str, ...]]:
    """R: ``get.orig.levs(object)``: the levels of each factor column of the fit's frame (response excluded)."""
    return {k: v.levels for k, v in fr.columns[1:] if isinstance(v, Factor)}


def orig_ordered(fr: ModelFrame) -> frozenset[str]:
    """The ordered factors of the fit's frame: on new rows they keep the fit's contrasts (R: the fixed
    part's ``contrasts.arg = attr(X, "contrasts")``, and ``mkNewReTrms`` re-applies the fit's contrasts
    to the random-effects terms' factors), so they stay ordered there whatever the new data say."""
    return frozenset(k for k, v in fr.columns[1:] if isinstance(v, Factor) and v.ordered)


def new_frame(nodes: list[Node], newdata: pd.DataFrame, levels: dict[str, tuple[str, ...]],
              predvars: Predvars = (), ordered: frozenset[str] = frozenset()) -> tuple[ModelFrame, np.ndarray]:
    """The variables ``nodes`` evaluated on ``newdata`` (all rows), factors with the fit's levels (and
    orderedness, ``ordered``: :func:`orig_ordered`),
    data-dependent variables with the fit's ``predvars`` (``ModelFrame.predvars``), and the rows with an
    NA in any of them."""
    if not isinstance(newdata, pd.DataFrame):
        raise DataError(f"newdata must be a pandas DataFrame, not {type(newdata).__name__}")
    fixed = dict(predvars)
    cols = DataColumns(newdata)
    n = len(newdata)
    ev = Evaluator(cols, n)  # type: ignore[arg-type]
    out: list[tuple[str, object]] = []
    bad = np.zeros(n, dtype=bool)
    for node in nodes:
        name = frame_name(node)
        if any(k == name for k, _ in out):
            continue
        with np.errstate(all="ignore"):  # R computes with NaN silently (scale() of one or no value)
            val = ev.eval_with(node, fixed.get(name))
        if name in levels:
            val = with_levels(val, levels[name], name in ordered)
        elif isinstance(val, Character) and not isinstance(node, Name):  # R: model.matrix keeps a logical as
            # factor(levels = c(FALSE, TRUE)), however few values the new rows have
            val = make_factor(val)
        bad |= na_mask(val)
        out.append((name, val))
    return ModelFrame(tuple(out), r_rownames(newdata)), bad
