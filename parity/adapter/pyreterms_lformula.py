"""The Python side of a comparison: run an implementation and name its results as R expressions.

The default implementation is ``pyreterms``.  ``--impl module:function`` audits any other callable
with the same contract (see README "Auditing another implementation"): it is called as
``fn(formula: str, data: pandas.DataFrame, *, REML: bool, level: str, weights, offset, contrasts)``
(plus ``theta=`` at level "fit": the oracle's fitted theta, where ``devfun(theta)`` and the PLS
state are to be evaluated) and returns a ``dict`` mapping component names (the R expressions of
``r_scripts/reference.R``, registered in :mod:`parity.components`) to
:mod:`parity.r.values` values, or raises an exception to refuse the design (``parity.adapter.impl.Unsupported``:
an input it does not model, reported *not compared*).  Components it leaves out are *not provided*
(:mod:`parity.compare.selection`).  This module is where 0-based Python indices become R's 1-based ones
(``parity.adapter.impl`` has the helpers for other implementations).
"""
from __future__ import annotations

import contextlib
import importlib
import io
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

import pyreterms
from parity.adapter.pyreterms_fit import at_theta, fit_components
from parity.adapter.pyreterms_verbs import verb_components
from parity.adapter.rbuild import chr_vector as _chr
from parity.adapter.rbuild import dbl_vector as _dbl
from parity.adapter.rbuild import factor_value
from parity.adapter.rbuild import int_vector as _int
from parity.compare.notcompared import NotCompared
from parity.components import DEVFUN_ONLY, VERBOSE_OUTPUT
from parity.r.rcall import current as current_call
from parity.r.values import RError, RList, RMatrix, RNull, RSparse, RValue, RVector
from pyreterms.errors import LmeMessage, LmeWarning, PyretermsError
from pyreterms.formula.values import Character, Factor, Logical, NumMatrix
from pyreterms.lmm.argchecks import r_if, verbose_level
from pyreterms.lmm.fit import get_start, lmer_from_parts, reml_of

Impl = Callable[..., dict[str, RValue]]

LF = "lFormula()"


def frame_value(v) -> RValue:
    """A model-frame column as the R object it is in ``lFormula()$fr``."""
    if isinstance(v, Factor):
        return factor_value(v)
    if isinstance(v, Logical):
        return RVector(v.values.astype(bool), None, "logical")
    if isinstance(v, Character):
        return RVector(v.values.astype(object), None, "character")
    if isinstance(v, NumMatrix):
        return RMatrix(v.values, None, v.colnames)
    arr = np.asarray(v)
    if np.issubdtype(arr.dtype, np.integer):
        return _int(arr)
    return _dbl(arr)


def lformula_components(lf) -> dict[str, RValue]:
    """Every ``lFormula()`` component pyreterms knows, named as in ``reference.R``."""
    rt = lf.reTrms
    rown, coln = rt.Zt_rownames, rt.Zt_colnames
    out: dict[str, RValue] = {}
    out[f"{LF}$fr"] = RList(tuple((k, frame_value(v)) for k, v in lf.fr.columns))
    out[f"rownames({LF}$fr)"] = _chr(lf.fr.rownames)
    out[f"{LF}$X"] = RMatrix(lf.X.X, lf.fr.rownames, lf.X.colnames or None)
    out[f'attr({LF}$X, "assign")'] = _int(lf.X.assign)
    out[f'attr({LF}$X, "col.dropped")'] = (
        _int([j for _, j in lf.X.col_dropped], [k for k, _ in lf.X.col_dropped]) if lf.X.col_dropped else RNull)
    out[f"{LF}$reTrms$Zt"] = RSparse(rt.Zt, rown, coln)
    ztl = []
    for t in rt.terms:
        rn = tuple(np.repeat(np.array(t.ff.levels, dtype=object), t.nc).tolist())
        ztl.append((t.name, RSparse(t.Zt, rn, coln)))
    out[f"{LF}$reTrms$Ztlist"] = RList(tuple(ztl))
    out[f"{LF}$reTrms$Lambdat"] = RSparse(rt.Lambdat, None, None)
    out[f"{LF}$reTrms$Lind"] = _int(rt.Lind + 1)
    out[f"{LF}$reTrms$theta"] = _dbl(rt.theta)
    out[f"{LF}$reTrms$lower"] = _dbl(rt.lower)
    out[f"{LF}$reTrms$Gp"] = _int(rt.Gp)
    out[f"{LF}$reTrms$cnms"] = RList(tuple((g, _chr(c)) for g, c in rt.cnms))
    out[f"{LF}$reTrms$flist"] = RList(tuple((g, factor_value(f)) for g, f in rt.flist))
    out[f'attr({LF}$reTrms$flist, "assign")'] = _int(rt.assign + 1)
    out[f"{LF}$reTrms$nl"] = _int([k for _, k in rt.nl], [g for g, _ in rt.nl])
    out["lapply(reTrms$flist[assign], function(f) t(fac2sparse(f)))"] = RList(tuple(
        (t.name, RSparse(t.J, None, tuple(t.ff.levels))) for t in rt.terms))
    by_formula = {k: t for k, t in zip(rt.formula_order, rt.terms, strict=False)}
    out[f"lme4:::mmList(formula, {LF}$fr)"] = RList(tuple(
        (by_formula[k].name, RMatrix(by_formula[k].Xi, lf.fr.rownames, by_formula[k].cnms))
        for k in rt.mmList_order()))
    out[f"{LF}$formula"] = _chr([lf.formula])
    return out


def pyreterms_impl(formula: str, data: pd.DataFrame, *, REML: bool = True, level: str = "lformula",
                   weights=None, offset=None, contrasts=None, theta=None) -> dict[str, RValue]:
    """The default implementation under test: pyreterms itself."""
    call = current_call()  # parity check --call: the call's control/start/subset/na.action
    extra = call.py_kwargs() if call is not None else {}
    REML = extra.get("REML", REML)  # --call: REML/weights/offset as given (read as R reads them)
    weights, offset = extra.get("weights", weights), extra.get("offset", offset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lf = pyreterms.lformula(formula, data, REML, extra.get("subset"), weights=weights, offset=offset,
                                contrasts=contrasts, na_action=extra.get("na_action", "na.omit"),
                                control=extra.get("control"))
    out = lformula_components(lf)
    lf_warnings = [str(w.message) for w in caught if issubclass(w.category, LmeWarning)]
    lf_messages = [str(w.message) for w in caught if issubclass(w.category, LmeMessage)]
    out["warnings"], out["messages"] = _chr(lf_warnings), _chr(lf_messages)
    if level == "fit":
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if extra:  # lmer's order: REML (mkLmerDevfun), devFunOnly, start (getStart), verbose
                lf = reml_of(lf)
                r_if(extra.get("devFunOnly", False), "devFunOnly")
                ctrl = _with_start(lf, extra)
                verbose_level(extra.get("verbose", 0))
            fit = lmer_from_parts(lf, ctrl) if extra else lmer_from_parts(lf)
        # lmer() runs lFormula() first, so its conditions include lFormula's
        out["lmer(): warnings"] = _chr(lf_warnings + [str(w.message) for w in caught
                                                      if issubclass(w.category, LmeWarning)])
        out["lmer(): messages"] = _chr(lf_messages + [str(w.message) for w in caught
                                                      if issubclass(w.category, LmeMessage)])
        out.update(fit_components(fit, theta=theta))
        out.update(verb_components(fit if theta is None else at_theta(fit, theta), data, formula))
        if call is not None and "verbose" in call.r_text and verbose_level(call.verbose) > 0:
            out[VERBOSE_OUTPUT] = _verbose_output(formula, data, REML, weights, offset, contrasts, extra,
                                                  verbose_level(call.verbose))
        if call is not None and "devFunOnly" in call.r_text and r_if(call.dev_fun_only, "devFunOnly"):
            out[DEVFUN_ONLY] = _dev_fun_only(formula, data, REML, weights, offset, contrasts, extra,
                                             fit.theta if theta is None else theta, lf.reTrms.theta)
    return out


def _verbose_output(formula, data, REML, weights, offset, contrasts, extra, verbose: int) -> RValue:
    """R: ``capture.output(lmer(..., verbose = N))``: the lines the optimizer prints."""
    buf = io.StringIO()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(buf):
            warnings.simplefilter("ignore")
            pyreterms.lmer(formula, data, REML, extra.get("control"), extra.get("start"), verbose,
                           subset=extra.get("subset"), weights=weights, na_action=extra.get("na_action", "na.omit"),
                           offset=offset, contrasts=contrasts)
    except PyretermsError as e:
        return RError(str(e))
    return _chr(buf.getvalue().splitlines())


def _dev_fun_only(formula, data, REML, weights, offset, contrasts, extra, theta, theta0) -> RValue:
    """R: ``vapply(list(theta, theta/2, 2*theta, start), lmer(..., devFunOnly = TRUE), 0)``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dfun = pyreterms.lmer(formula, data, REML, extra.get("control"), extra.get("start"),
                                  subset=extra.get("subset"), weights=weights,
                                  na_action=extra.get("na_action", "na.omit"), offset=offset,
                                  contrasts=contrasts, dev_fun_only=True)
        th = np.asarray(theta, dtype=np.float64)
        return _dbl([float(dfun(p)) for p in (th, th / 2, 2 * th, np.asarray(theta0, dtype=np.float64))])
    except PyretermsError as e:
        return RError(str(e))


def _with_start(lf, extra: dict):
    """The --call's lmerControl with its start (R: lmer(start = ) -> getStart)."""
    from dataclasses import replace


    theta0 = get_start(extra.get("start"), len(lf.reTrms.theta))
    ctrl = extra["control"]
    return ctrl if theta0 is None else replace(ctrl, start=tuple(float(v) for v in theta0))


def load_impl(spec: str | None) -> Impl:
    """``module:function`` -> the callable (default: pyreterms)."""
    if spec is None or spec == "pyreterms":
        return pyreterms_impl
    if ":" not in spec:
        raise ValueError(f"--impl must look like 'module:function', not {spec!r}")
    mod, fn = spec.split(":", 1)
    try:
        obj = getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load implementation {spec!r}: {e}") from None
    if not callable(obj):
        raise ValueError(f"implementation {spec!r} is not callable")
    return obj


def run_impl(impl: Impl, formula: str, data: pd.DataFrame, **kw) -> dict[str, RValue]:
    """Run an implementation; a refusal becomes ``{"error": RError(message)}``."""
    try:
        return impl(formula, data, **kw)
    except NotCompared:  # the harness declined (parity.compare.notcompared): not the implementation's answer
        raise
    except Exception as e:  # an implementation under audit may raise anything: that is its answer
        kind = getattr(e, "kind", type(e).__name__)
        return {"error": RError(str(e).splitlines()[0] if str(e) else type(e).__name__, kind)}
