"""R: ``simulate(fit, nsim, seed, use.u, re.form)`` for a linear mixed model (``lme4:::simulate.merMod``
-> ``lme4::.simulateFun``, lme4 1.1-31), drawing R's own random numbers
(:class:`pyreterms.rmath.rng.RRNG`), so a seed gives lme4's values.

R expression producing the value (later a parity component)::

    simulate(fit, nsim = 10, seed = 42)            # a data.frame sim_1 .. sim_10, attr "seed"
    simulate(fit, nsim = 3, seed = 1, use.u = TRUE)
    simulate(fit, nsim = 3, seed = 1, re.form = ~ (1 | g))

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

from pyreterms.design.reterms import mk_reterms
from pyreterms.errors import DataError, UnsupportedInput
from pyreterms.formula.parser import deparse
from pyreterms.rmath.rng import RRNG
from pyreterms.verbs.accessors import _row_order
from pyreterms.verbs.predict import NO_RE, _fit_bars, parse_re_form, predict
from pyreterms.verbs.view import FitLike


def _re_matrix(fit: FitLike, form: Any) -> sp.csc_matrix | None:
    """``t(Lambdat %*% Zt)`` for the random-effects terms to simulate (``compReForm``), or None."""
    bars = _fit_bars(fit)
    if form is None:
        return None
    if form != NO_RE:  # R: update.formula(compReForm, . ~ . - reOnly(re.form)) removes those term labels
        drop = {deparse(b) for b in form}
        bars = [b for b in bars if deparse(b) not in drop]
        if not bars:
            return None
        if len(bars) < len(_fit_bars(fit)):
            rt = mk_reterms(bars, fit.lf.fr)
            lam = rt.Lambdat.copy()
            lam.data = np.asarray(fit.theta, dtype=np.float64)[rt.Lind]
            return (lam @ rt.Zt).T.tocsc()
    return (fit.problem.lambdat(fit.theta) @ fit.lf.reTrms.Zt).T.tocsc()


def simulate(fit: FitLike, nsim: int = 1, seed: int | None = None, use_u: bool | None = None,
             re_form: Any = NO_RE, newdata: pd.DataFrame | None = None, rng: RRNG | None = None) -> pd.DataFrame:
    """R: ``simulate(fit, nsim, seed, use.u, re.form)``: a DataFrame ``sim_1 .. sim_nsim`` indexed by
    the fit's row names (NA rows back under na.exclude); ``.attrs["seed"]`` is R's ``attr(, "seed")``
    (``.Random.seed`` before the draws).  ``rng`` carries R's RNG state between calls (R's global
    ``.Random.seed``); without ``rng`` and ``seed`` a fresh generator is seeded from the OS."""
    if isinstance(nsim, bool) or not isinstance(nsim, (int, np.integer)) or nsim < 1:
        raise DataError(f"nsim must be a positive integer (not {nsim!r})")
    if newdata is not None:
        raise UnsupportedInput("simulate(newdata = ) is not supported yet; simulate on the fit's own data")
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
    etapred = fit.lf.X.X @ fit.state.beta + fit.lf.offset if form == NO_RE \
        else predict(fit, re_form=re_form).dropna().to_numpy()
    n = len(etapred)
    U = _re_matrix(fit, form)
    if U is not None:
        u = gen.rnorm(U.shape[1] * nsim).reshape(nsim, U.shape[1]).T
        reff = np.asarray(U @ u)
    else:
        reff = np.zeros((n, nsim))
    noise = gen.rnorm(n * nsim).reshape(nsim, n).T
    val = etapred[:, None] + sigma * (reff + noise)
    fr = fit.lf.fr
    out = pd.DataFrame(val, index=list(fr.rownames), columns=[f"sim_{k + 1}" for k in range(nsim)])
    if fr.na_action == "exclude" and fr.dropped_rows:
        out = out.reindex(_row_order(fr))
    out.attrs["seed"] = state
    return out
