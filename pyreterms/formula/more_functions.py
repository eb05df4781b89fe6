"""Evaluation of the allowlisted functions added for lme4 users' formulas: ``ns``, ``bs``
(``splines::``), ``cut``, ``pmin``, ``pmax`` (``base::``).

R equivalents: ``splines::ns``, ``splines::bs``, ``base::cut.default``, ``base::pmin``/``pmax``
(numbers in :mod:`pyreterms.formula.splines`).  Arguments are matched to R's formals as R matches them
(named first, then positional in order); the allowlist has already checked names and constants.
"""
from __future__ import annotations

import warnings
from typing import Protocol

import numpy as np

from pyreterms.errors import DataError, FormulaError, LmeWarning
from pyreterms.formula.allowlist import RULES
from pyreterms.formula.parser import Call, Node, deparse
from pyreterms.formula.predvars import Predvar, SplineKnots
from pyreterms.formula.splines import bs_basis, cut, ns_basis
from pyreterms.formula.values import Factor, NumMatrix, Value, as_numeric


class Evaluating(Protocol):
    """What these functions use of :class:`pyreterms.formula.evaluate.Evaluator`."""

    made: dict[Call, Predvar]

    def eval(self, node: Node) -> Value: ...

    def const(self, node: Node, what: str) -> object: ...


def match_args(fn: str, pos: list[Node], kw: dict[str, Node]) -> dict[str, Node]:
    """R's argument matching for a non-variadic allowlisted function (exact names only)."""
    formals = [f for f in RULES[fn].formals if f not in kw]
    out = dict(kw)
    out.update(zip(formals, pos, strict=False))
    return out


def _numbers(v: object, what: str) -> list[float]:
    vals = v if isinstance(v, list) else [v]
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vals):
        raise FormulaError(f"{what} must be numbers")
    return [float(x) for x in vals]  # type: ignore[arg-type]  # checked above: int or float


def eval_more(ev: Evaluating, node: Call, fn: str, pos: list[Node], kw: dict[str, Node],
              fixed: SplineKnots | None = None) -> Value:
    """Evaluate one ``ns``/``bs``/``cut``/``pmin``/``pmax`` call with the Evaluator ``ev`` (``ns``/``bs``
    with ``fixed``: the fit's knots, R's predvars call ``ns(x, knots =, Boundary.knots =, intercept =)``)."""
    if fn == "c":
        raise FormulaError(f"c() may appear only as a constant argument, not as a variable: {deparse(node)}")
    if fn in ("pmin", "pmax"):
        return _eval_pminmax(ev, fn, pos, kw)
    args = match_args(fn, pos, kw)
    x = as_numeric(ev.eval(args["x"]), fn)
    if x.ndim != 1:
        raise DataError(f"{fn}(): x must be a vector")
    if fn in ("ns", "bs"):
        if fixed is not None:
            return _spline_fixed(fn, x, fixed)
        return _eval_spline(ev, node, fn, args, x)
    return _eval_cut(ev, args, x)


def _eval_pminmax(ev: Evaluating, fn: str, pos: list[Node], kw: dict[str, Node]) -> Value:
    """``pmin``/``pmax`` (R: ``base::pmin``/``pmax`` with ``na.rm = FALSE``)."""
    narm = kw.get("na.rm")
    if narm is not None and ev.const(narm, f"{fn}(na.rm =)") is not False:
        raise FormulaError(f"{fn}(): na.rm = TRUE is not supported")
    vals = []
    for p in pos:
        v = ev.eval(p)
        if isinstance(v, NumMatrix):
            raise DataError(f"{fn}(): matrix arguments are not supported")
        vals.append(as_numeric(v, fn))
    out = vals[0]
    op = np.minimum if fn == "pmin" else np.maximum
    for v in vals[1:]:
        out = op(out, v)  # NaN (R's NA) propagates, as with na.rm = FALSE
    return np.asarray(out, dtype=np.float64)


def _spline_fixed(fn: str, x: np.ndarray, pv: SplineKnots) -> Value:
    """R: the predvars call ``splines:::makepredictcall.ns``/``.bs`` made: ``ns(x, knots =, Boundary.knots =,
    intercept =)`` (``bs``: ``degree =`` too); new x beyond the boundary knots are extrapolated as R does
    (no warning: lme4's predict evaluates new data under ``suppressWarnings``)."""
    if fn == "ns":
        m = ns_basis(x, None, pv.knots, pv.intercept, pv.boundary)[0]
    else:
        m = bs_basis(x, None, pv.knots, pv.degree if pv.degree is not None else 3, pv.intercept, pv.boundary)[0]
    return NumMatrix(m, tuple(str(k) for k in range(1, m.shape[1] + 1)))


def _eval_spline(ev: Evaluating, node: Call, fn: str, args: dict[str, Node], x: np.ndarray) -> Value:
    """``ns``/``bs`` (R: ``splines::ns``/``bs``) with their arguments matched."""
    what = f"{fn}()"
    df = ev.const(args["df"], what) if "df" in args else None
    knots = _numbers(ev.const(args["knots"], what), f"{fn}(knots =)") if "knots" in args else None
    intercept = ev.const(args["intercept"], what) is True if "intercept" in args else False
    bk = _numbers(ev.const(args["Boundary.knots"], what), f"{fn}(Boundary.knots =)") \
        if "Boundary.knots" in args else None
    if bk is not None and len(bk) != 2:
        raise FormulaError(f"{fn}(): Boundary.knots must be two numbers")
    if df is not None:
        df = _numbers(df, f"{fn}(df =)")[0]
    if fn == "ns":
        m, kn, bkn = ns_basis(x, df, knots, intercept, bk)
        ev.made[node] = SplineKnots(tuple(map(float, kn)), (float(bkn[0]), float(bkn[1])), intercept)
    else:
        degree = _numbers(ev.const(args["degree"], what), "bs(degree =)")[0] if "degree" in args else 3
        if degree != int(degree):
            raise FormulaError("bs(): degree must be a whole number")
        m, kn, bkn, outside = bs_basis(x, df, knots, int(degree), intercept, bk)
        if outside:
            warnings.warn("some 'x' values beyond boundary knots may cause ill-conditioned bases", LmeWarning,
                          stacklevel=2)
        ev.made[node] = SplineKnots(tuple(map(float, kn)), (float(bkn[0]), float(bkn[1])), intercept, int(degree))
    return NumMatrix(m, tuple(str(k) for k in range(1, m.shape[1] + 1)))


def _eval_cut(ev: Evaluating, args: dict[str, Node], x: np.ndarray) -> Value:
    """``cut`` (R: ``base::cut.default``) with its arguments matched."""
    what = "cut()"
    breaks = _numbers(ev.const(args["breaks"], what), "cut(breaks =)")
    labels = ev.const(args["labels"], what) if "labels" in args else None
    if labels is True or (labels is not None and labels is not False and not (
            isinstance(labels, (list, str)) and all(isinstance(v, str) for v in np.atleast_1d(labels)))):
        raise FormulaError("cut(): labels must be FALSE or strings")
    if isinstance(labels, str):
        labels = [labels]

    def flag(k: str, d: bool) -> bool:
        return (ev.const(args[k], what) is True) if k in args else d

    dig = int(_numbers(ev.const(args["dig.lab"], what), "cut(dig.lab =)")[0]) if "dig.lab" in args else 3
    codes, labs = cut(x, breaks, labels, flag("include.lowest", False), flag("right", True), dig)
    if labs is None:  # labels = FALSE: R's integer codes
        return codes + 1 if (codes >= 0).all() else np.where(codes < 0, np.nan, codes + 1.0)
    return Factor(codes, labs)
