"""lme4's ``getME(fit, name)`` (R: ``lme4:::getME.merMod``, lme4 1.1-31), one definition for the LMM and
GLMM fits: the names read from the random-effects structure (``Zt``, ``Ztlist``, ``mmList``, ``Gp``, ``Tp``,
``ST``, ``A``, the dimensions ...) are computed here; each fit passes the names read from its own state
(``y``, ``mu``, ``u``, ``b``, ``L``, ``RX``, ``RZX``, ``beta``, ``Tlist``, ``devfun`` ...)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from math import comb
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from pyreterms.design.model import ReTrms
from pyreterms.errors import DataError

#: ``eval(formals(lme4:::getME.merMod)$name)``, lme4 1.1-31
GETME_NAMES = ("X", "Z", "Zt", "Ztlist", "mmList", "y", "mu", "u", "b", "Gp", "Tp", "L", "Lambda", "Lambdat", "Lind",
               "Tlist", "A", "RX", "RZX", "sigma", "flist", "fixef", "beta", "theta", "ST", "REML", "is_REML",
               "n_rtrms", "n_rfacs", "N", "n", "p", "q", "p_i", "l_i", "q_i", "k", "m_i", "m", "cnms", "devcomp",
               "offset", "lower", "devfun", "glmer.nb.theta")

#: the names each fit supplies from its own state
OWN_NAMES = ("X", "y", "mu", "u", "b", "L", "RX", "RZX", "sigma", "fixef", "beta", "Tlist", "REML", "is_REML",
             "offset", "devfun")


def match_name(name: str) -> str:
    """R: ``match.arg(name)``: an exact name, else the one name it is a prefix of; otherwise lme4's error."""
    if name in GETME_NAMES:
        return name
    hits = [n for n in GETME_NAMES if n.startswith(name)] if name else []
    if len(hits) == 1:
        return hits[0]
    raise DataError("'arg' should be one of " + ", ".join(f"\u201c{n}\u201d" for n in GETME_NAMES))


def getme(name: str, rt: ReTrms, theta: np.ndarray, theta_names: list[str], devcomp: dict[str, Any],
          own: Mapping[str, Callable[[], Any]]) -> Any:
    """R: ``getME(fit, name)``; ``own`` maps each of :data:`OWN_NAMES` to the fit's value."""
    name = match_name(name)
    if name in own:
        return own[name]()
    dims = devcomp["dims"]

    def lambdat() -> sp.csc_matrix:
        out = rt.Lambdat.copy()
        out.data = np.asarray(theta, dtype=np.float64)[np.asarray(rt.Lind)]
        return out

    def p_i() -> dict[str, int]:
        return {k: v.shape[1] for k, v in mm_list(rt).items()}

    def q_i() -> list[int]:
        pis, lis = list(p_i().values()), [f.nlevels for _, f in rt.flist]
        m = max(len(pis), len(lis))
        return [pis[i % len(pis)] * lis[i % len(lis)] for i in range(m)]

    table: dict[str, Callable[[], Any]] = {
        "Z": lambda: rt.Zt.T.tocsc(), "Zt": lambda: rt.Zt, "Ztlist": lambda: zt_list(rt),
        "mmList": lambda: mm_list(rt), "Gp": lambda: rt.Gp, "Tp": lambda: _Tp(rt), "Lind": lambda: rt.Lind,
        "Lambdat": lambdat, "Lambda": lambda: lambdat().T.tocsc(),
        "A": lambda: structural_product(lambdat(), rt.Zt), "flist": lambda: dict(rt.flist),
        "theta": lambda: pd.Series(theta, index=theta_names), "ST": lambda: _ST(own["Tlist"]()),
        "n_rtrms": lambda: len(rt.cnms), "n_rfacs": lambda: len(rt.flist), "N": lambda: dims["N"],
        "n": lambda: dims["n"], "p": lambda: dims["p"], "q": lambda: dims["q"], "p_i": p_i,
        "l_i": lambda: {f: fac.nlevels for f, fac in rt.flist}, "q_i": q_i, "k": lambda: len(rt.cnms),
        "m_i": lambda: {k: comb(v + 1, 2) for k, v in p_i().items()}, "m": lambda: dims["nth"],
        "cnms": lambda: list(rt.cnms), "devcomp": lambda: devcomp,
        "lower": lambda: pd.Series(rt.lower, index=theta_names), "glmer.nb.theta": lambda: np.nan,
    }
    return table[name]()


def zt_list(rt: ReTrms) -> dict[str, sp.csc_matrix] | list[tuple[str, sp.csc_matrix]]:
    """``getME(fit, "Ztlist")``: one block of rows of ``Zt`` per term column, named ``"g.column"``; a list of
    (name, block) pairs when names repeat (R's list keeps both, ``(1 | g) + (1 | g)``)."""
    Zt = rt.Zt.tocsr()
    names, mats = [], []
    for k, (g, cn) in enumerate(rt.cnms):
        for j, c in enumerate(cn):
            names.append(f"{g}.{c}")
            mats.append(Zt[np.arange(int(rt.Gp[k]) + j, int(rt.Gp[k + 1]), len(cn))].tocsc())
    pairs = list(zip(names, mats, strict=True))
    return dict(pairs) if len(set(names)) == len(names) else pairs


def mm_list(rt: ReTrms) -> dict[str, Any]:
    """``getME(fit, "mmList")``: each term's raw model matrix ``X_i`` in formula order."""
    byf = dict(zip(rt.formula_order, rt.terms, strict=True))
    return {byf[f].name: byf[f].Xi for f in rt.mmList_order()}


def _Tp(rt: ReTrms) -> pd.Series:  # noqa: N802 - R's name
    m = [comb(len(cn) + 1, 2) for _, cn in rt.cnms]
    return pd.Series(np.concatenate([[0], np.cumsum(m)]).astype(float), index=["beg__"] + [g for g, _ in rt.cnms])


def _ST(tlist: list[tuple[str, np.ndarray]]) -> list[tuple[str, np.ndarray]]:  # noqa: N802 - R's name
    """``ST``: each ``T`` with its columns divided by its diagonal, the diagonal kept (lme4's old form)."""
    out = []
    for g, T in tlist:
        d = np.diag(T).copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            S = T / d[None, :]
        np.fill_diagonal(S, d)
        out.append((g, S))
    return out


def structural_product(A: sp.csc_matrix, B: sp.csc_matrix) -> sp.csc_matrix:
    """``A %*% B`` with the *symbolic* sparsity pattern (CHOLMOD's ``ssmult``, as Matrix computes it):
    entries that are zero because a stored value is zero (theta on the boundary) stay stored."""
    pa, pb = A.copy(), abs(B).tocsc()
    pa.data = np.ones_like(pa.data)
    pattern = (pa @ pb).tocsc()
    pattern.sort_indices()
    val = (A @ B).tocsc()
    val.sort_indices()
    nr = pattern.shape[0]
    kp = np.repeat(np.arange(pattern.shape[1]), np.diff(pattern.indptr)) * nr + pattern.indices
    kv = np.repeat(np.arange(val.shape[1]), np.diff(val.indptr)) * nr + val.indices
    data = np.zeros(len(kp))
    data[np.searchsorted(kp, kv)] = val.data
    return sp.csc_matrix((data, pattern.indices, pattern.indptr), shape=pattern.shape)
