"""``glformula``: lme4's ``glFormula`` (``R/modular.R``) and the response part of ``mkRespMod`` (the
family's ``initialize``, ``checkResponse``), lme4 1.1-31.

glFormula is lFormula with a family, ``allow.n = TRUE`` in ``checkNlevels``/``checkZdims`` (as many
levels or random effects as observations is legal in a GLMM), ``mustart``/``etastart`` and no REML.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pyreterms.design.checks import CheckControl, as_check_control, check_ctrl_level, wmsg
from pyreterms.design.frame import r_rownames
from pyreterms.design.lformula import lformula
from pyreterms.design.model import FixedX, LFormula, ModelFrame, ReTrms
from pyreterms.errors import DataError, LmeCheckError, LmeWarning
from pyreterms.formula.bars import subbars
from pyreterms.formula.parser import Arg, Call, deparse, parse
from pyreterms.formula.terms import make_terms
from pyreterms.formula.values import Character, Factor, Logical, NumMatrix
from pyreterms.glmm.family import Family, as_family


@dataclass(frozen=True)
class GLFormula:
    """R: the value of ``lme4::glFormula`` (``fr, X, reTrms, family, formula, wmsgs``) with the
    response as ``mkRespMod`` prepares it (``y`` rewritten by the family's ``initialize``:
    proportions for ``cbind``; ``weights`` = prior weights times totals; ``n`` the binomial totals)."""

    formula: str
    fr: ModelFrame
    X: FixedX
    reTrms: ReTrms
    family: Family
    y: np.ndarray
    weights: np.ndarray
    n: np.ndarray
    offset: np.ndarray
    mustart: np.ndarray
    etastart: np.ndarray | None
    messages: tuple[str, ...] = ()


def _raw_response(fr: ModelFrame, family: Family) -> np.ndarray:
    """R ``mkRespMod``: the response as numbers (binomial factor: first level = failure)."""
    y = fr.columns[0][1]
    if isinstance(y, NumMatrix):
        out = np.asarray(y.values, dtype=np.float64)
        if out.shape[1] == 1:
            out = out[:, 0]
    elif isinstance(y, Factor) and family.family == "binomial":
        out = np.where(y.codes < 0, np.nan, (y.codes != 0).astype(np.float64))
    elif isinstance(y, Logical):
        out = np.where(y.na, np.nan, y.values.astype(np.float64))
    elif isinstance(y, (Factor, Character)):
        raise DataError("response must be numeric or factor" if family.family == "binomial"
                        else "response must be numeric")
    else:
        out = np.asarray(y, dtype=np.float64)
    if not np.all(np.isfinite(out)):
        raise DataError("NA/NaN/Inf in 'y'")
    return out


def _rows(data: pd.DataFrame, fr: ModelFrame, v: npt.ArrayLike, what: str) -> np.ndarray:
    """A per-row argument (``mustart``, ``etastart``) restricted to the frame's rows, as model.frame does."""
    a = np.asarray(v, dtype=np.float64)
    if a.ndim != 1 or a.size != len(data):
        raise DataError(f"variable lengths differ (found for '({what})')")
    keep = np.isin(np.asarray(r_rownames(data)), np.asarray(fr.rownames))
    return a[keep]


def _allow_n_checks(reTrms: ReTrms, n: int, ctrl: CheckControl) -> list[str]:
    """R: ``checkNlevels(..., allow.n = TRUE)`` (nobs.vs.nlev part) and ``checkZdims(..., allow.n = TRUE)``."""
    out: list[str] = []
    cc = ctrl.check_nobs_vs_nlev
    bad = [name for name, f in reTrms.flist if f.nlevels > n]
    if cc != "ignore" and bad:
        msg = f"number of levels of each grouping factor must be < number of observations (problems: {', '.join(bad)})"
        if cc == "stop":
            raise LmeCheckError(msg, check="check.nobs.vs.nlev")
        if cc == "warning":
            warnings.warn(msg, LmeWarning, stacklevel=4)
        out.append(msg)
    cc = ctrl.check_nobs_vs_nRE
    if cc != "ignore":
        for name, Zt in reTrms.Ztlist:
            rows = int(Zt.shape[0])
            _, w = wmsg(n, rows, "number of observations", "number of random effects", f" for term ({name})")
            w = w.replace(" <= ", " < ").replace(" and the residual variance (or scale parameter)", "")
            if n < rows:
                if cc == "stop":
                    raise LmeCheckError(w, check="check.nobs.vs.nRE")
                if cc == "warning":
                    warnings.warn(w, LmeWarning, stacklevel=4)
                out.append(w)
    out += _zrank_allow_n(reTrms, n, ctrl)
    return out


def _zrank_allow_n(reTrms: ReTrms, n: int, ctrl: CheckControl) -> list[str]:
    """R: ``checkZrank(Zt, n, control, nonSmall = 1e6, allow.n = TRUE)`` (unidentifiable when n < rank(Z))."""
    cc = ctrl.check_nobs_vs_rankZ
    if cc == "ignore":
        return []
    check_ctrl_level("check.nobs.vs.rankZ", cc, small_ok=True)
    Zt = reTrms.Zt
    if "Small" in cc and Zt.shape[0] * Zt.shape[1] > 1e6:
        return []
    rank = int(np.linalg.matrix_rank(Zt.toarray())) if min(Zt.shape) else 0
    if not n < rank:
        return []
    w = (f"number of observations (={n}) < rank(Z) (={rank}); the random-effects parameters are probably "
         "unidentifiable")
    if cc.startswith("warning"):
        warnings.warn(w, LmeWarning, stacklevel=4)
    elif cc.startswith("stop"):
        raise LmeCheckError(w, check="check.nobs.vs.rankZ")
    else:
        raise LmeCheckError("unknown check level for 'check.nobs.vs.rankZ'", check="check.nobs.vs.rankZ")
    return [w]


def _unexpanded(formula: str, lf: LFormula) -> tuple[str, ModelFrame]:
    """The formula and frame column order of lme4 1.1-31's ``glFormula``, which (unlike ``lFormula``) does
    not call ``expandDoubleVerts``: ``formula`` keeps ``(x || g)`` and the frame's variables follow
    ``subbars`` of the formula as written (``x + g``, not ``g + x``); the random-effects terms are the
    same (``findbars`` expands ``||`` itself)."""
    if "||" not in formula:
        return lf.formula, lf.fr
    tree = parse(formula)
    assert isinstance(tree, Call)
    frame_form = Call("~", tree.args[:-1] + (Arg(subbars(tree.argv[-1])),))
    order = [deparse(v) for v in make_terms(frame_form).variables]
    rank = {name: i for i, name in enumerate(order)}
    cols = sorted(lf.fr.columns, key=lambda kv: rank.get(kv[0], len(order)))  # (weights), (offset) stay last
    return deparse(tree), replace(lf.fr, columns=tuple(cols))


def glformula(formula: str, data: pd.DataFrame, family: Any = "gaussian", subset: str | None = None, *,
              weights: str | npt.ArrayLike | None = None, na_action: str = "na.omit",
              offset: str | npt.ArrayLike | None = None, contrasts: dict[str, object] | None = None,
              mustart: npt.ArrayLike | None = None, etastart: npt.ArrayLike | None = None,
              control: Any = None) -> GLFormula | LFormula:
    """R: ``lme4::glFormula(formula, data, family, subset, weights, na.action, offset, contrasts,
    mustart, etastart, control)``.

    ``family`` is a name (``"binomial"``, ``"poisson"``, ``"Gamma"``, ``"inverse.gaussian"``,
    ``"gaussian"``), a constructor or a :class:`~pyreterms.glmm.family.Family` (``binomial("probit")``).
    gaussian with the identity link returns ``lformula(...)`` (lme4 re-dispatches to lFormula); quasi
    families are refused.  Binomial responses: 0/1 (numeric, logical or factor), proportions with
    ``weights``, or ``cbind(successes, failures)``.
    """
    fam = as_family(family)
    if fam.family == "gaussian" and fam.link == "identity":
        return lformula(formula, data, REML=True, subset=subset, weights=weights, na_action=na_action,
                        offset=offset, contrasts=contrasts, control=control)
    ctrl = as_check_control(control)
    for name in ("check.nobs.vs.nlev", "check.nobs.vs.nRE"):
        check_ctrl_level(name, getattr(ctrl, name.replace(".", "_")))
    relaxed = replace(ctrl, check_nobs_vs_nlev="ignore", check_nobs_vs_nRE="ignore", check_nobs_vs_rankZ="ignore")
    lf = lformula(formula, data, REML=False, subset=subset, weights=weights, na_action=na_action, offset=offset,
                  contrasts=contrasts, control=relaxed)
    messages = list(lf.messages) + _allow_n_checks(lf.reTrms, lf.fr.n, ctrl)
    if np.any(lf.weights < 0):
        raise DataError("all(weights >= 0) is not TRUE")  # lme4 mkRespMod's stopifnot
    yraw = _raw_response(lf.fr, fam)
    y, w, n, mu0 = fam.initialize(yraw, lf.weights.copy())
    if y.ndim == 2:  # R: glmResp's y field is a plain vector: a matrix the family kept is read column-wise
        y, mu0 = y.ravel(order="F"), np.asarray(mu0).ravel(order="F")
    if mustart is not None:
        mu0 = _rows(data, lf.fr, mustart, "mustart")
    eta0 = None if etastart is None else _rows(data, lf.fr, etastart, "etastart")
    if getattr(control, "check_response_not_const", "stop") == "stop" and np.unique(y).size < 2:
        # lme4 checks in mkGlmerDevfun (glmer); its other levels: pyreterms.glmm.control.check_response
        raise LmeCheckError("Response is constant", check="check.response.not.const")
    form, fr = _unexpanded(formula, lf)
    extra = tuple((f"({k})", v) for k, v, given in (("mustart", mu0, mustart), ("etastart", eta0, etastart))
                  if given is not None)
    if extra:  # R: glFormula's model.frame carries them as columns, after (weights) and (offset)
        fr = replace(fr, columns=fr.columns + extra)
    return GLFormula(formula=form, fr=fr, X=lf.X, reTrms=lf.reTrms, family=fam, y=y, weights=w, n=n,
                     offset=lf.offset, mustart=mu0, etastart=eta0, messages=tuple(messages))
