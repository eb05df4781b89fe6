"""One design, both sides: run R (the oracle) and an implementation, compare every component.

R equivalent of the oracle side: ``pyreterms_reference()`` in ``r_scripts/reference.R``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .compare import (AT_LME4_THETA, AT_THETA, PLS, ComponentResult, Diff, Tolerance, compare_components,
                      compare_values, tolerance_for)
from .pyside import Impl, load_impl, run_impl
from .rvalues import RList, RNull, RValue, RVector


@dataclass(frozen=True)
class CheckReport:
    formula: str
    data_label: str
    level: str
    REML: bool
    components: tuple[ComponentResult, ...]
    versions: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.components) and all(c.ok for c in self.components)

    def as_json(self) -> dict:
        return {"ok": self.ok, "formula": self.formula, "data": self.data_label, "level": self.level,
                "REML": self.REML, "components": [c.as_json() for c in self.components],
                "versions": self.versions}


def r_components(formula: str, data: pd.DataFrame, *, REML: bool, level: str, weights=None, offset=None,
                 contrasts=None, thetas=None, noisy_seeds=(),
                 time_limit: float | None = None) -> dict[str, RValue]:
    """The oracle's components as a dict; an R refusal becomes ``{"error": RError}``."""
    from . import rsession

    res: RList = rsession.reference(formula, data, REML=REML, weights=weights, offset=offset,
                                    contrasts=contrasts, level=level, thetas=thetas,
                                    noisy_seeds=noisy_seeds, time_limit=time_limit)
    err = rsession.reference_error(res)
    out: dict[str, RValue] = {}
    for k, v in res.items:
        if k is not None and k not in out and k != "error":
            out[k] = v
    if err is not None:
        out["error"] = err
    return out


def required_components(level: str) -> set[str]:
    """Components both sides must have at a level (so an empty answer can never pass)."""

    names = {"lFormula()$reTrms$Zt", "lFormula()$reTrms$Lambdat", "lFormula()$reTrms$Lind",
             "lFormula()$reTrms$theta", "lFormula()$X", "lFormula()$reTrms$flist", "lFormula()$reTrms$cnms",
             "lFormula()$reTrms$Gp"}
    if level == "fit":
        names |= {'getME(fit, "theta")', 'getME(fit, "beta")', 'getME(fit, "b")', "devfun(theta)"}
    return names


CRIT_RTOL = 1e-8  # the criterion tolerance at the optimum (issue: "criterion to 1e-8 relative")
#: the phrases by which a theta verdict states its rule (counted by parity.fuzz)
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
        for k in seeds:
            pre = f"lmer(noisy devfun {k}): "
            self.runs.append({key[len(pre):]: v for key, v in r.items() if key.startswith(pre)})
        return True

    def criteria(self) -> list[float]:
        return [float(run["criterion"].x[0]) for run in self.runs
                if hasattr(run.get("criterion"), "x") and len(run["criterion"].x) == 1]


def _theta_equivalence(c: ComponentResult, py, r, formula, data, REML, weights, offset, contrasts,
                       time_limit, spread: Lme4Spread) -> tuple[ComponentResult, dict | None]:
    """theta differs by more than 1e-6: judge by lme4's *own* criterion.  If lme4's devfun at this
    implementation's theta is no worse than lme4's optimum by more than the criterion tolerance
    (1e-8 relative), the two points are equally good optima of lme4's objective (a flat criterion,
    where rounding-level differences move BOBYQA's stopping point).  Otherwise lme4 is run against
    itself (``spread``, batch by batch) and a point within that spread (:func:`equivalence_verdict`)
    passes; else the disagreement stands.  Also returns R's components at this implementation's
    theta (for :func:`_criteria_at_here`)."""
    th_py = py.get('getME(fit, "theta")')
    if th_py is None or not hasattr(th_py, "x"):
        return c, None
    try:
        r2 = r_components(formula, data, REML=REML, level="fit", weights=weights, offset=offset,
                          contrasts=contrasts, thetas=[np.asarray(th_py.x, dtype=float)],
                          time_limit=None if time_limit is None else 2 * time_limit)  # + lme4's fit there
        at_py = float(r2["devfun(thetas[[1]])"].x[0])
        at_r = float(r2["devfun(theta)"].x[0])
    except Exception as e:  # no verdict without evidence: keep the failure
        return ComponentResult(c.name, False, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                               c.detail + f"; could not evaluate lme4's devfun at this theta ({e})"), None
    what = "lme4's own devfun at this theta"
    verdict = equivalence_verdict(c, at_py, at_r, what)
    while not verdict.ok and spread.more():
        verdict = equivalence_verdict(c, at_py, at_r, what, spread.criteria())
    return verdict, r2


def criterion_components(REML: bool) -> tuple[str, ...]:
    """The components that are the optimized criterion (or a function of it alone) at the
    implementation's own optimum.  An ML fit's REMLcrit is not optimized (compared at lme4's theta)."""
    return ("deviance(fit)", "logLik(fit)", "AIC(fit)", "BIC(fit)") + (("REMLcrit(fit)",) if REML else ())


def _criteria_at_here(comps: list, py: dict, r_here: dict, REML: bool) -> list:
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
    implementation's theta) is no worse than lme4's optimum ``crit_r`` by more than 1e-8 relative,
    or lies within lme4's own run-to-run spread: the optima lme4 itself reaches when its deviance
    carries one rounding step of noise (``lme4_spread``, when measured), their range extended by its
    width."""
    gap = crit_here - crit_r
    tol = CRIT_RTOL * abs(crit_r)
    if np.isfinite(gap) and gap <= tol:
        return ComponentResult(c.name, True, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                               f"theta differs by {c.max_abs_diff:.2g} but {what} is {gap:+.2g} "
                               f"({gap / abs(crit_r):+.1e} relative) from lme4's optimum: {EQUAL_OPTIMA} "
                               "of a flat criterion (README: Known differences)")
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


def _volatile_in_lme4_spread(comps: list, py: dict, spread: Lme4Spread) -> list:
    """A convergence-check outcome (warning, message, singularity) that differs from lme4's passes
    only if lme4 itself produces exactly this outcome when its deviance carries one rounding step of
    noise (``spread``, batch by batch): lme4's finite-difference Hessian eigenvalues near 0 or a theta
    near its bound decide these by rounding on flat criteria (README: Known differences)."""
    import re

    from .compare import _messages

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
        if a is not None and b is not None:
            return outcome(a) == outcome(b)
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


#: at most this q, the conditioning of lme4's own Lambda'Z'WZ Lambda + I is computed (dense eigenvalues)
COND_MAX_Q = 3000


def condition_number(r: dict) -> float | None:
    """2-norm condition number of ``Lambda^T Z^T W Z Lambda + I`` at lme4's fitted theta, from lme4's
    own ``getME(fit, "Lambdat")``, ``getME(fit, "Zt")`` and ``weights(fit)``; None when unavailable or
    q > :data:`COND_MAX_Q`."""
    Lt, Zt = r.get('getME(fit, "Lambdat")'), r.get('getME(fit, "Zt")')
    if not hasattr(Lt, "x") or not hasattr(Zt, "x") or not hasattr(Lt.x, "tocsc"):
        return None
    q = Lt.x.shape[0]
    if q == 0 or q > COND_MAX_Q:
        return None
    A = (Lt.x @ Zt.x).toarray()
    w = r.get("harness: weights(fit)")
    if not hasattr(w, "x") or len(w.x) != A.shape[1]:
        return None
    A = A * np.sqrt(np.asarray(w.x, dtype=float))[None, :]
    ev = np.linalg.eigvalsh(A @ A.T + np.eye(q))
    return float(ev[-1] / ev[0]) if ev[0] > 0 else None


#: tolerance classes of quantities computed at a given theta (PLS solution, deviance, their functions)
_AT_THETA_CLASSES = (AT_THETA, PLS, AT_LME4_THETA)


def _within_conditioning(comps: list, py: dict, r: dict) -> list:
    """At-theta components that miss their tolerance get a second, stated chance: the forward error
    of any backward-stable solve with ``M = Lambda'Z'WZ Lambda + I`` is bounded by ``eps * kappa(M)``
    (relative), so with kappa(M) large (non-identified or badly scaled designs) two exact-to-rounding
    implementations legitimately differ by up to that much.  The component passes when it is within
    ``max(rtol, eps * kappa)``, with kappa computed from lme4's own matrices (README: Known differences)."""

    kappa: list = []
    out = []
    for c in comps:
        tol = tolerance_for(c.name)
        if c.ok or tol not in _AT_THETA_CLASSES or c.name not in py or c.name not in r:
            out.append(c)
            continue
        if not kappa:
            kappa.append(condition_number(r))
        k = kappa[0]
        bound = np.finfo(float).eps * k if k is not None else 0.0
        if bound <= tol.rtol:
            out.append(c)
            continue
        d = Diff()
        compare_values(py[c.name], r[c.name], Tolerance(bound, tol.atol, "conditioning bound"), d)
        if d.ok:
            out.append(ComponentResult(c.name, True, c.max_abs_diff, c.max_rel_diff, bound, tol.atol,
                                       f"differs by {c.max_rel_diff:.2g} (relative) > {tol.rtol:g}, within the "
                                       f"conditioning bound eps * kappa = {bound:.2g} (kappa(Lambda'Z'WZ Lambda + I) "
                                       f"= {k:.3g} from lme4's own matrices; README: Known differences)"))
        else:
            out.append(ComponentResult(c.name, False, c.max_abs_diff, c.max_rel_diff, c.rtol, c.atol,
                                       c.detail + f"; also beyond the conditioning bound {bound:.2g}"))
    return out


def check(formula: str, data: pd.DataFrame, *, REML: bool = True, level: str = "lformula",
          impl: Impl | str | None = None, weights=None, offset=None, contrasts=None, data_label: str = "",
          time_limit: float | None = None, r: dict[str, RValue] | None = None,
          timings: dict | None = None, impl_guard=None) -> CheckReport:
    """Compare one design.  ``r`` may carry the oracle's components already computed (a campaign
    caches them); ``timings`` (a dict) receives the seconds spent on the R and the Python side;
    ``impl_guard`` (a context-manager factory, e.g. a time limit) wraps the implementation's run only."""
    import time

    from . import rsession

    fn = load_impl(impl) if not callable(impl) else impl
    t0 = time.perf_counter()
    if r is None:
        r = r_components(formula, data, REML=REML, level=level, weights=weights, offset=offset,
                         contrasts=contrasts, time_limit=time_limit)
    t1 = time.perf_counter()
    extra = {}
    if level == "fit" and "error" not in r:
        th = r.get('getME(fit, "theta")')
        if th is not None and hasattr(th, "x"):
            extra["theta"] = np.asarray(th.x, dtype=np.float64)
    import contextlib

    with (impl_guard() if impl_guard is not None else contextlib.nullcontext()):
        py = run_impl(fn, formula, data, REML=REML, level=level, weights=weights, offset=offset,
                      contrasts=contrasts, **extra)
    if timings is not None:
        timings["r"] = timings.get("r", 0.0) + (t1 - t0)
        timings["py"] = timings.get("py", 0.0) + (time.perf_counter() - t1)
    comps = compare_components(py, r)
    if level == "fit" and "error" not in r and "error" not in py:
        spread = Lme4Spread(formula, data, REML, weights, offset, contrasts, time_limit)
        r_here = None
        for i, c in enumerate(comps):
            if c.name == 'getME(fit, "theta")' and not c.ok:
                comps[i], r2 = _theta_equivalence(c, py, r, formula, data, REML, weights, offset, contrasts,
                                                  time_limit, spread)
                r_here = r2 if comps[i].ok else None
        if r_here is not None:
            comps = _criteria_at_here(comps, py, r_here, REML)
        if any(not c.ok and c.name in VOLATILE for c in comps):
            comps = _volatile_in_lme4_spread(comps, py, spread)
        if any(not c.ok for c in comps):
            comps = _within_conditioning(comps, py, r)
    if "error" not in r and "error" not in py:
        missing = [ComponentResult(n, False, float("nan"), float("nan"), 0.0, 0.0,
                                   "required component " + ("missing here" if n not in py else "missing in R"))
                   for n in sorted(required_components(level)) if n not in py or n not in r]
        comps = missing + comps
    return CheckReport(formula, data_label, level, REML, tuple(comps), rsession.versions())
