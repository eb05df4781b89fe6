"""R: ``update.formula(old, new)``, ``update(fit, formula, ...)`` and ``refit(fit, newresp)``.

R expressions producing the values (later parity components)::

    update.formula(y ~ x + (1 | g), . ~ . - x)      # y ~ (1 | g)
    fixef(update(fit, . ~ . - Days)); getME(update(fit, REML = FALSE), "theta")
    getME(refit(fit, newresp), "theta")

``update.formula`` is R's (``stats:::update.formula``: C ``updateform`` substitutes ``.`` on the left
by the old response and on the right by ``(old right-hand side)``, then ``formula(terms.formula(.,
simplify = TRUE))`` writes the terms back: term labels joined by ``+`` in ``terms``' order, then the
``offset()`` terms, then ``- 1`` without an intercept; ``1`` when nothing is left).
``refit`` is ``lme4:::refit.merMod``: the same model with a new response, the optimizer started at the
fit's theta.  ``update`` refits ``lmer(new formula, data, REML, weights, offset, control, contrasts)``;
pyreterms keeps no reference to the data, so without ``data=`` the fit's model frame stands in
for it (enough for formulas over the same plain variables).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from pyreterms.design.model import LFormula
from pyreterms.errors import DataError, FormulaError
from pyreterms.formula.nodes import Arg, Call, Name, Node, Num, call
from pyreterms.formula.parser import deparse, parse
from pyreterms.formula.terms import make_terms
from pyreterms.verbs.accessors import model_frame
from pyreterms.verbs.predict import fit_contrasts
from pyreterms.verbs.view import FitLike

#: operators binding less tightly than '+': R writes such a term label back in parentheses, ``(1 | g)``
_LOW = frozenset({"|", "||", "&", "&&", "==", "!=", "<", ">", "<=", ">=", "!", "~"})


def _subst_dot(node: Node, by: Node) -> Node:
    if isinstance(node, Name) and node.id == ".":
        return by
    if isinstance(node, Call):
        return Call(node.fn, tuple(Arg(_subst_dot(a.value, by), a.name) for a in node.args))
    return node


def _formula(text: str | Node) -> Call:
    tree = parse(text) if isinstance(text, str) else text
    if not (isinstance(tree, Call) and tree.fn == "~"):
        raise FormulaError(f"not a formula (no '~'): {text!r}")
    return tree


def update_formula(old: str, new: str) -> str:
    """R: ``deparse(update.formula(old, new))`` (see the module docstring)."""
    o, n = _formula(old), _formula(new)
    o_lhs = o.argv[0] if len(o.argv) == 2 else None
    o_rhs = o.argv[-1]
    n_lhs = n.argv[0] if len(n.argv) == 2 else None
    lhs: Node | None = o_lhs if n_lhs is None else (
        _subst_dot(n_lhs, o_lhs) if o_lhs is not None else n_lhs)
    rhs = _subst_dot(n.argv[-1], call("(", o_rhs))
    t = make_terms(call("~", rhs))
    parts: list[Node] = []
    for label in t.term_labels:  # R parses each term label; a label below '+' in precedence gets parentheses
        node = parse(label)
        parts.append(call("(", node) if isinstance(node, Call) and node.fn in _LOW else node)
    parts += [t.variables[i] for i in t.offsets]
    body: Node | None = None
    for p in parts:
        body = p if body is None else call("+", body, p)
    if not t.intercept:
        body = call("-", body, Num(1.0)) if body is not None else call("-", Num(1.0))
    elif body is None:
        body = Num(1.0)
    out = call("~", lhs, body) if lhs is not None else call("~", body)
    return deparse(out)


def _newresp(fit: FitLike, newresp: Any) -> np.ndarray:
    """R: ``refit``'s ``newresp``, NA-padded rows dropped (``newresp[-na.act]``) when it is as long as the data."""
    fr = fit.lf.fr
    if isinstance(newresp, pd.DataFrame):
        if newresp.shape[1] != 1:
            raise DataError("refit not implemented for 'newresp' lists of length > 1: consider 'lapply(object,refit)'")
        newresp = newresp.iloc[:, 0]
    if isinstance(newresp, pd.Series) and len(newresp) == fr.n + len(fr.dropped_rows) and fr.dropped_rows:
        newresp = newresp.drop(index=[r for r in fr.dropped_rows if r in newresp.index])
    y = np.asarray(newresp, dtype=np.float64)
    if y.ndim != 1 or len(y) != fr.n:
        raise DataError(f"refit: newresp has {y.size} values, the model frame {fr.n} rows")
    return y


def refit(fit: FitLike, newresp: Any, fit_parts: Callable[[LFormula, Any], Any],
          control: Any = None) -> Any:
    """R: ``refit(fit, newresp)``: the fit's model with response ``newresp``, the optimizer started at
    the fit's theta (``x0 <- pp$theta``).  ``fit_parts`` is :func:`pyreterms.lmm.fit.lmer_from_parts`."""
    lf = replace(fit.lf, y=_newresp(fit, newresp))
    ctrl = fit.control if control is None else control
    if isinstance(ctrl, dict):
        ctrl = replace(fit.control, **ctrl)
    if ctrl.optimizer is None:  # a fit evaluated at a given theta is refitted with lme4's default optimizer
        ctrl = replace(ctrl, optimizer="nloptwrap")
    return fit_parts(lf, replace(ctrl, start=tuple(float(t) for t in fit.theta)))


def update(fit: FitLike, lmer_fn: Callable[..., Any], formula: str | None = None,
           data: pd.DataFrame | None = None, **changes: Any) -> Any:
    """R: ``update(fit, formula, ...)``: ``lmer`` again with ``update.formula(formula(fit), formula)``
    and the changed arguments (``REML``, ``weights``, ``offset``, ``control``, ``contrasts``).
    ``lmer_fn`` is :func:`pyreterms.lmm.fit.lmer`."""
    allowed = {"REML", "weights", "offset", "control", "contrasts"}
    bad = sorted(set(changes) - allowed)
    if bad:
        raise DataError(f"update: unknown argument(s) {', '.join(bad)} (lmer takes {', '.join(sorted(allowed))}, data)")
    new_formula = fit.lf.formula if formula is None else update_formula(fit.lf.formula, formula)
    kw: dict[str, Any] = {"REML": fit.is_REML, "control": fit.control}
    if data is None:
        data = model_frame(fit)
        fr = fit.lf.fr
        if "(weights)" in fr.names:
            kw["weights"] = fit.lf.weights
        if "(offset)" in fr.names:
            kw["offset"] = np.asarray(fr.get("(offset)"), dtype=np.float64)
        data = data.drop(columns=[c for c in ("(weights)", "(offset)") if c in data.columns])
    if fit.lf.X.contrasts:
        kw["contrasts"] = fit_contrasts(fit)
    kw.update(changes)
    return lmer_fn(new_formula, data, **kw)
