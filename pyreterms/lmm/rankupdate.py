"""Precomputed rank updates ``L_j0 L_k0^T`` for a scalar first term (the fill-in source of a
crossed design), specialised by level weight.

With a scalar first term, ``L_j0 = Lambda_j^T Z_j^T W Z_0 Lambda_0 L_00^{-T}`` and
``L_00 = diag(sqrt(a0 s^2 + 1))`` (``a0`` = the diagonal of ``Z_0^T W Z_0``, ``s`` = theta of term 0),
so (JSS paper eq. 18, the Schur complement of block 0)

    L_j0 L_k0^T = Lambda_j^T (sum_u r_u^2 a_ju a_ku^T) Lambda_k,   r_u = s / sqrt(a0_u s^2 + 1),

where ``a_ju`` is column u of ``A_j0 = Z_j^T W Z_0``.  ``r_u`` depends on u only through ``a0_u``,
so levels with equal ``a0`` (equal counts, unweighted) share one weight and their outer products are
summed once, at build time.  Levels with few pairs ("light") are kept as a sparse pair matrix
``C`` (positions x weight groups): one sparse mat-vec per evaluation.  Levels with many pairs
("heavy": cheaper as dense BLAS than as scattered updates, or beyond the memory cap) are kept as
dense columns and updated with one GEMM.  MixedModels.jl does the same update with a sparse
``rankUpdate!``; R (CHOLMOD) refactors the whole sparse matrix.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas

#: dense GEMM cost per level in units of scattered pair updates (~1.5 ns/pair vs ~40 GFlop/s)
_GEMM_PAIRS_PER_ENTRY = 1.0 / 30.0


@dataclass(frozen=True, eq=False)
class Block0RankUpdate:
    """``sum_u r_u^2 a_ju a_ku^T`` as a dense ``q_j x q_k`` array, for any ``s``.

    ``C`` (light levels) maps weight groups (``group_a0``) to the row-major positions ``pos`` that
    occur (only ``i <= l`` when ``upper``; rows of C = entries of pos, so one mat-vec touches only
    the pattern); ``Dj``/``Dk`` hold the heavy levels' columns densely (``heavy_a0``)."""

    qj: int
    qk: int
    upper: bool
    group_a0: np.ndarray
    C: sp.csr_matrix | None
    heavy_a0: np.ndarray
    Dj: np.ndarray | None
    Dk: np.ndarray | None
    pos: np.ndarray | None = None  # row-major positions of C's rows (sorted, unique)

    @property
    def nnz(self) -> int:
        return 0 if self.C is None else int(self.C.nnz)

    def light_values(self, s: float) -> np.ndarray:
        """The light levels' update at ``pos`` (one sparse mat-vec over the pattern only)."""
        r = s / np.sqrt(self.group_a0 * (s * s) + 1.0)  # r_u as in update_L's column 0
        assert self.C is not None, "no light levels"
        return self.C @ (r * r)

    def product(self, s: float) -> np.ndarray:
        """The dense update at ``s`` (rows of the upper triangle only when ``upper`` and no heavy
        levels; with heavy levels the full matrix is valid)."""
        out = None
        if self.C is not None:
            out = np.zeros((self.qj, self.qk))
            out.ravel()[self.pos] = self.light_values(s)
        out = self.add_heavy(out, s)
        return out if out is not None else np.zeros((self.qj, self.qk))

    def add_heavy(self, out: np.ndarray | None, s: float) -> np.ndarray | None:
        """``out`` (C-ordered qj x qk, or None) plus the heavy levels' dense update at ``s``."""
        if self.Dj is not None:
            r = s / np.sqrt(self.heavy_a0 * (s * s) + 1.0)
            if self.upper and self.Dk is None:  # BLAS dsyrk into the upper triangle, in place
                if out is None:
                    out = np.zeros((self.qj, self.qk))
                blas.dsyrk(1.0, self.Dj * r, beta=1.0, c=out.T, lower=1, overwrite_c=1)
            else:
                H = (self.Dj * (r * r)) @ (self.Dj if self.Dk is None else self.Dk).T
                if out is None:
                    out = H
                else:
                    out += H
        return out


def _pairs(Aj: sp.csc_matrix, Ak: sp.csc_matrix, cols: np.ndarray, grp: np.ndarray,
           upper: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(position, group, product) of every nonzero pair in the given level columns."""
    nj = np.diff(Aj.indptr)[cols]
    nk = np.diff(Ak.indptr)[cols]
    cnt = nj * nk
    total = int(cnt.sum())
    u = np.repeat(np.arange(cols.size), cnt)
    r = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    nku = np.maximum(nk[u], 1)
    ej = Aj.indptr[cols[u]] + r // nku
    ek = Ak.indptr[cols[u]] + r % nku
    i, c = Aj.indices[ej].astype(np.int64), Ak.indices[ek].astype(np.int64)  # row in term j, column in term k
    val = Aj.data[ej] * Ak.data[ek]
    g = grp[u]
    if upper:
        keep = i <= c
        i, c, val, g = i[keep], c[keep], val[keep], g[keep]
    return i * Ak.shape[0] + c, g, val


def _pairs_sym(A: sp.csc_matrix, cols: np.ndarray, grp: np.ndarray) -> tuple[np.ndarray, ...]:
    """``_pairs(A, A, cols, grp, upper=True)`` without division: the columns are taken by equal
    nonzero count m, as an (ncols, m) index block, and paired by broadcasting over triu(m)."""
    nnz = np.diff(A.indptr)[cols]
    out_p, out_g, out_v = [], [], []
    q = A.shape[0]
    for m in np.unique(nnz):
        if m == 0:
            continue
        sel = nnz == m
        c = cols[sel]
        at = A.indptr[c][:, None] + np.arange(m)[None, :]
        idx, dat = A.indices[at].astype(np.int64), A.data[at]
        iu, ju = np.triu_indices(m)
        a, b = idx[:, iu], idx[:, ju]  # A's indices are sorted within a column: a <= b
        out_p.append((a * q + b).ravel())
        out_v.append((dat[:, iu] * dat[:, ju]).ravel())
        out_g.append(np.repeat(grp[sel], iu.size))
    if not out_p:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(out_p), np.concatenate(out_g), np.concatenate(out_v)


def build_block0_rank_update(Aj: sp.csc_matrix, Ak: sp.csc_matrix, a0: np.ndarray, upper: bool,
                      cap: int = 40_000_000) -> Block0RankUpdate:
    """Split the levels of term 0 into light (pair matrix, at most ``cap`` pairs) and heavy
    (dense) ones and precompute both (vectorised; no loop over levels)."""
    qj, qk = Aj.shape[0], Ak.shape[0]
    Aj.sort_indices()
    Ak.sort_indices()
    cnt = np.diff(Aj.indptr) * np.diff(Ak.indptr)
    if upper:
        cnt = (cnt + np.diff(Aj.indptr)) // 2
    order = np.argsort(cnt, kind="stable")
    csum = np.cumsum(cnt[order])
    light_ok = (csum <= cap) & (cnt[order] <= max(1.0, qj * qk * _GEMM_PAIRS_PER_ENTRY))
    nlight = int(np.argmin(light_ok)) if not light_ok.all() else order.size
    light, heavy = np.sort(order[:nlight]), np.sort(order[nlight:])
    gvals, ginv = np.unique(a0[light], return_inverse=True)
    C = None
    if light.size:
        if upper and Aj is Ak:
            pos, g, val = _pairs_sym(Aj, light, ginv)
        else:
            pos, g, val = _pairs(Aj, Ak, light, ginv, upper)
        C = sp.csr_matrix((val, (pos, g)), shape=(qj * qk, gvals.size))
        del pos, g, val
        C.sum_duplicates()
        cnt_row = np.diff(C.indptr)
        rows = np.flatnonzero(cnt_row)
        indptr = np.zeros(rows.size + 1, dtype=C.indptr.dtype)
        np.cumsum(cnt_row[rows], out=indptr[1:])
        C = sp.csr_matrix((C.data, C.indices, indptr), shape=(rows.size, gvals.size))
        pos = rows.astype(np.int64)
    else:
        pos = None
    Dj = Dk = None
    if heavy.size:
        Dj = np.asfortranarray(Aj[:, heavy].toarray())
        if Ak is not Aj:
            Dk = np.asfortranarray(Ak[:, heavy].toarray())
    return Block0RankUpdate(qj=qj, qk=qk, upper=upper, group_a0=gvals, C=C,
                      heavy_a0=np.ascontiguousarray(a0[heavy]), Dj=Dj, Dk=Dk, pos=pos)


__all__ = ["Block0RankUpdate", "build_block0_rank_update"]
