"""R: ``lme4:::profile.merMod`` for a linear mixed model (lme4 1.1-31, ``prof.scale = "sdcor"``): the
likelihood profile of every parameter on lme4's scale (``.sig01``..., ``.sigma``, the fixed effects),
with lme4's grid rules and the interpolation splines that ``confint`` inverts.

* ``devfun2``: the ML deviance as a function of (sd/cor parameters, sigma) of the ML refit
  (``refitML``; see :mod:`.refit` for how our refit relates to lme4's minqa one).
* variance parameters: for each, starting at 1.01 x its estimate (0.001 when it is 0), steps of
  ``delta`` in zeta (``nextpar``: secant step, capped at ``maxmult`` times the last move, ``minstep``
  when the profile is flat or decreasing), each point re-optimizing the other parameters with
  ``nloptwrap`` from the previous point's values (``startmethod = "prev"``), within the bounds, until
  ``|zeta| > sqrt(qchisq(1 - alphamax, nptot))`` or a bound or ``maxpts`` rows.
* fixed effects: the column held fixed as an offset, the deviance optimized over theta from the
  ML theta, first step ``delta`` standard errors.
* ``interpSpline(.zeta ~ par)`` and ``backSpline`` of it per parameter (:mod:`.interpspline`).
"""
from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pyreterms.errors import LmeWarning, PyretermsError
from pyreterms.lmm.deviance import LmerProblem, PLSState, Workspace
from pyreterms.lmm.inference.fitview import InferenceFit
from pyreterms.lmm.inference.interpspline import PolySpline, SplineError, back_spline, interp_spline
from pyreterms.lmm.inference.refit import refit_ml
from pyreterms.lmm.inference.sdcor import cv_to_sv, prof_names, sv_to_cv
from pyreterms.lmm.optimize import nloptwrap


class ProfileError(PyretermsError):
    """``profile`` stopped (lme4's message)."""


@dataclass(frozen=True)
class Profile:
    """R: a ``thpr`` object.  ``table``: the rows R returns (``.zeta``, every parameter, ``.par``);
    ``forward``/``backward``: per profiled parameter the spline ``.zeta ~ par`` and its inverse, or the
    :class:`SplineError` R caught; ``lower``/``upper``: bounds of the profiled variance parameters."""

    table: pd.DataFrame
    forward: dict[str, PolySpline | SplineError]
    backward: dict[str, PolySpline | SplineError]
    lower: np.ndarray
    upper: np.ndarray


@dataclass
class _Dev2:
    """R: ``devfun2(fm)`` for an LMM: ML deviance of (sd/cor..., sigma); keeps the last PLS state."""

    prob: LmerProblem
    ncs: tuple[int, ...]
    state: PLSState | None = None

    def __call__(self, pars: np.ndarray) -> float:
        sigma = float(pars[-1])
        th = sv_to_cv(pars, self.ncs, sigma)
        s = self.prob.solve(th)
        self.state = s
        n = self.prob.n
        return float(s.ldL2 - self.prob.ldW + s.pwrss / sigma ** 2 + n * np.log(2 * np.pi * sigma ** 2))


def get_which(which: Sequence[str | int] | str | None, nvp: int, names: list[str]) -> list[int]:
    """R: ``lme4:::get.which`` -> 0-based positions (ints given are R's 1-based positions)."""
    nptot = len(names)
    if which is None:
        return list(range(nptot))
    wh = [which] if isinstance(which, str) else list(which)
    if all(isinstance(w, (int, np.integer)) and not isinstance(w, bool) for w in wh):
        out = [int(w) - 1 for w in wh]
        if any(not 0 <= w < nptot for w in out):
            raise ProfileError(f"parameter positions must be in 1..{nptot}")
        return out
    strs = [str(w) for w in wh]
    wi: set[int] = set()
    if "theta_" in strs:
        wi |= set(range(nvp))
    if "beta_" in strs and nptot > nvp:
        wi |= set(range(nvp, nptot))
    wi |= {i for i, nm in enumerate(names) if nm in strs}
    if not wi:
        warnings.warn(f"Nothing selected by 'which={strs!r}'", LmeWarning, stacklevel=3)
    return sorted(wi)


def _nextpar(mat: np.ndarray, cc: int, r: int, absstep: float, lower: float, upper: float,
             maxmult: float, minstep: float = 1e-6) -> float:
    """R: ``nextpar`` inside ``profile.merMod`` (rows r-1, r; 0-based r)."""
    pvals = mat[r - 1:r + 1, cc]
    zeta = mat[r - 1:r + 1, 0]
    num = pvals[1] - pvals[0]
    denom = zeta[1] - zeta[0]
    if np.isnan(denom) or denom == 0:
        warnings.warn("Last two rows have identical or NA .zeta values: using minstep", LmeWarning, stacklevel=4)
        step = minstep
    else:
        step = absstep * num / denom
        if step < 0:
            warnings.warn("unexpected decrease in profile: using minstep", LmeWarning, stacklevel=4)
            step = minstep
        elif r > 0:  # R: r > 1 with 1-based rows
            maxstep = abs(maxmult * num)
            if abs(step) > maxstep:
                step = float(np.sign(step)) * maxstep
    return float(min(upper, max(lower, pvals[1] + np.sign(num) * step)))


def _fillmat(mat: np.ndarray, lowcut: float, upcut: float, zetafun: Callable[[float, np.ndarray], np.ndarray],
             cc: int, cutoff: float, delta: float, maxmult: float, others: np.ndarray) -> np.ndarray:
    """R: ``fillmat`` (startmethod "prev": the next start is row i's other parameters)."""
    nr = mat.shape[0]
    i = 1  # R's i <- 2L
    while (i < nr - 1 and lowcut < mat[i, cc] < upcut
           and (np.isnan(mat[i, 0]) or abs(mat[i, 0]) <= cutoff)):
        npar = _nextpar(mat, cc, i, delta, lowcut, upcut, maxmult)
        mat[i + 1] = zetafun(npar, mat[i, 1 + others])
        i += 1
    return mat


def _unique_rows(m: np.ndarray) -> np.ndarray:
    """R: ``unique()`` of a matrix's rows (first occurrences, in order; NA equal to NA)."""
    seen: set[bytes] = set()
    keep = []
    for i, row in enumerate(m):
        k = np.where(np.isnan(row), np.nan, row + 0.0).tobytes()
        if k not in seen:
            seen.add(k)
            keep.append(i)
    return m[keep]


def _splines(bres: np.ndarray, col: int, drop_na: bool) -> tuple[PolySpline | SplineError, PolySpline | SplineError]:
    x, z = bres[:, col], bres[:, 0]
    fwd: PolySpline | SplineError
    try:
        if not drop_na and (np.isnan(x).any() or np.isnan(z).any()):
            raise SplineError("missing values in object")  # R: na.fail in interpSpline
        fwd = interp_spline(x, z)
        return fwd, back_spline(fwd)
    except SplineError as e:
        fwd = fwd if "fwd" in locals() else e
        return fwd, e


def profile(fit: InferenceFit, which: Sequence[str | int] | str | None = None, alphamax: float = 0.01,
            maxpts: int = 100, delta: float | None = None, delta_cutoff: float = 1 / 8, devtol: float = 1e-9,
            maxmult: float = 10, signames: bool = True) -> Profile:
    """R: ``profile(fit, which, alphamax, maxpts, delta, delta.cutoff, devtol, maxmult, signames)``."""
    fm = refit_ml(fit)
    rt = fm.lf.reTrms
    ncs = tuple(len(cn) for _, cn in rt.cnms)
    prob = fm.problem
    p = prob.p
    base = -2 * fm.logLik()
    thopt = np.array(fm.theta, dtype=float)
    stderr = np.sqrt(np.diag(fm.vcov().to_numpy())) if p else np.zeros(0)
    vnames = prof_names(rt.cnms, signames)
    names = vnames + list(fm.lf.X.colnames)
    opt = np.concatenate([cv_to_sv(thopt, ncs, fm.sigma()), np.asarray(fm.state.beta, dtype=float)])
    nvp = len(vnames)
    wh = get_which(which, nvp, names)
    from scipy.stats import chi2  # here, not at import: scipy.stats costs ~0.4 s of `import pyreterms`

    cutoff = float(np.sqrt(chi2.ppf(1 - alphamax, len(opt))))
    if delta is None:
        delta = cutoff * delta_cutoff
    flower = np.asarray(rt.lower, dtype=float)
    lower = np.concatenate([np.maximum(flower, -1), [0.0], np.full(p, -np.inf)])
    upper = np.concatenate([np.where(flower == 0, np.inf, 1.0), [np.inf], np.full(p, np.inf)])
    dd = _Dev2(dataclasses.replace(prob, ws=Workspace()), ncs)
    with np.errstate(all="ignore"):
        if not np.isclose(dd(opt[:nvp]), base, rtol=1e-5, atol=0):
            raise ProfileError("Profiling over both the residual variance and fixed effects is not numerically "
                               "consistent with profiling over the fixed effects only")
        res = np.tile(np.concatenate([[0.0], opt]), (maxpts, 1))
        tables: list[pd.DataFrame] = []
        fwd: dict[str, PolySpline | SplineError] = {}
        bak: dict[str, PolySpline | SplineError] = {}
        for w in [w for w in wh if w < nvp]:
            tab, fwd[names[w]], bak[names[w]] = _profile_vp(dd, w, opt, nvp, res, lower, upper, base,
                                                             devtol, cutoff, delta, maxmult, names)
            tables.append(tab)
        for w in [w for w in wh if w >= nvp]:
            tab, fwd[names[w]], bak[names[w]] = _profile_fe(fm, w - nvp, opt, nvp, stderr, res, base, thopt,
                                                             cutoff, delta, maxmult, names, ncs)
            tables.append(tab)
    for nm, b in bak.items():
        if isinstance(b, SplineError):
            warnings.warn(f"non-monotonic profile for {nm}", LmeWarning, stacklevel=2)
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=[".zeta"] + names + [".par"])
    vp = [w for w in wh if w < nvp]
    return Profile(table=table, forward=fwd, backward=bak, lower=lower[vp], upper=upper[vp])


def _finish(mat_up: np.ndarray, mat_lo: np.ndarray, col: int, name: str, names: list[str],
            drop_na: bool) -> tuple[pd.DataFrame, PolySpline | SplineError, PolySpline | SplineError]:
    bres = _unique_rows(np.vstack([mat_up, mat_lo]))
    bres = bres[np.argsort(bres[:, col], kind="stable")]  # R's order(): NA last
    f, b = _splines(bres, col, drop_na)
    tab = pd.DataFrame(bres, columns=[".zeta"] + names)
    tab[".par"] = name
    return tab, f, b


def _profile_vp(dd: _Dev2, w: int, opt: np.ndarray, nvp: int, res: np.ndarray, lower: np.ndarray,
                upper: np.ndarray, base: float, devtol: float, cutoff: float, delta: float, maxmult: float,
                names: list[str]) -> tuple[pd.DataFrame, PolySpline | SplineError, PolySpline | SplineError]:
    """One variance parameter (``FUN(w)`` in profile.merMod)."""
    pw = opt[w]
    others = np.array([i for i in range(nvp) if i != w])
    lowvp, upvp = lower[:nvp][others], upper[:nvp][others]

    def zeta(xx: float, start: np.ndarray) -> np.ndarray:
        def mk(x: np.ndarray) -> np.ndarray:
            par = np.empty(nvp)
            par[w] = xx
            par[others] = x
            return par

        o = nloptwrap(lambda x: dd(mk(x)), np.asarray(start, dtype=float), lowvp, upper=upvp)
        pars = np.asarray(o["par"], dtype=float)
        devdiff = float(o["fval"]) - base
        dd(mk(pars))  # R's optwrap ends with fn(opt$par): beta is read from that state
        if np.isnan(devdiff):
            warnings.warn("NAs detected in profiling", LmeWarning, stacklevel=4)
        else:
            if devdiff < -devtol:
                raise ProfileError("profiling detected new, lower deviance")
            if devdiff < 0:
                warnings.warn(f"slightly lower deviances (diff={devdiff:g}) detected", LmeWarning, stacklevel=4)
        zz = np.sign(xx - pw) * np.sqrt(max(0.0, devdiff))
        assert dd.state is not None
        return np.concatenate([[zz], mk(pars), dd.state.beta])

    pres, nres = res.copy(), res.copy()
    shift = 0.001 if pw == 0 else pw * 1.01
    nres[0] = pres[1] = zeta(shift, opt[others])
    upperf = _fillmat(pres, lower[w], upper[w], zeta, w + 1, cutoff, delta, maxmult, others)
    lowerf = _fillmat(nres, lower[w], upper[w], zeta, w + 1, cutoff, delta, maxmult, others) if pw > lower[w] else nres
    return _finish(upperf, lowerf, w + 1, names[w], names, drop_na=True)


def _profile_fe(fm: InferenceFit, j: int, opt: np.ndarray, nvp: int, stderr: np.ndarray, res: np.ndarray,
                base: float, thopt: np.ndarray, cutoff: float, delta: float, maxmult: float, names: list[str],
                ncs: tuple[int, ...]) -> tuple[pd.DataFrame, PolySpline | SplineError, PolySpline | SplineError]:
    """One fixed effect (the ``for (j in fp)`` loop of profile.merMod)."""
    pr, rt = fm.problem, fm.lf.reTrms
    est, std = opt[nvp + j], stderr[j]
    Xw = pr.X[:, j]
    Xdrop = np.delete(pr.X, j, axis=1)
    n, p = pr.n, pr.p
    flower = np.asarray(rt.lower, dtype=float)

    def fe_zeta(fw: float, start: np.ndarray | None = None) -> np.ndarray:
        prob = LmerProblem.build(Xdrop, pr.y, pr.Zt, pr.Lambdat, pr.Lind, pr.Gp, pr.weights,
                                 pr.offset + Xw * fw, REML=False, nc=ncs)
        o = nloptwrap(prob.deviance, thopt, flower)
        par = np.asarray(o["par"], dtype=float)
        st = prob.solve(par)
        sig = float(np.sqrt(st.pwrss / n))
        beta = np.empty(p)
        beta[j] = fw
        beta[np.arange(p) != j] = st.beta
        zz = np.sign(fw - est) * np.sqrt(float(o["fval"]) - base)  # no max(0): R gives NaN below base
        return np.concatenate([[zz], cv_to_sv(par, ncs, sig), beta])

    pres, nres = res.copy(), res.copy()
    nres[0] = pres[1] = fe_zeta(est + delta * std)
    poff = nvp + 1 + j
    no = np.arange(0)  # the fixed-effect profile ignores the start (always thopt)
    upperf = _fillmat(pres, -np.inf, np.inf, fe_zeta, poff, cutoff, delta, maxmult, no)
    lowerf = _fillmat(nres, -np.inf, np.inf, fe_zeta, poff, cutoff, delta, maxmult, no)
    return _finish(upperf, lowerf, poff, names[nvp + j], names, drop_na=False)


__all__ = ["profile", "Profile", "ProfileError", "get_which"]
