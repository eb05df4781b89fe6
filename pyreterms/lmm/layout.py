"""The layout of the random-effects terms in ``Zt``/``Lambdat``: rows, levels, components and the
template positions of theta in each term's block of Lambda.

R equivalent: what ``lme4::mkReTrms`` stores in ``Gp``, ``Lind`` and ``Lambdat`` (lme4 1.1-31,
``R/utilities.R``); MixedModels.jl keeps the same per term in its ``ReMat``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True, eq=False)
class TermLayout:
    """One random-effects term: rows ``start:stop`` of Zt, ``nl`` levels x ``nc`` components
    (level-major), and the template positions: ``T[tmpl_rows, tmpl_cols] = theta[tmpl_theta]``."""

    start: int
    stop: int
    nc: int
    nl: int
    tmpl_rows: np.ndarray
    tmpl_cols: np.ndarray
    tmpl_theta: np.ndarray

    @property
    def q(self) -> int:
        return self.stop - self.start


def infer_terms(Lambdat: sp.csc_matrix, Lind: np.ndarray, Gp: np.ndarray,
                nc: tuple[int, ...] | None = None) -> tuple[TermLayout, ...]:
    """Per-term structure from (Lambdat, Lind, Gp) (R: what ``mkReTrms`` put there).

    ``nc_k`` = the p with p(p+1)/2 distinct theta indices in the term (or given); every level block
    must repeat the template of the first (lme4's ``Lambdat`` always does)."""
    q = Lambdat.shape[0]
    cols = np.repeat(np.arange(q), np.diff(Lambdat.indptr))
    rows = Lambdat.indices.astype(np.int64)
    if Lind.shape[0] != rows.shape[0]:
        raise ValueError("length(Lind) != nnz(Lambdat)")
    term_of = np.searchsorted(Gp, cols, side="right") - 1
    out = []
    for k in range(len(Gp) - 1):
        sel = term_of == k
        start, stop = int(Gp[k]), int(Gp[k + 1])
        if nc is not None:
            nck = int(nc[k])
        else:
            m = np.unique(Lind[sel]).size
            nck = int(round((np.sqrt(8 * m + 1) - 1) / 2))
            if nck * (nck + 1) // 2 != m:
                raise ValueError(f"term {k}: {m} theta values is not p(p+1)/2")
        if nck < 1 or (stop - start) % nck:
            raise ValueError(f"term {k}: Gp block of {stop - start} rows is not a multiple of nc={nck}")
        nl = (stop - start) // nck
        r, c, th = rows[sel] - start, cols[sel] - start, Lind[sel]
        if np.any(r < 0) or np.any(r // nck != c // nck):
            raise ValueError(f"term {k}: Lambdat is not block diagonal by level")
        cnt = r.size // nl
        if cnt * nl != r.size:
            raise ValueError(f"term {k}: level blocks of Lambdat differ")
        rr, cc, tt = (r % nck).reshape(nl, cnt), (c % nck).reshape(nl, cnt), th.reshape(nl, cnt)
        if not (np.all(rr == rr[0]) and np.all(cc == cc[0]) and np.all(tt == tt[0])):
            raise ValueError(f"term {k}: level blocks of Lambdat differ")
        # Lambdat[r, c] = theta  <=>  Lambda[c, r] = T[c, r]
        out.append(TermLayout(start, stop, nck, nl, cc[0].copy(), rr[0].copy(), tt[0].copy()))
    return tuple(out)


__all__ = ["TermLayout", "infer_terms"]
