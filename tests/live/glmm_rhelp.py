"""Shared by the live GLMM tests (tests/live/test_glmm_verbs.py, test_glmm_inference.py): the designs
compared at lme4's parameters and the fit built there (``glmer_at`` from lme4's ``opt$par`` and its devfun's
``lp0``)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from parity.r.frame import r_dataframe_to_pandas
from pyreterms.glmm import family as fam
from pyreterms.glmm.fit import GlmerFit
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.glmer import glmer_at

CBPP_B = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
GD = ("set.seed(1); gd <- data.frame(g = factor(rep(1:12, each = 8)), x = rnorm(96)); b <- rnorm(12, sd = 0.4); "
      "gd$y <- rgamma(96, shape = 3, scale = exp(0.5 + 0.3*gd$x + b[gd$g])/3); gd")
CASES = [  # (formula, R family, our family, data name, nAGQ)
    (CBPP_B, "binomial", fam.binomial(), "cbpp", 1),
    (CBPP_B, "binomial", fam.binomial(), "cbpp", 5),
    (CBPP_B, "binomial(link = \"probit\")", fam.binomial("probit"), "cbpp", 1),
    ("incidence ~ period + (1 | herd)", "poisson", fam.poisson(), "cbpp", 0),
    ("incidence ~ period + (1 | herd)", "poisson", fam.poisson(), "cbpp", 1),
    ("TICKS ~ YEAR + (1 | BROOD)", "poisson", fam.poisson(), "grouseticks", 1),
    ("y ~ x + (1 | g)", "Gamma(link = \"log\")", fam.Gamma("log"), "gd", 1),
    ("incidence ~ period + (1 | herd)", "poisson", fam.poisson(), "cb;offset=lsize", 3),
    ("incidence ~ period + offset(lsize) + (1 | herd)", "poisson", fam.poisson(), "cb;weights=w", 7),
]
IDS = ["cbpp-logit-1", "cbpp-logit-5", "cbpp-probit-1", "cbpp-poisson-0", "cbpp-poisson-1", "grouseticks-1",
       "gamma-log-1", "offset-arg-3", "weights-offset-term-7"]
OWN_FIT_ELSEWHERE: set[str] = set()  # designs whose own fit may print other digits (optimizer tolerance): none
# since stage 1 runs minqa's bobyqa (with NLopt's, "cb;weights=w" at nAGQ = 7 stopped 9e-6 away in theta)
CB = "cb <- lme4::cbpp; cb$lsize <- log(cb$size); cb$w <- rep(c(1, 2), 28); cb"


def spec(data: str) -> tuple[str, str, dict[str, str]]:
    """"name;arg=column" -> (name, R's extra arguments, our keyword arguments)."""
    name, *args = data.split(";")
    kw = dict(a.split("=") for a in args)
    return name, "".join(f", {k} = {v}" for k, v in kw.items()), kw


def r_data(R, name: str) -> pd.DataFrame:
    R.r_eval("suppressMessages(library(lme4))")
    if name == "gd":
        return r_dataframe_to_pandas(R.r_eval(GD))
    if name == "cb":
        return r_dataframe_to_pandas(R.r_eval(CB))
    R.r_eval(f"{name} <- lme4::{name}")
    return r_dataframe_to_pandas(R.r_eval(name))


def num(R, expr: str) -> np.ndarray:
    return np.array(R.r_eval(expr), dtype=np.float64)


def fit_at_lme4(R, formula: str, rfam: str, f: fam.Family, data: str, k: int) -> GlmerFit:
    """Fits ``g <- glmer(...)`` and ``f <- glmer(..., devFunOnly = TRUE)`` in R; our fit at lme4's parameters."""
    data, rx, kw = spec(data)
    d = r_data(R, data)
    R.r_eval(f"g <- glmer({formula}, {data}, {rfam}, nAGQ = {k}{rx}); "
             f"f <- glmer({formula}, {data}, {rfam}, nAGQ = {k}{rx}, devFunOnly = TRUE)")
    glf = glformula(formula, d, f, **kw)
    assert isinstance(glf, GLFormula)
    pars = num(R, "g@optinfo$val" if k else "getME(g, 'theta')")
    return glmer_at(glf, pars, k, lp0=num(R, "environment(f)$lp0"))
