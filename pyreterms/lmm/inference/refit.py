"""R: ``lme4:::refitML.merMod``: a REML fit refitted by maximum likelihood (used by ``anova`` with
``refit = TRUE`` and by ``profile``/``devfun2``).

lme4 restarts the optimizer at the REML theta with ``optwrap("bobyqa", ...)``, i.e. minqa's BOBYQA with
its default control (the fit's ``optCtrl`` is not passed on), without ``optimizeLmer``'s edge restart,
boundary check or ``checkConv``; so do we, with the port of minqa's BOBYQA
(:mod:`pyreterms.lmm.bobyqa_minqa`), from the same start.
"""
from __future__ import annotations

import dataclasses
from typing import TypeVar

import numpy as np

from pyreterms.lmm.deviance import Workspace
from pyreterms.lmm.inference.fitview import InferenceFit
from pyreterms.lmm.optimize import OptResult, optwrap
from pyreterms.lmm.threads import blas_threads

F = TypeVar("F", bound=InferenceFit)


def ml_version(fit: F, theta: np.ndarray | None = None) -> F:
    """The fit as an ML fit at ``theta`` (default: its own theta), without optimizing."""
    prob = dataclasses.replace(fit.problem, REML=False, ws=Workspace())
    lf = dataclasses.replace(fit.lf, REML=False)
    th = np.array(fit.theta if theta is None else theta, dtype=np.float64)
    state = prob.solve(th)
    opt = dataclasses.replace(fit.opt, par=th, fval=state.dev)
    return dataclasses.replace(fit, lf=lf, problem=prob, state=state, opt=opt)  # type: ignore[type-var]


def refit_ml(fit: F) -> F:
    """R: ``refitML(fit)``: unchanged for an ML fit; else the ML optimum started at the REML theta
    (R's ``optwrap`` for bobyqa moves an all-zero start to 0.001)."""
    if not fit.is_REML:
        return fit
    prob = dataclasses.replace(fit.problem, REML=False, ws=Workspace())
    lower = np.asarray(fit.lf.reTrms.lower, dtype=np.float64)
    start = np.array(fit.theta, dtype=np.float64)
    if np.all(start == 0):
        start[:] = 0.001
    # refitML: optwrap("bobyqa", devfun, theta, lower, calc.derivs = TRUE) -- the derivatives do not move
    # the optimum, and the fit's own optimizer and optCtrl are not used
    ctrl = dataclasses.replace(fit.control, calc_derivs=False, optimizer="bobyqa", opt_ctrl=())
    with np.errstate(all="ignore"), blas_threads(ctrl.blas_threads):
        o, warns = optwrap(prob.deviance, start, lower, ctrl)
    par = np.asarray(o["par"], dtype=np.float64)
    state = prob.solve(par)
    opt = OptResult(par=par, fval=float(o["fval"]), feval=int(o["feval"]), conv=int(o["conv"]),
                    message=str(o["message"]), derivs=None, n_devfun=int(o["feval"]), warnings=tuple(warns))
    lf = dataclasses.replace(fit.lf, REML=False)
    return dataclasses.replace(fit, lf=lf, problem=prob, state=state, opt=opt, start=start)  # type: ignore[type-var]


__all__ = ["refit_ml", "ml_version"]
