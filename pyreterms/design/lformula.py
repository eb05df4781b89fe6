"""``lformula``: the Python counterpart of ``lme4::lFormula`` (``R/modular.R:335``, lme4 1.1-31).

Pipeline (same order as R, so that the same check fires first): parse and allowlist the formula ->
expand ``||`` -> model frame of ``subbars(formula)`` (na.omit, drop unused levels, factorize) ->
``mkReTrms(findbars(formula))`` -> checkNlevels, checkZdims, NA in Z -> fixed X =
``model.matrix(nobars(formula), fr, contrasts)`` -> rank check (dqrdc2) -> scale check.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from pyreterms.design.frame import model_frame
from pyreterms.design.model import FixedX, LFormula, ModelFrame, ReTrms
from pyreterms.design.modelmatrix import model_matrix
from pyreterms.design.rank import check_scale_x, drop_rank_deficient, pivot_rest
from pyreterms.design.reterms import mk_reterms
from pyreterms.errors import DataError, FormulaError, LmeCheckError, LmeMessage, LmeWarning
from pyreterms.formula.bars import expand_double_verts, findbars, fixed_formula, subbars
from pyreterms.formula.evaluate import check_allowlist
from pyreterms.formula.parser import Arg, Call, deparse, parse
from pyreterms.formula.terms import make_terms
from pyreterms.formula.values import Character, Factor, Logical, NumMatrix


def parse_formula(formula: str) -> Call:
    """Parse, allowlist and ``||``-expand a two-sided formula (R: ``lFormula``'s first steps)."""
    tree = parse(formula)
    check_allowlist(tree)
    if not (isinstance(tree, Call) and tree.fn == "~"):
        raise FormulaError(f"not a formula (no '~'): {formula!r}")
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


def _check_nlevels(reTrms: ReTrms, n: int) -> None:
    nlev = [(name, f.nlevels) for name, f in reTrms.flist]
    if any(k < 2 for _, k in nlev):
        raise LmeCheckError("grouping factors must have > 1 sampled level", check="check.nlev.gtr.1")
    bad = [name for name, k in nlev if k >= n]
    if bad:
        raise LmeCheckError("number of levels of each grouping factor must be < number of observations "
                            f"(problems: {', '.join(bad)})", check="check.nobs.vs.nlev")


def _check_zdims(reTrms: ReTrms, n: int) -> None:
    for name, Zt in reTrms.Ztlist:
        rows = Zt.shape[0]
        if n <= rows:
            raise LmeCheckError(
                f"number of observations (={n}) <= number of random effects (={rows}) for term ({name}); "
                "the random-effects parameters and the residual variance (or scale parameter) are "
                "probably unidentifiable", check="check.nobs.vs.nRE")


def lformula(formula: str, data: pd.DataFrame, REML: bool = True, *, weights: str | npt.ArrayLike | None = None,
             offset: str | npt.ArrayLike | None = None, contrasts: Mapping[str, object] | None = None) -> LFormula:
    """R: ``lme4::lFormula(formula, data, REML, weights, offset, contrasts)``.

    ``weights``/``offset`` are column names or arrays; ``contrasts`` maps factor names to
    ``"contr.treatment"``, ``"contr.sum"``, ``"contr.helmert"``, ``"contr.poly"`` or ``"contr.SAS"``
    and, as in lme4, applies to the fixed-effects X only.  Raises :class:`FormulaError`,
    :class:`DataError` or :class:`LmeCheckError` where lme4 stops; gives :class:`LmeWarning` /
    :class:`LmeMessage` where lme4 warns or messages (also recorded in ``.messages``).
    """
    with np.errstate(all="ignore"):  # R computes with Inf/NaN silently; lme4's checks decide (no numpy warnings)
        return _lformula(formula, data, REML, weights=weights, offset=offset, contrasts=contrasts)


def _lformula(formula: str, data: pd.DataFrame, REML: bool, *, weights: str | npt.ArrayLike | None,
              offset: str | npt.ArrayLike | None, contrasts: Mapping[str, object] | None) -> LFormula:
    tree = parse_formula(formula)
    lhs, rhs = tree.argv
    frame_form = Call("~", (Arg(lhs), Arg(subbars(rhs))))
    fr, _ = model_frame(frame_form, data, weights=weights, offset=offset)
    n = fr.n
    if n == 0:
        raise DataError("0 (non-NA) cases")
    messages: list[str] = []
    bars = findbars(rhs)
    reTrms = mk_reterms(bars, fr)
    _check_nlevels(reTrms, n)
    _check_zdims(reTrms, n)
    if np.isnan(reTrms.Zt.data).any():
        raise LmeCheckError("NA in Z (random-effects model matrix): please use \"na.action='na.omit'\" "
                            "or \"na.action='na.exclude'\"", check="NA in Z")
    fixed = fixed_formula(tree)
    if data.attrs.get("contrasts") if isinstance(data, pd.DataFrame) else False:
        # lFormula evaluates the fixed-part model frame once more (fixedfr): R warns again there when a
        # factor with a contrasts attribute loses a level (pyreterms.design.dataframe)
        model_frame(fixed, data, weights=weights, offset=offset)
    fterms = make_terms(fixed)
    mm = model_matrix(fterms, fr, dict(contrasts or {}))
    if not np.isfinite(mm.X).all():  # before the rank check, which stops on them in R (and warns in numpy)
        bad = [mm.colnames[j] for j in range(mm.X.shape[1]) if not np.isfinite(mm.X[:, j]).all()]
        raise DataError(f"infinite values in the fixed-effects model matrix (column {', '.join(bad)}): lme4's rank "
                        "check stops with 'NA/NaN/Inf in foreign function call'")
    Xk, keep, msg = drop_rank_deficient(mm.X, mm.colnames)
    col_dropped: tuple[tuple[str, int], ...] = ()
    if msg is not None:
        messages.append(msg)
        warnings.warn(msg, LmeMessage, stacklevel=2)
        # R: setNames(qr.X$pivot[(rnkX + 1L):p], colnames(X[, -keep])): values in pivot order, names in
        # column order (R pairs them as they come, so they can mismatch; we reproduce that)
        dropped_cols = [j for j in range(mm.X.shape[1]) if j not in keep]
        dropped_pivot = [int(j) for j in pivot_rest(mm.X, keep)]
        col_dropped = tuple((mm.colnames[j], k + 1) for j, k in zip(dropped_cols, dropped_pivot, strict=False))
    X = FixedX(X=Xk, colnames=tuple(mm.colnames[j] for j in keep), assign=tuple(mm.assign[j] for j in keep),
               col_dropped=col_dropped, contrasts=mm.contrasts)
    smsg = check_scale_x(X.X)
    if smsg is not None:
        messages.append(smsg)
        warnings.warn(smsg, LmeWarning, stacklevel=2)
    y = _response(fr)
    w = fr.get("(weights)") if "(weights)" in fr.names else np.ones(n)
    off = np.zeros(n)
    for name, v in fr.columns:
        if name == "(offset)" or name.startswith("offset("):
            off = off + np.asarray(v, dtype=np.float64)
    return LFormula(formula=deparse(tree), fr=fr, y=y, X=X, reTrms=reTrms, REML=REML,
                    weights=np.asarray(w, dtype=np.float64), offset=off, messages=tuple(messages))
