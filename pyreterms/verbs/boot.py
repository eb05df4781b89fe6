"""R: ``bootMer(fit, FUN, nsim, seed, use.u, type = "parametric" | "semiparametric")`` (lme4 1.1-31) and
``confint(fit, method = "boot", nsim, seed, boot.type)`` (``lme4:::confint.merMod`` -> ``bootMer`` ->
``lme4:::confint.bootMer`` -> ``boot::boot.ci``).

R expressions producing the values (later parity components)::

    b <- bootMer(fit, function(f) getME(f, "theta"), nsim = 5, seed = 1); b$t0; b$t
    set.seed(1); confint(fit, method = "boot", nsim = 50, boot.type = "perc")

``bootMer``: ``set.seed(seed)``; ``t0 = FUN(fit)``; all responses drawn at once by
``simulate(fit, nsim, use.u = use.u, na.action = na.exclude)`` (R's random numbers, see
:mod:`pyreterms.verbs.simulate`); then for each ``refit(fit, sim_i)`` and ``FUN``.  The replicates are
therefore R's exactly; the refits agree with lme4's to the optimizer's tolerance.  A failed refit gives
a row of NaN (lme4's ``factory`` errval).
``type = "semiparametric"`` (lme4 allows it with ``use.u = TRUE`` only): the responses are
``replicate(nsim, fitted(x) + sample(residuals(x, "response"), replace = TRUE), simplify = FALSE)``,
the residuals resampled with R's ``sample()`` (:meth:`pyreterms.rmath.rng.RRNG.sample`), one
replicate after another, after ``t0 = FUN(x)``.
The default statistic of ``confint`` is ``c(Cv_to_Sv(theta, lengths(cnms), sigma), fixef)``: per term the
standard deviations (diagonal) and correlations (off-diagonal) in theta's order, then ``sigma``, named
``.sig01, ..., .sigma`` and the fixed-effect names; the interval is ``boot.ci``'s "perc" (``norm.inter``:
order statistics interpolated on the normal-quantile scale), "basic" or "norm".
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pyreterms.errors import DataError, LmeWarning, PyretermsError
from pyreterms.rmath.qnorm import qnorm_std
from pyreterms.rmath.rng import RRNG
from pyreterms.verbs.accessors import fitted, residuals
from pyreterms.verbs.simulate import simulate
from pyreterms.verbs.view import FitLike


@dataclass(frozen=True)
class BootResult:
    """R: a ``bootMer`` object: ``t0`` (the statistic at the fit), ``t`` (nsim x k replicates),
    ``sims`` (the simulated responses, ``simulate()``'s value), ``seed`` (``.Random.seed`` after the
    draws), ``n_fail`` (``attr(, "bootFail")``)."""

    t0: pd.Series
    t: pd.DataFrame
    sims: pd.DataFrame
    seed: np.ndarray
    n_fail: int


def _as_series(v: Any) -> pd.Series:
    if isinstance(v, pd.Series):
        return v.astype(float)
    arr = np.atleast_1d(np.asarray(v, dtype=np.float64))
    return pd.Series(arr, index=[str(i + 1) for i in range(arr.size)] if arr.size > 1 else [""])


def _semiparametric(fit: FitLike, nsim: int, gen: RRNG) -> pd.DataFrame:
    """R (bootMer, ``type = "semiparametric"``, ``use.u = TRUE``): ``replicate(nsim, fitted(x) +
    sample(residuals(x, "response"), replace = TRUE), simplify = FALSE)`` as columns ``sim_1 ..``."""
    mu = fitted(fit)
    res = residuals(fit, "response").to_numpy(dtype=np.float64)
    cols = {f"sim_{k + 1}": mu.to_numpy(dtype=np.float64) + gen.sample(res, None, True) for k in range(nsim)}
    return pd.DataFrame(cols, index=mu.index)


def boot_mer(fit: FitLike, FUN: Callable[[Any], Any], refit: Callable[[np.ndarray], Any], nsim: int = 1,
             seed: int | None = None, use_u: bool = False, type: str = "parametric",  # noqa: A002 (R's name)
             rng: RRNG | None = None) -> BootResult:
    """R: ``bootMer(fit, FUN, nsim, seed, use.u, type)``; ``refit`` refits the model to a new response
    (``LmerFit.refit``).  ``type = "semiparametric"`` needs ``use.u = TRUE``, as in lme4."""
    if type not in ("parametric", "semiparametric"):
        raise DataError(f"type must be 'parametric' or 'semiparametric' (not {type!r})")
    if type == "semiparametric" and not use_u:
        # lme4's own refusal (bootMer, lme4 1.1-31)
        raise DataError("semiparametric bootstrapping with use.u=FALSE not yet implemented")
    if isinstance(nsim, bool) or not isinstance(nsim, (int, np.integer)) or nsim < 1:
        raise DataError(f"nsim must be a positive integer (not {nsim!r})")
    gen = rng if rng is not None else RRNG(seed)
    if rng is not None and seed is not None:
        gen.set_seed(seed)
    elif rng is None and seed is None:
        gen.runif(1)
    t0 = _as_series(FUN(fit))
    sims = simulate(fit, nsim, use_u=use_u, rng=gen) if type == "parametric" else _semiparametric(fit, nsim, gen)
    rows = []
    fails = 0
    for k in range(nsim):
        y = sims.iloc[:, k].dropna().to_numpy()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows.append(_as_series(FUN(refit(y))).to_numpy())
        except (PyretermsError, ArithmeticError, np.linalg.LinAlgError):
            fails += 1
            rows.append(np.full(len(t0), np.nan))
    if fails:
        warnings.warn(f"some bootstrap runs failed ({fails}/{nsim})", LmeWarning, stacklevel=2)
    t = pd.DataFrame(np.vstack(rows), columns=t0.index)
    return BootResult(t0=t0, t=t, sims=sims, seed=gen.random_seed.copy(), n_fail=fails)


def sd_cor_stat(fit: FitLike) -> pd.Series:
    """R: ``confint.merMod``'s ``bootFun``: ``c(setNames(Cv_to_Sv(theta, lengths(cnms), sigma(fit)),
    profnames(fit)), fixef(fit))``."""
    th = np.asarray(fit.theta, dtype=np.float64)
    s = fit.sigma()
    out: list[float] = []
    pos = 0
    for _, cn in fit.lf.reTrms.cnms:
        k = len(cn)
        L = np.zeros((k, k))
        for c in range(k):
            for r in range(c, k):
                L[r, c] = th[pos]
                pos += 1
        V = L @ L.T
        sd = np.sqrt(np.diag(V))
        with np.errstate(all="ignore"):
            C = V / np.outer(sd, sd)
        for c in range(k):
            for r in range(c, k):
                out.append(sd[r] * s if r == c else C[r, c])
    out.append(s)
    names = [f".sig{i + 1:02d}" for i in range(len(th))] + [".sigma"]
    return pd.concat([pd.Series(out, index=names), fit.fixef()])


def norm_inter(t: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """R: ``boot:::norm.inter(t, alpha)[, 2]``: the alpha quantiles of ``t`` interpolated between
    order statistics on the normal-quantile scale."""
    t = np.sort(t[np.isfinite(t)])
    R = len(t)
    rk = (R + 1) * alpha
    if not np.all((rk > 1) & (rk < R)):
        warnings.warn("extreme order statistics used as endpoints", LmeWarning, stacklevel=3)
    k = np.trunc(rk).astype(int)
    out = np.empty(len(alpha))
    for i in range(len(alpha)):
        if k[i] == rk[i]:
            out[i] = t[k[i] - 1]
        elif k[i] == 0:
            out[i] = t[0]
        elif k[i] == R:
            out[i] = t[R - 1]
        else:
            q1, q2, q3 = qnorm_std(np.array([alpha[i], k[i] / (R + 1), (k[i] + 1) / (R + 1)]))
            tk, tk1 = t[k[i] - 1], t[k[i]]
            out[i] = tk + (q1 - q2) / (q3 - q2) * (tk1 - tk)
    return out


def _pct_names(level: float) -> list[str]:
    """R: ``paste(format(100 * a, trim = TRUE, scientific = FALSE, digits = 3), "%")``."""
    a = (1 - level) / 2
    vals = [100 * a, 100 * (1 - a)]
    for dec in range(0, 16):  # the fewest decimals giving 3 significant digits for the element needing most
        if all(float(f"{v:.{dec}f}") == float(f"{v:.3g}") for v in vals):
            return [f"{v:.{dec}f} %" for v in vals]
    return [f"{v} %" for v in vals]


def boot_ci(b: BootResult, level: float = 0.95, boot_type: str = "perc") -> pd.DataFrame:
    """R: ``lme4:::confint.bootMer(b, level, type)`` (``boot::boot.ci``'s percent / basic / normal)."""
    alpha = np.array([(1 - level) / 2, (1 + level) / 2])
    rows = []
    for j in range(len(b.t0)):
        t = b.t.iloc[:, j].to_numpy(dtype=float)
        t0 = float(b.t0.iloc[j])
        if boot_type == "perc":
            rows.append(norm_inter(t, alpha))
        elif boot_type == "basic":
            q = norm_inter(t, alpha[::-1])
            rows.append(2 * t0 - q)
        elif boot_type == "norm":
            tt = t[np.isfinite(t)]
            bias = float(np.mean(tt)) - t0
            merr = math.sqrt(float(np.var(tt, ddof=1))) * float(qnorm_std(np.array([(1 + level) / 2]))[0])
            rows.append(np.array([t0 - bias - merr, t0 - bias + merr]))
        else:
            raise DataError(f"boot_type must be 'perc', 'basic' or 'norm' (not {boot_type!r})")
    return pd.DataFrame(np.vstack(rows), index=list(b.t0.index), columns=_pct_names(level))


def confint_boot(fit: FitLike, refit: Callable[[np.ndarray], Any], nsim: int = 500, seed: int | None = None,
                 level: float = 0.95, boot_type: str = "perc", rng: RRNG | None = None) -> pd.DataFrame:
    """R: ``confint(fit, method = "boot", nsim, level, boot.type)`` (with ``set.seed(seed)`` before it):
    rows ``.sig01 .. .sigma`` then the fixed effects, columns ``"2.5 %" "97.5 %"``."""
    b = boot_mer(fit, sd_cor_stat, refit, nsim, seed, rng=rng)
    if b.t.isna().all().all():
        raise DataError("*all* bootstrap runs failed!")
    return boot_ci(b, level, boot_type)
