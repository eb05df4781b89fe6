"""``glmer``: lme4's two-stage GLMM fit (R: ``lme4::glmer``, ``optimizeGlmer``, ``optwrap``,
``check.boundary``, ``mkMerMod``'s GLMM parts; lme4 1.1-31), nAGQ 0, 1 (Laplace) and 2..100 (adaptive
Gauss-Hermite quadrature, :mod:`pyreterms.glmm.agq`, one scalar random-effects term).

Stage 1 (``nAGQ0initStep``): theta by ``optimizer[0]`` (bobyqa: NLopt's BOBYQA stands in for minqa's,
see :mod:`pyreterms.lmm.optimizers`) on the nAGQ = 0 deviance; stage 2 (nAGQ = 1): ``c(theta, beta)`` by
``optimizer[1]`` (lme4's Nelder_Mead, ported) on the Laplace deviance, started at stage 1's theta and
beta with ``xst = 0.2 c(0.1, pmin(sqrt(diag(unsc)), 10))``; for nAGQ > 1 the stage-2 objective is the AGQ
deviance; ``calc.derivs`` (lme4's ``deriv12``, :func:`pyreterms.lmm.optimize.deriv12`) gives the Hessian ``vcov``
uses and ``checkConv`` (lme4's singular-fit message, gradient and Hessian warnings).  Not yet:
``restart_edge``, ``start``.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pyreterms.design.model import LFormula
from pyreterms.errors import DataError, LmeWarning
from pyreterms.glmm.agq import check_agq_model
from pyreterms.glmm.devfun import GlmerDevfun, check_response_length
from pyreterms.glmm.fit import GlmerFit
from pyreterms.glmm.ghrule import GHrule
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.lmm.control import LmerControl
from pyreterms.lmm.fit import LmerFit, lmer
from pyreterms.lmm.optimize import Derivs, check_conv, deriv12, nloptwrap
from pyreterms.lmm.optimizers import run_optimizer
from pyreterms.lmm.threads import blas_threads

_CONTROL: dict[str, Any] = {"optimizer": ("bobyqa", "Nelder_Mead"), "tolPwrss": 1e-7, "nAGQ0initStep": True,
            "boundary.tol": 1e-5, "optCtrl": {}, "calc.derivs": True}


def _control(control: Mapping[str, Any] | None) -> dict[str, Any]:
    ctrl = dict(_CONTROL)
    for k, v in (control or {}).items():
        if k not in _CONTROL:
            raise DataError(f"glmer control: unknown setting {k!r} (this slice knows {', '.join(_CONTROL)})")
        ctrl[k] = v
    opt = ctrl["optimizer"]
    ctrl["optimizer"] = (opt, opt) if isinstance(opt, str) else tuple(opt)
    return ctrl


def _check_boundary(dv: GlmerDevfun, opt: dict[str, Any], fn: Any, tol: float) -> dict[str, Any]:
    """R: ``check.boundary``: a theta within ``boundary.tol`` of its bound is tried at the bound."""
    bdiff = dv.pp.theta - dv.lower[:dv.nth]
    edge = (bdiff > 0) & (bdiff < tol)
    if not edge.any():
        return opt
    par = np.array(opt["par"], dtype=np.float64)
    for i in np.flatnonzero(edge):
        tmp = par.copy()
        tmp[i] = dv.lower[i]
        if fn(tmp) < opt["fval"]:
            par[i] = tmp[i]
    return {**opt, "par": par, "fval": fn(par)}


def glmer(formula: str, data: pd.DataFrame, family: Any = "binomial", *, nAGQ: int = 1,
          weights: str | npt.ArrayLike | None = None, offset: str | npt.ArrayLike | None = None,
          subset: str | None = None, na_action: str = "na.omit", contrasts: dict[str, object] | None = None,
          mustart: npt.ArrayLike | None = None, etastart: npt.ArrayLike | None = None,
          control: Mapping[str, Any] | None = None) -> GlmerFit | LmerFit:
    """R: ``lme4::glmer(formula, data, family, control = glmerControl(...), nAGQ, subset, weights,
    na.action, offset, contrasts, mustart, etastart)`` for nAGQ 0 (no stage 2), 1 (Laplace) and 2..100
    (adaptive Gauss-Hermite quadrature, one scalar random-effects term only, as lme4).

    ``control`` keys (glmerControl's names): ``optimizer``, ``tolPwrss``, ``nAGQ0initStep``,
    ``boundary.tol``, ``optCtrl``, ``calc.derivs`` (default True: the Hessian for ``vcov`` and ``checkConv``).
    """
    if isinstance(nAGQ, bool) or not isinstance(nAGQ, (int, np.integer)) or nAGQ < 0:
        raise DataError(f"nAGQ must be a non-negative integer (not {nAGQ!r})")
    nAGQ = int(nAGQ)
    if nAGQ > 1:
        GHrule(nAGQ)  # lme4's "ord < 101L is not TRUE"
    ctrl = _control(control)
    glf = glformula(formula, data, family, subset, weights=weights, na_action=na_action, offset=offset,
                    contrasts=contrasts, mustart=mustart, etastart=etastart)
    if isinstance(glf, GLFormula):
        check_response_length(glf)  # lme4's mkGlmerDevfun stops before updateGlmerDevfun's nAGQ check
    if isinstance(glf, LFormula):  # lme4: warns, then re-evaluates the call as lmer()
        warnings.warn("calling glmer() with family=gaussian (identity link) as a shortcut to lmer() is deprecated;"
                      " please call lmer() directly", LmeWarning, stacklevel=2)
        return lmer(formula, data, subset=subset, weights=weights, na_action=na_action, offset=offset,
                    contrasts=contrasts)
    with blas_threads(1):  # small dense solves: OpenBLAS threads only spin against each other (10x slower)
        return _fit(glf, ctrl, nAGQ)


def _fit(glf: GLFormula, ctrl: dict[str, Any], nAGQ: int) -> GlmerFit:
    init0 = bool(ctrl["nAGQ0initStep"])
    dv = GlmerDevfun(glf, tol_pwrss=float(ctrl["tolPwrss"]), nAGQ_init=0 if init0 else 1)
    opt: dict[str, Any] = {}
    derivs: Derivs | None = None
    lower = dv.lower
    opt_warnings: list[str] = []
    if init0:
        opt, oname = run_optimizer(ctrl["optimizer"][0], dv.devfun0, dv.pp.theta.copy(), dv.lower,
                                   dict(ctrl["optCtrl"]), nloptwrap)
        opt_warnings = _conv_warning(opt, oname)
        dv.devfun0(opt["par"])  # optwrap's final fn(opt$par)
        if nAGQ == 0 and float(ctrl["boundary.tol"]) > 0:
            opt = _check_boundary(dv, opt, dv.devfun0, float(ctrl["boundary.tol"]))
    if nAGQ >= 1:
        if nAGQ > 1:  # lme4 checks in updateGlmerDevfun, after stage 1 (whose own stops come first)
            check_agq_model(glf.reTrms)
        dv.set_agq(nAGQ)
        lower = np.concatenate([dv.lower, np.full(glf.X.X.shape[1], -np.inf)])
        start = np.concatenate([dv.pp.theta, dv.pp.delb])  # getStart(NULL, pp, "all")
        opt_ctrl = dict(ctrl["optCtrl"])
        name = ctrl["optimizer"][1]
        if name == "Nelder_Mead" and "xst" not in opt_ctrl:  # optwrap(adj = TRUE)
            beta_sd = np.sqrt(np.diag(dv.unsc()))
            opt_ctrl["xst"] = 0.2 * np.concatenate([np.full(dv.nth, 0.1), np.minimum(beta_sd, 10)])
        elif name == "bobyqa":
            opt_ctrl.setdefault("rhobeg", 2e-4)
            opt_ctrl.setdefault("rhoend", 2e-7)
        dv.to_stage2()
        opt, oname = run_optimizer(name, dv.devfun, start, lower, opt_ctrl, nloptwrap)
        opt_warnings = _conv_warning(opt, oname)
        if ctrl["calc.derivs"]:  # optwrap: deriv12(fn, opt$par, fx = opt$value = NULL)
            derivs = deriv12(dv.devfun, np.asarray(opt["par"], dtype=np.float64))
        dv.devfun(opt["par"])
        if float(ctrl["boundary.tol"]) > 0:
            dv.lower = lower
            opt = _check_boundary(dv, opt, dv.devfun, float(ctrl["boundary.tol"]))
        theta, beta = opt["par"][:dv.nth], opt["par"][dv.nth:]
        dv.resp.offset = dv.base_offset.copy()  # optimizeGlmer: resp$setOffset(baseOffset)
    else:
        theta, beta = dv.pp.theta.copy(), dv.pp.delb.copy()
    fval = float(opt["fval"]) if init0 or nAGQ else float("nan")
    conv_msgs: tuple[str, ...] = ()
    if ctrl["calc.derivs"] and opt:  # glmer: checkConv(attr(opt, "derivs"), opt$par, lbound = devfun's lower)
        conv_msgs = check_conv(derivs, np.asarray(opt["par"]), lower, LmerControl()).messages
    return GlmerFit.from_state(glf, nAGQ, dv.pp, dv.resp, theta, beta, fval, feval=int(opt.get("feval", 0)),
                               hessian=None if derivs is None else derivs.Hessian,
                               gradient=None if derivs is None else derivs.gradient, tol_pwrss=dv.tol,
                               optimizer=str(ctrl["optimizer"][1] if nAGQ else ctrl["optimizer"][0]),
                               devfun=dv.devfun if nAGQ else dv.devfun0, conv_code=int(opt.get("conv", 0)),
                               conv_messages=conv_msgs, opt_warnings=tuple(opt_warnings))


def _conv_warning(opt: dict[str, Any], name: str) -> list[str]:
    """R ``optwrap``: a nonzero convergence code warns ``convergence code K from NAME: MSG``."""
    code = int(opt.get("conv", 0))
    if code == 0:
        return []
    msg = f"convergence code {code} from {name}" + (f": {opt['message']}" if opt.get("message") else "")
    warnings.warn(msg, LmeWarning, stacklevel=4)
    return [msg]


def glmer_at(glf: GLFormula, pars: npt.ArrayLike, nAGQ: int = 1, lp0: npt.ArrayLike | None = None,
             calc_derivs: bool = True, tol_pwrss: float = 1e-7) -> GlmerFit:
    """The fit lme4 builds when its last optimizer returns ``opt$par = pars`` (``c(theta, beta)``; theta
    alone for nAGQ = 0): ``deriv12`` at ``pars`` (nAGQ >= 1), the final ``fn(opt$par)``, ``checkConv``
    (its messages and warnings), ``mkMerMod``.
    For comparing the verbs with lme4 at lme4's own parameters.  ``lp0``: the devfun's PIRLS start
    (R: ``environment(devfun)$lp0``; default: the initial PIRLS's, as ``mkGlmerDevfun`` leaves it)."""
    pars = np.asarray(pars, dtype=np.float64)
    nth, p = glf.reTrms.theta.size, glf.X.X.shape[1]
    want = nth if nAGQ == 0 else nth + p
    if pars.ndim != 1 or pars.size != want:
        raise DataError(f"glmer_at: pars must hold {want} numbers ({'theta' if nAGQ == 0 else 'theta, then beta'}),"
                        f" not {pars.size}")
    dv = GlmerDevfun(glf, tol_pwrss=tol_pwrss)
    if lp0 is not None:
        lp = np.asarray(lp0, dtype=np.float64)
        if lp.shape != dv.lp0.shape:
            raise DataError(f"glmer_at: lp0 must hold one number per observation ({dv.lp0.size}), not {lp.size}")
        dv.lp0 = lp
    if nAGQ == 0:
        fval = dv.devfun0(pars)
        msgs = check_conv(None, pars, dv.lower, LmerControl()).messages if calc_derivs else ()
        return GlmerFit.from_state(glf, 0, dv.pp, dv.resp, pars, dv.pp.delb.copy(), fval, tol_pwrss=tol_pwrss,
                                   optimizer="bobyqa", devfun=dv.devfun0, conv_messages=msgs)
    dv.set_agq(nAGQ)
    derivs = deriv12(dv.devfun, pars) if calc_derivs else None
    fval = dv.devfun(pars)
    dv.resp.offset = dv.base_offset.copy()
    lower = np.concatenate([dv.lower, np.full(pars.size - dv.nth, -np.inf)])
    msgs = check_conv(derivs, pars, lower, LmerControl()).messages if calc_derivs else ()
    return GlmerFit.from_state(glf, nAGQ, dv.pp, dv.resp, pars[:dv.nth], pars[dv.nth:], fval,
                               hessian=None if derivs is None else derivs.Hessian,
                               gradient=None if derivs is None else derivs.gradient, tol_pwrss=tol_pwrss,
                               devfun=dv.devfun, conv_messages=msgs)


__all__ = ["glmer", "glmer_at", "GlmerFit"]
