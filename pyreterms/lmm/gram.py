"""The Gram blocks of ``[Z_1 .. Z_K  X  y-o]`` (weighted), computed once per model: everything a
deviance evaluation reads, so that an evaluation costs nothing proportional to n.

R equivalent: none directly -- lme4 keeps ``Zt``, ``X`` and ``y`` and lets CHOLMOD refactor
``Lambda^T Z^T W Z Lambda + I`` per evaluation (``merPredD::updateDecomp``, ``src/predModule.cpp``);
this is MixedModels.jl's ``A`` (the blocks of ``[Z X y]^T W [Z X y]``).  Blocks:

* ``diag[k]``: ``Z_k^T W Z_k``, block diagonal by level, as an ``(nl, nc, nc)`` array;
* ``col0[j]`` (j >= 1, a dict): ``Z_j^T W Z_0`` block-sparse (BSR; block size ``nc_j x nc_0``);
* ``dense[(j, k)]`` (1 <= k < j): ``Z_j^T W Z_k`` dense;
* ``rank_updates[(j, k)]`` (1 <= k <= j, scalar term 0 only): the precomputed ``L_j0 L_k0^T``
  (:mod:`pyreterms.lmm.rankupdate`);
* ``xz[k]``: ``[X y]^T W Z_k``; ``xx``: ``[X y]^T W [X y]``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from pyreterms.lmm.layout import TermLayout
from pyreterms.lmm.rankupdate import Block0RankUpdate, build_block0_rank_update


@dataclass(frozen=True, eq=False)
class GramBlocks:
    """The theta-independent blocks of ``Omega(theta)`` (see the module docstring)."""

    terms: tuple[TermLayout, ...]
    diag: tuple[np.ndarray, ...]
    col0: dict[int, sp.bsr_matrix]  # j >= 1
    dense: dict[tuple[int, int], np.ndarray]
    rank_updates: dict[tuple[int, int], Block0RankUpdate]
    xz: tuple[np.ndarray, ...]
    xx: np.ndarray

    @property
    def q(self) -> int:
        return int(self.terms[-1].stop) if self.terms else 0

    @property
    def p(self) -> int:
        return int(self.xx.shape[0]) - 1


def build_gram(Xy: np.ndarray, w: np.ndarray, Zt: sp.csr_matrix, terms: tuple[TermLayout, ...],
               pair_cap: int) -> GramBlocks:
    """The Gram blocks of ``Zt`` (q x n, CSR) and ``Xy = [X, y - o]`` under weights ``w``.

    ``pair_cap`` bounds the precomputed pair lists of the rank updates (see
    :func:`pyreterms.lmm.rankupdate.build_block0_rank_update`)."""
    wXy = Xy * w[:, None]
    Zw = Zt.multiply(w[None, :]).tocsr() if not np.all(w == 1.0) else Zt
    Zk = [Zt[int(t.start):int(t.stop)] for t in terms]
    Zwk = [Zw[int(t.start):int(t.stop)] for t in terms]
    diag = []
    for t, zk, zwk in zip(terms, Zk, Zwk, strict=False):
        P = (zwk @ zk.T).tocoo()
        blk = np.zeros((t.nl, t.nc, t.nc))
        if np.any(P.row // t.nc != P.col // t.nc):
            raise ValueError("Z_k^T Z_k is not block diagonal: Zt rows do not match Gp/nc")
        np.add.at(blk, (P.row // t.nc, P.row % t.nc, P.col % t.nc), P.data)
        diag.append(blk)
    K = len(terms)
    blocks: list[sp.bsr_matrix] = []  # Z_j^T W Z_0, j >= 1
    dense: dict[tuple[int, int], np.ndarray] = {}
    for j in range(1, K):
        P = (Zwk[j] @ Zk[0].T).tocsr()
        B = P.tobsr(blocksize=(terms[j].nc, terms[0].nc))
        B.sort_indices()
        blocks.append(B)
        for k in range(1, j):
            dense[(j, k)] = np.ascontiguousarray((Zwk[j] @ Zk[k].T).toarray())
    updates: dict[tuple[int, int], Block0RankUpdate] = {}
    if K > 1 and terms[0].nc == 1:
        csc = [B.tocsc() for B in blocks]  # csc[j - 1]: term j
        a0 = diag[0][:, 0, 0]
        for j in range(1, K):
            for k in range(1, j + 1):
                updates[(j, k)] = build_block0_rank_update(csc[j - 1], csc[k - 1], a0,
                                                           upper=(j == k and terms[j].nc == 1), cap=pair_cap)
    xz = tuple(np.ascontiguousarray((zk @ wXy).T) for zk in Zk)
    return GramBlocks(terms=terms, diag=tuple(diag), col0=dict(enumerate(blocks, start=1)), dense=dense,
                      rank_updates=updates, xz=xz, xx=Xy.T @ wXy)


def gram_xy(Xy: np.ndarray, w: np.ndarray, Zt: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """``([X y]^T W Z, [X y]^T W [X y])``: the blocks :func:`build_gram` stores as ``hstack(xz)`` and
    ``xx``, with the same numbers (a CSR x dense product sums each row's entries in stored order, so
    the whole ``Zt`` gives the rows of its slices bit for bit)."""
    wXy = Xy * w[:, None]
    return np.ascontiguousarray((Zt @ wXy).T), Xy.T @ wXy


@dataclass(eq=False)
class LazyGram:
    """The arguments of :func:`build_gram`, built into :class:`GramBlocks` on first :meth:`get` (small
    models on the dense path read only :func:`gram_xy`'s blocks unless a pivot fails; building the
    per-term blocks costs them more than their whole optimisation's worth of sparse constructors)."""

    Xy: np.ndarray
    w: np.ndarray
    Zt: sp.csr_matrix
    terms: tuple[TermLayout, ...]
    pair_cap: int
    blocks: GramBlocks | None = None

    def get(self) -> GramBlocks:
        if self.blocks is None:
            self.blocks = build_gram(self.Xy, self.w, self.Zt, self.terms, self.pair_cap)
        return self.blocks


__all__ = ["GramBlocks", "LazyGram", "build_gram", "gram_xy"]
