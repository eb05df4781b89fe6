"""Explained GLMM disagreements: outputs of a finite-difference Hessian that is singular to its own rounding.

R equivalent: ``lme4:::checkConv`` / ``lme4:::checkHess`` and ``vcov.merMod`` on ``gfit@optinfo$derivs$Hessian``
(``deriv12(devfun, opt$par, delta = 1e-4)``).  Each entry of that Hessian is a second difference of deviance
values over ``delta^2 = 1e-8``, so it carries a rounding error up to ``e = DEVFUN_ULPS eps |dev| / delta^2`` (four
times that on the diagonal; :func:`parity.compare.glmm_check.hessian_bound`).  By Weyl's inequality an
eigenvalue of the Hessian is then known only to within ``||E||_F`` (E the matrix of those entry bounds).  When
lme4's Hessian has an eigenvalue within that distance of zero (typically a separated or nearly separated
binomial fit, whose deviance is flat in a fixed-effects direction: ``beta`` of -20 or beyond), its sign, and so
whether ``chol(H)`` succeeds ("unable to evaluate scaled gradient"), which of checkHess' messages is given
("numerically singular", "degenerate ... negative eigenvalues", "nearly unidentifiable") and ``vcov = 2 H^-1``
are decided by rounding, not by the model: two exact implementations of the deviance can differ there.  README
"Known differences from lme4" (GLMMs) states the rule; :func:`explain_singular_hessian` applies it to one design
of a GLMM campaign with lme4's own Hessian, read live.

:func:`explain_gradient_digits`: checkConv's ``max|grad|`` number at two stopping points that passed the parameter
comparison.  :func:`explain_pirls_start`: criteria at each side's own optimum that depend on stage 1's ``lp0``
(the PIRLS start) at the ``tolPwrss`` level.
:func:`explain_nonfinite_criterion`: a family with a scale parameter (Gamma, inverse.gaussian, gaussian) at
nAGQ > 1, where lme4's adaptive Gauss-Hermite deviance is NaN (its optimum ``Inf``, ``logLik`` ``-Inf``) and
pyreterms' too: stage 2 cannot move, the fit is stage 1's (minqa's bobyqa on both sides, on deviances equal to
the last bits), and the deviance residuals' sum differs as far as the stage-1 optima do (theta, beta agree to
1e-6).  Where lme4's PIRLS stops (stage 2's criterion jumping by more than FtolAbs; stage 1's warning on a
criterion that is zero to rounding): :mod:`parity.campaigns.glmm_explain_pirls`, tried last.
"""
from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from parity.adapter.pyreterms_glmm import glmm_family, pyreterms_glmm_impl
from parity.campaigns.glmm_explain_pirls import (
    CONVERGED_TOL,
    explain_downdated_rounding,
    explain_pirls_stop,
    explain_stage1_endpoint,
    explain_stage1_rounding,
    explain_zero_criterion,
)
from parity.compare.glmm_check import DERIV12_DELTA, DEVFUN_ULPS, judge_glmm, run_glmm_impl
from parity.compare.selection import ALL
from parity.r.glmm_oracle import glmm_r_components
from parity.r.values import RError, RVector
from pyreterms.errors import PyretermsError
from pyreterms.glmm.devfun import GlmerDevfun
from pyreterms.glmm.fit import GlmerFit
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.glmer import glmer, glmer_at
from pyreterms.glmm.pirls import PirlsError

__all__ = ["HESSIAN_OUTPUTS", "HESSIAN_MESSAGES", "eigen_noise", "singular_to_rounding", "only_hessian_messages",
           "explain_singular_hessian", "explain_nonfinite_criterion", "explain_gradient_digits", "explain_pirls_start",
           "explain_disagreement",
           "GRAD_MSG"]

#: checkConv's gradient message; its number is the scaled gradient at each side's own stopping point
GRAD_MSG = re.compile(r"^Model failed to converge with max\|grad\| = ([-0-9.eE+]+) "
                      r"\(tol = ([0-9.eE+-]+), component 1\)$")

_MSG = "gfit@optinfo$conv$lme4$messages"
_WARN = "glmer(): warnings"

#: components computed from the finite-difference Hessian (checkConv's messages and the warnings that carry
#: them, vcov)
HESSIAN_OUTPUTS = frozenset({"gfit@optinfo$conv$lme4$messages", "glmer(): warnings", "vcov(gfit)"})
#: checkConv's messages that depend on the Hessian (lme4 1.1-31 R/checkConv.R)
HESSIAN_MESSAGES = (r"unable to evaluate scaled gradient", r"Model failed to converge with max\|grad\|",
                    r"Hessian is numerically singular", r"degenerate +Hessian with \d+ negative eigenvalues",
                    r"Model is nearly unidentifiable", r"Problem with Hessian check",
                    r"variance-covariance matrix computed from finite-difference Hessian")


def eigen_noise(dev: float, k: int) -> float:
    """How far an eigenvalue of a k x k deriv12 Hessian of a deviance near ``dev`` may move by rounding alone:
    ``||E||_F`` (Weyl), E with ``4e`` on the diagonal and ``e`` off it, ``e = DEVFUN_ULPS eps |dev| / delta^2``."""
    e = DEVFUN_ULPS * np.finfo(np.float64).eps * abs(dev) / DERIV12_DELTA ** 2
    return float(e * np.sqrt(16.0 * k + (k * k - k)))


def singular_to_rounding(H: np.ndarray, dev: float) -> tuple[bool, float, float]:
    """(whether an eigenvalue of ``H`` lies within :func:`eigen_noise` of zero, that eigenvalue, the noise)."""
    H = np.asarray(H, dtype=np.float64)
    ev = np.linalg.eigvalsh((H + H.T) / 2)
    lam = float(ev[np.argmin(np.abs(ev))])
    noise = eigen_noise(dev, H.shape[0])
    return abs(lam) <= noise, lam, noise


def only_hessian_messages(ours: Iterable[str], lme4s: Iterable[str]) -> bool:
    """Whether the two sides' messages differ only in Hessian-dependent ones (:data:`HESSIAN_MESSAGES`)."""
    a, b = sorted(str(s).strip() for s in ours), sorted(str(s).strip() for s in lme4s)
    diff = [m for m in a if m not in b] + [m for m in b if m not in a]
    return all(any(re.search(p, m) for p in HESSIAN_MESSAGES) for m in diff)


def explain_singular_hessian(failing: Iterable[str], messages: tuple[Iterable[str], Iterable[str]],
                             warnings_: tuple[Iterable[str], Iterable[str]], H: np.ndarray | None,
                             dev: float | None) -> str | None:
    """Why a design's disagreement is explained (a sentence), or None: every failing component is a Hessian
    output, the messages and warnings differ only in Hessian-dependent texts, and lme4's own Hessian ``H`` at
    its optimum (deviance ``dev``) is singular to its rounding."""
    failing = set(failing)
    if not failing or not failing <= HESSIAN_OUTPUTS or H is None or dev is None:
        return None
    if not (only_hessian_messages(*messages) and only_hessian_messages(*warnings_)):
        return None
    sing, lam, noise = singular_to_rounding(H, dev)
    if not sing:
        return None
    return (f"lme4's finite-difference Hessian has the eigenvalue {lam:.3g}, within its rounding ({noise:.3g}) of 0: "
            f"{', '.join(sorted(failing))} decided by rounding")


def explain_nonfinite_criterion(failing: Iterable[str], lme4_optimum: float, lme4_devfun_here: float) -> str | None:
    """Why a design's disagreement in ``deviance(gfit)`` alone is explained, or None: lme4's criterion at its
    optimum and at the implementation's parameters are both non-finite (nothing for the GLMM theta rule to
    judge by), so the sum of deviance residuals differs as far as the two stage-1 optima do (theta and beta,
    compared to 1e-6, agreed)."""
    if set(failing) != {"deviance(gfit)"} or np.isfinite(lme4_optimum) or np.isfinite(lme4_devfun_here):
        return None
    return (f"lme4's criterion is not finite (optimum {lme4_optimum!r}, at our parameters {lme4_devfun_here!r}): the "
            "fit is stage 1's on both sides and the deviance differs as far as the two stage-1 optima do")


def explain_gradient_digits(failing: Iterable[str], messages: tuple[Iterable[str], Iterable[str]],
                            warnings_: tuple[Iterable[str], Iterable[str]], H: np.ndarray, ours: np.ndarray,
                            lme4s: np.ndarray) -> str | None:
    """Why a difference in checkConv's ``max|grad| = g`` number alone is explained, or None.  Both sides report
    the non-convergence with the same texts apart from ``g``, ``g = max(pmin(|solve(chol(H), grad)|, |grad|))`` at
    each side's own stopping point, and the two stopping points (which passed the parameter comparison) differ
    by ``d``; the gradient then moves by at most ``||H|| ||d||`` and the scaled one by ``||R^-1|| ||H|| ||d||``
    (``R = chol(H)``, lme4's), so the two numbers may differ by that much."""
    failing = set(failing)
    if not failing or not failing <= {_MSG, _WARN}:
        return None
    nums: list[tuple[float, float]] = []
    for a, b in (messages, warnings_):
        a, b = sorted(map(str, a)), sorted(map(str, b))
        if len(a) != len(b):
            return None
        for x, y in zip(a, b, strict=True):
            mx, my = GRAD_MSG.match(x), GRAD_MSG.match(y)
            if x == y:
                continue
            if not (mx and my and mx.group(2) == my.group(2)):
                return None
            nums.append((float(mx.group(1)), float(my.group(1))))
    if not nums:
        return None
    H = np.asarray(H, dtype=np.float64)
    try:
        Rinv = np.linalg.inv(np.linalg.cholesky(H).T)
    except np.linalg.LinAlgError:
        return None
    d = float(np.linalg.norm(np.asarray(ours, dtype=np.float64) - np.asarray(lme4s, dtype=np.float64)))
    bound = max(1.0, float(np.linalg.norm(Rinv, 2))) * float(np.linalg.norm(H, 2)) * d
    worst = max(abs(x - y) for x, y in nums)
    # the message prints g with 6 significant digits: half a unit of the 6th digit of either side comes on top
    fmt = max(5e-6 * max(abs(x), abs(y)) for x, y in nums)
    if worst > bound + fmt:
        return None
    return (f"checkConv's max|grad| differs by {worst:.3g} <= {bound + fmt:.3g} (||R^-1|| ||H|| ||d||: the stopping "
            f"points differ by {d:.3g}; plus the 6-digit print)")


#: the criteria reported at each side's own optimum
CRITERIA = frozenset({"logLik(gfit)", "AIC(gfit)", "BIC(gfit)", "deviance(gfit)"})
#: pyreterms' devfun and lme4's at the same parameters and PIRLS start (parity.compare.tolerances.AT_LME4_PARS)
AT_PARS_RTOL = 1e-10


def explain_pirls_start(failing: Iterable[str], ours_from_lme4_start: float, lme4_here: float) -> str | None:
    """Why criteria at the implementation's own optimum that differ from lme4's devfun there are explained, or
    None.  glmer's stage-2 deviance runs PIRLS from ``lp0``, the linear predictor stage 1 left, and PIRLS stops
    at a relative change below ``tolPwrss`` (1e-7): the value depends on ``lp0`` at that level.  Stage 1's
    optimum (minqa's bobyqa on both sides, on deviances equal to the last bits) and so ``lp0`` can differ in its
    last digits, or more where stage 1 stops differently; the difference is explained when
    pyreterms' deviance at its own parameters, started from lme4's ``lp0``, equals lme4's there (1e-10)."""
    failing = set(failing)
    if not failing or not failing <= CRITERIA or not np.isfinite(lme4_here):
        return None
    d = abs(ours_from_lme4_start - lme4_here)
    if not d <= AT_PARS_RTOL * abs(lme4_here):
        return None
    return (f"the criteria differ by the PIRLS start (stage 1's lp0): from lme4's lp0 our deviance at our optimum "
            f"is lme4's to {d / abs(lme4_here):.2g} relative")


def _texts(v: Any) -> list[str]:
    return [str(s) for s in v.x] if isinstance(v, RVector) else []


def explain_disagreement(outcome: Any, impl: Any = pyreterms_glmm_impl) -> str | None:
    """Why a disagreeing design of a GLMM campaign (a :class:`parity.campaigns.fuzz.DesignOutcome`) is explained
    (README "Known differences from lme4", GLMMs), from lme4's own Hessian and criterion and both sides'
    messages computed live (R: ``pyreterms_glmm_reference()``); None when it is not."""
    d = outcome.design
    args = {**d.glmm_args(), "level": "glmer"}
    r = glmm_r_components(d.formula, d.data, **args)
    if isinstance(r.get("error"), RError) and set(outcome.failing) == {"decision (accept/refuse)"}:
        return _explain_refusal(outcome, d, args, r)
    if "error" in r or not hasattr(r.get("harness: Hessian"), "x") or not hasattr(r.get("harness: fval"), "x"):  # noqa: E501
        return None
    py = run_glmm_impl(impl, d.formula, d.data, r, **args)
    if "error" in py:
        return None
    ours = np.concatenate([np.array(py['getME(gfit, "theta")'].x), np.array(py['getME(gfit, "beta")'].x)])  # type: ignore[union-attr]
    why = _explain_at_optimum(outcome, d, args, r, py, ours)
    if why is None and d.nAGQ >= 1:
        why = _explain_pirls(outcome, d, args, r, py, ours, impl)
    return why


def _explain_refusal(outcome: Any, d: Any, args: dict[str, Any], r: dict[str, Any]) -> str | None:
    """lme4 refused where pyreterms did not: the Downdated VtV rule at stage 1's start theta."""
    glf = glformula(d.formula, d.data, glmm_family(d.family, d.link), weights=args["weights"], offset=args["offset"])
    if not isinstance(glf, GLFormula):
        return None
    theta0 = np.array(glf.reTrms.theta, dtype=np.float64)
    at = glmm_r_components(d.formula, d.data, devfun0_at=[theta0.tolist()], **args)
    stop = at.get("harness: devfun0(at[[1]])")
    min_eig, gram = downdated_spectrum(glf, theta0)
    return explain_downdated_rounding(outcome.failing, r["error"].message,
                                      stop.message if isinstance(stop, RError) else "", min_eig, gram,
                                      glf.X.X.shape[1])


def downdated_spectrum(glf: GLFormula, theta: np.ndarray) -> tuple[float, float]:
    """pyreterms' nAGQ = 0 function at ``theta`` (the numpy PIRLS, from the initial PIRLS's lp0): the smallest
    eigenvalue of its last iteration's ``X' W X - RZX' RZX`` and ``||X' W X||_2`` (NaN when PIRLS stops first)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            dv = GlmerDevfun(glf, kernel=False)
            dv.devfun0(theta)
        except PirlsError:
            return float("nan"), float("nan")
    V = glf.X.X * dv.pp.Xwts[:, None]
    G = V.T @ V
    ev = np.linalg.eigvalsh(G - dv.pp.RZX.T @ dv.pp.RZX)
    return float(ev[0]), float(np.linalg.norm(G, 2))


def our_stage1(d: Any, args: dict[str, Any]) -> np.ndarray | None:
    """pyreterms' stage-1 optimum (``GlmerFit.stage1_par``) for a design, or None when the fit stops."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = glmer(d.formula, d.data, glmm_family(d.family, d.link), nAGQ=d.nAGQ, weights=args["weights"],
                        offset=args["offset"])
        except PyretermsError:
            return None
    return fit.stage1_par if isinstance(fit, GlmerFit) else None


def _first(v: Any) -> float:
    return float(np.ravel(np.array(v.x, dtype=np.float64))[0]) if hasattr(v, "x") else float("nan")


def _explain_at_optimum(outcome: Any, d: Any, args: dict[str, Any], r: dict[str, Any], py: dict[str, Any],
                        ours: np.ndarray) -> str | None:
    H = np.array(r["harness: Hessian"].x, dtype=np.float64)
    dev = _first(r["harness: fval"])
    if not np.isfinite(dev):  # no finite criterion (a scale family at nAGQ > 1)
        here = glmm_r_components(d.formula, d.data, pars=[ours.tolist()], **args)
        return explain_nonfinite_criterion(outcome.failing, dev, _first(here["gdevfun(pars[[1]])"]))
    if set(outcome.failing) <= CRITERIA:  # at our optimum, from lme4's PIRLS start
        pars = ours if d.nAGQ else np.array(py['getME(gfit, "theta")'].x)
        here = glmm_r_components(d.formula, d.data, pars=[pars.tolist()], **args)
        glf = glformula(d.formula, d.data, glmm_family(d.family, d.link), weights=args["weights"],
                        offset=args["offset"])
        if not isinstance(glf, GLFormula):  # gaussian(identity) is an LMM: never a GLMM design
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            at = glmer_at(glf, pars, nAGQ=d.nAGQ, lp0=np.array(r["harness: lp0"].x))
        why = explain_pirls_start(outcome.failing, float(at.fval), _first(here["gdevfun(pars[[1]])"]))
        if why is not None:
            return why
    msgs, warns = _texts_both(py, r)
    why = explain_singular_hessian(outcome.failing, msgs, warns, H, dev)
    if why is None and hasattr(r.get("harness: pars"), "x"):
        theirs = np.array(r["harness: pars"].x, dtype=np.float64)
        if ours.size == theirs.size:
            why = explain_gradient_digits(outcome.failing, msgs, warns, H, ours, theirs)
    return why


def _texts_both(py: dict[str, Any], r: dict[str, Any]) -> tuple[tuple[list[str], list[str]], ...]:
    """(checkConv's messages, glmer's warnings), each as (ours, lme4's)."""
    return (_texts(py.get(_MSG)), _texts(r.get(_MSG))), (_texts(py.get(_WARN)), _texts(r.get(_WARN)))


def _explain_pirls(outcome: Any, d: Any, args: dict[str, Any], r: dict[str, Any], py: dict[str, Any],
                   ours: np.ndarray, impl: Any) -> str | None:
    """The PIRLS-stop rules (:mod:`parity.campaigns.glmm_explain_pirls`) with lme4's criteria read live."""
    msgs, warns = _texts_both(py, r)
    here = glmm_r_components(d.formula, d.data, pars=[ours.tolist()], converged_tol=CONVERGED_TOL, stage1_theta=True,
                             **args)
    # stage 1 is read from pyreterms itself: the stage-1 rules are for pyreterms only
    s1_lme4 = here.get("harness: stage1 theta")
    s1_ours = our_stage1(d, args) if impl is pyreterms_glmm_impl else None
    at0: dict[str, Any] = {}
    if isinstance(s1_lme4, RVector) and s1_ours is not None:
        at0 = glmm_r_components(d.formula, d.data, **{**args, "nAGQ": 0}, converged_tol=CONVERGED_TOL,
                                pars=[np.ravel(s1_lme4.x).tolist(), s1_ours.tolist()])
        why = explain_stage1_rounding(outcome.failing, warns, _first(at0.get("gdevfun(pars[[1]])")),
                                      _first(at0.get("gdevfun(pars[[2]])")))
        if why is not None:
            return why
    checkconv_only = only_hessian_messages(*msgs) and only_hessian_messages(*warns)
    why = explain_pirls_stop(outcome.failing, checkconv_only, _first(here.get("gdevfun(pars)")),
                             _first(here.get("gdevfun(pars[[1]])")),
                             _first(here.get("harness: converged gdevfun(pars)")),
                             _first(here.get("harness: converged gdevfun(pars[[1]])")))
    if why is None:
        why = explain_zero_criterion(outcome.failing, _first(here.get("gdevfun(pars)")),
                                     _first(here.get("gdevfun(pars[[1]])")))
    if why is not None or s1_ours is None or not at0 or np.allclose(s1_ours, np.ravel(s1_lme4.x), rtol=0, atol=1e-6):  # type: ignore[union-attr]
        return why
    stage1 = tuple(_first(at0.get(k)) for k in ("gdevfun(pars[[1]])", "gdevfun(pars[[2]])",
                                                "harness: converged gdevfun(pars[[1]])",
                                                "harness: converged gdevfun(pars[[2]])"))
    # lme4's glmer from our stage-1 optimum, judged against our fit as any design is
    r1 = glmm_r_components(d.formula, d.data, stage1=s1_ours.tolist(), **args)
    if "error" in r1:
        return None
    py1 = run_glmm_impl(impl, d.formula, d.data, r1, **args)

    def from_ours(pars: np.ndarray) -> dict[str, Any]:
        return glmm_r_components(d.formula, d.data, stage1=s1_ours.tolist(), pars=[pars.tolist()], **args)

    comps = judge_glmm(py1, r1, level="glmer", nAGQ=d.nAGQ, selection=ALL, here=from_ours)
    return explain_stage1_endpoint(stage1, [c.name for c in comps if not c.ok])  # type: ignore[arg-type]
