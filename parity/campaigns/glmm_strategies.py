"""Hypothesis strategies for GLMM designs: ``glmer(formula, data, family = family(link), nAGQ, weights,
offset)`` calls lme4 1.1-31 fits, or must refuse.

R equivalent of what is exercised: ``lme4::glFormula`` and ``lme4::glmer`` with the families and links
lme4 supports (``stats::binomial`` logit/probit/cloglog/cauchit/log with 0/1, proportions with
``weights`` and ``cbind(successes, failures)`` responses; ``poisson`` log/sqrt/identity; ``Gamma``;
``inverse.gaussian``; ``gaussian`` with a log or inverse link), nAGQ 0, 1 and 2..25 (one scalar term),
offsets (``offset =`` and ``offset(o)``), NA rows, and the hard cases of :data:`GLMM_FREQUENCIES`.

Responses are simulated from the model: ``eta = offset + X beta + Z b`` with ``b ~ N(0, sd^2)`` per
term, ``mu = linkinv(eta)`` (pyreterms' family, R's ``linkinv``) and ``y`` drawn from the family with a
numpy generator seeded by one Hypothesis draw, so most designs fit.  Grouping columns come from the
LMM strategies' :func:`parity.campaigns.strategies._group_column` (string, integer, float and Categorical
columns with awkward labels, balanced/random/blocked/singleton/nested patterns).  Designs have 30..300
rows (95% at most 120: a design costs well under a second on each side).

Public API: :class:`GlmmDesign`, :func:`glmm_designs` (the strategy; ``focus=`` one of
:data:`GLMM_FOCUS` makes every design carry that hazard), :data:`FAMILY_LINKS`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from parity.adapter.pyreterms_glmm import glmm_family
from parity.campaigns.hazards import coin, pick
from parity.campaigns.strategies import Design, Hazards, _factor_cov, _group_column, _rng

__all__ = ["GlmmDesign", "glmm_designs", "glmm_focus", "FAMILY_LINKS", "GLMM_FREQUENCIES", "GLMM_FOCUS",
           "INVALID_KINDS", "RE_STRUCTURES", "AGQ_ORDERS"]

#: (family, link) pairs drawn, each once per entry (repeats weight the common ones: binomial logit, poisson log)
FAMILY_LINKS: tuple[tuple[str, str], ...] = (
    *[("binomial", "logit")] * 6, ("binomial", "probit"), ("binomial", "probit"), ("binomial", "cloglog"),
    ("binomial", "cloglog"), ("binomial", "cauchit"), ("binomial", "log"),
    *[("poisson", "log")] * 5, ("poisson", "sqrt"), ("poisson", "identity"),
    ("Gamma", "log"), ("Gamma", "log"), ("Gamma", "inverse"), ("Gamma", "identity"),
    ("inverse.gaussian", "1/mu^2"), ("inverse.gaussian", "log"),
    ("gaussian", "log"), ("gaussian", "inverse"),
)
#: hard case -> probability that a main-stream design carries it (tag ``hz:<name>``); each is also a focus
#: stream of :mod:`parity.campaigns.seeding` (every third design of a campaign is drawn from one of them)
GLMM_FREQUENCIES: dict[str, float] = {
    "separation": 0.05,        # binomial 0/1: y = (x > 0) (complete) or y = 0 at one level of f (quasi)
    "boundary": 0.10,          # every random-effect sd is 0 (a singular fit, theta on its bound)
    "overdispersion": 0.10,    # an observation-level N(0, 1) in eta (Poisson, binomial totals > 1)
    "zero_inflated": 0.06,     # Poisson counts with 30-60% structural zeros (lme4 fits them as Poisson)
    "invalid_response": 0.08,  # a response lme4 refuses (INVALID_KINDS)
    "agq": 0.10,               # nAGQ in AGQ_ORDERS with one scalar term (1 | g)
    "nagq0": 0.08,             # nAGQ = 0 (stage 1 only)
    "offset": 0.15,            # an offset (log exposure for log links), as offset = or offset(o)
    "na_rows": 0.08,           # NA in the response or a covariate (glmer's na.omit drops the rows)
}
GLMM_FOCUS: tuple[str, ...] = tuple(GLMM_FREQUENCIES)
#: responses lme4 refuses (the refusal classes of parity.compare.verdicts) and where each applies
INVALID_KINDS: dict[str, tuple[str, ...]] = {
    "binomial_y_gt_1": ("binomial",),      # "y values must be 0 <= y <= 1"
    "negative_count": ("poisson",),        # "negative values not allowed for the 'Poisson' family"
    "zero_gamma": ("Gamma",),              # "non-positive values not allowed for the 'Gamma' family"
    "zero_inverse_gaussian": ("inverse.gaussian",),
    "zero_gaussian": ("gaussian",),        # log or inverse link: "cannot find valid starting values"
    "constant_response": ("binomial", "poisson", "Gamma"),  # "Response is constant"
    "agq_two_terms": ("binomial", "poisson"),  # nAGQ > 1 with two terms
    "cbind_non_binomial": ("poisson", "Gamma"),  # updateXwts: dimension mismatch
}
#: random-effects parts drawn (the first is (1 | g), the only one nAGQ > 1 takes)
RE_STRUCTURES: tuple[str, ...] = ("(1 | g)", "(1 | g)", "(1 | g)", "(1 | g)", "(1 | g) + (1 | h)", "(1 | g/h)",
                                  "(1 | g:h)", "(x | g)", "(0 + x | g)", "(1 | g) + (0 + x | g)", "(x || g)")
AGQ_ORDERS: tuple[int, ...] = (2, 3, 5, 7, 9, 12, 25)
#: hazards that exclude each other (separation needs a 0/1 binomial response; an NA must not hide the
#: invalid value; nAGQ is one number)
_CONFLICTS = (("separation", "zero_inflated"), ("separation", "overdispersion"), ("separation", "invalid_response"),
              ("zero_inflated", "overdispersion"), ("agq", "nagq0"), ("invalid_response", "na_rows"))
_SD = (0.3, 0.6, 1.0, 1.5)


@dataclass(frozen=True, eq=False)
class GlmmDesign(Design):
    """One GLMM design: ``glmer(formula, data, family = family(link), nAGQ, weights = data[[weights]],
    offset = data[[offset]])`` (``REML`` is unused).  ``expect_refusal`` is a hint, not an oracle."""

    family: str = "binomial"
    link: str | None = None
    nAGQ: int = 1

    def extra_key(self) -> tuple:
        return (self.family, self.link, self.nAGQ)

    def glmm_args(self) -> dict[str, Any]:
        """Keyword arguments of :func:`parity.compare.glmm_check.check_glmm` (and of the R side)."""
        return {"family": self.family, "link": self.link, "nAGQ": self.nAGQ,
                "weights": None if self.weights is None else self.data[self.weights].to_numpy(float),
                "offset": None if self.offset is None else self.data[self.offset].to_numpy(float)}


def glmm_focus(hazards: Hazards | None = None) -> tuple[str, ...]:
    """The focus streams of a GLMM campaign (:mod:`parity.campaigns.seeding`): every hard case."""
    return GLMM_FOCUS


def _compatible(family: str, link: str, hz: set[str], response: str) -> bool:
    """Whether a (family, link, response form) can carry the hazards ``hz``."""
    if "separation" in hz and not (family == "binomial" and link != "log" and response == "01"):
        return False
    if "zero_inflated" in hz and not (family == "poisson" and link in ("log", "sqrt")):
        return False
    if "overdispersion" in hz and not (family == "poisson" or (family == "binomial" and response != "01")):
        return False
    return True


def _eta_scale(family: str, link: str, draw: Callable) -> tuple[float, float, float]:
    """(intercept, slope scale, random-effect sd scale) keeping mu valid for the link."""
    b0 = {("binomial", "log"): -2.2, ("poisson", "log"): 1.0, ("poisson", "sqrt"): 2.0,
          ("poisson", "identity"): 6.0, ("Gamma", "log"): 1.0, ("Gamma", "inverse"): 0.8,
          ("Gamma", "identity"): 5.0, ("inverse.gaussian", "1/mu^2"): 0.5, ("inverse.gaussian", "log"): 0.5,
          ("gaussian", "log"): 2.0, ("gaussian", "inverse"): 0.4}.get((family, link), 0.0)
    slope = {("binomial", "log"): 0.2, ("poisson", "identity"): 0.8, ("Gamma", "inverse"): 0.08,
             ("Gamma", "identity"): 0.6, ("inverse.gaussian", "1/mu^2"): 0.05, ("gaussian", "inverse"): 0.04,
             ("inverse.gaussian", "log"): 0.3, ("gaussian", "log"): 0.3}.get((family, link), 0.6)
    shift = draw(st.integers(-2, 2)) / 4.0 * (slope if slope < 0.6 else 1.0)
    return b0 + shift, slope, slope / 0.6


def _simulate(rng: np.random.Generator, family: str, mu: np.ndarray, m: np.ndarray) -> np.ndarray:
    """One response per row from the family with mean ``mu`` (binomial: successes out of ``m``)."""
    if family == "binomial":
        return rng.binomial(m.astype(np.int64), np.clip(mu, 0.0, 1.0)).astype(float)
    if family == "poisson":
        return rng.poisson(np.maximum(mu, 0.0)).astype(float)
    if family == "Gamma":
        shape = float(rng.choice([2.0, 4.0, 8.0]))
        return np.round(rng.gamma(shape, np.maximum(mu, 1e-3) / shape), 4)
    if family == "inverse.gaussian":
        return np.round(rng.wald(np.maximum(mu, 1e-3), float(rng.choice([4.0, 10.0, 30.0]))), 4)
    return np.round(mu + rng.normal(scale=0.1 * np.abs(mu).mean() + 1e-3, size=mu.size), 4)  # gaussian


def _invalidate(kind: str, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    y = y.copy()
    j = int(rng.integers(y.size))
    if kind == "binomial_y_gt_1":
        y[j] = 2.0
    elif kind == "negative_count":
        y[j] = -1.0
    elif kind in ("zero_gamma", "zero_inverse_gaussian", "zero_gaussian"):
        y[j] = 0.0
    elif kind == "constant_response":
        y[:] = 1.0 if y.max() > 0 else 0.0
    return y


@st.composite
# one draw per part of a design, in a fixed order (seeded samples and shrinking depend on it)
def _glmm_design(draw: Callable, focus: str | None = None) -> GlmmDesign:  # noqa: C901 - one strategy, fixed draw order
    tags: set[str] = {f"focus:{focus}"} if focus else set()
    hz = {h for h in GLMM_FREQUENCIES if coin(draw, GLMM_FREQUENCIES[h]) or h == focus}
    for a, b in _CONFLICTS:  # of two hazards that exclude each other, a focus stream's stays
        if a in hz and b in hz:
            hz.discard(a if b == focus else b)
    response = pick(draw, ("01", "01", "prop", "cbind"))
    pool = [fl for fl in FAMILY_LINKS if _compatible(*fl, hz, response)]
    for other in ("01", "cbind"):  # separation needs a 0/1 response, overdispersion of a binomial totals
        if not pool:
            response = other
            pool = [fl for fl in FAMILY_LINKS if _compatible(*fl, hz, response)]
    family, link = pick(draw, pool)
    invalid = ""
    if "invalid_response" in hz:
        kinds = [k for k, fams in INVALID_KINDS.items() if family in fams]
        invalid = pick(draw, kinds) if kinds else ""
        if invalid:
            tags.add(f"invalid:{invalid}")
            if family == "binomial" and invalid != "agq_two_terms":
                response = "01"  # a count of 2 in cbind() or proportions is no invalid proportion
        else:
            hz.discard("invalid_response")
    tags |= {f"hz:{h}" for h in hz} | {f"family:{family}", f"link:{link}"}
    if family == "binomial":
        tags.add(f"response:{response}")
    re_part = "(1 | g)" if "agq" in hz else pick(draw, RE_STRUCTURES)
    nAGQ = pick(draw, AGQ_ORDERS) if "agq" in hz else (0 if "nagq0" in hz else 1)
    if invalid == "agq_two_terms":
        re_part, nAGQ = "(1 | g) + (1 | h)", pick(draw, AGQ_ORDERS)
    fixed = [t for t in ("x", "z", "f") if coin(draw, 0.5)]
    if "separation" in hz:
        sep = pick(draw, ("complete", "quasi"))
        tags.add(f"separation:{sep}")
        need = "x" if sep == "complete" else "f"
        fixed = fixed if need in fixed else [need, *fixed]
    n = draw(st.integers(30, 300)) if coin(draw, 0.05) else draw(st.integers(30, 120))
    gvars = [v for v in ("g", "h") if v in re_part]
    ctags: set[str] = set()
    cols: dict[str, pd.Series] = {}
    codes: dict[str, np.ndarray] = {}
    desc = [f"n={n}", f"{family}({link})", f"nAGQ={nAGQ}"]
    lmm_hz = Hazards()
    for v in ("g", "h"):
        k = draw(st.integers(4, max(4, min(20, n // 4)))) if v == "g" else draw(st.integers(2, 6))
        s, c, d = _group_column(draw, n, k, lmm_hz, codes.get("g") if v == "h" else None, ctags, na=False)
        codes[v] = c
        if v in gvars:
            cols[v] = s
            desc.append(f"{v}:{d}")
    tags |= ctags
    rng = _rng(draw)
    x = np.round(rng.normal(size=n), 2)
    z = np.round(rng.uniform(-1, 1, size=n), 2)
    fcol = _factor_cov(draw, n, draw(st.integers(2, 3)), lmm_hz, "", False)
    b0, slope, sdscale = _eta_scale(family, link, draw)
    beta = rng.uniform(-slope, slope, size=4)
    eta = np.full(n, b0) + beta[0] * x * ("x" in fixed) + beta[1] * z * ("z" in fixed)
    flev = sorted(set(fcol.dropna().astype(str)))
    if "f" in fixed:
        eta = eta + np.array([beta[2] * flev.index(str(v)) / 2 if isinstance(v, str) else 0.0 for v in fcol])
    sd = 0.0 if "boundary" in hz else pick(draw, _SD) * sdscale
    for v in gvars:
        ng = int(codes[v].max()) + 1
        eta = eta + rng.normal(scale=sd, size=ng)[codes[v]]
        if "x |" in re_part or "x ||" in re_part:
            eta = eta + (rng.normal(scale=sd / 2, size=ng)[codes[v]] * x if v == "g" else 0.0)
    if "g:h" in re_part or "g/h" in re_part:
        gh = codes["g"] * 100 + codes["h"]
        eta = eta + rng.normal(scale=sd, size=int(gh.max()) + 1)[gh]
    if "overdispersion" in hz:
        eta = eta + rng.normal(size=n)
    off = None
    if "offset" in hz:
        t = rng.integers(1, 10, size=n).astype(float)
        off = np.log(t) if link == "log" and family != "binomial" else np.round(rng.uniform(-0.2, 0.2, n), 2)
        eta = eta + off * (link == "log" or family == "binomial")
    if family == "binomial" and link == "log":
        eta = np.minimum(eta, -0.05)
    if family == "poisson" and link in ("sqrt", "identity") or (family == "Gamma" and link in ("inverse", "identity")) \
            or family in ("inverse.gaussian", "gaussian") and link in ("1/mu^2", "inverse"):
        eta = np.maximum(eta, 0.05 if link != "identity" else 0.5)
    mu = glmm_family(family, link).linkinv(eta)
    m = np.ones(n) if family != "binomial" or response == "01" else rng.integers(1, 11, size=n).astype(float)
    y = _simulate(rng, family, mu, m)
    if "separation" in hz:
        y = (x > 0).astype(float) if sep == "complete" else \
            np.where(fcol.astype(str).to_numpy() == flev[0], 0.0, y)
    if "zero_inflated" in hz:
        y = np.where(rng.random(n) < rng.uniform(0.3, 0.6), 0.0, y)
    if invalid and invalid not in ("agq_two_terms", "cbind_non_binomial"):
        y = _invalidate(invalid, y, rng)
    data: dict[str, Any] = {}
    weights = offset = None
    lhs = "y"
    if family == "binomial" and response == "prop":
        data["y"], data["m"], weights = y / m, m, "m"
    elif (family == "binomial" and response == "cbind") or invalid == "cbind_non_binomial":
        mm = m if family == "binomial" else y + rng.integers(1, 5, size=n)
        data["s"], data["fl"] = y, mm - y
        lhs = "cbind(s, fl)"
    else:
        data["y"] = y
    if "na_rows" in hz:
        col = "x" if "x" in fixed and coin(draw, 0.5) else ("s" if "s" in data else "y")
        arr = (x.copy() if col == "x" else np.asarray(data[col], dtype=float).copy())
        arr[rng.choice(n, size=max(1, n // 20), replace=False)] = np.nan
        if col == "x":
            x = arr
        else:
            data[col] = arr
    if "x" in fixed or "x" in re_part:
        data["x"] = x
    if "z" in fixed:
        data["z"] = z
    if "f" in fixed:
        data["f"] = fcol
    data.update(cols)
    terms = list(fixed)
    if off is not None:
        data["o"] = off
        if coin(draw, 0.5):
            terms.append("offset(o)")
        else:
            offset = "o"
    formula = f"{lhs} ~ " + " + ".join([*(terms or ["1"]), re_part])
    tags |= {"weights"} if weights else set()
    tags |= {"offset"} if off is not None else set()
    frame = pd.DataFrame(data)
    expect = bool(invalid)
    return GlmmDesign(formula, frame, weights, offset, False, expect, "; ".join(desc), frozenset(tags),
                      family=family, link=link, nAGQ=nAGQ)


def glmm_designs(hazards: Hazards | None = None, *, focus: str | None = None) -> st.SearchStrategy[GlmmDesign]:
    """GLMM designs (``hazards`` is the LMM switchboard and is not used: the grouping columns carry every
    LMM label hazard); ``focus`` (one of :data:`GLMM_FOCUS`) makes every design carry that hazard."""
    if focus is not None and focus not in GLMM_FOCUS:
        raise ValueError(f"unknown GLMM focus {focus!r}; known: {', '.join(GLMM_FOCUS)}")
    return _glmm_design(focus)
