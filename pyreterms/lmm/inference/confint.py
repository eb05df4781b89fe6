"""R: ``lme4:::confint.merMod`` (``method = "profile"`` -> ``profile`` + ``confint.thpr``; ``"Wald"``)
and ``confint.thpr`` for a linear mixed model (lme4 1.1-31).

The result is a DataFrame with R's row names (``.sig01``, ..., ``.sigma``, the fixed effects; with
``oldNames=False`` ``sd_(Intercept)|Subject``, ..., ``sigma``) and columns ``"2.5 %"``, ``"97.5 %"``
(R's ``format.perc(a, 3)``).  Wald intervals are NA (nan) for the variance parameters, as in lme4.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from pyreterms.design.model import FixedX, ReTrms
from pyreterms.errors import LmeMessage, LmeWarning, PyretermsError
from pyreterms.lmm.inference.fitview import InferenceFit
from pyreterms.lmm.inference.interpspline import SplineError
from pyreterms.lmm.inference.profile import Profile, get_which, profile
from pyreterms.lmm.inference.rformat import format_real
from pyreterms.lmm.inference.sdcor import prof_names
from pyreterms.rmath.qnorm import qnorm
from pyreterms.verbs.boot import confint_boot


class WaldFormula(Protocol):
    """What Wald intervals read of the formula stage (``lFormula`` / ``glFormula``)."""

    @property
    def reTrms(self) -> ReTrms: ...  # noqa: N802 - lme4's name

    @property
    def X(self) -> FixedX: ...  # noqa: N802 - lme4's name


class WaldFit(Protocol):
    """What Wald intervals read of a fit (an ``lmerMod`` or a ``glmerMod``)."""

    @property
    def lf(self) -> WaldFormula: ...

    def fixef(self) -> pd.Series: ...

    def vcov(self) -> pd.DataFrame: ...


class ConfintError(PyretermsError):
    """``confint`` refused its arguments."""


def format_perc(probs: Sequence[float], digits: int = 3) -> list[str]:
    """R: ``lme4:::format.perc`` = ``paste(format(100 * probs, trim = TRUE, digits = digits), "%")``."""
    return [s.strip() + " %" for s in format_real([100 * p for p in probs], digits)]


def confint(fit: InferenceFit, parm: Sequence[str | int] | str | None = None, level: float = 0.95,
            method: str = "profile", zeta: Sequence[float] | None = None, oldNames: bool = True,
            quiet: bool = False, nsim: int = 500, seed: int | None = None, boot_type: str = "perc",
            **profile_args: float | int) -> pd.DataFrame:
    """R: ``confint(fit, parm, level = 0.95, method = c("profile", "Wald", "boot"), zeta, oldNames)``.

    ``parm``: parameter names, ``"theta_"``/``"beta_"``, or R's 1-based positions.  ``profile_args``
    go to :func:`~pyreterms.lmm.inference.profile.profile` (``alphamax``, ``maxpts``, ``delta``, ...).
    ``method = "boot"``: ``bootMer`` with R's random numbers (``nsim``, ``seed``, ``boot_type``), then
    ``citab[parm, ]`` as ``confint.merMod`` does (:func:`pyreterms.verbs.boot.confint_boot`)."""
    if method not in ("profile", "Wald", "boot"):
        raise ConfintError("'arg' should be one of \u201cprofile\u201d, \u201cWald\u201d, \u201cboot\u201d "
                           f"(got {method!r})")
    if not 0 < level < 1:
        raise ConfintError(f"level must be in (0, 1), got {level!r}")
    vn = prof_names(fit.lf.reTrms.cnms, oldNames)
    an = vn + list(fit.lf.X.colnames)
    which = get_which(parm, len(vn), an)
    if method == "boot":
        citab = confint_boot(fit, fit.refit, nsim=nsim, seed=seed, level=level,  # type: ignore[arg-type]
                             boot_type=boot_type)
        return citab.iloc[which]
    if method == "Wald":
        return confint_wald(fit, parm, level, oldNames)
    if not quiet:
        warnings.warn("Computing profile confidence intervals ...", LmeMessage, stacklevel=2)
    pp = profile(fit, which=[w + 1 for w in which], signames=oldNames, **profile_args)  # type: ignore[arg-type]
    return confint_profile(pp, level=level, zeta=zeta)


def confint_wald(fit: WaldFit, parm: Sequence[str | int] | str | None = None, level: float = 0.95,
                 oldNames: bool = True, use_sc: bool = True) -> pd.DataFrame:
    """R: ``confint(fit, parm, level, method = "Wald", oldNames)``: ``fixef +- qnorm(a) * sqrt(diag(vcov))``,
    NA for the variance parameters (``profnames(fit, oldNames, useSc = devcomp$dims[["useSc"]])``: a GLMM
    without a scale parameter has no ``.sigma`` row)."""
    if not 0 < level < 1:
        raise ConfintError(f"level must be in (0, 1), got {level!r}")
    vn = prof_names(fit.lf.reTrms.cnms, oldNames)
    if not use_sc:
        vn = vn[:-1]
    which = get_which(parm, len(vn), vn + list(fit.lf.X.colnames))
    a = (1 - level) / 2
    probs = [a, 1 - a]
    q = np.asarray(qnorm(np.array(probs)), dtype=float)
    cf = fit.fixef()
    ses = np.sqrt(np.diag(fit.vcov().to_numpy()))
    ci = np.vstack([np.full((len(vn), 2), np.nan), cf.to_numpy()[:, None] + ses[:, None] * q[None, :]])
    names = vn + list(cf.index)
    out = pd.DataFrame(ci, index=names, columns=format_perc(probs))
    return out.iloc[which]


def _approx(x: np.ndarray, y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """R: ``approxfun(x, y)(v)`` (linear, NA outside the range; ties averaged as R's ``mean``)."""
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    ux = np.unique(x)
    if ux.size < x.size:
        warnings.warn("collapsing to unique 'x' values", LmeWarning, stacklevel=3)
    uy = np.array([y[x == u].mean() for u in ux])
    return np.where((v < ux[0]) | (v > ux[-1]), np.nan, np.interp(v, ux, uy))


def confint_profile(pp: Profile, parm: Sequence[str | int] | str | None = None, level: float = 0.95,
                    zeta: Sequence[float] | None = None, non_mono_tol: float = 1e-2) -> pd.DataFrame:
    """R: ``confint.thpr(object, parm, level, zeta, non.mono.tol)``."""
    bnms = list(pp.backward)
    if parm is None:
        names = bnms
    elif isinstance(parm, str):
        if parm == "theta_":
            names = [b for b in bnms if b.startswith(("sd_", "cor_", ".sig")) or b == "sigma"]
        elif parm == "beta_":
            names = [b for b in bnms if not (b.startswith(("sd_", "cor_", ".sig")) or b == "sigma")]
        else:
            names = [parm] if parm in bnms else []
    elif all(isinstance(p, int) for p in parm):
        names = [bnms[int(p) - 1] for p in parm]
    else:
        names = [b for b in dict.fromkeys(str(p) for p in parm) if b in bnms]
    if zeta is None:
        a = (1 - level) / 2
        probs = [a, 1 - a]
        z = np.asarray(qnorm(np.array(probs)), dtype=float)
        cols = format_perc(probs)
    else:
        z = np.asarray(zeta, dtype=float)
        cols = [str(i + 1) for i in range(len(z))]  # R: no column names (NULL); numbered here
    ci = np.full((len(names), len(z)), np.nan)
    tab = pp.table
    for i, nm in enumerate(names):
        b = pp.backward[nm]
        bad = False
        p = np.full(len(z), np.nan)
        if not isinstance(b, SplineError):
            p = b.predict(z)
        else:
            sub = tab[tab[".par"] == nm]
            zz = sub[".zeta"].to_numpy(dtype=float)
            if np.all(np.isnan(zz)):
                bad = True
                warnings.warn(f"bad profile for {nm}", LmeWarning, stacklevel=2)
            elif np.any(np.diff(zz)[~np.isnan(np.diff(zz))] < -non_mono_tol):
                bad = True
                warnings.warn(f"non-monotonic profile for {nm}", LmeWarning, stacklevel=2)
            else:
                warnings.warn(f"bad spline fit for {nm}: falling back to linear interpolation", LmeWarning,
                              stacklevel=2)
                p = _approx(zz, sub[nm].to_numpy(dtype=float), z)
        if not bad:
            # R: lower[i] / upper[i], indexed by the position in parm (NA past the variance parameters)
            if np.isnan(p[0]):
                p[0] = pp.lower[i] if i < len(pp.lower) else np.nan
            if np.isnan(p[-1]):
                p[-1] = pp.upper[i] if i < len(pp.upper) else np.nan
        ci[i] = p
    return pd.DataFrame(ci, index=names, columns=cols)


__all__ = ["confint", "confint_profile", "format_perc", "ConfintError"]
