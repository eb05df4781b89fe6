"""``glmerControl()``: every argument of lme4 1.1-31's ``glmerControl`` (``R/lmerControl.R``), its
defaults and its validation, as the frozen dataclass :class:`GlmerControl`, and glmer's reading of its
``control`` argument (R: the top of ``lme4::glmer``: an ``lmerControl`` is converted with a warning).

The arguments glmerControl shares with lmerControl are validated by the LMM code
(:func:`pyreterms.lmm.control.control_fields`: ``check.rankX``/``check.scaleX`` by ``match.arg``,
``.makeCC`` for ``check.conv.*``, ``optCtrl`` a list, unknown names "unused argument"); the
glmer-only ones are ``tolPwrss``, ``compDev``, ``nAGQ0initStep`` and ``check.response.not.const``.
A single optimizer (name or function) means both stages (R: ``replicate(2, optimizer)``).
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from pyreterms.design.checks import CheckControl, check_ctrl_level
from pyreterms.errors import LmeCheckError, LmeWarning
from pyreterms.lmm.control import LmerControl, Optimizer, control_fields

__all__ = ["GlmerControl", "glmerControl", "as_glmer_control", "check_response"]

#: glmerControl's arguments that lmerControl does not have (R names -> field names)
_GLMER_ONLY = {"tolPwrss": "tolPwrss", "compDev": "compDev", "nAGQ0initStep": "nAGQ0initStep",
               "check.response.not.const": "check_response_not_const",
               "check_response_not_const": "check_response_not_const"}
_SHARED = ("boundary_tol", "calc_derivs", "use_last_params", "sparseX", "standardize_X", "checks",
           "check_conv_grad", "check_conv_singular", "check_conv_hess", "check_conv_grad_relTol", "opt_ctrl")


@dataclass(frozen=True)
class GlmerControl:
    """R: ``glmerControl()`` (class ``c("glmerControl", "merControl")``), every field, lme4 1.1-31's defaults.

    ``optimizer`` holds the two stages' optimizers (stage 1: the nAGQ = 0 fit of theta; stage 2:
    ``c(theta, beta)``).  ``sparseX`` and ``standardize_X`` are accepted and unused, as in lme4 1.1-31
    (glFormula does not read them).  ``restart_edge = True`` makes glmer stop as lme4's
    ``optimizeGlmer`` does ("restart_edge not implemented for optimizeGlmer yet")."""

    optimizer: tuple[Optimizer, Optimizer] = ("bobyqa", "Nelder_Mead")
    restart_edge: bool = False
    boundary_tol: float = 1e-5
    calc_derivs: bool = True
    use_last_params: bool = False
    sparseX: bool = False
    standardize_X: bool = False
    checks: CheckControl = field(default_factory=CheckControl)
    check_response_not_const: str = "stop"
    check_conv_grad: tuple[str, float] = ("warning", 0.002)
    check_conv_singular: tuple[str, float] = ("message", 1e-4)
    check_conv_hess: tuple[str, float] = ("warning", 1e-6)
    check_conv_grad_relTol: float | None = None
    opt_ctrl: tuple[tuple[str, Any], ...] = ()
    mod_type: str = "glmer"
    tolPwrss: float = 1e-7
    compDev: bool = True
    nAGQ0initStep: bool = True

    @property
    def opt_ctrl_dict(self) -> dict[str, Any]:
        return dict(self.opt_ctrl)

    def conv_control(self) -> LmerControl:
        """The ``checkConv`` part, as the LMM's convergence checks read it (R: ``control$checkConv``)."""
        return replace(LmerControl(), check_conv_grad=self.check_conv_grad,
                       check_conv_singular=self.check_conv_singular, check_conv_hess=self.check_conv_hess,
                       check_conv_grad_relTol=self.check_conv_grad_relTol)


def _optimizers(opt: Any) -> tuple[Optimizer, Optimizer]:
    """R: ``if (length(optimizer) == 1) optimizer <- replicate(2, optimizer)``."""
    if opt is None or isinstance(opt, str) or callable(opt):
        return (opt, opt)
    if isinstance(opt, Sequence) and len(opt) == 2:
        return (opt[0], opt[1])
    if isinstance(opt, Sequence) and len(opt) == 1:
        return (opt[0], opt[0])
    raise LmeCheckError(f"glmerControl: optimizer must be one or two optimizers, not {opt!r}", check="optimizer")


def glmer_control_fields(**kwargs: Any) -> dict[str, Any]:
    """The :class:`GlmerControl` fields of ``glmerControl(**kwargs)`` (R or Python names), validated as lme4 does."""
    own: dict[str, Any] = {}
    shared: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in _GLMER_ONLY:
            own[_GLMER_ONLY[key]] = value
        elif key == "optimizer":
            own["optimizer"] = _optimizers(value)
        elif key == "restart_edge":
            own["restart_edge"] = value
        elif key in ("mod.type", "mod_type"):
            own["mod_type"] = value
        else:
            shared[key] = value
    lm = control_fields(**shared)
    base = GlmerControl(**{k: lm[k] for k in _SHARED}, **own)
    if base.use_last_params is True and base.calc_derivs is True:
        warnings.warn("using 'use.last.params'=TRUE and 'calc.derivs'=TRUE with 'glmer' "
                      "will not give backward-compatible results", LmeWarning, stacklevel=3)
    return {f.name: getattr(base, f.name) for f in fields(GlmerControl)}


class glmerControl(GlmerControl):  # noqa: N801 - lme4's name
    """R: ``lme4::glmerControl(...)``: a frozen :class:`GlmerControl` from R's dotted argument names
    (``glmerControl(**{"check.nlev.gtr.1": "ignore"})``) or Python's; lme4's warning for
    ``use.last.params = TRUE`` with ``calc.derivs = TRUE``."""

    def __init__(self, **kwargs: Any) -> None:
        for name, value in glmer_control_fields(**kwargs).items():
            object.__setattr__(self, name, value)


def as_glmer_control(control: GlmerControl | LmerControl | Mapping[str, Any] | None) -> GlmerControl:
    """R: the top of ``glmer``: a ``glmerControl`` as it is; an ``lmerControl`` warns "please use
    glmerControl() instead of lmerControl()" and becomes ``glmerControl`` of its settings without
    ``restart_edge``; None gives the defaults; a dict is ``glmerControl(**dict)`` (pyreterms' shorthand:
    lme4 warns on a plain list and then fails in glFormula, "is.list(ctrl) is not TRUE")."""
    if control is None:
        return GlmerControl()
    if isinstance(control, GlmerControl):
        return control
    if isinstance(control, LmerControl):
        warnings.warn("please use glmerControl() instead of lmerControl()", LmeWarning, stacklevel=3)
        return GlmerControl(optimizer=_optimizers(control.optimizer), boundary_tol=control.boundary_tol,
                            calc_derivs=control.calc_derivs, use_last_params=control.use_last_params,
                            sparseX=control.sparseX, standardize_X=control.standardize_X, checks=control.checks,
                            check_conv_grad=control.check_conv_grad, check_conv_singular=control.check_conv_singular,
                            check_conv_hess=control.check_conv_hess,
                            check_conv_grad_relTol=control.check_conv_grad_relTol, opt_ctrl=control.opt_ctrl)
    if isinstance(control, Mapping):
        return glmerControl(**dict(control))
    raise LmeCheckError("'control' is not a list; use glmerControl()", check="control")


def check_response(y: np.ndarray, cc: Any) -> None:
    """R: ``checkResponse(y, control$checkControl)`` in ``mkGlmerDevfun``: ``check.response.not.const``
    (its level checked here; "stop" already stops in :func:`pyreterms.glmm.glformula.glformula`)."""
    check_ctrl_level("check.response.not.const", cc)
    if cc != "ignore" and np.unique(y).size < 2:
        if cc == "warning":
            warnings.warn("Response is constant", LmeWarning, stacklevel=4)
        elif cc == "stop":
            raise LmeCheckError("Response is constant", check="check.response.not.const")
        else:
            raise LmeCheckError("unknown check level for 'check.response.not.const'", check="check.response.not.const")
