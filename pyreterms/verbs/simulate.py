"""R: ``simulate(fit, nsim, seed, use.u, re.form)`` for a linear mixed model (``lme4:::simulate.merMod``
-> ``lme4::.simulateFun``, lme4 1.1-31), drawing R's own random numbers
(:class:`pyreterms.rmath.rng.RRNG`), so a seed gives lme4's values.

R expression producing the value (later a parity component)::

    simulate(fit, nsim = 10, seed = 42)            # a data.frame sim_1 .. sim_10, attr "seed"
    simulate(fit, nsim = 3, seed = 1, use.u = TRUE)
    simulate(fit, nsim = 3, seed = 1, re.form = ~ (1 | g))
    simulate(fit, nsim = 2, seed = 3, newdata = nd, allow.new.levels = TRUE)

The steps and the order of draws are ``.simulateFun``'s: ``set.seed(seed)``; ``etapred =
predict(fit, re.form = re.form)`` (re.form ``NA`` by default; ``use.u = TRUE`` means ``re.form =
NULL``, i.e. condition on all random effects); the terms not in ``re.form`` (``compReForm``) get new
random effects: ``U = t(Lambdat %*% Zt)`` of ``mkReTrms(findbars(compReForm), model.frame(fit))`` with
``Lambdat@x <- theta[Lind]`` (that term structure's own ``Lind``, indexing the fit's theta from the
start, as lme4 does), ``u <- rnorm(ncol(U) * nsim)`` for all simulations first; then the noise
``rnorm(n * nsim)``; ``val = etapred + sigma * (U %*% matrix(u, ncol = nsim) + noise)``.  As in lme4,
prior weights do not scale the noise of an LMM.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pyreterms.design.model import ModelFrame
from pyreterms.design.reterms import grouping_factor, mk_reterms
from pyreterms.errors import DataError, UnsupportedInput
from pyreterms.formula.nodes import Call, Node
from pyreterms.formula.parser import deparse
from pyreterms.formula.terms import extract_vars
from pyreterms.rmath.rng import RRNG
from pyreterms.verbs.accessors import row_order
from pyreterms.verbs.newdata import new_frame, orig_levels, orig_ordered
from pyreterms.verbs.predict import NO_RE, _fit_bars, levelfun_error, parse_re_form, predict
from pyreterms.verbs.view import FitLike


def _comp_bars(fit: FitLike, form: Any) -> list[Call]:
    """R: the bar terms of ``compReForm``: all of the fit's, less those of ``re.form`` when it has
    random effects (``update.formula(compReForm, . ~ . - reOnly(re.form))`` removes those term labels)."""
    bars = _fit_bars(fit)
    if form is None:
        return []
    if form != NO_RE:
        drop = {deparse(b) for b in form}
        bars = [b for b in bars if deparse(b) not in drop]
    return bars


def _re_matrix(fit: FitLike, bars: list[Call], fr: ModelFrame | None) -> sp.csc_matrix | None:
    """``t(Lambdat %*% Zt)`` of ``mkNewReTrms(fit, newdata, compReForm)``, or None without terms: the
    fit's own when all its terms are simulated on its data, else ``mkReTrms(bars, frame)`` with
    ``Lambdat@x <- theta[Lind]`` (that structure's own ``Lind``, as lme4 does)."""
    if not bars:
        return None
    if fr is None and len(bars) == len(_fit_bars(fit)):
        return (fit.problem.lambdat(fit.theta) @ fit.lf.reTrms.Zt).T.tocsc()
    rt = mk_reterms(bars, fit.lf.fr if fr is None else fr)
    lam = rt.Lambdat.copy()
    lam.data = np.asarray(fit.theta, dtype=np.float64)[rt.Lind]
    return (lam @ rt.Zt).T.tocsc()


def _new_re_frame(fit: FitLike, bars: list[Call], newdata: pd.DataFrame, allow_new_levels: bool) -> ModelFrame:
    """The new data's frame for ``mkNewReTrms`` (the fit's factor levels); like lme4, new levels of a
    grouping factor stop unless ``allow_new_levels`` (and then get new random effects)."""
    nodes: list[Node] = []
    for b in bars:
        extract_vars(b.args[0].value, nodes)
        extract_vars(b.args[1].value, nodes)
    fr, bad = new_frame(nodes, newdata, orig_levels(fit.lf.fr), fit.lf.fr.predvars, orig_ordered(fit.lf.fr))
    if bad.any():
        raise UnsupportedInput("simulate(newdata = ) with NA in the random-effects variables is not supported")
    if not allow_new_levels:
        ranef = fit.ranef()
        for b in bars:
            grp = b.args[1].value
            ff = grouping_factor(grp, fr)
            known = set(ranef[deparse(grp)].index) if deparse(grp) in ranef else set()
            new = [lv for lv in ff.levels if lv not in known]
            if new:
                raise levelfun_error(new)
    return fr


def simulate(fit: FitLike, nsim: int = 1, seed: int | None = None, use_u: bool | None = None,
             re_form: Any = NO_RE, newdata: pd.DataFrame | None = None, rng: RRNG | None = None,
             allow_new_levels: bool = False) -> pd.DataFrame:
    """R: ``simulate(fit, nsim, seed, use.u, re.form)``: a DataFrame ``sim_1 .. sim_nsim`` indexed by
    the fit's row names (NA rows back under na.exclude); ``.attrs["seed"]`` is R's ``attr(, "seed")``
    (``.Random.seed`` before the draws).  ``rng`` carries R's RNG state between calls (R's global
    ``.Random.seed``); without ``rng`` and ``seed`` a fresh generator is seeded from the OS."""
    if isinstance(nsim, bool) or not isinstance(nsim, (int, np.integer)) or nsim < 1:
        raise DataError(f"nsim must be a positive integer (not {nsim!r})")
    if use_u is not None:
        if not (isinstance(re_form, str) and re_form == NO_RE):
            raise DataError("should specify only one of 'use.u' and 're.form'")
        re_form = None if use_u else "~0"
    form = parse_re_form(re_form)
    gen = rng
    if gen is None:
        gen = RRNG(seed)
        if seed is None:
            gen.runif(1)  # R: no .Random.seed yet -> runif(1) seeds from the clock and draws once
    elif seed is not None:
        gen.set_seed(seed)
    state = gen.random_seed.copy()
    sigma = fit.sigma()
    fr = fit.lf.fr
    bars = _comp_bars(fit, form)
    if newdata is not None:
        pred = predict(fit, newdata, re_form=re_form, allow_new_levels=allow_new_levels)
        if pred.isna().any():
            raise UnsupportedInput("simulate(newdata = ) with NA rows is not supported (lme4 drops them for the "
                                   "fixed part only)")
        etapred, rownames = pred.to_numpy(), list(pred.index)
        U = _re_matrix(fit, bars, _new_re_frame(fit, bars, newdata, allow_new_levels) if bars else None)
    else:
        etapred = fit.lf.X.X @ fit.state.beta + fit.lf.offset if form == NO_RE \
            else predict(fit, re_form=re_form).dropna().to_numpy()
        rownames = list(fr.rownames)
        U = _re_matrix(fit, bars, None)
    n = len(etapred)
    if U is not None:
        u = gen.rnorm(U.shape[1] * nsim).reshape(nsim, U.shape[1]).T
        reff = np.asarray(U @ u)
    else:
        reff = np.zeros((n, nsim))
    noise = gen.rnorm(n * nsim).reshape(nsim, n).T
    val = etapred[:, None] + sigma * (reff + noise)
    out = pd.DataFrame(val, index=rownames, columns=[f"sim_{k + 1}" for k in range(nsim)])
    if newdata is None and fr.na_action == "exclude" and fr.dropped_rows:
        out = out.reindex(row_order(fr))
    out.attrs["seed"] = state
    return out
