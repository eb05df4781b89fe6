"""lme4 1.1-31's default optimizer path for lmer: ``optimizeLmer`` + ``optwrap`` + ``nloptwrap``,
``deriv12``, ``restart_edge``, ``check.boundary`` and ``checkConv`` (``R/modular.R``, ``R/lmer.R``,
``R/utilities.R``, ``R/deriv.R``, ``R/checkConv.R``), with NLopt's LN_BOBYQA from the ``nlopt``
package (R: ``nloptr``).  Messages/warnings use lme4's texts and are raised as
:class:`~pyreterms.errors.LmeMessage` / :class:`~pyreterms.errors.LmeWarning`.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nlopt
import numpy as np

from pyreterms.design.checks import check_ctrl_level
from pyreterms.errors import LmeCheckError, LmeMessage, LmeWarning
from pyreterms.lmm.control import LmerControl as LmerControl  # re-exported (the class moved to control.py)
from pyreterms.lmm.optimizers import NLOPT_ALGORITHMS, run_optimizer
from pyreterms.lmm.threads import blas_threads
from pyreterms.rmath.longdouble import r_group_means, r_sum, r_var

NLOPT_MESSAGES = {
    1: "NLOPT_SUCCESS: Generic success return value.",
    2: "NLOPT_STOPVAL_REACHED: Optimization stopped because stopval (above) was reached.",
    3: "NLOPT_FTOL_REACHED: Optimization stopped because ftol_rel or ftol_abs (above) was reached.",
    4: "NLOPT_XTOL_REACHED: Optimization stopped because xtol_rel or xtol_abs (above) was reached.",
    5: "NLOPT_MAXEVAL_REACHED: Optimization stopped because maxeval (above) was reached.",
    6: "NLOPT_MAXTIME_REACHED: Optimization stopped because maxtime (above) was reached.",
    -1: "NLOPT_FAILURE: Generic failure code.",
    -2: "NLOPT_INVALID_ARGS: Invalid arguments (e.g. lower bounds are bigger than upper bounds, an "
        "unknown algorithm was specified, etcetera).",
    -3: "NLOPT_OUT_OF_MEMORY: Ran out of memory.",
    -4: "NLOPT_ROUNDOFF_LIMITED: Roundoff errors led to a breakdown of the optimization algorithm. In "
        "this case, the returned minimum may still be useful. (e.g. this error occurs in NEWUOA if one "
        "tries to achieve a tolerance too close to machine precision.)",
    -5: "NLOPT_FORCED_STOP: Halted because of a forced termination: the user called nlopt_force_stop(opt) "
        "on the optimization's nlopt_opt object opt from the user's objective function.",
}
_NLOPT_EXC: dict[type[BaseException], int] = {nlopt.RoundoffLimited: -4, nlopt.ForcedStop: -5, MemoryError: -3,
                                               ValueError: -2}
if hasattr(nlopt, "invalid_argument"):  # nlopt >= 2.8 raises its own class (nloptr returns status -2)
    _NLOPT_EXC[nlopt.invalid_argument] = -2
SINGULAR_MSG = "boundary (singular) fit: see help('isSingular')"


@dataclass(frozen=True)
class Derivs:
    """R: ``deriv12()`` value (``optinfo$derivs``)."""

    gradient: np.ndarray
    Hessian: np.ndarray


@dataclass(frozen=True)
class ConvCheck:
    """R: ``checkConv()`` value (``optinfo$conv$lme4``): ``code`` None when not set."""

    code: tuple[int, ...] | None = None
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class OptResult:
    """R: the ``opt`` list of ``optimizeLmer`` + counts.

    ``feval`` = BOBYQA evaluations of the last optwrap call (R ``optinfo$feval``); ``n_devfun`` = all
    deviance evaluations made by optimizeLmer (derivatives, restart probes, boundary checks)."""

    par: np.ndarray
    fval: float
    feval: int
    conv: int
    message: str
    derivs: Derivs | None
    n_devfun: int
    restarted: bool = False
    warnings: tuple[str, ...] = ()
    conv_lme4: ConvCheck = field(default_factory=ConvCheck)


def moment_start(y: np.ndarray, factors: list[np.ndarray], all_intercept: bool, ntheta: int,
                 lower: np.ndarray) -> np.ndarray | None:
    """lme4's start heuristic in ``mkLmerDevfun``: ``sqrt(var(ave(y, f)) / (var(y) - sum v_f))``.

    Applies only when every term is ``(Intercept)`` only and ``length(flist) == length(theta)``;
    ``factors`` are the integer codes of flist.  Returns None when it does not apply."""
    if not all_intercept or len(factors) != ntheta or y is None or len(y) < 2:
        return None
    y = np.asarray(y, dtype=np.float64)
    # R's long double mean/var/sum (pyreterms.rmath.longdouble): equal group means give exactly 0 there
    v = [r_var(r_group_means(y, codes, int(np.max(codes)) + 1)[codes]) for codes in map(np.asarray, factors)]
    v_e = r_var(y) - r_sum(np.array(v))
    if not np.isfinite(v_e) or v_e <= 0:
        return None
    v_rel = np.array(v) / v_e
    if not np.all(v_rel >= np.asarray(lower) ** 2):
        return None
    return np.sqrt(v_rel)


def nloptwrap(fn: Callable[[np.ndarray], float], par: np.ndarray, lower: np.ndarray,
              opt_ctrl: dict[str, Any] | None = None, verbose: int = 0,
              upper: np.ndarray | None = None) -> dict[str, Any]:
    """R: ``lme4:::nloptwrap`` -> ``nloptr(x0, fn, lb = lower, ub = upper (Inf), opts)`` with LN_BOBYQA,
    ``xtol_abs = ftol_abs = 1e-8``, ``maxeval = 1e5`` and nloptr's ``xtol_rel = 1e-4``;
    ``opt_ctrl["algorithm"]`` picks another NLopt algorithm (nloptr's names, "NLOPT_LN_...")."""
    ctrl: dict[str, Any] = {"algorithm": "NLOPT_LN_BOBYQA", "xtol_rel": 1e-4, "xtol_abs": 1e-8, "ftol_abs": 1e-8,
                            "ftol_rel": 0.0, "maxeval": 100000}
    ctrl.update(opt_ctrl or {})
    unknown = set(ctrl) - {"algorithm", "xtol_rel", "xtol_abs", "ftol_abs", "ftol_rel", "maxeval", "print_level"}
    if unknown:
        raise LmeCheckError(f"nloptwrap: unknown optCtrl option(s) {', '.join(sorted(unknown))}", check="optCtrl")
    from_name = NLOPT_ALGORITHMS.get(str(ctrl["algorithm"]))
    if from_name is None:
        raise LmeCheckError(f"nloptwrap: algorithm {ctrl['algorithm']!r} is not one of "
                            f"{', '.join(NLOPT_ALGORITHMS)}", check="optCtrl")
    for key in ("xtol_rel", "xtol_abs", "ftol_abs", "ftol_rel", "maxeval"):
        v = ctrl[key]
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise LmeCheckError(f"nloptwrap: optCtrl {key} must be a number, not {v!r}", check="optCtrl")
    k = len(par)
    opt = nlopt.opt(from_name, k)
    opt.set_lower_bounds(np.asarray(lower, dtype=np.float64))
    opt.set_upper_bounds(np.full(k, np.inf) if upper is None else np.asarray(upper, dtype=np.float64))
    opt.set_xtol_rel(float(ctrl["xtol_rel"]))
    opt.set_xtol_abs(np.full(k, float(ctrl["xtol_abs"])))
    opt.set_ftol_abs(float(ctrl["ftol_abs"]))
    opt.set_ftol_rel(float(ctrl["ftol_rel"]))
    opt.set_maxeval(int(ctrl["maxeval"]))
    best_f, best_x = np.inf, np.array(par, dtype=np.float64)

    evals = 0

    def f(x: np.ndarray, grad: np.ndarray) -> float:
        nonlocal best_f, best_x, evals
        val = float(fn(np.array(x)))
        evals += 1
        if verbose:  # nloptr's print_level = 1
            print(f"iteration: {evals}\n\tf(x) = {val:f}")
        if val < best_f:
            best_f, best_x = val, np.array(x)
        return val

    opt.set_min_objective(f)
    try:
        x = np.asarray(opt.optimize(np.array(par, dtype=np.float64)), dtype=np.float64)
        fval, status = float(opt.last_optimum_value()), int(opt.last_optimize_result())
    except tuple(_NLOPT_EXC) as e:  # nloptr returns these as negative status codes
        status = next(v for c, v in _NLOPT_EXC.items() if isinstance(e, c))
        x, fval = best_x, best_f
    return {"par": x, "fval": fval, "feval": int(opt.get_numevals()),
            "conv": status if (status < 0 or status == 5) else 0,
            "message": NLOPT_MESSAGES.get(status, str(status))}


def deriv12(fun: Callable[[np.ndarray], float], x: np.ndarray, delta: float = 1e-4,
            fx: float | None = None) -> Derivs:
    """R: ``lme4:::deriv12`` (central differences, bounds ignored), same evaluation order."""
    x = np.asarray(x, dtype=np.float64)
    nx = x.size
    if fx is None:
        fx = fun(x.copy())
    H = np.full((nx, nx), np.nan)
    g = np.zeros(nx)
    xadd, xsub = x + delta, x - delta

    def spos(pos: list[int], src: list[np.ndarray]) -> np.ndarray:
        z = x.copy()
        for i, s in zip(pos, src, strict=False):
            z[i] = s[i]
        return z

    for j in range(nx):
        fadd = fun(spos([j], [xadd]))
        fsub = fun(spos([j], [xsub]))
        H[j, j] = fadd / delta ** 2 - 2 * fx / (delta * delta) + fsub / delta ** 2
        g[j] = (fadd - fsub) / (delta + delta)
        for i in range(j):
            d2 = (delta + delta) ** 2
            H[i, j] = H[j, i] = (fun(spos([i, j], [xadd, xadd])) / d2 - fun(spos([i, j], [xadd, xsub])) / d2
                                 - fun(spos([i, j], [xsub, xadd])) / d2 + fun(spos([i, j], [xsub, xsub])) / d2)
    return Derivs(gradient=g, Hessian=H)


def deriv12_points(x: np.ndarray, delta: float = 1e-4) -> list[np.ndarray]:
    """The points :func:`deriv12` evaluates (besides ``x``), bit-identical, in its order."""
    x = np.asarray(x, dtype=np.float64)
    xadd, xsub = x + delta, x - delta
    out = []

    def spos(pos: list[int], src: list[np.ndarray]) -> np.ndarray:
        z = x.copy()
        for i, s in zip(pos, src, strict=False):
            z[i] = s[i]
        return z

    for j in range(x.size):
        out += [spos([j], [xadd]), spos([j], [xsub])]
        for i in range(j):
            out += [spos([i, j], [a, b]) for a, b in ((xadd, xadd), (xadd, xsub), (xsub, xadd), (xsub, xsub))]
    return out


def optwrap(fn: Callable[[np.ndarray], float], par: np.ndarray, lower: np.ndarray, ctrl: LmerControl,
            prefetch: Prefetch | None = None, verbose: int = 0,
            last_theta: Callable[[], np.ndarray] | None = None) -> tuple[dict[str, Any], list[str]]:
    """R: ``lme4:::optwrap``: optimise (:func:`~pyreterms.lmm.optimizers.run_optimizer`), warn on a bad code,
    ``deriv12`` at the optimum, then ``fn(opt$par)`` so the state is at the optimum.

    ``prefetch(thetas, solve_at=)`` (optional, e.g. :meth:`LmerProblem.prefetch`) may evaluate the
    deriv12 points concurrently beforehand; ``fn`` is still called in R's order."""
    # optinfo$warnings holds the optimizer's own warnings (R: withCallingHandlers around optfun); the
    # "convergence code" warning is not among them: lme4 1.1-31 appends it with `curWarnings <<-`, which
    # assigns outside optwrap's frame, so it only reaches the user as a warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt, name = run_optimizer(ctrl.optimizer, fn, par, lower, ctrl.opt_ctrl_dict, nloptwrap, verbose)
    warns = [str(w.message) for w in caught]
    for w in caught:
        warnings.warn(w.message, stacklevel=3)
    if opt["conv"] != 0:
        warnings.warn(f"convergence code {opt['conv']} from {name}: {opt['message']}", LmeWarning, stacklevel=3)
    # R passes fx = opt$value, which is NULL for nloptwrap's list, so deriv12 evaluates f(x) itself
    if prefetch is not None:
        prefetch([opt["par"]] + (deriv12_points(opt["par"]) if ctrl.calc_derivs else []),
                 solve_at=opt["par"])
    orig = last_theta() if (last_theta is not None and ctrl.use_last_params) else None
    opt["derivs"] = deriv12(fn, opt["par"]) if ctrl.calc_derivs else None
    if orig is None:
        fn(opt["par"])
    elif ctrl.calc_derivs:  # use.last.params: back to the optimizer's last theta
        fn(orig)
    return opt, warns


@dataclass
class _Calls:
    """The devfun calls so far and the last theta (R: the closure's environment)."""

    n: int
    theta: np.ndarray


#: :meth:`pyreterms.lmm.deviance.LmerProblem.prefetch`: ``(thetas, solve_at=None) -> None``
Prefetch = Callable[..., None]


def optimize_lmer(devfun: Callable[[np.ndarray], float], start: np.ndarray, lower: np.ndarray,
                  control: LmerControl | None = None, prefetch: Prefetch | None = None,
                  verbose: int = 0) -> OptResult:
    """R: ``lme4:::optimizeLmer`` (optwrap, restart_edge, check.boundary) then ``checkConv``.

    ``prefetch``: see :func:`optwrap` (a speed-up only; results and call order are unchanged)."""
    ctrl = LmerControl.coerce(control)
    lower = np.asarray(lower, dtype=np.float64)
    state = _Calls(0, np.array(start, dtype=np.float64))

    def fn(theta: np.ndarray) -> float:
        state.n += 1
        state.theta = np.array(theta, dtype=np.float64)
        return float(devfun(state.theta))

    with blas_threads(ctrl.blas_threads):
        opt, warns = optwrap(fn, np.array(start, dtype=np.float64), lower, ctrl, prefetch, verbose,
                             lambda: state.theta.copy())
        restarted = False
        if ctrl.restart_edge:
            bvals = np.flatnonzero(state.theta == lower)
            if bvals.size:
                theta0 = state.theta.copy()
                d0 = fn(theta0)
                btol = 1e-5
                bgrad = []
                for i in bvals:
                    th = theta0.copy()
                    th[i] = lower[i] + btol
                    bgrad.append((fn(th) - d0) / btol)
                fn(theta0)
                if np.any(np.array(bgrad) < 0):
                    opt, w2 = optwrap(fn, opt["par"], lower, ctrl, prefetch, verbose, lambda: state.theta.copy())
                    warns += w2
                    restarted = True
        if ctrl.boundary_tol > 0:  # R: check.boundary
            bdiff = state.theta - lower
            edge = (0 < bdiff) & (bdiff < ctrl.boundary_tol)
            if np.any(edge):
                pp = np.array(opt["par"], dtype=np.float64)
                for i in np.flatnonzero(edge):
                    tmp = pp.copy()
                    tmp[i] = lower[i]
                    if fn(tmp) < opt["fval"]:
                        pp[i] = tmp[i]
                opt["par"] = pp
                opt["fval"] = fn(pp)
    cc = check_conv(opt["derivs"], opt["par"], lower, ctrl)
    return OptResult(par=np.asarray(opt["par"], dtype=np.float64), fval=float(opt["fval"]),
                     feval=opt["feval"], conv=opt["conv"], message=opt["message"],
                     derivs=opt["derivs"], n_devfun=state.n, restarted=restarted,
                     warnings=tuple(warns), conv_lme4=cc)


def _emit(action: str, msg: str) -> None:
    if action == "message":
        warnings.warn(msg, LmeMessage, stacklevel=4)
    elif action == "warning":
        warnings.warn(msg, LmeWarning, stacklevel=4)
    elif action == "stop":
        raise LmeCheckError(msg, check="checkConv")


def check_hess(H: np.ndarray, tol: float, hesstype: str = "",
               chol_ok: bool | None = None) -> tuple[list[int], list[str]]:
    """R: ``lme4:::checkHess`` (eigenvalues of the finite-difference Hessian).  ``chol_ok``: whether
    ``chol(H)`` succeeds, when the caller has already tried it (:func:`check_conv`)."""
    try:
        if not np.isfinite(H).all():
            raise np.linalg.LinAlgError
        ev = np.linalg.eigvalsh(H)[::-1]
    except np.linalg.LinAlgError:
        return [-6], ["Problem with Hessian check (infinite or missing values?)"]
    neg = int(np.count_nonzero(ev < -tol))
    if neg:
        return [-3], [" ".join(["Model failed to converge:", "degenerate", hesstype,
                                f"Hessian with {neg} negative eigenvalues"])]
    zero = int(np.count_nonzero(np.abs(ev) < tol))
    if chol_ok is None:
        try:
            np.linalg.cholesky(H)
            chol_ok = True
        except np.linalg.LinAlgError:
            chol_ok = False
    if zero or not chol_ok:
        return [-4], [f"{hesstype} Hessian is numerically singular: parameters are not uniquely determined"]
    code, msgs = [], []
    if ev.max() * tol > 1:
        code.append(2)
        msgs.append("Model is nearly unidentifiable: very large eigenvalue\n - Rescale variables?")
    if ev.min() / ev.max() < tol:
        code.append(3)
        msgs.append("Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?")
    return (code or [0]), msgs


def check_conv(derivs: Derivs | None, coefs: np.ndarray, lower: np.ndarray,
               ctrl: LmerControl) -> ConvCheck:
    """R: ``lme4:::checkConv`` with lmerControl's defaults; emits lme4's messages and warnings."""
    coefs, lower = np.asarray(coefs), np.asarray(lower)
    code: list[int] | None = None
    msgs: list[str] = []
    s_act, s_tol = ctrl.check_conv_singular
    check_ctrl_level("check.conv.singular", s_act)
    singular = bool(np.any(coefs[lower == 0] < s_tol))
    if s_act != "ignore" and singular:
        msgs.append(SINGULAR_MSG)
        _emit(s_act, SINGULAR_MSG)
    if singular or derivs is None:
        return ConvCheck(None, tuple(msgs))
    g, H = derivs.gradient, derivs.Hessian
    if np.any(np.isnan(g)):
        return ConvCheck((-5,), ("Gradient contains NAs",))
    g_act, g_tol = ctrl.check_conv_grad
    check_ctrl_level("check.conv.grad", g_act)
    chol_ok: bool | None = None  # whether chol(H) succeeded (check_hess tries it too)
    if g_act != "ignore":
        wstr = None
        try:
            chol_ok = False
            R = np.linalg.cholesky(H).T  # R: chol(H), upper
            chol_ok = True
            scgrad = np.linalg.solve(R, g)
            if np.any(np.isnan(scgrad)):
                raise np.linalg.LinAlgError
            maxmingrad = float(np.max(np.minimum(np.abs(scgrad), np.abs(g))))
            if maxmingrad > g_tol:
                code = [-1]
                wstr = f"Model failed to converge with max|grad| = {maxmingrad:g} (tol = {g_tol:g}, component 1)"
        except np.linalg.LinAlgError:
            wstr, code = "unable to evaluate scaled gradient", [-1]
        if wstr is not None:
            msgs = [wstr]
            _emit(g_act, wstr)
    h_act, h_tol = ctrl.check_conv_hess
    check_ctrl_level("check.conv.hess", h_act)
    if h_act != "ignore":
        hcode, hmsgs = check_hess(H, h_tol, chol_ok=chol_ok)
        if any(c != 0 for c in hcode):
            code = hcode
            msgs += hmsgs
            _emit(h_act, ";".join(hmsgs))
    return ConvCheck(tuple(code) if code is not None else None, tuple(msgs))
