"""The GLMM case table: named ``glmer()`` designs on real data (lme4's cbpp and grouseticks) and a
synthetic Poisson with an offset, checked live by :func:`parity.compare.glmm_check.check_glmm`.

Each :class:`GlmmCase` is one call ``lme4::glmer(formula, data, family = family(link), nAGQ,
weights = data[[weights]], offset = data[[offset]])``.  ``data`` names a shipped lme4 data set
(:func:`pyreterms.datasets.load_dataset`, or read through R: grouseticks), a derived frame
(``cbpp_prop``: cbpp with the incidence as a proportion; ``cbpp_start``: with mustart/etastart columns) or
the synthetic ``pois_offset`` / ``gamma_log``
frames built here with numpy (fixed seeds).
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parity.compare.glmm_check import GlmmCheckReport, check_glmm
from parity.r.datasource import load_source
from parity.r.glmer_call import GlmerCall, parse_glmer_call
from pyreterms.datasets import list_datasets, load_dataset

__all__ = ["GlmmCase", "GLMM_CASES", "get_glmm_case", "glmm_case_data", "run_glmm_case"]

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
#: two positive columns (no family's initialize objects to them)
CBPP_POS = "cbind(size, incidence + 1) ~ period + (1 | herd)"
#: the refusal class of lme4's updateXwts stop (a matrix response with a non-binomial family)
_XWTS = "response longer than the frame (matrix response, non-binomial family)"


@dataclass(frozen=True)
class GlmmCase:
    """One GLMM design (R: the arguments of ``glmer()``); ``weights``/``offset`` name data columns."""

    id: str
    formula: str
    data: str
    family: str
    link: str | None = None
    nAGQ: int = 1
    weights: str | None = None
    offset: str | None = None
    note: str = ""
    #: the verdict the case must have: "agree", or "both refused" (lme4 stops; pyreterms must stop for the
    #: same reason, :data:`refusal` the class of :data:`parity.compare.verdicts.REFUSAL_CLASSES`)
    expect: str = "agree"
    refusal: str | None = None
    #: glmer's further arguments as R text (an argument case, ``parity check --call 'glmer(...)'``), e.g.
    #: ``'control = glmerControl(optimizer = "nloptwrap")'``; both sides run them (:mod:`parity.r.glmer_call`)
    call: str | None = None

    def glmer_call(self) -> GlmerCall | None:
        """The case as a checked ``glmer(...)`` call when it has further arguments (else None)."""
        if self.call is None:
            return None
        fam = f'{self.family}(link = "{self.link}")' if self.link else self.family
        return parse_glmer_call(f"glmer({self.formula}, data = {self.data}, family = {fam}, nAGQ = {self.nAGQ}, "
                                f"{self.call})")

    def as_json(self) -> dict:
        """The definition a golden stores (:func:`parity.goldens.record_replay.save_golden`)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> GlmmCase:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


GLMM_CASES: tuple[GlmmCase, ...] = (
    GlmmCase("cbpp-logit", CBPP, "cbpp", "binomial", "logit", 1, note="lme4's ?cbpp example (Laplace)"),
    GlmmCase("cbpp-probit", CBPP, "cbpp", "binomial", "probit", 1),
    GlmmCase("cbpp-logit-agq5", CBPP, "cbpp", "binomial", "logit", 5, note="adaptive Gauss-Hermite, 5 nodes"),
    GlmmCase("cbpp-probit-agq5", CBPP, "cbpp", "binomial", "probit", 5),
    GlmmCase("cbpp-logit-agq40", CBPP, "cbpp", "binomial", "logit", 40,
             note="adaptive Gauss-Hermite, 40 nodes (lme4's rules go to 100)"),
    GlmmCase("cbpp-prop-weights", "prop ~ period + (1 | herd)", "cbpp_prop", "binomial", "logit", 1,
             weights="size", note="proportions with prior weights = totals (same fit as cbind)"),
    GlmmCase("grouseticks-pois", "TICKS ~ YEAR + (1 | BROOD)", "grouseticks", "poisson", "log", 1),
    GlmmCase("arabidopsis-pois", "total.fruits ~ nutrient + amd + status + (1 | popu) + (1 | gen)", "Arabidopsis",
             "poisson", "log", 1, note="lme4's Arabidopsis: crossed population and genotype intercepts"),
    GlmmCase("verbagg-additive", "r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item)", "VerbAgg",
             "binomial", "logit", 1, note="lme4's VerbAgg (7,584 responses): crossed subject and item intercepts"),
    GlmmCase("pois-offset", "y ~ x + (1 | g)", "pois_offset", "poisson", "log", 1, offset="logt",
             note="synthetic counts with exposure log(t) as offset"),
    GlmmCase("cbpp-logit-agq0", CBPP, "cbpp", "binomial", "logit", 0, note="nAGQ = 0: stage 1 only (bobyqa)"),
    GlmmCase("gamma-log", "y ~ x + (1 | g)", "gamma_log", "Gamma", "log", 1,
             note="synthetic Gamma(shape 4) responses, a family with a scale parameter"),
    # a two-column response with a family other than binomial: lme4 1.1-31 accepts glFormula (mkRespMod's y is
    # the matrix read column-wise, 2n values) and glmer stops in merPredD::updateXwts, unless the family's
    # initialize stops first (Gamma: zeros in size - incidence; gaussian(log): no valid starting values)
    GlmmCase("cbpp-cbind-poisson", CBPP, "cbpp", "poisson", "log", 1, expect="both refused", refusal=_XWTS,
             note="cbind() response, Poisson: lme4 stops in updateXwts"),
    GlmmCase("cbpp-cbind-gamma-log", CBPP, "cbpp", "Gamma", "log", 1, expect="both refused",
             refusal="non-positive Gamma response", note="cbind() with zero counts: Gamma's initialize stops"),
    GlmmCase("cbpp-cbind-gaussian-log", CBPP, "cbpp", "gaussian", "log", 1, expect="both refused",
             refusal="no valid starting values (gaussian log/inverse link)",
             note="cbind() with zero counts: gaussian(log)'s initialize stops"),
    GlmmCase("cbpp-cbind-pos-gamma-log", CBPP_POS, "cbpp", "Gamma", "log", 1, expect="both refused", refusal=_XWTS,
             note="positive cbind() columns, Gamma(log): lme4 stops in updateXwts"),
    GlmmCase("cbpp-cbind-pos-gaussian-log", CBPP_POS, "cbpp", "gaussian", "log", 1, expect="both refused",
             refusal=_XWTS, note="positive cbind() columns, gaussian(log): lme4 stops in updateXwts"),
    # glmer's other arguments (issue 18 items 1 and 3): start, devFunOnly, verbose, glmerControl
    *(GlmmCase(f"cbpp-arg-{k}", CBPP, "cbpp", "binomial", "logit", 1, call=c, note=n) for k, c, n in (
        ("nloptwrap", 'control = glmerControl(optimizer = "nloptwrap")', "nloptwrap for both stages"),
        ("nm-bobyqa", 'control = glmerControl(optimizer = c("Nelder_Mead", "bobyqa"))', "per-stage optimizers"),
        ("start-fixef", "start = list(theta = 0.5, fixef = c(-1.4, -1, -1.1, -1.6)), "
         "control = glmerControl(nAGQ0initStep = FALSE)", "start list, no stage 1: stage 2 from the given point"),
        ("start-named-fixef", "start = list(fixef = c(period2 = -1, period3 = -1.1, period4 = -1.6, "
         "`(Intercept)` = -1.4, extra = 3))", "a longer named fixef: lme4 takes X's columns by name"),
        ("start-theta", "start = 0.3", "a numeric start (stage 1's; stage 2 from stage 1's theta)"),
        ("lmercontrol", "control = lmerControl()", "an lmerControl: lme4's warning, then nloptwrap for both stages"),
        ("use-last-params", "control = glmerControl(use.last.params = TRUE)", "lme4's warning; the last theta"),
        ("tolpwrss", "control = glmerControl(tolPwrss = 1e-9, boundary.tol = 0, check.conv.grad = "
         '.makeCC("warning", tol = 1e-2))', "PIRLS tolerance, no boundary check, a convergence-check tolerance"),
        ("subset-verbose", "subset = herd != 3, verbose = TRUE", "subset; verbose read as as.integer"),
        ("devfunonly", "devFunOnly = TRUE", "the fit, and lme4's devFunOnly function at its parameters"),
    )),
    GlmmCase("cbpp-arg-nlopt-verbose", CBPP, "cbpp", "binomial", "logit", 1, call='control = glmerControl(optimizer = '
             'c("nloptwrap", "Nelder_Mead"), check.nlev.gtreq.5 = "warning"), verbose = 1L',
             note="stage 1 by nloptwrap; verbose = 1L (printing not compared)"),
    GlmmCase("cbpp-arg-mustart", CBPP, "cbpp_start", "binomial", "logit", 1, call="mustart = m, subset = herd != 2",
             note="mustart from a column (a (mustart) column in glFormula's frame), with a subset"),
    GlmmCase("cbpp-arg-etastart-agq0", CBPP, "cbpp_start", "binomial", "logit", 0, call="etastart = e",
             note="etastart from a column, nAGQ = 0"),
    *(GlmmCase(f"cbpp-arg-{k}", CBPP, "cbpp", "binomial", "logit", q, call=c, expect="both refused", refusal=r)
      for k, q, c, r in (
        ("restart-edge", 1, "control = glmerControl(restart_edge = TRUE)", "restart_edge (glmer)"),
        ("start-bad-names", 1, "start = list(theta = 1, foo = 2)", "bad start"),
        ("start-fixef-agq0", 0, "start = list(fixef = c(1, 1, 1, 1))", "bad start"),
        ("start-fixef-length", 1, "start = list(fixef = c(1, 2))", "bad start"),
        ("verbose-na", 1, "verbose = NA", "NA condition"),
        ("control-level", 1, 'control = glmerControl(check.response.not.const = "bad")', "invalid control level"),
    )),
)


def get_glmm_case(case_id: str) -> GlmmCase:
    """The case called ``case_id`` (KeyError naming the known ids otherwise)."""
    for c in GLMM_CASES:
        if c.id == case_id:
            return c
    raise KeyError(f"no GLMM case {case_id!r}; known: {', '.join(c.id for c in GLMM_CASES)}")


def _pois_offset() -> pd.DataFrame:
    """60 rows, 12 groups: ``y ~ Poisson(t exp(0.3 + 0.5 x + b_g))``, ``b_g ~ N(0, 0.4^2)``, exposure t."""
    rng = np.random.default_rng(20261126)
    n, ng = 60, 12
    g = np.repeat(np.arange(ng), n // ng)
    x = np.round(rng.normal(size=n), 3)
    t = rng.integers(1, 10, size=n).astype(float)
    b = rng.normal(scale=0.4, size=ng)
    y = rng.poisson(t * np.exp(0.3 + 0.5 * x + b[g])).astype(float)
    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical([f"g{k:02d}" for k in g]), "logt": np.log(t)})


def _gamma_log() -> pd.DataFrame:
    """80 rows, 10 groups: ``y ~ Gamma(shape 4, mean exp(1 + 0.4 x + b_g))``, ``b_g ~ N(0, 0.3^2)``."""
    rng = np.random.default_rng(7)
    n, ng = 80, 10
    g = np.repeat(np.arange(ng), n // ng)
    x = np.round(rng.normal(size=n), 3)
    b = rng.normal(scale=0.3, size=ng)
    y = np.round(rng.gamma(shape=4, scale=np.exp(1 + 0.4 * x + b[g]) / 4), 6)
    return pd.DataFrame({"y": y, "x": x, "g": pd.Categorical([f"g{k:02d}" for k in g])})


@functools.cache
def glmm_case_data(name: str) -> pd.DataFrame:
    """The frame a case names (a fresh copy each call is not needed: callers do not mutate it)."""
    if name == "cbpp_prop":
        d = load_dataset("cbpp").copy()
        d["prop"] = d["incidence"] / d["size"]
        return d
    if name == "cbpp_start":  # starting values as columns: mustart (a clipped proportion), etastart (its logit)
        d = load_dataset("cbpp").copy()
        d["m"] = np.clip(d["incidence"] / d["size"], 0.05, 0.95)
        d["e"] = np.log(d["m"] / (1 - d["m"]))
        return d
    if name == "pois_offset":
        return _pois_offset()
    if name == "gamma_log":
        return _gamma_log()
    if name in list_datasets():
        return load_dataset(name)
    return load_source(f"r:lme4::{name}")  # not shipped with pyreterms: read through the embedded R


def run_glmm_case(case: GlmmCase, impl=None) -> GlmmCheckReport:
    """Check one case live (pyreterms by default; ``impl`` for a mutant or another implementation)."""
    data = glmm_case_data(case.data)
    w = data[case.weights].to_numpy(float) if case.weights else None
    o = data[case.offset].to_numpy(float) if case.offset else None
    return check_glmm(case.formula, data, family=case.family, link=case.link, nAGQ=case.nAGQ, weights=w,
                      offset=o, impl=impl, data_label=case.data, call=case.glmer_call())
