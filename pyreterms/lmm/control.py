"""``lmerControl()``: every field of lme4 1.1-31's ``lmerControl`` (``R/lmerControl.R``), its defaults
and its validation, as the frozen dataclass :class:`LmerControl` (Python names: ``.`` -> ``_``;
the factory :func:`lmerControl` also takes R's dotted names, e.g. ``lmerControl(**{"check.nlev.gtr.1":
"ignore"})``).

``start`` and ``blas_threads`` are pyreterms' own additions (``start`` is lmer's argument in lme4;
``lmer(start=)`` sets it here).  The optimizer is a name (``"nloptwrap"``, ``"Nelder_Mead"``,
``"bobyqa"``, ``"nlminbwrap"``), None (R's NULL: no optimization) or a callable with lme4's optimizer
contract ``f(fn, par, lower, upper, control) -> {"par", "fval", "conv", "message"}``.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from pyreterms.design.checks import LEVELS, RANKX_KINDS, SCALEX_KINDS, CheckControl, check_kind
from pyreterms.errors import LmeCheckError
from pyreterms.formula.parser import format_double

#: optimizers lme4 1.1-31 offers for lmer by name (``optimx`` needs the optimx package: not offered)
OPTIMIZERS = ("nloptwrap", "Nelder_Mead", "bobyqa", "nlminbwrap")

Optimizer = str | Callable[..., Any] | None


@dataclass(frozen=True)
class LmerControl:
    """R: ``lmerControl()`` (class ``c("lmerControl", "merControl")``), every field.

    ``opt_ctrl`` is R's ``optCtrl`` (the optimizer's own option names, e.g. nloptr's xtol_rel,
    ftol_abs, maxeval, algorithm; Nelder_Mead's FtolAbs, maxfun ...); ``check_conv_*`` are (action, tol)
    like ``.makeCC``, ``check_conv_grad_relTol`` its ``relTol``; ``checks`` is ``checkControl``.
    ``blas_threads``: an int pins BLAS to that many threads throughout; ``"auto"`` runs with 1 thread
    except that, when the dense factor is large (order >= 700) and there are >= 2 cores, each of the
    optimizer's sequential evaluations runs scipy's LAPACK on 1 or 2 threads, whichever its timings
    measure faster (:class:`pyreterms.lmm.threads.ThreadTuner`; the concurrent evaluations of
    :meth:`~pyreterms.lmm.deviance.LmerProblem.prefetch` always use 1 thread each); ``"lapack2"``
    forces that second LAPACK thread; None leaves BLAS alone."""

    optimizer: Optimizer = "nloptwrap"
    restart_edge: bool = True
    boundary_tol: float = 1e-5
    calc_derivs: bool = True
    use_last_params: bool = False
    check_conv_grad: tuple[str, float] = ("warning", 0.002)
    check_conv_singular: tuple[str, float] = ("message", 1e-4)
    check_conv_hess: tuple[str, float] = ("warning", 1e-6)
    opt_ctrl: tuple[tuple[str, Any], ...] = ()
    start: tuple[float, ...] | None = None
    blas_threads: int | str | None = "auto"
    sparseX: bool = False  # accepted and unused, as in lme4 1.1-31
    standardize_X: bool = False  # accepted and unused, as in lme4 1.1-31
    checks: CheckControl = field(default_factory=CheckControl)
    check_conv_grad_relTol: float | None = None
    mod_type: str = "lmer"

    @classmethod
    def coerce(cls, control: LmerControl | Mapping[str, Any] | None) -> LmerControl:
        """An ``LmerControl`` from itself, None (defaults) or a dict (R or Python names)."""
        if control is None:
            return cls()
        if isinstance(control, cls):
            return control
        if not isinstance(control, Mapping):
            raise LmeCheckError("'control' is not a list; use lmerControl()", check="control")
        return LmerControl(**control_fields(**dict(control)))

    @property
    def opt_ctrl_dict(self) -> dict[str, Any]:
        return dict(self.opt_ctrl)


_R_NAMES = {"boundary.tol": "boundary_tol", "calc.derivs": "calc_derivs", "use.last.params": "use_last_params",
            "standardize.X": "standardize_X", "optCtrl": "opt_ctrl", "mod.type": "mod_type",
            "check.conv.grad": "check_conv_grad", "check.conv.singular": "check_conv_singular",
            "check.conv.hess": "check_conv_hess", "checkControl": "checks"}
_CHECK_FIELDS = {f.name for f in fields(CheckControl)}


def _pmatch(value: object, kinds: tuple[str, ...], what: str) -> str:
    """R: ``match.arg`` (exact, else a unique partial match)."""
    if isinstance(value, str):
        if value in kinds:
            return value
        hits = [k for k in kinds if k.startswith(value)] if value else []
        if len(hits) == 1:
            return hits[0]
    check_kind(str(value), kinds, what)
    return str(value)


def _make_cc(name: str, value: object, default: tuple[str, float]) -> tuple[str, float, float | None]:
    """R: ``chk.cconv`` / ``chk.convOpt``: a string sets the action only; a dict needs an action
    string and a numeric tol >= 0 (lme4's messages, which name the option ``copt``)."""
    if isinstance(value, str):
        return value, default[1], None
    if isinstance(value, tuple) and len(value) == 2:
        value = {"action": value[0], "tol": value[1]}
    if not isinstance(value, Mapping):
        raise LmeCheckError("check.conv* option copt must be a list", check=name)
    if not isinstance(value.get("action"), str):
        raise LmeCheckError("check.conv* option copt has no 'action' string", check=name)
    tol = value.get("tol")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)):
        raise LmeCheckError("check.conv* option copt must have a numeric 'tol' component", check=name)
    if tol < 0:
        raise LmeCheckError("check.conv* option copt$tol must be number >= 0", check=name)
    rel = value.get("relTol")
    if rel is not None and (isinstance(rel, bool) or not isinstance(rel, (int, float)) or rel < 0):
        raise LmeCheckError("is.numeric(relTol) && relTol >= 0 is not TRUE", check=name)
    return str(value["action"]), float(tol), None if rel is None else float(rel)


def control_fields(**kwargs: Any) -> dict[str, Any]:
    """The :class:`LmerControl` fields of ``lmerControl(**kwargs)`` (R or Python names), validated as
    lme4 does (``check.rankX``/``check.scaleX`` by ``match.arg``, ``optCtrl`` must be a list; the check
    levels are checked where lme4 checks them, when used)."""
    out: dict[str, Any] = {}
    checks: dict[str, str] = {}
    for key, value in kwargs.items():
        _one_arg(key, value, out, checks)
    if "check_rankX" in checks:
        checks["check_rankX"] = _pmatch(checks["check_rankX"], RANKX_KINDS, "check.rankX")
    if "check_scaleX" in checks:
        checks["check_scaleX"] = _pmatch(checks["check_scaleX"], SCALEX_KINDS, "check.scaleX")
    if "boundary_tol" in out and not (isinstance(out["boundary_tol"], (int, float))
                                      and math.isfinite(out["boundary_tol"])):
        raise LmeCheckError("boundary.tol must be a finite number", check="boundary.tol")
    if out.get("optimizer", "nloptwrap") == "none":  # lmer() stops on it (R: identical(control$optimizer, "none"))
        raise LmeCheckError("deprecated use of optimizer=='none'; use NULL instead", check="optimizer")
    base = replace(LmerControl(), checks=replace(CheckControl(), **checks), **out)
    return {f.name: getattr(base, f.name) for f in fields(LmerControl)}


class lmerControl(LmerControl):  # noqa: N801 - lme4's name
    """R: ``lme4::lmerControl(...)``: a frozen :class:`LmerControl` built from R's dotted argument names
    (``lmerControl(**{"check.nlev.gtr.1": "ignore"})``) or Python's (``check_nlev_gtr_1="ignore"``)."""

    def __init__(self, **kwargs: Any) -> None:
        for name, value in control_fields(**kwargs).items():
            object.__setattr__(self, name, value)


def _one_arg(key: str, value: Any, out: dict[str, Any], checks: dict[str, str]) -> None:
    """One argument of :func:`lmerControl` into ``out`` (LmerControl fields) or ``checks``."""
    py = _R_NAMES.get(key, key.replace(".", "_"))
    if py in _CHECK_FIELDS:
        checks[py] = value
    elif py == "checks":
        checks.update({k.replace(".", "_"): v for k, v in dict(value).items()} if isinstance(value, Mapping)
                      else {f.name: getattr(value, f.name) for f in fields(CheckControl)})
    elif py in ("check_conv_grad", "check_conv_singular", "check_conv_hess"):
        act, tol, rel = _make_cc(key, value, getattr(LmerControl, py))
        out[py] = (act, tol)
        if py == "check_conv_grad" and rel is not None:
            out["check_conv_grad_relTol"] = rel
    elif py == "opt_ctrl":
        if isinstance(value, Mapping):
            value = tuple(value.items())
        elif not (isinstance(value, tuple) and all(isinstance(p, tuple) and len(p) == 2 for p in value)):
            raise LmeCheckError("is.list(optCtrl) is not TRUE", check="optCtrl")
        out[py] = value
    elif py == "start":
        out[py] = None if value is None else tuple(float(v) for v in np.ravel(value))
    elif py in {f.name for f in fields(LmerControl)}:
        out[py] = value
    else:
        raise LmeCheckError(f"unused argument ({key} = {_deparse(value)})", check="lmerControl")


def _deparse(v: Any) -> str:
    """R's deparse of a scalar argument value (for "unused argument (...)")."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (int, float)):
        return format_double(float(v))
    return "NULL" if v is None else repr(v)


def check_optimizer(opt: Optimizer) -> None:
    """R: ``lme4:::getOptfun``: the optimizer must exist and be a function with (fn, par, lower, control)."""
    if opt is None:
        return
    if callable(opt):
        try:
            params = inspect.signature(opt).parameters
        except (TypeError, ValueError):  # a builtin without a signature: let the call decide
            return
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()) and \
                any(a not in params for a in ("fn", "par", "lower", "control")):
            raise LmeCheckError("optimizer function must use (at least) formal parameters "
                                "\u2018fn\u2019, \u2018par\u2019, \u2018lower\u2019, \u2018control\u2019",
                                check="optimizer")
        return
    if not isinstance(opt, str):
        raise LmeCheckError("non-function specified as optimizer", check="optimizer")
    if opt == "optimx":  # R: optwrap's requireNamespace("optimx") (not available to pyreterms)
        raise LmeCheckError("'optimx' package must be installed order to use 'optimizer=\"optimx\"'",
                            check="optimizer")
    if opt not in OPTIMIZERS:
        raise LmeCheckError(f"couldn't find optimizer function {opt}", check="optimizer")


__all__ = ["LmerControl", "lmerControl", "OPTIMIZERS", "check_optimizer", "LEVELS"]
