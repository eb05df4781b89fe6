"""``lformula``: the Python counterpart of ``lme4::lFormula`` (``R/modular.R:335``, lme4 1.1-31).

Pipeline (same order as R, so that the same check fires first): parse and allowlist the formula ->
expand ``||`` -> model frame of ``subbars(formula)`` (na.omit, drop unused levels, factorize) ->
``mkReTrms(findbars(formula))`` -> checkNlevels, checkZdims, NA in Z -> fixed X =
``model.matrix(nobars(formula), fr, contrasts)`` -> rank check (dqrdc2) -> scale check.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pyreterms.design.checks import (
    RANKX_KINDS,
    SCALEX_KINDS,
    CheckControl,
    as_check_control,
    check_ctrl_level,
    check_kind,
    check_nlevels,
    check_zdims,
    check_zrank,
    emit,
)
from pyreterms.design.frame import DataColumns, frame_variables, model_frame
from pyreterms.design.model import FixedX, LFormula, ModelFrame
from pyreterms.design.modelmatrix import ModelMatrix, model_matrix
from pyreterms.design.rank import check_scale_x, dqrdc2_rank_pivot, drop_rank_deficient, pivot_rest
from pyreterms.design.reterms import mk_reterms
from pyreterms.errors import DataError, FormulaError, LmeCheckError, LmeWarning
from pyreterms.formula.bars import expand_double_verts, findbars, fixed_formula, subbars
from pyreterms.formula.dot import expand_dot, has_dot
from pyreterms.formula.evaluate import check_allowlist
from pyreterms.formula.parser import Arg, Call, Node, deparse, parse
from pyreterms.formula.terms import make_terms
from pyreterms.formula.values import Character, Factor, Logical, NumMatrix


def parse_formula(formula: str, lhs_required: bool = True) -> Call:
    """Parse, allowlist and ``||``-expand a two-sided formula (R: ``lFormula``'s first steps); with
    ``lhs_required=False`` (R: ``check.formula.LHS = "ignore"``) a one-sided formula too."""
    tree = parse(formula)
    check_allowlist(tree)
    if not (isinstance(tree, Call) and tree.fn == "~"):
        raise FormulaError(f"not a formula (no '~'): {formula!r}")
    if len(tree.args) == 1 and not lhs_required:
        return Call("~", (Arg(expand_double_verts(tree.argv[0])),))
    if len(tree.args) != 2:
        raise FormulaError(f"the formula {formula!r} has no response: lme4 needs 'response ~ terms'")
    lhs, rhs = tree.argv
    return Call("~", (Arg(lhs), Arg(expand_double_verts(rhs))))


def _response(fr: ModelFrame) -> np.ndarray | None:
    """The numeric response, or None when it is not numeric: lFormula accepts any response and
    lme4 refuses it later, in ``mkRespMod`` (``lmer``), with "response must be numeric"."""
    name, y = fr.columns[0]
    if isinstance(y, (Factor, Character, NumMatrix)):
        return None
    if isinstance(y, Logical):
        return y.values.astype(np.float64)  # lme4 silently fits a logical response as 0/1
    return np.asarray(y, dtype=np.float64)


def _rank_check(mm: ModelMatrix, rank_kind: str, messages: list[str]) -> FixedX:
    """R: ``chkRank.drop.cols(X, kind = check.rankX, tol = 1e-7)``."""
    check_kind(rank_kind, RANKX_KINDS, "check.rankX")
    if rank_kind == "ignore":
        Xk, keep, msg = mm.X, tuple(range(mm.X.shape[1])), None
    elif rank_kind == "stop.deficient":
        Xk, keep, msg = mm.X, tuple(range(mm.X.shape[1])), None
        p = mm.X.shape[1]
        rX = dqrdc2_rank_pivot(mm.X, 1e-7)[0] if p else 0
        if rX < p:
            raise LmeCheckError(f"the fixed-effects model matrix is column rank deficient (rank(X) = {rX} < {p} = p);"
                                "\nthe fixed effects will be jointly unidentifiable", check="check.rankX")
    else:
        Xk, keep, msg = drop_rank_deficient(mm.X, mm.colnames)
    col_dropped: tuple[tuple[str, int], ...] = ()
    if msg is not None:
        messages.append(msg)
        if rank_kind != "silent.drop.cols":
            emit("warning" if rank_kind == "warn+drop.cols" else "message", msg)
        # R: setNames(qr.X$pivot[(rnkX + 1L):p], colnames(X[, -keep])): values in pivot order, names in
        # column order (R pairs them as they come, so they can mismatch; we reproduce that)
        dropped_cols = [j for j in range(mm.X.shape[1]) if j not in keep]
        dropped_pivot = [int(j) for j in pivot_rest(mm.X, keep)]
        col_dropped = tuple((mm.colnames[j], k + 1) for j, k in zip(dropped_cols, dropped_pivot, strict=False))
    return FixedX(X=Xk, colnames=tuple(mm.colnames[j] for j in keep), assign=tuple(mm.assign[j] for j in keep),
                  col_dropped=col_dropped, contrasts=mm.contrasts)


def _scale_check(X: FixedX, scale_kind: str, messages: list[str]) -> FixedX:
    """R: ``checkScaleX(X, kind = check.scaleX)`` (the *rescale kinds divide non-0/1 columns by their sd)."""
    check_kind(scale_kind, SCALEX_KINDS, "check.scaleX")
    smsg = None if scale_kind == "ignore" else check_scale_x(X.X)
    if smsg is None:
        return X
    if scale_kind == "stop":
        raise LmeCheckError(smsg, check="check.scaleX")
    if scale_kind == "warning":
        messages.append(smsg)
        warnings.warn(smsg, LmeWarning, stacklevel=4)
        return X
    smsg = "Some predictor variables are on very different scales: auto-rescaled (results NOT adjusted)"
    cont = ~((X.X == 0.0) | (X.X == 1.0)).all(axis=0)
    Xs = X.X.copy()
    Xs[:, cont] = Xs[:, cont] / Xs[:, cont].std(axis=0, ddof=1)
    messages.append(smsg)
    if scale_kind == "warn+rescale":
        warnings.warn(smsg, LmeWarning, stacklevel=4)
    return replace(X, X=Xs)


def _expand(formula: Call, names: list[str]) -> Call:
    try:
        return expand_dot(formula, names)
    except ValueError as e:
        raise FormulaError(str(e)) from None


def lformula(formula: str, data: pd.DataFrame, REML: bool = True, subset: str | None = None, *,
             weights: str | npt.ArrayLike | None = None, na_action: str = "na.omit",
             offset: str | npt.ArrayLike | None = None, contrasts: Mapping[str, object] | None = None,
             control: Any = None, **kwargs: Any) -> LFormula:
    """R: ``lme4::lFormula(formula, data, REML, subset, weights, na.action, offset, contrasts, control)``.

    ``subset`` is R expression text (evaluated with the formula allowlist); ``na_action`` (also
    ``**{"na.action": ...}``) is ``"na.omit"``, ``"na.exclude"``, ``"na.fail"`` or ``"na.pass"``;
    ``control`` is ``lmerControl(...)`` (only its ``checkControl`` part is used here, as in R), a
    :class:`~pyreterms.design.checks.CheckControl` or a dict of check names.

    ``weights``/``offset`` are column names or arrays; ``contrasts`` maps factor names to
    ``"contr.treatment"``, ``"contr.sum"``, ``"contr.helmert"``, ``"contr.poly"`` or ``"contr.SAS"``
    and, as in lme4, applies to the fixed-effects X only.  Raises :class:`FormulaError`,
    :class:`DataError` or :class:`LmeCheckError` where lme4 stops; gives :class:`LmeWarning` /
    :class:`LmeMessage` where lme4 warns or messages (also recorded in ``.messages``).
    """
    na_action = str(kwargs.pop("na.action", na_action))
    if kwargs:
        raise TypeError(f"lformula() got unexpected arguments: {', '.join(map(repr, kwargs))}")
    ctrl = as_check_control(control)
    check_ctrl_level("check.formula.LHS", ctrl.check_formula_LHS)
    with np.errstate(all="ignore"):  # R computes with Inf/NaN silently; lme4's checks decide (no numpy warnings)
        return _lformula(formula, data, REML, weights=weights, offset=offset, contrasts=contrasts,
                         subset=subset, na_action=na_action, ctrl=ctrl)


def _contrasts_arg(contrasts: object) -> dict[str, object]:
    """R 4.2's model.matrix.default on a ``contrasts.arg`` that is not a named list: a non-list warns
    "non-list contrasts argument ignored"; an unnamed list stops."""
    if contrasts is None:
        return {}
    if isinstance(contrasts, Mapping):
        return dict(contrasts)
    if isinstance(contrasts, (list, tuple)):
        raise DataError("'contrasts.arg' argument must be named")
    warnings.warn("non-list contrasts argument ignored", LmeWarning, stacklevel=5)
    return {}


@dataclass(frozen=True, eq=False)
class FormulaParts:
    """What lFormula derives from the formula text alone: the parsed, allowlisted and
    ``||``-expanded tree, the model-frame formula (``subbars``), whether it has a ``.`` and the
    deparsed formula; the later formula-only steps (the frame's variables, ``findbars``, ``nobars``,
    ``terms``) are memoised by :meth:`once` when first asked for, at R's point of the pipeline, so a
    bad formula still fails with the same error at the same step.  One instance per formula is cached
    (:func:`formula_parts`): trees and terms are read-only."""

    tree: Call
    frame_form: Call
    dot: bool
    deparsed: str
    memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()`` the first time ``key`` is asked for, the same value afterwards (an exception is
        not remembered: it is raised again on the next call)."""
        try:
            return self.memo[key]
        except KeyError:
            val = self.memo[key] = make()
            return val

    @property
    def rhs(self) -> Node:
        return self.tree.argv[-1]


@functools.lru_cache(maxsize=128)
def formula_parts(formula: str, lhs_required: bool = True) -> FormulaParts:
    """:class:`FormulaParts` of a formula (cached; a formula that fails raises each time)."""
    tree = parse_formula(formula, lhs_required=lhs_required)
    rhs = tree.argv[-1]
    return FormulaParts(tree=tree, frame_form=Call("~", tree.args[:-1] + (Arg(subbars(rhs)),)),
                        dot=has_dot(rhs), deparsed=deparse(tree))


def _lformula(formula: str, data: pd.DataFrame, REML: bool, *, weights: str | npt.ArrayLike | None,
              offset: str | npt.ArrayLike | None, contrasts: Mapping[str, object] | None,
              subset: str | None, na_action: str, ctrl: CheckControl) -> LFormula:
    parts = formula_parts(formula, lhs_required=ctrl.check_formula_LHS == "stop")
    tree = parts.tree
    one_sided = len(tree.args) == 1  # check.formula.LHS other than "stop": lFormula without a response
    frame_form = parts.frame_form
    dot = parts.dot
    if dot:  # R: model.frame's terms.formula(data = data) expands '.' against the data's columns
        frame_form = _expand(frame_form, DataColumns(data).names)
    variables = None if dot else parts.once("variables", lambda: frame_variables(frame_form))
    fr, _ = model_frame(frame_form, data, weights=weights, offset=offset, subset=subset, na_action=na_action,
                        lhs_vars_char_only=not one_sided, variables=variables)
    n = fr.n
    if n == 0:
        raise DataError("0 (non-NA) cases")
    messages: list[str] = []
    reTrms = mk_reterms(list(parts.once("bars", lambda: findbars(parts.rhs))), fr)
    messages += check_nlevels([(name, f.nlevels) for name, f in reTrms.flist], n, ctrl)
    messages += check_zdims([(name, Zt.shape[0]) for name, Zt in reTrms.Ztlist], n, ctrl)
    if np.isnan(reTrms.Zt.data).any():
        raise LmeCheckError("NA in Z (random-effects model matrix): please use \"na.action='na.omit'\" "
                            "or \"na.action='na.exclude'\"", check="NA in Z")
    messages += check_zrank(reTrms.Zt, n, ctrl)
    fixed = parts.once("fixed", lambda: fixed_formula(tree))
    if data.attrs.get("contrasts") if isinstance(data, pd.DataFrame) else False:
        # lFormula evaluates the fixed-part model frame once more (fixedfr): R warns again there when a
        # factor with a contrasts attribute loses a level (pyreterms.design.dataframe)
        model_frame(_expand(fixed, DataColumns(data).names) if dot else fixed, data, weights=weights,
                    offset=offset, subset=subset, na_action=na_action)
    if dot:  # R: model.matrix(fixedform, fr) expands '.' again, against the frame's column names
        fixed = _expand(fixed, list(fr.names))
    fterms = make_terms(fixed) if dot else parts.once("fterms", lambda: make_terms(fixed))
    mm = model_matrix(fterms, fr, _contrasts_arg(contrasts))
    if not np.isfinite(mm.X).all():  # before the rank check, which stops on them in R (and warns in numpy)
        bad = [mm.colnames[j] for j in range(mm.X.shape[1]) if not np.isfinite(mm.X[:, j]).all()]
        raise DataError(f"infinite values in the fixed-effects model matrix (column {', '.join(bad)}): lme4's rank "
                        "check stops with 'NA/NaN/Inf in foreign function call'")
    X = _scale_check(_rank_check(mm, ctrl.check_rankX, messages), ctrl.check_scaleX, messages)
    y = None if one_sided else _response(fr)
    w = fr.get("(weights)") if "(weights)" in fr.names else np.ones(n)
    off = np.zeros(n)
    for name, v in fr.columns:
        if name == "(offset)" or name.startswith("offset("):
            off = off + np.asarray(v, dtype=np.float64)
    return LFormula(formula=parts.deparsed, fr=fr, y=y, X=X, reTrms=reTrms, REML=REML,
                    weights=np.asarray(w, dtype=np.float64), offset=off, messages=tuple(messages))
