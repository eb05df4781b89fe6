"""The theta rule and lme4 against itself (README "Known differences" 1, 6, 9).

When an implementation's fitted theta differs from lme4's by more than 1e-6, the point is judged by
lme4's *own* criterion there (R: ``getME(fit, "devfun")(theta)``): it passes when that is within
:data:`FLAT_OPTIMUM_ATOL` of lme4's optimum (the flat-optimum rule), or within the spread of lme4's
own optima when its deviance carries one rounding step of noise (R: ``pyreterms_noisy_lmer``).
"""
from __future__ import annotations

from typing import cast

import numpy as np

from parity.compare.conditioning import COND_RULE, SCALE_RULE
from parity.compare.notcompared import NotCompared
from parity.compare.tolerances import ComponentResult, _messages, compare_components
from parity.r.oracle import r_components
from parity.r.values import RError, RList, RNull, RVector

#: the criterion components' tolerance at the optimum (REMLcrit, deviance, logLik, AIC, BIC: 1e-8
#: relative, parity.compare.tolerances.CRITERION); NOT the theta rule, which is FLAT_OPTIMUM_ATOL (absolute)
CRIT_RTOL = 1e-8
#: the flat-optimum rule: lme4's criterion at the implementation's theta may exceed lme4's optimum by at
#: most this, ABSOLUTE: lme4's ftol_abs (nloptwrap BOBYQA stops once a step improves the criterion by
#: less, so it cannot tell such points apart).  No looser than lme4 itself (README "Known differences"
#: 1): one rounding step of noise in lme4's own deviance moves its optimum by up to 5.5e-7 (99th
#: percentile 6.9e-8) on the case table and by a median 1.5e-7 on a 100-design fit campaign; a larger
#: gap must be explained by lme4's own spread on that design (:class:`Lme4Spread`)
FLAT_OPTIMUM_ATOL = 1e-8
#: the phrases by which a theta verdict states its rule (counted by parity.campaigns.fuzz)
EQUAL_OPTIMA = "equally good optima"
LME4_SPREAD = "not reproducible here"
#: lme4 against itself: batches of lme4 fits whose deviance carries one rounding step of noise (seeds),
#: run until the implementation's outcome is explained or all batches are spent (lme4 on bookworm is
#: not bit-reproducible; on flat, badly scaled designs one rounding step moves BOBYQA's stopping point)
NOISY_BATCHES = ((1, 2, 3, 4, 5, 6), tuple(range(7, 19)), tuple(range(19, 31)))


class Lme4Spread:
    """lme4 against itself, gathered lazily: batches (:data:`NOISY_BATCHES`) of lme4 fits whose
    deviance carries one rounding step of noise (``pyreterms_noisy_lmer`` in reference.R)."""

    def __init__(self, formula, data, REML, weights, offset, contrasts, time_limit) -> None:
        self._args = (formula, data)
        self._kw = dict(REML=REML, level="fit", weights=weights, offset=offset, contrasts=contrasts,
                        time_limit=time_limit)
        self.runs: list[dict] = []
        self._next = 0
        self.timed_out = False  # a batch hit R's time limit: no evidence either way

    def more(self) -> bool:
        """Run the next batch; False when all are spent (or R failed: no evidence, no explanation)."""
        if self._next >= len(NOISY_BATCHES):
            return False
        seeds = NOISY_BATCHES[self._next]
        self._next += 1
        kw = dict(self._kw)
        if kw["time_limit"] is not None:  # the main fit plus one fit per seed
            kw["time_limit"] = kw["time_limit"] * (1 + len(seeds))
        try:
            r = r_components(*self._args, noisy_seeds=seeds, **kw)
        except Exception:  # noqa: BLE001
            self._next = len(NOISY_BATCHES)
            return False
        err = r.get("error")
        if isinstance(err, RError) and err.kind == "timeout":
            self.timed_out = True
            self._next = len(NOISY_BATCHES)
            return False
        for k in seeds:
            pre = f"lmer(noisy devfun {k}): "
            self.runs.append({key[len(pre):]: v for key, v in r.items() if key.startswith(pre)})
        return True

    def criteria(self) -> list[float]:
        return [float(run["criterion"].x[0]) for run in self.runs
                if hasattr(run.get("criterion"), "x") and len(run["criterion"].x) == 1]


def theta_equivalence(c: ComponentResult, py, r, formula, data, REML, weights, offset, contrasts,
                       time_limit, spread: Lme4Spread) -> tuple[ComponentResult, dict | None]:
    """theta differs by more than 1e-6: judge by lme4's *own* criterion.  If lme4's devfun at this
    implementation's theta is no worse than lme4's optimum by more than :data:`FLAT_OPTIMUM_ATOL`
    (1e-8 absolute), the two points are equally good optima of lme4's objective (a flat criterion,
    where rounding-level differences move BOBYQA's stopping point).  Otherwise lme4 is run against
    itself (``spread``, batch by batch) and a point within that spread (:func:`equivalence_verdict`)
    passes; else the disagreement stands.  Also returns R's components at this implementation's
    theta (for :func:`criteria_at_here`)."""
    th_py = py.get('getME(fit, "theta")')
    if th_py is None or not hasattr(th_py, "x"):
        return c, None
    try:
        r2 = r_components(formula, data, REML=REML, level="fit", weights=weights, offset=offset,
                          contrasts=contrasts, thetas=[np.asarray(th_py.x, dtype=float)],
                          time_limit=None if time_limit is None else 2 * time_limit)  # + lme4's fit there
        err = r2.get("error")
        if isinstance(err, RError) and err.kind == "timeout":
            raise NotCompared("lme4's devfun at this implementation's theta did not finish within the time "
                              f"limit ({err.message})", "time limit")
        at_py = float(cast(RVector, r2["devfun(thetas[[1]])"]).x[0])
        at_r = float(cast(RVector, r2["devfun(theta)"]).x[0])
    except NotCompared:
        raise
    except Exception as e:  # no verdict without evidence: keep the failure
        return ComponentResult(c.name, False, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                               c.detail + f"; could not evaluate lme4's devfun at this theta ({e})"), None
    what = "lme4's own devfun at this theta"
    verdict = equivalence_verdict(c, at_py, at_r, what)
    while not verdict.ok and spread.more():
        verdict = equivalence_verdict(c, at_py, at_r, what, spread.criteria())
    if not verdict.ok and spread.timed_out:
        raise NotCompared("theta differs and lme4 against itself (noisy runs) did not finish within the time "
                          "limit: no evidence either way", "time limit")
    return verdict, r2


def criterion_components(REML: bool) -> tuple[str, ...]:
    """The components that are the optimized criterion (or a function of it alone) at the
    implementation's own optimum.  An ML fit's REMLcrit is not optimized (compared at lme4's theta)."""
    return ("deviance(fit)", "logLik(fit)", "AIC(fit)", "BIC(fit)") + (("REMLcrit(fit)",) if REML else ())


def criteria_at_here(comps: list, py: dict, r_here: dict, REML: bool) -> list:
    """After the theta rule accepted a different theta: the criterion components are those of a
    different (equally good or better) point, so compare them with **lme4's own** criteria at this
    implementation's theta (``lmer(start = theta, optimizer = NULL)``), same tolerance."""
    names = set(criterion_components(REML))
    out = []
    for c in comps:
        if c.ok or c.name not in names:
            out.append(c)
            continue
        rv = r_here.get(f"at(thetas[[1]]): {c.name}")
        if rv is None:
            err = r_here.get("at(thetas[[1]]): error")
            out.append(ComponentResult(c.name, False, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                                       c.detail + "; lme4's fit at this theta is missing"
                                       + (f" ({err})" if err is not None else "")))
            continue
        (c2,) = compare_components({c.name: py[c.name]}, {c.name: rv})
        how = "lme4's fit at this implementation's theta (theta rule; README: Known differences)"
        out.append(ComponentResult(c.name, c2.ok, c2.max_abs_diff, c2.max_rel_diff, c2.rtol, c2.atol,
                                   f"compared with {how}" + (f": {c2.detail}" if c2.detail else "")))
    return out


def equivalence_verdict(c: ComponentResult, crit_here: float, crit_r: float, what: str,
                        lme4_spread: list[float] | None = None) -> ComponentResult:
    """The theta rule: a theta off by more than 1e-6 passes when ``what`` (a criterion at this
    implementation's theta) is no worse than lme4's optimum ``crit_r`` by more than
    :data:`FLAT_OPTIMUM_ATOL` (1e-8 absolute: lme4's ``ftol_abs``), or lies within lme4's own run-to-run
    spread: the optima lme4 itself reaches when its deviance
    carries one rounding step of noise (``lme4_spread``, when measured), their range extended by its
    width."""
    gap = crit_here - crit_r
    tol = FLAT_OPTIMUM_ATOL
    if np.isfinite(gap) and gap <= tol:
        return ComponentResult(c.name, True, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                               f"theta differs by {c.max_abs_diff:.2g} but {what} is {gap:+.2g} "
                               f"({gap / abs(crit_r):+.1e} relative) from lme4's optimum, within {tol:g} "
                               f"absolute (lme4's ftol_abs): {EQUAL_OPTIMA} of a flat criterion (README: "
                               "Known differences)")
    shown = ", ".join(f"{v:.10g}" for v in sorted(lme4_spread or []))
    # K runs of lme4 sample its run-to-run spread; a statistically identical run exceeds their max with
    # probability 1/(K+1), so the bound is the max plus the observed range (rarely exceeded by chance,
    # while an optimizer systematically worse than lme4's own variability still fails)
    if lme4_spread and np.isfinite(gap) and \
            crit_here - (2 * max(lme4_spread) - min(lme4_spread)) <= tol:
        return ComponentResult(c.name, True, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                               f"theta differs by {c.max_abs_diff:.2g} and {what} is {gap:+.3g} from lme4's "
                               f"optimum {crit_r:.10g}, but lme4 is {LME4_SPREAD}: with one rounding step "
                               f"of noise in its deviance it ends at {shown}; this point is within that "
                               "spread, extended by its width (README: Known differences)")
    more = f"; lme4 with one rounding step of noise in its deviance: {shown}" if lme4_spread else ""
    return ComponentResult(c.name, False, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                           c.detail + f"; {what} is {gap:.3g} from lme4's optimum" + more)


#: outcomes of lme4's convergence checks (finite-difference gradient and Hessian at the optimum, theta
#: near the boundary): component label -> the key of its value on both sides
VOLATILE = {"fit@optinfo$conv$lme4$messages": "fit@optinfo$conv$lme4$messages",
            "fit@optinfo$warnings": "fit@optinfo$warnings", "isSingular(fit)": "isSingular(fit)",
            "lmer() warnings": "lmer(): warnings", "lmer() messages": "lmer(): messages"}


def volatile_in_lme4_spread(comps: list, py: dict, spread: Lme4Spread) -> list:
    """A convergence-check outcome (warning, message, singularity) that differs from lme4's passes
    only if lme4 itself produces exactly this outcome when its deviance carries one rounding step of
    noise (``spread``, batch by batch): lme4's finite-difference Hessian eigenvalues near 0 or a theta
    near its bound decide these by rounding on flat criteria (README: Known differences)."""
    import re

    def texts(v) -> list[str] | None:
        """The message texts of a character vector or a list of them (None: not messages)."""
        if v is None or v is RNull:
            return []
        if isinstance(v, RVector):
            return _messages(v) if v.kind == "character" else None
        if isinstance(v, RList):
            out: list[str] = []
            for _, item in v.items:
                t = texts(item)
                if t is None:
                    return None
                out += t
            return out
        return None

    def outcome(msgs: list[str]) -> list[str]:
        # the outcome class: the numbers in lme4's convergence texts (negative-eigenvalue count,
        # max|grad|) are themselves decided by rounding on such designs
        return sorted(re.sub(r"\d+(\.\d+)?(e[-+]?\d+)?", "#", m) for m in msgs)

    def same(key: str, run: dict) -> bool:
        rv = run.get(key)
        if rv is None or (key not in py and not key.startswith("lmer(): ")):
            return False
        a, b = texts(py.get(key)), texts(rv)
        if a is not None and b is not None:  # the container too: checkConv gives a list or a vector
            return isinstance(py.get(key), RList) == isinstance(rv, RList) and outcome(a) == outcome(b)
        (cr,) = compare_components({key: py[key]}, {key: rv})
        return cr.ok

    out = []
    for c in comps:
        key = VOLATILE.get(c.name)
        if c.ok or key is None:
            out.append(c)
            continue
        hits = sum(same(key, run) for run in spread.runs)
        while not hits and spread.more():
            hits = sum(same(key, run) for run in spread.runs)
        n = len(spread.runs)
        if hits:
            out.append(ComponentResult(c.name, True, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                                       f"differs from lme4's run ({c.detail}) but lme4 itself gives this outcome "
                                       f"(up to the numbers in its texts) with one rounding step of noise in its "
                                       f"deviance ({hits} of {n} runs): not reproducible in lme4 (README: Known "
                                       "differences)"))
        else:
            out.append(ComponentResult(c.name, False, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                                       c.detail + (f"; none of {n} lme4 runs with one rounding step of noise "
                                                   "in its deviance gives this outcome" if n else "")))
    return out




#: the rules a fit-level agreement can rest on, as counted by campaign summaries
RULES = ("theta exact", "flat optimum", "lme4 spread", "conditioning bound", "scale")


def rules_used(components) -> list[str]:
    """The rules an agreeing fit-level report rests on: how its theta passed (exactly, i.e. within
    1e-6; by the flat-optimum rule; by lme4's own spread) and whether any component passed by the
    conditioning bound or by the rounding level of the problem's scale (:mod:`parity.compare.conditioning`)."""
    out = []
    for c in components:
        if c.name == 'getME(fit, "theta")' and c.ok:
            out.append("flat optimum" if EQUAL_OPTIMA in c.detail else
                       "lme4 spread" if LME4_SPREAD in c.detail else "theta exact")
    if any(c.ok and f"within the {COND_RULE}" in c.detail for c in components):
        out.append("conditioning bound")
    if any(c.ok and SCALE_RULE in c.detail for c in components):
        out.append("scale")
    return out
