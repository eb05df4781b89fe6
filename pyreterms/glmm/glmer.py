"""``glmer``: lme4's two-stage GLMM fit (R: ``lme4::glmer``, ``optimizeGlmer``, ``optwrap``,
``check.boundary``, ``mkMerMod``'s GLMM parts; lme4 1.1-31), nAGQ 0, 1 (Laplace) and 2..100 (adaptive
Gauss-Hermite quadrature, :mod:`pyreterms.glmm.agq`, one scalar random-effects term).

Stage 1 (``nAGQ0initStep``): theta by ``optimizer[0]`` (bobyqa: the port of minqa's BOBYQA,
:mod:`pyreterms.lmm.bobyqa_minqa`) on the nAGQ = 0 deviance; stage 2 (nAGQ = 1): ``c(theta, beta)`` by
``optimizer[1]`` (lme4's Nelder_Mead, ported) on the Laplace deviance, started at stage 1's theta and
beta with ``xst = 0.2 c(0.1, pmin(sqrt(diag(unsc)), 10))``; for nAGQ > 1 the stage-2 objective is the AGQ
deviance; ``calc.derivs`` (lme4's ``deriv12``, :func:`pyreterms.lmm.optimize.deriv12`) gives the Hessian ``vcov``
uses and ``checkConv`` (lme4's singular-fit message, gradient and Hessian warnings, with glmerControl's
``check.conv.*``).  ``start`` (:mod:`pyreterms.glmm.start`), ``devFunOnly``, ``verbose`` and every
glmerControl argument (:mod:`pyreterms.glmm.control`) as lme4 reads them; ``restart_edge = TRUE`` stops
as lme4's ``optimizeGlmer`` does; ``compDev = FALSE`` runs lme4's R-level PIRLS
(:func:`~pyreterms.glmm.pirls.r_laplace`).
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pyreterms.design.model import LFormula
from pyreterms.errors import DataError, LmeCheckError, LmeWarning
from pyreterms.glmm.agq import check_agq_model
from pyreterms.glmm.control import GlmerControl, as_glmer_control, check_response
from pyreterms.glmm.devfun import GlmerDevfun, check_response_length
from pyreterms.glmm.fit import GlmerFit
from pyreterms.glmm.ghrule import GHrule
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.start import check_start_names, get_start, update_start
from pyreterms.lmm.argchecks import r_as_integer, r_if, verbose_level
from pyreterms.lmm.control import LmerControl, check_optimizer
from pyreterms.lmm.fit import LmerFit, lmer
from pyreterms.lmm.optimize import Derivs, check_conv, deriv12, nloptwrap
from pyreterms.lmm.optimizers import optimizer_name, run_optimizer
from pyreterms.lmm.threads import blas_threads


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


def glmer(formula: str, data: pd.DataFrame, family: Any = "binomial", *,
          control: GlmerControl | LmerControl | Mapping[str, Any] | None = None, start: Any = None,
          verbose: Any = 0, nAGQ: int = 1, weights: str | npt.ArrayLike | None = None,
          offset: str | npt.ArrayLike | None = None, subset: str | None = None, na_action: str = "na.omit",
          contrasts: dict[str, object] | None = None, mustart: npt.ArrayLike | None = None,
          etastart: npt.ArrayLike | None = None, devFunOnly: Any = False,
          **kwargs: Any) -> GlmerFit | LmerFit | Callable[[npt.ArrayLike], float]:
    """R: ``lme4::glmer(formula, data, family, control = glmerControl(...), start, verbose, nAGQ, subset,
    weights, na.action, offset, contrasts, mustart, etastart, devFunOnly)`` for nAGQ 0 (no stage 2), 1
    (Laplace) and 2..100 (adaptive Gauss-Hermite quadrature, one scalar random-effects term only, as lme4).

    ``control``: :func:`~pyreterms.glmm.control.glmerControl` (or a dict of its arguments; an
    ``lmerControl`` is converted with lme4's warning).  ``start``: a theta vector or ``{"theta": ...,
    "fixef": ...}`` (lme4's ``getStart``).  ``verbose`` is read as ``as.integer(verbose)`` (refused with
    R's message; the optimizers print what they print for ``lmer``).  ``devFunOnly``: the deviance
    function instead of the fit (nAGQ = 0: of theta, before any optimization; else of ``c(theta, beta)``,
    after stage 1).  R's spelling ``na.action`` is accepted as a keyword.
    """
    na_action = str(kwargs.pop("na.action", na_action))
    if kwargs:
        raise TypeError(f"glmer() got unexpected arguments: {', '.join(map(repr, kwargs))}")
    ctrl = as_glmer_control(control)
    if isinstance(nAGQ, bool) or not isinstance(nAGQ, (int, np.integer)) or nAGQ < 0:
        raise DataError(f"nAGQ must be a non-negative integer (not {nAGQ!r})")
    nAGQ = int(nAGQ)
    if nAGQ > 1:
        GHrule(nAGQ)  # lme4's "ord < 101L is not TRUE"
    glf = glformula(formula, data, family, subset, weights=weights, na_action=na_action, offset=offset,
                    contrasts=contrasts, mustart=mustart, etastart=etastart, control=ctrl)
    if isinstance(glf, GLFormula):
        check_response(glf.y, ctrl.check_response_not_const)  # lme4's mkGlmerDevfun: checkResponse
        check_response_length(glf)  # lme4's mkGlmerDevfun stops before updateGlmerDevfun's nAGQ check
    if isinstance(glf, LFormula):  # lme4: warns, then re-evaluates the call as lmer()
        warnings.warn("calling glmer() with family=gaussian (identity link) as a shortcut to lmer() is deprecated;"
                      " please call lmer() directly", LmeWarning, stacklevel=2)
        return lmer(formula, data, subset=subset, weights=weights, na_action=na_action, offset=offset,
                    contrasts=contrasts)
    r_as_integer(verbose)  # mkGlmerDevfun: verbose <- as.integer(verbose) (R's coercion warning)
    with blas_threads(1):  # small dense solves: OpenBLAS threads only spin against each other (10x slower)
        return _fit(glf, ctrl, nAGQ, start, devFunOnly, verbose)


def _devfun_only(fn: Callable[[np.ndarray], float], size: int) -> Callable[[npt.ArrayLike], float]:
    """lme4's devfun as returned by ``devFunOnly = TRUE`` (theta, or ``c(theta, beta)``)."""
    def devfun(pars: npt.ArrayLike) -> float:
        x = np.ravel(np.array(pars, dtype=np.float64))
        if x.size != size:
            raise DataError(f"the deviance function takes {size} numbers, not {x.size}")
        with np.errstate(all="ignore"):
            return float(fn(x))
    return devfun


def _run(name: Any, fn: Any, start: np.ndarray, lower: np.ndarray, opt_ctrl: dict[str, Any],
         verbose: int) -> tuple[dict[str, Any], list[str]]:
    """R: ``optwrap`` around one stage's optimizer (getOptfun's checks, the verbose warning, the
    convergence-code warning)."""
    if name is None:  # R: control$optimizer[[1]] of glmerControl(optimizer = NULL)
        raise LmeCheckError("subscript out of bounds", check="optimizer")
    check_optimizer(name)
    oname = optimizer_name(name)
    if verbose and oname not in ("bobyqa", "Nelder_Mead", "nloptwrap"):
        warnings.warn(f"'verbose' not yet passed to optimizer '{oname}'; consider fixing optwrap()", LmeWarning,
                      stacklevel=4)
    opt, oname = run_optimizer(name, fn, start, lower, opt_ctrl, nloptwrap, verbose=verbose)
    return opt, _conv_warning(opt, oname)


def _restart_edge(ctrl: GlmerControl) -> None:
    if r_if(ctrl.restart_edge, "restart_edge"):
        raise LmeCheckError("restart_edge not implemented for optimizeGlmer yet", check="restart_edge")


def _fit(glf: GLFormula, ctrl: GlmerControl, nAGQ: int, start: Any, dev_fun_only: Any,
         verbose_arg: Any) -> GlmerFit | Callable[[npt.ArrayLike], float]:
    init0 = r_if(ctrl.nAGQ0initStep, "nAGQ0initStep")
    dv = GlmerDevfun(glf, tol_pwrss=float(ctrl.tolPwrss), nAGQ_init=0 if init0 else 1,
                     compDev=r_if(ctrl.compDev, "compDev"))
    if nAGQ == 0 and r_if(dev_fun_only, "devFunOnly"):
        return _devfun_only(dv.devfun0, dv.nth)
    check_start_names(start, nAGQ)
    opt: dict[str, Any] = {}
    stage1: np.ndarray | None = None
    derivs: Derivs | None = None
    lower = dv.lower
    opt_warnings: list[str] = []
    btol = float(ctrl.boundary_tol)
    if init0:
        theta0 = get_start(start, dv.pp.theta, dv.pp.delb, list(glf.X.colnames), all_pars=False)
        verbose = verbose_level(verbose_arg)  # optimizeGlmer's as.integer(verbose), optwrap's if (verbose)
        opt, opt_warnings = _run(ctrl.optimizer[0], dv.devfun0, theta0, dv.lower, ctrl.opt_ctrl_dict, verbose)
        stage1 = np.array(opt["par"], dtype=np.float64)
        dv.devfun0(opt["par"])  # optwrap's final fn(opt$par)
        if nAGQ == 0:
            _restart_edge(ctrl)
            if btol > 0:
                opt = _check_boundary(dv, opt, dv.devfun0, btol)
    elif nAGQ == 0:  # lme4 1.1-31 reaches mkMerMod without an `opt`
        raise LmeCheckError("object 'opt' not found", check="nAGQ0initStep")
    if nAGQ >= 1:
        st = _stage2(dv, ctrl, nAGQ, update_start(start, np.asarray(opt["par"])) if init0 else start,
                     dev_fun_only, verbose_arg)
        if callable(st):
            return st
        opt, derivs, lower, par, opt_warnings = st
        theta, beta = par[:dv.nth], par[dv.nth:]
    else:
        theta, beta = dv.pp.theta.copy(), dv.pp.delb.copy()
    fval = float(opt["fval"]) if init0 or nAGQ else float("nan")
    conv_msgs: tuple[str, ...] = ()
    if ctrl.calc_derivs and opt:  # glmer: checkConv(attr(opt, "derivs"), opt$par, lbound = devfun's lower)
        conv_msgs = check_conv(derivs, np.array(opt["par"]), lower, ctrl.conv_control()).messages
    return GlmerFit.from_state(glf, nAGQ, dv.pp, dv.resp, theta, beta, fval, feval=int(opt.get("feval", 0)),
                               compDev=dv.compDev,
                               hessian=None if derivs is None else derivs.Hessian,
                               gradient=None if derivs is None else derivs.gradient, tol_pwrss=dv.tol,
                               optimizer=str(optimizer_name(ctrl.optimizer[1] if nAGQ else ctrl.optimizer[0])),
                               devfun=dv.devfun if nAGQ else dv.devfun0, conv_code=int(opt.get("conv", 0)),
                               conv_messages=conv_msgs, opt_warnings=tuple(opt_warnings), stage1_par=stage1)


def _stage2(dv: GlmerDevfun, ctrl: GlmerControl, nAGQ: int, start: Any, dev_fun_only: Any, verbose_arg: Any
            ) -> Callable[[npt.ArrayLike], float] | tuple[dict[str, Any], Derivs | None, np.ndarray, np.ndarray,
                                                         list[str]]:
    """R: glmer's ``if (nAGQ > 0L)`` block: ``updateGlmerDevfun``, ``devFunOnly``, then ``optimizeGlmer``
    (stage 2, ``optwrap(adj = TRUE)``, ``use.last.params``, ``restart_edge``, ``check.boundary``).
    Returns the devfun (``devFunOnly``) or (opt, derivs, lower bounds, the fit's c(theta, beta), warnings)."""
    glf = dv.glf
    if nAGQ > 1:  # lme4 checks in updateGlmerDevfun, after stage 1 (whose own stops come first)
        check_agq_model(glf.reTrms)
    dv.set_agq(nAGQ)
    lower = np.concatenate([dv.lower, np.full(glf.X.X.shape[1], -np.inf)])
    unsc = dv.unsc()
    dv.to_stage2()
    if r_if(dev_fun_only, "devFunOnly"):
        return _devfun_only(dv.devfun, lower.size)
    par0 = get_start(start, dv.pp.theta, dv.pp.delb, list(glf.X.colnames), all_pars=True)
    verbose = verbose_level(verbose_arg)
    opt_ctrl = ctrl.opt_ctrl_dict
    name = ctrl.optimizer[1] if isinstance(ctrl.optimizer[1], str) else None
    if name == "Nelder_Mead" and "xst" not in opt_ctrl:  # optwrap(adj = TRUE)
        beta_sd = np.sqrt(np.diag(unsc))
        opt_ctrl["xst"] = 0.2 * np.concatenate([np.full(dv.nth, 0.1), np.minimum(beta_sd, 10)])
    elif name == "bobyqa":
        opt_ctrl.setdefault("rhobeg", 2e-4)
        opt_ctrl.setdefault("rhoend", 2e-7)
    opt, opt_warnings = _run(ctrl.optimizer[1], dv.devfun, par0, lower, opt_ctrl, verbose)
    last = bool(r_if(ctrl.use_last_params, "use.last.params"))
    final = np.array(opt["par"], dtype=np.float64)
    if last:  # optwrap: orig_pars with the theta the optimizer evaluated last
        final[:dv.nth] = dv.pp.theta
    derivs = None
    if r_if(ctrl.calc_derivs, "calc.derivs"):  # optwrap: deriv12(fn, opt$par, fx = opt$value = NULL)
        derivs = deriv12(dv.devfun, np.array(opt["par"], dtype=np.float64))
    dv.devfun(final)
    dv.resp.offset = dv.base_offset.copy()  # optimizeGlmer: resp$setOffset(baseOffset)
    _restart_edge(ctrl)
    checked = opt
    if float(ctrl.boundary_tol) > 0:
        dv.lower = lower
        checked = _check_boundary(dv, opt, dv.devfun, float(ctrl.boundary_tol))
        dv.resp.offset = dv.base_offset.copy()
    # mkMerMod reads pp: with use.last.params the state left above, unless check.boundary re-evaluated
    par = final if last and checked is opt else np.array(checked["par"], dtype=np.float64)
    return checked, derivs, lower, par, opt_warnings


def _conv_warning(opt: dict[str, Any], name: str) -> list[str]:
    """R ``optwrap``: a nonzero convergence code warns ``convergence code K from NAME: MSG``."""
    code = int(opt.get("conv", 0))
    if code == 0:
        return []
    msg = f"convergence code {code} from {name}" + (f": {opt['message']}" if opt.get("message") else "")
    warnings.warn(msg, LmeWarning, stacklevel=4)
    return [msg]


def glmer_at(glf: GLFormula, pars: npt.ArrayLike, nAGQ: int = 1, lp0: npt.ArrayLike | None = None,
             calc_derivs: bool = True, tol_pwrss: float = 1e-7, control: GlmerControl | None = None) -> GlmerFit:
    """The fit lme4 builds when its last optimizer returns ``opt$par = pars`` (``c(theta, beta)``; theta
    alone for nAGQ = 0): ``deriv12`` at ``pars`` (nAGQ >= 1), the final ``fn(opt$par)``, ``checkConv``
    (its messages and warnings), ``mkMerMod``.
    For comparing the verbs with lme4 at lme4's own parameters.  ``lp0``: the devfun's PIRLS start
    (R: ``environment(devfun)$lp0``; default: the initial PIRLS's, as ``mkGlmerDevfun`` leaves it).
    ``control``: a glmerControl whose ``calc.derivs``, ``tolPwrss``, ``compDev`` and ``check.conv.*`` replace the
    defaults."""
    cc = LmerControl() if control is None else control.conv_control()
    if control is not None:
        calc_derivs, tol_pwrss = bool(control.calc_derivs), float(control.tolPwrss)
    pars = np.asarray(pars, dtype=np.float64)
    nth, p = glf.reTrms.theta.size, glf.X.X.shape[1]
    want = nth if nAGQ == 0 else nth + p
    if pars.ndim != 1 or pars.size != want:
        raise DataError(f"glmer_at: pars must hold {want} numbers ({'theta' if nAGQ == 0 else 'theta, then beta'}),"
                        f" not {pars.size}")
    dv = GlmerDevfun(glf, tol_pwrss=tol_pwrss, compDev=control is None or r_if(control.compDev, "compDev"))
    if lp0 is not None:
        lp = np.asarray(lp0, dtype=np.float64)
        if lp.shape != dv.lp0.shape:
            raise DataError(f"glmer_at: lp0 must hold one number per observation ({dv.lp0.size}), not {lp.size}")
        dv.lp0 = lp
    if nAGQ == 0:
        fval = dv.devfun0(pars)
        msgs = check_conv(None, pars, dv.lower, cc).messages if calc_derivs else ()
        return GlmerFit.from_state(glf, 0, dv.pp, dv.resp, pars, dv.pp.delb.copy(), fval, tol_pwrss=tol_pwrss,
                                   compDev=dv.compDev,
                                   optimizer="bobyqa", devfun=dv.devfun0, conv_messages=msgs)
    dv.set_agq(nAGQ)
    derivs = deriv12(dv.devfun, pars) if calc_derivs else None
    fval = dv.devfun(pars)
    dv.resp.offset = dv.base_offset.copy()
    lower = np.concatenate([dv.lower, np.full(pars.size - dv.nth, -np.inf)])
    msgs = check_conv(derivs, pars, lower, cc).messages if calc_derivs else ()
    return GlmerFit.from_state(glf, nAGQ, dv.pp, dv.resp, pars[:dv.nth], pars[dv.nth:], fval, compDev=dv.compDev,
                               hessian=None if derivs is None else derivs.Hessian,
                               gradient=None if derivs is None else derivs.gradient, tol_pwrss=tol_pwrss,
                               devfun=dv.devfun, conv_messages=msgs)


__all__ = ["glmer", "glmer_at", "GlmerFit"]
