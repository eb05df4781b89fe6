"""The Python side of a GLMM comparison: pyreterms' ``glformula`` / ``glmer`` named as
``r_scripts/glmm_reference.R`` names lme4's ``glFormula()`` / ``glmer()`` components.

R equivalents: ``lme4::glFormula``, ``lme4:::mkRespMod`` (y, weights, offset, n as the family's
``initialize`` leaves them) and, at level "glmer", ``getME(gfit, name)``, ``fixef``, ``ranef``
(``condVar``), ``coef``, ``as.data.frame(VarCorr())``, ``sigma``, ``deviance``, ``logLik``, ``AIC``,
``BIC``, ``fitted``, ``residuals(type = )``, ``predict(type = )``, ``vcov``, ``isSingular`` and the
last stage's deviance function.

An implementation at this level is called as ``fn(formula, data, *, family, link, nAGQ, level,
weights, offset, pars=None, lp0=None)``: ``pars`` is lme4's ``opt$par`` (c(theta, beta); theta for
nAGQ = 0) and ``lp0`` the PIRLS start of lme4's devfun; the optimizer's own outputs
(:func:`parity.components.optimizer_outputs`) come from the implementation's own fit, every other
fit component is evaluated at ``pars`` (pyreterms: :func:`pyreterms.glmm.glmer.glmer_at`).
"""
from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from parity import components
from parity.adapter.pyreterms_lformula import lformula_components
from parity.adapter.rbuild import chr_vector as _chr
from parity.adapter.rbuild import conv_messages
from parity.adapter.rbuild import dbl_vector as _dbl
from parity.adapter.rbuild import int_vector as _int
from parity.r.glmer_call import GlmerCall
from parity.r.values import RList, RMatrix, RValue, RVector
from pyreterms.errors import DataError, LmeMessage, LmeWarning
from pyreterms.glmm import family as fam
from pyreterms.glmm.control import as_glmer_control
from pyreterms.glmm.family import Family
from pyreterms.glmm.fit import GlmerFit
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.glmer import glmer, glmer_at

__all__ = ["GlmmImpl", "glmm_family", "glformula_components", "glmer_components", "pyreterms_glmm_impl"]

GlmmImpl = Callable[..., dict[str, RValue]]

#: R's family constructors (stats::binomial, ...) by the name ``--family`` takes
_FAMILIES: dict[str, Callable[..., Family]] = {
    "binomial": fam.binomial, "poisson": fam.poisson, "Gamma": fam.Gamma,
    "inverse.gaussian": fam.inverse_gaussian, "gaussian": fam.gaussian,
}
_RESID = ("deviance", "pearson", "working", "response")


def glmm_family(family: str, link: str | None = None) -> Family:
    """R: ``family(link = link)`` for the families glmer takes (DataError for any other name)."""
    if family not in _FAMILIES:
        raise DataError(f"family '{family}' not supported ({', '.join(_FAMILIES)})")
    return _FAMILIES[family]() if link is None else _FAMILIES[family](link)


def _lgl(value: bool) -> RVector:
    return RVector(np.array([bool(value)]), None, "logical")


def _series(s: pd.Series) -> RVector:
    return _dbl(s.to_numpy(dtype=float), tuple(str(k) for k in s.index))


def _frame(df: pd.DataFrame) -> RMatrix:
    return RMatrix(df.to_numpy(float), tuple(str(i) for i in df.index), tuple(str(c) for c in df.columns))


def glformula_components(glf: GLFormula) -> dict[str, RValue]:
    """The ``glFormula()`` components (those lme4 shares with ``lFormula()`` renamed) and the response
    module's y, weights, offset, n."""
    want = set(components.names("glformula", None))
    out = {k.replace("lFormula()", "glFormula()"): v for k, v in lformula_components(glf).items()}
    out = {k: v for k, v in out.items() if k in want}
    out["mkRespMod(glFormula()$fr, family)$y"] = _dbl(glf.y)
    out["mkRespMod(glFormula()$fr, family)$weights"] = _dbl(glf.weights)
    out["mkRespMod(glFormula()$fr, family)$offset"] = _dbl(glf.offset)
    out["mkRespMod(glFormula()$fr, family)$n"] = _dbl(glf.n)
    return out


def _postvar(fit: GlmerFit) -> RValue:
    items: list[tuple[str | None, RValue]] = []
    for g, cr in fit.ranef(condVar=True).items():
        pv = cr.postVar_R()
        def mat(a: np.ndarray) -> RMatrix:
            return RMatrix(np.asarray(a).reshape(-1, a.shape[2], order="F"), None, None)
        if isinstance(pv, np.ndarray):
            items.append((g, mat(pv)))
        else:
            pairs = pv.items() if isinstance(pv, dict) else pv
            items.append((g, RList(tuple((k, mat(a)) for k, a in pairs))))
    return RList(tuple(items))


def _at_pars(fit: GlmerFit) -> dict[str, RValue]:
    """The components that are functions of (theta, beta): evaluated at lme4's ``opt$par``."""
    G = lambda name: f'getME(gfit, "{name}")'  # noqa: E731
    out: dict[str, RValue] = {}
    out["ranef(gfit)"] = RList(tuple((g, _frame(df)) for g, df in fit.ranef().items()))
    out["postVar(ranef(gfit, condVar = TRUE))"] = _postvar(fit)
    out["coef(gfit)"] = RList(tuple((g, _frame(df)) for g, df in fit.coef().items()))
    vc = fit.VarCorr_df()
    out["as.data.frame(VarCorr(gfit))"] = RList((
        ("grp", _chr(vc["grp"])), ("var1", _chr(vc["var1"])), ("var2", _chr(vc["var2"])),
        ("vcov", _dbl(vc["vcov"])), ("sdcor", _dbl(vc["sdcor"]))))
    out["sigma(gfit)"] = _dbl([fit.sigma()])
    out['attr(logLik(gfit), "df")'] = _int([fit.npar()])
    out["fitted(gfit)"] = _series(fit.fitted())
    for t in _RESID:
        out[f'residuals(gfit, type = "{t}")'] = _series(fit.residuals(type=t))
    out['predict(gfit, type = "link")'] = _series(fit.predict(type="link"))
    out['predict(gfit, type = "response")'] = _series(fit.predict(type="response"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        V = fit.vcov()
    out["vcov(gfit)"] = RMatrix(V.to_numpy(float), tuple(V.index) or None, tuple(V.columns) or None)
    out[G("u")] = _dbl(fit.u)
    out[G("b")] = RMatrix(fit.b.reshape(-1, 1), None, None)
    out[G("mu")] = _dbl(fit.mu)
    out["gdevfun(pars)"] = _dbl([fit.fval])
    return out


def _optimum(fit: GlmerFit) -> dict[str, RValue]:
    """The optimizer's own outputs (each side's optimum; the GLMM theta rule explains differences)."""
    th = fit.getME("theta")
    out: dict[str, RValue] = {}
    out['getME(gfit, "theta")'] = _dbl(th.to_numpy(float), tuple(str(k) for k in th.index))
    out['getME(gfit, "beta")'] = _dbl(fit.beta)
    out["fixef(gfit)"] = _series(fit.fixef())
    out["deviance(gfit)"] = _dbl([fit.deviance()])
    out["logLik(gfit)"] = _dbl([fit.logLik()])
    out["AIC(gfit)"] = _dbl([fit.AIC()])
    out["BIC(gfit)"] = _dbl([fit.BIC()])
    out["isSingular(gfit)"] = _lgl(fit.isSingular())
    out["gfit@optinfo$conv$lme4$messages"] = conv_messages(list(fit.conv_messages))
    return out


def glmer_components(own: GlmerFit, at: GlmerFit | None = None) -> dict[str, RValue]:
    """Fit components: the optimizer outputs of ``own``, the rest of ``at`` (default ``own``)."""
    out = _at_pars(at if at is not None else own)
    out.update(_optimum(own))
    return out


def _conditions(caught: list[warnings.WarningMessage]) -> tuple[list[str], list[str]]:
    return ([str(w.message) for w in caught if issubclass(w.category, LmeWarning)],
            [str(w.message) for w in caught if issubclass(w.category, LmeMessage)])


def pyreterms_glmm_impl(formula: str, data: pd.DataFrame, *, family: str, link: str | None = None,
                        nAGQ: int = 1, level: str = "glmer", weights: Any = None, offset: Any = None,
                        pars: Any = None, lp0: Any = None, call: GlmerCall | None = None) -> dict[str, RValue]:
    """The GLMM implementation under test: pyreterms' ``glformula`` and ``glmer`` (and ``glmer_at`` at
    lme4's ``pars``, PIRLS started at lme4's ``lp0``).  ``call``: a ``glmer(...)`` call's other arguments
    (``parity check --call``), run as lme4 runs them (glmer's control conversion first, then glFormula)."""
    f = glmm_family(family, link)
    kw: dict[str, Any] = call.py_kwargs() if call is not None else {}
    with warnings.catch_warnings(record=True) as caught:  # glmerControl(...): evaluated by glFormula and glmer
        warnings.simplefilter("always")
        given = call.py_control() if call is not None else None
    ctrl_warn, _ = _conditions(caught)
    with warnings.catch_warnings(record=True) as caught:  # glmer's own conversion of an lmerControl
        warnings.simplefilter("always")
        ctrl = as_glmer_control(given) if call is not None else None
    # glmer(control = <expression>) evaluates it, and again in glFormula (its match.call): twice
    pre_warn = ctrl_warn + _conditions(caught)[0] + ctrl_warn
    for k in ("mustart", "etastart"):  # a column by name (parity.r.glmer_call)
        col = getattr(call, k, None)
        if col is not None:
            if col not in data.columns:
                raise DataError(f"object '{col}' not found")
            kw[k] = data[col].to_numpy(dtype=np.float64)
    fkw = {k: kw[k] for k in ("subset", "na_action", "contrasts", "mustart", "etastart") if k in kw}
    weights, offset = kw.pop("weights", weights), kw.pop("offset", offset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        glf = glformula(formula, data, f, weights=weights, offset=offset, control=ctrl, **fkw)
    if not isinstance(glf, GLFormula):
        raise DataError("gaussian with the identity link is an LMM: use the LMM levels (lformula, fit)")
    out = glformula_components(glf)
    w, m = _conditions(caught)
    out["glFormula(): warnings"], out["glFormula(): messages"] = _chr(ctrl_warn + w), _chr(list(glf.messages) + m)
    if level != "glmer":
        return out
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("always")
        own = glmer(formula, data, f, nAGQ=nAGQ, weights=weights, offset=offset, control=ctrl, **kw)
    assert isinstance(own, GlmerFit)
    w, m = _conditions(caught)
    out["glmer(): warnings"], out["glmer(): messages"] = _chr(pre_warn + w), _chr(m)
    at = None
    if pars is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            at = glmer_at(glf, np.asarray(pars, dtype=np.float64), nAGQ=nAGQ, lp0=lp0, control=ctrl)
    out.update(glmer_components(own, at))
    return out
