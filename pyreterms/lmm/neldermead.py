"""lme4's own bounded Nelder-Mead: ``lme4::Nelder_Mead`` (``R/optimizer.R``) and its C++ engine
(``src/optimizer.cpp`` / ``src/optimizer.h``, lme4 1.1-31; NLopt 2.2.4's ``nldrmd.c`` rewritten as a
reverse-communication state machine).

Ported statement by statement -- same initial simplex, same order of evaluations, same stopping
rules (only the x-convergence test and maxfun: the engine never tests ``FtolAbs``/``FtolRel``, and
``XtolRel`` is not passed on, so the engine's 1e-7 applies) -- because no library optimizer walks
the same path, and parity with lme4 needs the same evaluation count and the same theta.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from pyreterms.errors import LmeCheckError, LmeWarning
from pyreterms.lmm import nmkernel

ALPHA, BETA, GAMMA, DELTA = 1.0, 0.5, 2.0, 0.5  # optimizer.h: alpha, beta, gamm, delta
DBL_MAX = float(np.finfo(np.float64).max)

# nm_status as NelderMead_newf returns it to R
EVALS, FORCED, NOFEASIBLE, X0NOTFEASIBLE, ACTIVE, MINF_MAX, FCVG, XCVG = -4, -3, -2, -1, 0, 1, 2, 3


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-13 * (abs(a) + abs(b))


def _g(v: float) -> str:
    """C++ ``ostream << double`` at its default precision 6 (``%g``; inf as "inf")."""
    return f"{v:g}"


def _relstop(vold: float, vnew: float, reltol: float, abstol: float) -> bool:
    if abs(vold) == np.inf:
        return False
    d = abs(vnew - vold)
    return d < abstol or d < reltol * (abs(vnew) + abs(vold)) * 0.5 or (reltol > 0 and vnew == vold)



def _eigen_extreme(vals: np.ndarray, lowest: bool) -> int:
    """Eigen 3.3's ``minCoeff(&i)``/``maxCoeff(&i)`` (RcppEigen's ``min/max_coeff_visitor``): start at element
    0 and move only on a strict ``<``/``>``, so the first extreme wins and a NaN is never chosen unless it is
    element 0 (then nothing compares past it).  ``np.argmin``/``np.argmax`` pick the first NaN instead, which
    sent Nelder_Mead elsewhere when the objective returned NaN (a GLMM deviance can, where PIRLS fails)."""
    best, res = 0, float(vals[0])
    for k in range(1, len(vals)):
        v = float(vals[k])
        if (v < res) if lowest else (v > res):
            best, res = k, v
    return best

class NelderMeadEngine:
    """R: the C++ class ``optimizer::Nelder_Mead`` (``newf`` drives it; ``xeval`` is the next point)."""

    def __init__(self, lb: np.ndarray, ub: np.ndarray, xstep: np.ndarray, x: np.ndarray, xtol_abs: np.ndarray,
                 maxeval: int, minf_max: float, iprint: int = 0) -> None:
        n = x.size
        self.lb, self.ub, self.n = lb, ub, n
        self.x = x.copy()
        self.xtol_abs, self.xtol_rel = xtol_abs, 1e-7
        self.maxeval, self.minf_max, self.nevals = maxeval, minf_max, 0
        self.minf = np.inf
        self.iprint = iprint
        self.stage = "restart"
        self.vals = np.zeros(n + 1)
        self.c = np.zeros(n)
        self.xcur = np.zeros(n)
        self.xeval = x.copy()
        self.fl = self.fh = self.f_old = 0.0
        self.il = self.ih = 0
        if np.any(x - lb < 0) or np.any(ub - x < 0):
            raise LmeCheckError("initial x is not a feasible point", check="Nelder_Mead")
        self.init_pos = 0
        pts = np.repeat(x[:, None], n + 1, axis=1)
        for i in range(n):
            j = i + 1
            pts[i, j] += xstep[i]
            if pts[i, j] > ub[i]:
                pts[i, j] = ub[i] if ub[i] - x[i] > abs(xstep[i]) * 0.1 else x[i] - abs(xstep[i])
            if pts[i, j] < lb[i]:
                if x[i] - lb[i] > abs(xstep[i]) * 0.1:
                    pts[i, j] = lb[i]
                else:
                    pts[i, j] = x[i] + abs(xstep[i])
                    if pts[i, j] > ub[i]:
                        pts[i, j] = 0.5 * ((ub[i] if ub[i] - x[i] > x[i] - lb[i] else lb[i]) + x[i])
            if _close(pts[i, j], x[i]):
                raise LmeCheckError("cannot generate feasible simplex", check="Nelder_Mead")
        self.pts = pts

    def newf(self, f: float) -> int:
        self.nevals += 1
        if self.iprint > 0 and self.nevals % self.iprint == 0:  # Rcpp::Rcout, Eigen's row-vector layout
            xs = [_g(v) for v in self.x]
            w = max(len(t) for t in xs)
            print(f"(NM) {self.nevals}: f = {_g(self.minf)} at {' '.join(t.rjust(w) for t in xs)}")
        if f < self.minf:
            self.minf = f
            self.x = self.xeval.copy()
            if self.minf < self.minf_max:
                return MINF_MAX
        if self.maxeval > 0 and self.nevals > self.maxeval:
            return EVALS
        if self.init_pos <= self.n:
            return self._init(f)
        return {"restart": self._restart, "postreflect": self._postreflect, "postexpand": self._postexpand,
                "postcontract": self._postcontract}[self.stage](f)

    def _init(self, f: float) -> int:
        self.vals[self.init_pos] = f
        self.init_pos += 1
        if self.init_pos > self.n:
            return self._restart(f)
        self.xeval = self.pts[:, self.init_pos].copy()
        return ACTIVE

    def _restart(self, f: float) -> int:
        self.il = _eigen_extreme(self.vals, lowest=True)
        self.ih = _eigen_extreme(self.vals, lowest=False)
        self.fl, self.fh = float(self.vals[self.il]), float(self.vals[self.ih])
        s = self.pts[:, 0].copy()
        for k in range(1, self.n + 1):  # Eigen's rowwise().sum(): column after column
            s = s + self.pts[:, k]
        self.c = (s - self.pts[:, self.ih]) / self.n
        dev = np.abs(self.pts - self.c[:, None]).max(axis=1)
        if all(_relstop(float(dev[i]), 0.0, self.xtol_rel, float(self.xtol_abs[i])) for i in range(self.n)):
            return XCVG
        ok, self.xcur = self._reflectpt(self.c, ALPHA, self.pts[:, self.ih])
        if not ok:
            return XCVG
        self.xeval = self.xcur.copy()
        self.stage = "postreflect"
        return ACTIVE

    def _postreflect(self, f: float) -> int:
        if f < self.fl:  # new best point: try to expand
            ok, self.xeval = self._reflectpt(self.c, GAMMA, self.pts[:, self.ih])
            if not ok:
                return XCVG
            self.stage = "postexpand"
            self.f_old = f
            return ACTIVE
        if f < self.fh:  # accept the new point
            self.vals[self.ih] = f
            self.pts[:, self.ih] = self.xeval
            return self._restart(f)
        ok, self.xcur = self._reflectpt(self.c, -BETA if self.fh <= f else BETA, self.pts[:, self.ih])
        if not ok:
            return XCVG
        self.f_old = f
        self.xeval = self.xcur.copy()
        self.stage = "postcontract"
        return ACTIVE

    def _postexpand(self, f: float) -> int:
        if f < self.vals[self.ih]:  # (sic) compared with the worst value, as lme4 does
            self.pts[:, self.ih] = self.xeval
            self.vals[self.ih] = f
        else:
            self.pts[:, self.ih] = self.xcur
            self.vals[self.ih] = self.f_old
        return self._restart(f)

    def _postcontract(self, f: float) -> int:
        if f < self.f_old and f < self.fh:
            self.pts[:, self.ih] = self.xeval
            self.vals[self.ih] = f
            return self._restart(f)
        for i in range(self.n + 1):  # shrink towards the best vertex
            if i != self.il:
                ok, self.xeval = self._reflectpt(self.pts[:, self.il].copy(), -DELTA, self.pts[:, i].copy())
                if not ok:
                    return XCVG
                self.pts[:, i] = self.xeval
        self.init_pos = 0
        self.xeval = self.pts[:, 0].copy()
        return ACTIVE

    def _reflectpt(self, c: np.ndarray, scale: float, xold: np.ndarray) -> tuple[bool, np.ndarray]:
        """xnew = c + scale (c - xold), pinned to the bounds; False when it coincides with ``c`` (the argument:
        the centroid when reflecting, the best vertex when shrinking; lme4 1.1-31's ``close(newx, c[i])``)
        or with xold."""
        xnew = c + scale * (c - xold)
        equalc = equalold = True
        for i in range(self.n):
            v = min(max(float(xnew[i]), float(self.lb[i])), float(self.ub[i]))
            equalc = equalc and _close(v, float(c[i]))
            equalold = equalold and _close(v, float(xold[i]))
            xnew[i] = v
        return not (equalc or equalold), xnew


_MESSAGES = {FORCED: "nm_forced", NOFEASIBLE: "cannot generate a feasible simplex",
             X0NOTFEASIBLE: "initial x is not feasible", ACTIVE: "active",
             MINF_MAX: "objective function went below allowed minimum",
             FCVG: "objective function values converged to within tolerance",
             XCVG: "parameter values converged to within tolerance"}
_CONTROL = {"iprint": 0, "maxfun": 10000, "FtolAbs": 1e-5, "FtolRel": 1e-15, "XtolRel": 1e-7,
            "MinfMax": -DBL_MAX, "warnOnly": False}


def pack_state(eng: NelderMeadEngine) -> tuple[np.ndarray, np.ndarray]:
    """The engine's state as :mod:`pyreterms.lmm.nmkernel`'s ``(fs, st)`` arrays (its layout)."""
    n = eng.n
    fs = np.zeros(nmkernel.state_size(n))
    fs[nmkernel.MINF], fs[nmkernel.FL], fs[nmkernel.FH] = eng.minf, eng.fl, eng.fh
    fs[nmkernel.FOLD], fs[nmkernel.MINFMAX] = eng.f_old, eng.minf_max
    o_lb, o_ub, o_xt, o_x, o_xe, o_xc, o_c, o_v, o_p = nmkernel.offsets(n)
    for off, v in ((o_lb, eng.lb), (o_ub, eng.ub), (o_xt, eng.xtol_abs), (o_x, eng.x), (o_xe, eng.xeval),
                   (o_xc, eng.xcur), (o_c, eng.c)):
        fs[off:off + n] = v
    fs[o_v:o_v + n + 1] = eng.vals
    fs[o_p:o_p + (n + 1) * n] = eng.pts.T.ravel()
    stage = {"restart": nmkernel.RESTART, "postreflect": nmkernel.POSTREFLECT,
             "postexpand": nmkernel.POSTEXPAND, "postcontract": nmkernel.POSTCONTRACT}[eng.stage]
    st = np.array([eng.nevals, eng.init_pos, stage, eng.il, eng.ih, eng.maxeval, n], dtype=np.int64)
    return fs, st


def _drive_compiled(fn: Callable[[np.ndarray], float], eng: NelderMeadEngine) -> tuple[int, int, float, np.ndarray]:
    """The driver loop on the compiled engine (:func:`pyreterms.lmm.nmkernel.nm_step`): returns the status,
    the number of evaluations, ``minf`` and ``x``."""
    n = eng.n
    fs, st = pack_state(eng)
    _, _, _, o_x, o_xe, _, _, _, _ = nmkernel.offsets(n)
    xe = fs[o_xe:o_xe + n]
    step = nmkernel.nm_step
    it = 0
    while True:
        it += 1
        res = step(float(fn(xe.copy())), fs, st)
        if res != ACTIVE:
            break
    return int(res), it, float(fs[nmkernel.MINF]), fs[o_x:o_x + n].copy()


def nelder_mead(fn: Callable[[np.ndarray], float], par: np.ndarray, lower: np.ndarray | None = None,
                upper: np.ndarray | None = None, control: Mapping[str, Any] | None = None, *,
                compiled: bool = True) -> dict[str, Any]:
    """R: ``lme4::Nelder_Mead(fn, par, lower, upper, control)``: returns ``fval``, ``par``,
    ``convergence``, ``NM.result``, ``message``, ``feval`` (lme4's names).  The engine runs compiled
    (:mod:`pyreterms.lmm.nmkernel`) unless ``compiled=False`` or ``iprint > 0`` (progress printing): then
    :class:`NelderMeadEngine`, the reference; both evaluate the same points."""
    par = np.asarray(par, dtype=np.float64)
    n = par.size
    ctrl = dict(control or {})
    xst = np.asarray(ctrl.pop("xst", np.full(n, 0.02)), dtype=np.float64)
    xt = np.asarray(ctrl.pop("xt", xst * 5e-4), dtype=np.float64)
    verbose = ctrl.pop("verbose", 0) or 0
    unknown = [k for k in ctrl if k not in _CONTROL]
    if unknown:
        warnings.warn("unused control arguments ignored", LmeWarning, stacklevel=3)
    cc = {**_CONTROL, **{k: v for k, v in ctrl.items() if k in _CONTROL}}
    if "iprint" not in ctrl:  # R: switch(min(verbose, 3), 0, 20, 10, 1)
        cc["iprint"] = (0, 20, 10, 1)[min(int(verbose), 3)]
    lo = np.full(n, -np.inf) if lower is None else np.broadcast_to(np.asarray(lower, dtype=np.float64), (n,)).copy()
    up = np.full(n, np.inf) if upper is None else np.broadcast_to(np.asarray(upper, dtype=np.float64), (n,)).copy()
    if xst.size != n or xt.size != n or np.any(xst == 0):
        raise LmeCheckError("Nelder_Mead: xst and xt must have length(par) nonzero values", check="Nelder_Mead")
    eng = NelderMeadEngine(lo, up, xst, par, xt, int(cc["maxfun"]), float(cc["MinfMax"]), int(cc["iprint"]))
    if compiled and eng.iprint <= 0:
        res, it, minf, xbest = _drive_compiled(fn, eng)
    else:
        it = 0
        while True:
            it += 1
            res = eng.newf(float(fn(eng.xeval.copy())))
            if res != ACTIVE:
                break
        minf, xbest = float(eng.minf), eng.x.copy()
    cmsg = "reached max evaluations"
    if res == EVALS:
        cmsg = f"failure to converge in {int(cc['maxfun'])} evaluations"
        warnings.warn(cmsg, LmeWarning, stacklevel=3)
        res = 4
    msg = cmsg if res == 4 else _MESSAGES[res]
    if res < 0:
        if cc["warnOnly"]:
            warnings.warn(msg, LmeWarning, stacklevel=3)
        else:
            raise LmeCheckError(msg, check="Nelder_Mead")
    return {"fval": minf, "par": xbest, "convergence": min(0, res), "NM.result": res,
            "message": msg, "feval": it}
