"""minqa 1.2.5's ``bobyqa()`` (R: ``minqa::bobyqa``), Powell's BOBYQA as minqa runs it, ported so that
the sequence of points evaluated is R's: the R function (``commonArgs`` defaults and checks, its
warnings, the first ``fn(par)``), minqa.cpp's ``bobyqa_cpp``/``calfun``/``rval`` (evaluation count,
non-finite values replaced by ``DBL_MAX``, the final ``fn(par)`` that gives ``fval``) and the Fortran
``BOBYQA`` (bounds set-up; :func:`pyreterms.lmm.bobyqa_bobyqb.bobyqb` does the rest). ``ierr`` and
``msg`` are minqa's (R/minqa.R's translation of the Fortran codes).

Not ported: printing (``iprint``); minqa's RESCUE evaluates an undefined point in R
(:mod:`pyreterms.lmm.bobyqa_prelim`), here Powell's.
"""
from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from pyreterms.errors import LmeCheckError, LmeWarning
from pyreterms.lmm.bobyqa_bobyqb import bobyqb

#: R/minqa.R: the Fortran IERR -> (ierr, msg) of the returned list
IERR_MESSAGES = {
    10: (2, "bobyqa -- NPT is not in the required interval"),
    320: (5, "bobyqa detected too much cancellation in denominator"),
    390: (1, "bobyqa -- maximum number of function evaluations exceeded"),
    430: (3, "bobyqa -- a trust region step failed to reduce q"),
    20: (4, "bobyqa -- one of the box constraint ranges is too small (< 2*RHOBEG)"),
}
_CONTROLS = ("npt", "rhobeg", "rhoend", "iprint", "maxfun", "obstop", "force.start")
DBL_MAX = sys.float_info.max


def _stop(msg: str) -> LmeCheckError:
    return LmeCheckError(msg, check="bobyqa")


def _warn(msg: str) -> None:
    warnings.warn(msg, LmeWarning, stacklevel=4)


def common_args(par: np.ndarray, control: Mapping[str, Any]) -> dict[str, Any]:
    """R: ``minqa:::commonArgs``: defaults ``npt = min(n + 2, 2n)`` (then at least ``n + 2``),
    ``rhobeg = min(0.95, 0.2 max|par|)``, ``rhoend = 1e-6 rhobeg``, ``maxfun = 10000``, with its warnings."""
    n = par.size
    if not np.all(np.isfinite(par)):
        raise _stop("all(is.finite(par)) is not TRUE")
    if any(k not in _CONTROLS for k in control):
        _warn("unused control arguments ignored")
    cc: dict[str, Any] = {"npt": min(n + 2, 2 * n), "rhobeg": None, "rhoend": None, "iprint": 0,
                          "maxfun": 10000, "obstop": True, "force.start": False}
    cc.update({k: v for k, v in control.items() if k in _CONTROLS})
    cc["npt"] = int(max(n + 2, min(float(cc["npt"]), ((n + 1) * (n + 2)) // 2)))
    if cc["npt"] > 2 * n + 1:
        _warn("Setting npt > 2 * length(par) + 1 is not recommended.")
    if cc["rhobeg"] is None:
        cc["rhobeg"] = min(0.95, 0.2 * float(np.max(np.abs(par))))
    cc["rhobeg"] = float(cc["rhobeg"])
    if cc["rhoend"] is None:
        cc["rhoend"] = 1.0e-6 * cc["rhobeg"]
    cc["rhoend"] = float(cc["rhoend"])
    if not 0 < cc["rhoend"]:
        raise _stop("0 < ctrl$rhoend is not TRUE")
    if not cc["rhoend"] <= cc["rhobeg"]:
        raise _stop("ctrl$rhoend <= ctrl$rhobeg is not TRUE")
    if cc["maxfun"] < 10 * n ** 2:
        _warn("maxfun < 10 * length(par)^2 is not recommended.")
    return cc


def _fortran_bobyqa(n: int, npt: int, x: np.ndarray, xl: np.ndarray, xu: np.ndarray, rhobeg: float,
                    rhoend: float, maxfun: int, calfun: Callable[[np.ndarray], float]) -> int:
    """Fortran ``BOBYQA``: NPT and bound-range checks, the start moved off near bounds, ``SL``/``SU``;
    returns IERR (arrays 1-based)."""
    if npt < n + 2 or npt > ((n + 2) * (n + 1)) // 2:
        return 10
    zero = 0.0
    sl = np.zeros(n + 1)
    su = np.zeros(n + 1)
    for j in range(1, n + 1):
        temp = xu[j] - xl[j]
        if temp < rhobeg + rhobeg:
            return 20
        sl[j] = xl[j] - x[j]
        su[j] = xu[j] - x[j]
        if sl[j] >= -rhobeg:
            if sl[j] >= zero:
                x[j] = xl[j]
                sl[j] = zero
                su[j] = temp
            else:
                x[j] = xl[j] + rhobeg
                sl[j] = -rhobeg
                su[j] = max(xu[j] - x[j], rhobeg)
        elif su[j] <= rhobeg:
            if su[j] <= zero:
                x[j] = xu[j]
                sl[j] = -temp
                su[j] = zero
            else:
                x[j] = xu[j] - rhobeg
                sl[j] = min(xl[j] - x[j], -rhobeg)
                su[j] = rhobeg
    return bobyqb(n, npt, x, xl, xu, rhobeg, rhoend, maxfun, sl, su, calfun)


def bobyqa(fn: Callable[[np.ndarray], float], par: np.ndarray, lower: Any = -np.inf, upper: Any = np.inf,
           control: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """R: ``minqa::bobyqa(par, fn, lower, upper, control)``; returns R's list ``{"par", "fval", "feval",
    "ierr", "msg"}`` (``ierr``/``msg`` translated as R/minqa.R does). ``fn`` sees R's sequence of points:
    ``par``, the ``feval`` points of the Fortran, then the returned ``par``."""
    par = np.array(par, dtype=np.float64).ravel()
    n = par.size
    ctrl = common_args(par, dict(control or {}))
    check = fn(par.copy())
    if np.ndim(check) > 0 and np.size(check) != 1:
        raise _stop("Objective function must return a single numeric value.")
    lo = np.array(lower, dtype=np.float64).ravel()
    up = np.array(upper, dtype=np.float64).ravel()
    if lo.size == 1:
        lo = np.full(n, lo[0])
    if up.size == 1:
        up = np.full(n, up[0])
    if lo.size != n:
        raise _stop("length(lower) == n is not TRUE")
    if up.size != n:
        raise _stop("length(upper) == n is not TRUE")
    if not np.all(lo < up):
        raise _stop("all(lower < upper) is not TRUE")
    if np.any((par < lo) | (par > up)):
        if ctrl["obstop"]:
            raise _stop("Starting values violate bounds")
        par = np.maximum(lo, np.maximum(par, up))  # sic (minqa 1.2.5)
        _warn("Some parameters adjusted to nearest bound")
    rng = up - lo
    if np.any(rng < 2 * ctrl["rhobeg"]):
        _warn("All upper - lower must be >= 2*rhobeg. Changing rhobeg")
        ctrl["rhobeg"] = 0.2 * float(np.min(rng))
    if (np.all(np.isfinite(up)) and np.all(np.isfinite(lo)) and np.all(par >= lo) and np.all(par <= up)
            and not ctrl["force.start"]):
        i = rng < ctrl["rhobeg"]
        if np.any(i):
            par[i] = lo[i] + ctrl["rhobeg"]
            _warn("Some parameters adjusted away from lower bound")
        i = rng < ctrl["rhobeg"]
        if np.any(i):
            par[i] = up[i] - ctrl["rhobeg"]
            _warn("Some parameters adjusted away from upper bound")
    feval = [0]
    caller_err = np.geterr()

    def calfun(x: np.ndarray) -> float:  # minqa.cpp's calfun
        feval[0] += 1
        if not np.isfinite(x).all():
            raise _stop("non-finite x values not allowed in calfun")
        with np.errstate(**caller_err):  # the objective runs under the caller's settings
            f = float(fn(x))
        return f if np.isfinite(f) else DBL_MAX

    x = np.concatenate([[0.0], par])
    xl = np.concatenate([[0.0], lo])
    xu = np.concatenate([[0.0], up])
    with np.errstate(all="ignore"):  # the Fortran computes with Inf/NaN silently (DBL_MAX values overflow)
        ierr = _fortran_bobyqa(n, int(ctrl["npt"]), x, xl, xu, float(ctrl["rhobeg"]), float(ctrl["rhoend"]),
                               int(ctrl["maxfun"]), calfun)
    out = x[1:].copy()
    fval = float(fn(out.copy()))  # rval(): fn at the returned par, not counted
    code, msg = IERR_MESSAGES.get(ierr, (ierr, "Normal exit from bobyqa"))
    return {"par": out, "fval": fval, "feval": feval[0], "ierr": code, "msg": msg}
