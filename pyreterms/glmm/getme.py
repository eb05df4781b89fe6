"""lme4's ``getME(fit, name)`` for a ``glmerMod`` (R: ``lme4:::getME.merMod``, lme4 1.1-31): every name
lme4 accepts, from the fit's final state (:class:`pyreterms.glmm.fit.GlmerFit`).  ``L`` and ``RZX`` are
unpermuted (lme4's follow CHOLMOD's fill-reducing permutation, the identity for one scalar term); ``RX`` is
lme4's upper-triangular factor.
"""
from __future__ import annotations

from collections.abc import Callable
from math import comb
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pyreterms.errors import DataError
from pyreterms.lmm.fit import structural_product


def getme(fit: Any, name: str) -> Any:
    """R: ``getME(fit, name)``."""
    rt = fit.glf.reTrms
    dc = fit.devcomp()
    tn = list(rt.theta_names())
    Lambdat = rt.Lambdat.copy()
    Lambdat.data = fit.theta[np.asarray(rt.Lind)].astype(np.float64)
    if name == "Ztlist":
        Zt = rt.Zt.tocsr()
        out: dict[str, sp.csc_matrix] = {}
        for k, (g, cn) in enumerate(rt.cnms):
            for j, c in enumerate(cn):
                out[f"{g}.{c}"] = Zt[np.arange(int(rt.Gp[k]) + j, int(rt.Gp[k + 1]), len(cn))].tocsc()
        return out
    if name in ("mmList", "p_i", "m_i"):
        byf = dict(zip(rt.formula_order, rt.terms, strict=True))
        mm = {byf[f].name: byf[f].Xi for f in rt.mmList_order()}
        if name == "mmList":
            return mm
        p_i = {k: v.shape[1] for k, v in mm.items()}
        return p_i if name == "p_i" else {k: comb(v + 1, 2) for k, v in p_i.items()}
    if name == "q_i":
        pis, lis = list(getme(fit, "p_i").values()), [f.nlevels for _, f in rt.flist]
        m = max(len(pis), len(lis))
        return [pis[i % len(pis)] * lis[i % len(lis)] for i in range(m)]
    simple: dict[str, Callable[[], Any]] = {
        "X": lambda: fit.glf.X.X, "Z": lambda: rt.Zt.T.tocsc(), "Zt": lambda: rt.Zt,
        "y": lambda: fit.glf.y, "mu": lambda: fit.mu, "u": lambda: fit.u, "b": lambda: fit.b.reshape(-1, 1),
        "Gp": lambda: rt.Gp, "Tp": lambda: _Tp(fit), "L": lambda: sp.csc_matrix(fit.L),
        "Lambda": lambda: Lambdat.T.tocsc(),
        "Lambdat": lambda: Lambdat, "Lind": lambda: rt.Lind, "Tlist": fit.Tlist,
        "A": lambda: structural_product(Lambdat, rt.Zt), "RX": lambda: fit.RX.T, "RZX": lambda: fit.RZX,
        "sigma": fit.sigma, "flist": lambda: dict(rt.flist), "fixef": fit.fixef, "beta": lambda: fit.beta,
        "theta": lambda: pd.Series(fit.theta, index=tn), "ST": lambda: _ST(fit), "REML": lambda: 0,
        "is_REML": lambda: False, "n_rtrms": lambda: len(rt.cnms), "n_rfacs": lambda: len(rt.flist),
        "N": lambda: dc["dims"]["N"], "n": lambda: dc["dims"]["n"], "p": lambda: dc["dims"]["p"],
        "q": lambda: dc["dims"]["q"], "k": lambda: len(rt.cnms), "m": lambda: dc["dims"]["nth"],
        "l_i": lambda: {f: fac.nlevels for f, fac in rt.flist}, "cnms": lambda: list(rt.cnms),
        "devcomp": lambda: dc, "offset": lambda: fit.glf.offset, "lower": lambda: pd.Series(rt.lower, index=tn),
        "devfun": lambda: fit.devfun, "glmer.nb.theta": lambda: np.nan,
    }
    if name not in simple:
        raise DataError(f"getME: unknown name {name!r} (lme4's names: {', '.join(GETME_NAMES)})")
    return simple[name]()


def _Tp(fit: Any) -> pd.Series:  # noqa: N802 - R's name
    m = [comb(len(cn) + 1, 2) for _, cn in fit.glf.reTrms.cnms]
    return pd.Series(np.concatenate([[0], np.cumsum(m)]).astype(float),
                     index=["beg__"] + [g for g, _ in fit.glf.reTrms.cnms])


def _ST(fit: Any) -> list[tuple[str, np.ndarray]]:  # noqa: N802 - R's name
    out = []
    for g, T in fit.Tlist():
        d = np.diag(T).copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            S = T / d[None, :]
        np.fill_diagonal(S, d)
        out.append((g, S))
    return out


#: ``eval(formals(lme4:::getME.merMod)$name)``, lme4 1.1-31
GETME_NAMES = ("X", "Z", "Zt", "Ztlist", "mmList", "y", "mu", "u", "b", "Gp", "Tp", "L", "Lambda", "Lambdat", "Lind",
               "Tlist", "A", "RX", "RZX", "sigma", "flist", "fixef", "beta", "theta", "ST", "REML", "is_REML",
               "n_rtrms", "n_rfacs", "N", "n", "p", "q", "p_i", "l_i", "q_i", "k", "m_i", "m", "cnms", "devcomp",
               "offset", "lower", "devfun", "glmer.nb.theta")
