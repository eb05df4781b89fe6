"""Pictures for the walkthrough (matplotlib, Agg backend): sparsity of Zt, Lambdat and L; per-group
data with population and group-level fitted lines (single-slope models, as in lme4's usual
sleepstudy figure); a caterpillar plot of ``ranef`` with conditional-variance intervals
(R: ``lattice::dotplot(ranef(fit, condVar = TRUE))``)."""
from __future__ import annotations

import os
from types import ModuleType

import numpy as np
import scipy.sparse as sp

from pyreterms.design.model import LFormula
from pyreterms.lmm.fit import LmerFit

from .condvar import post_var

MAX_PANELS = 24  # groups shown in the per-group figure
MAX_LEVELS = 100  # levels shown in the caterpillar plot


def _plt() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend, imported on first use (matplotlib is the optional
    ``explain`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _spy(M: sp.spmatrix, title: str, path: str) -> None:
    plt = _plt()
    M = sp.csc_matrix(M)
    nr, nc = M.shape
    fig, ax = plt.subplots(figsize=(min(12, 2 + nc / 12), min(8, 1.5 + nr / 10)) if nc > nr else (6, 6))
    ax.spy(M, markersize=max(1.0, min(6.0, 300 / max(nr, nc))), aspect="auto" if nc > 3 * nr else "equal")
    ax.set_title(f"{title}: {nr} x {nc}, {M.nnz} stored entries", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _single_slope(lf: LFormula) -> tuple[str, str] | None:
    """(group, slope column) when the model is y ~ x + (x | g) with a numeric x, else None."""
    rt = lf.reTrms
    if len(rt.terms) != 1:
        return None
    cn = rt.cnms[0][1]
    if len(cn) != 2 or cn[0] != "(Intercept)" or tuple(lf.X.colnames) != cn:
        return None
    try:
        x = lf.fr.get(cn[1])
    except KeyError:
        return None
    if not isinstance(x, np.ndarray) or x.ndim != 1:
        return None
    return rt.cnms[0][0], cn[1]


def _groups_plot(lf: LFormula, fit: LmerFit, path: str) -> str | None:
    ss = _single_slope(lf)
    if ss is None:
        return "per-group fitted lines: only drawn for a single-slope model y ~ x + (x | g) with numeric x"
    g, xname = ss
    plt = _plt()
    fr = lf.fr
    x, y = np.asarray(fr.get(xname), dtype=float), np.asarray(lf.y, dtype=float)
    fac = lf.reTrms.flist[0][1]
    co = fit.coef()[g]
    beta = fit.fixef().to_numpy()
    levels = list(fac.levels)[:MAX_PANELS]
    ncol = min(6, len(levels))
    nrow = -(-len(levels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.2 * ncol, 2.0 * nrow + 0.6), sharex=True, sharey=True,
                             squeeze=False)
    xs = np.linspace(np.min(x), np.max(x), 20)
    for k, lev in enumerate(levels):
        ax = axes[k // ncol][k % ncol]
        rows = fac.codes == list(fac.levels).index(lev)
        ax.plot(x[rows], y[rows], "o", ms=3, color="#1f4e79")
        ax.plot(xs, beta[0] + beta[1] * xs, "--", color="#888888", lw=1, label="population (fixef)")
        c = co.loc[lev].to_numpy()
        ax.plot(xs, c[0] + c[1] * xs, "-", color="#c0392b", lw=1.2, label=f"{g} (coef)")
        ax.set_title(f"{g} {lev}", fontsize=8)
    for k in range(len(levels), nrow * ncol):
        axes[k // ncol][k % ncol].set_visible(False)
    axes[0][0].legend(fontsize=6, loc="upper left")
    more = "" if len(levels) == fac.nlevels else f" (first {len(levels)} of {fac.nlevels} levels)"
    fig.suptitle(f"{lf.formula}: data, population line and per-{g} lines{more}", fontsize=9)
    fig.supxlabel(xname, fontsize=8)
    fig.supylabel(fr.names[0], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return None


def _caterpillar(lf: LFormula, fit: LmerFit, path: str) -> str:
    plt = _plt()
    rt = lf.reTrms
    pv = post_var(fit)
    bb = np.asarray(fit.getME("b"), dtype=float).ravel()
    panels = []
    for k, t in enumerate(rt.terms):
        g = rt.flist[rt.assign[k]][0]
        key = g if g in pv else f"{g}.{k + 1}"
        blk = bb[int(rt.Gp[k]):int(rt.Gp[k + 1])].reshape(t.nl, t.nc)
        for c, cn in enumerate(t.cnms):
            panels.append((f"{g}: {cn}", blk[:, c], np.sqrt(pv[key][c, c, :]), list(t.ff.levels)))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 1.2 + 0.14 * min(MAX_LEVELS, max(
        len(p[1]) for p in panels))), squeeze=False)
    for ax, (title, val, sd, levels) in zip(axes[0], panels, strict=False):
        order = np.argsort(val)[:MAX_LEVELS] if len(val) <= MAX_LEVELS else np.argsort(val)[
            np.linspace(0, len(val) - 1, MAX_LEVELS).astype(int)]
        pos = np.arange(len(order))
        ax.errorbar(val[order], pos, xerr=1.959964 * sd[order], fmt="o", ms=3, color="#1f4e79", ecolor="#7f8c8d",
                    elinewidth=1)
        ax.axvline(0, color="#888888", lw=0.8)
        ax.set_yticks(pos)
        ax.set_yticklabels([levels[i] for i in order], fontsize=6)
        ax.set_title(title, fontsize=9)
    fig.suptitle("ranef with 95% intervals from the conditional variances", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return ("caterpillar: conditional variances computed from public objects (sigma^2 Lambda (L L')^-1 "
            "Lambda', diagonal blocks), as lme4's ranef(fit, condVar = TRUE) gives them; pyreterms' ranef "
            "has no condVar")


def write_plots(lf: LFormula, fit: LmerFit, outdir: str) -> tuple[list[tuple[str, str]], list[str]]:
    """Write the pictures of the model ``lf`` fitted as ``fit`` to ``outdir``; returns ([(name, path)],
    notes on what was skipped or how)."""
    os.makedirs(outdir, exist_ok=True)
    made: list[tuple[str, str]] = []
    notes: list[str] = []
    rt = lf.reTrms
    for name, M, title in (("Zt", rt.Zt, "Zt"), ("Lambdat", fit.getME("Lambdat"), "Lambdat at the fitted theta"),
                           ("L", sp.tril(sp.csc_matrix(fit.getME("L"))), "L (natural order) at the fitted theta")):
        path = os.path.join(outdir, f"sparsity_{name}.png")
        _spy(M, title, path)
        made.append((f"sparsity of {title}", path))
    path = os.path.join(outdir, "groups_fitted.png")
    why = _groups_plot(lf, fit, path)
    if why:
        notes.append(why)
    else:
        made.append(("data with population and group-level fitted lines", path))
    path = os.path.join(outdir, "ranef_caterpillar.png")
    notes.append(_caterpillar(lf, fit, path))
    made.append(("caterpillar plot of ranef", path))
    return made, notes
