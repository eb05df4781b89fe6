"""Explained GLMM disagreements that come from where lme4's PIRLS stops, not from the model.

R equivalent: lme4 1.1-31's ``pwrssUpdate`` (``src/external.cpp``) stops when the relative change of the
penalized weighted residual sum of squares falls below ``tolPwrss`` (1e-7), and the stage-2 criterion is then
``glmResp::Laplace`` = deviance residuals + ``||u||^2`` + ``ldL2`` at that iterate (or the AGQ sum).  ``ldL2``
still moves when pwrss has settled: with a slowly converging PIRLS (cauchit, cloglog, near separation, a
correlated Poisson term) one more iteration can change the criterion by far more than Nelder_Mead's
``FtolAbs`` (1e-5).  Whether an evaluation takes k or k + 1 iterations is decided by the last bits of its
start (``lp0``, stage 1's output), so lme4's criterion jumps between neighbouring parameters and between two
exact implementations, and Nelder_Mead stops where the jumps leave it: the stopping point, and everything
computed there, is not a property of the model.

:func:`explain_pirls_stop` (stage 2): the evidence is lme4's own stage-2 function with only its PIRLS
tolerance tightened (``rho$tolPwrss``, :data:`CONVERGED_TOL`), evaluated live at both optima: the criterion
jumps there by more than ``FtolAbs`` (``tolPwrss`` decides it), and on the converged criterion the
implementation's optimum is not worse than lme4's by more than ``FtolAbs``.  Every failing component must be
one reported at each side's own optimum (the parameters, the criteria, checkConv's texts), or ``vcov`` when the
jump is at lme4's optimum (deriv12's stencil there straddles it); never a decision or a value computed at lme4's
parameters.

:func:`explain_zero_criterion`: the same at stage 2, for the outputs of where Nelder_Mead stopped (``isSingular``,
checkConv's and glmer's texts) when lme4's stage-2 criterion is zero to rounding at both optima.

:func:`explain_stage1_rounding`: stage 1's warning alone, on a criterion that is zero to rounding (a separated
binomial fit: the nAGQ = 0 deviance ~1e-14 at both stage-1 optima): where minqa's bobyqa stops on it, and with
which code, is decided by rounding.

The same jumps move stage 1 (its nAGQ = 0 criterion runs the same PIRLS, with beta):
:func:`explain_stage1_endpoint`, when the two stage-1 optima differ: the stage-1 criterion jumps by more than
``FtolAbs`` at one of them and, converged, ours is not worse than lme4's; and lme4's own glmer, with stage 1's
optimizer returning our stage-1 optimum (R: ``pyreterms_fixed_stage1``, then optwrap, updateGlmerDevfun and
stage 2 exactly as glmer runs them), agrees with our fit in every component.

:func:`explain_downdated_rounding`: lme4 stops with "Downdated VtV is not positive definite" (``RX``'s Cholesky of
``X' W X - RZX' RZX`` in ``merPredD::updateDecomp``) at the start of stage 1 where pyreterms' LAPACK Cholesky of
the same matrix succeeds: the matrix is singular to its rounding there (a separated fit whose working weights
fall to 1e-40), so which Cholesky fails is decided by rounding (Higham, *Accuracy and Stability of Numerical
Algorithms*, Thm 10.7: Cholesky runs to completion when ``20 p^(3/2) eps kappa < 1``, and may fail otherwise).

README "Known differences from lme4" (GLMMs) states the rules.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from parity.compare.glmm_check import GLMM_FTOL_ABS

__all__ = ["CONVERGED_TOL", "STAGE2_OUTPUTS", "HESSIAN_AT_LME4", "ZERO_CRITERION", "STAGE1_WARNING", "DOWNDATED",
           "GLMER_MESSAGES", "explain_pirls_stop", "explain_stage1_rounding", "explain_zero_criterion",
           "explain_stage1_endpoint", "explain_downdated_rounding", "cholesky_rounding_bound"]

#: lme4's stage-2 function with ``rho$tolPwrss`` set to this: PIRLS run to rounding
CONVERGED_TOL = 1e-13
#: a nAGQ = 0 criterion (a deviance, >= 0) at most this is zero to the rounding of its n terms
ZERO_CRITERION = 1e-10

#: the components reported at each side's own optimum (parity.adapter.pyreterms_glmm._optimum and the
#: conditions of the glmer call): outputs of where stage 2 stopped.  The other fit components are computed at
#: lme4's own parameters from lme4's lp0 and must agree as they are, except vcov (below).
STAGE2_OUTPUTS = frozenset({
    'getME(gfit, "theta")', 'getME(gfit, "beta")', "fixef(gfit)", "deviance(gfit)", "logLik(gfit)", "AIC(gfit)",
    "BIC(gfit)", "isSingular(gfit)", "gfit@optinfo$conv$lme4$messages", "glmer(): warnings"})
#: deriv12's Hessian at lme4's optimum (vcov's input): its stencil of deviances 1e-4 apart straddles the jumps
#: when lme4's criterion jumps there, so each entry may move by the jump / 1e-8
HESSIAN_AT_LME4 = "vcov(gfit)"

#: optwrap's warning for stage 1 (minqa's bobyqa's ierr)
STAGE1_WARNING = re.compile(r"^convergence code \d+ from bobyqa")


def explain_pirls_stop(failing: Iterable[str], messages_differ_only_in_checkconv: bool, df_lme4: float,
                       df_ours: float, conv_lme4: float, conv_ours: float) -> str | None:
    """Why a stage-2 disagreement is explained (a sentence), or None.

    ``df_*``: lme4's stage-2 function (its ``lp0``, ``tolPwrss`` 1e-7) at lme4's optimum and at ours;
    ``conv_*``: the same function with ``tolPwrss`` :data:`CONVERGED_TOL`.  Explained when every failing
    component is reported at each side's own optimum (:data:`STAGE2_OUTPUTS`), the warnings and messages differ
    only in checkConv's texts, the criterion jumps by more than ``FtolAbs`` at one of the two optima (where PIRLS
    stops decides it) and, converged, our optimum is at most ``FtolAbs`` above lme4's.  ``vcov(gfit)`` (deriv12's
    Hessian at lme4's optimum, on both sides) may differ too only when the jump is at lme4's optimum."""
    failing = set(failing)
    if not failing or not failing <= STAGE2_OUTPUTS | {HESSIAN_AT_LME4} or not messages_differ_only_in_checkconv:
        return None
    vals = np.array([df_lme4, df_ours, conv_lme4, conv_ours], dtype=np.float64)
    if not np.all(np.isfinite(vals)):
        return None
    if HESSIAN_AT_LME4 in failing and not abs(df_lme4 - conv_lme4) > GLMM_FTOL_ABS:
        return None
    jump = max(abs(df_lme4 - conv_lme4), abs(df_ours - conv_ours))
    if not jump > GLMM_FTOL_ABS:
        return None
    gap = conv_ours - conv_lme4
    if not gap <= GLMM_FTOL_ABS:
        return None
    return (f"lme4's criterion jumps by {jump:.3g} (> FtolAbs {GLMM_FTOL_ABS:g}) with where PIRLS stops "
            f"(tolPwrss 1e-7); converged (tolPwrss {CONVERGED_TOL:g}) our optimum is {gap:+.3g} from lme4's: "
            "both stopping points are optima of the same criterion")


def _zero_to_rounding(at_lme4: float, at_ours: float) -> bool:
    """Both criteria finite and at most :data:`ZERO_CRITERION` in magnitude."""
    vals = np.array([at_lme4, at_ours], dtype=np.float64)
    return bool(np.all(np.isfinite(vals)) and np.all(np.abs(vals) <= ZERO_CRITERION))


def explain_stage1_rounding(failing: Iterable[str], warnings_: tuple[Iterable[str], Iterable[str]],
                            stage1_lme4: float, stage1_ours: float) -> str | None:
    """Why a difference in stage 1's bobyqa warning alone is explained, or None: ``glmer(): warnings`` is the
    only failing component, the two sides' warnings differ only in optwrap's ``convergence code K from
    bobyqa`` and lme4's nAGQ = 0 criterion at both stage-1 optima is zero to rounding
    (<= :data:`ZERO_CRITERION`)."""
    if set(failing) != {"glmer(): warnings"}:
        return None
    a, b = (sorted(str(s).strip() for s in w) for w in warnings_)
    diff = [m for m in a if m not in b] + [m for m in b if m not in a]
    if not diff or not all(STAGE1_WARNING.match(m) for m in diff):
        return None
    if not _zero_to_rounding(stage1_lme4, stage1_ours):
        return None
    return (f"stage 1's criterion is zero to rounding at both stage-1 optima ({stage1_lme4:.3g}, {stage1_ours:.3g}):"
            " where bobyqa stops on it and with which code is decided by rounding")


#: glmer's messages (the "boundary (singular) fit" note that goes with ``isSingular``)
GLMER_MESSAGES = "glmer(): messages"


def explain_zero_criterion(failing: Iterable[str], df_lme4: float, df_ours: float) -> str | None:
    """Why a stage-2 disagreement on a criterion that is zero to rounding is explained, or None: every failing
    component is one reported at each side's own optimum (:data:`STAGE2_OUTPUTS`, with glmer's messages: the
    singular-fit note) and lme4's stage-2 function (live, its ``lp0``) at lme4's optimum and at ours is at most
    :data:`ZERO_CRITERION`.  A separated binomial fit: the criterion is ~1e-14 whatever theta, so where
    Nelder_Mead stops on it (a theta on the boundary or just off it: ``isSingular``, checkConv's and glmer's
    texts) is decided by rounding."""
    failing = set(failing)
    if not failing or not failing <= STAGE2_OUTPUTS | {GLMER_MESSAGES}:
        return None
    if not _zero_to_rounding(df_lme4, df_ours):
        return None
    return (f"lme4's stage-2 criterion is zero to rounding at both optima ({df_lme4:.3g}, {df_ours:.3g}): where "
            "Nelder_Mead stops on it, on the boundary or not, is decided by rounding")


def explain_stage1_endpoint(stage1: tuple[float, float, float, float], failing_from_ours: Iterable[str]
                            ) -> str | None:
    """Why a disagreement that starts in stage 1 is explained, or None.

    ``stage1``: lme4's nAGQ = 0 function at lme4's stage-1 optimum and at ours (``tolPwrss`` 1e-7), then the
    same converged (:data:`CONVERGED_TOL`); ``failing_from_ours``: the components that fail when our fit is
    judged against lme4's glmer run from our stage-1 optimum.  Explained when the stage-1 criterion jumps by
    more than ``FtolAbs`` at one of the two, ours is at most ``FtolAbs`` above lme4's converged, and lme4 from
    our stage-1 optimum agrees with us in every component."""
    df_lme4, df_ours, conv_lme4, conv_ours = stage1
    vals = np.array(stage1, dtype=np.float64)
    if not np.all(np.isfinite(vals)) or list(failing_from_ours):
        return None
    jump = max(abs(df_lme4 - conv_lme4), abs(df_ours - conv_ours))
    gap = conv_ours - conv_lme4
    if not (jump > GLMM_FTOL_ABS and gap <= GLMM_FTOL_ABS):
        return None
    return (f"stage 1's criterion jumps by {jump:.3g} (> FtolAbs {GLMM_FTOL_ABS:g}) with where PIRLS stops; "
            f"converged our stage-1 optimum is {gap:+.3g} from lme4's, and lme4's glmer run from it agrees with "
            "our fit in every component")


#: lme4's stop in merPredD::updateDecomp
DOWNDATED = "Downdated VtV is not positive definite"


def cholesky_rounding_bound(p: int) -> float:
    """Relative size (to ``||V' V||``) below which the smallest eigenvalue of a p x p Gram-difference leaves a
    Cholesky's success to rounding: ``20 p^(3/2) eps`` (Higham, Thm 10.7)."""
    return float(20.0 * p ** 1.5 * np.finfo(np.float64).eps)


def explain_downdated_rounding(failing: Iterable[str], lme4_stop: str, lme4_at_start: str, min_eig: float,
                               gram_norm: float, p: int) -> str | None:
    """Why lme4 refusing with "Downdated VtV is not positive definite" where pyreterms does not is explained,
    or None: the only failing component is the accept/refuse decision, lme4's stop is that one and lme4's
    nAGQ = 0 function stops with it at the start theta (``lme4_at_start``), and there pyreterms' last PIRLS
    iteration had ``X' W X - RZX' RZX`` with its smallest eigenvalue ``min_eig`` within
    :func:`cholesky_rounding_bound` of zero relative to ``gram_norm = ||X' W X||``."""
    if set(failing) != {"decision (accept/refuse)"} or DOWNDATED not in lme4_stop or DOWNDATED not in lme4_at_start:
        return None
    if not (np.isfinite(min_eig) and np.isfinite(gram_norm) and gram_norm > 0):
        return None
    rel = abs(min_eig) / gram_norm
    bound = cholesky_rounding_bound(p)
    if not rel <= bound:
        return None
    return (f"lme4 stops with '{DOWNDATED}' at stage 1's start, where X'WX - RZX'RZX has its smallest eigenvalue "
            f"{rel:.3g} of ||X'WX|| (<= 20 p^1.5 eps = {bound:.3g}): whether its Cholesky fails is rounding")
