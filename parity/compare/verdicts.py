"""Verdicts of ``parity check`` / ``fuzz`` / ``replay``: agree, disagree, both refused *for the same
reason*, and not compared.

R equivalent: the ``stop()`` messages of lme4 1.1-31 (``checkNlevels``, ``checkZdims``, ``mkReTrms``,
``mkRespMod``, ``model.frame``, ...) read as *refusal classes*.  Two refusals agree only when both
messages fall into the same known class (pyreterms' messages mostly copy lme4's; where they do not,
both spellings are listed here).  A refusal of an unknown class, or of different classes, is a
disagreement: never agreement by default.

*Not compared* means the harness declined to ask both sides (a formula function outside the
allowlist, data that cannot be carried to one side without loss, a time limit): it is never counted
as agreement, has its own exit code (:data:`parity.compare.notcompared.EXIT_NOT_COMPARED`) and is counted
separately in every summary.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Iterable

from parity.compare.notcompared import EXIT_AGREE, EXIT_DISAGREE, EXIT_NOT_COMPARED, NotCompared
from parity.compare.results import ComponentResult
from parity.r.values import RError, RValue, RVector
from pyreterms.errors import FormulaError
from pyreterms.formula.allowlist import check_expression
from pyreterms.formula.parser import Call, parse

__all__ = ["Verdict", "REFUSAL_CLASSES", "refusal_class", "decision_result", "not_compared_result",
           "verdict_of", "exit_code", "BadFormula", "preflight", "NOT_COMPARED", "DECISION", "harness_refusal"]

#: the component that carries the accept/refuse decision when either side refused
DECISION = "decision (accept/refuse)"
#: the component that marks a report as not compared (its detail is the reason)
NOT_COMPARED = "not compared"


class Verdict(str, enum.Enum):
    """The four verdicts; ``str`` values are what summaries and JSON print."""

    AGREE = "agree"
    DISAGREE = "disagree"
    BOTH_REFUSED = "both refused"
    NOT_COMPARED = "not compared"


#: refusal class -> patterns (``re.search``) of lme4 1.1-31's stop message and of pyreterms' message for
#: the same decision; first match wins.  Checked against R in tests/live/test_verdicts_refusals.py.
REFUSAL_CLASSES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("formula parse", (r"^cannot parse formula", r"^cannot read formula", r"^not a formula",
                       r"^formula must be a formula")),
    ("(1 || g) not expandable", (r"^<text>:\d+:\d+: unexpected '\|'",
                                 r"cannot be expanded: lme4 1\.1-31 builds the text")),
    ("(x || g) with a non-syntactic name not expandable",  # lme4 pastes the name without backquotes
     (r"^<text>:\d+:\d+: unexpected symbol", r"cannot be expanded: lme4 1\.1-31 pastes the text")),
    ("nlev < 2", (r"grouping factors must have > 1 sampled level",)),
    ("nobs <= nlev", (r"number of levels of each grouping factor must be < number of observations",)),
    ("nobs <= nRE", (r"number of observations \(=\d+\) <= number of random effects",)),
    ("no random effects", (r"No random effects terms specified in formula",)),
    ("random-effects term without columns", (r"length\(theta\) > 0L? is not TRUE",
                                             r"^random-effects term \(.*\) has no columns$")),
    ("NA in Z", (r"NA in Z \(random-effects model matrix\)",)),
    ("rank of Z", (r"rank\(Z\)", r"rank of Z")),
    ("response not numeric", (r"response must be numeric",)),
    ("non-finite response", (r"NA/NaN/Inf in 'y'",)),
    ("non-finite X", (r"NA/NaN/Inf in foreign function call",)),
    ("negative weights", (r"all\(weights >= 0\) is not TRUE", r"^negative weights not allowed$")),
    ("empty frame", (r"^0 \(non-NA\) cases",)),
    ("unknown variable", (r"object '[^']*' not found",)),
    ("contrasts need 2 levels", (r"contrasts can be applied only to factors with 2 or more levels",)),
    ("poly degree", (r"'degree' must be less than number of unique points",)),
    ("poly NA", (r"missing values are not allowed in 'poly'",)),
    ("non-numeric argument", (r"non-numeric argument to",)),
    ("variable lengths differ", (r"variable lengths differ",)),
    ("invalid power", (r"invalid power in formula",)),
    ("invalid model formula", (r"invalid model formula",)),
    ("invalid grouping factor", (r"Invalid grouping factor specification",)),
    ("theta length", (r"incorrect number of theta components",)),
    # nloptr's check of the objective at the start (e.g. REML with n = rank(X): 0 * log(0/0))
    ("objective not finite at the start", (r"^objective in x0 returns NA",)),
    # lmer's other arguments (issue 13): lmerControl check levels set to "stop", start, optimizer, na.fail
    ("nlev < 5", (r"grouping factors with < 5 sampled levels may give unreliable estimates",)),
    ("X rank deficient (stop.deficient)", (r"the fixed-effects model matrix is column rank deficient",)),
    ("X badly scaled (check.scaleX stop)", (r"Some predictor variables are on very different scales",)),
    ("invalid control level", (r"^invalid control level ", r"^unknown check level for ")),
    ("bad start", (r"^incorrect components in start list", r"^'start' must be NULL",
                   r"^all elements of start must be numeric", r"^bad name\(s\) for start vector",
                   r"^incorrect number of fixef components", r"^should not specify both start\$fixef and nAGQ==0")),
    # glmer's own stops (parity check --call 'glmer(...)'): glmerControl(restart_edge = TRUE), a bad control
    ("restart_edge (glmer)", (r"^restart_edge not implemented for optimizeGlmer yet",)),
    ("control not a list", (r"^'control' is not a list; use g?l?merControl\(\)",)),
    ("bad control argument", (r"^unused argument \(", r"^'arg' should be one of ", r"^check\.conv\* option copt",
                              r"^is\.list\(optCtrl\) is not TRUE")),
    ("convergence check stop", (r"^Model failed to converge", r"^Model is nearly unidentifiable",
                                r"^boundary \(singular\) fit")),
    ("bad optimizer", (r"^couldn't find optimizer function", r"^non-function specified as optimizer",
                       r"^optimizer function must use")),
    ("missing values (na.fail)", (r"^missing values in object",)),
    # R's if() / as.integer() on lmer's REML, devFunOnly, verbose (pyreterms.lmm.argchecks)
    ("not a logical", (r"^argument is not interpretable as logical",)),
    ("NA condition", (r"^missing value where TRUE/FALSE needed",)),
    ("condition of length > 1", (r"^the condition has length > 1",)),
    ("condition of length 0", (r"^argument is of length zero",)),
    ("unknown na.action", (r'^could not find function "',)),
    ("offset not numeric", (r"^'offset' must be numeric",)),
    ("contrasts on a non-factor", (r"^contrasts apply only to factors",)),
    ("optimx not installed", (r"^'optimx' package must be installed",)),
    ("relevel: unknown level", (r"'ref' must be an existing level",)),
    # glmer (parity.compare.glmm_check): the family's initialize and glmer's own checks
    ("nAGQ > 1 with more than one scalar term",
     (r"nAGQ > 1 is only available for models with a single, scalar random-effects term",)),
    ("constant response", (r"^Response is constant",)),
    ("binomial y outside [0, 1]", (r"y values must be 0 <= y <= 1",)),
    ("negative Poisson response", (r"negative values not allowed for the 'Poisson' family",)),
    ("non-positive Gamma response", (r"non-positive values not allowed for the 'Gamma' family",)),
    ("non-positive inverse.gaussian response",
     (r"positive values only are allowed for the 'inverse.gaussian' family",)),
    ("no valid starting values (gaussian log/inverse link)",
     (r"cannot find valid starting values: please specify some",)),
    # lme4's PIRLS (pwrssUpdate, R/lmer.R and src/external.cpp): no finite step, or maxit reached
    ("PIRLS: NaN", (r"PIRLS loop resulted in NaN value",)),
    ("PIRLS: no convergence", (r"pwrssUpdate did not converge in \(maxit\) iterations",)),
    # lme4's merPredD: the fixed-effects block of the PIRLS system not positive definite (src/predModule.cpp)
    ("RX Cholesky failed", (r"Downdated VtV is not positive definite",)),
    # lme4's Nelder_Mead (src/optimizer.cpp): no simplex inside the bounds (e.g. a start on the boundary)
    ("Nelder-Mead: no feasible simplex", (r"cannot generate feasible simplex",)),
    # lme4's merPredD::updateXwts: a matrix response with a non-binomial family (y has 2n values, weights n)
    ("response longer than the frame (matrix response, non-binomial family)", (r"^updateXwts: dimension mismatch",)),
)

#: refusals by the harness itself (never an answer of lme4 or of the implementation)
_HARNESS = (("allowlist", (r"^formula uses function '.*' which is not allowed",
                           r"^function '.*' is not allowed in formulas")),)


def refusal_class(message: str) -> str | None:
    """The class of a refusal message (lme4's or an implementation's), or None when unknown."""
    for cls, pats in REFUSAL_CLASSES:
        if any(re.search(p, message) for p in pats):
            return cls
    return None


def harness_refusal(err: object, side: str) -> tuple[str, str] | None:
    """(kind, reason) when a side's error is the harness declining (allowlist, time limit,
    unrepresentable data), else None.  ``side`` is ``"R"`` or ``"py"``."""
    msg = _message(err)
    if msg is None:
        return None
    kind = err.kind if isinstance(err, RError) else ""
    if side == "R" and (kind == "timeout" or "reached elapsed time limit" in msg):
        return "time limit", f"lme4 did not finish within the time limit ({msg})"
    if side == "R" and kind == "not-allowed":
        return "allowlist", f"the harness did not run lme4: {msg}"
    if side == "py" and kind in ("unsupported", "not-compared"):
        return "unrepresentable", f"the implementation cannot represent this input: {msg}"
    for hk, pats in _HARNESS:
        if any(re.search(p, msg) for p in pats):
            return hk, f"{'lme4' if side == 'R' else 'the implementation'} was not run: {msg}"
    return None


def not_compared_result(reason: str, kind: str = "other") -> ComponentResult:
    """The component that marks a report as *not compared* (never ok: nothing was checked)."""
    nan = float("nan")
    return ComponentResult(NOT_COMPARED, False, nan, nan, 0.0, 0.0, f"{kind}: {reason}")


def _message(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, RError):
        return v.message
    if isinstance(v, RVector):
        return " ".join(str(x) for x in v.x)
    return str(v)


def decision_result(pe: RValue | None, re_: RValue | None) -> ComponentResult:
    """The accept/refuse decision when either side refused (``pe`` this implementation's error,
    ``re_`` lme4's).  Both refused passes only for the same known refusal class; a crash of the
    implementation (an exception that is not one of its typed refusals) never passes."""
    nan = float("nan")
    for side, err in (("R", re_), ("py", pe)):
        h = harness_refusal(err, side)
        if h is not None:
            return not_compared_result(h[1], h[0])
    pmsg, rmsg = _message(pe), _message(re_)
    if pmsg is not None and rmsg is not None:
        crash = isinstance(pe, RError) and pe.kind not in ("formula", "data", "lme4-check", "error")
        pc, rc = refusal_class(pmsg), refusal_class(rmsg)
        ok = not crash and pc is not None and pc == rc
        if ok:
            why = f"both refuse for the same reason ({pc})"
        elif crash:
            why = "both refuse, but this side crashed"
        elif pc is None or rc is None:
            why = ("both refuse, but the reason is of no known class "
                   f"(here: {pc or 'unknown'}, lme4: {rc or 'unknown'}): not counted as agreement")
        else:
            why = f"both refuse for different reasons (here: {pc}, lme4: {rc})"
        return ComponentResult(DECISION, ok, nan, nan, 0.0, 0.0, f"{why}; here: {pmsg} | lme4: {rmsg}")
    if pmsg is not None:
        return ComponentResult(DECISION, False, nan, nan, 0.0, 0.0,
                               f"refused here ({pmsg}) but lme4 accepts the design")
    return ComponentResult(DECISION, False, nan, nan, 0.0, 0.0,
                           f"lme4 refused ({rmsg}) but this implementation accepted the design")


def verdict_of(components: Iterable[ComponentResult]) -> Verdict:
    """The verdict of a list of compared components: not compared if the harness declined, disagree
    if any component fails (or there is none), both refused if the decisions agree, else agree."""
    comps = list(components)
    if any(c.name == NOT_COMPARED for c in comps):
        return Verdict.NOT_COMPARED
    if not comps or any(not c.ok for c in comps):
        return Verdict.DISAGREE
    if any(c.name == DECISION for c in comps):
        return Verdict.BOTH_REFUSED
    return Verdict.AGREE


def exit_code(v: Verdict) -> int:
    """CLI exit code of a verdict: 0 agree / both refused for the same reason, 1 disagree, 3 not compared."""
    return {Verdict.AGREE: EXIT_AGREE, Verdict.BOTH_REFUSED: EXIT_AGREE, Verdict.DISAGREE: EXIT_DISAGREE,
            Verdict.NOT_COMPARED: EXIT_NOT_COMPARED}[v]


class BadFormula(FormulaError):
    """The formula does not parse (pyreterms' reader): bad input, not a design to compare (CLI exit 2)."""


def preflight(formula: str) -> None:
    """Before anything runs: a formula that does not parse raises :class:`BadFormula`; a formula
    using a function outside the allowlist raises :class:`NotCompared` (kind ``"allowlist"``): lme4
    is never asked.  R: ``str2lang()`` and reference.R's ``pyreterms_disallowed()``, done in Python."""
    try:
        tree = parse(formula)
    except FormulaError as e:
        raise BadFormula(str(e)) from None
    if not (isinstance(tree, Call) and tree.fn == "~"):
        raise BadFormula(f"not a formula (no '~'): {formula!r}")
    try:
        _check_allowlist(tree)
    except FormulaError as e:
        raise NotCompared(f"{e} (lme4 was not asked)", "allowlist") from None


def _check_allowlist(tree) -> None:
    """The one allowlist of pyreterms (``pyreterms.formula.allowlist.check_expression``: functions, their
    arguments and which must be constants)."""
    check_expression(tree)
