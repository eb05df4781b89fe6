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

import threading
from dataclasses import dataclass, field

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
    # the heavy levels kept sparse instead (Dj, Dk None): term j's columns as CSR (q_j x heavy) and
    # term k's transposed (heavy x q_k); one sparse product per evaluation
    Sj: sp.csr_matrix | None = None
    SkT: sp.csr_matrix | None = None
    # per thread, the q_j x q_j buffer the symmetric dense update is written into (allocated once: a
    # fresh 110 MB array per evaluation of ml1m costs its page faults and clearing)
    scratch: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def has_heavy(self) -> bool:
        """Whether any level is updated densely (:meth:`add_heavy` adds something)."""
        return self.Dj is not None or self.Sj is not None

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
        out = np.zeros((self.qj, self.qk))  # (a fresh array: never the scratch buffer of add_heavy)
        if self.C is not None:
            out.ravel()[self.pos] = self.light_values(s)
        res = self.add_heavy(out, s)
        return out if res is None else res

    def add_heavy(self, out: np.ndarray | None, s: float) -> np.ndarray | None:
        """``out`` (C-ordered qj x qk, or None) plus the heavy levels' dense update at ``s`` (the
        full matrix when the heavy levels are sparse).  With ``out`` None and a symmetric dense update
        the result is this thread's scratch buffer: use it before the next call."""
        if self.Sj is not None and self.SkT is not None:
            r = s / np.sqrt(self.heavy_a0 * (s * s) + 1.0)
            Sj = self.Sj
            scaled = sp.csr_matrix((Sj.data * (r * r)[Sj.indices], Sj.indices, Sj.indptr), shape=Sj.shape)
            H = np.zeros((self.qj, self.qk))
            step = max(1, _SPARSE_BLOCK_ENTRIES // max(self.qk, 1))
            for i0 in range(0, self.qj, step):  # a slab of rows at a time: the product's own
                # arrays stay small (each row of a sparse product is summed on its own: same numbers)
                (scaled[i0:i0 + step] @ self.SkT).toarray(out=H[i0:i0 + step])
            if out is None:
                return H
            out += H
            return out
        if self.Dj is not None:
            r = s / np.sqrt(self.heavy_a0 * (s * s) + 1.0)
            if self.upper and self.Dk is None:  # BLAS dsyrk into the upper triangle, in place
                if out is None:
                    # the thread's buffer, valid until its next call: beta = 0 overwrites the upper
                    # triangle (the same numbers as adding to zeros), the lower one stays zero
                    out = getattr(self.scratch, "H", None)
                    if out is None:
                        out = self.scratch.H = np.zeros((self.qj, self.qk))
                    blas.dsyrk(1.0, self.Dj * r, beta=0.0, c=out.T, lower=1, overwrite_c=1)
                    return out
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


def _compress(C: sp.csr_matrix, first: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """``C`` with its duplicates summed (in stored order) and its empty rows dropped, and the positions
    (``first`` + row) of the rows kept."""
    C.sum_duplicates()
    cnt_row = np.diff(C.indptr)
    rows = np.flatnonzero(cnt_row)
    indptr = np.zeros(rows.size + 1, dtype=C.indptr.dtype)
    np.cumsum(cnt_row[rows], out=indptr[1:])
    return (sp.csr_matrix((C.data, C.indices, indptr), shape=(rows.size, C.shape[1])),
            rows.astype(np.int64) + first)


def _all_equal(A: sp.csc_matrix) -> bool:
    """Whether every stored entry of ``A`` has one value (an unweighted crossed design where each pair
    of levels occurs at most once: every pair product is then the same number)."""
    return bool(A.data.size) and bool(np.all(A.data == A.data[0]))


def _light_sym_equal(A: sp.csc_matrix, light: np.ndarray, ginv: np.ndarray, ngroups: int,
                     chunk: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """The light pair matrix of the symmetric update (``_pairs_sym`` + ``_compress``) when every pair
    product is the same number (:func:`_all_equal`): then the sums do not depend on the order in which
    duplicates are added, so the pairs are generated row by row of the result (term-j level ``a``
    major, then the level-0 columns by weight group, then ``b``) in chunks of about ``chunk`` pairs:
    the counting sort into rows stays local (cache) and memory stays bounded.  Same matrix as the
    general path, bit for bit (rows sorted, columns sorted within a row, duplicates summed)."""
    q = A.shape[0]
    perm = np.lexsort((light, ginv))  # level-0 columns by weight group, then level
    cols, grp = light[perm], ginv[perm].astype(np.int32)
    B = A[:, cols]
    B.sort_indices()
    nnz = B.indices.size
    v = float(B.data[0])
    E = sp.csc_matrix((np.arange(nnz, dtype=np.int64), B.indices, B.indptr), shape=B.shape).tocsr()
    E.sort_indices()  # row a: its entries by column (weight group order), data = the entry in B
    e = E.data
    col = np.repeat(np.arange(B.shape[1], dtype=np.int64), np.diff(B.indptr))[e]  # column of each entry
    rep = B.indptr[col + 1] - e  # pairs (a, b >= a) this entry makes
    row_of = np.repeat(np.arange(q, dtype=np.int64), np.diff(E.indptr))
    ends = np.cumsum(np.bincount(row_of, weights=rep, minlength=q).astype(np.int64))
    del row_of
    pieces_C, pieces_pos = [], []
    a_lo = 0
    while a_lo < q:
        base = ends[a_lo - 1] if a_lo else 0
        a_hi = max(a_lo + 1, int(np.searchsorted(ends, base + chunk, side="right")))
        a_hi = min(a_hi, q)
        lo, hi = E.indptr[a_lo], E.indptr[a_hi]
        r = rep[lo:hi]
        tot = int(r.sum())
        if tot:
            offs = np.cumsum(r) - r
            src = np.arange(tot, dtype=np.int64) + np.repeat(e[lo:hi] - offs, r)
            a = np.repeat(np.arange(a_hi - a_lo, dtype=np.int64), np.diff(E.indptr[a_lo:a_hi + 1]))
            row = np.repeat(a * q, r) + B.indices[src]
            g = np.repeat(grp[col[lo:hi]], r)
            del src, a
            Cc = sp.csr_matrix((np.full(tot, v * v), (row, g)), shape=((a_hi - a_lo) * q, ngroups))
            del row, g
            Cc, pc = _compress(Cc, a_lo * q)
            pieces_C.append(Cc)
            pieces_pos.append(pc)
        a_lo = a_hi
    # the pieces stacked row-wise (their arrays concatenated; sp.vstack would check and copy them twice)
    nnz_at = np.cumsum([0] + [P.nnz for P in pieces_C])
    indptr = np.concatenate([np.zeros(1, np.int64)] + [P.indptr[1:].astype(np.int64) + o
                                                       for P, o in zip(pieces_C, nnz_at[:-1], strict=True)])
    idx_dtype = np.int32 if max(int(nnz_at[-1]), ngroups) < 2 ** 31 else np.int64
    C = sp.csr_matrix((np.concatenate([P.data for P in pieces_C]),
                       np.concatenate([P.indices for P in pieces_C]).astype(idx_dtype, copy=False),
                       indptr.astype(idx_dtype, copy=False)), shape=(int(indptr.size - 1), ngroups))
    return C, np.concatenate(pieces_pos)


def build_block0_rank_update(Aj: sp.csc_matrix, Ak: sp.csc_matrix, a0: np.ndarray, upper: bool,
                      cap: int = 40_000_000, chunk: int = 8_000_000) -> Block0RankUpdate:
    """Split the levels of term 0 into light (pair matrix, at most ``cap`` pairs) and heavy
    (dense) ones and precompute both (vectorised; no loop over levels; ``chunk``: pairs generated at
    a time on the equal-products path)."""
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
        if upper and Aj is Ak and _all_equal(Aj):
            C, pos = _light_sym_equal(Aj, light, ginv, gvals.size, chunk)
        else:
            if upper and Aj is Ak:
                pos, g, val = _pairs_sym(Aj, light, ginv)
            else:
                pos, g, val = _pairs(Aj, Ak, light, ginv, upper)
            C, pos = _compress(sp.csr_matrix((val, (pos, g)), shape=(qj * qk, gvals.size)), 0)
            del g, val
    else:
        pos = None
    Dj = Dk = Sj = SkT = None
    if heavy.size and not _dense_heavy_pays(Aj, Ak, heavy):
        Sj, SkT = Aj[:, heavy].tocsr(), Ak[:, heavy].T.tocsr()
    elif heavy.size:
        Dj = np.asfortranarray(Aj[:, heavy].toarray())
        if Ak is not Aj:
            Dk = np.asfortranarray(Ak[:, heavy].toarray())
    return Block0RankUpdate(qj=qj, qk=qk, upper=upper, group_a0=gvals, C=C,
                      heavy_a0=np.ascontiguousarray(a0[heavy]), Dj=Dj, Dk=Dk, pos=pos, Sj=Sj, SkT=SkT)


#: seconds per scalar product of a scipy sparse x sparse product (measured ~3.9 ns, one core) and per
#: entry of densifying its result; seconds per flop of a one-thread dense GEMM/SYRK (~28 GFlop/s)
_SPGEMM_S_PER_PRODUCT = 4e-9
_TODENSE_S_PER_ENTRY = 2e-8
_GEMM_S_PER_FLOP = 1.0 / 2.8e10
#: entries of one slab of the sparse heavy product (its CSR result: 12 bytes each)
_SPARSE_BLOCK_ENTRIES = 8_000_000


def _dense_heavy_pays(Aj: sp.csc_matrix, Ak: sp.csc_matrix, heavy: np.ndarray) -> bool:
    """Whether the heavy levels' update is cheaper as one dense GEMM/SYRK over all ``q_j x q_k``
    entries (every design up to MovieLens-1M's size: the default, same numbers as before) than as a
    sparse product summing only the pairs that occur (a design with tens of thousands of heavy levels
    each touching a few percent of ``q_j``, e.g. MovieLens-10M: ~170 s against ~15 s per evaluation;
    it rounds differently from the dense product and is chosen only when 5x cheaper by this model)."""
    qj, qk = Aj.shape[0], Ak.shape[0]
    nj, nk = np.diff(Aj.indptr)[heavy].astype(np.float64), np.diff(Ak.indptr)[heavy].astype(np.float64)
    dense = qj * qk * heavy.size * _GEMM_S_PER_FLOP
    sparse = float(nj @ nk) * _SPGEMM_S_PER_PRODUCT + qj * qk * _TODENSE_S_PER_ENTRY
    return not sparse * 5.0 < dense


__all__ = ["Block0RankUpdate", "build_block0_rank_update"]
