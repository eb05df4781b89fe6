"""The optimizers lmer can use (R: ``lme4:::optwrap``'s dispatch and ``getOptfun``), each returning
lme4's optimizer list ``{"par", "fval", "feval", "conv", "message"}``:

- ``"nloptwrap"``: :func:`pyreterms.lmm.optimize.nloptwrap` (NLopt, the same library nloptr wraps;
  ``optCtrl = list(algorithm = "NLOPT_LN_NELDERMEAD")`` etc. selects the algorithm).
- ``"Nelder_Mead"``: lme4's own, ported exactly (:mod:`pyreterms.lmm.neldermead`).
- ``"bobyqa"`` (R: ``minqa::bobyqa``, Powell's Fortran): minqa 1.2.5's BOBYQA ported exactly
  (:mod:`pyreterms.lmm.bobyqa_minqa`): the same points evaluated in the same order.
- ``"nlminbwrap"`` (R: ``nlminb``, the PORT library): no port exists in Python; scipy's bounded
  L-BFGS-B with finite differences stands in (a different algorithm; README "Known differences").
- a callable with lme4's contract ``f(fn=, par=, lower=, upper=, control=)`` returning a dict with
  ``par`` and ``fval`` (or ``value``), optionally ``conv``/``convergence``, ``message``/``msg``, ``feval``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import nlopt
import numpy as np
from scipy.optimize import minimize

from pyreterms.errors import LmeCheckError
from pyreterms.lmm.bobyqa_minqa import bobyqa as minqa_bobyqa
from pyreterms.lmm.control import check_optimizer
from pyreterms.lmm.neldermead import nelder_mead

#: NLopt algorithms nloptr accepts for derivative-free bounded optimization (lme4 documents these
#: for nloptwrap: BOBYQA, NELDERMEAD, SBPLX, COBYLA, NEWUOA_BOUND, PRAXIS)
NLOPT_ALGORITHMS = {"NLOPT_LN_BOBYQA": nlopt.LN_BOBYQA, "NLOPT_LN_NELDERMEAD": nlopt.LN_NELDERMEAD,
                    "NLOPT_LN_SBPLX": nlopt.LN_SBPLX, "NLOPT_LN_COBYLA": nlopt.LN_COBYLA,
                    "NLOPT_LN_NEWUOA_BOUND": nlopt.LN_NEWUOA_BOUND, "NLOPT_LN_PRAXIS": nlopt.LN_PRAXIS}

Fn = Callable[[np.ndarray], float]


def numbers(ctrl: Mapping[str, Any], who: str) -> None:
    """optCtrl values must be numbers (a one-line error, not a conversion traceback)."""
    for key, v in ctrl.items():
        if key != "algorithm" and (isinstance(v, (bool, str)) or not isinstance(v, (int, float, np.integer,
                                                                                      np.floating, np.ndarray))):
            raise LmeCheckError(f"{who}: optCtrl {key} must be a number, not {v!r}", check="optCtrl")


def optimizer_name(opt: Any) -> str:
    """R: ``optName`` in optwrap (a function's name for a callable)."""
    check_optimizer(opt)
    return opt if isinstance(opt, str) else getattr(opt, "__name__", "optimizer")


def bobyqa(fn: Fn, par: np.ndarray, lower: np.ndarray, control: Mapping[str, Any]) -> dict[str, Any]:
    """R: ``minqa::bobyqa(par, fn, lower, upper = Inf, control)`` as optwrap calls it, ported exactly
    (:func:`pyreterms.lmm.bobyqa_minqa.bobyqa`: minqa's defaults, warnings and path); optwrap's
    ``opt$convergence <- opt$ierr`` gives ``conv``, minqa's ``msg`` the message."""
    r = minqa_bobyqa(fn, par, np.array(lower, dtype=np.float64), np.inf, dict(control))
    return {"par": r["par"], "fval": r["fval"], "feval": r["feval"], "conv": r["ierr"], "message": r["msg"]}


def nlminbwrap(fn: Fn, par: np.ndarray, lower: np.ndarray, control: Mapping[str, Any]) -> dict[str, Any]:
    """R: ``lme4::nlminbwrap`` (PORT ``nlminb``) approximated by scipy's L-BFGS-B (module docstring)."""
    ctrl = dict(control)
    maxfun = int(ctrl.pop("maxfun", ctrl.pop("eval.max", 200)))
    count = [0]

    def f(x: np.ndarray) -> float:
        count[0] += 1
        return float(fn(np.array(x)))

    bounds = [(float(lo), None) for lo in lower]
    res = minimize(f, np.array(par, dtype=np.float64), method="L-BFGS-B", bounds=bounds,
                   options={"maxfun": maxfun, "ftol": 1e-10, "gtol": 1e-8})
    conv = 0 if res.success else 1
    msg = "relative convergence (4)" if res.success else str(res.message)
    return {"par": np.asarray(res.x, dtype=np.float64), "fval": float(res.fun), "feval": count[0], "conv": conv,
            "message": msg}


def user_optimizer(opt: Callable[..., Any], fn: Fn, par: np.ndarray, lower: np.ndarray,
                   control: Mapping[str, Any]) -> dict[str, Any]:
    """A user function with lme4's optimizer contract (R: ``getOptfun`` + ``getConv``/``getMsg``)."""
    res = opt(fn=fn, par=np.array(par, dtype=np.float64), lower=np.array(lower, dtype=np.float64),
              upper=np.full(par.size, np.inf), control=dict(control))
    if not isinstance(res, Mapping) or "par" not in res:
        raise LmeCheckError("the optimizer function must return a list (dict) with 'par' and 'fval'",
                            check="optimizer")
    fval = res.get("fval", res.get("value"))
    p = np.asarray(res["par"], dtype=np.float64).ravel()
    if fval is None:
        fval = fn(p.copy())
    conv = res.get("conv", res.get("convergence", 0))
    msg = res.get("msg", res.get("message", ""))
    return {"par": p, "fval": float(fval), "feval": res.get("feval"), "conv": int(conv or 0), "message": str(msg)}


def run_optimizer(optimizer: Any, fn: Fn, par: np.ndarray, lower: np.ndarray, opt_ctrl: Mapping[str, Any],
                  nloptwrap: Callable[..., dict[str, Any]], verbose: int = 0) -> tuple[dict[str, Any], str]:
    """R: the optimizer call in ``optwrap`` (with its per-optimizer adjustments); returns lme4's list
    and the optimizer's name (for "convergence code ... from NAME")."""
    name = optimizer_name(optimizer)
    par = np.array(par, dtype=np.float64)
    if name == "nloptwrap":
        return nloptwrap(fn, par, lower, dict(opt_ctrl), verbose=verbose), name
    if name in ("Nelder_Mead", "bobyqa", "nlminbwrap"):
        numbers({k: v for k, v in opt_ctrl.items() if k not in ("warnOnly",)}, name)
    if name == "Nelder_Mead":
        r = nelder_mead(fn, par, lower, None, {**dict(opt_ctrl), "verbose": verbose})
        conv = 4 if r["NM.result"] == 4 else r["convergence"]
        return {"par": r["par"], "fval": r["fval"], "feval": r["feval"], "conv": conv,
                "message": r["message"]}, name
    if name == "bobyqa":
        if np.all(par == 0):  # optwrap: if (all(par == 0)) par[] <- 0.001
            par[:] = 0.001
        return bobyqa(fn, par, lower, opt_ctrl), name
    if name == "nlminbwrap":
        return nlminbwrap(fn, par, lower, opt_ctrl), name
    return user_optimizer(optimizer, fn, par, lower, opt_ctrl), name
